"""max_pool2d, avg_pool2d, global_avg_pool2d: naive references and float64 gradient checks.

Max pooling has a kink where two entries of a window tie, so its inputs are ``distinct``
(pairwise at least 1/8 apart): the finite differences never cross a change of winner.

The naive reference builds PyTorch's windows by hand: it enumerates the windows one by one by
the rule PyTorch's documentation states (ceil_mode: windows may go off-bounds if they start
within the left padding or the input; none that would start in the right padding), pads the
input far enough for all of them, and reads every window's pixels and divisor off masks.

One (C, H, W) image, which PyTorch's layers take unbatched, is checked against the batch of one
for pooling and the convolutions alike (``test_one_image_is_a_batch_of_one``).
"""
import re

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinycoat as tc
import tinycoat.nn.functional as F
from tinycoat import nn
from strategies import arrays, distinct


@st.composite
def pool_case(draw, values=arrays, max_side=5, dilated=False):
    """(x, kernel, stride or None, padding, ceil_mode), and with ``dilated`` the dilation (max
    pooling's): strides past the kernel, 1-pixel maps and, in ceil mode, maps smaller than the
    kernel where one window still starts in the input."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))        # k = 4 allows padding 2
    stride = draw(st.none() | st.tuples(st.integers(1, 4), st.integers(1, 4)))
    padding = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    ceil = draw(st.booleans())
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilated and draw(st.booleans()) else (1, 1)
    s, span = stride or k, [di * (ki - 1) + 1 for ki, di in zip(k, d)]
    # the least side with a window: H + 2p >= k, or in ceil mode H + 2p − k > −s (k: the span)
    least = [max(1, sp - 2 * p - (si - 1 if ceil else 0)) for sp, p, si in zip(span, padding, s)]
    h = draw(st.integers(least[0], max(least[0], max_side)))
    w = draw(st.integers(least[1], max(least[1], max_side)))
    case = draw(values((n, c, h, w))), k, stride, padding, ceil
    return case + (d,) if dilated else case


def window_starts(n, k, s, p, ceil_mode):
    """Where the windows start along an axis of n pixels, in padded coordinates, one by one.
    Floor mode: every window that fits in the padded input (r·s + k <= n + 2p). Ceil mode: one
    more while the windows so far leave the end of the padded input uncovered ((r − 1)·s + k <
    n + 2p, also for r = 0), but only one that starts in the left padding or the input (r·s < n + p)."""
    starts, r = [], 0
    while (((r - 1) * s + k < n + 2 * p and r * s < n + p) if ceil_mode else r * s + k <= n + 2 * p):
        starts.append(r * s)
        r += 1
    return starts


def naive_pool(x, k, stride, padding, reduce, ceil_mode=False, count_include_pad=True, divisor_override=None,
               dilation=(1, 1)):
    """max (reduce=np.max) or mean (np.mean) of every window, one output entry at a time; with
    dilation d the window spans d·(k − 1) + 1 pixels and reads every d-th (max pooling's)."""
    (dh, dw), (sh, sw), (ph, pw), (h, w) = dilation, stride or k, padding, x.shape[2:]
    kh, kw = dh * (k[0] - 1) + 1, dw * (k[1] - 1) + 1                  # the spans
    rows, cols = window_starts(h, kh, sh, ph, ceil_mode), window_starts(w, kw, sw, pw, ceil_mode)
    hp, wp = max(h + 2 * ph, rows[-1] + kh), max(w + 2 * pw, cols[-1] + kw)   # room for the last windows
    big = np.zeros(x.shape[:2] + (hp, wp))
    big[:, :, ph:ph + h, pw:pw + w] = x
    own = np.zeros((hp, wp), dtype=bool)                   # the input's pixels
    own[ph:ph + h, pw:pw + w] = True
    padded = np.zeros((hp, wp), dtype=bool)                # the input and its padding (not the overhang)
    padded[:h + 2 * ph, :w + 2 * pw] = True
    y = np.zeros(x.shape[:2] + (len(rows), len(cols)))
    for i, r in enumerate(rows):
        for j, q in enumerate(cols):
            window = (Ellipsis, slice(r, r + kh, dh), slice(q, q + kw, dw))
            if reduce is np.max:                            # padding is −∞: it never wins
                y[:, :, i, j] = np.where(own[window], big[window], -np.inf).max(axis=(2, 3))
            else:
                divisor = divisor_override or (padded if count_include_pad else own)[window].sum()
                y[:, :, i, j] = big[window].sum(axis=(2, 3)) / divisor
    return y


@given(case=pool_case(values=distinct, dilated=True))
def test_max_pool_matches_naive_and_gradcheck(case, device):
    """(A dilated window can step from padding over the input to padding: its maximum is −∞, as in
    PyTorch, and no pixel's change moves it; the gradient check needs finite outputs.)"""
    x, k, stride, padding, ceil, dilation = case
    y = F.max_pool2d(tc.tensor(x, device=device), k, stride, padding, dilation, ceil_mode=ceil)
    np.testing.assert_array_equal(y.numpy(), naive_pool(x, k, stride, padding, np.max, ceil, dilation=dilation))
    xt = tc.tensor(x, requires_grad=True, device=device)
    if np.isfinite(y.numpy()).all():
        assert tc.gradcheck(lambda a: F.max_pool2d(a, k, stride, padding, dilation, ceil_mode=ceil), xt)
    else:
        assert dilation != (1, 1)                   # only a dilated window can miss every pixel
        F.max_pool2d(xt, k, stride, padding, dilation, ceil_mode=ceil).sum().backward()
        assert np.isfinite(xt.grad.numpy()).all()


@given(case=pool_case(), count_include_pad=st.booleans(), divisor_override=st.none() | st.sampled_from([-3, 1, 2, 7]))
def test_avg_pool_matches_naive_and_gradcheck(case, count_include_pad, divisor_override, device):
    x, k, stride, padding, ceil = case
    settings = dict(ceil_mode=ceil, count_include_pad=count_include_pad, divisor_override=divisor_override)
    y = F.avg_pool2d(tc.tensor(x, device=device), k, stride, padding, **settings)
    np.testing.assert_allclose(y.numpy(), naive_pool(x, k, stride, padding, np.mean, **settings),
                               rtol=1e-12, atol=1e-15)
    xt = tc.tensor(x, requires_grad=True, device=device)
    assert tc.gradcheck(lambda a: F.avg_pool2d(a, k, stride, padding, **settings), xt)


# (H, W), kernel, stride, padding, (Ho, Wo) in ceil mode: each with the arithmetic that gives it
CEIL_EDGES = [
    ((5, 5), 2, 2, 1, (3, 3)),       # ⌈5/2⌉ + 1 = 4, but the 4th window would start at 6 = H + p: dropped
    ((7, 6), 2, 3, 0, (3, 2)),       # stride > kernel: rows 0, 3, 6 (overhangs by 1); columns 0, 3 (6 = W)
    ((1, 1), 2, 2, 0, (1, 1)),       # a 1-pixel image, smaller than the kernel: one window, overhanging
    ((1, 1), 3, 3, 1, (1, 1)),       # ... with padding: ⌈(1 + 2 − 3)/3⌉ + 1 = 1
    ((4, 6), (3, 1), (2, 4), (1, 0), (3, 2)),   # odd, non-square kernel on a non-square map
    ((3, 4), 3, 2, 1, (2, 3)),       # the last column's window starts on the last pixel: 1 pixel, 1 pad, 1 past
]


@pytest.mark.parametrize("hw,kernel,stride,padding,out_hw", CEIL_EDGES)
def test_ceil_mode_edges_match_the_windows_built_by_hand(hw, kernel, stride, padding, out_hw):
    """The sizes where ceil_mode differs from a plain ⌈·⌉ or reaches past the padding; the values
    and gradients through every setting of the mean."""
    rng = np.random.default_rng(0)
    x = rng.permutation(2 * 3 * hw[0] * hw[1]).reshape((2, 3) + hw) / 8.0      # distinct: one winner
    pair = [tuple(v) if isinstance(v, tuple) else (v, v) for v in (kernel, stride, padding)]
    xt = tc.tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, kernel, stride, padding, ceil_mode=True)
    assert y.shape[2:] == out_hw
    np.testing.assert_array_equal(y.numpy(), naive_pool(x, *pair, np.max, ceil_mode=True))
    assert tc.gradcheck(lambda a: F.max_pool2d(a, kernel, stride, padding, ceil_mode=True), xt)
    for count_include_pad, divisor_override in [(True, None), (False, None), (True, 5)]:
        settings = dict(ceil_mode=True, count_include_pad=count_include_pad, divisor_override=divisor_override)
        y = F.avg_pool2d(xt, kernel, stride, padding, **settings)
        assert y.shape[2:] == out_hw
        np.testing.assert_allclose(y.numpy(), naive_pool(x, *pair, np.mean, **settings), rtol=1e-12)
        assert tc.gradcheck(lambda a: F.avg_pool2d(a, kernel, stride, padding, **settings), xt)


