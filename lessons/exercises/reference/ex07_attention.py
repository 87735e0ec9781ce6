"""Lesson 07, exercise 1 (reference answer): multi-head self-attention in NumPy."""
import numpy as np


def multi_head_attention(x, wq, bq, wk, bk, wv, bv, wo, bo, heads):
    n, c = x.shape
    d = c // heads

    def split(t):                                        # (N, C) -> (heads, N, d)
        return t.reshape(n, heads, d).transpose(1, 0, 2)

    q, k, v = split(x @ wq.T + bq), split(x @ wk.T + bk), split(x @ wv.T + bv)
    logits = q @ k.transpose(0, 2, 1) / np.sqrt(d)       # (heads, N, N)
    logits -= logits.max(axis=-1, keepdims=True)
    a = np.exp(logits)
    a /= a.sum(axis=-1, keepdims=True)
    y = (a @ v).transpose(1, 0, 2).reshape(n, c)          # merge the heads: (N, C)
    return y @ wo.T + bo
