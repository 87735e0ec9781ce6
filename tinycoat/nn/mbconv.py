"""MBConv: the inverted-bottleneck convolution block of CoAtNet's stages S1 and S2.

Pre-activation residual block (spec: ../shared/coatnet.md, "Blocks"):

    x  ─┬─ BatchNorm ─ 1×1 conv (C_in → 4·C_out) ─ BN ─ GELU          expand
        │    ─ depthwise 3×3 ─ BN ─ GELU                              filter each channel
        │    ─ squeeze-excitation (4·C_out → C_out/4 → 4·C_out)       re-weight channels
        │    ─ 1×1 conv (4·C_out → C_out) ─ drop-path                 project
        └─ shortcut ────────────────────────────────────────── (+) ─> y

Shapes, for x (N, C_in, H, W) and stride s: y (N, C_out, H/s, W/s).

* Expansion is ×4 on the block's *output* channels, as the paper specifies.
* Shortcut: identity when neither channels nor resolution change; Proj(x) (a 1×1 conv)
  when only channels change; Proj(Pool(x)) when the block downsamples, Pool being a 2×2
  max pool of stride 2 (and Proj skipped if the channels stay the same).
* Downsampling (s = 2) puts the stride in the depthwise conv (default, better for small
  models in the paper) or in the first 1×1 conv (stride_at="expand", the paper's Eq. 5).
  Both halves must land on the same H/2 × W/2 grid, so H and W must be even.
* Bias: a conv directly followed by a BatchNorm has none (BN subtracts the mean, which removes
  any constant; its β is the shift):
  the expansion and depthwise convs. The projection, SE convs and shortcut Proj have one.
* Squeeze-excitation bottleneck: max(1, round(se_ratio · C_out)) channels — 0.25 of the
  block's *output* channels, as in the spec (tinycoat choice: rounded, at least 1).
"""
from __future__ import annotations

from tinycoat.checks import check_int, check_number
from tinycoat.nn.activation import GELU, DropPath
from tinycoat.nn.conv import Conv2d, DepthwiseConv2d
from tinycoat.nn.module import Identity, Module, Sequential
from tinycoat.nn.norm import BatchNorm2d
from tinycoat.nn.pooling import MaxPool2d
from tinycoat.nn.squeeze_excite import SqueezeExcite


class MBConv(Module):
    """The convolution block of CoAtNet's S1 and S2: pre-norm BatchNorm, 1×1 expansion, depthwise
    3×3, squeeze-excitation, 1×1 projection, plus the shortcut (this module's docstring; lesson 06)."""

    def __init__(self, in_channels, out_channels, stride=1, expand_ratio=4, se_ratio=0.25,
                 stride_at="depthwise", drop_path=0.0, *, gelu_approximate="none", dtype=None, device="cpu"):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"MBConv: stride must be 1 or 2, got {stride}")
        if stride_at not in ("depthwise", "expand"):
            raise ValueError(f"MBConv: stride_at must be 'depthwise' or 'expand', got {stride_at!r}")
        self.in_channels = check_int("MBConv", "in_channels", in_channels)
        self.out_channels = check_int("MBConv", "out_channels", out_channels)
        self.stride = stride
        hidden = out_channels * check_int("MBConv", "expand_ratio", expand_ratio)
        check_number("MBConv", "se_ratio", se_ratio)   # >= 0; 0 still keeps a 1-channel SE (at least 1, below)
        kw = dict(dtype=dtype, device=device)

        self.norm = BatchNorm2d(in_channels, **kw)
        self.expand = Conv2d(in_channels, hidden, 1, stride=stride if stride_at == "expand" else 1,
                             bias=False, **kw)
        self.expand_norm = BatchNorm2d(hidden, **kw)
        self.depthwise = DepthwiseConv2d(hidden, 3, stride=stride if stride_at == "depthwise" else 1,
                                         padding=1, bias=False, **kw)
        self.depthwise_norm = BatchNorm2d(hidden, **kw)
        self.act = GELU(gelu_approximate)
        self.se = SqueezeExcite(hidden, max(1, round(se_ratio * out_channels)), **kw)
        self.project = Conv2d(hidden, out_channels, 1, **kw)
        self.drop_path = DropPath(drop_path)

        shortcut = []
        if stride == 2:
            shortcut.append(MaxPool2d(2, 2))
        if in_channels != out_channels:
            shortcut.append(Conv2d(in_channels, out_channels, 1, **kw))
        self.shortcut = Sequential(*shortcut) if shortcut else Identity()

    def forward(self, x):
        self._check_input(x)
        h = self.norm(x)                                             # pre-norm
        h = self.act(self.expand_norm(self.expand(h)))               # (N, 4·C_out, H', W')
        h = self.act(self.depthwise_norm(self.depthwise(h)))         # (N, 4·C_out, H/s, W/s)
        h = self.project(self.se(h))                                 # (N, C_out, H/s, W/s)
        return self.shortcut(x) + self.drop_path(h)

    def _check_input(self, x):
        name = f"MBConv({self.extra_repr()})"
        c = self.in_channels
        if x.ndim != 4 or x.shape[1] != c:
            raise ValueError(f"{name}: expected input (N, {c}, H, W), got {tuple(x.shape)}")
        if self.stride == 2 and (x.shape[2] % 2 or x.shape[3] % 2):
            raise ValueError(f"{name}: expected input (N, {c}, H, W) with H and W even (the block "
                             f"downsamples by 2 with a 2×2 stride-2 pool), got {tuple(x.shape)}")

    def extra_repr(self):
        return f"{self.in_channels}→{self.out_channels}" + (f", stride={self.stride}" if self.stride > 1 else "")
