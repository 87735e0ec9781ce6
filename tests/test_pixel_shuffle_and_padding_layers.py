"""pixel_shuffle / pixel_unshuffle against their index formula, as each other's inverse, with
gradchecks; the padding layers as F.pad with their mode, and their errors."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
import tinycoat.nn.functional as F
from tinycoat import nn
from strategies import arrays


@st.composite
def shuffle_case(draw):
    """(x of shape (*, C·r², H, W) with 0–2 leading axes, r) for r of 1–3, 1-pixel maps included."""
    r = draw(st.integers(1, 3))
    lead = draw(st.lists(st.integers(1, 2), max_size=2))
    c, h, w = (draw(st.integers(1, 3)) for _ in range(3))
    return draw(arrays(tuple(lead) + (c * r * r, h, w))), r


@given(case=shuffle_case())
def test_pixel_shuffle_lays_each_pixels_channels_out_as_a_block(case, device):
    """y[..., c, h·r + i, w·r + j] = x[..., c·r² + i·r + j, h, w], entry by entry; unshuffle undoes it."""
    x, r = case
    y = F.pixel_shuffle(tc.tensor(x, device=device), r).numpy()
    *lead, cr2, h, w = x.shape
    assert y.shape == (*lead, cr2 // (r * r), h * r, w * r)
    for c in range(cr2 // (r * r)):
        for i in range(r):
            for j in range(r):
                np.testing.assert_array_equal(y[..., c, i::r, j::r], x[..., c * r * r + i * r + j, :, :])
    np.testing.assert_array_equal(F.pixel_unshuffle(tc.tensor(y, device=device), r).numpy(), x)


@given(case=shuffle_case())
def test_pixel_shuffle_gradcheck(case, device):
    x, r = case
    xt = tc.tensor(x, requires_grad=True, device=device)
    assert tc.gradcheck(lambda t: F.pixel_shuffle(t, r), xt)
    assert tc.gradcheck(lambda t: F.pixel_unshuffle(F.pixel_shuffle(t, r) * 2.0, r), xt)


def test_the_shuffle_layers_and_their_errors():
    x = tc.arange(2 * 8 * 3 * 2, dtype="float32").reshape(2, 8, 3, 2)
    assert nn.PixelShuffle(2)(x).shape == (2, 2, 6, 4) and repr(nn.PixelShuffle(2)) == "PixelShuffle(upscale_factor=2)"
    np.testing.assert_array_equal(nn.PixelUnshuffle(2)(nn.PixelShuffle(2)(x)).numpy(), x.numpy())
    for call, message in [
            (lambda: F.pixel_shuffle(tc.zeros(1, 6, 2, 2), 2),
             r"^pixel_shuffle: expected input \(\*, C·4, H, W\), channels divisible by upscale_factor² = 4, got \(1, 6, 2, 2\)"),
            (lambda: F.pixel_unshuffle(tc.zeros(1, 1, 4, 3), 2),
             r"^pixel_unshuffle: expected input \(\*, C, H·2, W·2\), height and width divisible by downscale_factor = 2"),
            (lambda: F.pixel_shuffle(tc.zeros(4, 2), 2), r"^pixel_shuffle: expected input"),
            (lambda: nn.PixelShuffle(0), r"^PixelShuffle: upscale_factor must be a positive int, got 0")]:
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize("layer,mode,value", [
    (nn.ZeroPad2d, "constant", 0.0), (nn.ReflectionPad2d, "reflect", None), (nn.ReplicationPad2d, "replicate", None),
    (nn.CircularPad2d, "circular", None), (nn.ZeroPad1d, "constant", 0.0), (nn.ReflectionPad1d, "reflect", None),
    (nn.ReplicationPad1d, "replicate", None), (nn.CircularPad1d, "circular", None)])
def test_padding_layers_are_f_pad_with_their_mode(layer, mode, value, device):
    """An int pads every side; a tuple is PyTorch's (left, right[, top, bottom]); one unbatched sample too;
    the gradient is F.pad's (each padded place's back to its source), gradchecked."""
    axes = 2 if layer.__name__.endswith("2d") else 1
    shape = (2, 3, 4, 5)[-axes - 2:]
    x = tc.tensor(np.random.default_rng(axes).standard_normal(shape), requires_grad=True, device=device)
    pads = (1, 2, 0, 3)[:2 * axes]
    np.testing.assert_array_equal(layer(pads)(x).numpy(), F.pad(x, pads, mode, value).numpy())
    np.testing.assert_array_equal(layer(1)(x).numpy(), F.pad(x, (1,) * 2 * axes, mode, value).numpy())
    np.testing.assert_array_equal(layer(pads)(x[0]).numpy(), layer(pads)(x).numpy()[0])
    assert tc.gradcheck(layer(pads), x)
    assert repr(layer(1)) == f"{layer.__name__}({(1,) * 2 * axes})"


def test_constant_padding_layers_and_errors():
    x = tc.ones(1, 1, 2, 2)
    assert nn.ConstantPad2d((1, 0, 0, 1), 3.5)(x).tolist() == [[[[3.5, 1.0, 1.0], [3.5, 1.0, 1.0], [3.5, 3.5, 3.5]]]]
    assert repr(nn.ConstantPad1d(2, -1)) == "ConstantPad1d(padding=(2, 2), value=-1)"
    for call, message in [
            (lambda: nn.ZeroPad2d((1, 2)), r"^ZeroPad2d: padding must be an int or 4 of them \(left, right, top, bottom\), "
                                           r"each >= 0, got \(1, 2\)"),
            (lambda: nn.ReflectionPad1d(-1), r"^ReflectionPad1d: padding must be an int or 2 of them \(left, right\)"),
            (lambda: nn.ZeroPad2d(1)(tc.zeros(3, 4)), r"^ZeroPad2d\(1, 1, 1, 1\): expected input \(N, C, H, W\) or "
                                                       r"\(C, H, W\), got \(3, 4\)"),
            (lambda: nn.ReflectionPad2d(3)(tc.zeros(1, 1, 3, 3)), r"^pad: mode='reflect' needs pads less than the axis' size")]:
        with pytest.raises(ValueError, match=message):
            call()
