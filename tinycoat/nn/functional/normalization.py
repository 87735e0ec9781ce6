"""Batch normalization and layer normalization, each one Function with a derived backward.

Both standardize x over some axes (a set of m entries), then scale and shift:

    μ = mean(x),   σ² = mean((x − μ)²),   x̂ = (x − μ) / √(σ² + ε),   y = γ ⊙ x̂ + β

BatchNorm  (N, C, H, W): statistics per channel, over the m = N·H·W entries of (N, H, W);
           γ, β have shape (C,).
LayerNorm  (..., *D):    statistics per sample, over the m entries of the trailing dims D;
           γ, β have shape D.

Backward. γ and β are easy: dβ = Σ g and dγ = Σ g ⊙ x̂ over the axes they are shared
along. For x, write ĝ = γ ⊙ g (the gradient reaching x̂). x̂ depends on x directly and
through μ and σ², and differentiating x̂ = (x − μ)/√(σ² + ε) over a group gives

    dL/dx = (1/√(σ² + ε)) · (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂))

— ĝ with its mean removed (the μ path) and with its component along x̂ removed (the σ²
path): the gradient of a standardized vector lives in the plane that keeps its mean 0
and its norm fixed. One formula, O(m); no graph of a dozen primitive ops to store.

In evaluation mode BatchNorm uses its running statistics instead, so it is just an
affine map per channel, y = x ⊙ scale + shift, and dL/dx = g ⊙ scale.
"""
from __future__ import annotations

from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.blockwise import map_blocks, sum_in_order
from tinycoat.tensor import Tensor


def _sum(a, axes, b=None):
    """Σ a (or Σ a ⊙ b) over ``axes``, kept as size-1 axes: one read of the inputs, no temporary.

    ``einsum`` streams through a and b and writes only the small result, where
    ``(a * b).sum(axes)`` would first write a full-size product (and NumPy's ``sum`` over
    the non-adjacent axes (0, 2, 3) of an NCHW array is itself about twice as slow).
    """
    xp = get_array_module(a)
    letters = "abcdefghijklmnopqrstuvwxyz"[:a.ndim]
    kept = "".join(letter for i, letter in enumerate(letters) if i not in axes)
    total = xp.einsum(f"{letters}->{kept}", a) if b is None else xp.einsum(f"{letters},{letters}->{kept}", a, b)
    return total.reshape(tuple(1 if i in axes else n for i, n in enumerate(a.shape)))


def _standardize(x, axes, eps):
    """(x̂, 1/√(σ² + ε), μ, σ²) with statistics over ``axes`` (kept as size-1 axes)."""
    xp = get_array_module(x)
    total = _sum(x, axes)
    m = x.size // total.size                                        # entries per group
    mean = total / m
    centered = x - mean
    var = _sum(centered, axes, centered) / m                        # biased: divide by m
    inv_std = 1.0 / xp.sqrt(var + eps)
    centered *= inv_std                                             # x̂, in place
    return centered, inv_std, mean, var


class BatchNorm(Function):
    """Training mode: batch statistics over every axis but 1 (channels).

    Each pass over x runs block by block on every core (tinycoat.blockwise); the
    per-channel sums come back as one partial sum per block, added in block order.
    """

    def forward(self, x, weight, bias, eps=1e-5, running_mean=None, running_var=None, momentum=0.1):
        xp = get_array_module(x)
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)                       # (C,) -> (1, C, 1, 1)
        m = x.size // x.shape[1]                                     # entries per channel
        self.axes, self.count = axes, m
        mean = sum_in_order(map_blocks(lambda xb: _sum(xb, axes), x)) / m                 # μ

        def center(xb, x_hat):                                      # x̂ ← x − μ; partial Σ(x − μ)²
            xp.subtract(xb, mean, out=x_hat)
            return _sum(x_hat, axes, x_hat)
        self.x_hat = xp.empty_like(x)
        var = sum_in_order(map_blocks(center, x, self.x_hat)) / m         # σ², biased: divide by m
        self.inv_std = 1.0 / xp.sqrt(var + eps)
        self.weight = weight.reshape(shape)
        if running_mean is not None:
            # Running statistics for evaluation, updated in place. PyTorch keeps the
            # *unbiased* variance there (× m/(m−1)) while normalizing with the biased one.
            running_mean.data *= 1.0 - momentum
            running_mean.data += momentum * mean.reshape(-1)
            running_var.data *= 1.0 - momentum
            running_var.data += (momentum * m / (m - 1)) * var.reshape(-1)

        def scale_shift(x_hat, y):                                  # x̂ ← x̂/√(σ² + ε); y = γ x̂ + β
            x_hat *= self.inv_std
            xp.multiply(x_hat, self.weight, out=y)
            y += bias.reshape(shape)
        y = xp.empty_like(x)
        map_blocks(scale_shift, self.x_hat, y)
        return y

    def backward(self, g):
        # The general formula (_standardized_backward, below) with one shortcut: the statistics
        # and γ share their axes here, so with ĝ = γ ⊙ g the two means it needs are the two sums
        # dβ and dγ need anyway, mean(ĝ) = γ·Σg/m and mean(ĝ ⊙ x̂) = γ·Σ(g ⊙ x̂)/m:
        #     dL/dx = γ/√(σ² + ε) · (g − Σg/m − x̂ ⊙ Σ(g ⊙ x̂)/m)
        # (two reads of g instead of five full-size temporaries).
        xp, m, axes = get_array_module(g), self.count, self.axes
        partial = map_blocks(lambda gb, hb: (_sum(gb, axes), _sum(gb, axes, hb)), g, self.x_hat)
        sum_g = sum_in_order(p[0] for p in partial)                           # Σ g        (1, C, 1, 1)
        sum_g_xhat = sum_in_order(p[1] for p in partial)                      # Σ g ⊙ x̂
        gw = sum_g_xhat.reshape(-1) if self.needs_input_grad[1] else None
        gb = sum_g.reshape(-1) if self.needs_input_grad[2] else None
        gx = None
        if self.needs_input_grad[0]:
            gain = self.weight * self.inv_std

            def input_grad(x_hat, g_block, gx_block):
                xp.multiply(x_hat, sum_g_xhat / -m, out=gx_block)
                gx_block += g_block
                gx_block -= sum_g / m
                gx_block *= gain
            gx = xp.empty_like(g)
            map_blocks(input_grad, self.x_hat, g, gx)
        return gx, gw, gb


