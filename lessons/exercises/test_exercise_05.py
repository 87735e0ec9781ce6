"""Lesson 05, exercise 1: the paper's depthwise convolution in 1-D (write solutions/ex05_depthwise.py)."""
import numpy as np
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat.nn import functional as F
from exercise_tools import checks, exercise

solution = exercise("ex05_depthwise")


def literal(x, w):
    """The formula with two loops, as written: y_i = Σ_{j : |i−j| ≤ p} w_{i−j} x_j."""
    c, length = x.shape
    p = (w.shape[1] - 1) // 2
    y = np.zeros((c, length))
    for i in range(length):
        for j in range(max(0, i - p), min(length, i + p + 1)):
            y[:, i] += w[:, i - j + p] * x[:, j]
    return y


@checks
@given(c=st.integers(1, 3), length=st.integers(1, 10), p=st.integers(0, 3), seed=st.integers(0, 99))
def test_matches_the_formula_and_the_library(solution, c, length, p, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((c, length)), rng.standard_normal((c, 2 * p + 1))
    y = np.asarray(solution.depthwise_conv1d(x, w))
    assert y.shape == (c, length)
    np.testing.assert_allclose(y, literal(x, w), rtol=1e-10, atol=1e-12)
    # tinycoat's kernel is the paper's w flipped (lesson 05); height-1 images make it 1-D.
    kernel = tc.tensor(w[:, ::-1].copy()[:, None, None, :])                # (C, 1, 1, 2p+1)
    lib = F.depthwise_conv2d(tc.tensor(x[None, :, None, :]), kernel, padding=(0, p)).numpy()[0, :, 0]
    np.testing.assert_allclose(y, lib, rtol=1e-10, atol=1e-12)
