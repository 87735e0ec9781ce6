"""conv2d: a dense 2-D convolution as im2col followed by one matrix product.

    y[n, o, r, q] = b[o] + Σ_{c, i, j} W[o, c, i, j] · x_pad[n, c, r·s + i, q·s + j]

Shapes: x (N, C, H, W), W (O, C, kh, kw), b (O,), y (N, O, Ho, Wo).

The sum over (c, i, j) is a dot product between the flattened kernel W[o] and the
flattened patch under it. ``im2col`` lays every patch out as a column, so all of
them at once are one matrix product (the fast, multi-threaded BLAS routine):

    Y = W₂ @ cols,    W₂ = W.reshape(O, C·kh·kw),  cols (C·kh·kw, N·Ho·Wo),  Y (O, N·Ho·Wo)

Backward, with G = dL/dY in the same (O, N·Ho·Wo) layout:

    dW₂   = G @ colsᵀ                 each weight meets the patch entries it multiplied
    dcols = W₂ᵀ @ G                   each patch entry met a column of weights
    dx    = col2im(dcols)             patch entries go back (and add up) at their pixels
    db    = Σ_{n, r, q} G

A 1×1 convolution with stride 1 and no padding needs no patches at all: each output
pixel is W₂ @ (the pixel's channel vector), so y = W₂ @ x.reshape(N, C, H·W), a
batched matrix product on the image itself (no copy).

Layout. Y above is (O, N·Ho·Wo), so the result is handed on as a transposed *view*: an
(N, O, Ho, Wo) array laid out (O, N, Ho, Wo) in memory, "channel-major". A 1×1
convolution of such an array needs no batch of products either: x seen as (C, N·H·W) is
already its column matrix, so Y = W₂ @ x is one large product (1.3–2× faster than N small
ones here), and its result is channel-major again. On the CPU the ops between MBConv's
convolutions keep that layout (``layout.py``, lesson 11), so the whole stage
runs on it; the math is the same for any layout, and tests/test_channel_major.py checks it.
"""
from __future__ import annotations

from tinycoat.amp import autocast_dtype, autocast_matmul
from tinycoat.autograd import Function
from tinycoat.nn.functional import cuda_kernels
from tinycoat.nn.functional.im2col import col2im, im2col, output_size, pair
from tinycoat.nn.functional.layout import channel_major, channel_rows


class Conv2d(Function):
    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0)):
        o, c, kh, kw = weight.shape
        n, _, h, w = x.shape
        self.x_shape, self.w_shape, self.stride, self.padding = x.shape, weight.shape, stride, padding
        self.has_bias = bias is not None
        self.precision = autocast_dtype()                           # float16 products inside amp.autocast
        mm = self._matmul
        pointwise = (kh, kw) == (1, 1) and stride == (1, 1) and padding == (0, 0)
        self.own_columns = own_columns = pointwise and channel_major(x)   # see the module docstring
        self.pointwise = pointwise and not own_columns
        w2 = weight.reshape(o, c * kh * kw)
        self.w2 = w2 if self.needs_input_grad[0] else None
        if self.pointwise:
            x3 = x.reshape(n, c, h * w)
            self.x3 = x3 if self.needs_input_grad[1] else None
            y = mm(w2, x3).reshape(n, o, h, w)                      # (O, C) @ (N, C, HW) -> (N, O, HW)
        else:
            ho, wo = output_size(h, w, (kh, kw), stride, padding)
            if own_columns:
                cols = channel_rows(x).reshape(c, n * h * w)         # a view: (C, N·H·W)
            elif cuda_kernels.available(x):                         # on a GPU: one kernel
                cols = cuda_kernels.im2col(x, (kh, kw), stride, padding, (ho, wo))
            else:
                cols = im2col(x, (kh, kw), stride, padding)         # (C·kh·kw, N·Ho·Wo)
            self.cols = cols if self.needs_input_grad[1] else None
            # (O, N·Ho·Wo) -> (N, O, Ho, Wo): a transposed *view*, no copy; the layers
            # after it read it through strides like any other array.
            y = mm(w2, cols).reshape(o, n, ho, wo).transpose(1, 0, 2, 3)
        if bias is not None:
            y += bias.reshape(o, 1, 1)
        return y

    def _matmul(self, a, b):
        return autocast_matmul(a, b, self.precision)

    def backward(self, g):
        o, c, kh, kw = self.w_shape
        n, mm = g.shape[0], self._matmul
        gx = gw = gb = None
        if self.pointwise:
            g3 = g.reshape(n, o, -1)                                # (N, O, HW)
            if self.needs_input_grad[0]:
                gx = mm(self.w2.T, g3).reshape(self.x_shape)        # (C, O) @ (N, O, HW)
            if self.needs_input_grad[1]:                            # Σ_n G_n @ x_nᵀ
                gw = mm(g3, self.x3.transpose(0, 2, 1)).sum(axis=0).reshape(self.w_shape)
        else:
            g2 = g.transpose(1, 0, 2, 3).reshape(o, -1)             # (O, N·Ho·Wo)
            if self.needs_input_grad[1]:
                gw = mm(g2, self.cols.T).reshape(self.w_shape)
            if self.needs_input_grad[0]:
                ho, wo = g.shape[2:]
                dcols = mm(self.w2.T, g2).reshape(c, kh, kw, n, ho, wo)
                if self.own_columns:
                    gx = dcols.reshape(c, n, ho, wo).transpose(1, 0, 2, 3)     # col2im of a 1×1 is itself
                elif cuda_kernels.available(dcols):
                    gx = cuda_kernels.col2im(dcols, self.x_shape, (kh, kw), self.stride, self.padding)
                else:
                    gx = col2im(lambda i, j: dcols[:, i, j].transpose(1, 0, 2, 3),
                                self.x_shape, (kh, kw), self.stride, self.padding, like=g)
        if self.has_bias and self.needs_input_grad[2]:
            gb = g.sum(axis=(0, 2, 3))
        return (gx, gw, gb) if self.has_bias else (gx, gw)


def check_conv_input(name, x, in_channels, kernel, stride, padding):
    """Raise a clear error unless x is (N, in_channels, H, W) and large enough for the kernel."""
    expected = f"expected input (N, {in_channels}, H, W)"
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise ValueError(f"{name}: {expected}, got {tuple(x.shape)}")
    ho, wo = output_size(x.shape[2], x.shape[3], kernel, stride, padding)
    if ho < 1 or wo < 1:
        raise ValueError(f"{name}: input {tuple(x.shape)} is too small for kernel {pair(kernel)} with "
                         f"padding {pair(padding)}: {expected} with H + 2·padding >= kernel height "
                         f"and W + 2·padding >= kernel width")


def check_conv_arguments(name, stride, padding, bias, out_channels):
    """Raise a clear error for a stride < 1, a negative padding or a bias that is not (out_channels,)."""
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{name}: stride must be >= 1 and padding >= 0, got {stride}, {padding}")
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ValueError(f"{name}: bias must have shape ({out_channels},), got {tuple(bias.shape)}")


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D convolution of x (N, C, H, W) with weight (O, C, kh, kw) and optional bias (O,)."""
    stride, padding = pair(stride), pair(padding)
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be (out, in, kh, kw), got {tuple(weight.shape)}")
    o, c, kh, kw = weight.shape
    check_conv_arguments("conv2d", stride, padding, bias, o)
    check_conv_input(f"conv2d({c}→{o}, k={kh}×{kw})", x, c, (kh, kw), stride, padding)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, stride=stride, padding=padding)
