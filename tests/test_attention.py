"""Relative attention, F.relative_attention: the paper's first insight as property tests.

CoAtNet's relative attention puts a static, translation-equivariant kernel w_{i−j}
*inside* the softmax of self-attention:

    y_i = Σ_j  exp(q_i·k_j/√d + w_{i−j}) / Σ_k exp(q_i·k_k/√d + w_{i−k})  ·  v_j

Each test below states one sentence of that story and checks it on generated batches,
heads, map sizes (1×1 and non-square included), head dimensions and values.
The convolution limit, which needs the project's convolution code, is in
test_attention_conv_limit.py.
"""
import math

import numpy as np
import pytest
from hypothesis import assume, find, given, settings, strategies as st

import tinycoat as tc
from tinycoat.nn.functional.attention import relative_attention
from tinycoat.nn.functional.relative_position import relative_bias, relative_position_index
from strategies import arrays


# ------------------------------------------------------------------ generated inputs

@st.composite
def attention_case(draw, max_batch=2, max_heads=2, max_side=3, max_dim=3, low=-2.0, high=2.0):
    """(q, k, v, table, (H, W)) as float64 NumPy arrays: q, k, v (B, heads, H·W, d)."""
    B = draw(st.integers(1, max_batch))
    heads = draw(st.integers(1, max_heads))
    H = draw(st.integers(1, max_side))
    W = draw(st.integers(1, max_side))
    d = draw(st.integers(1, max_dim))
    q, k, v = (draw(arrays((B, heads, H * W, d), low, high)) for _ in range(3))
    table = draw(arrays((heads, 2 * H - 1, 2 * W - 1), low, high))
    return q, k, v, table, (H, W)


def tensors(*arrays_, device, requires_grad=False):
    return [tc.tensor(a, dtype="float64", device=device, requires_grad=requires_grad) for a in arrays_]


def bias_longhand(table, h, i, j, W):
    """w_{i−j} for head h, read from the table with the offset arithmetic written out."""
    H = (table.shape[1] + 1) // 2
    r_i, c_i = divmod(i, W)          # token n sits at row n // W, column n % W
    r_j, c_j = divmod(j, W)
    return table[h, (r_i - r_j) + (H - 1), (c_i - c_j) + (W - 1)]


def attention_longhand(q, k, v, table, W, bias_mode="pre"):
    """The paper's formula as a direct double loop over query i and key j (and batch, head)."""
    B, heads, N, d = q.shape
    y = np.zeros(v.shape)
    for b in range(B):
        for h in range(heads):
            for i in range(N):
                logits = [q[b, h, i] @ k[b, h, j] / math.sqrt(d) for j in range(N)]
                if bias_mode == "pre":
                    logits = [logits[j] + bias_longhand(table, h, i, j, W) for j in range(N)]
                top = max(logits)
                exps = [math.exp(z - top) for z in logits]
                total = sum(exps)
                for j in range(N):
                    a = exps[j] / total
                    if bias_mode == "post":
                        a = a + bias_longhand(table, h, i, j, W)
                    y[b, h, i] += a * v[b, h, j]
    return y


# ------------------------------------------------------------------ 1. gradients

@pytest.mark.parametrize("bias_mode", ["pre", "post"])
@given(case=attention_case())
def test_gradcheck_q_k_v_and_bias_table(bias_mode, case, device):
    """Backward through q·kᵀ, the bias gather (a scatter-add into the table), the softmax and
    the weighted sum of values agrees with finite differences for q, k, v and the table."""
    q, k, v, table, _ = case
    inputs = tensors(q, k, v, table, device=device, requires_grad=True)
    assert tc.gradcheck(lambda *t: relative_attention(*t, bias_mode=bias_mode), *inputs)


@given(case=attention_case())
def test_gradcheck_of_returned_weights(case, device):
    """The attention weights returned for visualisation are differentiable too."""
    q, k, v, table, _ = case
    inputs = tensors(q, k, v, table, device=device, requires_grad=True)
    assert tc.gradcheck(lambda *t: relative_attention(*t, return_weights=True), *inputs)


# ------------------------------------------------------------------ 2. the explicit formula

@pytest.mark.parametrize("bias_mode", ["pre", "post"])
@given(case=attention_case(max_side=4, low=-3.0, high=3.0))
def test_equals_the_papers_formula_written_as_a_double_loop(bias_mode, case, device):
    """Relative attention is exactly y_i = Σ_j exp(q_i·k_j/√d + w_{i−j}) v_j / Σ_k exp(q_i·k_k/√d + w_{i−k}),
    with w_{i−j} the table entry at (row_i − row_j + H − 1, col_i − col_j + W − 1)."""
    q, k, v, table, (H, W) = case
    y = relative_attention(*tensors(q, k, v, table, device=device), bias_mode=bias_mode)
    np.testing.assert_allclose(y.numpy(), attention_longhand(q, k, v, table, W, bias_mode),
                               rtol=1e-10, atol=1e-12)


