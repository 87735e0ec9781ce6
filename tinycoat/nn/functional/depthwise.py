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
the weight w[:, a, b] times the input shifted by (a, b) (``shifted`` of lesson 04):

    y = Σ_{a, b} w[:, a, b] ⊙ shift_{a,b}(x_pad)          k_h·k_w array operations

Backward: the same sum read in the other direction. With g = dL/dy,

    dL/dw[c, a, b] = Σ_{n, r, q} g ⊙ shift_{a,b}(x_pad)     the input each weight met
    dL/dx_pad      = Σ_{a, b} shift_{a,b}ᵀ(w[:, a, b] ⊙ g)   each weight sends g back to
                                                              where its pixel came from

— the second line is col2im (lesson 04) with slot gradient w[:, a, b] ⊙ g; the padding's
share is cropped away. Shapes: x (N, C, H, W), w (C, 1, kh, kw), y (N, C, Ho, Wo) (one image
(C, H, W) gives (C, Ho, Wo), as a batch of one: conv.py's ``batched``). Like
every deep-learning "convolution" (PyTorch's too) this is a cross-correlation: the weight
stored at kernel position (a, b) is the paper's w_{i−j} for the offset i − j = (pad − a,
pad − b), i.e. the paper's kernel flipped in both axes. It equals ``conv2d`` with a
block-diagonal dense weight (a test checks this), at 1/C of the work. The fast wing's twin
(tinycoat/fast/depthwise.py) computes the same sum as one small matrix product per channel.
With dilation d (im2col.py) the taps lie d pixels apart: offset (a, b) reads shift_{d·a, d·b}.
"""
from __future__ import annotations

from tinycoat.autograd import Function
from tinycoat.checks import check_pair
from tinycoat.backend import get_array_module
from tinycoat.nn.functional.conv import (batched, check_conv_arguments, check_conv_input, pad_at_end, padding_for,
                                         same_extra)
from tinycoat.nn.functional.im2col import col2im, output_size, pad2d, shifted


class DepthwiseConv2d(Function):
    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
        xp = get_array_module(x)
        (kh, kw), (dh, dw) = weight.shape[2:], dilation
        out_hw = output_size(*x.shape[2:], (kh, kw), stride, padding, dilation)
        x_pad, w = pad2d(x, padding), weight[:, 0, :, :, None, None]      # w: (C, kh, kw, 1, 1)
        self.x_shape, self.w_shape, self.stride, self.padding = x.shape, weight.shape, stride, padding
        self.dilation, self.has_bias = dilation, bias is not None
        y = xp.zeros(x.shape[:2] + out_hw, dtype=x.dtype)
        for a in range(kh):
            for b in range(kw):                       # y += w[:, a, b] ⊙ shift_{a,b}(x_pad)
                y += w[:, a, b] * shifted(x_pad, dh * a, dw * b, stride, out_hw)
        # dx needs w, dw needs x_pad: keep each only for the gradient that is wanted
        self.w = w if self.needs_input_grad[0] else None
        self.x_pad = x_pad if self.needs_input_grad[1] else None
        return y + bias[:, None, None] if bias is not None else y

    def backward(self, g):
        xp = get_array_module(g)
        (kh, kw), (dh, dw) = self.w_shape[2:], self.dilation
        gx = gw = gb = None
        if self.needs_input_grad[0]:                  # Σ_{a,b} shift_{a,b}ᵀ(w[:, a, b] ⊙ g)
            gx = col2im(lambda a, b: self.w[:, a, b] * g, self.x_shape, (kh, kw), self.stride,
                        self.padding, like=g, dilation=self.dilation)
        if self.needs_input_grad[1]:                  # Σ_{n,r,q} g ⊙ shift_{a,b}(x_pad)
            gw = xp.empty(self.w_shape, dtype=g.dtype)
            for a in range(kh):
                for b in range(kw):
                    x_ab = shifted(self.x_pad, dh * a, dw * b, self.stride, g.shape[2:])
                    gw[:, 0, a, b] = (g * x_ab).sum(axis=(0, 2, 3))
        if self.has_bias and self.needs_input_grad[2]:
            gb = g.sum(axis=(0, 2, 3))
        return (gx, gw, gb) if self.has_bias else (gx, gw)


def depthwise_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """Per-channel convolution of x (N, C, H, W), or one image (C, H, W), with weight (C, 1, kh, kw),
    bias (C,); its taps ``dilation`` pixels apart."""
    if weight.ndim != 4 or weight.shape[1] != 1:
        raise ValueError(f"depthwise_conv2d: weight must be (channels, 1, kh, kw), got {tuple(weight.shape)}")
    c, _, kh, kw = weight.shape
    name = "depthwise_conv2d"
    stride, dilation = check_pair(name, "stride", stride), check_pair(name, "dilation", dilation)
    extra = same_extra(padding, (kh, kw), dilation)
    padding = check_pair(name, "padding", padding_for(name, padding, (kh, kw), stride, dilation), positive=False)
    check_conv_arguments(name, stride, padding, bias, c)
    check_conv_input(f"depthwise_conv2d({c} channels, k={kh}×{kw})", x, c, (kh, kw), stride, padding, dilation,
                     extra)
    x = pad_at_end(x, extra)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return batched(DepthwiseConv2d.apply, *inputs, stride=stride, padding=padding, dilation=dilation)
