"""Binary cross-entropy: the loss of independent yes/no predictions (e.g. several labels per image).

With p the predicted probability of "yes" and a target t in [0, 1]:

    ℓ = −[t·log p + (1 − t)·log(1 − p)]

From the logit x, p = σ(x): log σ(x) = −softplus(−x) and log(1 − σ(x)) = −softplus(x), so

    ℓ = softplus(x) − t·x,      dℓ/dx = σ(x) − t

which takes no log of 0 and no exp of a large number (softplus is written stably in
activations.py). ``pos_weight`` w₊ weighs the "yes" term: ℓ = −[w₊·t·log p + (1 − t)·log(1 − p)].
From probabilities, PyTorch clamps each log at −100, so a confident mistake costs 100, not inf,
and divides by max(p(1 − p), 1e-12) in the gradient, dℓ/dp = (p − t) / (p(1 − p)): finite at p = 0
and p = 1 (the clamped logs' own gradient would be 0 · ∞ there), so that form is a Function here.
"""
from __future__ import annotations

from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.nn.functional.activations import softplus
from tinycoat.nn.functional.regression_loss import reduced, same_shape_target


def _clamped_log(p):
    """max(log p, −100), with no log of 0 taken (NumPy would warn); a NaN stays NaN."""
    xp = get_array_module(p)
    return xp.where(p == 0, -100.0, xp.maximum(xp.log(xp.where(p == 0, 1.0, p)), -100.0))


class BinaryCrossEntropy(Function):
    """ℓ = −[t·max(log p, −100) + (1 − t)·max(log(1 − p), −100)];
    dℓ/dp = (p − t) / max(p(1 − p), 1e-12),  dℓ/dt = max(log(1 − p), −100) − max(log p, −100)."""

    def forward(self, p, t):
        self.p, self.t = p, t
        self.log_p, self.log_not_p = _clamped_log(p), _clamped_log(1 - p)
        return -(t * self.log_p + (1 - t) * self.log_not_p)

    def backward(self, g):
        xp = get_array_module(g)
        gp = g * (self.p - self.t) / xp.maximum(self.p * (1 - self.p), 1e-12) if self.needs_input_grad[0] else None
        gt = g * (self.log_not_p - self.log_p) if self.needs_input_grad[1] else None
        return gp, gt


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):  # noqa: A002
    """ℓ from logits x (any shape; targets of the same shape), as above."""
    t = same_shape_target("binary_cross_entropy_with_logits", input, target)
    yes = -softplus(-input) * t if pos_weight is None else -softplus(-input) * t * pos_weight    # log p, weighed
    terms = -(yes - softplus(input) * (1 - t))
    return reduced("binary_cross_entropy_with_logits", terms if weight is None else terms * weight, reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):  # noqa: A002
    """ℓ from probabilities p in [0, 1] (e.g. a sigmoid's output; the logits' form is more accurate)."""
    t = same_shape_target("binary_cross_entropy", input, target)
    if input.device == "cpu" and not bool(((input.data >= 0) & (input.data <= 1)).all()):   # (a GPU check would wait)
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1] (for logits, use "
                         "binary_cross_entropy_with_logits)")
    terms = BinaryCrossEntropy.apply(input, t)
    return reduced("binary_cross_entropy", terms if weight is None else terms * weight, reduction)