def test_ceil_mode_and_the_divisors_as_pytorch_prints_them(device):
    """PyTorch 2.13's numbers for a 5×5 map, kernel 2, stride 2, padding 1, ceil_mode (3×3, not
    4×4): the corner window holds one pixel and three pads, an edge window two pixels."""
    x = tc.tensor(np.arange(25.0).reshape(1, 1, 5, 5), device=device)
    np.testing.assert_array_equal(F.max_pool2d(x, 2, 2, 1, ceil_mode=True).numpy()[0, 0],
                                  [[0, 2, 4], [10, 12, 14], [20, 22, 24]])
    ones = tc.ones(1, 1, 5, 5, dtype="float64", device=device)
    np.testing.assert_array_equal(F.avg_pool2d(ones, 2, 2, 1, ceil_mode=True).numpy()[0, 0],
                                  [[0.25, 0.5, 0.5], [0.5, 1, 1], [0.5, 1, 1]])
    np.testing.assert_array_equal(F.avg_pool2d(ones, 2, 2, 1, ceil_mode=True, count_include_pad=False).numpy(),
                                  np.ones((1, 1, 3, 3)))
    np.testing.assert_array_equal(F.avg_pool2d(ones, 2, divisor_override=-2).numpy(), -2 * np.ones((1, 1, 2, 2)))
    # the default is PyTorch's count_include_pad=True: a 3×3 window at the corner divides by 9
    assert F.avg_pool2d(ones, 3, 1, 1).numpy()[0, 0, 0, 0] == pytest.approx(4 / 9)


