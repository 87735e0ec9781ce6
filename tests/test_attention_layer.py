"""nn.RelativeAttention2d: multi-head relative attention with q/k/v/output projections.

The layer is the functional relative_attention with learned projections around it:
q, k, v = x W_qᵀ + b_q, ...; heads split the channels; out = merge(heads) W_oᵀ + b_o.
"""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat.nn.attention import RelativeAttention2d, heads_for
from tinycoat.nn.functional.relative_position import resize_bias_table
from strategies import arrays


def randomize(layer, seed, std=0.5):
    """Overwrite every parameter with generic random values (no symmetric or zero initial state)."""
    rng = np.random.default_rng(seed)
    for p in layer.parameters():
        p.data[...] = tc.tensor(rng.standard_normal(p.shape) * std, dtype=p.dtype, device=p.device).data
    return layer


@st.composite
def layer_case(draw):
    """A small float64 layer (1–3 heads of 1–2 channels), its input (NCHW or tokens) and a seed."""
    head_dim = draw(st.integers(1, 2))
    heads = draw(st.integers(1, 3))
    dim = draw(st.integers(1, 4))
    H, W = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    B = draw(st.integers(1, 2))
    tokens = draw(st.booleans())
    seed = draw(st.integers(0, 2**31 - 1))
    return dict(dim=dim, out_dim=heads * head_dim, head_dim=head_dim, size=(H, W), B=B, tokens=tokens, seed=seed)


def build(case, device, bias_mode="pre"):
    layer = RelativeAttention2d(case["dim"], case["size"], head_dim=case["head_dim"], out_dim=case["out_dim"],
                                bias_mode=bias_mode, dtype="float64").to(device)
    randomize(layer, case["seed"])
    H, W = case["size"]
    shape = (case["B"], H * W, case["dim"]) if case["tokens"] else (case["B"], case["dim"], H, W)
    x = np.random.default_rng(case["seed"] + 1).standard_normal(shape)
    return layer, tc.tensor(x, device=device, requires_grad=True)


def reference(layer, x):
    """The layer written out in NumPy: projections, heads, the relative-attention softmax, merge, output."""
    P = {name: p.numpy() for name, p in layer.named_parameters()}
    nchw = x.ndim == 4
    if nchw:
        B, C, H, W = x.shape
        x = x.reshape(B, C, H * W).transpose(0, 2, 1)
    B, N, _ = x.shape
    h, d = layer.heads, layer.head_dim
    q, k, v = ((x @ P[f"{n}.weight"].T + P[f"{n}.bias"]).reshape(B, N, h, d).transpose(0, 2, 1, 3)
               for n in ("query", "key", "value"))
    Hm, Wm = layer.size
    table = P["relative_bias_table"]
    bias = np.empty((h, N, N))
    for i in range(N):
        for j in range(N):
            (ri, ci), (rj, cj) = divmod(i, Wm), divmod(j, Wm)
            bias[:, i, j] = table[:, ri - rj + Hm - 1, ci - cj + Wm - 1]
    logits = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + bias
    a = np.exp(logits - logits.max(-1, keepdims=True))
    y = (a / a.sum(-1, keepdims=True)) @ v                                   # (B, h, N, d)
    y = y.transpose(0, 2, 1, 3).reshape(B, N, h * d) @ P["proj.weight"].T + P["proj.bias"]
    return y.transpose(0, 2, 1).reshape(B, h * d, H, W) if nchw else y


@given(case=layer_case())
def test_gradcheck_every_parameter_and_the_input(case, device):
    """Backward through the layer agrees with finite differences for the input and every parameter
    (the q, k, v and output projections and the relative bias table)."""
    layer, x = build(case, device)
    params = list(layer.parameters())
    assert tc.gradcheck(lambda x_, *_: layer(x_), x, *params)


@given(case=layer_case())
def test_layer_equals_its_numpy_reference(case, device):
    """RelativeAttention2d(x) = W_o · merge_heads(softmax(q kᵀ/√d + w_{i−j}) v) + b_o, with q, k, v
    the projections of x, for NCHW maps and (B, N, C) tokens alike."""
    layer, x = build(case, device)
    y = layer(x)
    expected = reference(layer, x.numpy())
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("channels,heads,head_dim", [(96, 3, 32), (192, 6, 32), (384, 12, 32), (48, 1, 48),
                                                     (16, 1, 16), (80, 2, 40), (64, 2, 32)])
def test_heads_follow_the_spec(channels, heads, head_dim):
    """heads = max(1, C // 32) and head_dim = C / heads (widths that are not multiples of 32 included)."""
    layer = RelativeAttention2d(channels, (2, 2))
    assert (layer.heads, layer.head_dim) == (heads, head_dim)
    assert layer.relative_bias_table.shape == (heads, 3, 3)


def test_uneven_heads_are_a_clear_error():
    with pytest.raises(ValueError, match="cannot be split evenly"):
        heads_for(100)


