"""Channel-major activations: an (N, C, H, W) array laid out (C, N, H, W) in memory.

The math of every op is the same whatever the memory layout; the speed is not. conv2d
computes Y = W₂ @ cols as an (O, N·Ho·Wo) matrix and hands it on as a transposed view, so
its (N, O, Ho, Wo) result is channel-major: each channel one contiguous run of N·Ho·Wo
numbers. Kept that way through an MBConv stage, on the CPU,

* a 1×1 convolution is one matrix product on the (C, N·H·W) view (fast/conv.py),
* BatchNorm cuts the array into blocks of *whole channels*, so one visit per block does
  the statistics and the normalization while the block is in cache (fast/normalization.py),
* per-channel vectors broadcast along rows of N·H·W numbers, not H·W.

So the wing's twins of those stages' ops allocate their results in their input's layout
(``xp.empty_like(x)``, or ``empty_like_layout`` for another size), and
tests/test_fast_twins.py runs each on both layouts. Lesson 11 tells the story.
"""
from __future__ import annotations

from tinycoat.backend import get_array_module
from tinycoat.fast import cuda_kernels


def channel_major(x):
    """True when an (N, C, H, W) array is laid out (C, N, H, W) in memory (what conv2d's
    column path returns): then every channel is one contiguous run of N·H·W entries.
    (With N = 1 or C = 1 both layouts are the same memory, and either reading holds.)"""
    return x.ndim == 4 and x.transpose(1, 0, 2, 3).flags.c_contiguous


def empty_like_layout(x, shape, dtype=None):
    """An empty (N, C, H, W) array of ``shape`` and x's dtype (or ``dtype``), channel-major if x is.

    ``xp.empty_like(x, shape=...)`` follows the order of x's strides, which size-1 axes leave
    undecided (a channel-major (N, C, 1, 1) gradient would give a plain array): this asks
    ``channel_major`` instead."""
    xp = get_array_module(x)
    if channel_major(x):
        n, c, h, w = shape
        return xp.empty((c, n, h, w), dtype=dtype or x.dtype).transpose(1, 0, 2, 3)
    return xp.empty(shape, dtype=dtype or x.dtype)


def blocks_of_channels(*arrays):
    """True when an op should cut these arrays into blocks of whole channels: all channel-major,
    on the host (on a GPU every op is one launch over the whole array anyway)."""
    return all(channel_major(a) for a in arrays) and not cuda_kernels.available(arrays[0])


def channel_rows(a):
    """A channel-major (N, C, H, W) array as its (C, N, H·W) view: channel c is row block c."""
    return a.transpose(1, 0, 2, 3).reshape(a.shape[1], a.shape[0], -1)


def add_channel_bias(y, bias):
    """y + b for a map y (N, C, H, W) and b (C,), in y's memory layout: in place, unless a wider b
    (float64 for a float32 y) makes the sum wider, as the reference's ``y + b`` does."""
    xp = get_array_module(y)
    y = y.astype(xp.result_type(y, bias), copy=False)
    y += bias.reshape(-1, 1, 1)
    return y
