"""Losses as layers, PyTorch's way of writing them (``criterion = nn.CrossEntropyLoss()``)."""
from __future__ import annotations

import tinycoat.nn.functional as F
from tinycoat import backend
from tinycoat.nn.module import Module
from tinycoat.tensor import Tensor, tensor


class CrossEntropyLoss(Module):
    """``F.cross_entropy(logits, target, weight, ignore_index=..., reduction=..., label_smoothing=...)``
    as a layer (PyTorch's arguments: ``weight`` first)."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__()
        # a buffer, as in PyTorch: .to(device) moves it and the state_dict holds it
        if weight is not None:          # a copy, on the weight's device: .to() must not move the caller's
            weight = tensor(weight, device=weight.device if isinstance(weight, Tensor) else backend.device_of(weight))
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing, self.reduction = label_smoothing, reduction

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class MSELoss(Module):
    """``F.mse_loss(input, target, reduction=...)`` as a layer: the mean of (x − t)²."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):  # noqa: A002 - PyTorch's argument name
        return F.mse_loss(input, target, self.reduction)


class L1Loss(MSELoss):
    """``F.l1_loss(input, target, reduction=...)`` as a layer: the mean of |x − t|."""

    def forward(self, input, target):  # noqa: A002
        return F.l1_loss(input, target, self.reduction)
