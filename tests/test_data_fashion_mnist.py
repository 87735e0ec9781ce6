"""IDX parsing and the Fashion-MNIST loader, on tiny gzipped IDX files (and on the real
files when Debian's dataset-fashion-mnist package is installed)."""

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra import numpy as hnp

from tinycoat.data import DatasetError, fashion_mnist, load_dataset, load_fashion_mnist, read_idx
from tinycoat.data.idx import write_idx
from tinycoat.data.transforms import FASHION_MNIST_MEAN, FASHION_MNIST_STD


def write_raw_idx(path, header: bytes, data: bytes):
    with gzip.open(path, "wb") as f:
        f.write(header + data)


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=4, max_side=5)))
def test_idx_round_trip(tmp_path_factory, array):
    path = tmp_path_factory.mktemp("idx") / "a-idx.gz"
    write_idx(path, array)
    np.testing.assert_array_equal(read_idx(path), array)


def test_idx_header_is_the_published_big_endian_layout(tmp_path):
    # Hand-built, independent of write_idx: 0x00 0x00 0x08 0x03, then 2, 3, 4 as big-endian u32.
    path = tmp_path / "x-idx3-ubyte.gz"
    write_raw_idx(path, bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 3, 4), bytes(range(24)))
    out = read_idx(path)
    assert out.shape == (2, 3, 4) and out[1, 2, 3] == 23
    plain = tmp_path / "x-idx3-ubyte"  # not gzipped
    plain.write_bytes(gzip.decompress(path.read_bytes()))
    np.testing.assert_array_equal(read_idx(plain), out)


@pytest.mark.parametrize("header, data, expected", [
    (bytes([1, 0, 8, 1]) + struct.pack(">I", 3), bytes(3), "magic"),
    (bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 3), bytes(12), "0x0d"),  # float type
    (bytes([0, 0, 8, 1]) + struct.pack(">I", 5), bytes(3), "truncated"),  # too short
    (bytes([0, 0, 8, 1]) + struct.pack(">I", 2), bytes(3), "truncated"),  # too long
    (bytes([0, 0, 8, 3]) + struct.pack(">I", 2), b"", "3 dimensions"),  # header cut short
    (b"\x00\x00", b"", "too short"),
    (bytes([0, 0, 8, 0]), b"", "announces 0 dimensions"),
    (bytes([0, 0, 8, 4]) + struct.pack(">IIII", *[65536] * 4), b"", "18,446,744,073,709,551,616 bytes"),   # 2**64
], ids=["bad-magic", "wrong-type", "short-data", "extra-data", "short-header", "tiny", "no-dimensions",
        "sizes-past-int64"])
def test_idx_validation_names_the_file(tmp_path, header, data, expected):
    path = tmp_path / "broken-idx.gz"
    write_raw_idx(path, header, data)
    with pytest.raises(DatasetError) as err:
        read_idx(path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_not_gzip_is_named(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"<html>404 not found</html>")
    with pytest.raises(DatasetError, match="not a valid gzip"):
        read_idx(path)


def write_fashion(folder, n=5, train=True):
    folder.mkdir(parents=True, exist_ok=True)
    images = np.random.default_rng(0).integers(1, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) * 3 % 10).astype(np.uint8)
    image_file, label_file = fashion_mnist.FILES[train]
    write_idx(folder / image_file, images)
    write_idx(folder / label_file, labels)
    return images, labels


@pytest.fixture
def no_system_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "no-system-copy")


def test_loads_from_root_and_pads_to_32(tmp_path, no_system_copy):
    images, labels = write_fashion(tmp_path / "fashion-mnist", train=False)
    data = load_fashion_mnist(tmp_path, train=False, download=False)
    assert data.images.shape == (5, 1, 32, 32) and data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.images[:, 0, 2:30, 2:30], images)  # centred
    border = data.images.copy()
    border[:, :, 2:30, 2:30] = 0
    assert not border.any()  # the 2-pixel frame is zero
    assert data.labels.tolist() == labels.tolist() and data.labels.dtype == np.int64
    assert data.classes[0] == "T-shirt/top" and data.name == "fashion-mnist"


def test_files_directly_in_root_also_work(tmp_path, no_system_copy):
    write_fashion(tmp_path, n=3)
    assert len(load_dataset("fashion-mnist", root=tmp_path, download=False)) == 3


