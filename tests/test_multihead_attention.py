"""nn.MultiheadAttention: PyTorch's layer, its names, layouts and masks, checked against attention
written out in NumPy from the definition, and by float64 gradient checks."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat import nn
from strategies import arrays


def longhand(layer, query, key, value, hide=None):
    """NumPy: q, k, v from in_proj's rows (or q/k/v_proj_weight), bias_k and bias_v appended to the
    keys and values, a zero key and value appended to each head's (add_zero_attn), per head
    softmax(q kᵀ/√d − ∞·hide) v, heads concatenated, out_proj. Batch-first arrays (N, L, E);
    ``hide`` (N, L, S) True where a query may not look (never at an appended key)."""
    e, h = layer.embed_dim, layer.num_heads
    d = e // h
    if layer.in_proj_weight is not None:
        w = [layer.in_proj_weight.numpy()[i * e:(i + 1) * e] for i in range(3)]
    else:
        w = [layer.q_proj_weight.numpy(), layer.k_proj_weight.numpy(), layer.v_proj_weight.numpy()]
    b = layer.in_proj_bias.numpy()
    q, k, v = (x @ w[i].T + b[i * e:(i + 1) * e] for i, x in enumerate((query, key, value)))
    n, length = query.shape[:2]
    hide = np.zeros((n, length, key.shape[1]), dtype=bool) if hide is None else np.broadcast_to(hide, (n, length, key.shape[1]))
    if layer.bias_k is not None:
        k = np.concatenate([k, np.broadcast_to(layer.bias_k.numpy(), (n, 1, e))], axis=1)
        v = np.concatenate([v, np.broadcast_to(layer.bias_v.numpy(), (n, 1, e))], axis=1)
        hide = np.concatenate([hide, np.zeros((n, length, 1), dtype=bool)], axis=2)
    if layer.add_zero_attn:
        k, v = (np.concatenate([t, np.zeros((n, 1, e))], axis=1) for t in (k, v))   # zeros in every head's slice
        hide = np.concatenate([hide, np.zeros((n, length, 1), dtype=bool)], axis=2)
    out = np.zeros((n, length, e))
    weights = np.zeros((n, h, length, k.shape[1]))
    for s in range(n):
        for head in range(h):
            cols = slice(head * d, (head + 1) * d)
            logits = q[s, :, cols] @ k[s, :, cols].T / np.sqrt(d)
            logits = np.where(hide[s], -np.inf, logits)
            a = np.exp(logits - logits.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            weights[s, head] = a
            out[s, :, cols] = a @ v[s, :, cols]
    return out @ layer.out_proj.weight.numpy().T + layer.out_proj.bias.numpy(), weights


@st.composite
def mha_case(draw):
    heads, d = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    n, length, source = draw(st.integers(1, 2)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    e = heads * d
    return heads, draw(arrays((n, length, e))), draw(arrays((n, source, e))), draw(arrays((n, source, e)))


def make(embed_dim, heads, device, **kwargs):
    tc.manual_seed(0)
    layer = nn.MultiheadAttention(embed_dim, heads, dtype="float64", device=device, **kwargs)
    with tc.no_grad():                                                 # (PyTorch starts the biases at 0)
        layer.in_proj_bias.copy_(tc.randn(3 * embed_dim, dtype="float64"))
        layer.out_proj.bias.copy_(tc.randn(embed_dim, dtype="float64"))
    return layer


@given(case=mha_case(), batch_first=st.booleans())
def test_equals_attention_written_out_per_head(case, batch_first, device):
    heads, q, k, v = case
    layer = make(q.shape[-1], heads, device, batch_first=batch_first)
    as_input = (lambda a: tc.tensor(a, device=device)) if batch_first else (lambda a: tc.tensor(a.transpose(1, 0, 2).copy(), device=device))
    y, weights = layer(as_input(q), as_input(k), as_input(v))
    want_y, want_w = longhand(layer, q, k, v)
    got = y.detach().numpy() if batch_first else y.detach().numpy().transpose(1, 0, 2)
    np.testing.assert_allclose(got, want_y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights.detach().numpy(), want_w.mean(1), rtol=1e-10, atol=1e-12)
    assert layer(as_input(q), as_input(k), as_input(v), need_weights=False)[1] is None
    per_head = layer(as_input(q), as_input(k), as_input(v), average_attn_weights=False)[1]
    np.testing.assert_allclose(per_head.detach().numpy(), want_w, rtol=1e-10, atol=1e-12)


@given(case=mha_case(), data=st.data())
def test_masks_hide_what_is_true_and_add_what_is_float(case, data, device):
    """A boolean attn_mask (L, S) and key_padding_mask (N, S) hide where True; together they hide the
    union; a float attn_mask is added to the logits (a −1e9 there hides as True does)."""
    heads, q, k, v = case
    n, length, source = q.shape[0], q.shape[1], k.shape[1]
    layer = make(q.shape[-1], heads, device, batch_first=True)
    hide_pairs = data.draw(arrays((length, source), -1, 1)) > 0.3
    hide_keys = data.draw(arrays((n, source), -1, 1)) > 0.3
    hide_pairs[:, 0] = hide_keys[:, 0] = False                         # (every query keeps a key)
    t = [tc.tensor(a, device=device) for a in (q, k, v)]
    y, _ = layer(*t, attn_mask=tc.tensor(hide_pairs, device=device), key_padding_mask=tc.tensor(hide_keys, device=device))
    np.testing.assert_allclose(y.detach().numpy(), longhand(layer, q, k, v, hide_pairs[None] | hide_keys[:, None])[0],
                               rtol=1e-10, atol=1e-12)
    as_float = tc.tensor(np.where(hide_pairs, -1e9, 0.0), device=device)
    y_float, _ = layer(*t, attn_mask=as_float)
    np.testing.assert_allclose(y_float.detach().numpy(), longhand(layer, q, k, v, np.broadcast_to(hide_pairs, (n, length, source)))[0],
                               rtol=1e-10, atol=1e-12)
    causal, _ = layer(*t, is_causal=True)                               # key j hidden from query i when j > i
    later = np.broadcast_to(np.triu(np.ones((length, source), bool), 1), (n, length, source))
    np.testing.assert_allclose(causal.detach().numpy(), longhand(layer, q, k, v, later)[0], rtol=1e-10, atol=1e-12)


def test_a_sample_whose_keys_are_all_padding_attends_to_nothing(device):
    """key_padding_mask True everywhere for one sample: its attention is 0, so its output is
    out_proj's bias alone, and no NaN reaches any gradient."""
    layer = make(4, 2, device, batch_first=True)
    x = tc.randn(2, 3, 4, dtype="float64", device=device, requires_grad=True)
    padding = tc.tensor([[False, False, True], [True, True, True]], device=device)
    y, weights = layer(x, x, x, key_padding_mask=padding)
    np.testing.assert_allclose(y.detach().numpy()[1], np.broadcast_to(layer.out_proj.bias.numpy(), (3, 4)), rtol=1e-12)
    assert not weights.detach().numpy()[1].any() and not weights.detach().numpy()[0, :, 2].any()
    y.sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and all(np.isfinite(p.grad.numpy()).all() for p in layer.parameters())


