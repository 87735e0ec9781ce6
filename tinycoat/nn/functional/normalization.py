"""Batch, layer and group normalization: standardize, then scale and shift.

Each standardizes x over some axes (a set of m entries), then scales and shifts:

    μ = mean(x),   σ² = mean((x − μ)²),   x̂ = (x − μ) / √(σ² + ε),   y = γ ⊙ x̂ + β

BatchNorm  (N, C, ...):  statistics per channel, over the m entries of every axis but C
           (N·H·W of (N, C, H, W) maps); γ, β have shape (C,).
LayerNorm  (..., *D):    statistics per sample, over the m entries of the trailing dims D;
           γ, β have shape D.
GroupNorm  (N, C, ...):  statistics per sample and group of C/G channels, over the group's
           channels and pixels: LayerNorm of x reshaped to (N, G, C/G·H·W); γ, β have shape (C,).
           G = 1 is a LayerNorm over (C, H, W), G = C normalizes each map alone:
InstanceNorm (N, C, ...): statistics per sample and channel, over its pixels: BatchNorm of the
           N·C maps as the channels of one sample, (1, N·C, H, W) (so it may keep running statistics,
           the average of the N samples'); γ, β have shape (C,).

Backward. γ and β are easy: dβ = Σ g and dγ = Σ g ⊙ x̂ over the axes they are shared
along. For x, write ĝ = γ ⊙ g (the gradient reaching x̂). x̂ depends on x directly and
through μ and σ², and differentiating x̂ = (x − μ)/√(σ² + ε) over a group gives

    dL/dx = (1/√(σ² + ε)) · (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂))

— ĝ with its mean removed (the μ path) and with its component along x̂ removed (the σ²
path): the gradient of a standardized vector lives in the plane that keeps its mean 0
and its norm fixed. One formula, O(m); no graph of a dozen primitive ops to store.

In evaluation mode BatchNorm uses its running statistics instead, so x̂ = (x − μ_run)/√(σ²_run + ε)
is just an affine map per channel, and dL/dx = ĝ/√(σ²_run + ε).
(The fast wing's twins, tinycoat/fast/normalization.py, compute the same in fewer passes.)
"""
from __future__ import annotations

from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.checks import check_float_input, is_int
from tinycoat.tensor import Tensor


def standardize(x, axes, eps):
    """x̂ = (x − μ)/√(σ² + ε) over ``axes``; returns x̂, μ, σ² (biased: ÷ m) and 1/√(σ² + ε)."""
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    inv_std = 1 / get_array_module(x).sqrt(var + eps)
    return (x - mean) * inv_std, mean, var, inv_std


def standardize_backward(g_hat, x_hat, inv_std, axes):
    """dL/dx from ĝ = dL/dx̂: (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂)) / √(σ² + ε), means over ``axes``."""
    mean_g = g_hat.mean(axis=axes, keepdims=True)
    mean_gx = (g_hat * x_hat).mean(axis=axes, keepdims=True)
    return (g_hat - mean_g - x_hat * mean_gx) * inv_std


def scale_shift_grads(g, x_hat, shared, needs_input_grad):
    """(dγ, dβ) of y = γ ⊙ x̂ + β: Σ g ⊙ x̂ and Σ g over the axes γ and β are shared along."""
    gw = (g * x_hat).sum(axis=shared) if needs_input_grad[1] else None
    gb = g.sum(axis=shared) if needs_input_grad[2] else None
    return gw, gb


class BatchNorm(Function):
    """Training mode: batch statistics over every axis but 1 (the channels)."""

    def forward(self, x, weight, bias, eps=1e-5, running_mean=None, running_var=None, momentum=0.1):
        self.axes = (0,) + tuple(range(2, x.ndim))                  # (N, H, W)
        shape = (1, -1) + (1,) * (x.ndim - 2)                       # (C,) -> (1, C, 1, 1)
        self.x_hat, mean, var, self.inv_std = standardize(x, self.axes, eps)
        self.gamma = weight.reshape(shape)
        if running_mean is not None:
            # Running statistics for evaluation, updated in place (they are the layer's buffers).
            # PyTorch keeps the *unbiased* variance there (× m/(m−1)) while normalizing with the biased one.
            m = x.size // x.shape[1]
            running_mean.data[...] = (1 - momentum) * running_mean.data + momentum * mean.reshape(-1)
            running_var.data[...] = (1 - momentum) * running_var.data + momentum * m / (m - 1) * var.reshape(-1)
        return self.gamma * self.x_hat + bias.reshape(shape)

    def backward(self, g):
        gx = standardize_backward(self.gamma * g, self.x_hat, self.inv_std, self.axes) \
            if self.needs_input_grad[0] else None
        return (gx,) + scale_shift_grads(g, self.x_hat, self.axes, self.needs_input_grad)


class BatchNormEval(Function):
    """Evaluation mode: x̂ from the running statistics, a fixed affine map per channel."""

    def forward(self, x, weight, bias, eps=1e-5, running_mean=None, running_var=None):
        self.axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        self.inv_std = 1 / get_array_module(x).sqrt(running_var.data.reshape(shape) + eps)
        self.x_hat = (x - running_mean.data.reshape(shape)) * self.inv_std
        self.gamma = weight.reshape(shape)
        return self.gamma * self.x_hat + bias.reshape(shape)

    def backward(self, g):
        gx = self.gamma * self.inv_std * g if self.needs_input_grad[0] else None   # μ, σ² are constants here
        return (gx,) + scale_shift_grads(g, self.x_hat, self.axes, self.needs_input_grad)


