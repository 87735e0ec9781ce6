"""Pooling: summarize each k_h×k_w window of every channel by its maximum or its mean.

Both are written with lesson 04's views of the windows (im2col.py). For kernel offset
(a, b), ``shift_{a,b}(x_pad)`` is the view of the input that every window sees there:

    max:  y = max_{a,b} shift_{a,b}(x_pad)      dL/dx: g goes to the one pixel that won
    mean: y = Σ_{a,b} shift_{a,b}(x_pad) / (k_h·k_w)   dL/dx: g/(k_h·k_w) to every pixel

The max lays the k_h·k_w slots of every window side by side (``windows``) and takes the
maximum and the winning slot along them; the mean adds the k_h·k_w shifted views. Both
backward passes are col2im: each slot's gradient goes back to the pixel it read.

Shapes: (N, C, H, W) -> (N, C, Ho, Wo), stride defaulting to the kernel size
(non-overlapping windows). Max pooling pads with −∞ so a pad never wins; average pooling
pads with 0 and still divides by k_h·k_w (PyTorch's count_include_pad=True).
"""
from __future__ import annotations

from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.checks import check_float_input, check_pair, is_int
from tinycoat.nn.functional.im2col import col2im, output_size, pad2d, shifted, windows
from tinycoat.tensor import Tensor


class MaxPool2d(Function):
    def forward(self, x, kernel=(2, 2), stride=(2, 2), padding=(0, 0)):
        (kh, kw) = kernel
        self.x_shape, self.kernel, self.stride, self.padding = x.shape, kernel, stride, padding
        patches = windows(pad2d(x, padding, value=-float("inf")), kernel, stride)   # (N, C, kh, kw, Ho, Wo)
        n, c, _, _, ho, wo = patches.shape
        patches = patches.reshape(n, c, kh * kw, ho, wo)            # window slot a·kw + b (a copy)
        # which slot won, for the backward (the first one on ties, as in PyTorch)
        self.winner = patches.argmax(axis=2)
        return patches.max(axis=2)

    def backward(self, g):
        kw = self.kernel[1]
        # slot (a, b) of each window receives g where it won, and col2im adds the slots up
        return col2im(lambda a, b: g * (self.winner == a * kw + b),
                      self.x_shape, self.kernel, self.stride, self.padding, like=g)


class AvgPool2d(Function):
    def forward(self, x, kernel=(2, 2), stride=(2, 2), padding=(0, 0)):
        xp = get_array_module(x)
        (kh, kw), hw = kernel, x.shape[2:]
        out_hw = output_size(*hw, kernel, stride, padding)
        x_pad = pad2d(x, padding)
        self.x_shape, self.kernel, self.stride, self.padding = x.shape, kernel, stride, padding
        y = xp.zeros(x.shape[:2] + out_hw, dtype=x.dtype)
        for a in range(kh):
            for b in range(kw):
                y += shifted(x_pad, a, b, stride, out_hw)
        y *= 1.0 / (kh * kw)
        return y

    def backward(self, g):
        kh, kw = self.kernel
        share = g * (1.0 / (kh * kw))  # every pixel of a window gets an equal share
        return col2im(lambda a, b: share, self.x_shape, self.kernel, self.stride, self.padding, like=g)


def _pool_args(name, x, kernel_size, stride, padding):
    kernel = check_pair(name, "kernel_size", kernel_size)
    stride = kernel if stride is None else check_pair(name, "stride", stride)
    padding = check_pair(name, "padding", padding, positive=False)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel {kernel} "
                         "(else a window could hold nothing but padding)")
    if x.ndim != 4:
        raise ValueError(f"{name}: expected input (N, C, H, W), got {tuple(x.shape)}")
    check_float_input(name, x)          # (a mean of integers is no integer; max pads with −inf)
    ho, wo = output_size(x.shape[2], x.shape[3], kernel, stride, padding)
    if ho < 1 or wo < 1:
        raise ValueError(f"{name}: input {tuple(x.shape)} is smaller than the kernel {kernel} "
                         f"(with padding {padding}): expected H, W >= kernel − 2·padding")
    return dict(kernel=kernel, stride=stride, padding=padding)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Maximum over each window; stride defaults to kernel_size."""
    return MaxPool2d.apply(x, **_pool_args(f"max_pool2d(k={kernel_size})", x, kernel_size, stride, padding))


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over each window (pads count as zeros); stride defaults to kernel_size."""
    return AvgPool2d.apply(x, **_pool_args(f"avg_pool2d(k={kernel_size})", x, kernel_size, stride, padding))


def global_avg_pool2d(x, keepdims=False):
    """Mean over all pixels: (N, C, H, W) -> (N, C), or (N, C, 1, 1) with keepdims."""
    if x.ndim != 4:
        raise ValueError(f"global_avg_pool2d: expected input (N, C, H, W), got {tuple(x.shape)}")
    return x.mean(axis=(2, 3), keepdims=keepdims)  # a core op: its backward spreads g / (H·W)


def _window_means(n_in, n_out, like):
    """The (n_out, n_in) matrix A of PyTorch's adaptive windows: row i averages the inputs from
    ⌊i·n_in / n_out⌋ to ⌈(i+1)·n_in / n_out⌉ − 1, so the windows cover the axis (overlapping by
    one where n_out does not divide n_in)."""
    a = like.xp.zeros((n_out, n_in), dtype=like.dtype)
    for i in range(n_out):
        start, stop = (i * n_in) // n_out, -(-(i + 1) * n_in // n_out)
        a[i, start:stop] = 1.0 / (stop - start)
    return Tensor(a)


def adaptive_avg_pool2d(x, output_size):
    """Mean over windows sized so that the output is ``output_size`` (an int, or (h, w); None keeps
    that side): y = A_h · x · A_wᵀ per channel, with the averaging matrices above; two matrix
    products, so the backward is theirs (each output's gradient shared among its window)."""
    if x.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d: expected input (N, C, H, W), got {tuple(x.shape)}")
    check_float_input("adaptive_avg_pool2d", x)
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(sizes) != 2 or not all(s is None or (is_int(s) and s >= 1) for s in sizes):
        raise ValueError(f"adaptive_avg_pool2d: output_size must be a positive int or a pair of them "
                         f"(None keeps a side), got {output_size!r}")
    (h, w), (oh, ow) = x.shape[2:], (int(s) if s is not None else n for s, n in zip(sizes, x.shape[2:]))
    if (oh, ow) == (1, 1):
        return global_avg_pool2d(x, keepdims=True)
    return _window_means(h, oh, x) @ x @ _window_means(w, ow, x).T