@given(case=mha_case(), batch_first=st.booleans(), data=st.data())
def test_one_sequence_without_a_batch_axis_is_a_batch_of_one(case, batch_first, data, device):
    """(L, E) in, (L, E) out, as PyTorch: the longhand's first sample, with masks (S,) and (L, S)."""
    heads, q, k, v = case
    layer = make(q.shape[-1], heads, device, batch_first=batch_first)
    hide_keys = data.draw(arrays(k.shape[1:2], -1, 1)) > 0.3
    hide_pairs = data.draw(arrays((q.shape[1], k.shape[1]), -1, 1)) > 0.3
    hide_keys[0] = hide_pairs[:, 0] = False                            # (every query keeps a key)
    y, weights = layer(*[tc.tensor(a[0], device=device) for a in (q, k, v)], average_attn_weights=False,
                       key_padding_mask=tc.tensor(hide_keys, device=device), attn_mask=tc.tensor(hide_pairs, device=device))
    want_y, want_w = longhand(layer, q[:1], k[:1], v[:1], (hide_pairs | hide_keys)[None])
    assert y.shape == q.shape[1:] and weights.shape == (heads,) + hide_pairs.shape
    np.testing.assert_allclose(y.detach().numpy(), want_y[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights.detach().numpy(), want_w[0], rtol=1e-10, atol=1e-12)


@given(case=mha_case())
def test_gradients_agree_with_finite_differences(case, device):
    heads, q, k, v = case
    layer = make(q.shape[-1], heads, device, batch_first=True)
    assert tc.gradcheck(lambda a, b, c: layer(a, b, c)[0], *[tc.tensor(x, requires_grad=True, device=device) for x in (q, k, v)])
    x = tc.tensor(q, requires_grad=True, device=device)
    layer(x, x, x)[0].sum().backward()                                 # self-attention: every parameter is reached
    assert all(p.grad is not None for p in layer.parameters())


def test_pytorchs_names_dropout_and_clear_errors():
    layer = nn.MultiheadAttention(8, 2, dropout=0.5)
    assert list(layer.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert layer.in_proj_weight.shape == (24, 8) and not layer.in_proj_bias.numpy().any()
    x = tc.randn(3, 2, 8)                                              # (L, N, E): sequence first, as PyTorch
    _, w_train = layer(x, x, x)
    layer.eval()
    _, w_eval = layer(x, x, x)
    assert (w_eval.numpy() > 0).all() and np.allclose(w_eval.numpy().sum(-1), 1, atol=1e-6)
    assert not np.allclose(w_train.numpy(), w_eval.numpy())            # dropout, only while training
    assert repr(layer).startswith("MultiheadAttention(\n  embed_dim=8, num_heads=2, dropout=0.5\n  (out_proj): Linear")
    assert list(nn.MultiheadAttention(4, 1, bias=False).state_dict()) == ["in_proj_weight", "out_proj.weight"]
    with pytest.raises(ValueError, match=r"embed_dim \(8\) must be divisible by num_heads \(3\)"):
        nn.MultiheadAttention(8, 3)
    with pytest.raises(ValueError, match=r"expected query, key and value \(L, N, E\), or \(L, E\) for one sequence, "
                                         r"with E = 8"):
        layer(tc.randn(3, 2, 6), x, x)
    with pytest.raises(ValueError, match=r"or \(L, E\) for one sequence"):
        layer(x[:, 0], x, x)                                           # (one sequence and a batch together)
    with pytest.raises(ValueError, match=r"for one sequence, key_padding_mask must have shape \(S,\) = \(3,\), got \(1, 3\)"):
        layer(x[:, 0], x[:, 0], x[:, 0], key_padding_mask=tc.zeros(1, 3) > 0)
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(2, 3\), got \(3, 2\)"):
        layer(x, x, x, key_padding_mask=tc.zeros(3, 2) > 0)
    with pytest.raises(TypeError, match="MultiheadAttention: expected a floating-point input"):
        layer(x.long(), x, x)
    with pytest.raises(ValueError, match="query holds 2 sequences but key and value 1"):
        layer(x, x[:, :1], x[:, :1])
    assert nn.MultiheadAttention(8, 2, 0.0, True, True).bias_k.shape == (1, 1, 8)    # PyTorch's 5th: add_bias_kv
    with pytest.raises(TypeError, match="MultiheadAttention: add_zero_attn must be True or False, got 'no'"):
        nn.MultiheadAttention(8, 2, add_zero_attn="no")
    with pytest.raises(ValueError, match=r"with E = 8 \(key 4 wide, value 8\) \(key and value of one length\)"):
        nn.MultiheadAttention(8, 2, kdim=4)(x, x, x)


@given(data=st.data(), batch_first=st.booleans())
def test_other_widths_and_appended_keys_equal_the_longhand(data, batch_first, device):
    """kdim/vdim (three projection matrices, PyTorch's names), add_bias_kv (a learned key and value
    after every sequence's) and add_zero_attn (a zero key and value in every head), with masks that
    hide some of the sequence's own keys but never the appended ones; gradients by finite differences."""
    heads, d = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    e, kdim, vdim = heads * d, data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    n, length, source = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    options = dict(kdim=kdim, vdim=vdim, add_bias_kv=data.draw(st.booleans()), add_zero_attn=data.draw(st.booleans()))
    layer = make(e, heads, device, batch_first=batch_first, **options)
    assert (layer.in_proj_weight is None) == ((kdim, vdim) != (e, e))
    q, k, v = data.draw(arrays((n, length, e))), data.draw(arrays((n, source, kdim))), data.draw(arrays((n, source, vdim)))
    hide_keys = data.draw(arrays((n, source), -1, 1)) > 0.3
    hide_keys[:, 0] = False
    as_input = ((lambda a: tc.tensor(a, device=device)) if batch_first
                else (lambda a: tc.tensor(a.transpose(1, 0, 2).copy(), device=device)))
    y, weights = layer(as_input(q), as_input(k), as_input(v), key_padding_mask=tc.tensor(hide_keys, device=device),
                       average_attn_weights=False)
    want_y, want_w = longhand(layer, q, k, v, np.broadcast_to(hide_keys[:, None], (n, length, source)))
    got = y.detach().numpy() if batch_first else y.detach().numpy().transpose(1, 0, 2)
    np.testing.assert_allclose(got, want_y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights.detach().numpy(), want_w, rtol=1e-10, atol=1e-12)
    assert weights.shape[-1] == source + options["add_bias_kv"] + options["add_zero_attn"]
    inputs = [tc.tensor(a, requires_grad=True, device=device) for a in (q, k, v)]
    assert tc.gradcheck(lambda a, b, c: layer(*(t if batch_first else t.transpose(0, 1) for t in (a, b, c)))[0], *inputs)


def test_pytorchs_parameter_names_for_the_options():
    layer = nn.MultiheadAttention(8, 2, 0.0, True, True, True, 4, 6)      # PyTorch's positional order
    assert list(layer.state_dict()) == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "bias_k",
                                        "bias_v", "out_proj.weight", "out_proj.bias"]
    assert (layer.k_proj_weight.shape, layer.v_proj_weight.shape, layer.bias_v.shape) == ((8, 4), (8, 6), (1, 1, 8))
    assert "kdim=4, vdim=6, add_bias_kv=True, add_zero_attn=True" in repr(layer)
    assert list(nn.MultiheadAttention(8, 2, bias=False, add_bias_kv=True).state_dict()) == [
        "in_proj_weight", "bias_k", "bias_v", "out_proj.weight"]
