"""TransformerBlock: CoAtNet's S3/S4 block, pre-norm relative attention then an MLP.

It takes and returns NCHW maps, so it stacks directly after the MBConv stages;
inside, it works on tokens (B, N, C), N = H·W, where LayerNorm and Linear act on C.

    stride 1:   x ← x + DropPath(Attention(LayerNorm(x)))               (Proj(x) if channels change)
    stride 2:   x ← Proj(Pool(x)) + DropPath(Attention(Pool(LayerNorm(x))))
    then:       x ← x + DropPath(FFN(LayerNorm(x))),   FFN = Linear(C → 4C) → GELU → Linear(4C → C)

Downsampling (the first block of a stage): LayerNorm at full resolution, then a 2×2 max
pool of stride 2, then attention whose q/k/v map C_in → C_out. The shortcut pools the
input and, when the channels change, projects it with a 1×1 convolution (Proj).
``size`` is the token grid (H, W) the attention sees: the *output* size, after the pool.
"""
from __future__ import annotations

from tinycoat.checks import check_int
from tinycoat.nn.activation import GELU, DropPath
from tinycoat.nn.attention import RelativeAttention2d, as_size
from tinycoat.nn.conv import Conv2d
from tinycoat.nn.linear import Linear
from tinycoat.nn.module import Module, Sequential
from tinycoat.nn.norm import LayerNorm
from tinycoat.nn.pooling import MaxPool2d


def to_tokens(x):
    """(B, C, H, W) map -> (B, N, C) tokens, N = H·W in row-major order.

    Copied so that each token's C channels lie side by side: LayerNorm and the projections
    work along C, and a strided view (C entries H·W apart, or B·H·W apart when the map is
    laid out channel-major) made them measurably slower than this one small copy.
    """
    B, C, H, W = x.shape
    return x.reshape(B, C, H * W).transpose(1, 2).contiguous()


def to_map(t, H, W):
    """(B, N, C) tokens -> (B, C, H, W) map."""
    B, N, C = t.shape
    return t.transpose(1, 2).reshape(B, C, H, W)


class TransformerBlock(Module):
    """The attention block of CoAtNet's S3 and S4: x + Attention(LayerNorm(x)), then
    x + MLP(LayerNorm(x)); with stride 2 it pools first and projects the shortcut (this
    module's docstring; lesson 09)."""

    def __init__(self, in_ch, out_ch, size, stride=1, head_dim=32, mlp_ratio=4, drop_path=0.0,
                 *, gelu_approximate="none", dtype=None, device="cpu"):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"TransformerBlock: stride must be 1 or 2 (a 2×2 max pool), got {stride}")
        name = "TransformerBlock"
        in_ch, out_ch = check_int(name, "in_ch", in_ch), check_int(name, "out_ch", out_ch)
        check_int(name, "head_dim", head_dim)         # (checked here too, so that the error names this block)
        self.in_ch, self.out_ch, self.stride, self.size = in_ch, out_ch, stride, as_size(size, name)
        kw = dict(dtype=dtype, device=device)
        hidden = check_int(name, "mlp_ratio", mlp_ratio) * out_ch
        self.norm1 = LayerNorm(in_ch, **kw)
        self.pool = MaxPool2d(2, stride=2) if stride == 2 else None
        self.proj = Conv2d(in_ch, out_ch, 1, **kw) if in_ch != out_ch else None   # the shortcut's Proj
        self.attention = RelativeAttention2d(in_ch, self.size, head_dim=head_dim, out_dim=out_ch, **kw)
        self.drop_path = DropPath(drop_path)
        self.norm2 = LayerNorm(out_ch, **kw)
        self.mlp = Sequential(Linear(out_ch, hidden, **kw), GELU(gelu_approximate), Linear(hidden, out_ch, **kw))

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_ch:
            raise ValueError(f"TransformerBlock(in_ch={self.in_ch}) expects an NCHW map with {self.in_ch} "
                             f"channels, got shape {x.shape}")
        B, C, H, W = x.shape
        expected = (self.size[0] * self.stride, self.size[1] * self.stride)
        if (H, W) != expected:
            hint = "; the input size must divide by the total stride" if self.stride == 2 and (H % 2 or W % 2) else ""
            raise ValueError(f"TransformerBlock(size={self.size}, stride={self.stride}) expects {expected[0]}×"
                             f"{expected[1]} input maps, got {H}×{W}{hint}. To run at another resolution, "
                             f"call block.resize_bias((H', W')) with the new output grid first.")
        normed = self.norm1(to_tokens(x))                     # LayerNorm over C, full resolution
        if self.pool is not None:
            normed = to_tokens(self.pool(to_map(normed, H, W)))
            x = self.pool(x)
        shortcut = to_tokens(self.proj(x) if self.proj is not None else x)
        t = shortcut + self.drop_path(self.attention(normed))   # (B, N, C_out)
        t = t + self.drop_path(self.mlp(self.norm2(t)))
        return to_map(t, *self.size)

    def resize_bias(self, new_size) -> "TransformerBlock":
        """Run at another resolution: ``new_size`` is the new *output* token grid (H', W')."""
        self.size = as_size(new_size, "TransformerBlock.resize_bias")
        self.attention.resize_bias(self.size)
        return self

    def extra_repr(self):
        return f"in_ch={self.in_ch}, out_ch={self.out_ch}, size={self.size}, stride={self.stride}"
