"""Hypothesis strategies for tensors: shapes, broadcasting pairs and float64 values.

Sizes stay small (every gradient check perturbs each input element twice) but
reach the edges: size-1 axes, 0-d scalars, batch 1, non-square shapes.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FLOAT = np.float64


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def values(low=-3.0, high=3.0):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


def arrays(shape, low=-3.0, high=3.0):
    """float64 arrays of ``shape`` (a shape or a strategy for one)."""
    return hnp.arrays(FLOAT, shape, elements=values(low, high))


def away_from_zero(shape, low=0.2, high=3.0):
    """Values with |x| in [low, high]: no kink (relu, abs) or pole (1/x) within reach of ε."""
    magnitude = st.floats(low, high, width=64)
    signed = st.tuples(magnitude, st.booleans()).map(lambda p: p[0] if p[1] else -p[0])
    return hnp.arrays(FLOAT, shape, elements=signed)


def positive(shape, low=0.2, high=3.0):
    return arrays(shape, low, high)


def distinct(shape):
    """Entries that differ pairwise by at least 1/8, so max() has a unique winner."""
    return hnp.arrays(FLOAT, shape, elements=st.integers(-200, 200).map(lambda k: k / 8), unique=True)


def broadcastable_pair(max_dims=3, max_side=4):
    """Two shapes that broadcast together, e.g. (3, 1, 4) and (2, 1)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=max_dims,
                                             min_side=1, max_side=max_side).map(lambda r: r.input_shapes)


@st.composite
def shape_and_axis(draw, min_dims=1, max_dims=3, max_side=4):
    """A shape and an axis argument over it: None, an int (maybe negative) or a tuple."""
    shape = draw(shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side))
    ndim = len(shape)
    choice = draw(st.sampled_from(["none", "int", "tuple"]))
    if choice == "none":
        return shape, None
    if choice == "int":
        return shape, draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return shape, tuple(axes)
