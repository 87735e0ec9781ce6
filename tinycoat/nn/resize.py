"""Upsample (F.interpolate as a layer, PyTorch's nn.Upsample), PixelShuffle and PixelUnshuffle."""
from __future__ import annotations

import tinycoat.nn.functional as F
from tinycoat.nn.functional.resize import MODES
from tinycoat.checks import check_int
from tinycoat.nn.module import Module


class Upsample(Module):
    """(N, C, H, W) resized to ``size`` or by ``scale_factor`` (see tinycoat/nn/functional/resize.py)."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None):
        super().__init__()
        if (size is None) == (scale_factor is None) or mode not in MODES:
            raise ValueError(f"Upsample: give exactly one of size and scale_factor, and a mode of {', '.join(MODES)}; "
                             f"got size={size!r}, scale_factor={scale_factor!r}, mode={mode!r}")
        self.size, self.scale_factor, self.mode, self.align_corners = size, scale_factor, mode, align_corners

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class PixelShuffle(Module):
    """(*, C·r², H, W) -> (*, C, H·r, W·r): each pixel's r² channels laid out as an r×r block."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = check_int("PixelShuffle", "upscale_factor", upscale_factor)

    def forward(self, x):
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H·r, W·r) -> (*, C·r², H, W): each r×r block of pixels stacked as r² channels."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = check_int("PixelUnshuffle", "downscale_factor", downscale_factor)

    def forward(self, x):
        return F.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
