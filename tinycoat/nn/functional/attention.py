"""2-D relative self-attention: CoAtNet's marriage of convolution and attention.

For one head, with queries q_i, keys k_j, values v_j (d numbers each) and a learned
bias w_{i−j} that depends only on the offset between positions i and j:

    logit_ij = q_i · k_j / √d  +  w_{i−j}                 "pre" (the form CoAtNet uses)
    a_ij     = exp(logit_ij) / Σ_k exp(logit_ik)          softmax over the keys j
    y_i      = Σ_j a_ij v_j

Two limits make the point of the paper:
  * w ≡ 0:          plain softmax attention (input-adaptive, global);
  * q ≡ 0 (or k ≡ 0): a_ij = exp(w_{i−j}) / Σ_k exp(w_{i−k}) no longer depends on the
                    input: y is a normalised global *convolution* of v with kernel exp(w).

The "post" form adds the bias after the softmax, y_i = Σ_j (a_ij + w_{i−j}) v_j with
a_ij = softmax_j(q_i · k_j / √d); the paper tried it and kept "pre".

Shapes: q, k, v (B, heads, N, d), N = H·W tokens in row-major order;
bias_table (heads, 2H−1, 2W−1). Everything is batched matrix products over
(B, heads): no Python loop over batch, heads or tokens.

PyTorch's ``scaled_dot_product_attention`` (below) is the same formula with the bias called a
mask: an additive float ``attn_mask`` *is* a bias, so relative attention ("pre") is
scaled_dot_product_attention(q, k, v, attn_mask=w_{i−j}); a boolean mask is the bias 0 or −∞
(but a query it leaves no key gets weight 0, where an all −∞ float row would give NaN).
"""
from __future__ import annotations

import math

from tinycoat.nn.functional.dropout import dropout
from tinycoat.nn.functional.relative_position import relative_bias, table_size
from tinycoat.nn.functional.softmax import softmax
from tinycoat.ops import tril, where
from tinycoat.tensor import ones

BIAS_MODES = ("pre", "post")


def _check_shapes(q, k, v, bias_table):
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"relative_attention: q, k, v must be (B, heads, N, d), got shapes "
                         f"{q.shape}, {k.shape}, {v.shape}")
    if q.shape != k.shape or v.shape[:3] != q.shape[:3]:
        raise ValueError(f"relative_attention: q and k must have the same shape and v the same "
                         f"(B, heads, N), got q {q.shape}, k {k.shape}, v {v.shape}")
    H, W = table_size(bias_table.shape)
    heads, N = q.shape[1], q.shape[2]
    if bias_table.shape[0] != heads:
        raise ValueError(f"relative_attention: q has {heads} heads but bias_table of shape "
                         f"{tuple(bias_table.shape)} has {bias_table.shape[0]}")
    if H * W != N:
        raise ValueError(f"relative_attention: bias_table of shape {tuple(bias_table.shape)} is for a "
                         f"{H}×{W} map ({H * W} tokens), but q, k, v have N = {N} tokens")


def relative_attention(q, k, v, bias_table, bias_mode="pre", return_weights=False):
    """softmax(q kᵀ/√d + w_{i−j}) v per head; returns (B, heads, N, d) [and the weights (B, heads, N, N)].

    ``bias_mode="post"`` computes (softmax(q kᵀ/√d) + w_{i−j}) v instead; its
    returned weights are then softmax + bias (rows no longer sum to 1).
    """
    if bias_mode not in BIAS_MODES:
        raise ValueError(f"relative_attention: bias_mode must be one of {BIAS_MODES}, got {bias_mode!r}")
    _check_shapes(q, k, v, bias_table)
    bias = relative_bias(bias_table)                        # (heads, N, N), broadcast over B
    if bias_mode == "pre":
        weights = attention_weights(q, k, attn_mask=bias)   # the static kernel *inside* the softmax
    else:
        weights = attention_weights(q, k) + bias            # ... or added after it
    out = weights @ v                                       # (B, heads, N, d)
    return (out, weights) if return_weights else out


def attention_weights(query, key, attn_mask=None, is_causal=False, scale=None):
    """softmax(q kᵀ·scale + mask) over the keys, (…, L, S): the attention weights that
    scaled_dot_product_attention (below) applies to the values; its arguments are that function's."""
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    logits = (query * scale) @ key.transpose(-1, -2)                         # (…, L, S); scaling q is cheaper
    if is_causal:
        attn_mask = causal_mask(*logits.shape[-2:], logits.device)
    if logits.shape[-1] == 0:                                                # no keys: nothing to weigh
        return logits
    if attn_mask is None or attn_mask.dtype.kind != "b":
        return softmax(logits if attn_mask is None else logits + attn_mask, axis=-1)
    # A boolean mask: the keys where it is False get weight 0. A query that may see no key at all
    # gets weight 0 everywhere (PyTorch 2.13's scaled_dot_product_attention's answer), not the 0/0
    # of a softmax over nothing.
    sees_none = ~attn_mask.any(-1, keepdim=True)
    weights = softmax(where(attn_mask | sees_none, logits, -math.inf), axis=-1)
    return where(sees_none, 0.0, weights)


def causal_mask(length, source, device="cpu"):
    """(L, S) booleans, True where query i may see key j: j ≤ i (on and below the diagonal)."""
    return tril(ones(length, source, dtype=bool, device=device))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """softmax(q kᵀ·scale + mask) v over the last two axes (PyTorch's F.scaled_dot_product_attention):
    query (…, L, d), key (…, S, d), value (…, S, d_v) -> (…, L, d_v); scale 1/√d unless given.
    attn_mask (broadcast to (…, L, S)): a float one is added to the logits (a bias), a boolean one
    keeps the pairs where it is True (the others get weight 0). is_causal: query i sees keys j ≤ i.
    dropout_p drops attention weights (always, when > 0, as PyTorch's: pass 0 in evaluation)."""
    if query.ndim < 2 or key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"scaled_dot_product_attention: query, key, value must be (…, L, d), (…, S, d), (…, S, d_v) "
                         f"with as many axes, got shapes {query.shape}, {key.shape}, {value.shape}")
    if key.shape[-1] != query.shape[-1] or value.shape[-2] != key.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: key must have query's d and value key's S, got query "
                         f"{query.shape}, key {key.shape}, value {value.shape}")
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both (as PyTorch)")
    weights = attention_weights(query, key, attn_mask, is_causal, scale)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ value
