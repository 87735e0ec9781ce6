"""An image-folder dataset (``root/<split>/<class>/*.jpg``) decoded once, then cached.

Decoding and resizing thousands of JPEGs takes minutes; doing it every run would
dominate small experiments. So the first load writes the resized uint8 arrays to a
.npz file, and later loads read that file instead. The cache key includes a
fingerprint of every image's name, size and modification time, so adding, removing
or editing an image builds a fresh cache instead of silently serving a stale one.
"""

import hashlib
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from tinycoat.files import atomic_write

from .dataset import ArrayDataset
from .errors import DatasetError
from .paths import default_root

EXTENSIONS = {".jpg", ".jpeg", ".png"}  # compared lower-case: Imagenette uses ".JPEG"
CACHE_VERSION = 2  # bump when the decoding below changes, to invalidate old caches (2: 16-bit images scaled)
MAX_PIXELS_ENV = "TINYCOAT_MAX_IMAGE_PIXELS"   # lifts Pillow's decompression-bomb limit, for images you trust
WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")   # Pillow's modes for 16- and 32-bit integer pixels


def load_image_folder(root, split="train", image_size=64, cache_dir=None, progress=True) -> ArrayDataset:
    """Images under ``root/split/<class>/`` as uint8 (N, 3, image_size, image_size).

    Classes are the sub-folder names, sorted, so label k is the k-th name alphabetically.
    The cache lives in ``cache_dir`` (default: ``<default data root>/image-folder-cache``).
    ``progress``: a progress bar while the images are decoded (the first time only).
    """
    root = Path(root).expanduser().resolve()
    if not (isinstance(image_size, int) and image_size > 0):
        raise ValueError(f"image_size must be a positive int, got {image_size!r}")
    classes, files, labels = list_images(root, split)

    if cache_dir is None:
        cache_dir = default_root() / "image-folder-cache"
    cache_dir = Path(cache_dir).expanduser()
    cache = cache_dir / f"{root.name}-{split}-{image_size}px-{fingerprint(root, files)}.npz"
    name = f"folder:{root.name}"
    cached = _read_cache(cache, len(files), image_size)
    if cached is not None:
        return ArrayDataset(cached, labels, classes, name)

    images = np.empty((len(files), 3, image_size, image_size), dtype=np.uint8)
    for i, path in enumerate(tqdm(files, desc=f"decoding {root.name}/{split}", unit="img", disable=not progress)):
        images[i] = decode_image(path, image_size)
    _write_cache(cache, images, labels, classes)
    return ArrayDataset(images, labels, classes, name)


def list_images(root: Path, split: str):
    """(sorted class names, image paths, labels) for ``root/split``, with clear errors."""
    split_dir = root / split
    if not split_dir.is_dir():
        raise DatasetError(f"missing folder {split_dir}: an image-folder dataset needs "
                           f"{root}/{split}/<class name>/<image>.jpg|jpeg|png")
    classes = _class_folders(split_dir)
    if not classes:
        raise DatasetError(f"{split_dir} has no class sub-folders; "
                           f"expected {split_dir}/<class name>/<image files>")
    # A label is the class's index among *this* split's folders: a val/ without one of train/'s
    # classes would number the rest differently, and "fox" would be scored as "dog".
    train_dir = root / "train"
    if split_dir != train_dir and train_dir.is_dir():
        trained = _class_folders(train_dir)
        if classes != trained:
            only_here, only_train = sorted(set(classes) - set(trained)), sorted(set(trained) - set(classes))
            raise DatasetError(f"{split_dir} and {train_dir} have different class folders (only in {split}: "
                               f"{only_here or 'none'}; only in train: {only_train or 'none'}): the labels would "
                               "mean different classes; give every split the same class folders")
    files, labels = [], []
    for label, cls in enumerate(classes):
        found = sorted(p for p in (split_dir / cls).iterdir()
                       if p.is_file() and p.suffix.lower() in EXTENSIONS)
        if not found:
            raise DatasetError(f"class folder {split_dir / cls} holds no .jpg/.jpeg/.png images")
        files += found
        labels += [label] * len(found)
    return classes, files, np.array(labels, dtype=np.int64)