@given(case=attention_case(max_side=4))
def test_weights_are_a_distribution_over_keys(case, device):
    """Every query's weights over the keys are positive and sum to 1, and y = weights · v."""
    q, k, v, table, _ = case
    y, weights = relative_attention(*tensors(q, k, v, table, device=device), return_weights=True)
    a = weights.numpy()
    assert a.shape == q.shape[:3] + (q.shape[2],)
    assert (a > 0).all()
    np.testing.assert_allclose(a.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(y.numpy(), a @ v, rtol=1e-10, atol=1e-12)


def test_relative_position_index_longhand():
    """index[i, j] points at offset (Δrow + H − 1, Δcol + W − 1) of the flattened (2H−1)×(2W−1) table."""
    for H, W in [(1, 1), (1, 4), (3, 1), (2, 3), (4, 4)]:
        index = np.asarray(relative_position_index(H, W))
        assert index.shape == (H * W, H * W) and index.dtype.kind == "i"
        for i in range(H * W):
            for j in range(H * W):
                (r_i, c_i), (r_j, c_j) = divmod(i, W), divmod(j, W)
                assert index[i, j] == (r_i - r_j + H - 1) * (2 * W - 1) + (c_i - c_j + W - 1)


# ------------------------------------------------------------------ 3. the attention limit

@given(case=attention_case(max_side=4, max_dim=4))
def test_zero_bias_is_plain_softmax_attention(case, device):
    """With the relative bias table at zero, relative attention is ordinary softmax attention,
    y = softmax(q kᵀ/√d) v."""
    q, k, v, table, _ = case
    y = relative_attention(*tensors(q, k, v, np.zeros_like(table), device=device))
    logits = q @ k.transpose(0, 1, 3, 2) / math.sqrt(q.shape[-1])
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(y.numpy(), (e / e.sum(axis=-1, keepdims=True)) @ v, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ 5. translation equivariance

@given(data=st.data())
def test_bias_depends_only_on_the_offset(data, device):
    """Shifting a query and its key by the same offset (both staying inside the map) leaves
    their bias unchanged: the bias is a function of i − j alone, like a convolution kernel."""
    heads, H, W = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    assume(H * W > 1)                                      # (one token: no shift to make)
    table = data.draw(arrays((heads, 2 * H - 1, 2 * W - 1)))
    bias = relative_bias(tc.tensor(table, device=device)).numpy()           # (heads, N, N)
    assert bias.shape == (heads, H * W, H * W)
    shift_r, shift_c = data.draw(st.integers(-(H - 1), H - 1)), data.draw(st.integers(-(W - 1), W - 1))
    assume((shift_r, shift_c) != (0, 0))                   # (no shift compares each entry with itself)
    for i in range(H * W):
        for j in range(H * W):
            (r_i, c_i), (r_j, c_j) = divmod(i, W), divmod(j, W)
            np.testing.assert_array_equal(bias[:, i, j], table[:, r_i - r_j + H - 1, c_i - c_j + W - 1])
            moved = [(r + shift_r, c + shift_c) for r, c in ((r_i, c_i), (r_j, c_j))]
            if all(0 <= r < H and 0 <= c < W for r, c in moved):
                i2, j2 = (r * W + c for r, c in moved)
                np.testing.assert_array_equal(bias[:, i2, j2], bias[:, i, j])


@given(data=st.data())
def test_zero_query_attention_commutes_with_shifts_in_the_interior(data, device):
    """With zero queries and a bias that is −∞ (here −1e4) beyond a radius r, relative attention is a
    local, normalised convolution: circularly shifting the input map shifts the output by the same
    amount wherever neither window reaches a border or the wrapped-around values."""
    r = data.draw(st.integers(0, 1))
    H, W = data.draw(st.integers(2 * r + 2, 7)), data.draw(st.integers(2 * r + 2, 7))
    heads, d = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3))
    shift_r, shift_c = data.draw(st.integers(0, H - 2 * r - 1)), data.draw(st.integers(0, W - 2 * r - 1))
    assume((shift_r, shift_c) != (0, 0))                   # (no shift would compare a map with itself)
    table = data.draw(arrays((heads, 2 * H - 1, 2 * W - 1)))
    far = np.ones((2 * H - 1, 2 * W - 1), dtype=bool)
    far[H - 1 - r:H + r, W - 1 - r:W + r] = False
    table[:, far] = -1e4                                   # exp(−1e4) = 0: the kernel has radius r
    x = data.draw(arrays((1, heads, H, W, d)))
    keys = data.draw(arrays((1, heads, H * W, d)))         # any keys: a zero query ignores them

    def layer(x_map):
        q = np.zeros((1, heads, H * W, d))
        v = x_map.reshape(1, heads, H * W, d)
        y = relative_attention(*tensors(q, keys, v, table, device=device))
        return y.numpy().reshape(1, heads, H, W, d)

    y, y_shifted = layer(x), layer(np.roll(x, (shift_r, shift_c), axis=(2, 3)))
    checked = 0
    for row in range(H):
        for col in range(W):
            source = (row - shift_r, col - shift_c)
            # Both windows (radius r around the output and around its source) must stay on the map,
            # and the shifted window must read only values that did not wrap around.
            if (r + shift_r <= row < H - r and r + shift_c <= col < W - r
                    and r <= source[0] < H - r and r <= source[1] < W - r):
                np.testing.assert_allclose(y_shifted[:, :, row, col], y[:, :, source[0], source[1]],
                                           rtol=1e-10, atol=1e-12)
                checked += 1
    assert checked > 0


