"""Cross-entropy: the loss of a classifier that outputs logits.

With p = softmax(logits) over the K classes and a target distribution q (one-hot for an
integer label y; a mixture for mixup), the loss of one sample is

    ℓ = −Σ_k q_k log p_k          (= −log p_y for a one-hot q)

averaged over the batch. log p comes from ``log_softmax`` (softmax.py), which never forms
p's tiny values, so the loss is finite even for logits of ±1e4. Its gradient with respect
to the logits is the famous  (p − q) / N : log_softmax's backward does that for us.

Label smoothing ε (Szegedy et al.) trains towards q' = (1 − ε) q + ε/K: a little
probability for every class, so the logits need not grow without bound.
"""
from __future__ import annotations

from tinycoat import backend
from tinycoat.nn.functional.softmax import log_softmax
from tinycoat.tensor import Tensor


def _target_distribution(logits, target):
    """q as an (N, K) array: one-hot rows for integer labels, the given rows for soft targets."""
    n, k = logits.shape
    t = target.data if isinstance(target, Tensor) else backend.as_array(target, device=logits.device)
    if backend.device_of(t) != logits.device:
        raise backend.DeviceError(f"cross_entropy: target is on '{backend.device_of(t)}' but the logits "
                                  f"are on '{logits.device}'")
    xp = logits.xp
    if t.dtype.kind in "iu":
        if t.shape != (n,):
            raise ValueError(f"cross_entropy: integer targets must have shape ({n},), got {t.shape}")
        on_gpu = backend.device_of(t) == "gpu"
        if not on_gpu and t.size and (int(t.min()) < 0 or int(t.max()) >= k):
            raise ValueError(f"cross_entropy: class labels must lie in [0, {k}), got values in "
                             f"[{int(t.min())}, {int(t.max())}]")
        q = (t[:, None] == xp.arange(k)).astype(logits.dtype)     # one-hot rows
        if on_gpu:
            # Reading the labels back to check them would make the host wait for the GPU every
            # step. A label outside [0, K) has an all-zero row instead: make it NaN, so the
            # loss is NaN (loud: train_cifar stops and says so), never silently wrong.
            q /= q.sum(axis=1, keepdims=True)
        return q
    if t.dtype.kind == "f":
        if t.shape != (n, k):
            raise ValueError(f"cross_entropy: soft targets must have the logits' shape {(n, k)}, got {t.shape}")
        return t.astype(logits.dtype, copy=False)
    raise TypeError(f"cross_entropy: target must hold integer labels or float probabilities, got {t.dtype}")


def cross_entropy(logits, target, *, label_smoothing=0.0, reduction="mean"):
    """−Σ_k q_k log softmax(logits)_k per sample; logits (N, K), target (N,) or (N, K).

    ``reduction``: "mean" over the batch (the default), "sum", or "none" (the N losses), as in
    PyTorch; the options are keywords (PyTorch's third positional argument is a class weight,
    which tinycoat does not have). Integer labels outside [0, K) are an error; on a GPU, where
    checking them would stall every step, they make the loss NaN instead.
    """
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: expected logits (N, classes), got {tuple(logits.shape)}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    q = _target_distribution(logits, target)
    if label_smoothing:
        q = (1.0 - label_smoothing) * q + label_smoothing / logits.shape[1]
    terms = -(log_softmax(logits, axis=-1) * Tensor(q))
    if reduction == "none":
        return terms.sum(axis=1)
    return terms.sum() * (1.0 / logits.shape[0] if reduction == "mean" else 1.0)