def test_bias_table_parameter_and_init():
    """The bias table is a 3-D Parameter named relative_bias_table, initialised ~ Normal(0, 0.02)."""
    tc.manual_seed(0)
    layer = RelativeAttention2d(384, (16, 16))
    names = dict(layer.named_parameters())
    table = names["relative_bias_table"]
    assert table.ndim == 3 and table.shape == (12, 31, 31) and table.dtype == tc.float32
    assert abs(float(table.numpy().std()) - 0.02) < 0.002 and abs(float(table.numpy().mean())) < 0.002
    assert sorted(names) == ["key.bias", "key.weight", "proj.bias", "proj.weight", "query.bias",
                             "query.weight", "relative_bias_table", "value.bias", "value.weight"]


def test_in_and_out_channels_can_differ():
    """q/k/v map C_in -> C_out (as in a downsampling block): (B, C_in, H, W) -> (B, C_out, H, W)."""
    layer = RelativeAttention2d(24, (3, 2), out_dim=64)
    assert layer(tc.randn(2, 24, 3, 2)).shape == (2, 64, 3, 2)
    assert layer(tc.randn(2, 6, 24)).shape == (2, 6, 64)


def test_float32_stays_float32():
    layer = RelativeAttention2d(32, (2, 2))
    x = tc.randn(2, 32, 2, 2, requires_grad=True)
    y = layer(x)
    assert y.dtype == tc.float32
    y.sum().backward()
    assert x.grad.dtype == tc.float32 and layer.relative_bias_table.grad.dtype == tc.float32


def test_wrong_size_is_a_clear_error_that_says_how_to_resize():
    layer = RelativeAttention2d(32, (4, 4))
    with pytest.raises(ValueError, match=r"built for a 4×4 map.*8×8.*resize_bias\(\(8, 8\)\)"):
        layer(tc.randn(1, 32, 8, 8))
    with pytest.raises(ValueError, match=r"4×4 map \(16 tokens\) got 9 tokens.*resize_bias"):
        layer(tc.randn(1, 9, 32))
    with pytest.raises(ValueError, match="dim=32"):
        layer(tc.randn(1, 16, 8))


# ------------------------------------------------------------------ resizing the bias table

@given(data=st.data())
def test_resize_reproduces_linear_tables_exactly(data):
    """Bilinear interpolation is exact on a bias that is linear in the offset: with the offsets aligned at
    0 and at the extremes, w(Δr, Δc) = a + b·Δr/(H−1) + c·Δc/(W−1) keeps that form at any new size."""
    H, W, H2, W2 = (data.draw(st.integers(2, 6)) for _ in range(4))
    a, b, c = (data.draw(st.floats(-2, 2)) for _ in range(3))

    def linear_table(h, w):
        dr = np.arange(-(h - 1), h)[:, None] / (h - 1)
        dc = np.arange(-(w - 1), w)[None, :] / (w - 1)
        return (a + b * dr + c * dc)[None]

    np.testing.assert_allclose(resize_bias_table(linear_table(H, W), (H2, W2)), linear_table(H2, W2), atol=1e-12)


@given(data=st.data())
def test_resize_keeps_size_constants_and_the_centre(data):
    """Resizing to the same size changes nothing, a constant table stays constant, and the bias of
    offset 0 (a token attending to itself) is kept exactly at any new size."""
    heads, H, W = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    table = data.draw(arrays((heads, 2 * H - 1, 2 * W - 1)))
    np.testing.assert_allclose(resize_bias_table(table, (H, W)), table, atol=1e-12)
    H2, W2 = data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7))
    constant = np.full((heads, 2 * H - 1, 2 * W - 1), 0.7)
    np.testing.assert_allclose(resize_bias_table(constant, (H2, W2)), 0.7, atol=1e-12)
    resized = resize_bias_table(table, (H2, W2))
    assert resized.shape == (heads, 2 * H2 - 1, 2 * W2 - 1)
    np.testing.assert_allclose(resized[:, H2 - 1, W2 - 1], table[:, H - 1, W - 1], atol=1e-12)


def test_resize_bias_lets_the_layer_run_at_another_resolution(device):
    """A layer trained at 4×4 runs at 8×8 after resize_bias((8, 8)); the table is a new (heads, 15, 15)
    Parameter, and the projections are untouched."""
    tc.manual_seed(0)
    layer = RelativeAttention2d(64, (4, 4)).to(device)
    before = layer.query.weight.numpy().copy()
    layer.resize_bias((8, 8))
    assert layer.size == (8, 8) and layer.relative_bias_table.shape == (2, 15, 15)
    assert layer.relative_bias_table.requires_grad and layer.relative_bias_table.device == device
    assert dict(layer.named_parameters())["relative_bias_table"] is layer.relative_bias_table
    y = layer(tc.randn(2, 64, 8, 8, device=device))
    assert y.shape == (2, 64, 8, 8)
    np.testing.assert_array_equal(layer.query.weight.numpy(), before)
