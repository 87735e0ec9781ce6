"""RandAugment (Cubuk, Zoph, Shlens & Le, 2020): for every image, ``num_ops`` operations drawn at
random from a fixed list, all at one shared ``magnitude`` — two numbers in place of a searched
augmentation policy. CoAtNet's ImageNet recipe uses RandAugment(2, 15) (../shared/coatnet.md).

Host-side data code: NumPy on uint8 batches (N, C, H, W), C = 1 or 3, after the random crop and
flip (tinycoat/data/loader.py). Every random choice comes from the Generator passed in.

The operations and their strength at magnitude m of ``num_magnitude_bins`` − 1 (torchvision's
ranges, 31 bins: m from 0 to 30; a signed one is applied with a random sign):

    Identity                       nothing
    ShearX, ShearY                 x ← x + s·(y − c_y) (or y ← y + s·(x − c_x)), s up to 0.3, signed
    TranslateX, TranslateY         a shift of up to 150/331 of the side, in whole pixels, signed
    Rotate                         about the centre, up to 30°, signed
    Brightness, Color, Contrast,   blend with a degenerate image (black; the grey version; the mean
    Sharpness                      grey; a 3×3 blur): x·f + d·(1 − f), f = 1 ± up to 0.9
    Posterize                      keep the top 8 … 4 bits of each value (8 at m = 0)
    Solarize                       invert every value >= t, t from 255 (m = 0) down to 0
    AutoContrast                   stretch each channel's [min, max] to [0, 255]
    Equalize                       flatten each channel's histogram

Geometric operations read each output pixel from where the inverse map sends it (the nearest
pixel); pixels from outside the image are 0 (black).
"""

import math

import numpy as np

GEOMETRIC = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")
OPS = ("Identity",) + GEOMETRIC + ("Brightness", "Color", "Contrast", "Sharpness", "Posterize", "Solarize",
                                   "AutoContrast", "Equalize")


def strength(op: str, magnitude: int, num_bins: int, size: tuple) -> float:
    """The strength of ``op`` at ``magnitude`` (0 … num_bins − 1), unsigned (the table at the top)."""
    t = magnitude / (num_bins - 1)                                  # 0 … 1
    if op in ("ShearX", "ShearY"):
        return 0.3 * t
    if op in ("TranslateX", "TranslateY"):
        side = size[1] if op == "TranslateX" else size[0]
        return float(int(150.0 / 331.0 * side * t))                 # whole pixels
    if op == "Rotate":
        return 30.0 * t
    if op in ("Brightness", "Color", "Contrast", "Sharpness"):
        return 0.9 * t
    if op == "Posterize":
        return float(8 - int(round(4 * t)))                         # bits kept
    if op == "Solarize":
        return 255.0 * (1 - t)                                      # threshold
    return 0.0


SIGNED = GEOMETRIC + ("Brightness", "Color", "Contrast", "Sharpness")


def _resample(image: np.ndarray, src_y: np.ndarray, src_x: np.ndarray) -> np.ndarray:
    """Each output pixel (y, x) read from the input at (src_y, src_x), rounded; 0 outside."""
    _, h, w = image.shape
    sy, sx = np.rint(src_y).astype(np.int64), np.rint(src_x).astype(np.int64)
    inside = (sy >= 0) & (sy < h) & (sx >= 0) & (sx < w)
    out = np.zeros_like(image)
    out[:, inside] = image[:, sy[inside], sx[inside]]
    return out


def geometric(image: np.ndarray, op: str, v: float) -> np.ndarray:
    """Shear, translate or rotate ``image`` (C, H, W) by the signed strength ``v``, by the inverse
    map: output pixel p comes from the input pixel that the operation moves onto p."""
    _, h, w = image.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    if op == "ShearX":
        return _resample(image, y, x + v * (y - cy))
    if op == "ShearY":
        return _resample(image, y + v * (x - cx), x)
    if op == "TranslateX":
        return _resample(image, y, x - v)
    if op == "TranslateY":
        return _resample(image, y - v, x)
    # Rotate: counter-clockwise on screen by v degrees (y points down); the source of p is p turned
    # back about the centre
    c, s = math.cos(math.radians(v)), math.sin(math.radians(v))
    dy, dx = y - cy, x - cx
    return _resample(image, cy + s * dx + c * dy, cx + c * dx - s * dy)


