"""Depthwise convolution, written the way the CoAtNet paper writes it.

    y_i = Σ_{j ∈ L(i)} w_{i−j} ⊙ x_j

Every channel has its own small kernel and is filtered on its own (no mixing across
channels: that is the 1×1 convolutions' job in MBConv). Output pixel i is a weighted
sum of the input pixels j in the k_h×k_w window L(i) around it, and the weight
depends only on the *offset* i − j — a static, translation-equivariant kernel. (Self-
attention has the same form, y_i = Σ_j softmax_j(x_iᵀx_j) x_j, with a weight that
depends on the input instead: the paper's first insight.)

Turn the sum inside out: instead of visiting every output pixel and summing over its
window, visit every kernel offset (a, b) and add, for *all* output pixels at once,
the weight w[a, b] times the input shifted by (a, b):

    y = Σ_{a, b} w[:, a, b] ⊙ shift_{a,b}(x_pad)        (k_h·k_w array operations)

``shift`` is a strided view of the padded input (``im2col.shifted``): output pixel
(r, q) meets padded pixel (r·s + a, q·s + b). Shapes: x (N, C, H, W), w (C, 1, kh, kw),
y (N, C, Ho, Wo). Like every deep-learning "convolution" (PyTorch's too) this is a
cross-correlation: the weight stored at kernel position (a, b) is the paper's w_{i−j} for
the offset i − j = (pad − a, pad − b), i.e. the paper's kernel flipped in both axes.

Backward: the same sum read in the other direction. With g = dL/dy,

    dL/dw[c, a, b] = Σ_{n, r, q} g ⊙ shift_{a,b}(x_pad)     the input each weight met
    dL/dx_pad      = Σ_{a, b} shift_{a,b}⁻¹(w[:, a, b] ⊙ g)  each weight sends g back
                                                              to where its pixel came from

and the second line is exactly col2im with slot gradient w[:, a, b] ⊙ g.
It equals ``conv2d`` with a block-diagonal dense weight (a test checks this), at
1/C of the work.
"""
from __future__ import annotations

from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.nn.functional.conv import check_conv_arguments, check_conv_input
from tinycoat.nn.functional.im2col import col2im, output_size, pad2d, pair, shifted


class DepthwiseConv2d(Function):
    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0)):
        xp = get_array_module(x)
        n, c, h, w = x.shape
        kh, kw = weight.shape[2:]
        ho, wo = output_size(h, w, (kh, kw), stride, padding)
        x_pad = pad2d(x, padding)
        kernel = weight.reshape(c, kh, kw, 1, 1)        # w[c, a, b], broadcast over (Ho, Wo)
        self.x_pad = x_pad if self.needs_input_grad[1] else None
        self.kernel = kernel if self.needs_input_grad[0] else None
        self.x_shape, self.kernel_hw, self.stride, self.padding = x.shape, (kh, kw), stride, padding
        self.has_bias = bias is not None

        # y = Σ_{a,b} w[:, a, b] ⊙ shift_{a,b}(x_pad). Each product goes into one reused scratch
        # array (out=) and is added in place: a fresh product per offset is a new large array,
        # whose pages the kernel faults in and zeroes, k_h·k_w times per call.
        y = xp.empty((n, c, ho, wo), dtype=x.dtype)
        term = xp.empty_like(y)
        for a in range(kh):
            for b in range(kw):
                x_ab = shifted(x_pad, a, b, stride, (ho, wo))
                if a == b == 0:
                    xp.multiply(kernel[:, a, b], x_ab, out=y)
                else:
                    y += xp.multiply(kernel[:, a, b], x_ab, out=term)
        if bias is not None:
            y += bias.reshape(c, 1, 1)
        return y

    def backward(self, g):
        xp = get_array_module(g)
        c, (kh, kw) = self.x_shape[1], self.kernel_hw
        gx = gw = gb = None
        if self.needs_input_grad[1]:
            out_hw = g.shape[2:]
            gw = xp.empty((c, 1, kh, kw), dtype=g.dtype)
            for a in range(kh):
                for b in range(kw):
                    # Σ over batch and output pixels of g ⊙ (the input this weight met)
                    gw[:, 0, a, b] = xp.einsum("nchw,nchw->c", g, shifted(self.x_pad, a, b, self.stride, out_hw))
        if self.needs_input_grad[0]:
            term = xp.empty_like(g)                                 # one scratch array, as in forward
            gx = col2im(lambda a, b: xp.multiply(self.kernel[:, a, b], g, out=term),
                        self.x_shape, (kh, kw), self.stride, self.padding, like=g)
        if self.has_bias and self.needs_input_grad[2]:
            gb = g.sum(axis=(0, 2, 3))
        return (gx, gw, gb) if self.has_bias else (gx, gw)


def depthwise_conv2d(x, weight, bias=None, stride=1, padding=0):
    """Per-channel convolution of x (N, C, H, W) with weight (C, 1, kh, kw), bias (C,)."""
    stride, padding = pair(stride), pair(padding)
    if weight.ndim != 4 or weight.shape[1] != 1:
        raise ValueError(f"depthwise_conv2d: weight must be (channels, 1, kh, kw), got {tuple(weight.shape)}")
    c, _, kh, kw = weight.shape
    check_conv_arguments("depthwise_conv2d", stride, padding, bias, c)
    check_conv_input(f"depthwise_conv2d({c} channels, k={kh}×{kw})", x, c, (kh, kw), stride, padding)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return DepthwiseConv2d.apply(*inputs, stride=stride, padding=padding)
