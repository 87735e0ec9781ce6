"""nn.TransformerBlock: CoAtNet's S3/S4 block on NCHW maps.

    stride 1:  x ← x + Attention(LayerNorm(x));              x ← x + FFN(LayerNorm(x))
    stride 2:  x ← Proj(Pool(x)) + Attention(Pool(LayerNorm(x))); x ← x + FFN(LayerNorm(x))
"""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat.nn.attention import RelativeAttention2d
from tinycoat.nn.functional.relative_position import resize_bias_table
from tinycoat.nn.mbconv import MBConv
from tinycoat.nn.transformer import TransformerBlock


def randomize(block, seed, std=0.5):
    rng = np.random.default_rng(seed)
    for p in block.parameters():
        p.data[...] = tc.tensor(rng.standard_normal(p.shape) * std, dtype=p.dtype, device=p.device).data
    return block


@st.composite
def block_case(draw):
    """A tiny float64 block: 3–4 input channels, 2–4 output channels in heads of 2 (or 1 head), a 1×1
    to 2×2 output grid, stride 1 or 2, and a seed for generic parameter and input values."""
    stride = draw(st.sampled_from([1, 2]))
    in_ch = draw(st.integers(3, 4))
    out_ch = draw(st.sampled_from([in_ch, 2, 4]))
    H, W = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    return dict(in_ch=in_ch, out_ch=out_ch, size=(H, W), stride=stride, B=draw(st.integers(1, 2)),
                seed=draw(st.integers(0, 2**31 - 1)))


def build(case, device, mlp_ratio=2, drop_path=0.0):
    block = TransformerBlock(case["in_ch"], case["out_ch"], case["size"], stride=case["stride"], head_dim=2,
                             mlp_ratio=mlp_ratio, drop_path=drop_path, dtype="float64").to(device)
    randomize(block, case["seed"])
    H, W = (s * case["stride"] for s in case["size"])
    # Continuous random inputs: max pooling has no ties (its kinks) within reach of the finite differences.
    x = np.random.default_rng(case["seed"] + 1).standard_normal((case["B"], case["in_ch"], H, W))
    return block, tc.tensor(x, device=device, requires_grad=True)


@given(case=block_case())
def test_gradcheck_every_parameter_and_the_input(case, device):
    """Backward through the whole block — LayerNorms, pool, shortcut projection, relative attention,
    the GELU MLP and both residual sums — agrees with finite differences for the input and every
    parameter, with and without downsampling."""
    block, x = build(case, device)
    assert tc.gradcheck(lambda x_, *_: block(x_), x, *block.parameters())


def layer_norm(t, weight, bias, eps=1e-5):
    mu, var = t.mean(-1, keepdims=True), t.var(-1, keepdims=True)
    return (t - mu) / np.sqrt(var + eps) * weight + bias


def gelu(t):
    return 0.5 * t * (1 + np.vectorize(math.erf)(t / math.sqrt(2)))


def max_pool(m):
    B, C, H, W = m.shape
    return m.reshape(B, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))


def tokens(m):
    B, C, H, W = m.shape
    return m.reshape(B, C, H * W).transpose(0, 2, 1)


@given(case=block_case())
def test_block_follows_the_spec(case, device):
    """The block is the spec's pre-norm recipe: LayerNorm at full resolution, then (stride 2) the 2×2 max
    pool, then attention, added to the shortcut Proj(Pool(x)) (Proj only when channels change); then
    x + FFN(LayerNorm(x)) with FFN = Linear → GELU → Linear. Written out in NumPy around the (separately
    tested) attention layer."""
    block, x_t = build(case, device)
    P = {name: p.numpy() for name, p in block.named_parameters()}
    x = x_t.numpy()
    B, C, H, W = x.shape
    normed = layer_norm(tokens(x), P["norm1.weight"], P["norm1.bias"])           # (B, H·W, C_in)
    shortcut = x
    if case["stride"] == 2:
        normed = tokens(max_pool(normed.transpose(0, 2, 1).reshape(B, C, H, W)))
        shortcut = max_pool(x)
    if case["in_ch"] != case["out_ch"]:                                          # Proj: a 1×1 conv
        shortcut = np.einsum("oc,bchw->bohw", P["proj.weight"][:, :, 0, 0], shortcut) \
            + P["proj.bias"][None, :, None, None]
    attended = block.attention(tc.tensor(normed, device=device)).numpy()          # (B, N, C_out)
    t = tokens(shortcut) + attended
    hidden = gelu(layer_norm(t, P["norm2.weight"], P["norm2.bias"]) @ P["mlp.0.weight"].T + P["mlp.0.bias"])
    t = t + hidden @ P["mlp.2.weight"].T + P["mlp.2.bias"]
    Ho, Wo = case["size"]
    expected = t.transpose(0, 2, 1).reshape(B, case["out_ch"], Ho, Wo)
    # Tolerance 1e-7: tinycoat's erf (inside GELU) is a fit accurate to ~1e-7, math.erf is exact.
    np.testing.assert_allclose(block(x_t).numpy(), expected, rtol=1e-7, atol=1e-7)


