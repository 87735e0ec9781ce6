"""1-D layers over sequences (N, C, L) or one (C, L): Conv1d, ConvTranspose1d, MaxPool1d, AvgPool1d,
AdaptiveAvgPool1d, AdaptiveMaxPool1d — PyTorch's, with its weight shapes, arguments and
initialization. Each runs its 2-D op on an image one row high (tinycoat/nn/functional/one_dimensional.py).
"""
from __future__ import annotations

import math

from tinycoat.checks import check_bool, check_pair
import tinycoat.nn.functional as F
from tinycoat.nn.conv import _check_channels, _check_padding_mode, _check_transposed_padding_mode
from tinycoat.nn.functional.conv import padding_for, same_extra
from tinycoat.nn.functional.conv_transpose import check_output_padding, transposed_size
from tinycoat.nn.functional.one_dimensional import as_rows, pool_settings, single
from tinycoat.nn.module import Module, uniform_parameter


class Conv1d(Module):
    """1-D convolution of (N, C_in, L) or (C_in, L): weight (C_out, C_in/groups, k), bias (C_out,);
    PyTorch's arguments in PyTorch's order (padding an int, 'same' or 'valid'; ``padding_mode`` one of
    zeros, reflect, replicate, circular) and its initialization, Uniform(±1/√((C_in/groups)·k))."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", *, dtype=None, device="cpu"):
        super().__init__()
        name = type(self).__name__
        self.padding_mode = _check_padding_mode(name, padding_mode)
        self.in_channels, self.out_channels, self.groups = _check_channels(name, in_channels, out_channels, groups)
        k, self.stride, self.dilation = (single(name, key, v) for key, v in
                                         (("kernel_size", kernel_size), ("stride", stride), ("dilation", dilation)))
        self.kernel_size = k
        if padding == "same" and self.stride != 1:
            raise ValueError(f"{name}: padding='same' needs stride 1 (as in PyTorch), got stride {self.stride}")
        # 'same' and 'valid' as numbers (conv.py's rules, on the row): p on each side, e more at the end
        self.padding = check_pair(name, "padding", padding_for(name, padding, (1, k), (1, self.stride),
                                                               (1, self.dilation)), positive=False)[1]
        self.same_extra = same_extra(padding, (1, k), (1, self.dilation))[1]
        bound = 1.0 / math.sqrt(in_channels // groups * k)
        self.weight = uniform_parameter((out_channels, in_channels // groups, k), bound, dtype, device)
        self.register_parameter("bias", uniform_parameter((out_channels,), bound, dtype, device) if bias else None)

    def forward(self, x):
        as_rows(f"Conv1d({self.extra_repr(bias=False)})", x, self.in_channels)       # (checks x's form)
        p, e = self.padding, self.same_extra
        mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
        if e or mode != "constant":         # the padding first, then the convolution pads nothing more
            x, p = F.pad(x, (p, p + e), mode), 0
        return F.conv1d(x, self.weight, self.bias, self.stride, p, self.dilation, self.groups)

    def extra_repr(self, bias=True):
        text = f"{self.in_channels}→{self.out_channels}, k={self.kernel_size}"
        text += f", s={self.stride}" if self.stride != 1 else ""
        text += ", p=same" if self.same_extra else f", p={self.padding}" if self.padding else ""
        text += f", d={self.dilation}" if self.dilation != 1 else ""
        text += f", padding_mode={self.padding_mode}" if self.padding_mode != "zeros" else ""
        text += f", groups={self.groups}" if self.groups > 1 else ""
        return text + (", bias=False" if bias and self.bias is None else "")


class ConvTranspose1d(Module):
    """The transposed 1-D convolution (Conv1d's adjoint) of (N, C_in, L) or (C_in, L): weight
    (C_in, C_out/groups, k), bias (C_out,); PyTorch's arguments, order and initialization
    (fan_in = (C_out/groups)·k); ``forward(x, output_size)`` picks the output_padding."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", *, dtype=None, device="cpu"):
        super().__init__()
        name = type(self).__name__
        _check_transposed_padding_mode(name, padding_mode)
        self.in_channels, self.out_channels, self.groups = _check_channels(name, in_channels, out_channels, groups)
        self.kernel_size, self.stride, self.dilation = (single(name, key, v) for key, v in (
            ("kernel_size", kernel_size), ("stride", stride), ("dilation", dilation)))
        self.padding = single(name, "padding", padding, positive=False)
        self.output_padding = single(name, "output_padding", output_padding, positive=False)
        check_output_padding(name, (self.output_padding,), (self.stride,), (self.dilation,))
        bound = 1.0 / math.sqrt(out_channels // groups * self.kernel_size)
        self.weight = uniform_parameter((in_channels, out_channels // groups, self.kernel_size), bound, dtype, device)
        self.register_parameter("bias", uniform_parameter((out_channels,), bound, dtype, device) if bias else None)

    def forward(self, x, output_size=None):
        output_padding = self.output_padding
        if output_size is not None:         # the output_padding that makes the length output_size[-1]
            length = as_rows("ConvTranspose1d", x, self.in_channels).shape[-1]
            smallest = transposed_size(1, length, (1, self.kernel_size), (1, self.stride), (0, self.padding), (0, 0),
                                       (1, self.dilation))[1]
            wanted = tuple(output_size)[-1] if isinstance(output_size, (tuple, list)) else output_size
            if not smallest <= wanted < smallest + self.stride:
                raise ValueError(f"ConvTranspose1d: output_size {output_size} is not one this layer can make from "
                                 f"input {tuple(x.shape)}: a length from {smallest} to {smallest + self.stride - 1}")
            output_padding = wanted - smallest
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups,
                                  self.dilation)

    def extra_repr(self):
        text = f"{self.in_channels}→{self.out_channels}, k={self.kernel_size}"
        for letter, value, default in (("s", self.stride, 1), ("p", self.padding, 0), ("d", self.dilation, 1),
                                       ("output_padding", self.output_padding, 0), ("groups", self.groups, 1)):
            text += f", {letter}={value}" if value != default else ""
        return text + (", bias=False" if self.bias is None else "")


class MaxPool1d(Module):
    """The largest value of each window of kernel_size steps (stride: the kernel size unless given);
    with return_indices, (values, where they lie along L)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = pool_settings(
            "MaxPool1d", kernel_size, stride, padding, dilation)
        self.return_indices = check_bool("MaxPool1d", "return_indices", return_indices)
        self.ceil_mode = check_bool("MaxPool1d", "ceil_mode", ceil_mode)

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool1d(Module):
    """The mean of each window of kernel_size steps (padding counts as zeros unless count_include_pad=False)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size, self.stride, self.padding, _ = pool_settings("AvgPool1d", kernel_size, stride, padding)
        self.ceil_mode = check_bool("AvgPool1d", "ceil_mode", ceil_mode)
        self.count_include_pad = check_bool("AvgPool1d", "count_include_pad", count_include_pad)

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    """Means over windows sized to give ``output_size`` steps whatever the input's length."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(AdaptiveAvgPool1d):
    """Maxima over windows sized to give ``output_size`` steps; with return_indices, (values, where)."""

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = check_bool("AdaptiveMaxPool1d", "return_indices", return_indices)

    def forward(self, x):
        return F.adaptive_max_pool1d(x, self.output_size, self.return_indices)
