"""Dropout and drop-path (stochastic depth): random zeroing during training only.

Dropout zeroes each entry with probability p; drop-path zeroes a whole *sample's*
residual branch (x ← x + drop_path(f(x)) then skips the block for that sample). Both
scale what survives by 1/(1 − p), so the expected value is unchanged,
E[mask/(1 − p)] = 1, and evaluation (no dropping, no scaling) sees the same average.

The mask is a constant: y = x ⊙ m, so dL/dx = g ⊙ m (the core multiplication's
backward). Random numbers come from the seeded generator of x's device.
"""
from __future__ import annotations

from tinycoat import backend
from tinycoat.tensor import Tensor


def _scaled_mask(x, shape, p):
    """(u >= p) / (1 − p) with u ~ Uniform[0, 1): 0 with probability p, else 1/(1 − p)."""
    u = backend.generator(x.device).random(shape, dtype=x.dtype)
    keep = u >= p
    return Tensor(keep.astype(x.dtype) * (1.0 / (1.0 - p)))


def _drop(name, x, p, training, mask_shape):
    """x ⊙ mask/(1 − p), one mask entry per cell of ``mask_shape`` (broadcast over x)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return x * _scaled_mask(x, mask_shape, p)


def dropout(x, p=0.5, training=True):
    """Zero each entry with probability p (training only), scale the rest by 1/(1 − p)."""
    return _drop("dropout", x, p, training, x.shape)


def drop_path(x, p=0.0, training=True):
    """Zero each *sample* (axis 0) with probability p (training only), scale the rest by 1/(1 − p)."""
    return _drop("drop_path", x, p, training, (x.shape[0],) + (1,) * (x.ndim - 1))
