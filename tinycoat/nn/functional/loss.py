"""Cross-entropy: the loss of a classifier that outputs logits.

With p = softmax(logits) over the K classes and a target distribution q (one-hot for an
integer label y; a mixture for mixup), the loss of one sample is

    ℓ = −Σ_k q_k log p_k          (= −log p_y for a one-hot q)

averaged over the batch. log p comes from ``log_softmax`` (softmax.py), which never forms
p's tiny values, so the loss is finite even for logits of ±1e4. Its gradient with respect
to the logits is the famous  (p − q) / N : log_softmax's backward does that for us.

Label smoothing ε (Szegedy et al.) trains towards q' = (1 − ε) q + ε/K: a little
probability for every class, so the logits need not grow without bound.

Class weights w (for classes seen less often) scale each class's term, ℓ = −Σ_k w_k q_k log p_k,
and the mean becomes a weighted mean, Σ_n ℓ_n / Σ_n w_{y_n}; a sample labelled ``ignore_index``
(padding) has q = 0 and is left out of the count. Both as PyTorch defines them.
"""
from __future__ import annotations

import math

from tinycoat import backend
from tinycoat.backend import get_array_module
from tinycoat.nn.functional.softmax import log_softmax
from tinycoat.ops import where
from tinycoat.tensor import Tensor


def _target_distribution(logits, target, ignore_index, name="cross_entropy"):
    """q as an (N, K) Tensor — one-hot rows for integer labels, the given rows for soft targets (a
    tensor keeps its place in the graph: a loss can be differentiated in its target too, as in
    distillation) — and, for integer labels, ``kept``: 1.0 per sample, 0.0 where the label is
    ``ignore_index`` (its row of q is zero: it adds nothing). Soft targets: ``kept`` is None."""
    n, k = logits.shape
    t = target.data if isinstance(target, Tensor) else backend.as_array(target, device=logits.device)
    if backend.device_of(t) != logits.device:
        raise backend.DeviceError(f"{name}: target is on '{backend.device_of(t)}' but the logits "
                                  f"are on '{logits.device}'")
    xp = logits.xp
    if t.dtype.kind in "iu":
        if t.shape != (n,):
            raise ValueError(f"{name}: integer targets must have shape ({n},), got {t.shape}")
        ignored = t == ignore_index
        on_gpu = backend.device_of(t) == "gpu"
        bad = None if on_gpu else t[((t < 0) | (t >= k)) & ~ignored]
        if bad is not None and bad.size:
            raise ValueError(f"{name}: class labels must lie in [0, {k}) (or be ignore_index="
                             f"{ignore_index}), got values in [{int(bad.min())}, {int(bad.max())}]")
        q = _one_hot_rows(t, k, logits.dtype)
        if on_gpu:
            # Reading the labels back to check them would make the host wait for the GPU every
            # step. A label outside [0, K) has an all-zero row instead: make it NaN, so the
            # loss is NaN (loud: train_cifar stops and says so), never silently wrong.
            q /= q.sum(axis=1, keepdims=True) + ignored[:, None]
        kept = (~ignored).astype(logits.dtype)
        return Tensor(q * kept[:, None]), kept
    if t.dtype.kind == "f":
        if t.shape != (n, k):
            raise ValueError(f"{name}: soft targets must have the logits' shape {(n, k)}, got {t.shape}")
        return (target.to(dtype=logits.dtype) if isinstance(target, Tensor)
                else Tensor(t.astype(logits.dtype, copy=False))), None
    raise TypeError(f"{name}: target must hold integer labels or float probabilities, got {t.dtype}")


def one_hot(labels, num_classes=-1):
    """Integer labels of any shape (…) as rows (…, K) of int64 with a 1 at each label (PyTorch's
    one_hot); K = ``num_classes``, or one more than the largest label when it is −1."""
    if not isinstance(labels, Tensor) or labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be an integer Tensor, got "
                        f"{labels.dtype if isinstance(labels, Tensor) else type(labels).__name__}")
    t = labels.data
    top = int(t.max()) if t.size else -1
    k = top + 1 if num_classes == -1 else num_classes
    if t.size and (int(t.min()) < 0 or top >= k):
        raise ValueError(f"one_hot: labels must lie in [0, {k}), got values in [{int(t.min())}, {top}]")
    return Tensor(_one_hot_rows(t, k, backend.int64))


def _one_hot_rows(labels, k, dtype):
    """(…, k) rows of ``dtype`` with a 1 at each label of the integer array ``labels`` (a label outside
    [0, k) gets a row of zeros)."""
    return (labels[..., None] == get_array_module(labels).arange(k)).astype(dtype)


