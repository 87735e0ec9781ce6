"""Lesson 02, exercise 1: unbroadcast (write solutions/ex02_unbroadcast.py)."""
import numpy as np
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from exercise_tools import checks, exercise

solution = exercise("ex02_unbroadcast")


@checks
@given(data=st.data())
def test_unbroadcast_is_the_adjoint_of_broadcasting(solution, data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4))
    shape, out_shape = shapes.input_shapes[0], shapes.result_shape
    grad = data.draw(hnp.arrays(np.float64, out_shape, elements=st.integers(-5, 5)))
    result = np.asarray(solution.unbroadcast(grad, shape))
    assert result.shape == tuple(shape), f"unbroadcast({out_shape} -> {shape}) returned shape {result.shape}"
    # ⟨broadcast(b), G⟩ = ⟨b, unbroadcast(G)⟩ for every b: the defining property of the adjoint.
    # Checked for each b = e_i (a 1 at index i, 0 elsewhere), which pins down every entry i.
    for i in np.ndindex(*shape):
        b = np.zeros(shape)
        b[i] = 1.0
        assert (np.broadcast_to(b, out_shape) * grad).sum() == result[i], f"entry {i} of unbroadcast"


def test_unbroadcast_examples(solution):
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(solution.unbroadcast(g, (3, 1)), g.sum(axis=(0, 2)).reshape(3, 1))
    np.testing.assert_array_equal(solution.unbroadcast(g, (4,)), g.sum(axis=(0, 1)))
    np.testing.assert_array_equal(solution.unbroadcast(g, ()), g.sum())
    np.testing.assert_array_equal(solution.unbroadcast(g, (2, 3, 4)), g)
