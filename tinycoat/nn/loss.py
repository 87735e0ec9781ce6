"""Losses as layers, PyTorch's way of writing them (``criterion = nn.CrossEntropyLoss()``)."""
from __future__ import annotations

import tinycoat.nn.functional as F
from tinycoat.nn.module import Module


class CrossEntropyLoss(Module):
    """``F.cross_entropy(logits, target, label_smoothing=..., reduction=...)`` as a layer."""

    def __init__(self, *, label_smoothing=0.0, reduction="mean"):
        super().__init__()
        self.label_smoothing, self.reduction = label_smoothing, reduction

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, label_smoothing=self.label_smoothing, reduction=self.reduction)
