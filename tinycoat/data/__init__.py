"""Host-side data: download, parse, cache, augment and batch datasets with NumPy.

Everything here runs on the CPU and returns NumPy arrays; the training loop moves
each batch to the device. Typical use:

    from tinycoat.data import load_dataset, DataLoader
    train = load_dataset("cifar10", train=True)
    loader = DataLoader(train, batch_size=128, shuffle=True, train_transforms=True, seed=0)
    for images, labels in loader:  # float32 (B, 3, 32, 32), int64 (B,)
        ...
"""

from .archive import safe_extract_tar
from .cifar import load_cifar10, load_cifar100
from .dataset import ArrayDataset, TensorDataset
from .datasets import DATASETS, load_dataset
from .download import download, file_digest, verify_checksum
from .errors import DatasetError
from .fashion_mnist import load_fashion_mnist
from .idx import read_idx
from .image_folder import load_image_folder
from .loader import DataLoader
from .paths import default_root
from .randaugment import RandAugment
from .transforms import (STATS, mixup, normalize, random_crop, random_hflip, stats_for)

__all__ = [
    "ArrayDataset", "DATASETS", "DataLoader", "DatasetError", "STATS", "default_root",
    "download", "file_digest", "load_cifar10", "load_cifar100", "load_dataset",
    "load_fashion_mnist", "load_image_folder", "mixup", "normalize", "RandAugment", "random_crop",
    "random_hflip", "read_idx", "safe_extract_tar", "stats_for", "TensorDataset", "verify_checksum",
]
