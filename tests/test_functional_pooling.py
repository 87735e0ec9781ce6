"""max_pool2d, avg_pool2d, global_avg_pool2d: naive references and float64 gradient checks.

Max pooling has a kink where two entries of a window tie, so its inputs are ``distinct``
(pairwise at least 1/8 apart): the finite differences never cross a change of winner.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
import tinycoat.nn.functional as F
from strategies import arrays, distinct


@st.composite
def pool_case(draw, values=arrays, max_side=5):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))        # k = 4 allows padding 2
    stride = draw(st.none() | st.tuples(st.integers(1, 2), st.integers(1, 2)))
    padding = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    h = draw(st.integers(max(1, k[0] - 2 * padding[0]), max_side))
    w = draw(st.integers(max(1, k[1] - 2 * padding[1]), max_side))
    return draw(values((n, c, h, w))), k, stride, padding


def naive_pool(x, k, stride, padding, reduce, pad_value):
    (kh, kw), (sh, sw), (ph, pw) = k, stride or k, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    ho, wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    y = np.zeros(x.shape[:2] + (ho, wo))
    for r in range(ho):
        for q in range(wo):
            y[:, :, r, q] = reduce(xp[:, :, r * sh:r * sh + kh, q * sw:q * sw + kw], axis=(2, 3))
    return y


@given(case=pool_case(values=distinct))
def test_max_pool_matches_naive_and_gradcheck(case, device):
    x, k, stride, padding = case
    y = F.max_pool2d(tc.tensor(x, device=device), k, stride, padding)
    np.testing.assert_array_equal(y.numpy(), naive_pool(x, k, stride, padding, np.max, -np.inf))
    xt = tc.tensor(x, requires_grad=True, device=device)
    assert tc.gradcheck(lambda a: F.max_pool2d(a, k, stride, padding), xt)


@given(case=pool_case())
def test_avg_pool_matches_naive_and_gradcheck(case, device):
    x, k, stride, padding = case
    y = F.avg_pool2d(tc.tensor(x, device=device), k, stride, padding)
    np.testing.assert_allclose(y.numpy(), naive_pool(x, k, stride, padding, np.mean, 0.0), rtol=1e-12, atol=1e-15)
    xt = tc.tensor(x, requires_grad=True, device=device)
    assert tc.gradcheck(lambda a: F.avg_pool2d(a, k, stride, padding), xt)


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
    for y in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1), F.global_avg_pool2d(x)):
        y.sum().backward()
        assert y.dtype == tc.float32 and x.grad.dtype == tc.float32
    assert F.max_pool2d(x, 2).shape == (2, 3, 3, 2)
    with pytest.raises(ValueError, match=r"max_pool2d\(k=3\): input \(1, 1, 2, 2\) is smaller than the kernel"):
        F.max_pool2d(tc.zeros(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match=r"expected input \(N, C, H, W\), got \(4, 4\)"):
        F.avg_pool2d(tc.zeros(4, 4), 2)
    with pytest.raises(ValueError, match="at most half the kernel"):
        F.max_pool2d(tc.zeros(1, 1, 4, 4), 2, padding=2)


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
    with pytest.raises(ValueError, match=r"expected input \(N, C, H, W\)"):
        F.adaptive_avg_pool2d(tc.randn(3, 5, 4), 2)
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
