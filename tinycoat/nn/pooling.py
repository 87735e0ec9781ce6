"""Pooling layers: MaxPool2d, AvgPool2d (stride defaults to the kernel), MaxUnpool2d, GlobalAvgPool2d,
AdaptiveAvgPool2d and AdaptiveMaxPool2d.

MaxPool2d and AvgPool2d take (N, C, H, W) or one image (C, H, W), and PyTorch's arguments in
PyTorch's order, checked when the layer is built (tinycoat/nn/functional/pooling.py has the math).
"""
from __future__ import annotations

from tinycoat.checks import check_bool, check_pair
import tinycoat.nn.functional as F
from tinycoat.nn.functional.pooling import check_divisor, check_pool_input, pool_arguments
from tinycoat.nn.module import Module


class MaxPool2d(Module):
    """The largest value of each kernel_size window (stride: the kernel size unless given; its taps
    ``dilation`` pixels apart); with return_indices, (values, where they lie), for MaxUnpool2d."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        name = type(self).__name__
        self.kernel_size, self.stride, self.padding = pool_arguments(name, kernel_size, stride, padding, ceil_mode)
        self.dilation, self.ceil_mode = check_pair(name, "dilation", dilation), ceil_mode
        self.return_indices = check_bool(name, "return_indices", return_indices)

    def forward(self, x):
        check_pool_input(f"{type(self).__name__}({self.extra_repr()})", x, self.kernel_size, self.stride,
                         self.padding, self.ceil_mode, self.dilation)
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, ceil_mode=self.ceil_mode,
                            return_indices=self.return_indices)

    def extra_repr(self):
        return _window_repr(self) + (", return_indices=True" if self.return_indices else "")


class AvgPool2d(Module):
    """The mean of each kernel_size window: padding counts as zeros (count_include_pad=True, as
    PyTorch's default) or not at all (False); divisor_override divides every window's sum by that
    number instead."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        name = type(self).__name__
        self.kernel_size, self.stride, self.padding = pool_arguments(name, kernel_size, stride, padding, ceil_mode)
        self.ceil_mode = ceil_mode
        self.count_include_pad = check_bool(name, "count_include_pad", count_include_pad)
        self.divisor_override = check_divisor(name, divisor_override)

    def forward(self, x):
        check_pool_input(f"AvgPool2d({self.extra_repr()})", x, self.kernel_size, self.stride, self.padding,
                         self.ceil_mode)
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)

    def extra_repr(self):
        return (_window_repr(self) + ("" if self.count_include_pad else ", count_include_pad=False")
                + ("" if self.divisor_override is None else f", divisor_override={self.divisor_override}"))


class MaxUnpool2d(Module):
    """MaxPool2d undone as far as it goes: each value put back where the pooling's indices say it
    came from, zeros elsewhere (``forward(x, indices, output_size=None)``)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = check_pair(name, "kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else check_pair(name, "stride", stride)
        self.padding = check_pair(name, "padding", padding, positive=False)

    def forward(self, x, indices, output_size=None):
        return F.max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"k={self.kernel_size[0]}, s={self.stride[0]}" + (f", p={self.padding[0]}" if any(self.padding) else "")


class GlobalAvgPool2d(Module):
    """(N, C, H, W) -> (N, C): the mean of every channel (keepdims=True: (N, C, 1, 1)); one image
    (C, H, W) -> (C,) or (C, 1, 1)."""

    def __init__(self, keepdims=False):
        super().__init__()
        self.keepdims = check_bool(type(self).__name__, "keepdims", keepdims)

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"GlobalAvgPool2d: expected input (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")
        return F.global_avg_pool2d(x, keepdims=self.keepdims)


class AdaptiveAvgPool2d(Module):
    """Means over windows sized to give an ``output_size`` map whatever the input's size (PyTorch's
    layer; ``AdaptiveAvgPool2d(1)`` is GlobalAvgPool2d(keepdims=True))."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Maxima over windows sized to give an ``output_size`` map whatever the input's size (PyTorch's
    layer); with return_indices, (values, where they lie)."""

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = check_bool(type(self).__name__, "return_indices", return_indices)

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


def _window_repr(layer):
    d = getattr(layer, "dilation", (1, 1))                          # (max pooling's only)
    return (f"k={layer.kernel_size[0]}, s={layer.stride[0]}" + (f", p={layer.padding[0]}" if any(layer.padding) else "")
            + ("" if d == (1, 1) else f", d={d[0]}" if d[0] == d[1] else f", d={d}")
            + (", ceil_mode=True" if layer.ceil_mode else ""))
