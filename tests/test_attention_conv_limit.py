"""The convolution limit: relative attention *contains* a depthwise convolution.

With zero queries every logit is just the bias, q_i·k_j/√d + w_{i−j} = w_{i−j}, so the
attention weights no longer depend on the input at all:

    y_i = Σ_j exp(w_{i−j}) v_j / Σ_k exp(w_{i−k})  =  conv(v, exp w)_i / conv(1, exp w)_i

a global convolution with the kernel exp(w) (one kernel per head, shared by the head's d
channels: a "depthwise" convolution), normalised at every position. We compute the right
side with the project's own depthwise convolution, F.depthwise_conv2d.

Kernel orientation. depthwise_conv2d correlates, y[r, c] = Σ_{a,b} K[a, b] x_pad[r + a, c + b];
with padding (H−1, W−1) input pixel j = (r + a − (H−1), c + b − (W−1)) meets K[a, b]. The
attention weight for that pair is exp(table[r − r_j + H − 1, c − c_j + W − 1]) = exp(table[2H−2−a, 2W−2−b]),
so K is exp(table) flipped in both directions.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat.nn.functional.attention import relative_attention
import tinycoat.nn.functional as F
from strategies import arrays


def normalized_global_conv(v_map, table, device):
    """conv(v, exp w) / conv(1, exp w) per head: v_map (B, heads, d, H, W) -> same shape."""
    B, heads, d, H, W = v_map.shape
    kernel = np.exp(table)[:, ::-1, ::-1]                              # (heads, 2H−1, 2W−1), flipped
    shared = np.repeat(kernel, d, axis=0)[:, None]                     # (heads·d, 1, 2H−1, 2W−1)
    numerator = F.depthwise_conv2d(tc.tensor(v_map.reshape(B, heads * d, H, W), device=device),
                                   tc.tensor(shared.copy(), device=device), padding=(H - 1, W - 1))
    denominator = F.depthwise_conv2d(tc.ones(1, heads, H, W, dtype="float64", device=device),
                                     tc.tensor(kernel[:, None].copy(), device=device), padding=(H - 1, W - 1))
    return (numerator.numpy().reshape(B, heads, d, H, W)
            / denominator.numpy().reshape(1, heads, 1, H, W))


@pytest.mark.parametrize("zero", ["queries", "keys"])
@given(data=st.data())
def test_zero_queries_give_a_normalized_global_depthwise_convolution(zero, data, device):
    """With the queries (or the keys) at zero, relative attention is the normalised global convolution
    conv(v, exp w) / conv(1, exp w): a depthwise convolution whose kernel exp(w) is shared by the
    channels of a head, whatever the other input is."""
    B, heads = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3))
    H, W, d = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    table = data.draw(arrays((heads, 2 * H - 1, 2 * W - 1)))
    v_map = data.draw(arrays((B, heads, d, H, W)))
    other = data.draw(arrays((B, heads, H * W, d)))                   # the keys (or queries): ignored
    zeros = np.zeros((B, heads, H * W, d))
    q, k = (zeros, other) if zero == "queries" else (other, zeros)
    v = v_map.reshape(B, heads, d, H * W).transpose(0, 1, 3, 2)        # (B, heads, N, d), n = r·W + c
    y = relative_attention(*(tc.tensor(a, device=device) for a in (q, k, v, table)))
    y_map = y.numpy().transpose(0, 1, 3, 2).reshape(B, heads, d, H, W)
    np.testing.assert_allclose(y_map, normalized_global_conv(v_map, table, device), rtol=1e-10, atol=1e-12)
