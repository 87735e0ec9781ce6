"""Lesson 08, exercise 1: relative attention in NumPy (write solutions/ex08_relative.py)."""
import numpy as np
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat.nn.functional.attention import relative_attention
from exercise_tools import checks, exercise

solution = exercise("ex08_relative")


@checks
@given(H=st.integers(1, 4), W=st.integers(1, 4), d=st.integers(1, 5), seed=st.integers(0, 999))
def test_matches_tinycoat(solution, H, W, d, seed):
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal((H * W, d)) for _ in range(3))
    table = 2 * rng.standard_normal((2 * H - 1, 2 * W - 1))
    expected = relative_attention(*(tc.tensor(a[None, None]) for a in (q, k, v)), tc.tensor(table[None]))
    y = np.asarray(solution.relative_attention_numpy(q, k, v, table))
    assert y.shape == (H * W, d)
    np.testing.assert_allclose(y, expected.numpy()[0, 0], rtol=1e-10, atol=1e-12)


def test_a_shifted_pair_reads_the_same_bias(solution):
    """With v = one-hot tokens and q = 0, y[i, j] is the weight of j for query i: it depends on i − j."""
    H, W = 3, 3
    table = np.random.default_rng(1).standard_normal((2 * H - 1, 2 * W - 1))
    eye = np.eye(H * W)
    a = np.asarray(solution.relative_attention_numpy(np.zeros((9, 9)), eye, eye, table))
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-12)
    # the (unnormalized) weights of the centre query: e^w, read around offset 0
    centre = a[4].reshape(3, 3) / a[4].max()
    np.testing.assert_allclose(centre, np.exp(table[1:4, 1:4][::-1, ::-1]) / np.exp(table[1:4, 1:4]).max(),
                               rtol=1e-10)