def test_pool_layers_take_pytorchs_arguments(device):
    x = tc.tensor(np.random.default_rng(1).standard_normal((2, 3, 5, 7)), device=device)
    max_layer, avg_layer = nn.MaxPool2d(3, 2, 1, 1, False, True), nn.AvgPool2d(3, 2, 1, True, False, 4)
    assert (max_layer.ceil_mode, avg_layer.ceil_mode, avg_layer.count_include_pad, avg_layer.divisor_override) == \
        (True, True, False, 4)
    np.testing.assert_array_equal(max_layer(x).numpy(), F.max_pool2d(x, 3, 2, 1, 1, True).numpy())
    np.testing.assert_array_equal(avg_layer(x).numpy(), F.avg_pool2d(x, 3, 2, 1, True, False, 4).numpy())
    assert max_layer(x).shape == (2, 3, 3, 4)
    assert repr(max_layer) == "MaxPool2d(k=3, s=2, p=1, ceil_mode=True)"
    assert repr(avg_layer) == "AvgPool2d(k=3, s=2, p=1, ceil_mode=True, count_include_pad=False, divisor_override=4)"


UNBATCHED = {   # name: (op on one (C, H, W) image or a batch, the parameters it learns)
    "max_pool2d": lambda: (lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), []),
    "avg_pool2d": lambda: (lambda x: F.avg_pool2d(x, (2, 3), 2, 1, True, False), []),
    "MaxPool2d": lambda: (nn.MaxPool2d(2, ceil_mode=True).double(), []),
    "adaptive_avg_pool2d": lambda: (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), []),
    "AdaptiveAvgPool2d": lambda: (nn.AdaptiveAvgPool2d(1), []),
    "GlobalAvgPool2d": lambda: (nn.GlobalAvgPool2d(keepdims=True), []),
    "global_avg_pool2d": lambda: (lambda x: F.global_avg_pool2d(x), []),
    "AdaptiveMaxPool2d": lambda: (nn.AdaptiveMaxPool2d((3, 2)), []),
    "max_unpool2d": lambda: (lambda x: F.max_unpool2d(x, tc.tensor(np.random.default_rng(x.numel()).permutation(
        4 * x.shape[-2] * x.shape[-1])[:x.shape[-2] * x.shape[-1]].reshape(x.shape[-2:])).expand(*x.shape), 2), []),
    "AvgPool2d": lambda: (nn.AvgPool2d(3, 1, 1, count_include_pad=False).double(), []),
    "Conv2d": lambda: (lambda m: (m, [m.weight, m.bias]))(nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=1,
                                                                      dtype="float64")),
    "DepthwiseConv2d": lambda: (lambda m: (m, [m.weight, m.bias]))(nn.DepthwiseConv2d(3, 3, padding="same",
                                                                                      dtype="float64")),
    "conv2d": lambda: (lambda w: (lambda x: F.conv2d(x, w, stride=2, padding=1), [w]))(
        tc.randn(2, 3, 3, 3, dtype="float64", requires_grad=True)),
    "depthwise_conv2d": lambda: (lambda w: (lambda x: F.depthwise_conv2d(x, w, padding=1), [w]))(
        tc.randn(3, 1, 3, 3, dtype="float64", requires_grad=True)),
}


