"""Gradient clipping by global norm (and, PyTorch's other kind, by value).

All gradients together form one long vector G. If ‖G‖₂ exceeds ``max_norm``
every gradient is scaled by max_norm / ‖G‖₂: the step keeps its direction but
cannot explode. The scale is computed on the device and never read back to the
host, so clipping costs no GPU synchronisation. (‖G‖₁ or ‖G‖∞ may be asked for
instead; clipping by value clamps each entry to [−v, v], which, unlike norm clipping, can change
the step's direction.)
"""
from __future__ import annotations

import numbers

from tinycoat import twins
from tinycoat.checks import check_number
from tinycoat.backend import device_of, get_array_module
from tinycoat.tensor import Tensor


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, *, eps: float = 1e-6) -> Tensor:
    """Scale the gradients in place so their global L2 norm is at most ``max_norm``.

    ``parameters``: an iterable of tensors, or one tensor (as PyTorch's). Returns the norm before
    clipping, as a 0-d tensor (read it with ``.item()``); 0 when no parameter has a gradient. If the
    norm is inf or NaN the gradients are left as they are (no scale can repair them; PyTorch would
    make them NaN): the returned norm says so, and ``GradScaler.step`` skips such a step.
    ``norm_type``: 2 (the default), 1 (Σ|g|) or inf (max |g|), PyTorch's third argument.
    """
    if not (isinstance(max_norm, numbers.Real) and max_norm > 0):   # (inf allowed: measure, never clip)
        raise ValueError(f"clip_grad_norm_: max_norm must be a number > 0 (inf: no clipping), got {max_norm!r}")
    max_norm = float(max_norm)                  # (a NumPy float32 would change the arithmetic's dtype)
    check_number("clip_grad_norm_", "eps", eps, low_open=True)
    norm_type = float("inf") if norm_type == "inf" else norm_type      # (PyTorch takes the string too)
    if norm_type not in (1, 2, float("inf")):
        raise ValueError(f"clip_grad_norm_: norm_type must be 2, 1 or inf, got {norm_type!r}")
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad.data for p in parameters if p.grad is not None]
    if not grads:                       # (the norm of no gradients, on the parameters' device)
        return Tensor(0.0, dtype="float64", device=parameters[0].device if parameters else "cpu")
    if norm_type != 2:
        return Tensor(clip_gradients_(grads, max_norm=max_norm, eps=eps, norm_type=norm_type))
    clip = twins.pick(clip_gradients_, device_of(grads[0]), grads)   # (a few launches on a GPU: twins.py)
    return Tensor(clip(grads, max_norm=max_norm, eps=eps))


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient entry to [−clip_value, clip_value] in place (PyTorch's clip_grad_value_)."""
    if not (isinstance(clip_value, numbers.Real) and clip_value > 0):
        raise ValueError(f"clip_grad_value_: clip_value must be a number > 0, got {clip_value!r}")
    clip_value = float(clip_value)
    for p in [parameters] if isinstance(parameters, Tensor) else parameters:
        if p.grad is not None:
            p.grad.xp.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)


def clip_gradients_(grads, max_norm, eps, norm_type=2.0):
    """The arrays ``grads`` rescaled in place to a global norm (L2, or ``norm_type`` 1 or inf) of at
    most ``max_norm``; returns the norm before, a 0-d float64 array."""
    xp = get_array_module(grads[0])
    # All gradients in one vector, and one dot product: a fixed few operations, where one dot
    # per gradient would be hundreds (each array operation is a kernel launch on a GPU; the
    # copy is ~6 MB for the CIFAR models). The sum of squares is taken in float64.
    flat = xp.concatenate([g.ravel() for g in grads]).astype(xp.float64, copy=False)
    if norm_type == 2:
        total = xp.sqrt(xp.vdot(flat, flat))
    else:
        total = xp.abs(flat).sum() if norm_type == 1 else xp.abs(flat).max(initial=0.0)
    scale = xp.where(xp.isfinite(total), xp.minimum(1.0, max_norm / (total + eps)), 1.0)
    scales = {}  # the scale once per gradient dtype
    for g in grads:
        if g.dtype not in scales:
            scales[g.dtype] = scale.astype(g.dtype)
        g *= scales[g.dtype]
    return total