def test_mismatched_counts_are_refused(tmp_path, no_system_copy):
    write_fashion(tmp_path, n=4)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte.gz"):
        load_fashion_mnist(tmp_path, download=False)


def test_missing_without_download_lists_the_places_searched(tmp_path, no_system_copy, monkeypatch):
    with pytest.raises(DatasetError) as err:
        load_fashion_mnist(tmp_path, download=False)          # a folder the caller names: only there
    msg = str(err.value)
    assert "train-images-idx3-ubyte.gz" in msg and str(tmp_path / "fashion-mnist") in msg
    assert str(fashion_mnist.SYSTEM_DIR) not in msg
    monkeypatch.setenv("TINYCOAT_DATA", str(tmp_path / "default"))
    with pytest.raises(DatasetError) as err:
        load_fashion_mnist(download=False)                    # no root: the default, then Debian's copy
    assert str(tmp_path / "default") in str(err.value) and str(fashion_mnist.SYSTEM_DIR) in str(err.value)
    assert "needs all four: " + ", ".join(fashion_mnist.MD5) in str(err.value)


def test_an_offline_download_names_every_file_needed(tmp_path, no_system_copy, monkeypatch):
    """Offline, the user copies the files by hand: all four named at once, not one per attempt."""
    def offline(url, path, md5):
        raise DatasetError(f"could not download {url}: no network. Copy it to {path}.")
    monkeypatch.setattr(fashion_mnist, "download_file", offline)
    with pytest.raises(DatasetError) as err:
        load_fashion_mnist(tmp_path)
    assert "could not download" in str(err.value) and all(name in str(err.value) for name in fashion_mnist.MD5)


def test_a_named_folder_never_falls_back_to_the_system_copy(tmp_path, monkeypatch):
    """--data-dir that lacks the files is an error, even where Debian's copy would be found."""
    write_fashion(tmp_path / "system")
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "system")
    with pytest.raises(DatasetError, match="not found"):
        load_fashion_mnist(tmp_path / "mine", download=False)
    monkeypatch.setenv("TINYCOAT_DATA", str(tmp_path / "default"))
    assert len(load_fashion_mnist(download=False)) > 0       # no folder named: the system copy serves


def test_download_verifies_the_published_md5(tmp_path, no_system_copy, monkeypatch):
    # Serve fake files from a file:// "mirror": their MD5 is not the published one, so
    # the download must be rejected, proving the check is wired in.
    write_fashion(tmp_path / "mirror")
    monkeypatch.setattr(fashion_mnist, "URL", (tmp_path / "mirror").as_uri() + "/")
    with pytest.raises(DatasetError, match="checksum mismatch.*8d4fb7e6c68d591d4c3dfef9ec88bf0d"):
        load_fashion_mnist(tmp_path / "root", download=True)
    assert not (tmp_path / "root" / "fashion-mnist" / "train-images-idx3-ubyte.gz").exists()


REAL = fashion_mnist.SYSTEM_DIR


@pytest.mark.skipif(not (REAL / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason=f"Debian's dataset-fashion-mnist is not installed ({REAL} missing)")
def test_real_debian_files(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYCOAT_DATA", str(tmp_path))                  # an empty default root ...
    train = load_fashion_mnist(train=True, download=False)               # ... -> the system copy
    test = load_fashion_mnist(train=False, download=False)
    assert train.images.shape == (60000, 1, 32, 32) and test.images.shape == (10000, 1, 32, 32)
    assert np.bincount(train.labels).tolist() == [6000] * 10  # balanced classes
    assert np.bincount(test.labels).tolist() == [1000] * 10
    # The normalisation constants were measured on exactly these padded images; a histogram
    # of the 256 pixel values gives mean and std without a 60-million-element float array.
    counts = np.bincount(train.images.ravel(), minlength=256)
    values = np.arange(256) / 255.0
    mean = (counts * values).sum() / counts.sum()
    std = np.sqrt((counts * (values - mean) ** 2).sum() / counts.sum())
    assert mean == pytest.approx(FASHION_MNIST_MEAN[0], abs=1e-4)
    assert std == pytest.approx(FASHION_MNIST_STD[0], abs=1e-4)
