"""interpolate: an image resized, each output pixel a weighted mix of input pixels (torch's
F.interpolate for (N, C, H, W), modes "nearest", "nearest-exact" and "bilinear").

Resizing is separable: rows and columns are resampled independently, each by a matrix R whose
row i holds the weights output position i gives the input positions, so

    y = R_h · x · R_wᵀ      (for every image and channel)

two matrix products, whose backward is theirs: x̄ = R_hᵀ · ȳ · R_w. Where output position i
reads the input, in input coordinates (s = in/out, or 1/scale_factor when that is given and
changes the axis's size):

    nearest           src = ⌊i·s⌋
    nearest-exact     src = ⌊(i + ½)·s⌋               (pixel centres)
    bilinear          src = (i + ½)·s − ½, at least 0  (align_corners=False: pixel centres)
                      src = i·(in − 1)/(out − 1)      (align_corners=True: the corners meet)

"nearest" and "nearest-exact" take the pixel at src; "bilinear" mixes ⌊src⌋ and the pixel after it with weights
1 − λ and λ, λ = src − ⌊src⌋.
"""
from __future__ import annotations

import math

from tinycoat.checks import check_float_input, is_int
from tinycoat.tensor import Tensor

MODES = ("nearest", "nearest-exact", "bilinear")


def resampling_matrix(n_in, n_out, mode, align_corners, scale, like):
    """The (n_out, n_in) matrix R of one axis (see the top of this file), in ``like``'s dtype and device."""
    xp = like.xp
    i = xp.arange(n_out, dtype=xp.float64)
    if mode == "bilinear" and align_corners:
        src = i * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    elif mode == "bilinear":
        src = xp.maximum((i + 0.5) * scale - 0.5, 0.0)
    else:
        src = xp.floor((i + (0.5 if mode == "nearest-exact" else 0.0)) * scale)
    low = xp.minimum(xp.floor(src), n_in - 1)
    high = xp.minimum(low + 1, n_in - 1)
    weight = src - low if mode == "bilinear" else xp.zeros_like(src)       # λ: 0 for nearest
    columns = xp.arange(n_in)
    r = (1 - weight)[:, None] * (columns == low[:, None]) + weight[:, None] * (columns == high[:, None])
    return Tensor(r.astype(like.dtype))


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None):  # noqa: A002
    """(N, C, H, W) resized to ``size`` (an int or (h, w)) or by ``scale_factor`` (a number or a pair);
    PyTorch's arguments (``align_corners`` only for "bilinear", False by default)."""
    if mode not in MODES:
        raise ValueError(f"interpolate: mode must be one of {', '.join(MODES)}, got {mode!r}")
    if align_corners is not None and mode != "bilinear":
        raise ValueError(f"interpolate: align_corners applies to mode='bilinear' only, not {mode!r}")
    if input.ndim != 4:
        raise ValueError(f"interpolate: expected input (N, C, H, W), got shape {tuple(input.shape)}")
    check_float_input("interpolate", input)
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    h, w = input.shape[2:]
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
        if len(sizes) != 2 or not all(is_int(n) and n >= 1 for n in sizes):
            raise ValueError(f"interpolate: size must be a positive int or a pair of them, got {size!r}")
        scales = (h / sizes[0], w / sizes[1])
    else:
        factors = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * 2
        if len(factors) != 2 or not all(isinstance(f, (int, float)) and f > 0 for f in factors):
            raise ValueError(f"interpolate: scale_factor must be a positive number or a pair, got {scale_factor!r}")
        sizes = (math.floor(h * factors[0]), math.floor(w * factors[1]))
        if min(sizes) < 1:
            raise ValueError(f"interpolate: scale_factor {scale_factor!r} makes a {h}×{w} input {sizes[0]}×{sizes[1]}")
        # PyTorch reads positions by the factor given, except on an axis the factor leaves as long
        # as it was (⌊n·f⌋ = n): that one it copies.
        scales = tuple(1.0 if m == n else 1 / f for m, n, f in zip(sizes, (h, w), factors))
    corners = bool(align_corners)
    r_h = resampling_matrix(h, sizes[0], mode, corners, scales[0], input)
    r_w = resampling_matrix(w, sizes[1], mode, corners, scales[1], input)
    return r_h @ input @ r_w.T