@pytest.mark.parametrize("name", list(UNBATCHED))
@given(h=st.integers(1, 6), w=st.integers(1, 6))
def test_one_image_is_a_batch_of_one(name, h, w):
    """PyTorch's unbatched input: (C, H, W) gives (C', H', W'), the batch-of-one result without its
    batch axis, and the same gradients for the image and the parameters (the reshapes are in the
    graph). 1-pixel maps too: every op here has room for one window there."""
    op, params = UNBATCHED[name]()
    image = np.random.default_rng(h * 7 + w).permutation(3 * h * w).reshape(3, h, w) / 8.0
    upstream = None

    def run(x):
        nonlocal upstream
        for p in params:
            p.grad = None
        y = op(x)
        upstream = np.random.default_rng(0).standard_normal(y.shape[-3:]) if upstream is None else upstream
        y.backward(tc.tensor(upstream.reshape(y.shape)))
        return y.numpy(), x.grad.numpy(), [p.grad.numpy() for p in params]
    one = tc.tensor(image, requires_grad=True)
    y_one, gx_one, gp_one = run(one)
    y_batch, gx_batch, gp_batch = run(tc.tensor(image[None], requires_grad=True))
    assert y_one.shape == y_batch.shape[1:]
    np.testing.assert_array_equal(y_one, y_batch[0])
    np.testing.assert_array_equal(gx_one, gx_batch[0])
    for a, b in zip(gp_one, gp_batch):
        np.testing.assert_array_equal(a, b)
    assert tc.gradcheck(op, tc.tensor(image, requires_grad=True))


@given(x=arrays(st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4))),
       keepdims=st.booleans())
def test_global_avg_pool(x, keepdims, device):
    xt = tc.tensor(x, requires_grad=True, device=device)
    y = F.global_avg_pool2d(xt, keepdims=keepdims)
    np.testing.assert_allclose(y.numpy(), x.mean(axis=(2, 3), keepdims=keepdims), rtol=1e-12)
    assert tc.gradcheck(lambda a: F.global_avg_pool2d(a, keepdims=keepdims), xt)


def test_max_pool_gradient_goes_to_the_first_maximum_on_ties(device):
    x = tc.tensor(np.ones((1, 1, 2, 2), dtype=np.float32), requires_grad=True, device=device)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 0], [0, 0]])


