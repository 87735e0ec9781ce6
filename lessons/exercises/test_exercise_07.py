"""Lesson 07, exercise 1: multi-head self-attention (write solutions/ex07_attention.py)."""
import numpy as np
import pytest

import tinycoat as tc
from tinycoat.nn import RelativeAttention2d
from exercise_tools import exercise

solution = exercise("ex07_attention")


@pytest.mark.parametrize("channels,size", [(32, (2, 3)), (64, (3, 3)), (96, (2, 2)), (8, (1, 4))])
def test_matches_relative_attention_with_a_zero_bias(solution, channels, size):
    layer = RelativeAttention2d(channels, size=size).double()
    layer.relative_bias_table.data[...] = 0.0            # no position bias: plain attention
    tokens = np.random.default_rng(channels).standard_normal((size[0] * size[1], channels))
    expected = layer(tc.tensor(tokens[None])).numpy()[0]
    weights = [p.numpy() for p in (layer.query.weight, layer.query.bias, layer.key.weight, layer.key.bias,
                                   layer.value.weight, layer.value.bias, layer.proj.weight, layer.proj.bias)]
    y = np.asarray(solution.multi_head_attention(tokens, *weights, heads=layer.heads))
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)
