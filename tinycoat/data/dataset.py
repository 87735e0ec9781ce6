"""ArrayDataset: the one in-memory form every image loader returns; TensorDataset: any arrays
that share their first axis (PyTorch's), for data that are not images."""

from dataclasses import dataclass, field

import numpy as np

from tinycoat.backend import to_numpy


@dataclass
class ArrayDataset:
    """A whole dataset held as two arrays.

    images:  uint8 (N, C, H, W). Kept as bytes (4x smaller than float32); the
             loader converts one batch at a time.
    labels:  int64 (N,), each in [0, len(classes)).
    classes: class names; ``classes[k]`` is the name of label k.
    name:    which dataset this is ("cifar10", "folder:imagenette2-160", ...);
             the loader uses it to pick the normalisation constants.
    source_index: for a part of a dataset (``subset``), each sample's index in the whole
             one, so that a report can name the image; None: the samples are the whole set.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list = field(default_factory=list)
    name: str = "unnamed"
    source_index: np.ndarray = None

    def __post_init__(self):
        # Check once here so that every later stage can trust the shapes.
        images = np.asarray(self.images)
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError(
                f"{self.name}: images must be a uint8 array of shape (N, C, H, W), "
                f"got dtype {images.dtype} and shape {images.shape}"
            )
        labels = np.asarray(self.labels)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"{self.name}: labels must be a 1-D integer array, "
                f"got dtype {labels.dtype} and shape {labels.shape}"
            )
        if len(labels) != len(images):
            raise ValueError(
                f"{self.name}: {len(images)} images but {len(labels)} labels; they must match"
            )
        self.classes = [str(c) for c in self.classes]
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise ValueError(
                f"{self.name}: labels must lie in [0, {len(self.classes)}) "
                f"(one per class name), got range [{labels.min()}, {labels.max()}]"
            )
        if self.source_index is not None and np.shape(self.source_index) != (len(labels),):
            raise ValueError(f"{self.name}: source_index must hold one index per sample, ({len(labels)},), "
                             f"got shape {np.shape(self.source_index)}")
        self.images = images
        self.labels = labels.astype(np.int64, copy=False)

    def source_indices(self) -> np.ndarray:
        """Each sample's index in the whole dataset it was taken from (0, 1, 2... for a whole set)."""
        return np.arange(len(self)) if self.source_index is None else np.asarray(self.source_index)

    def part(self, pick) -> "ArrayDataset":
        """The samples ``pick`` (a slice or index array), remembering where they came from."""
        return ArrayDataset(self.images[pick], self.labels[pick], list(self.classes), self.name,
                            source_index=self.source_indices()[pick])

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])

    def subset(self, n: int, seed: int = 0) -> "ArrayDataset":
        """The first ``n`` samples of a seeded shuffle: a quick random subset for smoke runs.

        The name is kept so that the subset still gets its parent's normalisation.
        """
        if not (isinstance(n, (int, np.integer)) and not isinstance(n, bool)):
            raise TypeError(f"{self.name}: subset size must be an int, got {n!r}")
        if not 0 <= n <= len(self):
            raise ValueError(f"{self.name}: subset size must be in [0, {len(self)}], got {n}")
        return self.part(np.random.default_rng(seed).permutation(len(self))[:n])

    def __repr__(self) -> str:
        return (
            f"ArrayDataset(name={self.name!r}, n={len(self)}, image_shape={self.image_shape}, "
            f"classes={self.num_classes})"
        )


class TensorDataset:
    """Arrays (NumPy arrays or tensors) that share their first axis: sample i is (a[i], b[i], ...),
    as PyTorch's TensorDataset. A DataLoader hands its batches out as they are (no normalisation,
    no augmentation: those are for images), as NumPy arrays in the arrays' own dtypes."""

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: give at least one array")
        # (a tensor or a CuPy array gives its values as a NumPy array: the data code runs on the host)
        self.arrays = tuple(np.asarray(a.numpy() if hasattr(a, "numpy") else to_numpy(a)) for a in arrays)
        shapes = [a.shape for a in self.arrays]
        if any(len(shape) == 0 for shape in shapes) or len({shape[0] for shape in shapes}) != 1:
            raise ValueError(f"TensorDataset: every array needs the same first axis (one entry per sample), "
                             f"got shapes {', '.join(map(str, shapes))}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def __repr__(self) -> str:
        return f"TensorDataset(n={len(self)}, shapes={[a.shape[1:] for a in self.arrays]})"