def test_pooling_keeps_float32_and_checks_shapes(device):
    x = tc.randn(2, 3, 6, 5, device=device, requires_grad=True)
    for y in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1), F.global_avg_pool2d(x),
              F.max_pool2d(x, 2, ceil_mode=True), F.avg_pool2d(x, 2, ceil_mode=True, count_include_pad=False)):
        y.sum().backward()
        assert y.dtype == tc.float32 and x.grad.dtype == tc.float32
    assert F.max_pool2d(x, 2).shape == (2, 3, 3, 2) and F.max_pool2d(x, 2, ceil_mode=True).shape == (2, 3, 3, 3)
    with pytest.raises(ValueError, match=r"max_pool2d\(k=3\): input \(1, 1, 2, 2\) is smaller than the kernel"):
        F.max_pool2d(tc.zeros(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match=r"expected input \(N, C, H, W\) or \(C, H, W\), got \(4, 4\)"):
        F.avg_pool2d(tc.zeros(4, 4), 2)
    with pytest.raises(ValueError, match="at most half the kernel"):
        F.max_pool2d(tc.zeros(1, 1, 4, 4), 2, padding=2)


@pytest.mark.parametrize("call,error,message", [
    (lambda: F.max_pool2d(tc.zeros(4, 4), 2), ValueError,
     "max_pool2d(k=2): expected input (N, C, H, W) or (C, H, W), got (4, 4)"),
    (lambda: F.avg_pool2d(tc.zeros(1, 1, 1, 4, 4), 2), ValueError,
     "avg_pool2d(k=2): expected input (N, C, H, W) or (C, H, W), got (1, 1, 1, 4, 4)"),
    (lambda: nn.MaxPool2d(2)(tc.zeros(4)), ValueError,
     "MaxPool2d(k=2, s=2): expected input (N, C, H, W) or (C, H, W), got (4,)"),
    (lambda: nn.AvgPool2d(2)(tc.zeros(1, 1, 1, 2, 2)), ValueError,
     "AvgPool2d(k=2, s=2): expected input (N, C, H, W) or (C, H, W), got (1, 1, 1, 2, 2)"),
    (lambda: F.max_pool2d(tc.zeros(3, 1, 1), 3, 2, ceil_mode=True), ValueError,
     "max_pool2d(k=3): input (3, 1, 1) is smaller than the kernel (3, 3) (with padding (0, 0), stride (2, 2) and "
     "ceil_mode): expected (N, C, H, W) or (C, H, W) with H, W >= 2, 2"),
    (lambda: nn.AvgPool2d(3)(tc.zeros(3, 1, 4)), ValueError,
     "AvgPool2d(k=3, s=3): input (3, 1, 4) is smaller than the kernel (3, 3) (with padding (0, 0)): "
     "expected (N, C, H, W) or (C, H, W) with H, W >= 3, 3"),
    (lambda: F.max_pool2d(tc.zeros(1, 4, 4), 2, ceil_mode=1), TypeError,
     "max_pool2d(k=2): ceil_mode must be True or False, got 1"),
    (lambda: F.avg_pool2d(tc.zeros(1, 4, 4), 2, count_include_pad="no"), TypeError,
     "avg_pool2d(k=2): count_include_pad must be True or False, got 'no'"),
    (lambda: F.avg_pool2d(tc.zeros(1, 4, 4), 2, divisor_override=0), ValueError,
     "avg_pool2d(k=2): divisor_override must be None or a nonzero int, got 0"),
    (lambda: F.avg_pool2d(tc.zeros(1, 4, 4), 2, divisor_override=1.5), TypeError,
     "avg_pool2d(k=2): divisor_override must be None or a nonzero int, got 1.5"),
    (lambda: F.max_pool2d(tc.zeros(1, 4, 4), 3, dilation=2), ValueError,
     "max_pool2d(k=3): input (1, 4, 4) is smaller than the kernel (3, 3) (with dilation (2, 2), spanning (5, 5), "
     "padding (0, 0)): expected (N, C, H, W) or (C, H, W) with H, W >= 5, 5"),
    (lambda: F.max_pool2d(tc.zeros(1, 4, 4), 2, dilation=0), ValueError,
     "max_pool2d(k=2): dilation must be a positive int or a pair of them, got 0"),
    (lambda: F.max_pool2d(tc.zeros(1, 4, 4), 2, return_indices=1), TypeError,
     "max_pool2d(k=2): return_indices must be True or False, got 1"),
    (lambda: nn.MaxPool2d(2, ceil_mode="yes"), TypeError, "MaxPool2d: ceil_mode must be True or False, got 'yes'"),
    (lambda: nn.MaxPool2d(2, 2, 0, (1, 2))(tc.zeros(1, 2, 2)), ValueError,
     "MaxPool2d(k=2, s=2, d=(1, 2)): input (1, 2, 2) is smaller than the kernel (2, 2) (with dilation (1, 2), "
     "spanning (2, 3), padding (0, 0)): expected (N, C, H, W) or (C, H, W) with H, W >= 2, 3"),
    (lambda: nn.AvgPool2d(2, count_include_pad=None), TypeError,
     "AvgPool2d: count_include_pad must be True or False, got None"),
    (lambda: nn.AvgPool2d(2, divisor_override=0), ValueError,
     "AvgPool2d: divisor_override must be None or a nonzero int, got 0"),
])
def test_pooling_errors_name_the_argument_and_the_expected_form(call, error, message):
    """Wrong ranks, inputs without room for a window (the least size said for the mode), and the
    new settings given in the wrong form; the settings are checked when a layer is built."""
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        call()


@given(x=arrays(st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 7), st.integers(1, 7))),
       out=st.tuples(st.integers(1, 5) | st.none(), st.integers(1, 5) | st.none()))
