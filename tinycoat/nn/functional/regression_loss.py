"""Losses of a prediction that should equal a target: squared, absolute and Huber error, and the
Kullback-Leibler divergence of two distributions. With d = x − t:

    mse_loss:        ℓ = mean_i d_i²                              dℓ/dx_i = 2 d_i / n
    l1_loss:         ℓ = mean_i |d_i|                             dℓ/dx_i = sign(d_i) / n
    huber_loss:      ½ d² where |d| < δ, else δ(|d| − ½δ)         (quadratic near 0, linear far out:
    smooth_l1_loss:  huber_loss with δ = β, divided by β           outliers pull with at most δ)
    kl_div:          ℓ = t (log t − x), x the log-probabilities   (0 where t = 0)

Each is a few core ops (sub, mul, abs, where, log, mean), so its backward is autograd's; the
target is differentiated too when it requires a gradient, as in PyTorch.
"""
from __future__ import annotations

from tinycoat.autograd import as_tensor
from tinycoat.checks import check_number
from tinycoat.ops import where


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


def huber_loss(input, target, reduction="mean", delta=1.0):  # noqa: A002
    """½d² where |d| < δ, δ(|d| − ½δ) beyond (d = x − t): the two meet with the same slope ±δ at |d| = δ."""
    delta = check_number("huber_loss", "delta", delta, low_open=True)
    d = input - same_shape_target("huber_loss", input, target)
    a = d.abs()
    return reduced("huber_loss", where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):  # noqa: A002
    """½d²/β where |d| < β, |d| − ½β beyond: huber_loss(δ = β) / β, and l1_loss when β = 0."""
    beta = check_number("smooth_l1_loss", "beta", beta)
    if beta == 0:
        return l1_loss(input, target, reduction)
    return reduced("smooth_l1_loss", huber_loss(input, target, "none", beta) / beta, reduction)


def kl_div(input, target, reduction="mean", log_target=False):  # noqa: A002
    """Σ t (log t − x) for log-probabilities x (PyTorch's argument order: the model's log_softmax
    first, the target distribution second; ``log_target``: the target given as log t too).
    'batchmean' divides the sum by the batch size, the divergence per sample; 'mean' by the
    number of entries, as PyTorch's (which warns that it is rarely what is meant)."""
    if reduction not in ("mean", "batchmean", "sum", "none"):
        raise ValueError(f"kl_div: reduction must be 'batchmean', 'mean', 'sum' or 'none', got {reduction!r}")
    target = same_shape_target("kl_div", input, target)
    if log_target:
        terms = target.exp() * (target - input)
    else:   # t log t is 0 at t = 0: log of 1 there, so that neither the value nor a gradient is NaN
        terms = target * (where(target > 0, target, 1.0).log() - input)
    if reduction == "batchmean":
        return terms.sum() * (1.0 / (input.shape[0] if input.ndim else 1))
    return reduced("kl_div", terms, reduction)