# ------------------------------------------------------------------ 6. post-normalisation differs

def post_minus_pre(case):
    q, k, v, table, _ = case
    t = tensors(q, k, v, table, device="cpu")
    return float(np.abs((relative_attention(*t, bias_mode="post") - relative_attention(*t)).numpy()).max())


def test_post_normalisation_is_not_pre_normalisation():
    """Adding the bias after the softmax (post) is a different layer from adding it inside (pre):
    Hypothesis finds inputs where the two outputs differ by more than 0.1."""
    case = find(attention_case(), lambda c: post_minus_pre(c) > 0.1,
                settings=settings(max_examples=200, derandomize=True, database=None))
    q, k, v, table, (H, W) = case
    assert post_minus_pre(case) > 0.1
    # The found (shrunk) counter-example really is one: check it against the longhand formulas.
    np.testing.assert_allclose(attention_longhand(q, k, v, table, W, "post")
                               - attention_longhand(q, k, v, table, W, "pre"),
                               (relative_attention(*tensors(q, k, v, table, device="cpu"), bias_mode="post")
                                - relative_attention(*tensors(q, k, v, table, device="cpu"))).numpy(),
                               atol=1e-12)


@given(case=attention_case())
def test_post_and_pre_agree_only_without_bias(case, device):
    """With a zero table both forms are plain attention; post adds exactly Σ_j w_{i−j} v_j on top of it."""
    q, k, v, table, (H, W) = case
    zero = np.zeros_like(table)
    pre0 = relative_attention(*tensors(q, k, v, zero, device=device)).numpy()
    post0 = relative_attention(*tensors(q, k, v, zero, device=device), bias_mode="post").numpy()
    np.testing.assert_allclose(post0, pre0, rtol=1e-12, atol=1e-14)
    post = relative_attention(*tensors(q, k, v, table, device=device), bias_mode="post").numpy()
    bias = relative_bias(tc.tensor(table)).numpy()                  # (heads, N, N)
    np.testing.assert_allclose(post - post0, bias[None] @ v, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ dtype, errors

def test_float32_in_float32_out(device):
    q, k, v = (tc.randn(2, 3, 6, 4, device=device, requires_grad=True) for _ in range(3))
    table = tc.randn(3, 3, 5, device=device, requires_grad=True)
    y, a = relative_attention(q, k, v, table, return_weights=True)
    assert y.dtype == tc.float32 and a.dtype == tc.float32
    (y * tc.randn(*y.shape, device=device)).sum().backward()
    assert all(t.grad.dtype == tc.float32 for t in (q, k, v, table))


def test_table_and_tokens_must_agree():
    q = tc.randn(1, 2, 6, 4)
    with pytest.raises(ValueError, match=r"2×2 map \(4 tokens\).*N = 6"):
        relative_attention(q, q, q, tc.randn(2, 3, 3))
    with pytest.raises(ValueError, match="2 heads.*has 3"):
        relative_attention(q, q, q, tc.randn(3, 3, 5))
    with pytest.raises(ValueError, match="odd"):
        relative_attention(q, q, q, tc.randn(2, 4, 5))
    with pytest.raises(ValueError, match="bias_mode"):
        relative_attention(q, q, q, tc.randn(2, 3, 5), bias_mode="middle")


# ------------------------------------------------------------------ PyTorch's name for it

@given(case=attention_case(max_side=4, low=-3.0, high=3.0))
def test_relative_attention_is_scaled_dot_product_attention_with_the_bias_as_mask(case, device):
    """An additive attn_mask is a bias: F.scaled_dot_product_attention(q, k, v, attn_mask=w_{i−j})
    is relative attention ("pre"), and both are the double loop's formula."""
    q, k, v, table, (H, W) = case
    qt, kt, vt, tt = tensors(q, k, v, table, device=device)
    y = tc.nn.functional.scaled_dot_product_attention(qt, kt, vt, attn_mask=relative_bias(tt))
    np.testing.assert_allclose(y.numpy(), attention_longhand(q, k, v, table, W), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.numpy(), relative_attention(qt, kt, vt, tt).numpy(), rtol=1e-12, atol=1e-14)


@given(data=st.data())
def test_scaled_dot_product_attention_masks_and_gradients(data, device):
    """Other lengths of keys than of queries (L ≠ S); a boolean mask gives the masked keys weight 0,
    exactly as dropping them would; is_causal is the boolean mask of j ≤ i; backward agrees with
    finite differences."""
    L, S, d, dv = (data.draw(st.integers(1, 4)) for _ in range(4))
    q, k, v = (data.draw(arrays(shape)) for shape in ((2, L, d), (2, S, d), (2, S, dv)))
    keep = data.draw(arrays((L, S), -1, 1)) > -0.5
    keep[:, 0] = True                                                  # (every query keeps a key)
    sdpa = tc.nn.functional.scaled_dot_product_attention
    qt, kt, vt = tensors(q, k, v, device=device, requires_grad=True)
    mask = tc.tensor(keep, device=device)
    y = sdpa(qt, kt, vt, attn_mask=mask, scale=0.7)
    for i in range(L):                                                 # the kept keys alone, one query at a time
        alone = sdpa(qt[:, i:i + 1], kt[:, keep[i]], vt[:, keep[i]], scale=0.7)
        np.testing.assert_allclose(y.detach().numpy()[:, i:i + 1], alone.detach().numpy(), rtol=1e-12, atol=1e-14)
    causal = tc.tensor(np.tri(L, S, dtype=bool), device=device)
    np.testing.assert_allclose(sdpa(qt, kt, vt, is_causal=True).detach().numpy(),
                               sdpa(qt, kt, vt, attn_mask=causal).detach().numpy(), rtol=1e-12)
    assert tc.gradcheck(lambda *t: sdpa(*t, attn_mask=mask), qt, kt, vt)


def test_scaled_dot_product_attention_refuses_what_does_not_fit():
    sdpa = tc.nn.functional.scaled_dot_product_attention
    q = tc.zeros(2, 3, 4)
    with pytest.raises(ValueError, match="key must have query's d"):
        sdpa(q, tc.zeros(2, 3, 5), tc.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="attn_mask or is_causal, not both"):
        sdpa(q, q, q, attn_mask=tc.ones(3, 3), is_causal=True)



def test_scaled_dot_product_attention_dropout_drops_weights_and_rescales_the_rest():
    """q = k = 0: every weight is 1/S; with v the identity, output row i is query i's weights. After
    dropout each is 0 or 1/(S(1 − p)), about a fraction p of them 0; dropout_p=0 is no dropout."""
    sdpa = tc.nn.functional.scaled_dot_product_attention
    s, p = 64, 0.25
    zeros, identity = tc.zeros(1, s, 8, dtype="float64"), tc.eye(s, dtype="float64").reshape(1, s, s)
    tc.manual_seed(0)
    weights = sdpa(zeros, zeros, identity, dropout_p=p).numpy()
    kept = 1 / (s * (1 - p))
    assert np.all(np.isclose(weights, 0) | np.isclose(weights, kept))
    assert abs(np.isclose(weights, 0).mean() - p) < 0.03                # 4,096 coins
    np.testing.assert_allclose(sdpa(zeros, zeros, identity, dropout_p=0.0).numpy(), np.full((1, s, s), 1 / s))


def test_a_query_that_may_see_no_key_attends_to_nothing(device):
    """A boolean mask row of all False gives that query weight 0 on every key and output 0, with
    finite gradients (PyTorch's answer), not softmax's 0/0; no keys at all (S = 0) gives zeros."""
    sdpa = tc.nn.functional.scaled_dot_product_attention
    rng = np.random.default_rng(0)
    q, k, v = (tc.tensor(rng.standard_normal(s), requires_grad=True, device=device) for s in ((1, 3, 4), (1, 5, 4), (1, 5, 2)))
    keep = np.ones((3, 5), bool)
    keep[1] = False
    y = sdpa(q, k, v, attn_mask=tc.tensor(keep, device=device))
    y.sum().backward()
    assert y.detach().numpy()[0, 1].tolist() == [0.0, 0.0] and not q.grad.numpy()[0, 1].any()
    assert all(np.isfinite(t.grad.numpy()).all() for t in (q, k, v))
    np.testing.assert_allclose(y.detach().numpy()[0, [0, 2]], sdpa(q, k, v).detach().numpy()[0, [0, 2]], rtol=1e-12)
    assert sdpa(q, k[:, :0], v[:, :0]).tolist() == [[[0.0, 0.0]] * 3]
