"""Lesson 01, exercise 1: a Softplus Function (write solutions/ex01_softplus.py)."""
import numpy as np
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinycoat as tc
from exercise_tools import checks, exercise

solution = exercise("ex01_softplus")


@checks
@given(values=hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4),
                         elements=st.floats(-30, 30, width=64)))
def test_softplus_value_and_gradient(solution, values):
    x = tc.tensor(values, requires_grad=True, dtype="float64")
    y = solution.softplus(x)
    assert isinstance(y, tc.Tensor) and y.shape == x.shape
    np.testing.assert_allclose(y.numpy(), np.logaddexp(0.0, values), rtol=1e-12, atol=1e-300)
    assert tc.gradcheck(solution.softplus, x)


def test_softplus_is_stable_far_from_zero(solution):
    x = tc.tensor([-1000.0, 1000.0], requires_grad=True, dtype="float64")
    y = solution.softplus(x)
    y.sum().backward()
    assert np.all(np.isfinite(y.numpy())) and np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(y.numpy(), [0.0, 1000.0], atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0], atol=1e-12)
