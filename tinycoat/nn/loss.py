"""Losses as layers, PyTorch's way of writing them (``criterion = nn.CrossEntropyLoss()``)."""
from __future__ import annotations

import tinycoat.nn.functional as F
from tinycoat.nn.module import Module
from tinycoat.tensor import Tensor, tensor


class CrossEntropyLoss(Module):
    """``F.cross_entropy(logits, target, weight, ignore_index=..., reduction=..., label_smoothing=...)``
    as a layer (PyTorch's arguments: ``weight`` first)."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__()
        # a buffer, as in PyTorch: .to(device) moves it and the state_dict holds it
        self.register_buffer("weight", weight if weight is None or isinstance(weight, Tensor) else tensor(weight))
        self.ignore_index = ignore_index
        self.label_smoothing, self.reduction = label_smoothing, reduction

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)