def grey(image: np.ndarray) -> np.ndarray:
    """Luma, ITU-R 601 weights 0.299, 0.587, 0.114, rounded to whole levels as Pillow's "L" is
    (weights in 1/65536ths), (1, H, W) float; a one-channel image is its own."""
    if image.shape[0] == 1:
        return image.astype(np.float32)
    r, g, b = image.astype(np.int64)
    return ((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16)[None].astype(np.float32)


def blend(image: np.ndarray, degenerate: np.ndarray, factor: float) -> np.ndarray:
    """image·f + degenerate·(1 − f), rounded and clipped to uint8 (f > 1 pushes away from it)."""
    mixed = image.astype(np.float32) * factor + degenerate * (1.0 - factor)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def blurred(image: np.ndarray) -> np.ndarray:
    """The 3×3 smoothing [[1, 1, 1], [1, 5, 1], [1, 1, 1]]/13 inside; the border row and column kept."""
    out = image.astype(np.float32)
    if image.shape[1] < 3 or image.shape[2] < 3:
        return out
    x = image.astype(np.float32)
    total = sum(x[:, 1 + i:x.shape[1] - 1 + i, 1 + j:x.shape[2] - 1 + j] for i in (-1, 0, 1) for j in (-1, 0, 1))
    out[:, 1:-1, 1:-1] = (total + 4 * x[:, 1:-1, 1:-1]) / 13
    return out


def equalize(channel: np.ndarray) -> np.ndarray:
    """One uint8 channel's histogram flattened, as PIL does: the lookup table sends value v to the
    count of values below it, in steps of (all values − those of the last one) / 255."""
    hist = np.bincount(channel.ravel(), minlength=256)
    step = (hist.sum() - hist[np.flatnonzero(hist)[-1]]) // 255
    if step == 0:
        return channel
    lut = (np.concatenate([[0], np.cumsum(hist)[:-1]]) + step // 2) // step
    return np.clip(lut, 0, 255).astype(np.uint8)[channel]


def apply(image: np.ndarray, op: str, v: float) -> np.ndarray:
    """``op`` on one uint8 image (C, H, W) at signed strength ``v`` (``strength``, with its sign)."""
    if op == "Identity":
        return image
    if op in GEOMETRIC:
        return geometric(image, op, v)
    if op == "Brightness":
        return blend(image, np.zeros(1, np.float32), 1.0 + v)
    if op == "Color":
        return blend(image, grey(image), 1.0 + v)
    if op == "Contrast":
        return blend(image, np.float32(int(grey(image).mean() + 0.5)), 1.0 + v)    # the mean grey level
    if op == "Sharpness":
        return blend(image, blurred(image), 1.0 + v)
    if op == "Posterize":
        return image & np.uint8((0xFF << (8 - int(v))) & 0xFF)
    if op == "Solarize":
        return np.where(image >= v, 255 - image, image).astype(np.uint8)
    if op == "AutoContrast":
        lo = image.min(axis=(1, 2), keepdims=True).astype(np.float32)
        hi = image.max(axis=(1, 2), keepdims=True).astype(np.float32)
        stretched = (image - lo) * (255.0 / np.where(hi > lo, hi - lo, 1.0))
        return np.where(hi > lo, np.clip(np.rint(stretched), 0, 255), image).astype(np.uint8)
    if op == "Equalize":
        return np.stack([equalize(c) for c in image])
    raise ValueError(f"RandAugment: unknown operation {op!r}; known: {', '.join(OPS)}")


class RandAugment:
    """``num_ops`` operations per image, drawn uniformly from ``OPS`` (repeats allowed), each at
    ``magnitude`` of ``num_magnitude_bins`` − 1, signed ones with a random sign (torchvision's
    arguments). ``__call__(batch, rng)``: a uint8 batch (N, C, H, W) augmented, a new array."""

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31):
        for name, value, low in (("num_ops", num_ops, 0), ("num_magnitude_bins", num_magnitude_bins, 2)):
            if not (isinstance(value, (int, np.integer)) and value >= low):
                raise ValueError(f"RandAugment: {name} must be an int >= {low}, got {value!r}")
        if not (isinstance(magnitude, (int, np.integer)) and 0 <= magnitude < num_magnitude_bins):
            raise ValueError(f"RandAugment: magnitude must be an int from 0 to num_magnitude_bins − 1 = "
                             f"{num_magnitude_bins - 1}, got {magnitude!r}")
        self.num_ops, self.magnitude, self.num_magnitude_bins = int(num_ops), int(magnitude), int(num_magnitude_bins)

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not (isinstance(batch, np.ndarray) and batch.dtype == np.uint8 and batch.ndim == 4
                and batch.shape[1] in (1, 3)):
            raise ValueError(f"RandAugment: expected a uint8 batch (N, C, H, W) with C = 1 or 3, got "
                             f"{getattr(batch, 'dtype', type(batch).__name__)} {getattr(batch, 'shape', '')}")
        out = batch.copy()
        for n in range(len(out)):
            for op in rng.choice(OPS, size=self.num_ops):
                v = strength(op, self.magnitude, self.num_magnitude_bins, out.shape[2:])
                if op in SIGNED and rng.random() < 0.5:
                    v = -v
                out[n] = apply(out[n], op, v)
        return out

    def __repr__(self):
        return f"RandAugment(num_ops={self.num_ops}, magnitude={self.magnitude}, " \
               f"num_magnitude_bins={self.num_magnitude_bins})"
