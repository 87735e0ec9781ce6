"""Padding layers: F.pad as a layer (PyTorch's ZeroPad2d, ConstantPad2d, ReflectionPad2d,
ReplicationPad2d, CircularPad2d and their 1d forms), e.g. in front of a convolution in a Sequential.

``padding`` is one int for every side, or PyTorch's tuple, last axis first: (left, right) for 1d,
(left, right, top, bottom) for 2d. What each mode fills in is in tinycoat/nn/functional/padding.py.
"""
from __future__ import annotations

from tinycoat.checks import is_int
import tinycoat.nn.functional as F
from tinycoat.nn.module import Module


class _Pad(Module):
    """Pads the last ``axes`` axes of its input by ``padding`` with ``mode`` (the subclasses say which)."""

    axes, mode = 2, "constant"

    def __init__(self, padding, value=None):
        super().__init__()
        sides = 2 * self.axes
        padding = (padding,) * sides if is_int(padding) else tuple(padding)
        if len(padding) != sides or not all(is_int(p) and p >= 0 for p in padding):
            raise ValueError(f"{type(self).__name__}: padding must be an int or {sides} of them ("
                             + ("left, right" if self.axes == 1 else "left, right, top, bottom")
                             + f"), each >= 0, got {padding!r}")
        self.padding, self.value = tuple(int(p) for p in padding), value

    def forward(self, x):
        if x.ndim not in (self.axes + 1, self.axes + 2):
            form = "(N, C, L) or (C, L)" if self.axes == 1 else "(N, C, H, W) or (C, H, W)"
            raise ValueError(f"{type(self).__name__}{self.padding}: expected input {form}, got {tuple(x.shape)}")
        return F.pad(x, self.padding, self.mode, self.value)

    def extra_repr(self):
        return f"{self.padding}"


class ConstantPad2d(_Pad):
    """(N, C, H, W) padded with ``value`` around H and W."""

    def __init__(self, padding, value):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"{type(self).__name__}: value must be a number, got {value!r}")
        super().__init__(padding, value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(_Pad):
    """(N, C, H, W) padded with zeros around H and W."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ReflectionPad2d(_Pad):
    """Padded with the input mirrored about its edge, the edge itself not repeated."""

    mode = "reflect"


class ReplicationPad2d(_Pad):
    """Padded with copies of the nearest edge pixel."""

    mode = "replicate"


class CircularPad2d(_Pad):
    """Padded with the input wrapped round (the other side's pixels)."""

    mode = "circular"


class ConstantPad1d(ConstantPad2d):
    axes = 1


class ZeroPad1d(ZeroPad2d):
    axes = 1


class ReflectionPad1d(ReflectionPad2d):
    axes = 1


class ReplicationPad1d(ReplicationPad2d):
    axes = 1


class CircularPad1d(CircularPad2d):
    axes = 1