def _class_folders(split_dir: Path) -> list:
    return sorted(d.name for d in split_dir.iterdir() if d.is_dir())


def fingerprint(root: Path, files) -> str:
    """A short hash of (relative name, size, mtime) for every file: changes when any image does."""
    h = hashlib.sha256(f"v{CACHE_VERSION}\n{root}\n".encode())
    for path in files:
        st = path.stat()
        h.update(f"{path.relative_to(root).as_posix()}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def decode_image(path: Path, size: int, channels: int = 3) -> np.ndarray:
    """One image as uint8 (channels, size, size): shorter side resized to ``size``, then centre-cropped;
    3 channels (RGB) or 1 (grey, Pillow's ITU-R 601 luma of the RGB)."""
    if channels not in (1, 3):
        raise ValueError(f"decode_image: channels must be 1 (grey) or 3 (RGB), got {channels!r}")
    if os.environ.get(MAX_PIXELS_ENV):
        Image.MAX_IMAGE_PIXELS = int(os.environ[MAX_PIXELS_ENV])
    try:
        with Image.open(path) as im:
            # For JPEGs, draft() lets the decoder skip detail we would throw away (it decodes
            # at 1/2, 1/4 or 1/8 scale while staying >= size): a big speed-up for full-size photos.
            im.draft("RGB", (size, size))
            im = _to_rgb(im, path)
            w, h = im.size
            scale = size / min(w, h)
            new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
            im = im.resize((new_w, new_h), Image.Resampling.BILINEAR)
            left, top = (new_w - size) // 2, (new_h - size) // 2
            im = im.crop((left, top, left + size, top + size))
            if channels == 1:
                im = im.convert("L")
            pixels = np.asarray(im, dtype=np.uint8).reshape(size, size, channels)  # (H, W, C)
    except Image.DecompressionBombError as err:
        raise DatasetError(f"cannot read image {path}: {err} Pillow refuses images that large as a guard against "
                           f"decompression bombs; for an image you trust, set {MAX_PIXELS_ENV} to a larger number "
                           "of pixels (or shrink the image)") from None
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise DatasetError(f"cannot read image {path}: {err}") from err
    return pixels.transpose(2, 0, 1)  # HWC -> CHW


def _to_rgb(im, path):
    """8-bit RGB from any mode Pillow opens. 16-bit integer pixels (a 16-bit PNG) are scaled,
    v·255/65535, where Pillow's own conversion would clip everything above 255 to white;
    wider integers and floating-point pixels have no range to scale from, and are refused."""
    if im.mode == "F" or (im.mode in WIDE_MODES and not _fits_16_bits(im)):
        raise DatasetError(f"cannot read image {path}: its pixels are {'floating-point' if im.mode == 'F' else '32-bit'} "
                           f"numbers (Pillow mode {im.mode!r}) with no fixed range to scale to 0..255; save it as an "
                           "8- or 16-bit image")
    if im.mode in WIDE_MODES:
        wide = np.asarray(im, dtype=np.float64)
        im = Image.fromarray(np.rint(wide * (255 / 65535)).astype(np.uint8))          # mode "L"
    return im.convert("RGB")


def _fits_16_bits(im):
    low, high = im.getextrema()
    return 0 <= low and high <= 65535


def _read_cache(cache: Path, count: int, size: int):
    """Cached images if the file exists and is sound, else None (the caller rebuilds it)."""
    if not cache.is_file():
        return None
    try:
        # allow_pickle=False: the cache holds only plain arrays, and a .npz from
        # elsewhere must never be able to run code when loaded.
        with np.load(cache, allow_pickle=False) as data:
            images = data["images"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        warnings.warn(f"ignoring unreadable cache {cache} ({err}); rebuilding it")
        return None
    if images.dtype != np.uint8 or images.shape != (count, 3, size, size):
        warnings.warn(f"ignoring cache {cache}: shape {images.shape}, expected {(count, 3, size, size)}")
        return None
    return images


def _write_cache(cache: Path, images, labels, classes) -> None:
    # Write to a temp file in the same folder, then rename: a crash mid-write leaves no
    # half-written .npz behind that a later run would try to read.
    atomic_write(cache, lambda f: np.savez(f, images=images, labels=labels, classes=np.array(classes, dtype=str)))