def _class_weights(weight, logits, name="cross_entropy"):
    """``weight`` as a (K,) array of the logits' dtype and device (a constant: no gradient)."""
    k = logits.shape[1]
    if isinstance(weight, Tensor) and weight.requires_grad:
        raise ValueError(f"{name}: weight is a constant of the loss; pass weight.detach()")
    w = weight.data if isinstance(weight, Tensor) else backend.as_array(weight, device=logits.device)
    if backend.device_of(w) != logits.device:
        raise backend.DeviceError(f"{name}: weight is on '{backend.device_of(w)}' but the logits "
                                  f"are on '{logits.device}'")
    if w.shape != (k,) or w.dtype.kind not in "iuf":
        raise ValueError(f"{name}: weight must hold one number per class, shape ({k},), got shape "
                         f"{tuple(w.shape)} of dtype {w.dtype}")
    return w.astype(logits.dtype, copy=False)


def cross_entropy(logits, target, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """−Σ_k w_k q_k log softmax(logits)_k per sample; logits (N, K), target (N,) or (N, K).

    ``weight``: a (K,) tensor of class weights w (default: all 1), PyTorch's third argument.
    ``ignore_index``: integer targets equal to it add nothing and are not counted (PyTorch's
    padding label −100 by default). ``reduction``: "mean" (the default) divides the sum by the
    counted samples' weights Σ_n w_{y_n} (by N for soft targets), as PyTorch; "sum"; or "none"
    (the N losses). Integer labels outside [0, K) are an error; on a GPU, where checking them
    would stall every step, they make the loss NaN instead.
    """
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: expected logits (N, classes), got {tuple(logits.shape)}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    return _expected_loss("cross_entropy", log_softmax(logits, axis=-1), target, weight, ignore_index, reduction,
                          label_smoothing)


def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):  # noqa: A002
    """−w_y · input[y] per sample, for ``input`` (N, K) of log-probabilities (e.g. log_softmax's) and
    integer labels y: cross_entropy(logits, y) is nll_loss(log_softmax(logits), y). The same
    ``weight``, ``ignore_index`` and ``reduction`` as cross_entropy."""
    if input.ndim != 2:
        raise ValueError(f"nll_loss: expected log-probabilities (N, classes), got {tuple(input.shape)}")
    if getattr(getattr(target, "dtype", None), "kind", None) not in ("i", "u"):
        raise TypeError("nll_loss: target must hold integer class labels")
    return _expected_loss("nll_loss", input, target, weight, ignore_index, reduction, 0.0)


def _expected_loss(name, log_p, target, weight, ignore_index, reduction, label_smoothing):
    """−Σ_k w_k q_k log p_k per sample, reduced: the tail cross_entropy and nll_loss share."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    n, k = log_p.shape
    q, kept = _target_distribution(log_p, target, ignore_index, name)
    w = None if weight is None else _class_weights(weight, log_p, name)
    # What the mean divides by: N; the counted samples; or their weights Σ_n w_{y_n} (q is one-hot here)
    counted = None if kept is None else (kept.sum() if w is None else (q.data * w).sum())
    if label_smoothing:
        q = (1.0 - label_smoothing) * q + label_smoothing / k * (1.0 if kept is None else kept[:, None])
    if w is not None:
        q = q * w                                   # each class's terms scaled by its weight
    # 0 · log p is 0 even where log p is −inf: such a term is left out (elsewhere it stays, 0 or
    # not, so that a soft target's gradient, −log p, reaches every class)
    terms = -(where(Tensor((q.data != 0) | (log_p.data > -math.inf)), log_p, 0.0) * q)
    if reduction == "none":
        return terms.sum(axis=1)
    if reduction == "sum":
        return terms.sum()
    if kept is None:
        return terms.sum() * (1.0 / n)
    # (counted stays on the device: reading it back would make the host wait for the GPU.) Nothing
    # counted (every target ignored): the mean of nothing is NaN, as PyTorch's, but the gradient
    # is 0, not the NaN that 0 · (1/0) would spread into every weight at the next step.
    xp = log_p.xp
    scale = xp.where(counted > 0, 1.0 / xp.maximum(counted, 1e-30), 0.0).astype(log_p.dtype)
    empty = xp.where(counted > 0, 0.0, xp.nan).astype(log_p.dtype)
    return terms.sum() * Tensor(scale) + Tensor(empty)
