"""ArrayDataset, load_dataset() dispatch, the default root, and a no-pickle audit of the package."""

import re
from pathlib import Path

import numpy as np
import pytest

import tinycoat.data
from tinycoat.data import ArrayDataset, DatasetError, default_root, load_dataset


def toy(n=10):
    images = np.arange(n, dtype=np.uint8)[:, None, None, None].repeat(2, 2).repeat(2, 3)
    return ArrayDataset(images, np.arange(n) % 3, ["a", "b", "c"], "toy")


def test_array_dataset_basics_and_subset():
    data = toy()
    assert len(data) == 10 and data.num_classes == 3 and data.image_shape == (1, 2, 2)
    assert data.labels.dtype == np.int64
    sub = data.subset(4, seed=1)
    assert len(sub) == 4 and sub.name == "toy" and sub.classes == data.classes
    assert len(set(sub.images[:, 0, 0, 0].tolist())) == 4  # distinct samples
    np.testing.assert_array_equal(sub.labels, sub.images[:, 0, 0, 0] % 3)  # pairs kept together
    np.testing.assert_array_equal(data.subset(4, seed=1).images, sub.images)  # seeded
    assert not np.array_equal(data.subset(10, seed=2).images, data.images)  # shuffled
    with pytest.raises(ValueError, match=r"\[0, 10\]"):
        data.subset(11)
    with pytest.raises(TypeError, match="subset size must be an int, got 2.5"):
        data.subset(2.5)
    # every part remembers where its samples came from, through parts of parts
    assert data.source_indices().tolist() == list(range(10))
    np.testing.assert_array_equal(data.images[sub.source_indices()], sub.images)
    half = sub.part(slice(2, 4))
    np.testing.assert_array_equal(data.images[half.source_indices()], half.images)
    with pytest.raises(ValueError, match=r"source_index must hold one index per sample, \(10,\), got shape \(3,\)"):
        ArrayDataset(data.images, data.labels, data.classes, "toy", source_index=np.arange(3))


@pytest.mark.parametrize("images, labels, match", [
    (np.zeros((2, 1, 2, 2), np.float32), [0, 1], "uint8"),
    (np.zeros((2, 2, 2), np.uint8), [0, 1], r"\(N, C, H, W\)"),
    (np.zeros((2, 1, 2, 2), np.uint8), [0], "2 images but 1 labels"),
    (np.zeros((2, 1, 2, 2), np.uint8), [0, 3], r"\[0, 3\)"),
    (np.zeros((2, 1, 2, 2), np.uint8), [0.0, 1.0], "integer"),
])
def test_array_dataset_rejects_bad_arrays(images, labels, match):
    with pytest.raises(ValueError, match=match):
        ArrayDataset(images, np.array(labels), ["a", "b", "c"], "bad")


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ValueError) as err:
        load_dataset("imagenet")
    for name in ("cifar10", "cifar100", "fashion-mnist", "folder"):
        assert name in str(err.value)


def test_argument_errors():
    with pytest.raises(ValueError, match="32"):
        load_dataset("cifar10", image_size=64)
    with pytest.raises(ValueError, match="root="):
        load_dataset("folder")


def test_default_root_and_env_override(tmp_path, monkeypatch):
    monkeypatch.delenv("TINYCOAT_DATA", raising=False)
    assert default_root() == Path("~/.cache/tinycoat").expanduser()
    monkeypatch.setenv("TINYCOAT_DATA", str(tmp_path))
    assert default_root() == tmp_path
    # load_dataset with root=None looks there (and says so when nothing is found).
    with pytest.raises(DatasetError, match=re.escape(str(tmp_path / "cifar-100-binary.tar.gz"))):
        load_dataset("CIFAR100", download=False)


def test_no_pickle_anywhere_in_the_data_package():
    sources = sorted(Path(tinycoat.data.__file__).parent.glob("*.py"))
    assert len(sources) >= 10
    for path in sources:
        text = path.read_text()
        assert "allow_pickle=True" not in text, path
        assert not re.search(r"^\s*(import|from)\s+(c?pickle|dill|joblib)\b", text, re.M), path
        assert "np.load(" not in text or "allow_pickle=False" in text, path
