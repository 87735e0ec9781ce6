"""Lesson 05, exercise 1 (reference answer): y_i = Σ_{|i−j|≤p} w_{i−j} ⊙ x_j in one dimension."""
import numpy as np


def depthwise_conv1d(x, w):
    """x (C, L); w (C, 2p+1) with w[:, δ + p] = w_δ. Zeros outside the signal."""
    c, length = x.shape
    p = (w.shape[1] - 1) // 2
    y = np.zeros((c, length), dtype=np.result_type(x, w))
    for delta in range(-p, p + 1):           # one array operation per offset δ = i − j
        lo, hi = max(0, delta), min(length, length + delta)      # the i with 0 <= i − δ < L
        if lo >= hi:
            continue                                             # the offset is longer than the signal
        y[:, lo:hi] += w[:, delta + p, None] * x[:, lo - delta:hi - delta]
    return y
