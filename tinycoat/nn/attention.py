"""RelativeAttention2d: multi-head 2-D relative self-attention over an H×W map.

    tokens x (B, N, C_in), N = H·W row-major
    q, k, v = x W_q + b_q,  x W_k + b_k,  x W_v + b_v        each (B, N, C_out)
    split into heads:  (B, N, C_out) -> (B, heads, N, d),     C_out = heads · d
    y = relative_attention(q, k, v, table)                    (B, heads, N, d)
    merge heads, then the output projection:  y W_o + b_o     (B, N, C_out)

The layer accepts an NCHW map (B, C_in, H, W), returning (B, C_out, H, W), or tokens
(B, N, C_in), returning (B, N, C_out).

Heads: d = 32 by default, so heads = C_out // 32; a width that is not a multiple of 32
(small models) gets heads = max(1, C_out // 32) and d = C_out / heads.

The relative bias table, ``relative_bias_table`` (heads, 2H−1, 2W−1), one learned scalar
per head and offset, starts ~ Normal(0, 0.02). It is tied to the map size: to run a
trained layer at another resolution call ``resize_bias(new_size)`` (bilinear interpolation
of the table, see functional/relative_position.py).
"""
from __future__ import annotations

from tinycoat.checks import check_int, check_pair
from tinycoat.nn.functional.attention import BIAS_MODES, relative_attention
from tinycoat.nn.functional.relative_position import resize_bias_table
from tinycoat.nn.linear import Linear
from tinycoat.nn.module import Module, Parameter, normal_parameter

BIAS_INIT_STD = 0.02


def heads_for(channels: int, head_dim: int = 32) -> int:
    """heads = max(1, channels // head_dim), and the channels must split evenly between them."""
    heads = max(1, channels // head_dim)
    if channels % heads:
        raise ValueError(f"{channels} channels cannot be split evenly into {heads} heads "
                         f"(heads = max(1, {channels} // {head_dim})): choose a width that is a "
                         f"multiple of {heads} or another head_dim")
    return heads


class RelativeAttention2d(Module):
    """Multi-head self-attention over the tokens of an H×W map with a learned bias per head and
    relative offset: softmax(q_iᵀk_j/√d + w_{i−j}) v (the "pre" form; lesson 08). Takes an
    (N, C, H, W) map or (N, H·W, C) tokens."""

    def __init__(self, dim, size, head_dim=32, out_dim=None, bias_mode="pre", *, dtype=None, device="cpu"):
        super().__init__()
        if bias_mode not in BIAS_MODES:
            raise ValueError(f"RelativeAttention2d: bias_mode must be one of {BIAS_MODES}, got {bias_mode!r}")
        dim = check_int("RelativeAttention2d", "dim", dim)
        out_dim = dim if out_dim is None else check_int("RelativeAttention2d", "out_dim", out_dim)
        self.dim, self.out_dim, self.bias_mode = dim, out_dim, bias_mode
        self.heads = heads_for(out_dim, check_int("RelativeAttention2d", "head_dim", head_dim))
        self.head_dim = out_dim // self.heads
        self.size = as_size(size)
        H, W = self.size
        kw = dict(dtype=dtype, device=device)
        self.query = Linear(dim, out_dim, **kw)
        self.key = Linear(dim, out_dim, **kw)
        self.value = Linear(dim, out_dim, **kw)
        self.proj = Linear(out_dim, out_dim, **kw)
        self.relative_bias_table = normal_parameter((self.heads, 2 * H - 1, 2 * W - 1), BIAS_INIT_STD, **kw)

    def forward(self, x):
        if x.ndim == 4:                                   # NCHW map -> tokens -> NCHW map
            B, C, H, W = x.shape
            self._check_size((H, W), x.shape)
            tokens = x.reshape(B, C, H * W).transpose(1, 2)          # (B, N, C), a strided view
            y = self._attend(tokens)                                  # (B, N, C_out)
            return y.transpose(1, 2).reshape(B, self.out_dim, H, W)
        if x.ndim == 3:
            H, W = self.size
            if x.shape[1] != H * W:
                raise ValueError(f"RelativeAttention2d built for a {H}×{W} map ({H * W} tokens) got "
                                 f"{x.shape[1]} tokens (input shape {x.shape}). Pass the NCHW map, or "
                                 f"call .resize_bias((H, W)) for the new map size first.")
            return self._attend(x)
        raise ValueError(f"RelativeAttention2d expects (B, C, H, W) or (B, N, C), got shape {x.shape}")

    def _attend(self, tokens):
        B, N, C = tokens.shape
        if C != self.dim:
            raise ValueError(f"RelativeAttention2d(dim={self.dim}) got {C} channels (input tokens {tokens.shape})")
        flat = tokens.reshape(B * N, C)   # one contiguous copy, shared by the three projections
        q, k, v = (self._split_heads(layer(flat), B) for layer in (self.query, self.key, self.value))
        y = relative_attention(q, k, v, self.relative_bias_table, bias_mode=self.bias_mode)
        y = y.transpose(1, 2).reshape(B, N, self.out_dim)           # merge heads: (B, N, C_out)
        return self.proj(y)

    def _split_heads(self, t, B):
        """(B·N, C_out) -> (B, heads, N, d): channel c = head · d + i."""
        return t.reshape(B, -1, self.heads, self.head_dim).transpose(1, 2)

    def _check_size(self, got, shape):
        if tuple(got) != self.size:
            H, W = self.size
            raise ValueError(
                f"RelativeAttention2d was built for a {H}×{W} map (bias table {tuple(self.relative_bias_table.shape)}) "
                f"but got a {got[0]}×{got[1]} map (input shape {shape}). To run at another resolution, "
                f"interpolate the bias table first: layer.resize_bias(({got[0]}, {got[1]})).")

    def resize_bias(self, new_size) -> "RelativeAttention2d":
        """Bilinearly rescale the bias table to a new map size (e.g. to fine-tune at a higher resolution).

        The table becomes a *new* Parameter of shape (heads, 2H'−1, 2W'−1): build the optimizer
        after resizing. Offsets are aligned at 0 and at the extremes (see resize_bias_table).
        """
        new_size = as_size(new_size, "RelativeAttention2d.resize_bias")
        table = self.relative_bias_table
        self.relative_bias_table = Parameter(resize_bias_table(table.data, new_size),
                                             requires_grad=table.requires_grad)
        self.size = new_size
        return self

    def extra_repr(self):
        return (f"dim={self.dim}, out_dim={self.out_dim}, size={self.size}, heads={self.heads}, "
                f"head_dim={self.head_dim}" + (", bias_mode='post'" if self.bias_mode == "post" else ""))


def as_size(size, owner="RelativeAttention2d"):
    """(H, W) from an int (a square map) or a pair; ``owner`` names the caller in the error."""
    return check_pair(owner, "size (H, W)", size)
