"""DataLoader: shuffled, augmented, normalised float32 batches with exact resume.

Randomness. The loader owns one seeded ``np.random.Generator``. At the start of each
epoch it draws two things from it: the shuffle order and one 64-bit "epoch seed".
Batch b's augmentation then uses its own generator seeded with (epoch seed, b).
Consequences:
  * the whole run is a function of ``seed`` alone;
  * batch b's randomness does not depend on batches before it, so a background
    thread can build batches ahead (prefetch) and a resumed run can jump straight to
    batch b of an epoch without replaying the earlier ones.

Resume. ``state_dict()`` records the generator state *at the start of the current
epoch* plus how many batches of that epoch were consumed. Restoring it regenerates
the same order and epoch seed and continues at the same batch. All values are plain
NumPy arrays (the generator state as a JSON string), so ``np.savez`` stores them and
``np.load(..., allow_pickle=False)`` reads them back.

Iteration works like a tape: if you stop in the middle of an epoch (``break``), the
next ``for`` continues that epoch where it stopped, exactly as a restored loader does.
"""

import json
import math

import numpy as np

from .dataset import ArrayDataset, TensorDataset
from .prefetch import prefetch as run_ahead
from .transforms import normalize, random_crop, random_hflip, stats_for


class DataLoader:
    """Iterate over ``dataset`` in batches of ``(images float32 (B,C,H,W), labels int64 (B,))``;
    of a ``TensorDataset``, in batches of its arrays as they are (a tuple, one entry per array).

    shuffle: a fresh random order every epoch (off by default, as in PyTorch: a test set is read
        in order; a training loader passes shuffle=True).
    train_transforms: apply random crop (``padding``) and, if ``flip``, random
        horizontal flips, then ``randaugment`` (a RandAugment, or None); use False for evaluation.
    mean, std: per-channel normalisation in 0..1 units; default: the constants for
        ``dataset.name`` (see transforms.STATS).
    prefetch: build the next batch in a background thread (same batches, same order).

    Unlike PyTorch's, an epoch left part-way (a ``break``, or a ``next(iter(loader))``) is
    continued by the next ``iter()``, from the batch where it stopped: that is what lets a run
    stopped mid-epoch resume exactly (``state_dict``; the module's docstring says more). To
    abandon an epoch, build a new loader.
    """

    def __init__(self, dataset: ArrayDataset, batch_size: int, shuffle: bool = False,
                 drop_last: bool = False, seed: int = 0, train_transforms: bool = False,
                 padding: int = 4, flip: bool = True, mean=None, std=None,
                 prefetch: bool = False, randaugment=None):
        if not (isinstance(batch_size, (int, np.integer)) and batch_size > 0):
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        if drop_last and len(dataset) < batch_size:
            raise ValueError(f"drop_last=True with batch_size {batch_size} > {len(dataset)} samples "
                             f"would give no batches at all")
        if (mean is None) != (std is None):
            raise ValueError("pass both mean and std, or neither")
        self.of_images = not isinstance(dataset, TensorDataset)
        if not self.of_images and (train_transforms or mean is not None):
            raise ValueError("DataLoader: a TensorDataset's batches are handed out as they are; "
                             "train_transforms, mean and std are for an ArrayDataset of images")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = int(seed)
        self.train_transforms = train_transforms
        self.padding = int(padding)
        self.flip = flip
        if randaugment is not None and not (train_transforms and callable(randaugment)):
            raise ValueError("DataLoader: randaugment (a RandAugment) is a training transform: it needs "
                             f"train_transforms=True, got randaugment={randaugment!r} with train_transforms="
                             f"{train_transforms!r}")
        self.randaugment = randaugment
        self.mean, self.std = (mean, std) if mean is not None or not self.of_images else stats_for(dataset.name)
        self.prefetch = prefetch

        self._rng = np.random.default_rng(self.seed)
        self._epoch = 0  # index of the epoch in progress (or about to start)
        self._batch = 0  # batches of that epoch already handed out
        self._epoch_start_state = None  # generator state before this epoch's draws

    def __len__(self) -> int:
        """Number of batches per epoch."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    @property
    def epoch(self) -> int:
        """Completed epochs so far (plus the one in progress, if any batches were drawn)."""
        return self._epoch

    def __iter__(self):
        if self._batch == 0:  # a fresh epoch starts from the generator's current state
            self._epoch_start_state = self._rng.bit_generator.state
        else:  # resuming mid-epoch: rewind and redraw the same order and epoch seed
            self._rng.bit_generator.state = self._epoch_start_state
        order, epoch_seed = self._draw_epoch()

        batches = (self._make_batch(order, epoch_seed, b) for b in range(self._batch, len(self)))
        if self.prefetch:
            batches = run_ahead(batches)
        try:
            for batch in batches:
                # Count the batch as consumed *before* handing it out: a state_dict() taken
                # while the caller trains on it resumes at the next one.
                self._batch += 1
                if self._batch == len(self):
                    self._epoch, self._batch = self._epoch + 1, 0
                yield batch
        finally:
            batches.close()  # stops the prefetch thread if the caller breaks out early

    def _draw_epoch(self):
        n = len(self.dataset)
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        epoch_seed = int(self._rng.integers(2**63))
        return order, epoch_seed

    def _make_batch(self, order, epoch_seed, b):
        pick = order[b * self.batch_size:(b + 1) * self.batch_size]
        if not self.of_images:
            return self.dataset[pick]
        images = self.dataset.images[pick]  # uint8 gather: 4x less memory traffic than float
        if self.train_transforms:
            rng = np.random.default_rng((epoch_seed, b))
            if self.padding:
                images = random_crop(images, self.padding, rng)
            if self.flip:
                images = random_hflip(images, rng)
            if self.randaugment is not None:
                images = self.randaugment(images, rng)
        return normalize(images, self.mean, self.std), self.dataset.labels[pick]

    # ---- exact resume ---------------------------------------------------------------

    def state_dict(self) -> dict:
        """Everything needed to continue this exact sequence, as NumPy arrays (npz-safe)."""
        state = self._epoch_start_state if self._batch else self._rng.bit_generator.state
        return {
            "rng_state": np.array(json.dumps(state)),  # a unicode string array: no pickle
            "epoch": np.array(self._epoch, dtype=np.int64),
            "batch": np.array(self._batch, dtype=np.int64),
            # Stored only to refuse a restore into a loader that would diverge silently.
            "num_samples": np.array(len(self.dataset), dtype=np.int64),
            "batch_size": np.array(self.batch_size, dtype=np.int64),
            "shuffle": np.array(self.shuffle),
            "drop_last": np.array(self.drop_last),
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from ``state`` (from state_dict(), possibly via np.savez/np.load)."""
        missing = {"rng_state", "epoch", "batch", "num_samples", "batch_size"} - set(state)
        if missing:
            raise ValueError(f"loader state is missing {sorted(missing)}")
        for key, mine in (("num_samples", len(self.dataset)), ("batch_size", self.batch_size),
                          ("shuffle", self.shuffle), ("drop_last", self.drop_last)):
            if key in state and _scalar(state[key]) != mine:
                raise ValueError(f"loader state was saved with {key}={_scalar(state[key])}, but this "
                                 f"loader has {key}={mine}; the batch sequence would differ")
        rng_state = json.loads(str(np.asarray(state["rng_state"])))
        if rng_state.get("bit_generator") != type(self._rng.bit_generator).__name__:
            raise ValueError(f"loader state holds a {rng_state.get('bit_generator')} generator state; "
                             f"expected {type(self._rng.bit_generator).__name__}")
        batch = int(_scalar(state["batch"]))
        if not 0 <= batch < max(len(self), 1):
            raise ValueError(f"loader state says {batch} batches done; must be in [0, {len(self)})")
        self._rng.bit_generator.state = rng_state
        self._epoch = int(_scalar(state["epoch"]))
        self._batch = batch
        self._epoch_start_state = rng_state if batch else None


def _scalar(value):
    """A 0-d array (as np.load returns it) or a Python value, as a Python value."""
    return np.asarray(value).item()
