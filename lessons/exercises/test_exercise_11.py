"""Lesson 11, exercise 1: a twin of tanh that runs in blocks (write solutions/ex11_twin.py)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinycoat as tc
from tinycoat import twins
from tinycoat.fast import blocks
from tinycoat.ops.elementwise import Tanh
from exercise_tools import checks, exercise

solution = exercise("ex11_twin")


@pytest.fixture
def wing(solution, monkeypatch):
    """The answer registered as tanh's CPU twin, the wing on, many small blocks, calls counted."""
    calls = []
    original = blocks.map_blocks
    monkeypatch.setitem(twins._twins, (Tanh, "cpu"), (solution.Tanh, None))
    monkeypatch.setattr(blocks, "map_blocks", lambda *a, **k: calls.append(1) or original(*a, **k))
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 64)
    with tc.fast.enabled():
        yield calls


def test_is_a_twin_of_the_reference(solution):
    assert issubclass(solution.Tanh, Tanh) and solution.Tanh is not Tanh


@checks
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, max_side=5),
                    elements=st.floats(-5, 5)),
       seed=st.integers(0, 2 ** 16))
def test_equals_the_reference_in_blocks(solution, wing, x, seed):
    g = np.random.default_rng(seed).standard_normal(x.shape)
    results = []
    for on in (False, True):
        xt = tc.tensor(x, requires_grad=True)
        with tc.fast.enabled(on):
            y = xt.tanh()
            y.backward(tc.tensor(g))
        results.append((type(y._ctx), y.numpy(), xt.grad.numpy()))
    (ref_type, y_ref, g_ref), (twin_type, y_twin, g_twin) = results
    assert ref_type is Tanh and twin_type is solution.Tanh, "the twin did not run while the wing was on"
    np.testing.assert_allclose(y_twin, y_ref, rtol=1e-15, atol=0)
    np.testing.assert_allclose(g_twin, g_ref, rtol=1e-15, atol=1e-300)
    assert wing, "the forward should run through tinycoat.fast.blocks (map_elements or map_blocks)"
