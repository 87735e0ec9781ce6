"""Twins of BatchNorm (training and evaluation) and LayerNorm (nn/functional/normalization.py).

The reference standardizes in the plainest way — μ, then (x − μ)², then x̂, then γ ⊙ x̂ + β,
each a pass over a large activation through main memory, and as many again backward. The same
numbers here, in fewer passes, each on cache-sized blocks on every core (blocks.py):

* BatchNorm's statistics as *shifted sums* in one read (Σd, Σd² of d = x − k, k a rough mean),
  no stored x̂ (the backward recomputes x − μ in cache), and the backward's two sums and its
  dL/dx = a ⊙ g + b ⊙ (x − μ) + c per channel in two reads of g and x.
* Channel-major maps (layout.py) cut into blocks of *whole channels*: statistics and
  normalization in one visit per block, sums and dL/dx too (BN forward 173 → 110 ms, backward
  225 → 154 ms per nano step).
* Per-channel vectors written out over one sample (``_spread``): NumPy applies a (1, C, 1, 1)
  operand to an (n, C, H, W) block one row of H·W entries at a time, with a fixed cost per row.
* Σ a ⊙ b as one ``einsum`` that reads a and b once and writes only the small result.
* LayerNorm's x̂ and its backward written in place into block-sized arrays.
* On a GPU: BatchNorm's per-channel arithmetic (statistics, running update, backward
  coefficients) and its two full-size passes as CUDA kernels (cuda_kernels.py), where the array
  code made ~28 tiny launches per layer, and the sums as one CUDA reduction each; LayerNorm over
  the last axis as one kernel forward and one (plus γ's and β's two sums) backward, where the
  array code made ~25 launches.
"""
from __future__ import annotations

from tinycoat.backend import get_array_module
from tinycoat.fast import cuda_kernels
from tinycoat.fast.blocks import map_blocks, sum_in_order
from tinycoat.fast.layout import blocks_of_channels, channel_rows
from tinycoat.nn.functional import normalization


def _sum(a, axes, b=None):
    """Σ a (or Σ a ⊙ b) over ``axes``, kept as size-1 axes: one read of the inputs, no temporary.

    ``einsum`` streams through a and b and writes only the small result, where
    ``(a * b).sum(axes)`` would first write a full-size product (and NumPy's ``sum`` over
    the non-adjacent axes (0, 2, 3) of an NCHW array is itself about twice as slow).
    """
    if cuda_kernels.available(a) and (b is None or cuda_kernels.available(b)):
        # On a GPU: one reduction kernel. (CuPy's einsum spends ~0.1 ms of Python on each call,
        # and makes Σ a ⊙ b a batched matrix product, TF32-rounded when TF32 is on.)
        if b is None:
            return a.sum(axis=tuple(axes), keepdims=True)
        return cuda_kernels.reduction("dot_sum")(*cuda_kernels.one_type(a, b), axis=tuple(axes), keepdims=True)
    xp = get_array_module(a)
    letters = "abcdefghijklmnopqrstuvwxyz"[:a.ndim]
    kept = "".join(letter for i, letter in enumerate(letters) if i not in axes)
    total = xp.einsum(f"{letters}->{kept}", a) if b is None else xp.einsum(f"{letters},{letters}->{kept}", a, b)
    return total.reshape(tuple(1 if i in axes else n for i, n in enumerate(a.shape)))


def _standardize(x, axes, eps, out):
    """Write x̂ = (x − μ)/√(σ² + ε) into ``out`` (statistics over ``axes``); return 1/√(σ² + ε)."""
    xp = get_array_module(x)
    total = _sum(x, axes)
    m = x.size // total.size                                        # entries per group
    centered = xp.subtract(x, total / m, out=out)
    var = _sum(centered, axes, centered) / m                        # biased: divide by m
    inv_std = 1.0 / xp.sqrt(var + eps)
    centered *= inv_std
    return inv_std


def _spread(v, like):
    """A per-channel vector v (1, C, 1, ...) written out over one sample of ``like``: (1, C, H, W).

    Why: NumPy applies a (1, C, 1, 1) operand to an (n, C, H, W) block one (sample,
    channel) row of H·W entries at a time, with ~75 ns of overhead per row (measured 1.4×
    slower than a plain pass at 16×16). Spread over a sample, the operand broadcasts along
    the batch only, and each sample is one long inner loop. The spread copy is one sample's
    size, made once per call and shared by every block.
    """
    if cuda_kernels.available(like):                 # a GPU kernel broadcasts at no cost
        return v
    xp = get_array_module(v)
    return xp.ascontiguousarray(xp.broadcast_to(v, (1,) + like.shape[1:]))