@given(case=block_case())
def test_drop_path_one_leaves_only_the_shortcut(case, device):
    """With drop-path probability 1 in training every residual branch is dropped, so the block is just its
    shortcut, Proj(Pool(x)); in evaluation drop-path does nothing."""
    block, x = build(case, device, drop_path=1.0)
    y = block(x).numpy()
    shortcut = x
    if block.pool is not None:
        shortcut = block.pool(shortcut)
    if block.proj is not None:
        shortcut = block.proj(shortcut)
    np.testing.assert_allclose(y, shortcut.numpy(), rtol=1e-12, atol=1e-12)
    reference, _ = build(case, device, drop_path=0.0)
    np.testing.assert_allclose(block.eval()(x).numpy(), reference(x).numpy(), rtol=1e-12)


def test_stacks_after_mbconv_on_nchw_maps():
    """An MBConv stage followed by a downsampling and a plain Transformer block: NCHW in, NCHW out,
    with the spec's CIFAR S3 shapes (16×16 → 8×8 tokens, 48 → 96 channels, 3 heads of 32)."""
    tc.manual_seed(0)
    x = tc.randn(2, 48, 16, 16, requires_grad=True)
    first = TransformerBlock(48, 96, size=(8, 8), stride=2)
    second = TransformerBlock(96, 96, size=(8, 8), drop_path=0.1)
    y = second(first(MBConv(48, 48)(x)))
    assert y.shape == (2, 96, 8, 8) and y.dtype == tc.float32
    assert first.attention.heads == 3 and first.proj is not None and second.proj is None
    y.sum().backward()
    assert x.grad.shape == x.shape


def test_parameter_names():
    block = TransformerBlock(16, 32, size=(2, 2), stride=2)
    names = [n for n, _ in block.named_parameters()]
    assert "attention.relative_bias_table" in names
    assert {"norm1.weight", "proj.weight", "proj.bias", "mlp.0.weight", "mlp.2.bias"} <= set(names)
    assert dict(block.named_parameters())["mlp.0.weight"].shape == (128, 32)   # mlp_ratio 4 by default


def test_wrong_input_size_is_a_clear_error():
    block = TransformerBlock(8, 8, size=(4, 4), stride=2)
    with pytest.raises(ValueError, match=r"expects 8×8 input maps, got 7×7.*divide.*resize_bias"):
        block(tc.randn(1, 8, 7, 7))
    with pytest.raises(ValueError, match="8 channels"):
        block(tc.randn(1, 4, 8, 8))
    with pytest.raises(ValueError, match="stride"):
        TransformerBlock(8, 8, size=4, stride=3)


@pytest.mark.parametrize("make,message", [
    (lambda: TransformerBlock(8, 16, 4, head_dim=0), r"^TransformerBlock: head_dim must be a positive int, got 0$"),
    (lambda: TransformerBlock(8, 16, 4, mlp_ratio=0), r"^TransformerBlock: mlp_ratio must be a positive int, got 0$"),
    (lambda: TransformerBlock(0, 16, size=4), r"^TransformerBlock: in_ch must be a positive int, got 0$"),
    (lambda: TransformerBlock(8, -16, size=4), r"^TransformerBlock: out_ch must be a positive int, got -16$"),
    (lambda: TransformerBlock(8, 16, size=(4, 4, 4)),
     r"^TransformerBlock: size \(H, W\) must be a positive int or a pair of them, got \(4, 4, 4\)$"),
    (lambda: TransformerBlock(8, 8, size=4).resize_bias((0, 4)),
     r"^TransformerBlock\.resize_bias: size \(H, W\) must be a positive int or a pair of them, got \(0, 4\)$"),
    (lambda: RelativeAttention2d(8, 4, head_dim=0), r"^RelativeAttention2d: head_dim must be a positive int, got 0$"),
    (lambda: RelativeAttention2d(0, 4), r"^RelativeAttention2d: dim must be a positive int, got 0$"),
    (lambda: RelativeAttention2d(8, 4, out_dim=0), r"^RelativeAttention2d: out_dim must be a positive int, got 0$"),
    (lambda: RelativeAttention2d(8, (4, 4, 4)),
     r"^RelativeAttention2d: size \(H, W\) must be a positive int or a pair of them, got \(4, 4, 4\)$"),
])
def test_bad_arguments_are_refused_at_construction(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_resize_bias_runs_the_block_at_another_resolution():
    """The block's table becomes resize_bias_table of the old one (checked against its formulas in
    test_attention_layer.py), and the block runs at the new grid, which it records."""
    block = TransformerBlock(32, 32, size=(4, 4))
    old = block.attention.relative_bias_table.numpy().copy()
    block.resize_bias((2, 3))
    np.testing.assert_array_equal(block.attention.relative_bias_table.numpy(), resize_bias_table(old, (2, 3)))
    assert block.size == block.attention.size == (2, 3)
    assert block(tc.randn(1, 32, 2, 3)).shape == (1, 32, 2, 3)