class BatchNormEval(Function):
    """Evaluation mode: a fixed affine map per channel from the running statistics."""

    def forward(self, x, weight, bias, eps=1e-5, running_mean=None, running_var=None):
        xp = get_array_module(x)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        inv_std = 1.0 / xp.sqrt(running_var.data + eps)
        self.scale = (weight * inv_std).reshape(shape)              # γ / √(σ²_run + ε)
        shift = (bias - running_mean.data * weight * inv_std).reshape(shape)
        self.axes = (0,) + tuple(range(2, x.ndim))
        if self.needs_input_grad[1]:                                # dγ needs x̂
            self.x_hat = (x - running_mean.data.reshape(shape)) * inv_std.reshape(shape)
        y = x * self.scale
        y += shift
        return y

    def backward(self, g):
        gx = g * self.scale if self.needs_input_grad[0] else None
        gw = (g * self.x_hat).sum(axis=self.axes) if self.needs_input_grad[1] else None
        gb = g.sum(axis=self.axes) if self.needs_input_grad[2] else None
        return gx, gw, gb


class LayerNorm(Function):
    """Statistics over the trailing ``ndim`` axes of each sample."""

    def forward(self, x, weight, bias, ndim=1, eps=1e-5):
        axes = tuple(range(x.ndim - ndim, x.ndim))
        self.x_hat, self.inv_std, _, _ = _standardize(x, axes, eps)
        self.weight = weight
        y = self.x_hat * weight
        y += bias
        return y

    def backward(self, g):
        nd = self.weight.ndim
        return _standardized_backward(self, g, axes=tuple(range(g.ndim - nd, g.ndim)),
                                      param_axes=tuple(range(g.ndim - nd)))


def _standardized_backward(fn, g, axes, param_axes):
    """Gradients of y = γ ⊙ x̂ + β: statistics over ``axes``, γ and β shared over ``param_axes``."""
    # Summing over param_axes leaves exactly γ's shape: (C,) for BatchNorm, D for LayerNorm.
    gw = (g * fn.x_hat).sum(axis=param_axes) if fn.needs_input_grad[1] else None
    gb = g.sum(axis=param_axes) if fn.needs_input_grad[2] else None
    gx = None
    if fn.needs_input_grad[0]:
        g_hat = g * fn.weight                                            # ĝ = γ ⊙ g
        gx = g_hat - g_hat.mean(axis=axes, keepdims=True)                # remove the mean ...
        gx -= fn.x_hat * (g_hat * fn.x_hat).mean(axis=axes, keepdims=True)  # ... and the x̂ part
        gx *= fn.inv_std
    return gx, gw, gb


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
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for input {tuple(x.shape)}, "
                             f"got {tuple(t.shape)}")
    weight, bias = _affine(x, weight, bias, (c,))
    if training or running_mean is None or running_var is None:
        if x.size // c < 2:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input {tuple(x.shape)}")
        return BatchNorm.apply(x, weight, bias, eps=eps, running_mean=running_mean if training else None,
                               running_var=running_var if training else None, momentum=momentum)
    return BatchNormEval.apply(x, weight, bias, eps=eps, running_mean=running_mean, running_var=running_var)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing dims ``normalized_shape`` of x (e.g. (C,) for tokens (B, N, C))."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.shape[x.ndim - len(shape):]) != shape or x.ndim < len(shape):
        raise ValueError(f"layer_norm: expected input (..., {', '.join(map(str, shape))}), got {tuple(x.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}, got {tuple(t.shape)}")
    weight, bias = _affine(x, weight, bias, shape)
    return LayerNorm.apply(x, weight, bias, ndim=len(shape), eps=eps)
