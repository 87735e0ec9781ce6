"""Lesson 04, exercise 1 (reference answer): a 1-D convolution as im2col + one matrix product."""
import numpy as np


def conv1d(x, w, stride=1, padding=0):
    n, c, _ = x.shape
    o, c_w, k = w.shape
    assert c == c_w, f"x has {c} channels, w expects {c_w}"
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    patches = np.lib.stride_tricks.sliding_window_view(x_pad, k, axis=2)[:, :, ::stride, :]  # (N, C, Lo, k)
    lo = patches.shape[2]
    cols = patches.transpose(1, 3, 0, 2).reshape(c * k, n * lo)          # rows (c, j), columns (n, position)
    y = w.reshape(o, c * k) @ cols                                       # (O, N·Lo)
    return y.reshape(o, n, lo).transpose(1, 0, 2)
