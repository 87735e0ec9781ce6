"""Channel-major activations: an (N, C, H, W) array laid out (C, N, H, W) in memory.

The math of every op is the same whatever the memory layout; the speed is not. conv2d's
column path computes Y = W₂ @ cols as an (O, N·Ho·Wo) matrix and hands it on as a
transposed view, so its (N, O, Ho, Wo) result is channel-major: each channel one
contiguous run of N·Ho·Wo numbers. Kept that way through an MBConv stage, on the CPU,

* a 1×1 convolution is one matrix product on the (C, N·H·W) view (conv.py),
* BatchNorm cuts the array into blocks of *whole channels*, so one visit per block does
  the statistics and the normalization while the block is in cache (normalization.py),
* per-channel vectors broadcast along rows of N·H·W numbers, not H·W.

So the ops of those stages allocate their results in their input's layout
(``empty_like_layout``, or NumPy's ``empty_like``, which keeps it), and the test
tests/test_channel_major.py runs each on both layouts. Lesson 11 tells the story.
"""
from __future__ import annotations

from tinycoat.backend import get_array_module


def channel_major(x):
    """True when an (N, C, H, W) array is laid out (C, N, H, W) in memory (what conv2d's
    column path returns): then every channel is one contiguous run of N·H·W entries.
    (With N = 1 or C = 1 both layouts are the same memory, and either reading holds.)"""
    return x.ndim == 4 and x.transpose(1, 0, 2, 3).flags.c_contiguous


def empty_like_layout(x, shape, dtype=None):
    """An empty (N, C, H, W) array of ``shape`` laid out in memory as ``x`` is (channel-major or not)."""
    xp = get_array_module(x)
    dtype = x.dtype if dtype is None else dtype
    if channel_major(x):
        n, c, h, w = shape
        return xp.empty((c, n, h, w), dtype=dtype).transpose(1, 0, 2, 3)
    return xp.empty(shape, dtype=dtype)
