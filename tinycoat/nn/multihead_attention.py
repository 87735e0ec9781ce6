"""MultiheadAttention: PyTorch's nn.MultiheadAttention, plain (no relative bias) multi-head attention.

    q, k, v = query W_qᵀ + b_q,  key W_kᵀ + b_k,  value W_vᵀ + b_v      (the rows of in_proj_weight)
    split into heads: (N, L, E) -> (N, heads, L, d),  E = heads · d
    y = softmax(q kᵀ/√d + mask) v,  merged back to (N, L, E),  then out_proj

It is lesson 07's attention with PyTorch's parameter names and argument conventions, so that
code (and a state_dict's names) written for ``torch.nn.MultiheadAttention`` carry over:
sequence-first inputs (L, N, E) unless ``batch_first=True``, and masks that say what to *hide* —
a boolean ``attn_mask`` (L, S) or ``key_padding_mask`` (N, S) is True where a query may not look
(the opposite of scaled_dot_product_attention's boolean mask, which says what to keep); a float
one is added to the logits. CoAtNet's own attention, with the relative bias, is attention.py.
(Unlike PyTorch's, ``is_causal=True`` without an attn_mask builds the causal mask itself; PyTorch
takes it as a hint about the attn_mask it then requires.)

PyTorch's options, under its names: keys and values of other widths (``kdim``, ``vdim``: then three
projection matrices, q/k/v_proj_weight, in place of the one in_proj_weight); ``add_bias_kv``, a
learned key and value (bias_k, bias_v) appended to every sequence of keys and values after the
projection; ``add_zero_attn``, a key and value of zeros appended to every head's. Each appended key
is one more that every query may look at: the masks get one more column, showing it.
"""
from __future__ import annotations

import functools
import math
import operator

from tinycoat.checks import check_bool, check_float_input, check_int, check_number
from tinycoat.nn import init
from tinycoat.nn.functional.attention import attention_weights, causal_mask
from tinycoat.nn.functional.dropout import dropout
from tinycoat.nn.functional.linear import linear
from tinycoat.nn.linear import Linear
from tinycoat.nn.module import Module, Parameter
from tinycoat.ops.shape import concatenate
from tinycoat.tensor import ones, zeros


