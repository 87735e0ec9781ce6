"""Squeeze-excitation (Hu et al.): let the whole image re-weight the channels.

    s = σ(W₂ · silu(W₁ · mean_{pixels}(x) + b₁) + b₂)       s ∈ (0, 1)^C, one per channel
    y = x ⊙ s                                                  (broadcast over the pixels)

"Squeeze": global average pooling summarizes each channel by one number. "Excite": a
small bottleneck (two 1×1 convolutions, C → C_squeeze → C) turns those summaries into a
gate per channel. It is the only place in an MBConv block where information from the
whole image reaches every pixel — a first, very coarse step towards attention.

Shapes: x (N, C, H, W) -> pooled (N, C, 1, 1) -> (N, C_squeeze, 1, 1) -> s (N, C, 1, 1).
"""
from __future__ import annotations

from tinycoat.checks import check_int
import tinycoat.nn.functional as F
from tinycoat.nn.conv import Conv2d
from tinycoat.nn.module import Module


class SqueezeExcite(Module):
    """x ⊙ σ(W₂ SiLU(W₁ avg(x))): a gate in (0, 1) per channel, computed from the map's global
    average through a ``squeeze_channels``-wide bottleneck (Hu et al.; this module's docstring)."""

    def __init__(self, channels: int, squeeze_channels: int, *, dtype=None, device="cpu"):
        super().__init__()
        self.channels = check_int("SqueezeExcite", "channels", channels)
        check_int("SqueezeExcite", "squeeze_channels", squeeze_channels)
        self.reduce = Conv2d(channels, squeeze_channels, 1, dtype=dtype, device=device)
        self.expand = Conv2d(squeeze_channels, channels, 1, dtype=dtype, device=device)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"SqueezeExcite({self.channels}): expected input (N, {self.channels}, H, W), "
                             f"got {tuple(x.shape)}")
        s = F.global_avg_pool2d(x, keepdims=True)        # squeeze: (N, C, 1, 1)
        s = F.sigmoid(self.expand(F.silu(self.reduce(s))))  # excite: a gate in (0, 1) per channel
        return F.scale_channels(x, s)                   # x ⊙ s, one gate per channel

    def extra_repr(self):
        return f"{self.channels}→{self.reduce.out_channels}→{self.channels}"
