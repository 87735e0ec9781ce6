"""RandAugment: each operation against its definition (and Pillow's ImageOps/ImageEnhance, Pillow
being a run-time dependency), the batch transform's reproducibility, and its place in the
DataLoader and train_cifar.py."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from PIL import Image, ImageEnhance, ImageOps

from tinycoat.data import DataLoader, RandAugment
from tinycoat.data.dataset import ArrayDataset
from tinycoat.data.randaugment import OPS, apply, strength

images = st.integers(0, 2 ** 32 - 1).map(
    lambda seed: np.random.default_rng(seed).integers(0, 256, (3, 7, 9), dtype=np.uint8))


def as_pil(image):
    return Image.fromarray(image.transpose(1, 2, 0))


def from_pil(picture):
    return np.asarray(picture).transpose(2, 0, 1)


@given(image=images)
def test_the_lookup_operations_are_pillows(image):
    """Equalize, Posterize and Solarize exactly as Pillow's ImageOps; AutoContrast within one level."""
    assert np.array_equal(apply(image, "Equalize", 0.0), from_pil(ImageOps.equalize(as_pil(image))))
    for bits in (4, 6, 8):
        assert np.array_equal(apply(image, "Posterize", float(bits)), from_pil(ImageOps.posterize(as_pil(image), bits)))
    for threshold in (0, 100, 255):
        assert np.array_equal(apply(image, "Solarize", float(threshold)),
                              from_pil(ImageOps.solarize(as_pil(image), threshold)))
    auto = apply(image, "AutoContrast", 0.0).astype(int)
    assert np.abs(auto - from_pil(ImageOps.autocontrast(as_pil(image)))).max() <= 1
    assert auto.min(axis=(1, 2)).tolist() == [0, 0, 0] and auto.max(axis=(1, 2)).tolist() == [255] * 3


@pytest.mark.parametrize("op,enhancer", [("Brightness", ImageEnhance.Brightness), ("Color", ImageEnhance.Color),
                                         ("Contrast", ImageEnhance.Contrast), ("Sharpness", ImageEnhance.Sharpness)])
@given(image=images, v=st.floats(-0.9, 0.9))
def test_the_enhancements_blend_as_pillows_do(op, enhancer, image, v):
    """x·f + d·(1 − f) with f = 1 + v and Pillow's degenerate images: within one level of Pillow
    (which rounds its grey and its blend in integers)."""
    got = apply(image, op, v).astype(int)
    assert np.abs(got - from_pil(enhancer(as_pil(image)).enhance(1 + v))).max() <= 1


def test_the_geometric_operations_move_pixels_where_they_say():
    image = np.arange(5 * 5, dtype=np.uint8).reshape(1, 5, 5) + 1
    shifted = apply(image, "TranslateX", 2.0)
    assert np.array_equal(shifted[0, :, 2:], image[0, :, :3]) and not shifted[0, :, :2].any()
    assert np.array_equal(apply(image, "TranslateY", -1.0)[0, :4], image[0, 1:])
    dot = np.zeros((1, 5, 5), np.uint8)
    dot[0, 0, 2] = 255                                           # top centre
    assert apply(dot, "Rotate", 90.0)[0, 2, 0] == 255            # counter-clockwise: to the left centre
    assert apply(dot, "Rotate", -90.0)[0, 2, 4] == 255
    assert np.array_equal(apply(image, "Rotate", 360.0), image)
    sheared = apply(image, "ShearX", 0.5)                        # row y moves by 0.5·(y − 2)
    assert np.array_equal(sheared[0, 2], image[0, 2]) and np.array_equal(sheared[0, 4, :4], image[0, 4, 1:])
    assert np.array_equal(apply(image, "ShearY", 0.0), image)


@pytest.mark.parametrize("op", OPS)
def test_magnitude_zero_leaves_an_image_alone(op):
    """At m = 0 every operation is the identity, but for the three that have no magnitude (they act
    at every m) and Solarize, whose threshold 255 still inverts the value 255."""
    image = np.random.default_rng(3).integers(1, 255, (3, 6, 6), dtype=np.uint8)     # no 0 or 255
    out = apply(image, op, strength(op, 0, 31, image.shape[1:]))
    assert out.dtype == np.uint8 and out.shape == image.shape
    if op not in ("AutoContrast", "Equalize"):
        assert np.array_equal(out, image)


