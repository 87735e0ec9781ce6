"""CIFAR-10 and CIFAR-100 from the official *binary* releases (fixed-size records, no pickle).

Each record is a few label bytes followed by 3072 pixel bytes: the 1024 red values,
then 1024 green, then 1024 blue, each a row-major 32x32 plane. That is already
channel-first, so ``reshape(N, 3, 32, 32)`` gives (C, H, W) images with no copying
logic at all: the file layout *is* the array layout.
"""

from pathlib import Path

import numpy as np

from .dataset import ArrayDataset
from .errors import DatasetError
from .paths import resolve_root
from .releases import Release, ensure_extracted

CIFAR10 = Release(
    name="CIFAR-10",
    url="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    filename="cifar-10-binary.tar.gz",
    folder="cifar-10-batches-bin",
    size=170_052_171,
    md5="c32a1d4ab5d03f1284b67883e8d87530",
    sha256="c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
)
CIFAR100 = Release(
    name="CIFAR-100",
    url="https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
    filename="cifar-100-binary.tar.gz",
    folder="cifar-100-binary",
    size=168_513_733,
    md5="03b5dce01913d631647c71ecec9e9cb8",
)

PIXELS = 3 * 32 * 32  # 3072 bytes of image per record

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
CIFAR100_CLASSES = [  # the fine labels, in label order (alphabetical)
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
    "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
    "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
    "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
    "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
    "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle",
    "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
]


CIFAR100_COARSE_CLASSES = [  # the 20 superclasses, in label order
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
    "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
]


def load_cifar10(root=None, train=True, download=True) -> ArrayDataset:
    """CIFAR-10: 50,000 train / 10,000 test images, uint8 (N, 3, 32, 32), 10 classes."""
    folder = ensure_extracted(CIFAR10, resolve_root(root), download)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
    batches = [read_records(folder / n, label_bytes=1) for n in names]
    if len({len(b) for b in batches}) > 1:      # (a file cut at a record boundary passes read_records)
        raise DatasetError(f"the training files in {folder} hold {[len(b) for b in batches]} records, but the five "
                           f"should be alike (10,000 each as published): a short one is truncated. Delete {folder} and "
                           "load again to re-extract it.")
    records = np.concatenate(batches)
    classes = read_class_names(folder / "batches.meta.txt", CIFAR10_CLASSES)
    return _to_dataset(records, label_byte=0, label_bytes=1, classes=classes,
                       name="cifar10", source=folder)


def load_cifar100(root=None, train=True, download=True, labels="fine") -> ArrayDataset:
    """CIFAR-100: 50,000 train / 10,000 test, uint8 (N, 3, 32, 32), with its 100 fine labels
    (the default, what the benchmarks report) or, with labels="coarse", its 20 superclasses."""
    if labels not in ("fine", "coarse"):
        raise ValueError(f"load_cifar100: labels must be 'fine' or 'coarse', got {labels!r}")
    folder = ensure_extracted(CIFAR100, resolve_root(root), download)
    records = read_records(folder / ("train.bin" if train else "test.bin"), label_bytes=2)
    # Byte 0 of a record is the coarse label, byte 1 the fine one.
    coarse = labels == "coarse"
    classes = read_class_names(folder / f"{labels}_label_names.txt",
                               CIFAR100_COARSE_CLASSES if coarse else CIFAR100_CLASSES)
    return _to_dataset(records, label_byte=0 if coarse else 1, label_bytes=2, classes=classes,
                       name="cifar100-coarse" if coarse else "cifar100", source=folder)


def read_records(path: Path, label_bytes: int) -> np.ndarray:
    """The file as a (num_records, label_bytes + 3072) uint8 array, size-checked."""
    record = label_bytes + PIXELS
    if not path.is_file():
        raise DatasetError(f"missing file {path}: the extracted dataset folder is incomplete; "
                           f"delete {path.parent} and load again to re-extract it")
    data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    if data.size == 0 or data.size % record:
        raise DatasetError(
            f"{path} is {data.size:,} bytes, not a positive multiple of the {record}-byte record "
            f"({label_bytes} label byte(s) + {PIXELS} pixel bytes): it is truncated or corrupt. "
            f"Delete {path.parent} and load again to re-extract it."
        )
    return data.reshape(-1, record)  # one row per record, no Python loop


def read_class_names(path: Path, published: list) -> list:
    """Names from the dataset's own meta file (one per line) or, if absent, the published list."""
    if not path.is_file():
        return list(published)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start}): expected one class "
                           "name per line") from None
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if len(names) != len(published):
        raise DatasetError(f"{path} lists {len(names)} class names; expected {len(published)}, one per line")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DatasetError(f"{path} names {', '.join(repr(n) for n in repeated)} more than once; each of the "
                           f"{len(published)} classes needs a name of its own")
    return names


def _to_dataset(records, label_byte, label_bytes, classes, name, source) -> ArrayDataset:
    labels = records[:, label_byte].astype(np.int64)
    if labels.max() >= len(classes):
        raise DatasetError(f"{source} holds label {labels.max()}, but {name} has only "
                           f"{len(classes)} classes (0..{len(classes) - 1}): the files are corrupt")
    # The slice drops the label bytes; ascontiguousarray makes one compact copy of the pixels.
    images = np.ascontiguousarray(records[:, label_bytes:]).reshape(-1, 3, 32, 32)
    return ArrayDataset(images, labels, classes, name)