class LayerNorm(Function):
    """Statistics over the trailing ``ndim`` axes of each sample; γ and β shared by the others."""

    def forward(self, x, weight, bias, ndim=1, eps=1e-5):
        self.axes = tuple(range(x.ndim - ndim, x.ndim))             # the normalized axes D
        self.shared = tuple(range(x.ndim - ndim))                    # the axes γ and β are shared along
        self.x_hat, _, _, self.inv_std = standardize(x, self.axes, eps)
        self.gamma = weight
        return weight * self.x_hat + bias

    def backward(self, g):
        gx = standardize_backward(self.gamma * g, self.x_hat, self.inv_std, self.axes) \
            if self.needs_input_grad[0] else None
        return (gx,) + scale_shift_grads(g, self.x_hat, self.shared, self.needs_input_grad)


def _affine(x, weight, bias, shape):
    """γ and β as tensors; absent ones become constants 1 and 0 (no gradient)."""
    xp = x.xp
    if weight is None:
        weight = Tensor(xp.ones(shape, dtype=x.dtype))
    if bias is None:
        bias = Tensor(xp.zeros(shape, dtype=x.dtype))
    return weight, bias


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel of x (N, C, ...) over the batch and the pixels.

    training=True: batch statistics, and running_mean/running_var (Tensors, or None)
    are updated in place. training=False: the running statistics are used.
    """
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input (N, C, ...), got {tuple(x.shape)}")
    check_float_input("batch_norm", x)
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for input {tuple(x.shape)}, "
                             f"got {tuple(t.shape)}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: training=False normalizes with running_mean and running_var, but they are "
                         "None: pass them, or training=True for the batch's own statistics (as PyTorch)")
    weight, bias = _affine(x, weight, bias, (c,))
    if training:
        if x.numel() // c < 2:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input {tuple(x.shape)}")
        return BatchNorm.apply(x, weight, bias, eps=eps, running_mean=running_mean, running_var=running_var,
                               momentum=momentum)
    return BatchNormEval.apply(x, weight, bias, eps=eps, running_mean=running_mean, running_var=running_var)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing dims ``normalized_shape`` of x (e.g. (C,) for tokens (B, N, C))."""
    check_float_input("layer_norm", x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.shape[x.ndim - len(shape):]) != shape or x.ndim < len(shape):
        raise ValueError(f"layer_norm: expected input (..., {', '.join(map(str, shape))}), got {tuple(x.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}, got {tuple(t.shape)}")
    weight, bias = _affine(x, weight, bias, shape)
    return LayerNorm.apply(x, weight, bias, ndim=len(shape), eps=eps)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize each sample's channels of x (N, C, ...) in ``num_groups`` groups, then γ, β per
    channel (Wu & He; PyTorch's F.group_norm). Written as LayerNorm of the groups, so its backward
    is LayerNorm's."""
    if x.ndim < 2 or not is_int(num_groups) or num_groups < 1 or x.shape[1] % num_groups:
        raise ValueError(f"group_norm: expected input (N, C, ...) with C divisible by num_groups, got input "
                         f"{tuple(x.shape)} and num_groups={num_groups!r}")
    check_float_input("group_norm", x)
    n, c = x.shape[:2]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"group_norm: {name} must have shape ({c},), got {tuple(t.shape)}")
    groups = x.reshape(n, num_groups, -1)                             # (N, G, C/G·H·W)
    return _per_channel_affine(layer_norm(groups, groups.shape[-1], eps=eps).reshape(x.shape), weight, bias)


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalize each map of x (N, C, ...) over its own pixels (Ulyanov et al.; PyTorch's F.instance_norm),
    then γ, β per channel. use_input_stats=False normalizes by running_mean and running_var instead;
    with them given and use_input_stats=True, they are updated in place by the samples' average."""
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected input (N, C, ...) with at least one pixel axis, "
                         f"got {tuple(x.shape)}")
    check_float_input("instance_norm", x)
    n, c = x.shape[:2]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"instance_norm: {name} must have shape ({c},) for input {tuple(x.shape)}, "
                             f"got {tuple(t.shape)}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("instance_norm: pass running_mean and running_var together, or neither (one alone "
                         "could be neither used nor updated)")
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, training=False, eps=eps)
    if x.numel() == 0:
        return x.clone()                                  # no map, nothing to normalize (as PyTorch)
    if x.numel() // (n * c) < 2:
        raise ValueError(f"instance_norm: expected more than 1 pixel per map when using the input's statistics, "
                         f"got input {tuple(x.shape)}")
    xp, tracked = x.xp, running_mean is not None        # (both or neither: checked above)
    # each sample's maps as channels of their own; the running statistics repeated for each sample
    repeated = [Tensor(xp.tile(t.data, n)) if tracked else None for t in (running_mean, running_var)]
    y = batch_norm(x.reshape((1, n * c) + x.shape[2:]), *repeated, training=True, momentum=momentum, eps=eps)
    if tracked:                             # the N samples' updates, averaged
        running_mean.data[...] = repeated[0].data.reshape(n, c).mean(axis=0)
        running_var.data[...] = repeated[1].data.reshape(n, c).mean(axis=0)
    return _per_channel_affine(y.reshape(x.shape), weight, bias)


def _per_channel_affine(y, weight, bias):
    """γ ⊙ y + β with γ, β (C,) along y's axis 1 (either may be None: no scale, no shift)."""
    per_channel = (1, y.shape[1]) + (1,) * (y.ndim - 2)
    y = y if weight is None else y * weight.reshape(per_channel)
    return y if bias is None else y + bias.reshape(per_channel)