def test_the_strength_table_is_torchvisions():
    assert strength("Rotate", 30, 31, (32, 32)) == 30.0 and strength("ShearX", 15, 31, (32, 32)) == pytest.approx(0.15)
    assert strength("TranslateY", 30, 31, (331, 10)) == 150.0 and strength("TranslateX", 30, 31, (331, 10)) == 4.0
    assert [strength("Posterize", m, 31, (8, 8)) for m in (0, 8, 15, 30)] == [8.0, 7.0, 6.0, 4.0]
    assert strength("Solarize", 30, 31, (8, 8)) == 0.0 and strength("Brightness", 30, 31, (8, 8)) == pytest.approx(0.9)


def test_randaugment_is_reproducible_and_leaves_its_input_alone():
    batch = np.random.default_rng(0).integers(0, 256, (16, 3, 8, 8), dtype=np.uint8)
    before = batch.copy()
    augment = RandAugment(2, 15)
    one, two = augment(batch, np.random.default_rng(5)), augment(batch, np.random.default_rng(5))
    assert np.array_equal(one, two) and np.array_equal(batch, before)
    assert one.dtype == np.uint8 and one.shape == batch.shape
    assert not np.array_equal(one, augment(batch, np.random.default_rng(6)))
    assert np.array_equal(RandAugment(0, 15)(batch, np.random.default_rng(5)), batch)
    grey = batch[:, :1]
    assert RandAugment(3, 30)(grey, np.random.default_rng(1)).shape == grey.shape
    assert repr(augment) == "RandAugment(num_ops=2, magnitude=15, num_magnitude_bins=31)"


@pytest.mark.parametrize("make,message", [
    (lambda: RandAugment(2, 31), r"magnitude must be an int from 0 to num_magnitude_bins − 1 = 30, got 31"),
    (lambda: RandAugment(-1), r"num_ops must be an int >= 0, got -1"),
    (lambda: RandAugment(2, 1.5), r"magnitude must be an int"),
    (lambda: RandAugment()(np.zeros((2, 3, 4, 4)), np.random.default_rng()),
     r"expected a uint8 batch \(N, C, H, W\) with C = 1 or 3, got float64 \(2, 3, 4, 4\)"),
    (lambda: DataLoader(ArrayDataset(np.zeros((4, 3, 8, 8), np.uint8), np.zeros(4, np.int64), ["a"], name="cifar10"),
                        2, randaugment=RandAugment()), r"needs train_transforms=True"),
])
def test_randaugment_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_the_loader_applies_it_after_the_crop_and_flip_reproducibly():
    images = np.random.default_rng(0).integers(0, 256, (12, 3, 8, 8), dtype=np.uint8)
    data = ArrayDataset(images, np.arange(12) % 3, ["a", "b", "c"], name="cifar10")

    def batches(augment, seed=1):
        loader = DataLoader(data, 4, shuffle=True, seed=seed, train_transforms=True, randaugment=augment)
        return [b[0] for b in loader]
    plain, strong, again = batches(None), batches(RandAugment(2, 20)), batches(RandAugment(2, 20))
    assert all(np.array_equal(a, b) for a, b in zip(strong, again))
    assert not all(np.array_equal(a, b) for a, b in zip(plain, strong))


def test_train_cifar_takes_randaugment_n_m():
    import train_cifar
    assert train_cifar.parse_args(["--randaugment", "2,15"]).randaugment == "2,15"
    assert train_cifar.parse_args(["--randaugment", "off"]).randaugment is None
    for bad, message in [("2,31", "--randaugment must be N,M"), ("2", "--randaugment must be N,M"),
                         ("a,b", "--randaugment must be N,M")]:
        with pytest.raises(train_cifar.TrainingError, match=message):
            train_cifar.parse_args(["--randaugment", bad])
    with pytest.raises(train_cifar.TrainingError, match="does not go with --no-augment"):
        train_cifar.parse_args(["--randaugment", "2,9", "--no-augment"])
