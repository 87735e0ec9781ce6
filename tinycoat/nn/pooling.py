"""Pooling layers: MaxPool2d, AvgPool2d (stride defaults to the kernel), GlobalAvgPool2d and AdaptiveAvgPool2d."""
from __future__ import annotations

from tinycoat.checks import check_pair
import tinycoat.nn.functional as F
from tinycoat.nn.module import Module


class MaxPool2d(Module):
    """The largest value of each kernel_size window (stride: the kernel size unless given)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = check_pair(name, "kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else check_pair(name, "stride", stride)
        self.padding = check_pair(name, "padding", padding, positive=False)
        if self.padding[0] > self.kernel_size[0] // 2 or self.padding[1] > self.kernel_size[1] // 2:
            raise ValueError(f"{name}: padding must be at most half the kernel_size {self.kernel_size} (else a "
                             f"window could hold nothing but padding), got {padding!r}")

    def forward(self, x):
        _check(f"{type(self).__name__}({self.extra_repr()})", x, self.kernel_size, self.padding)
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"k={self.kernel_size[0]}, s={self.stride[0]}" + (f", p={self.padding[0]}" if any(self.padding) else "")


class AvgPool2d(MaxPool2d):
    """The mean of each kernel_size window (padding counts as zeros, as PyTorch's default)."""

    def forward(self, x):
        _check(f"AvgPool2d({self.extra_repr()})", x, self.kernel_size, self.padding)
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class GlobalAvgPool2d(Module):
    """(N, C, H, W) -> (N, C): the mean of every channel (keepdims=True: (N, C, 1, 1))."""

    def __init__(self, keepdims=False):
        super().__init__()
        self.keepdims = keepdims

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"GlobalAvgPool2d: expected input (N, C, H, W), got {tuple(x.shape)}")
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


def _check(name, x, kernel, padding):
    if x.ndim != 4:
        raise ValueError(f"{name}: expected input (N, C, H, W), got {tuple(x.shape)}")
    if x.shape[2] + 2 * padding[0] < kernel[0] or x.shape[3] + 2 * padding[1] < kernel[1]:
        raise ValueError(f"{name}: expected input (N, C, H, W) with H, W >= {kernel[0] - 2 * padding[0]}, "
                         f"{kernel[1] - 2 * padding[1]}, got {tuple(x.shape)}")
