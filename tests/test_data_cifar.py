"""CIFAR-10/100 binary loaders on tiny files written in the true record formats."""

import dataclasses
import hashlib
import tarfile

import numpy as np
import pytest

from tinycoat.data import DatasetError, cifar, load_cifar10, load_cifar100, load_dataset

PER_FILE = 3  # records per fake batch file


def fake_images(n, seed):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)


def record_bytes(label_columns, images):
    """Records as the dataset's authors wrote them: label byte(s), then R, G, B planes."""
    planes = images.reshape(len(images), 3 * 1024)  # R plane, then G, then B, row-major
    return np.concatenate([np.stack(label_columns, 1).astype(np.uint8), planes], 1).tobytes()


def write_cifar10(root, meta=True):
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    truth = {}
    for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
        images, labels = fake_images(PER_FILE, seed=i), (np.arange(PER_FILE) + i) % 10
        (folder / name).write_bytes(record_bytes([labels], images))
        truth[name] = (images, labels)
    if meta:
        (folder / "batches.meta.txt").write_text("\n".join(f"class{k}" for k in range(10)) + "\n\n")
    return folder, truth


def write_cifar100(root):
    folder = root / "cifar-100-binary"
    folder.mkdir(parents=True)
    truth = {}
    for i, name in enumerate(["train.bin", "test.bin"]):
        n = 4 + i
        images, fine = fake_images(n, seed=10 + i), np.array([99, 0, 42, 7, 63][:n])
        coarse = fine // 5
        (folder / name).write_bytes(record_bytes([coarse, fine], images))
        truth[name] = (images, fine)
    return folder, truth


def test_pixel_layout_round_trips_exactly(tmp_path):
    # One image with known, distinct planes: R = 10 + row, G = 100 + col, B = 200.
    row, col = np.mgrid[0:32, 0:32]
    image = np.stack([10 + row, 100 + col, np.full((32, 32), 200)]).astype(np.uint8)[None]
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name in [f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]:
        (folder / name).write_bytes(bytes([3]) + bytes(10 + r for r in range(32) for _ in range(32))
                                    + bytes(100 + c for _ in range(32) for c in range(32))
                                    + bytes([200]) * 1024)
    data = load_cifar10(tmp_path, train=False, download=False)
    assert data.images.shape == (1, 3, 32, 32) and data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.images, image)
    assert data.labels.tolist() == [3] and data.labels.dtype == np.int64
    assert data.classes == cifar.CIFAR10_CLASSES  # no meta file: published names


def test_cifar10_train_and_test_from_extracted_folder(tmp_path):
    _, truth = write_cifar10(tmp_path)
    train = load_cifar10(tmp_path, train=True, download=False)
    names = [f"data_batch_{k}.bin" for k in range(1, 6)]
    np.testing.assert_array_equal(train.images, np.concatenate([truth[n][0] for n in names]))
    np.testing.assert_array_equal(train.labels, np.concatenate([truth[n][1] for n in names]))
    assert train.classes == [f"class{k}" for k in range(10)]  # from batches.meta.txt
    assert train.name == "cifar10" and len(train) == 5 * PER_FILE
    test = load_cifar10(tmp_path, train=False, download=False)
    np.testing.assert_array_equal(test.images, truth["test_batch.bin"][0])


def test_cifar100_uses_fine_labels_and_names(tmp_path):
    folder, truth = write_cifar100(tmp_path)
    (folder / "fine_label_names.txt").write_text("\n".join(f"fine{k}" for k in range(100)))
    train = load_cifar100(tmp_path, train=True, download=False)
    np.testing.assert_array_equal(train.images, truth["train.bin"][0])
    assert train.labels.tolist() == [99, 0, 42, 7]
    assert train.classes[99] == "fine99" and train.num_classes == 100
    test = load_dataset("cifar100", root=tmp_path, train=False, download=False)
    assert test.labels.tolist() == [99, 0, 42, 7, 63]