def test_adaptive_avg_pool_matches_pytorchs_windows_and_gradcheck(x, out, device):
    """Window i of an axis n_in → n_out: from ⌊i·n_in/n_out⌋ to ⌈(i+1)·n_in/n_out⌉ (PyTorch's rule),
    also when the output is larger than the input (windows of one pixel, repeated)."""
    h, w = x.shape[2:]
    oh, ow = out[0] or h, out[1] or w
    expected = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = slice(i * h // oh, -(-(i + 1) * h // oh))
            cols = slice(j * w // ow, -(-(j + 1) * w // ow))
            expected[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
    size = out if out[0] != out[1] else out[0]           # an int or a pair, as PyTorch takes both
    np.testing.assert_allclose(F.adaptive_avg_pool2d(tc.tensor(x, device=device), size).numpy(), expected,
                               rtol=1e-12, atol=1e-12)
    layer = tc.nn.AdaptiveAvgPool2d(size)
    np.testing.assert_allclose(layer(tc.tensor(x, device=device)).numpy(), expected, rtol=1e-12, atol=1e-12)
    assert tc.gradcheck(lambda t: F.adaptive_avg_pool2d(t, size),
                        tc.tensor(x, requires_grad=True, dtype="float64", device=device))


def test_adaptive_avg_pool_keeps_float32_and_checks_its_arguments():
    x = tc.randn(2, 3, 5, 4)
    assert F.adaptive_avg_pool2d(x, (2, 3)).dtype == tc.float32
    np.testing.assert_allclose(tc.nn.AdaptiveAvgPool2d(1)(x).numpy(), x.numpy().mean(axis=(2, 3), keepdims=True),
                               rtol=1e-6)
    with pytest.raises(ValueError, match=r"expected input \(N, C, H, W\) or \(C, H, W\), got \(5, 4\)"):
        F.adaptive_avg_pool2d(tc.randn(5, 4), 2)
    with pytest.raises(ValueError, match="output_size must be a positive int"):
        F.adaptive_avg_pool2d(x, 0)
    assert F.adaptive_avg_pool2d(x, np.int64(2)).shape == (2, 3, 2, 2)


def test_window_arguments_are_checked_in_the_functional_ops_too():
    """Once, F.conv2d(stride=1.9) ran with stride 1, F.max_pool2d(x, 2.9) with kernel 2, a stride of
    three numbers used two, [2] failed with a bare IndexError, and pooling integers failed deep
    inside NumPy. Now each names the argument and the form it expects (one int in a list is both
    sides, as in PyTorch)."""
    x, w = tc.ones(1, 1, 5, 5), tc.ones(1, 1, 3, 3)
    calls = [(lambda: F.conv2d(x, w, stride=1.9), TypeError, r"conv2d: stride must be a positive int or a pair"),
             (lambda: F.conv2d(x, w, stride=(2, 1, 5)), ValueError, r"conv2d: stride .* got \(2, 1, 5\)"),
             (lambda: F.conv2d(x, w, padding=1.5), TypeError, r"conv2d: padding must be a non-negative int"),
             (lambda: F.depthwise_conv2d(x, w, stride=0), ValueError, r"depthwise_conv2d: stride must be a positive"),
             (lambda: F.max_pool2d(x, 2.9), TypeError, r"max_pool2d\(k=2.9\): kernel_size must be a positive int"),
             (lambda: F.avg_pool2d(x, 2, stride=0), ValueError, r"avg_pool2d\(k=2\): stride must be a positive int"),
             (lambda: F.avg_pool2d(tc.tensor(np.arange(16).reshape(1, 1, 4, 4)), 2), TypeError,
              r"avg_pool2d\(k=2\): expected a floating-point input"),
             (lambda: F.max_pool2d(tc.zeros(1, 1, 4, 4, dtype="int32"), 3, 1, 1), TypeError,
              r"max_pool2d\(k=3\): expected a floating-point input")]
    for call, error, message in calls:
        with pytest.raises(error, match=message):
            call()
    assert F.conv2d(x, w, stride=[2]).shape == F.conv2d(x, w, stride=2).shape == (1, 1, 2, 2)
    assert F.max_pool2d(x, [2]).shape == (1, 1, 2, 2)


# ------------------------------------------------------------------ where the maxima lie, and back

def naive_indices(x, k, stride, padding, ceil_mode, dilation):
    """For every window, by loops: the flat index r·W + q of its first largest pixel (taps in row-major
    order within the window, as max_pool2d breaks ties), −1 where it holds no pixel."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (h, w) = k, stride or k, padding, dilation, x.shape[2:]
    rows = window_starts(h, dh * (kh - 1) + 1, sh, ph, ceil_mode)
    cols = window_starts(w, dw * (kw - 1) + 1, sw, pw, ceil_mode)
    out = np.full(x.shape[:2] + (len(rows), len(cols)), -1)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i, r in enumerate(rows):
                for j, q in enumerate(cols):
                    taps = [(r - ph + dh * a, q - pw + dw * b) for a in range(kh) for b in range(kw)]
                    taps = [(u, v) for u, v in taps if 0 <= u < h and 0 <= v < w]
                    if taps:
                        u, v = max(taps, key=lambda t: (x[n, c, t[0], t[1]], -taps.index(t)))
                        out[n, c, i, j] = u * w + v
    return out


def ties_and_minus_inf(shape):
    """Few values, so windows tie, and −∞ (a masked pixel), so some windows hold nothing else."""
    return hnp.arrays(np.float64, shape, elements=st.sampled_from([-np.inf, -1.0, 0.0, 0.5, 2.0]))


@given(case=pool_case(values=ties_and_minus_inf, dilated=True))
def test_return_indices_says_where_each_maximum_lies(case, device):
    """The first largest pixel on ties (its first pixel for a window of −∞ pixels, as PyTorch), −1 for
    a window with none; the gradient goes exactly where the indices say."""
    x, k, stride, padding, ceil, dilation = case
    xt = tc.tensor(x, requires_grad=True, device=device)
    y, indices = F.max_pool2d(xt, k, stride, padding, dilation, ceil, return_indices=True)
    assert indices.dtype == tc.int64 and indices.shape == y.shape
    np.testing.assert_array_equal(indices.numpy(), naive_indices(x, k, stride, padding, ceil, dilation))
    found = indices.numpy() >= 0                       # the value at the index is the maximum
    picked = np.take_along_axis(x.reshape(*x.shape[:2], -1), np.maximum(indices.numpy(), 0).reshape(*x.shape[:2], -1),
                                axis=2).reshape(y.shape)
    np.testing.assert_array_equal(picked[found], y.numpy()[found])
    upstream = np.arange(1.0, y.numpy().size + 1).reshape(y.shape)
    y.backward(tc.tensor(upstream, device=device))
    routed = np.zeros(x.shape[:2] + (x.shape[2] * x.shape[3],))
    for (n, c, r, q), index in np.ndenumerate(indices.numpy()):
        if index >= 0:
            routed[n, c, index] += upstream[n, c, r, q]
    np.testing.assert_array_equal(xt.grad.numpy(), routed.reshape(x.shape))
    # one image: its own indices, the batch's first
    one, one_indices = F.max_pool2d(tc.tensor(x[0], device=device), k, stride, padding, dilation, ceil, True)
    np.testing.assert_array_equal(one_indices.numpy(), indices.numpy()[0])


@given(data=st.data())
def test_max_unpool_puts_each_value_at_its_index_and_gradchecks(data, device):
    """Indices drawn at random, repeats included: where two values name one pixel the output keeps
    the last (row by row, as PyTorch's CPU loop), and the gradient check (against finite
    differences) holds the backward to that."""
    n, c, h, w = [data.draw(st.integers(1, 2)) for _ in range(2)] + [data.draw(st.integers(1, 4)) for _ in range(2)]
    k, s = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    size = ((h - 1) * s + k, (w - 1) * s + k)
    indices = data.draw(hnp.arrays(np.int64, (n, c, h, w), elements=st.integers(0, size[0] * size[1] - 1)))
    x = data.draw(arrays((n, c, h, w)))
    xt = tc.tensor(x, requires_grad=True, device=device)
    y = F.max_unpool2d(xt, tc.tensor(indices, device=device), k, s)
    assert y.shape == (n, c) + size
    for a in range(n):
        for b in range(c):
            plane = y.numpy()[a, b].ravel()
            for index in set(indices[a, b].ravel().tolist()):
                assert plane[index] == x[a, b].ravel()[indices[a, b].ravel() == index][-1]   # the last given there
            assert (np.delete(plane, indices[a, b].ravel()) == 0).all()                   # zeros elsewhere
    assert tc.gradcheck(lambda t: F.max_unpool2d(t, tc.tensor(indices, device=device), k, s), xt)


def test_unpooling_the_pooled_maxima_puts_them_back():
    x = tc.tensor(np.random.default_rng(3).permutation(2 * 3 * 6 * 5).reshape(2, 3, 6, 5).astype(np.float64))
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    y, indices = pool(x)
    back = unpool(y, indices, output_size=x.shape)                  # (N, C, h, w) as PyTorch takes it
    maxima = back.numpy() != 0
    assert back.shape == x.shape and maxima.sum() == y.numpy().size
    np.testing.assert_array_equal(back.numpy()[maxima], x.numpy()[maxima])
    assert maxima[..., 4].sum() == 0                                 # the last column, in no window
    assert repr(unpool) == "MaxUnpool2d(k=2, s=2)"
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 24\) for the \(6, 4\) output"):
        unpool(y, indices)             # the default size, (3 − 1)·2 + 2 = 6 by 4: the 5th column's indices need (6, 5)


@pytest.mark.parametrize("call,message", [
    (lambda: F.max_unpool2d(tc.zeros(1, 2, 3, 3), tc.zeros(1, 2, 3, 3), 2),
     "max_unpool2d(k=2): indices must be an integer tensor of the input's shape (1, 2, 3, 3) (max_pool2d(..., "
     "return_indices=True) gives it), got float32 (1, 2, 3, 3)"),
    (lambda: F.max_unpool2d(tc.zeros(1, 2, 3, 3), tc.zeros(1, 2, 3, dtype="int64"), 2),
     "max_unpool2d(k=2): indices must be an integer tensor of the input's shape (1, 2, 3, 3) (max_pool2d(..., "
     "return_indices=True) gives it), got int64 (1, 2, 3)"),
    (lambda: F.max_unpool2d(tc.zeros(1, 1, 2, 2), tc.tensor([[[[0, 1], [2, 16]]]]), 2),
     "max_unpool2d(k=2): indices must lie in [0, 16) for the (4, 4) output, got 0 to 16"),
    (lambda: F.max_unpool2d(tc.zeros(1, 1, 2, 2), tc.zeros(1, 1, 2, 2, dtype="int64"), 2, output_size=(6, 4)),
     "max_unpool2d(k=2): output_size must have h, w within the stride (2, 2) of (4, 4) (exclusive), got (6, 4)"),
    (lambda: F.max_unpool2d(tc.zeros(2, 2), tc.zeros(2, 2, dtype="int64"), 2),
     "max_unpool2d(k=2): expected input (N, C, H, W) or (C, H, W), got (2, 2)"),
])
def test_max_unpool_errors_say_what_it_expects(call, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        call()


@pytest.mark.parametrize("output_size", [4, (None, None), "44", (4.7, 4), (1, 4, 4)])
def test_max_unpool_output_size_is_ints_h_w_or_n_c_h_w(output_size):
    with pytest.raises(TypeError, match=r"^max_unpool2d\(k=2\): output_size must be \(h, w\) or \(N, C, h, w\), ints, got "):
        F.max_unpool2d(tc.zeros(1, 1, 2, 2), tc.zeros(1, 1, 2, 2, dtype="int64"), 2, output_size=output_size)


def naive_adaptive_max(x, out):
    """PyTorch's adaptive windows by its stated rule, each window's maximum and the flat index of its
    first largest pixel (row by row), one output entry at a time."""
    (h, w), (oh, ow) = x.shape[2:], out
    y, where = np.zeros(x.shape[:2] + out), np.zeros(x.shape[:2] + out, dtype=np.int64)
    for i in range(oh):
        r0, r1 = int(np.floor(i * h / oh)), int(np.ceil((i + 1) * h / oh))
        for j in range(ow):
            q0, q1 = int(np.floor(j * w / ow)), int(np.ceil((j + 1) * w / ow))
            for n in range(x.shape[0]):
                for c in range(x.shape[1]):
                    window = x[n, c, r0:r1, q0:q1]
                    r, q = np.unravel_index(np.argmax(window), window.shape)
                    y[n, c, i, j], where[n, c, i, j] = window[r, q], (r0 + r) * w + q0 + q
    return y, where


@given(x=distinct(st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 6), st.integers(1, 6))),
       out=st.tuples(st.integers(1, 7), st.integers(1, 7)))
def test_adaptive_max_pool_matches_the_windows_by_loops_and_gradchecks(x, out, device):
    """Outputs larger than the input too (windows of one pixel, repeated: their gradients add up)."""
    y, where = F.adaptive_max_pool2d(tc.tensor(x, device=device), out, return_indices=True)
    want_y, want_where = naive_adaptive_max(x, out)
    np.testing.assert_array_equal(y.numpy(), want_y)
    np.testing.assert_array_equal(where.numpy(), want_where)
    assert tc.gradcheck(lambda t: F.adaptive_max_pool2d(t, out), tc.tensor(x, requires_grad=True, device=device))
    layer = nn.AdaptiveMaxPool2d((out[0], None))
    assert layer(tc.tensor(x[0], device=device)).shape == (x.shape[1], out[0], x.shape[3])   # one image


def test_adaptive_max_pool_checks_its_arguments():
    with pytest.raises(ValueError, match=r"^adaptive_max_pool2d: expected input \(N, C, H, W\) or \(C, H, W\), got \(5,\)"):
        F.adaptive_max_pool2d(tc.zeros(5), 2)
    with pytest.raises(ValueError, match=r"^adaptive_max_pool2d: output_size must be a positive int"):
        F.adaptive_max_pool2d(tc.zeros(1, 2, 3, 3), (0, 2))
    with pytest.raises(TypeError, match=r"^AdaptiveMaxPool2d: return_indices must be True or False, got 'yes'"):
        nn.AdaptiveMaxPool2d(2, return_indices="yes")
