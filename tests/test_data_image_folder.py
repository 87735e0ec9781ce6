"""Image-folder loading: decoding, resize + centre crop, class order, the .npz cache."""

import numpy as np
import pytest
from PIL import Image

from tinycoat.data import DatasetError, load_dataset, load_image_folder

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def solid(path, color, size=(12, 8), fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, format=fmt)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "tiny-imagenette"
    solid(root / "train" / "zebra" / "z1.JPEG", BLUE, fmt="JPEG")  # upper-case extension
    solid(root / "train" / "zebra" / "z2.jpg", BLUE, size=(9, 30), fmt="JPEG")
    solid(root / "train" / "ant" / "a1.png", RED)
    (root / "train" / "ant" / "notes.txt").write_text("not an image")  # ignored
    (root / "train" / "ant" / "nested").mkdir()  # ignored
    solid(root / "val" / "ant" / "v1.png", RED)
    solid(root / "val" / "zebra" / "v2.png", BLUE)
    return root


def test_classes_sorted_labels_and_shapes(tree, tmp_path):
    data = load_image_folder(tree, "train", image_size=8, cache_dir=tmp_path / "cache")
    assert data.classes == ["ant", "zebra"]
    assert data.labels.tolist() == [0, 1, 1]
    assert data.images.shape == (3, 3, 8, 8) and data.images.dtype == np.uint8
    assert data.name == "folder:tiny-imagenette"
    np.testing.assert_array_equal(data.images[0].reshape(3, -1).T, np.tile(RED, (64, 1)))
    # JPEG is lossy: the blue images are only approximately pure blue.
    assert np.abs(data.images[1:].astype(int) - np.array(BLUE)[None, :, None, None]).max() <= 8
    val = load_dataset("folder", root=tree, train=False, image_size=8, cache_dir=tmp_path / "cache")
    assert val.labels.tolist() == [0, 1] and val.classes == ["ant", "zebra"]


def test_the_decoding_bar_can_be_silenced(tree, tmp_path, capsys):
    load_dataset("folder", root=tree, image_size=8, cache_dir=tmp_path / "quiet", progress=False)
    assert "decoding" not in capsys.readouterr().err
    load_dataset("folder", root=tree, image_size=8, cache_dir=tmp_path / "shown")
    assert "decoding tiny-imagenette/train" in capsys.readouterr().err


@pytest.mark.parametrize("portrait", [False, True])
def test_shorter_side_resize_then_centre_crop(tmp_path, portrait):
    # 60x20 landscape: columns red 0-10 | green 10-50 | blue 50-60, rows 0-5 black on top.
    # Resizing the short side to 10 halves it (30x10); the centre crop keeps columns 10-20,
    # i.e. original columns 20-40: green, with the black top rows shrunk to about 2 rows.
    # A crop without resizing would show no black; an off-centre crop would show red/blue.
    arr = np.zeros((20, 60, 3), np.uint8)
    arr[:, :10], arr[:, 10:50], arr[:, 50:] = RED, GREEN, BLUE
    arr[:5] = 0
    if portrait:  # the same picture turned on its side must give the transposed result
        arr = arr.transpose(1, 0, 2)
    root = tmp_path / "bands"
    (root / "train" / "only").mkdir(parents=True)
    Image.fromarray(np.ascontiguousarray(arr)).save(root / "train" / "only" / "x.png")
    out = load_image_folder(root, "train", image_size=10, cache_dir=tmp_path / "cache").images[0]
    assert out.shape == (3, 10, 10)
    if portrait:
        out = out.transpose(0, 2, 1)
    assert not out[:, 0].any()  # top row: black
    np.testing.assert_array_equal(out[:, 3:].reshape(3, -1).T, np.tile(GREEN, (70, 1)))


