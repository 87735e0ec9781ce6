"""load_dataset(name, ...): one entry point that picks the right loader by name; read_image_as:
one image file made into what that dataset's images are, for a model trained on it."""

import numpy as np

from .cifar import CIFAR10_CLASSES, CIFAR100_CLASSES, CIFAR100_COARSE_CLASSES, load_cifar10, load_cifar100
from .dataset import ArrayDataset
from .fashion_mnist import CLASSES as FASHION_MNIST_CLASSES, PAD as FASHION_MNIST_PAD, load_fashion_mnist
from .image_folder import decode_image, load_image_folder

NATIVE_SIZE = {"cifar10": 32, "cifar100": 32, "cifar100-coarse": 32, "fashion-mnist": 32}  # fixed by the files
DATASETS = ("cifar10", "cifar100", "cifar100-coarse", "fashion-mnist", "folder")
DEFAULT_FOLDER_SIZE = 64
PUBLISHED_CLASSES = {"cifar10": CIFAR10_CLASSES, "cifar100": CIFAR100_CLASSES,
                     "cifar100-coarse": CIFAR100_COARSE_CLASSES, "fashion-mnist": FASHION_MNIST_CLASSES}


def load_dataset(name: str, root=None, train: bool = True, download: bool = True,
                 image_size=None, cache_dir=None, progress=True) -> ArrayDataset:
    """Load a dataset by name as an ArrayDataset of uint8 (N, C, H, W) images.

    name: "cifar10", "cifar100" (fine labels), "cifar100-coarse" (its 20 superclasses),
        "fashion-mnist", or "folder" (``root`` is then the folder holding train/ and val/;
        ``train`` picks which).
    root: where datasets live; default ``$TINYCOAT_DATA`` or ``~/.cache/tinycoat``.
    image_size: only for "folder" (default 64); the others are always 32x32.
    progress: only for "folder": a progress bar while its images are first decoded.
    """
    key = name.lower()
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
    if key == "folder":
        if root is None:
            raise ValueError('load_dataset("folder") needs root=<folder containing train/ and val/>')
        size = DEFAULT_FOLDER_SIZE if image_size is None else image_size
        return load_image_folder(root, "train" if train else "val", size, cache_dir, progress=progress)
    if image_size not in (None, NATIVE_SIZE[key]):
        raise ValueError(f"{key} images are {NATIVE_SIZE[key]}x{NATIVE_SIZE[key]}; image_size must be "
                         f"None or {NATIVE_SIZE[key]}, got {image_size}")
    # Each loader resolves a missing root itself (Fashion-MNIST then also looks at Debian's copy).
    if key == "cifar100-coarse":
        return load_cifar100(root, train=train, download=download, labels="coarse")
    loader = {"cifar10": load_cifar10, "cifar100": load_cifar100,
              "fashion-mnist": load_fashion_mnist}[key]
    return loader(root, train=train, download=download)


def image_size_of(name: str, image_size=None) -> int:
    """The side of dataset ``name``'s images: fixed by its files, or a folder's ``image_size`` (default 64)."""
    return NATIVE_SIZE.get(name.lower()) or image_size or DEFAULT_FOLDER_SIZE


def read_image_as(name: str, path, image_size=None, invert=False) -> np.ndarray:
    """The image file ``path`` as dataset ``name`` holds its images, uint8 (C, S, S), so that a model
    trained on that dataset can classify it: the shorter side resized and the centre cut out
    (``decode_image``), then, for Fashion-MNIST, grey 28×28 padded with black to 32×32 as its loader
    pads (its garments are light on black: a photo of dark on light wants inverting, 255 − pixel);
    CIFAR: RGB 32×32; a folder: RGB ``image_size`` (default 64). ``invert``: 255 − pixel, before
    the padding (the border stays black)."""
    key = name.lower()
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
    if key == "fashion-mnist":
        side = image_size_of(key) - 2 * FASHION_MNIST_PAD
        grey = decode_image(path, side, channels=1)
        grey = 255 - grey if invert else grey
        return np.pad(grey, ((0, 0), (FASHION_MNIST_PAD, FASHION_MNIST_PAD), (FASHION_MNIST_PAD, FASHION_MNIST_PAD)))
    pixels = decode_image(path, image_size_of(key, image_size))
    return 255 - pixels if invert else pixels