class MultiheadAttention(Module):
    """Attention from ``num_heads`` heads of d = embed_dim / num_heads, their outputs concatenated
    and mixed by ``out_proj``. forward(query, key, value) returns (output, weights): the weights
    averaged over the heads (N, L, S), or per head (N, heads, L, S), or None without need_weights.
    One sequence (L, E) without a batch axis gives (L, E) and weights (L, S) or (heads, L, S)."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, *, dtype=None, device="cpu"):
        super().__init__()
        name = "MultiheadAttention"
        self.embed_dim = check_int(name, "embed_dim", embed_dim)
        self.num_heads = check_int(name, "num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        self.kdim = embed_dim if kdim is None else check_int(name, "kdim", kdim)
        self.vdim = embed_dim if vdim is None else check_int(name, "vdim", vdim)
        self.head_dim = embed_dim // num_heads
        self.dropout = check_number(name, "dropout", dropout, high=1.0)
        self.batch_first = check_bool(name, "batch_first", batch_first)
        self.add_zero_attn = check_bool(name, "add_zero_attn", add_zero_attn)
        check_bool(name, "add_bias_kv", add_bias_kv)

        def weight(*shape):
            return init.xavier_uniform_(Parameter(zeros(*shape, dtype=dtype, device=device)))
        if self.kdim == self.vdim == embed_dim:
            # One (3E, E) matrix for the three projections, as PyTorch's (so that its state_dict names fit).
            self.in_proj_weight = weight(3 * embed_dim, embed_dim)
        else:                                   # keys and values of their own widths: a matrix each
            self.q_proj_weight = weight(embed_dim, embed_dim)
            self.k_proj_weight = weight(embed_dim, self.kdim)
            self.v_proj_weight = weight(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        self.register_parameter("in_proj_bias", Parameter(zeros(3 * embed_dim, dtype=dtype, device=device))
                                if bias else None)
        for appended in ("bias_k", "bias_v"):   # one learned key and value, (1, 1, E)
            self.register_parameter(appended, init.xavier_normal_(Parameter(zeros(1, 1, embed_dim, dtype=dtype,
                                                                                  device=device)))
                                    if add_bias_kv else None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype, device=device)
        if bias:
            init.zeros_(self.out_proj.bias)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        form = "(N, L, E)" if self.batch_first else "(L, N, E)"
        if not (query.ndim == key.ndim == value.ndim and query.ndim in (2, 3)) or query.shape[-1] != self.embed_dim \
                or key.shape[:-1] != value.shape[:-1] or (key.shape[-1], value.shape[-1]) != (self.kdim, self.vdim):
            widths = "" if self.kdim == self.vdim == self.embed_dim else f" (key {self.kdim} wide, value {self.vdim})"
            raise ValueError(f"MultiheadAttention(embed_dim={self.embed_dim}): expected query, key and value {form}, "
                             f"or (L, E) for one sequence, with E = {self.embed_dim}{widths} (key and value of one "
                             f"length), got {query.shape}, {key.shape}, {value.shape}")
        for t in (query, key, value):
            check_float_input("MultiheadAttention", t)
        if query.ndim == 2:                   # one sequence (L, E), as PyTorch takes it: a batch of one
            if key_padding_mask is not None and key_padding_mask.ndim != 1:
                raise ValueError(f"MultiheadAttention: for one sequence, key_padding_mask must have shape (S,) = "
                                 f"({key.shape[0]},), got {tuple(key_padding_mask.shape)}")
            axis = 0 if self.batch_first else 1
            y, weights = self.forward(query.unsqueeze(axis), key.unsqueeze(axis), value.unsqueeze(axis),
                                      None if key_padding_mask is None else key_padding_mask.unsqueeze(0),
                                      need_weights, attn_mask, average_attn_weights, is_causal)
            return y.squeeze(axis), (None if weights is None else weights.squeeze(0))
        if not self.batch_first:                                       # (L, N, E) -> (N, L, E)
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if key.shape[0] != query.shape[0]:
            raise ValueError(f"MultiheadAttention: query holds {query.shape[0]} sequences but key and value "
                             f"{key.shape[0]}; they must be the same batch")
        n, length, source = query.shape[0], query.shape[1], key.shape[1]
        w = (self.in_proj_weight.chunk(3) if self.in_proj_weight is not None
             else (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight))
        b = self.in_proj_bias.chunk(3) if self.in_proj_bias is not None else (None, None, None)
        q, k, v = (linear(x, wi, bi) for x, wi, bi in zip((query, key, value), w, b))
        if is_causal and attn_mask is None:                            # hide the keys after each query
            attn_mask = ~causal_mask(length, source, query.device)
        mask = self._mask(attn_mask, key_padding_mask, n, length, source, query)
        if self.bias_k is not None:              # the learned key and value, after every sequence's own
            k, v = (concatenate([t, extra.expand(n, 1, self.embed_dim)], axis=1)
                    for t, extra in ((k, self.bias_k), (v, self.bias_v)))
            mask = _one_more_key(mask)
        q, k, v = self._heads(q), self._heads(k), self._heads(v)
        if self.add_zero_attn:                   # a key and value of zeros, in every head
            k, v = (concatenate([t, zeros(*t.shape[:2], 1, t.shape[3], dtype=t.dtype, device=t.device)], axis=2)
                    for t in (k, v))
            mask = _one_more_key(mask)
        weights = attention_weights(q, k, attn_mask=mask)                          # (N, heads, L, S)
        if self.dropout > 0:
            weights = dropout(weights, self.dropout, self.training)
        y = (weights @ v).transpose(1, 2).reshape(n, length, self.embed_dim)         # heads merged: (N, L, E)
        y = self.out_proj(y)
        y = y if self.batch_first else y.transpose(0, 1)
        if not need_weights:
            return y, None
        return y, (weights.mean(axis=1) if average_attn_weights else weights)      # (after dropout, as PyTorch's)

    def _heads(self, t):
        """(N, L, E) -> (N, heads, L, d): channel c = head · d + i."""
        return t.reshape(t.shape[0], t.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def _mask(self, attn_mask, key_padding_mask, n, length, source, like):
        """Both masks as one (…, L, S) that broadcasts over (N, heads), as attention_weights takes
        it: boolean, True where a query may look, when both are boolean (a query left no key then
        gets weights 0); else a float bias, a boolean mask becoming −inf where it hides. None: no mask."""
        masks = []
        for mask, shapes, name in (
                (attn_mask, [(length, source), (n * self.num_heads, length, source)], "attn_mask"),
                (key_padding_mask, [(n, source)], "key_padding_mask")):
            if mask is None:
                continue
            if tuple(mask.shape) not in shapes:
                raise ValueError(f"MultiheadAttention: {name} must have shape "
                                 f"{' or '.join(map(str, shapes))}, got {tuple(mask.shape)}")
            if name == "key_padding_mask":
                mask = mask.reshape(n, 1, 1, source)                   # the same for every head and query
            elif mask.ndim == 3:
                mask = mask.reshape(n, self.num_heads, length, source)
            masks.append(mask)
        if not masks:
            return None
        if all(m.dtype.kind == "b" for m in masks):
            return ~functools.reduce(operator.or_, masks)               # hidden by either: hidden
        biases = [zeros(m.shape, dtype=like.dtype, device=like.device).masked_fill(m, -math.inf)
                  if m.dtype.kind == "b" else m for m in masks]
        return functools.reduce(operator.add, biases)

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"
                + ("" if self.kdim == self.vdim == self.embed_dim else f", kdim={self.kdim}, vdim={self.vdim}")
                + (", add_bias_kv=True" if self.bias_k is not None else "")
                + (", add_zero_attn=True" if self.add_zero_attn else "")
                + (", batch_first=True" if self.batch_first else ""))


def _one_more_key(mask):
    """The combined mask (…, L, S) with a column for one more key, which every query may see: True
    in a boolean mask (True = may look), 0 in a float one. None stays None."""
    if mask is None:
        return None
    column = (ones if mask.dtype.kind == "b" else zeros)(*mask.shape[:-1], 1, dtype=mask.dtype, device=mask.device)
    return concatenate([mask, column], axis=-1)
