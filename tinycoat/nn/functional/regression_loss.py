"""Losses of a prediction that should equal a target number: mean squared and mean absolute error.

    mse_loss:  ℓ = mean_i (x_i − t_i)²      dℓ/dx_i = 2 (x_i − t_i) / n
    l1_loss:   ℓ = mean_i |x_i − t_i|       dℓ/dx_i = sign(x_i − t_i) / n

Both are a few core ops (sub, mul or abs, mean), so their backward is autograd's; the
target is differentiated too when it requires a gradient, as in PyTorch.
"""
from __future__ import annotations

from tinycoat.autograd import as_tensor


def reduced(name, terms, reduction):
    """The per-entry losses ``terms`` averaged ('mean'), summed ('sum') or kept ('none')."""
    if reduction == "mean":
        return terms.mean()
    if reduction == "sum":
        return terms.sum()
    if reduction == "none":
        return terms
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def same_shape_target(name, input, target):  # noqa: A002 - PyTorch's argument name
    """``target`` as a tensor of ``input``'s shape, or a clear error (PyTorch only warns, then
    broadcasts (N, 1) against (N,) into (N, N): rarely what was meant)."""
    target = as_tensor(target, like=input)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{name}: input and target must have the same shape, got {tuple(input.shape)} "
                         f"and {tuple(target.shape)}")
    return target


def mse_loss(input, target, reduction="mean"):  # noqa: A002
    """Mean squared error (x − t)², averaged (``reduction='mean'``), summed, or per entry ('none')."""
    d = input - same_shape_target("mse_loss", input, target)
    return reduced("mse_loss", d * d, reduction)


def l1_loss(input, target, reduction="mean"):  # noqa: A002
    """Mean absolute error |x − t| (its gradient at x = t is 0, as PyTorch's)."""
    return reduced("l1_loss", (input - same_shape_target("l1_loss", input, target)).abs(), reduction)
