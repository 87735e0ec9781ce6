"""Fashion-MNIST from its four IDX .gz files, padded from 28x28 to 32x32.

Padding to 32x32 lets the same CoAtNet (five stride-2 stages: 32 -> 1) train on it
unchanged; the 2-pixel border is zero, which is the background of these images.
"""

from pathlib import Path

import numpy as np

from .dataset import ArrayDataset
from .download import download as download_file
from .errors import DatasetError
from .idx import read_idx
from .paths import resolve_root

URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
SUBFOLDER = "fashion-mnist"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist package

FILES = {  # train? -> (images, labels)
    True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# MD5 of the files as published upstream, checked on every download. Files found on disk
# are checked by structure instead (header, sizes, label range): Debian's package
# recompresses the .gz files, so their digests differ from these although the data agree.
MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
CLASSES = ["T-shirt/top", "trouser", "pullover", "dress", "coat",
           "sandal", "shirt", "sneaker", "bag", "ankle boot"]
PAD = 2  # pixels added on each side: 28 + 2 * 2 = 32


def load_fashion_mnist(root=None, train=True, download=True) -> ArrayDataset:
    """Fashion-MNIST: 60,000 train / 10,000 test images, uint8 (N, 1, 32, 32), 10 classes.

    Looks in ``root/fashion-mnist/`` and ``root/`` — and, when no ``root`` is given, in the
    default root and then Debian's /usr/share/datasets/fashion-mnist/ — and downloads into
    ``root/fashion-mnist/`` otherwise. A ``root`` the caller names is the only place looked in.
    """
    named = root is not None
    root = resolve_root(root)
    image_file, label_file = FILES[bool(train)]
    places = [root / SUBFOLDER, root] + ([] if named else [SYSTEM_DIR])
    folder = _find_folder(places, (image_file, label_file))
    if folder is None:
        folder = root / SUBFOLDER
        if not download:
            raise DatasetError(
                f"Fashion-MNIST files {image_file} and {label_file} not found in "
                f"{' or '.join(str(p) for p in places)}, and download=False. Put them in {folder} "
                f"(from {URL}; a training run needs all four: {', '.join(MD5)})"
                + ("." if named else ", or install Debian's dataset-fashion-mnist package.")
            )
        for name in (image_file, label_file):
            if not (folder / name).is_file():
                try:
                    download_file(URL + name, folder / name, md5=MD5[name])
                except DatasetError as err:     # (offline: say every file, not one at a time)
                    raise DatasetError(f"{err} A training run needs all four Fashion-MNIST files in {folder}: "
                                       f"{', '.join(MD5)}.") from None

    images = read_idx(folder / image_file)
    labels = read_idx(folder / label_file)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DatasetError(f"{folder / image_file} holds shape {images.shape}; expected (N, 28, 28)")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DatasetError(f"{folder / label_file} holds shape {labels.shape}; expected ({len(images)},), "
                           f"one label per image in {image_file}")
    if len(labels) and labels.max() >= len(CLASSES):
        raise DatasetError(f"{folder / label_file} holds label {labels.max()}; expected 0..9")

    padded = np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD)))  # zeros around each image
    return ArrayDataset(padded[:, None], labels.astype(np.int64), list(CLASSES), "fashion-mnist")


def _find_folder(candidates, names):
    """The first folder that holds all ``names``: images and labels must come from one place."""
    for folder in candidates:
        if all((folder / n).is_file() for n in names):
            return folder
    return None
