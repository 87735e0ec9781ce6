"""Losses as layers, PyTorch's way of writing them (``criterion = nn.CrossEntropyLoss()``)."""
from __future__ import annotations

import tinycoat.nn.functional as F
from tinycoat import backend
from tinycoat.nn.module import Module
from tinycoat.tensor import Tensor, tensor


def _constant(value):
    """A loss's weights as a buffer, as in PyTorch (.to(device) moves it, the state_dict holds it):
    a copy on the value's own device, so that .to() never moves the caller's tensor; None stays None."""
    if value is None:
        return None
    return tensor(value, device=value.device if isinstance(value, Tensor) else backend.device_of(value))


class CrossEntropyLoss(Module):
    """``F.cross_entropy(logits, target, weight, ignore_index=..., reduction=..., label_smoothing=...)``
    as a layer (PyTorch's arguments: ``weight`` first)."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__()
        self.register_buffer("weight", _constant(weight))
        self.ignore_index = ignore_index
        self.label_smoothing, self.reduction = label_smoothing, reduction

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class MSELoss(Module):
    """``F.mse_loss(input, target, reduction=...)`` as a layer: the mean of (x − t)²."""

    def __init__(self, *, reduction="mean"):      # (keyword only: PyTorch's second positional is size_average)
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):  # noqa: A002 - PyTorch's argument name
        return F.mse_loss(input, target, self.reduction)


class L1Loss(MSELoss):
    """``F.l1_loss(input, target, reduction=...)`` as a layer: the mean of |x − t|."""

    def forward(self, input, target):  # noqa: A002
        return F.l1_loss(input, target, self.reduction)


class HuberLoss(Module):
    """``F.huber_loss(input, target, reduction=..., delta=...)`` as a layer."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__()
        self.reduction, self.delta = reduction, delta

    def forward(self, input, target):  # noqa: A002
        return F.huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(Module):
    """``F.smooth_l1_loss(input, target, reduction=..., beta=...)`` as a layer."""

    def __init__(self, *, reduction="mean", beta=1.0):   # (PyTorch's first two positionals are deprecated)
        super().__init__()
        self.reduction, self.beta = reduction, beta

    def forward(self, input, target):  # noqa: A002
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class KLDivLoss(Module):
    """``F.kl_div(log_probabilities, target, reduction=..., log_target=...)`` as a layer."""

    def __init__(self, *, reduction="mean", log_target=False):
        super().__init__()
        self.reduction, self.log_target = reduction, log_target

    def forward(self, input, target):  # noqa: A002
        return F.kl_div(input, target, self.reduction, self.log_target)


class NLLLoss(CrossEntropyLoss):
    """``F.nll_loss(log_probabilities, target, weight, ...)`` as a layer (after a LogSoftmax)."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean"):
        super().__init__(weight, ignore_index=ignore_index, reduction=reduction)

    def forward(self, input, target):  # noqa: A002
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class BCEWithLogitsLoss(Module):
    """``F.binary_cross_entropy_with_logits`` as a layer; ``weight`` and ``pos_weight`` are buffers."""

    def __init__(self, weight=None, *, reduction="mean", pos_weight=None):   # (PyTorch's 2nd positional: size_average)
        super().__init__()
        self.register_buffer("weight", _constant(weight))
        self.register_buffer("pos_weight", _constant(pos_weight))
        self.reduction = reduction

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


class BCELoss(Module):
    """``F.binary_cross_entropy`` (of probabilities) as a layer."""

    def __init__(self, weight=None, *, reduction="mean"):
        super().__init__()
        self.register_buffer("weight", _constant(weight))
        self.reduction = reduction

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)
