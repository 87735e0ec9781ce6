"""CoAtNet: a convolution stem, two MBConv stages, two Transformer stages (C-C-T-T).

    S0  stem     conv3×3 (stride s0) → BN → GELU → conv3×3                  D0 channels
    S1  L1 blocks, MBConv  (or Transformer, by ``layout``)                  D1, stride s1
    S2  L2 blocks, MBConv                                                    D2, stride s2
    S3  L3 blocks, Transformer with relative attention                       D3, stride s3
    S4  L4 blocks, Transformer                                               D4, stride s4
    head global average pool → LayerNorm → Linear(num_classes)

Each stage's *first* block changes the channels and (if its stride is 2)
halves the resolution; the others keep both. The layout string picks the block
type of S1..S4, which is how the paper's ablation (C-C-C-C, C-C-C-T, C-C-T-T,
C-T-T-T, T-T-T-T) is reproduced. See ../shared/coatnet.md and lessons/09.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from tinycoat.checks import check_float_input, check_int
from tinycoat.nn import (BatchNorm2d, Conv2d, GELU, LayerNorm, Linear, MBConv, Module,
                         ModuleList, Sequential, TransformerBlock)
from tinycoat.nn import functional as F

LAYOUTS = ("CCTT", "CCCC", "CCCT", "CTTT", "TTTT")


@dataclass(frozen=True)
class CoAtNetConfig:
    depths: tuple = (2, 2, 3, 5, 2)          # L for S0..S4 (S0's 2 = the two stem convs)
    dims: tuple = (64, 96, 192, 384, 768)    # D for S0..S4
    strides: tuple = (2, 2, 2, 2, 2)         # downsampling of S0..S4
    image_size: tuple = (224, 224)
    in_chans: int = 3
    num_classes: int = 1000
    layout: str = "CCTT"
    stride_at: str = "depthwise"             # MBConv stride in the depthwise (paper's Table 9) or "expand" (Eq. 5)
    expand_ratio: int = 4
    se_ratio: float = 0.25
    head_dim: int = 32
    mlp_ratio: int = 4
    drop_path_rate: float = 0.0
    gelu_approximate: str = "none"          # GELU everywhere: exact (erf), or "tanh" (the approximation)

    def validate(self):
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown layout {self.layout!r}: expected one of {', '.join(LAYOUTS)}")
        for field in ("depths", "dims", "strides"):
            _check_ints(field, getattr(self, field), 5, "one per stage S0..S4")
        _check_ints("image_size", self.image_size, 2, "H, W")
        check_int("CoAtNetConfig", "in_chans", self.in_chans)
        check_int("CoAtNetConfig", "num_classes", self.num_classes)
        if self.depths[0] != 2:
            raise ValueError(f"CoAtNetConfig: the stem S0 has exactly 2 convs, got depths[0]={self.depths[0]}")
        total = 1
        for s in self.strides:
            total *= s
        for side in self.image_size:
            if side % total:
                raise ValueError(
                    f"image size {self.image_size[0]}×{self.image_size[1]} does not divide by the total "
                    f"stride {total} of strides {self.strides}: use a multiple of {total}")
        if not 0 <= self.drop_path_rate < 1:
            raise ValueError(f"drop_path_rate must be in [0, 1), got {self.drop_path_rate}")
        if self.gelu_approximate not in ("none", "tanh"):
            raise ValueError(f"gelu_approximate must be 'none' (erf) or 'tanh', got {self.gelu_approximate!r}")
        return self


def _check_ints(field, values, count, meaning):
    """A CoAtNetConfig field that must hold ``count`` positive ints."""
    if not isinstance(values, (tuple, list)) or len(values) != count:
        raise ValueError(f"CoAtNetConfig: {field} must be {count} positive ints ({meaning}), got {values!r}")
    for i, value in enumerate(values):
        check_int("CoAtNetConfig", f"{field}[{i}]", value)


class CoAtNet(Module):
    """The network of a ``CoAtNetConfig``: stem S0, stages S1-S4 of MBConv (C) or TransformerBlock
    (T) blocks as its layout says, global average pool, LayerNorm, Linear (this module's
    docstring; lesson 09). Build one with ``create_model``."""

    def __init__(self, config: CoAtNetConfig):
        super().__init__()
        self.config = config = config.validate()
        d0 = config.dims[0]
        self.stem = Sequential(
            Conv2d(config.in_chans, d0, 3, stride=config.strides[0], padding=1, bias=False),
            BatchNorm2d(d0),
            GELU(config.gelu_approximate),
            Conv2d(d0, d0, 3, stride=1, padding=1, bias=True),
        )
        # Stochastic depth grows linearly from 0 (first block) to drop_path_rate (last).
        n_blocks = sum(config.depths[1:])
        rates = [config.drop_path_rate * i / max(1, n_blocks - 1) for i in range(n_blocks)]
        height, width = (side // config.strides[0] for side in config.image_size)
        self.stages = ModuleList()
        for s in range(1, 5):
            height, width = height // config.strides[s], width // config.strides[s]
            blocks = Sequential()
            for b in range(config.depths[s]):
                first = b == 0
                in_ch = config.dims[s - 1] if first else config.dims[s]
                stride = config.strides[s] if first else 1
                rate = rates.pop(0)
                if config.layout[s - 1] == "C":
                    blocks.append(MBConv(in_ch, config.dims[s], stride=stride, expand_ratio=config.expand_ratio,
                                         se_ratio=config.se_ratio, stride_at=config.stride_at, drop_path=rate,
                                         gelu_approximate=config.gelu_approximate))
                else:
                    blocks.append(TransformerBlock(in_ch, config.dims[s], size=(height, width), stride=stride,
                                                   head_dim=config.head_dim, mlp_ratio=config.mlp_ratio,
                                                   drop_path=rate, gelu_approximate=config.gelu_approximate))
            self.stages.append(blocks)
        self.norm = LayerNorm(config.dims[4])
        self.head = Linear(config.dims[4], config.num_classes)

    def forward_features(self, x):
        """(N, in_chans, H, W) → (N, D4, H/32, W/32) for the paper sizes."""
        expected = (self.config.in_chans,) + tuple(self.config.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"CoAtNet: expected input of shape (N, {expected[0]}, {expected[1]}, {expected[2]}), "
                             f"got {tuple(x.shape)}. Build the model with image_size= the input size.")
        check_float_input("CoAtNet", x)
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return x

    def forward(self, x):
        x = F.global_avg_pool2d(self.forward_features(x))   # (N, D4)
        return self.head(self.norm(x))                       # (N, num_classes)

    def extra_repr(self):
        c = self.config
        return f"layout={c.layout}, image_size={c.image_size}, num_classes={c.num_classes}"


# ------------------------------------------------------------------------- the family

PAPER_224 = dict(strides=(2, 2, 2, 2, 2), image_size=(224, 224))
CIFAR_32 = dict(strides=(1, 1, 2, 2, 2), image_size=(32, 32))

MODEL_CONFIGS = {
    "coatnet_0": CoAtNetConfig(depths=(2, 2, 3, 5, 2), dims=(64, 96, 192, 384, 768), **PAPER_224),
    "coatnet_1": CoAtNetConfig(depths=(2, 2, 6, 14, 2), dims=(64, 96, 192, 384, 768), **PAPER_224),
    "coatnet_2": CoAtNetConfig(depths=(2, 2, 6, 14, 2), dims=(128, 128, 256, 512, 1024), **PAPER_224),
    "coatnet_3": CoAtNetConfig(depths=(2, 2, 6, 14, 2), dims=(192, 192, 384, 768, 1536), **PAPER_224),
    "coatnet_4": CoAtNetConfig(depths=(2, 2, 12, 28, 2), dims=(192, 192, 384, 768, 1536), **PAPER_224),
    # tinycoat's CIFAR sizes: S3 attends over 8×8 tokens, S4 over 4×4.
    "coatnet_cifar_nano": CoAtNetConfig(depths=(2, 2, 3, 5, 2), dims=(16, 24, 48, 96, 192),
                                        num_classes=10, **CIFAR_32),
    "coatnet_cifar_tiny": CoAtNetConfig(depths=(2, 2, 3, 5, 2), dims=(32, 48, 96, 192, 384),
                                        num_classes=10, **CIFAR_32),
}


def create_model(name: str, num_classes: int | None = None, in_chans: int = 3, layout: str = "CCTT",
                 drop_path_rate: float = 0.0, image_size=None, **overrides) -> CoAtNet:
    """Build a CoAtNet by name, e.g. ``create_model("coatnet_cifar_nano", num_classes=100)``.

    ``num_classes`` defaults to 1000 for the paper sizes and 10 for the CIFAR sizes;
    ``image_size`` (an int or (H, W)) to 224 and 32.
    """
    if name not in MODEL_CONFIGS:
        raise ValueError(f"unknown model {name!r}: expected one of {', '.join(MODEL_CONFIGS)}")
    config = MODEL_CONFIGS[name]
    changes = dict(in_chans=in_chans, layout=layout, drop_path_rate=drop_path_rate, **overrides)
    if num_classes is not None:
        changes["num_classes"] = num_classes
    if image_size is not None:
        changes["image_size"] = tuple(image_size) if isinstance(image_size, (tuple, list)) else (image_size,) * 2
    return CoAtNet(replace(config, **changes))


def _factory(name):
    def build(**kwargs):
        return create_model(name, **kwargs)
    build.__name__ = name
    build.__doc__ = f"CoAtNet {name!r}: {MODEL_CONFIGS[name]}"
    return build


coatnet_0 = _factory("coatnet_0")
coatnet_1 = _factory("coatnet_1")
coatnet_2 = _factory("coatnet_2")
coatnet_3 = _factory("coatnet_3")
coatnet_4 = _factory("coatnet_4")
coatnet_cifar_nano = _factory("coatnet_cifar_nano")
coatnet_cifar_tiny = _factory("coatnet_cifar_tiny")
