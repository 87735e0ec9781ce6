"""Conv2d, DepthwiseConv2d and ConvTranspose2d layers: weights, initialization and shape checks.

The convolutions themselves are in tinycoat/nn/functional (conv.py, depthwise.py, conv_transpose.py).
Initialization is PyTorch's default, Uniform(±1/√fan_in) for weights and biases, where
fan_in = (input channels per group) · kh · kw: C·kh·kw for a dense conv, (C/groups)·kh·kw for a
grouped one, kh·kw for a depthwise one (each output channel sees one input channel).
"""
from __future__ import annotations

import math

from tinycoat.checks import check_int, check_pair
import tinycoat.nn.functional as F
from tinycoat.nn.functional.conv import check_conv_input, pad_at_end, padding_for, same_extra
from tinycoat.nn.functional.conv_transpose import check_output_padding, check_transposed_input, transposed_size
from tinycoat.nn.module import Module, uniform_parameter


def _check_window(owner, kernel_size, stride, padding, dilation):
    """The kernel, stride, padding and dilation as pairs: kernel, stride and dilation > 0, padding >= 0
    (or 'same', 'valid'); and padding='same''s extra row and column at the end (conv.py)."""
    kernel, stride = check_pair(owner, "kernel_size", kernel_size), check_pair(owner, "stride", stride)
    dilation = check_pair(owner, "dilation", dilation)
    extra = same_extra(padding, kernel, dilation)
    padding = check_pair(owner, "padding", padding_for(owner, padding, kernel, stride, dilation), positive=False)
    return kernel, stride, padding, dilation, extra


PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _padded(layer, x):
    """x padded as the layer says, and the padding left to the convolution: with padding_mode 'zeros',
    only padding='same''s odd row and column now, the rest by the convolution; with 'reflect',
    'replicate' or 'circular' (PyTorch's), all of it now, from the input's own entries (F.pad)."""
    (ph, pw), (eh, ew) = layer.padding, layer.same_extra
    if layer.padding_mode == "zeros":
        return pad_at_end(x, layer.same_extra), layer.padding
    return F.pad(x, (pw, pw + ew, ph, ph + eh), mode=layer.padding_mode), (0, 0)


def _check_transposed_padding_mode(owner, padding_mode):
    if padding_mode != "zeros":
        raise ValueError(f"{owner}: padding_mode must be 'zeros' (the only one PyTorch takes for a transposed "
                         f"convolution), got {padding_mode!r}")


def _check_padding_mode(owner, padding_mode):
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"{owner}: padding_mode must be one of {', '.join(map(repr, PADDING_MODES))}, "
                         f"got {padding_mode!r}")
    return padding_mode


def _check_channels(owner, in_channels, out_channels, groups):
    """in_channels, out_channels, groups: positive ints, both channel counts divisible by groups."""
    in_channels = check_int(owner, "in_channels", in_channels)
    out_channels = check_int(owner, "out_channels", out_channels)
    groups = check_int(owner, "groups", groups)
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"{owner}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                         f"divisible by groups ({groups})")
    return in_channels, out_channels, groups


def _settings(layer):
    def setting(letter, value, default):
        return "" if value == default else f", {letter}={value[0]}" if value[0] == value[1] else f", {letter}={value}"
    kh, kw = layer.kernel_size
    k = f"k={kh}" if kh == kw else f"k={kh}×{kw}"
    p = ", p=same" if any(layer.same_extra) else setting("p", layer.padding, (0, 0))
    mode = "" if layer.padding_mode == "zeros" else f", padding_mode={layer.padding_mode}"
    return k + setting("s", layer.stride, (1, 1)) + p + setting("d", layer.dilation, (1, 1)) + mode



