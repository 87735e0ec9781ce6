"""pixel_shuffle and pixel_unshuffle: channels traded for pixels, r² channels for an r×r block.

pixel_shuffle (Shi et al. 2016, "sub-pixel convolution") upsamples by rearranging alone: the r²
channels c·r² + i·r + j of each pixel (h, w) become pixel (h·r + i, w·r + j) of channel c,

    y[..., c, h·r + i, w·r + j] = x[..., c·r² + i·r + j, h, w]      (*, C·r², H, W) -> (*, C, H·r, W·r)

so a convolution to C·r² channels followed by it is a learnable upsampling with no overlapping
stamps (a transposed convolution's checkerboard). pixel_unshuffle is its inverse (a space-to-depth
downsampling). Both are a reshape, a permutation of axes and a reshape: no arithmetic, and their
backward is the inverse rearrangement (autograd's, through reshape and permute).
"""
from __future__ import annotations

from tinycoat.checks import check_int


def pixel_shuffle(x, upscale_factor):
    """(*, C·r², H, W) -> (*, C, H·r, W·r), r = upscale_factor."""
    r = check_int("pixel_shuffle", "upscale_factor", upscale_factor)
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ValueError(f"pixel_shuffle: expected input (*, C·{r * r}, H, W), channels divisible by "
                         f"upscale_factor² = {r * r}, got {tuple(x.shape)}")
    *lead, c, h, w = x.shape
    k = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)                    # (*, C, i, j, H, W)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)           # (*, C, H, i, W, j)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(x, downscale_factor):
    """(*, C, H·r, W·r) -> (*, C·r², H, W), r = downscale_factor: pixel_shuffle undone."""
    r = check_int("pixel_unshuffle", "downscale_factor", downscale_factor)
    if x.ndim < 3 or x.shape[-2] % r or x.shape[-1] % r:
        raise ValueError(f"pixel_unshuffle: expected input (*, C, H·{r}, W·{r}), height and width divisible by "
                         f"downscale_factor = {r}, got {tuple(x.shape)}")
    *lead, c, h, w = x.shape
    k = len(lead)
    y = x.reshape(*lead, c, h // r, r, w // r, r)                     # (*, C, H, i, W, j)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)           # (*, C, i, j, H, W)
    return y.reshape(*lead, c * r * r, h // r, w // r)