def test_cifar100_coarse_uses_byte_0_and_the_superclass_names(tmp_path):
    folder, truth = write_cifar100(tmp_path)
    data = load_dataset("cifar100-coarse", root=tmp_path, train=True, download=False)
    fine = load_cifar100(tmp_path, train=True, download=False)
    assert data.name == "cifar100-coarse" and len(data.classes) == 20
    assert data.classes[0] == "aquatic_mammals" and data.classes[-1] == "vehicles_2"   # published list
    np.testing.assert_array_equal(data.labels, fine.labels // 5)   # the files above: coarse = fine // 5
    np.testing.assert_array_equal(data.images, fine.images)
    (folder / "coarse_label_names.txt").write_text("\n".join(f"super{k}" for k in range(20)))
    assert load_cifar100(tmp_path, download=False, labels="coarse").classes[3] == "super3"
    with pytest.raises(ValueError, match="labels must be 'fine' or 'coarse'"):
        load_cifar100(tmp_path, download=False, labels="medium")


def test_cifar100_falls_back_to_published_names(tmp_path):
    write_cifar100(tmp_path)
    data = load_cifar100(tmp_path, download=False)
    assert data.classes[:2] == ["apple", "aquarium_fish"] and data.classes[-1] == "worm"


def test_truncated_file_is_named(tmp_path):
    folder, _ = write_cifar10(tmp_path)
    bad = folder / "data_batch_3.bin"
    bad.write_bytes(bad.read_bytes()[:-1])
    with pytest.raises(DatasetError) as err:
        load_cifar10(tmp_path, download=False)
    assert str(bad) in str(err.value) and "3073" in str(err.value)


def test_a_training_file_cut_at_a_record_boundary_is_named(tmp_path):
    """Whole records, but fewer than its four siblings: truncated all the same."""
    folder, _ = write_cifar10(tmp_path)
    short = folder / "data_batch_2.bin"
    short.write_bytes(short.read_bytes()[:-3073])
    with pytest.raises(DatasetError, match=r"hold \[3, 2, 3, 3, 3\] records, but the five should be alike"):
        load_cifar10(tmp_path, download=False)


def test_cifar100_record_size_is_3074(tmp_path):
    folder, _ = write_cifar100(tmp_path)
    # Three CIFAR-10-sized records (3 * 3073 bytes) are not a whole number of 3074-byte
    # CIFAR-100 records, so the CIFAR-100 reader must refuse them.
    (folder / "train.bin").write_bytes(bytes(3 * 3073))
    with pytest.raises(DatasetError, match="3074"):
        load_cifar100(tmp_path, download=False)


def test_missing_batch_and_bad_label_and_bad_meta(tmp_path):
    folder, _ = write_cifar10(tmp_path)
    (folder / "batches.meta.txt").write_text("only\nthree\nnames\n")
    with pytest.raises(DatasetError, match="batches.meta.txt lists 3"):
        load_cifar10(tmp_path, download=False)
    (folder / "batches.meta.txt").write_text("\n".join(["cat"] * 2 + [f"class{k}" for k in range(8)]))
    with pytest.raises(DatasetError, match="names 'cat' more than once"):
        load_cifar10(tmp_path, download=False)
    (folder / "batches.meta.txt").write_bytes(b"airplane\n\xff\xfe\n")
    with pytest.raises(DatasetError, match=r"batches.meta.txt is not UTF-8 text .*one class name per line"):
        load_cifar10(tmp_path, download=False)
    (folder / "batches.meta.txt").unlink()
    (folder / "test_batch.bin").write_bytes(bytes([10]) + bytes(3072))  # label 10 of 0..9
    with pytest.raises(DatasetError, match="label 10"):
        load_cifar10(tmp_path, train=False, download=False)
    (folder / "data_batch_5.bin").unlink()
    with pytest.raises(DatasetError, match="data_batch_5.bin"):
        load_cifar10(tmp_path, download=False)


def test_nothing_present_and_download_false_says_where_to_put_archive(tmp_path):
    with pytest.raises(DatasetError) as err:
        load_cifar10(tmp_path, download=False)
    msg = str(err.value)
    assert str(tmp_path / "cifar-10-binary.tar.gz") in msg and cifar.CIFAR10.url in msg


def make_archive(tmp_path):
    """A real .tar.gz of a fake CIFAR-10 folder, plus a Release whose digests match it."""
    folder, truth = write_cifar10(tmp_path / "build")
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-bin")
    data = archive.read_bytes()
    release = dataclasses.replace(cifar.CIFAR10, url=archive.as_uri(),
                                  md5=hashlib.md5(data).hexdigest(),
                                  sha256=hashlib.sha256(data).hexdigest())
    return archive, release, truth


def test_archive_placed_by_hand_is_verified_and_extracted(tmp_path, monkeypatch):
    archive, release, truth = make_archive(tmp_path)
    root = tmp_path / "root"
    root.mkdir()
    archive.rename(root / archive.name)
    monkeypatch.setattr(cifar, "CIFAR10", release)
    data = load_cifar10(root, train=False, download=False)
    np.testing.assert_array_equal(data.images, truth["test_batch.bin"][0])
    assert (root / "cifar-10-batches-bin" / "test_batch.bin").is_file()
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []  # scratch removed


def test_corrupt_archive_placed_by_hand_is_refused(tmp_path, monkeypatch):
    archive, release, _ = make_archive(tmp_path)
    root = tmp_path / "root"
    root.mkdir()
    (root / archive.name).write_bytes(archive.read_bytes()[:-10])  # a truncated copy
    monkeypatch.setattr(cifar, "CIFAR10", release)
    with pytest.raises(DatasetError) as err:
        load_cifar10(root, download=False)
    assert "checksum mismatch" in str(err.value) and release.sha256 in str(err.value)
    assert not (root / "cifar-10-batches-bin").exists()


def test_download_path_fetches_verifies_and_extracts(tmp_path, monkeypatch):
    _, release, truth = make_archive(tmp_path)  # its file:// URL stands in for the server
    monkeypatch.setattr(cifar, "CIFAR10", release)
    root = tmp_path / "fresh"
    data = load_cifar10(root, train=True, download=True)
    assert len(data) == 5 * PER_FILE
    assert (root / "cifar-10-binary.tar.gz").is_file()