class Conv2d(Module):
    """2-D convolution (a cross-correlation, as in PyTorch) of (N, C_in, H, W) maps, or of one image
    (C_in, H, W) to (C_out, H', W'): weight (C_out, C_in, kh, kw), bias (C_out,), computed as
    im2col and one matrix product (lesson 04).

    PyTorch's arguments in PyTorch's order: with ``groups`` g, weight (C_out, C_in/g, kh, kw), each
    group of C_out/g outputs sees its own C_in/g inputs (one group per channel, as MBConv uses it, is
    also ``DepthwiseConv2d``)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", *, dtype=None, device="cpu"):
        super().__init__()
        name = type(self).__name__
        self.padding_mode = _check_padding_mode(name, padding_mode)
        self.in_channels, self.out_channels, self.groups = _check_channels(name, in_channels, out_channels, groups)
        self.kernel_size, self.stride, self.padding, self.dilation, self.same_extra = _check_window(
            name, kernel_size, stride, padding, dilation)
        kh, kw = self.kernel_size
        bound = 1.0 / math.sqrt(in_channels // groups * kh * kw)
        self.weight = uniform_parameter((out_channels, in_channels // groups, kh, kw), bound, dtype, device)
        self.register_parameter("bias", uniform_parameter((out_channels,), bound, dtype, device) if bias else None)

    def forward(self, x):
        check_conv_input(f"Conv2d({self.extra_repr(bias=False)})", x, self.in_channels, self.kernel_size, self.stride,
                         self.padding, self.dilation, self.same_extra)
        x, padding = _padded(self, x)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)

    def extra_repr(self, bias=True):
        text = (f"{self.in_channels}→{self.out_channels}, {_settings(self)}"
                + (f", groups={self.groups}" if self.groups > 1 else ""))
        return text + (", bias=False" if bias and self.bias is None else "")


class DepthwiseConv2d(Module):
    """One kh×kw filter per channel (PyTorch's ``Conv2d`` with groups = channels) of (N, C, H, W)
    maps or one (C, H, W) image: weight (C, 1, kh, kw), bias (C,). The spatial half of MBConv
    (lesson 05). Its arguments are Conv2d's with in_channels = out_channels = groups = channels."""

    def __init__(self, channels, kernel_size, stride=1, padding=0, dilation=1, bias=True, padding_mode="zeros", *,
                 dtype=None, device="cpu"):
        super().__init__()
        name = type(self).__name__
        self.padding_mode = _check_padding_mode(name, padding_mode)
        self.channels = check_int(name, "channels", channels)
        self.kernel_size, self.stride, self.padding, self.dilation, self.same_extra = _check_window(
            name, kernel_size, stride, padding, dilation)
        kh, kw = self.kernel_size
        bound = 1.0 / math.sqrt(kh * kw)
        self.weight = uniform_parameter((channels, 1, kh, kw), bound, dtype, device)
        self.register_parameter("bias", uniform_parameter((channels,), bound, dtype, device) if bias else None)

    def forward(self, x):
        check_conv_input(f"DepthwiseConv2d({self.extra_repr(bias=False)})", x, self.channels, self.kernel_size,
                         self.stride, self.padding, self.dilation, self.same_extra)
        x, padding = _padded(self, x)
        return F.depthwise_conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation)

    def extra_repr(self, bias=True):
        text = f"{self.channels}, {_settings(self)}"
        return text + (", bias=False" if bias and self.bias is None else "")


class ConvTranspose2d(Module):
    """The transposed convolution (conv2d's adjoint, F.conv_transpose2d) of (N, C_in, H, W) maps or one
    (C_in, H, W) image: each input pixel stamps the kernel onto the output, ``stride`` pixels apart,
    so a stride s upsamples about s times (lesson 04). weight (C_in, C_out/groups, kh, kw), bias (C_out,).

    PyTorch's arguments in PyTorch's order (``output_padding`` before ``groups``, ``dilation`` after
    ``bias``), and its initialization: Uniform(±1/√fan_in) with fan_in = (C_out/groups)·kh·kw, the
    weight's second axis times the kernel (PyTorch computes it from the weight's shape alone).
    ``forward(x, output_size)`` picks the output_padding that gives that size, as PyTorch's does."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", *, dtype=None, device="cpu"):
        super().__init__()
        name = type(self).__name__
        _check_transposed_padding_mode(name, padding_mode)
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a pair (no 'same' or 'valid', as in PyTorch), "
                             f"got {padding!r}")
        self.in_channels, self.out_channels, self.groups = _check_channels(name, in_channels, out_channels, groups)
        self.padding_mode = padding_mode
        self.kernel_size, self.stride, self.padding, self.dilation, self.same_extra = _check_window(
            name, kernel_size, stride, padding, dilation)
        self.output_padding = check_pair(name, "output_padding", output_padding, positive=False)
        check_output_padding(name, self.output_padding, self.stride, self.dilation)
        kh, kw = self.kernel_size
        bound = 1.0 / math.sqrt(out_channels // groups * kh * kw)
        self.weight = uniform_parameter((in_channels, out_channels // groups, kh, kw), bound, dtype, device)
        self.register_parameter("bias", uniform_parameter((out_channels,), bound, dtype, device) if bias else None)

    def forward(self, x, output_size=None):
        output_padding = self.output_padding if output_size is None else self._output_padding(x, output_size)
        check_transposed_input(f"ConvTranspose2d({self.extra_repr(bias=False)})", x, self.in_channels,
                               self.kernel_size, self.stride, self.padding, output_padding, self.dilation)
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups,
                                  self.dilation)

    def _output_padding(self, x, output_size):
        """The output_padding for which the output is ``output_size`` ((H, W), or the whole shape): one of
        the stride's sizes from the smallest, output_padding 0, to that plus stride − 1."""
        if not (isinstance(output_size, (tuple, list)) and len(output_size) in (2, x.ndim)
                and all(isinstance(v, int) for v in output_size)):
            raise ValueError(f"ConvTranspose2d: output_size must be (H, W), or the whole output shape "
                             f"({x.ndim} ints), got {output_size!r}")
        size = tuple(output_size)[-2:]
        smallest = transposed_size(*x.shape[-2:], self.kernel_size, self.stride, self.padding, (0, 0), self.dilation)
        if len(size) != 2 or any(not smallest[a] <= size[a] < smallest[a] + self.stride[a] for a in range(2)):
            raise ValueError(f"ConvTranspose2d: output_size {tuple(output_size)} is not one this layer can make from "
                             f"input {tuple(x.shape)}: (H, W) from {smallest} to "
                             f"{tuple(m + s - 1 for m, s in zip(smallest, self.stride))}")
        return tuple(s - m for s, m in zip(size, smallest))

    def extra_repr(self, bias=True):
        text = f"{self.in_channels}→{self.out_channels}, {_settings(self)}"
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        text += f", groups={self.groups}" if self.groups > 1 else ""
        return text + (", bias=False" if bias and self.bias is None else "")
