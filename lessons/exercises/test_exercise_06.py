"""Lesson 06, exercise 1: count MBConv's parameters (write solutions/ex06_mbconv.py)."""
from hypothesis import given, strategies as st

from tinycoat.models import count_parameters
from tinycoat.nn import MBConv
from exercise_tools import checks, exercise

solution = exercise("ex06_mbconv")


@checks
@given(c_in=st.integers(1, 40), c_out=st.integers(1, 40), expand=st.sampled_from([1, 2, 4, 6]),
       se=st.sampled_from([0.25, 0.5, 0.0625]), stride=st.sampled_from([1, 2]))
def test_formula_matches_the_block(solution, c_in, c_out, expand, se, stride):
    block = MBConv(c_in, c_out, stride=stride, expand_ratio=expand, se_ratio=se)
    assert solution.mbconv_parameters(c_in, c_out, expand_ratio=expand, se_ratio=se) == count_parameters(block)


def test_coatnet_0_stage_2_block(solution):
    assert solution.mbconv_parameters(96, 192) == count_parameters(MBConv(96, 192, stride=2))
