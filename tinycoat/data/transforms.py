"""Data augmentation and normalisation on NumPy batches of shape (N, C, H, W).

Every random choice comes from a ``np.random.Generator`` passed in by the caller, so
a run is reproducible from its seed. Each function works on the whole batch at once.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# Per-channel mean and std of the *training* images, in 0..1 units (pixel / 255),
# the same convention as torchvision's Normalize.
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN, CIFAR100_STD = (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)
# Measured on the 60,000 training images *after* the 2-pixel zero padding to 32x32
# (the padding lowers both numbers from the usual 28x28 values 0.2860 / 0.3530).
FASHION_MNIST_MEAN, FASHION_MNIST_STD = (0.2190,), (0.3318,)
# Image folders are usually ImageNet subsets (Imagenette, Imagewoof).
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

STATS = {
    "cifar10": (CIFAR10_MEAN, CIFAR10_STD),
    "cifar100": (CIFAR100_MEAN, CIFAR100_STD),
    "cifar100-coarse": (CIFAR100_MEAN, CIFAR100_STD),      # the same images, other labels
    "fashion-mnist": (FASHION_MNIST_MEAN, FASHION_MNIST_STD),
    "folder": (IMAGENET_MEAN, IMAGENET_STD),
}


def stats_for(dataset_name: str):
    """(mean, std) for a dataset name such as "cifar10" or "folder:imagenette2-160"."""
    key = dataset_name.split(":")[0]
    if key not in STATS:
        raise KeyError(f"no normalisation constants for dataset {dataset_name!r}; known: "
                       f"{', '.join(STATS)}. Pass mean= and std= explicitly.")
    return STATS[key]


def random_crop(batch: np.ndarray, padding: int, rng: np.random.Generator) -> np.ndarray:
    """Zero-pad each image by ``padding`` pixels, then cut an HxW window at a random offset.

    The standard CIFAR augmentation: it shifts each image by up to ``padding`` pixels.
    """
    _check_batch(batch)
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    n, _, h, w = batch.shape
    padded = np.pad(batch, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    # windows[i, c, y, x] is the HxW window of image i whose top-left corner is (y, x):
    # a view, no copy. Picking one (y, x) per image is then a single fancy-index gather.
    windows = sliding_window_view(padded, (h, w), axis=(2, 3))
    dy = rng.integers(0, 2 * padding + 1, size=n)
    dx = rng.integers(0, 2 * padding + 1, size=n)
    # Index arrays on axes 0, 2, 3 separated by the ":" on axis 1: NumPy puts their
    # broadcast axis (N) first, then C, H, W, giving (N, C, H, W) as wanted.
    return windows[np.arange(n), :, dy, dx]


def random_hflip(batch: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """Mirror each image left-right with probability ``p`` (returns a new array)."""
    _check_batch(batch)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p}")
    flip = rng.random(len(batch)) < p
    out = batch.copy()
    out[flip] = batch[flip, :, :, ::-1]
    return out


def normalize(batch: np.ndarray, mean, std) -> np.ndarray:
    """uint8 pixels -> float32 ``(pixel / 255 - mean) / std``, channel by channel."""
    _check_batch(batch)
    if batch.dtype != np.uint8:
        raise TypeError(f"normalize expects uint8 pixels (0..255), got {batch.dtype}")
    mean = np.asarray(mean, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)
    channels = batch.shape[1]
    if mean.shape != (channels,) or std.shape != (channels,):
        raise ValueError(f"mean and std need one value per channel ({channels}), "
                         f"got {mean.shape} and {std.shape}")
    if np.any(std <= 0):
        raise ValueError(f"std must be positive, got {std.tolist()}")
    # Fold /255 into the constants: x * scale + shift is one multiply-add per pixel.
    scale = (1.0 / (255.0 * std))[:, None, None]
    shift = (-mean / std)[:, None, None]
    return batch.astype(np.float32) * scale + shift


def mixup(images: np.ndarray, labels: np.ndarray, alpha: float, rng: np.random.Generator,
          num_classes: int):
    """Blend each sample with another from the same batch (Zhang et al., 2018).

    lam ~ Beta(alpha, alpha) for the batch; images become lam*x + (1-lam)*x[perm] and
    targets lam*y + (1-lam)*y[perm], with y the one-hot labels. ``labels`` may be int
    (N,) or already soft/one-hot (N, num_classes). Returns float32 (images, targets);
    each target row sums to 1.
    """
    if alpha <= 0:
        raise ValueError(f"mixup alpha must be > 0, got {alpha}")
    images = np.asarray(images, dtype=np.float32)
    targets = _as_soft_targets(np.asarray(labels), num_classes, len(images))
    lam = np.float32(rng.beta(alpha, alpha))
    perm = rng.permutation(len(images))
    mixed_images = lam * images + (1 - lam) * images[perm]
    mixed_targets = lam * targets + (1 - lam) * targets[perm]
    return mixed_images.astype(np.float32), mixed_targets.astype(np.float32)


def _as_soft_targets(labels, num_classes, n):
    if labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer):
        if len(labels) != n or (n and (labels.min() < 0 or labels.max() >= num_classes)):
            raise ValueError(f"labels must be {n} ints in [0, {num_classes})")
        return np.eye(num_classes, dtype=np.float32)[labels]
    if labels.shape != (n, num_classes):
        raise ValueError(f"labels must be int (N,) or soft (N, num_classes) = ({n}, {num_classes}), "
                         f"got {labels.dtype} {labels.shape}")
    return labels.astype(np.float32)


def _check_batch(batch):
    if not isinstance(batch, np.ndarray) or batch.ndim != 4:
        raise ValueError(f"expected a NumPy batch of shape (N, C, H, W), got "
                         f"{type(batch).__name__} with shape {getattr(batch, 'shape', None)}")
