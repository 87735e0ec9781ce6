"""Lesson 13, exercise 1: ring all-reduce (write solutions/ex13_ring.py)."""
import math

import numpy as np
from hypothesis import given, strategies as st

from exercise_tools import exercise

solution = exercise("ex13_ring")


@given(ranks=st.integers(1, 7), length=st.integers(1, 40), seed=st.integers(0, 1000))
def test_every_rank_gets_the_sum(solution, ranks, length, seed):
    arrays = [np.random.default_rng((seed, r)).standard_normal(length) for r in range(ranks)]
    result = solution.ring_allreduce([a.copy() for a in arrays])
    assert len(result) == ranks
    for r in range(ranks):
        np.testing.assert_allclose(result[r], sum(arrays), rtol=1e-12, atol=1e-12)


@given(ranks=st.integers(2, 7), length=st.integers(1, 40))
def test_messages_go_round_the_ring_and_stay_small(solution, ranks, length):
    log = []
    solution.ring_allreduce([np.ones(length) * r for r in range(ranks)], log=log)
    assert log, "append (sender, receiver, elements) to log for every chunk sent"
    assert all(receiver == (sender + 1) % ranks for sender, receiver, _ in log)
    chunk = math.ceil(length / ranks)
    for r in range(ranks):
        sent = sum(n for s, _, n in log if s == r)
        assert sent <= 2 * (ranks - 1) * chunk          # 2(N − 1)/N of the array, per chunk rounded up
        assert len([1 for s, _, _ in log if s == r]) == 2 * (ranks - 1)
