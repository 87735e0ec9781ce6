"""Lesson 03, exercise 1: a central-difference gradient (write solutions/ex03_numerical_gradient.py)."""
import numpy as np
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinycoat as tc
from exercise_tools import checks, exercise

solution = exercise("ex03_numerical_gradient")

FUNCTIONS = {  # f(x) -> float, and its exact gradient
    "sum of squares": (lambda x: float((x ** 2).sum()), lambda x: 2 * x),
    "sin times cos": (lambda x: float((np.sin(x) * np.cos(2 * x)).sum()),
                      lambda x: np.cos(x) * np.cos(2 * x) - 2 * np.sin(x) * np.sin(2 * x)),
    "log-sum-exp": (lambda x: float(np.log(np.exp(x).sum())), lambda x: np.exp(x) / np.exp(x).sum()),
}


@checks
@given(x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=3), elements=st.floats(-2, 2)),
       name=st.sampled_from(sorted(FUNCTIONS)))
def test_matches_the_exact_gradient(solution, x, name):
    f, exact = FUNCTIONS[name]
    before = x.copy()
    grad = np.asarray(solution.numerical_gradient(f, x))
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, exact(x), atol=1e-7)
    np.testing.assert_array_equal(x, before)        # the input is left as it was


def test_agrees_with_tinycoat_backward(solution):
    w = tc.randn(3, 4, dtype="float64", requires_grad=True)
    loss = lambda a: ((tc.tensor(a) @ tc.ones(4, 2, dtype="float64")).tanh() ** 2).mean()  # noqa: E731
    out = ((w @ tc.ones(4, 2, dtype="float64")).tanh() ** 2).mean()
    out.backward()
    numeric = solution.numerical_gradient(lambda a: loss(a).item(), w.numpy())
    np.testing.assert_allclose(numeric, w.grad.numpy(), atol=1e-8)
