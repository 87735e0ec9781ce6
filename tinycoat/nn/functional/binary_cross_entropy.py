"""Binary cross-entropy: the loss of independent yes/no predictions (e.g. several labels per image).

With p the predicted probability of "yes" and a target t in [0, 1]:

    ℓ = −[t·log p + (1 − t)·log(1 − p)]

From the logit x, p = σ(x): log σ(x) = −softplus(−x) and log(1 − σ(x)) = −softplus(x), so

    ℓ = softplus(x) − t·x,      dℓ/dx = σ(x) − t

which takes no log of 0 and no exp of a large number (softplus is written stably in
activations.py). ``pos_weight`` w₊ weighs the "yes" term: ℓ = −[w₊·t·log p + (1 − t)·log(1 − p)].
From probabilities, PyTorch clamps each log at −100, so a confident mistake costs 100, not inf.
"""
from __future__ import annotations

from tinycoat.nn.functional.activations import softplus
from tinycoat.nn.functional.regression_loss import reduced, same_shape_target


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):  # noqa: A002
    """ℓ from logits x (any shape; targets of the same shape), as above."""
    t = same_shape_target("binary_cross_entropy_with_logits", input, target)
    yes = -softplus(-input) * t if pos_weight is None else -softplus(-input) * t * pos_weight    # log p, weighed
    terms = -(yes - softplus(input) * (1 - t))
    return reduced("binary_cross_entropy_with_logits", terms if weight is None else terms * weight, reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):  # noqa: A002
    """ℓ from probabilities p in [0, 1] (e.g. a sigmoid's output; the logits' form is more accurate)."""
    t = same_shape_target("binary_cross_entropy", input, target)
    terms = -(t * input.log().clamp(min=-100.0) + (1 - t) * (1 - input).log().clamp(min=-100.0))
    return reduced("binary_cross_entropy", terms if weight is None else terms * weight, reduction)
