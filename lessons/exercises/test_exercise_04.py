"""Lesson 04, exercise 1: conv1d by im2col (write solutions/ex04_conv1d.py)."""
import numpy as np
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat.nn import functional as F
from exercise_tools import checks, exercise

solution = exercise("ex04_conv1d")


@checks
@given(n=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 3), length=st.integers(1, 9),
       k=st.integers(1, 4), stride=st.integers(1, 3), padding=st.integers(0, 2), seed=st.integers(0, 99))
def test_conv1d_matches_a_2d_convolution_of_height_one(solution, n, c, o, length, k, stride, padding, seed):
    if length + 2 * padding < k:
        return                                           # the kernel does not fit
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((n, c, length)), rng.standard_normal((o, c, k))
    y = np.asarray(solution.conv1d(x, w, stride=stride, padding=padding))
    # A 1-D convolution is a 2-D one on images of height 1 (padding only along the width).
    x2 = np.pad(x, ((0, 0), (0, 0), (padding, padding)))[:, :, None, :]
    expected = F.conv2d(tc.tensor(x2), tc.tensor(w[:, :, None, :]), stride=(1, stride)).numpy()[:, :, 0, :]
    assert y.shape == expected.shape, f"shape {y.shape}, expected {expected.shape}"
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)
