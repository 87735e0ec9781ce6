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
"""
from __future__ import annotations

import math

from tinycoat.nn.functional.relative_position import relative_bias, table_size
from tinycoat.nn.functional.softmax import softmax

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
    scale = 1.0 / math.sqrt(q.shape[-1])
    bias = relative_bias(bias_table)                        # (heads, N, N), broadcast over B
    logits = (q * scale) @ k.transpose(-1, -2)              # (B, heads, N, N); scaling q is cheaper
    if bias_mode == "pre":
        weights = softmax(logits + bias, axis=-1)           # the static kernel *inside* the softmax
    else:
        weights = softmax(logits, axis=-1) + bias           # ... or added after it
    out = weights @ v                                       # (B, heads, N, d)
    return (out, weights) if return_weights else out
