"""F.linear: x Wᵀ + b over the last axis, against NumPy and a float64 gradient check,
with 0–2 leading axes (a single vector, a batch, a batch of token grids), with and
without bias; and the shapes it refuses."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat.nn import functional as F
from strategies import arrays, shapes


@st.composite
def linear_case(draw):
    lead = draw(shapes(min_dims=0, max_dims=2, max_side=3))
    k, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x = draw(arrays(tuple(lead) + (k,)))
    w = draw(arrays((n, k)))
    b = draw(st.none() | arrays((n,)))
    return x, w, b


@given(case=linear_case())
def test_linear_matches_numpy_and_passes_gradcheck(case, device):
    x, w, b = case
    leaves = [tc.tensor(a, requires_grad=True, device=device) for a in (x, w) + (() if b is None else (b,))]
    y = F.linear(*leaves)
    expected = x @ w.T + (0.0 if b is None else b)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert tc.gradcheck(F.linear, *leaves)


def test_linear_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"linear: expected input \(\.\.\., 3\) for weight \(2, 3\), got \(4, 5\)"):
        F.linear(tc.zeros(4, 5), tc.zeros(2, 3))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(2,\), got \(3,\)"):
        F.linear(tc.zeros(4, 3), tc.zeros(2, 3), tc.zeros(3))
    with pytest.raises(ValueError, match=r"linear: weight must be \(out_features, in_features\)"):
        F.linear(tc.zeros(4, 3), tc.zeros(3))