def test_second_load_uses_cache_not_pillow(tree, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = load_image_folder(tree, "train", image_size=8, cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("Image.open called although the cache is valid")

    monkeypatch.setattr(Image, "open", no_decoding)
    second = load_image_folder(tree, "train", image_size=8, cache_dir=cache)
    np.testing.assert_array_equal(second.images, first.images)
    np.testing.assert_array_equal(second.labels, first.labels)
    assert second.classes == first.classes

    # The cache is keyed by the file list: a new image must force decoding again.
    monkeypatch.undo()
    solid(tree / "train" / "ant" / "a2.png", RED)
    calls = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda *a, **k: calls.append(a) or real_open(*a, **k))
    third = load_image_folder(tree, "train", image_size=8, cache_dir=cache)
    assert len(third) == 4 and len(calls) == 4
    # A different size is a different cache entry, too.
    assert load_image_folder(tree, "train", image_size=6, cache_dir=cache).images.shape[-1] == 6


def test_cache_file_is_plain_arrays(tree, tmp_path):
    cache = tmp_path / "cache"
    load_image_folder(tree, "train", image_size=8, cache_dir=cache)
    (path,) = cache.glob("*.npz")
    with np.load(path, allow_pickle=False) as f:  # would raise if anything needed pickle
        assert f["classes"].tolist() == ["ant", "zebra"] and f["images"].shape == (3, 3, 8, 8)
    assert [p.name for p in cache.iterdir()] == [path.name]  # no temp files left


def test_corrupt_cache_is_rebuilt_with_a_warning(tree, tmp_path):
    cache = tmp_path / "cache"
    first = load_image_folder(tree, "train", image_size=8, cache_dir=cache)
    (path,) = cache.glob("*.npz")
    path.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable cache"):
        again = load_image_folder(tree, "train", image_size=8, cache_dir=cache)
    np.testing.assert_array_equal(again.images, first.images)


def test_unreadable_image_is_named(tree, tmp_path):
    bad = tree / "train" / "ant" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 definitely not a jpeg")
    with pytest.raises(DatasetError) as err:
        load_image_folder(tree, "train", image_size=8, cache_dir=tmp_path / "cache")
    assert str(bad) in str(err.value)


def test_layout_errors(tmp_path):
    root = tmp_path / "ds"
    with pytest.raises(DatasetError, match="missing folder .*val"):
        load_image_folder(root, "val", cache_dir=tmp_path / "c")
    (root / "train").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no class sub-folders"):
        load_image_folder(root, "train", cache_dir=tmp_path / "c")
    (root / "train" / "empty").mkdir()
    with pytest.raises(DatasetError, match="empty holds no"):
        load_image_folder(root, "train", cache_dir=tmp_path / "c")
    with pytest.raises(ValueError, match="image_size"):
        load_image_folder(root, "train", image_size=0, cache_dir=tmp_path / "c")


def test_a_split_with_other_class_folders_than_train_is_refused(tree, tmp_path):
    """val/ without train/'s "zebra" but with a "yak": its labels would number other classes."""
    solid(tree / "val" / "yak" / "y1.png", GREEN)
    with pytest.raises(DatasetError, match=r"different class folders \(only in val: \['yak'\]; only in train: none\)"):
        load_image_folder(tree, "val", cache_dir=tmp_path / "c")
    (tree / "val" / "yak" / "y1.png").unlink()
    (tree / "val" / "yak").rmdir()
    for image in (tree / "val" / "zebra").iterdir():
        image.unlink()
    (tree / "val" / "zebra").rmdir()
    with pytest.raises(DatasetError, match=r"only in val: none; only in train: \['zebra'\]"):
        load_image_folder(tree, "val", cache_dir=tmp_path / "c")


def test_16_bit_images_are_scaled_not_clipped(tmp_path):
    """A 16-bit PNG ramp 0..65535 decodes to 0..255 in proportion (Pillow's own conversion would
    make 97 % of it 255); floating-point pixels, with no range to scale from, are refused."""
    from tinycoat.data.image_folder import decode_image
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (64, 1))
    Image.fromarray(ramp).save(tmp_path / "ramp16.png")
    pixels = decode_image(tmp_path / "ramp16.png", 64)
    np.testing.assert_allclose(pixels[0, 0].astype(float), ramp[0] / 257, atol=1.0)
    assert pixels.min() == 0 and pixels.max() == 255 and (pixels == 255).mean() < 0.05
    assert (pixels[0] == pixels[1]).all() and (pixels[1] == pixels[2]).all()    # grey: the same in R, G, B
    Image.fromarray(np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)).save(tmp_path / "float.tiff")
    with pytest.raises(DatasetError, match="float.tiff.*floating-point"):
        decode_image(tmp_path / "float.tiff", 32)


def test_one_channel_decoding_is_the_luma_of_the_colours(tmp_path):
    """channels=1 (a Fashion-MNIST model's input): Pillow's ITU-R 601 luma, L = (299 R + 587 G + 114 B) / 1000."""
    from tinycoat.data.image_folder import decode_image
    Image.fromarray(np.full((20, 30, 3), (200, 100, 50), np.uint8)).save(tmp_path / "brown.png")
    grey = decode_image(tmp_path / "brown.png", 8, channels=1)
    assert grey.shape == (1, 8, 8) and abs(int(grey[0, 4, 4]) - (299 * 200 + 587 * 100 + 114 * 50) / 1000) <= 1
    assert (grey == grey[0, 0, 0]).all()
    with pytest.raises(ValueError, match="channels must be 1 .* or 3"):
        decode_image(tmp_path / "brown.png", 8, channels=2)


def test_a_decompression_bomb_names_the_limit_and_how_to_lift_it(tmp_path, monkeypatch):
    from tinycoat.data import image_folder
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)          # 2000 pixels > twice the limit
    with pytest.raises(DatasetError, match="big.png.*decompression bombs.*TINYCOAT_MAX_IMAGE_PIXELS"):
        image_folder.decode_image(tmp_path / "big.png", 16)
    monkeypatch.setenv("TINYCOAT_MAX_IMAGE_PIXELS", "10000")
    assert image_folder.decode_image(tmp_path / "big.png", 16).shape == (3, 16, 16)
