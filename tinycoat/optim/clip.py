"""Gradient clipping by global norm.

All gradients together form one long vector G. If ‖G‖₂ exceeds ``max_norm``
every gradient is scaled by max_norm / ‖G‖₂: the step keeps its direction but
cannot explode. The scale is computed on the device and never read back to the
host, so clipping costs no GPU synchronisation.
"""
from __future__ import annotations

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
    ``norm_type`` is PyTorch's third argument; only the L2 norm (2) is implemented.
    """
    if not (isinstance(max_norm, (int, float)) and max_norm > 0):   # (inf allowed: measure, never clip)
        raise ValueError(f"clip_grad_norm_: max_norm must be a number > 0 (inf: no clipping), got {max_norm!r}")
    check_number("clip_grad_norm_", "eps", eps, low_open=True)
    if norm_type != 2:
        raise ValueError(f"clip_grad_norm_: only norm_type=2 (the L2 norm) is implemented, got {norm_type!r}")
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad.data for p in parameters if p.grad is not None]
    if not grads:                       # (the norm of no gradients, on the parameters' device)
        return Tensor(0.0, dtype="float64", device=parameters[0].device if parameters else "cpu")
    clip = twins.pick(clip_gradients_, device_of(grads[0]), grads)   # (a few launches on a GPU: twins.py)
    return Tensor(clip(grads, max_norm=max_norm, eps=eps))


def clip_gradients_(grads, max_norm, eps):
    """The arrays ``grads`` rescaled in place to a global L2 norm of at most ``max_norm``; returns
    the norm before, a 0-d float64 array."""
    xp = get_array_module(grads[0])
    # All gradients in one vector, and one dot product: a fixed few operations, where one dot
    # per gradient would be hundreds (each array operation is a kernel launch on a GPU; the
    # copy is ~6 MB for the CIFAR models). The sum of squares is taken in float64.
    flat = xp.concatenate([g.ravel() for g in grads]).astype(xp.float64, copy=False)
    total = xp.sqrt(xp.vdot(flat, flat))
    scale = xp.where(xp.isfinite(total), xp.minimum(1.0, max_norm / (total + eps)), 1.0)
    scales = {}  # the scale once per gradient dtype
    for g in grads:
        if g.dtype not in scales:
            scales[g.dtype] = scale.astype(g.dtype)
        g *= scales[g.dtype]
    return total
