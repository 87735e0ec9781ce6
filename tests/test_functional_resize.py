"""interpolate (tinycoat/nn/functional/resize.py) against a loop written from the formulas at the top
of that file, pixel by pixel; gradients by tc.gradcheck; nn.Upsample; the errors."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
import tinycoat.nn.functional as F
from strategies import arrays


def resize_by_loop(x, out_h, out_w, mode, align_corners, scales):
    """Each output pixel from the formulas, one at a time."""
    n_in = x.shape[2:]

    def sources(axis, n_out):
        n, s = n_in[axis], scales[axis]
        for i in range(n_out):
            if mode == "bilinear":
                src = i * ((n - 1) / (n_out - 1) if n_out > 1 else 0.0) if align_corners else max((i + 0.5) * s - 0.5, 0.0)
                low = min(math.floor(src), n - 1)
                yield [(low, 1 - (src - low)), (min(low + 1, n - 1), src - low)]
            else:
                src = math.floor((i + (0.5 if mode == "nearest-exact" else 0.0)) * s)
                yield [(min(src, n - 1), 1.0)]

    y = np.zeros(x.shape[:2] + (out_h, out_w))
    for i, rows in enumerate(sources(0, out_h)):
        for j, cols in enumerate(sources(1, out_w)):
            for r, a in rows:
                for c, b in cols:
                    y[:, :, i, j] += a * b * x[:, :, r, c]
    return y


@given(x=arrays(st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 5), st.integers(1, 5))),
       mode=st.sampled_from(["nearest", "nearest-exact", "bilinear"]), corners=st.booleans(), data=st.data())
def test_interpolate_follows_its_formulas_and_gradchecks(x, mode, corners, data, device):
    corners = corners and mode == "bilinear"
    h, w = x.shape[2:]
    if data.draw(st.booleans()):
        size = (data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7)))
        kwargs, scales = dict(size=size), (h / size[0], w / size[1])
    else:
        factor = data.draw(st.sampled_from([2, 3, 0.5, 1.5, 1.2, 1.4]))
        size = (math.floor(h * factor), math.floor(w * factor))
        if min(size) < 1:
            return
        # (an axis the factor leaves as long as it was is copied, as PyTorch does: scale 1 there)
        kwargs, scales = dict(scale_factor=factor), tuple(1.0 if m == n else 1 / factor for m, n in zip(size, (h, w)))
    align = corners if mode == "bilinear" else None
    out = F.interpolate(tc.tensor(x, device=device), mode=mode, align_corners=align, **kwargs)
    np.testing.assert_allclose(out.numpy(), resize_by_loop(x, *size, mode, corners, scales), rtol=1e-12, atol=1e-12)
    layer = tc.nn.Upsample(mode=mode, align_corners=align, **kwargs)
    np.testing.assert_allclose(layer(tc.tensor(x, device=device)).numpy(), out.numpy())
    assert tc.gradcheck(lambda t: F.interpolate(t, mode=mode, align_corners=align, **kwargs),
                        tc.tensor(x, dtype="float64", requires_grad=True, device=device))


def test_interpolate_doubles_a_picture_as_one_expects():
    x = tc.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert F.interpolate(x, scale_factor=2).numpy()[0, 0].tolist() == [[1, 1, 2, 2], [1, 1, 2, 2],
                                                                       [3, 3, 4, 4], [3, 3, 4, 4]]
    corners = F.interpolate(x, size=3, mode="bilinear", align_corners=True).numpy()[0, 0]
    assert corners.tolist() == [[1.0, 1.5, 2.0], [2.0, 2.5, 3.0], [3.0, 3.5, 4.0]]
    assert F.interpolate(x, size=(2, 2), mode="bilinear").dtype == tc.float32
    row = tc.arange(3.0).reshape(1, 1, 1, 3)                       # ⌊3·1.2⌋ = 3: the row stays as it was
    for mode in ("nearest", "bilinear"):
        assert F.interpolate(row, scale_factor=1.2, mode=mode).numpy().ravel().tolist() == [0.0, 1.0, 2.0]


def test_interpolate_says_what_it_needs():
    x = tc.zeros(1, 1, 4, 4)
    for kwargs, message in [(dict(), "exactly one of size and scale_factor"),
                            (dict(size=2, scale_factor=2), "exactly one of size and scale_factor"),
                            (dict(size=2, mode="bicubic"), "mode must be one of"),
                            (dict(size=2, align_corners=True), "align_corners applies to mode='bilinear' only"),
                            (dict(size=0), "size must be a positive int"),
                            (dict(scale_factor=0.1), "makes a 4×4 input 0×0")]:
        with pytest.raises(ValueError, match=message):
            F.interpolate(x, **kwargs)
    with pytest.raises(ValueError, match=r"expected input \(N, C, H, W\)"):
        F.interpolate(tc.zeros(4, 4), size=2)
    with pytest.raises(TypeError, match="floating-point input"):
        F.interpolate(tc.zeros(1, 1, 4, 4, dtype="uint8"), size=2)
    with pytest.raises(ValueError, match="Upsample: give exactly one"):
        tc.nn.Upsample()