def _map_per_channel(kernel, arrays, vectors):
    """map_blocks(kernel, *arrays, *vectors) for same-layout (N, C, ...) arrays and per-channel
    vectors (1, C, 1, ...): a channel-major layout is cut into blocks of whole channels, each
    array seen as (C, N·H·W) rows and each vector as (C, 1); any other into blocks of samples,
    the vectors spread over a sample (``_spread``). Either way every inner loop is long."""
    first = arrays[0]
    if blocks_of_channels(*arrays):
        c = first.shape[1]
        rows = [channel_rows(a).reshape(c, -1) for a in arrays]                   # views
        return map_blocks(kernel, *rows, *(v.reshape(c, 1) for v in vectors))
    return map_blocks(kernel, *arrays, *(_spread(v, first) for v in vectors))


class BatchNorm(normalization.BatchNorm):
    """Training mode: batch statistics over every axis but 1 (channels).

    Every pass runs block by block on every core (blocks.py), and there are
    few passes, because each one streams a large activation through main memory:

    * statistics, one read of x: every block gives Σ d and Σ d² of d = x − k, k being the
      first sample's mean of each channel, and they add up (in float64) to
          μ = k + Σd/m,        σ² = Σd²/m − (Σd/m)².
      The shift k is what keeps this accurate in float32: without it, Σx²/m − μ² subtracts
      two numbers of size μ² to get σ², and loses every digit once |μ| ≫ σ; with it, the
      two terms are of size σ² + (μ − k)², and k is close to μ.
    * y = (x − μ) ⊙ scale + shift, with scale = γ/√(σ² + ε), shift = β.
    * x̂ is not stored: x itself stays alive as this node's input anyway, and the
      backward recomputes x − μ inside each block.
    Every per-channel vector meets the blocks spread over a sample (``_spread``).

    A channel-major input (laid out (C, N, H, W) in memory, as conv2d's column path and
    the 1×1 convolutions after it return it) is cut into blocks of whole channels instead:
    a block then holds everything its statistics need, so statistics and normalization (and
    in the backward, sums and dL/dx) happen in one visit while the block is in cache —
    each activation crosses main memory once per direction, not twice.
    """

    def forward(self, x, weight, bias, eps=1e-5, running_mean=None, running_var=None, momentum=0.1):
        shape = (1, -1) + (1,) * (x.ndim - 2)                       # (C,) -> (1, C, 1, 1)
        self.axes = (0,) + tuple(range(2, x.ndim))
        self.count = m = x.size // x.shape[1]                        # entries per channel
        self.weight, self.x = weight.reshape(shape), x
        if blocks_of_channels(x):
            y, mean, var = self._forward_channel_major(x, bias, eps)
        else:
            y, mean, var = self._forward_batch_major(x, bias.reshape(shape), eps)
        if running_mean is not None:
            # Running statistics for evaluation, updated in place. PyTorch keeps the
            # *unbiased* variance there (× m/(m−1)) while normalizing with the biased one.
            var_weight = momentum * m / (m - 1)
            if cuda_kernels.available(running_mean.data) and running_mean.dtype == running_var.dtype == x.dtype:
                cuda_kernels.elementwise("batch_norm_running")(
                    mean, var, 1.0 - momentum, float(momentum), var_weight,
                    running_mean.data.reshape(shape), running_var.data.reshape(shape))
            else:
                running_mean.data *= 1.0 - momentum
                running_mean.data += momentum * mean.reshape(-1)
                running_var.data *= 1.0 - momentum
                running_var.data += var_weight * var.reshape(-1)
        return y

    def _forward_batch_major(self, x, bias, eps):
        """Two visits: statistics over blocks of samples, then y. Sets self.mean, self.inv_std."""
        xp, axes, m = get_array_module(x), self.axes, self.count
        k = _sum(x[:1], axes) / (x[:1].size // x.shape[1])           # (1, C, 1, 1): the shift
        shift_k = _spread(k, x)

        def block_sums(xb):
            d = xb - shift_k                                         # in cache, on one block
            return _sum(d, axes).astype("float64"), _sum(d, axes, d).astype("float64")
        parts = map_blocks(block_sums, x)
        sum_d, sum_d2 = (sum_in_order(p[i] for p in parts) for i in (0, 1))   # (1, C, 1, 1), float64
        if cuda_kernels.available(x) and self.weight.dtype == x.dtype:   # the arithmetic below in one launch
            mean, var, self.inv_std, scale = cuda_kernels.elementwise("batch_norm_statistics")(
                sum_d, sum_d2, k, self.weight, float(m), float(eps))
        else:
            mean_d = sum_d / m
            var = xp.maximum(sum_d2 / m - mean_d ** 2, 0.0)
            mean, var = (k + mean_d).astype(x.dtype), var.astype(x.dtype)
            self.inv_std = 1.0 / xp.sqrt(var + eps)
            scale = self.weight * self.inv_std
        self.mean = mean
        mean_x, scale, shift = _spread(mean, x), _spread(scale, x), _spread(bias, x)

        def normalize(xb, yb):
            # (x − μ) first: x·scale − μ·scale would cancel away the digits when |μ| ≫ σ
            xp.subtract(xb, mean_x, out=yb)
            yb *= scale
            yb += shift
        if cuda_kernels.available(x):
            return cuda_kernels.elementwise("batch_norm_apply")(*cuda_kernels.one_type(x, mean_x, scale, shift)), mean, var
        y = xp.empty_like(x, dtype=xp.result_type(x, scale, shift))         # float64 γ, β: float64 y, as γ ⊙ x̂ + β
        map_blocks(normalize, x, y)
        return y, mean, var

    def _forward_channel_major(self, x, bias, eps):
        """One visit per block of whole channels: statistics, then y, in cache."""
        xp, m, c = get_array_module(x), self.count, x.shape[1]
        y = xp.empty_like(x, dtype=xp.result_type(x, self.weight, bias))   # channel-major like x

        def normalize(xb, yb, gamma, beta):
            # two-pass variance, Σ(x − μ)²: no cancellation
            mean = (_channel_sums(xb) / m).astype(x.dtype)
            xp.subtract(xb, mean[:, None, None], out=yb)
            var = (_channel_sums(yb, yb) / m).astype(x.dtype)
            inv_std = 1.0 / xp.sqrt(var + eps)
            yb *= (gamma * inv_std[:, None, None])
            yb += beta
            return mean, var, inv_std
        parts = map_blocks(normalize, channel_rows(x), channel_rows(y),
                           self.weight.reshape(c, 1, 1), bias.reshape(c, 1, 1))
        mean, var, inv_std = (xp.concatenate([p[i] for p in parts]).reshape(self.weight.shape) for i in range(3))
        self.mean, self.inv_std = mean, inv_std
        return y, mean, var

    def backward(self, g):
        # The general formula (LayerNorm.backward, below) with one shortcut: the statistics
        # and γ share their axes here, so with ĝ = γ ⊙ g the two means it needs are the two sums
        # dβ and dγ need anyway, mean(ĝ) = γ·Σg/m and mean(ĝ ⊙ x̂) = γ·Σ(g ⊙ x̂)/m:
        #     dL/dx = γ/√(σ² + ε) · (g − Σg/m − x̂ ⊙ Σ(g ⊙ x̂)/m)
        # With x̂ = (x − μ)/√(σ² + ε) that is, per channel, a ⊙ g + b ⊙ (x − μ) + c:
        # two reads (sums, then dL/dx) of g and x in all.
        if blocks_of_channels(g, self.x):
            return self._backward_channel_major(g)
        xp, m, axes, inv_std = get_array_module(g), self.count, self.axes, self.inv_std
        mean = _spread(self.mean, g)
        partial = map_blocks(lambda gb, xb: (_sum(gb, axes), _sum(gb, axes, xb - mean)), g, self.x)
        sum_g = sum_in_order(p[0] for p in partial)                     # Σ g        (1, C, 1, 1)
        sum_g_centered = sum_in_order(p[1] for p in partial)            # Σ g ⊙ (x − μ)
        if cuda_kernels.available(g):                                   # the arithmetic below in one launch
            sum_g_xhat, a, b, c = cuda_kernels.elementwise("batch_norm_grad_coefficients")(
                *cuda_kernels.one_type(sum_g, sum_g_centered, inv_std, self.weight), float(m))
        else:
            sum_g_xhat = sum_g_centered * inv_std                       # Σ g ⊙ x̂
            if self.needs_input_grad[0]:
                a, b, c = (_spread(v, g) for v in _input_grad_coefficients(self.weight, inv_std, sum_g, sum_g_xhat, m))
        gw = sum_g_xhat.reshape(-1) if self.needs_input_grad[1] else None
        gb = sum_g.reshape(-1) if self.needs_input_grad[2] else None
        gx = None
        if self.needs_input_grad[0]:
            def input_grad(g_block, x_block, gx_block):
                xp.multiply(g_block, a, out=gx_block)
                centered = x_block - mean
                centered *= b
                gx_block += centered
                gx_block += c
            if cuda_kernels.available(g):
                gx = cuda_kernels.elementwise("batch_norm_input_grad")(*cuda_kernels.one_type(g, self.x, mean, a, b, c))
            else:
                gx = xp.empty_like(g)
                map_blocks(input_grad, g, self.x, gx)
        return gx, gw, gb

    def _backward_channel_major(self, g):
        """One visit per block of whole channels: Σg and Σg ⊙ (x − μ), then dL/dx, in cache."""
        xp, c = get_array_module(g), g.shape[1]
        gx = xp.empty_like(g) if self.needs_input_grad[0] else None
        vectors = (v.reshape(c, 1, 1) for v in (self.mean, self.inv_std, self.weight))

        def block(gb, xb, gxb, mean, inv_std, gamma):
            centered = xb - mean                                        # in cache
            sum_g = _channel_sums(gb).astype(g.dtype)
            sum_g_centered = _channel_sums(gb, centered).astype(g.dtype)
            sum_g_xhat = sum_g_centered[:, None, None] * inv_std        # Σ g ⊙ x̂
            if gxb is not None:
                a, b, c = _input_grad_coefficients(gamma, inv_std, sum_g[:, None, None], sum_g_xhat, self.count)
                xp.multiply(gb, a, out=gxb)
                centered *= b
                gxb += centered
                gxb += c
            return sum_g, sum_g_xhat.reshape(-1)
        gx_rows = None if gx is None else channel_rows(gx)
        parts = map_blocks(block, channel_rows(g), channel_rows(self.x), gx_rows, *vectors)
        gw = xp.concatenate([p[1] for p in parts]) if self.needs_input_grad[1] else None
        gb = xp.concatenate([p[0] for p in parts]) if self.needs_input_grad[2] else None
        return gx, gw, gb


def _channel_sums(a, b=None):
    """Σ a (or Σ a ⊙ b) per channel of (C, N, H·W) rows, float64: each sample's sum in the
    array's dtype, those added in float64 (as the batch-major path adds its blocks)."""
    xp = get_array_module(a)
    per_sample = xp.einsum("cnp->cn", a) if b is None else xp.einsum("cnp,cnp->cn", a, b)
    return per_sample.astype("float64").sum(axis=1)


def _input_grad_coefficients(gamma, inv_std, sum_g, sum_g_xhat, m):
    """Per channel, dL/dx = a ⊙ g + b ⊙ (x − μ) + c (see BatchNorm.backward): (a, b, c)."""
    a = gamma * inv_std                                             # γ/√(σ² + ε)
    return a, a * inv_std * (sum_g_xhat / -m), a * (sum_g / -m)     # the x̂ term per unit of x; the mean term


class BatchNormEval(normalization.BatchNormEval):
    """Evaluation mode: a fixed affine map per channel from the running statistics."""

    def forward(self, x, weight, bias, eps=1e-5, running_mean=None, running_var=None):
        xp = get_array_module(x)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        inv_std = 1.0 / xp.sqrt(running_var.data + eps)
        self.scale = scale = (weight * inv_std).reshape(shape)      # γ / √(σ²_run + ε)
        shift = (bias - running_mean.data * weight * inv_std).reshape(shape)
        self.axes = (0,) + tuple(range(2, x.ndim))
        if self.needs_input_grad[1]:                                # dγ needs x̂
            self.x_hat = (x - running_mean.data.reshape(shape)) * inv_std.reshape(shape)
        y = xp.empty_like(x)
        _map_per_channel(lambda xb, yb, sb, hb: xp.add(xp.multiply(xb, sb, out=yb), hb, out=yb), (x, y), (scale, shift))
        return y

    def backward(self, g):
        xp = get_array_module(g)
        gx = None
        if self.needs_input_grad[0]:
            gx = xp.empty_like(g)
            _map_per_channel(lambda gb, gxb, sb: xp.multiply(gb, sb, out=gxb), (g, gx), (self.scale,))
        gw = (g * self.x_hat).sum(axis=self.axes) if self.needs_input_grad[1] else None
        gb = g.sum(axis=self.axes) if self.needs_input_grad[2] else None
        return gx, gw, gb


class LayerNorm(normalization.LayerNorm):
    """Statistics over the trailing ``ndim`` axes of each sample, block by block over the samples."""

    def forward(self, x, weight, bias, ndim=1, eps=1e-5):
        xp = get_array_module(x)
        self.weight = weight
        self.by_rows = (ndim == 1 and x.size > 0 and cuda_kernels.available(x, weight, bias)
                        and x.dtype == weight.dtype == bias.dtype)
        if self.by_rows:                    # on a GPU, over the last axis: one kernel, a thread per row
            y, self.x_hat, self.inv_std = cuda_kernels.layer_norm_forward(x, weight, bias, eps)
            self.gamma, self.axes, self.shared = weight, (x.ndim - 1,), tuple(range(x.ndim - 1))   # (reference's)
            return y
        axes = tuple(range(x.ndim - ndim, x.ndim))
        self.x_hat = xp.empty_like(x)
        y = xp.empty(x.shape, dtype=xp.result_type(x.dtype, weight.dtype, bias.dtype))     # as γ ⊙ x̂ + β
        self.inv_std = xp.empty(x.shape[:x.ndim - ndim] + (1,) * ndim, dtype=x.dtype)
        self.weight_x = weight_x = _spread(weight, x) if x.ndim > ndim else weight
        bias_x = _spread(bias, x) if x.ndim > ndim else bias

        def normalize(xb, x_hat, inv_std, yb):
            inv_std[...] = _standardize(xb, axes, eps, out=x_hat)
            xp.multiply(x_hat, weight_x, out=yb)
            yb += bias_x
        map_blocks(normalize, x, self.x_hat, self.inv_std, y, whole=x.ndim == ndim)   # whole: one sample
        return y

    def backward(self, g):
        """Gradients of y = γ ⊙ x̂ + β: statistics over the trailing axes, γ and β shared by the rest."""
        xp, nd = get_array_module(g), self.weight.ndim
        axes, param_axes = tuple(range(g.ndim - nd, g.ndim)), tuple(range(g.ndim - nd))
        need_x, need_w, need_b = self.needs_input_grad
        if self.by_rows and g.dtype != self.x_hat.dtype:   # (a float64 g for a float32 layer: promote, as
            return normalization.LayerNorm.backward(self, g)  # the reference does; the kernel is one type)
        if self.by_rows:
            gw = _sum(g, param_axes, self.x_hat).reshape(self.weight.shape) if need_w else None
            gb = _sum(g, param_axes).reshape(self.weight.shape) if need_b else None
            gx = cuda_kernels.layer_norm_input_grad(g, self.x_hat, self.inv_std, self.weight) if need_x else None
            return gx, gw, gb

        def block(g_b, x_hat, inv_std, gx):
            # Summing over param_axes leaves exactly γ's shape D.
            gw = _sum(g_b, param_axes, x_hat).reshape(self.weight.shape) if need_w else None
            gb = _sum(g_b, param_axes).reshape(self.weight.shape) if need_b else None
            if need_x:
                m = x_hat.size // inv_std.size                              # entries per group
                g_hat = xp.multiply(g_b, self.weight_x)                     # ĝ = γ ⊙ g
                xp.multiply(x_hat, _sum(g_hat, axes, x_hat) / m, out=gx)    # the x̂ part of ĝ ...
                xp.subtract(g_hat, gx, out=gx)                              # ... removed,
                gx -= _sum(g_hat, axes) / m                                 # and the mean
                gx *= inv_std
            return gw, gb
        gx = xp.empty_like(g) if need_x else None
        partial = map_blocks(block, g, self.x_hat, self.inv_std, gx, whole=g.ndim == nd)
        gw = sum_in_order(p[0] for p in partial) if need_w else None
        gb = sum_in_order(p[1] for p in partial) if need_b else None
        return gx, gw, gb
