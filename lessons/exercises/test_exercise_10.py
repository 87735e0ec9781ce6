"""Lesson 10, exercise 1: the learning-rate schedule (write solutions/ex10_schedule.py)."""
import math

from hypothesis import given, strategies as st

from tinycoat.optim import warmup_cosine
from exercise_tools import checks, exercise

solution = exercise("ex10_schedule")


@checks
@given(total=st.integers(1, 500), data=st.data(), peak=st.floats(1e-5, 1.0), floor_fraction=st.floats(0, 0.5))
def test_matches_tinycoat(solution, total, data, peak, floor_fraction):
    warmup = data.draw(st.integers(0, total))
    step = data.draw(st.integers(0, total + 10))            # a few steps past the end, too
    floor = peak * floor_fraction
    mine = solution.warmup_cosine(step, total, peak, warmup_steps=warmup, min_lr=floor)
    assert math.isclose(mine, warmup_cosine(step, total, peak, warmup, floor), rel_tol=1e-9, abs_tol=1e-15)


def test_shape_of_the_curve(solution):
    lrs = [solution.warmup_cosine(t, 100, 1.0, warmup_steps=10, min_lr=0.01) for t in range(120)]
    assert lrs[0] == 0.1 and lrs[9] == 1.0                 # linear warm-up, ending at the peak
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))  # then never increasing
    assert lrs[100] == lrs[119] == 0.01                     # the floor, and it stays there
