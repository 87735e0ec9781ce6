"""softmax and log_softmax: the normalisation inside attention and cross-entropy.

Properties: every row is a probability distribution; huge logits do not overflow;
log_softmax is the log of softmax; both backwards agree with finite differences.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat.nn.functional.softmax import log_softmax, softmax
from strategies import arrays, shape_and_axis


def single_axis(shape_axis):
    shape, axis = shape_axis
    return shape, (axis if isinstance(axis, int) else -1)


@given(data=st.data())
def test_softmax_rows_are_distributions(data, device):
    """Along the softmax axis every entry is in [0, 1] and the entries sum to 1."""
    shape, axis = single_axis(data.draw(shape_and_axis()))
    x = data.draw(arrays(shape, -20, 20))
    y = softmax(tc.tensor(x, device=device), axis=axis).numpy()
    assert ((y >= 0) & (y <= 1)).all()
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-12)
    reference = np.exp(x - x.max(axis=axis, keepdims=True))
    np.testing.assert_allclose(y, reference / reference.sum(axis=axis, keepdims=True), rtol=1e-10, atol=1e-14)


@given(data=st.data())
def test_softmax_is_shift_invariant(data, device):
    """Adding the same constant to every logit of a row leaves the softmax unchanged."""
    shape, axis = single_axis(data.draw(shape_and_axis()))
    x = data.draw(arrays(shape))
    c = data.draw(st.floats(-50, 50))
    a = softmax(tc.tensor(x, device=device), axis=axis).numpy()
    b = softmax(tc.tensor(x + c, device=device), axis=axis).numpy()
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stable_at_huge_logits(dtype, device):
    """Logits of ±1e4 (exp overflows at ~89 in float32) give finite, exact answers, in the input's dtype."""
    x = tc.tensor([[1e4, -1e4, 0.0, 1e4], [-1e4, -1e4, -1e4, -1e4]], dtype=dtype, device=device)
    y = softmax(x)
    log_y = log_softmax(x)
    assert y.dtype == x.dtype and log_y.dtype == x.dtype
    np.testing.assert_allclose(y.numpy(), [[0.5, 0, 0, 0.5], [0.25] * 4], atol=1e-12)
    np.testing.assert_allclose(log_y.numpy(), [[-np.log(2), -2e4 - np.log(2), -1e4 - np.log(2), -np.log(2)],
                                               [-np.log(4)] * 4], rtol=1e-6)
    x.requires_grad_()
    (softmax(x) * tc.tensor([[1.0, 2, 3, 4], [1, 2, 3, 4]], dtype=dtype, device=device)).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


@given(data=st.data())
def test_log_softmax_is_log_of_softmax(data, device):
    """log_softmax(x) = log(softmax(x)), without ever taking the log of a tiny number."""
    shape, axis = single_axis(data.draw(shape_and_axis()))
    x = tc.tensor(data.draw(arrays(shape, -10, 10)), device=device)
    np.testing.assert_allclose(log_softmax(x, axis=axis).numpy(), np.log(softmax(x, axis=axis).numpy()),
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fn", [softmax, log_softmax], ids=["softmax", "log_softmax"])
@given(data=st.data())
def test_gradcheck(fn, data, device):
    """The hand-written backward equals finite differences, for a random upstream gradient
    (a plain sum would hide a wrong softmax backward: Σ softmax = 1 has gradient 0)."""
    shape, axis = single_axis(data.draw(shape_and_axis()))
    x = tc.tensor(data.draw(arrays(shape)), dtype="float64", requires_grad=True, device=device)
    assert tc.gradcheck(lambda t: fn(t, axis=axis), x)


def test_float32_stays_float32():
    x = tc.randn(3, 5, requires_grad=True)
    y = softmax(x)
    assert y.dtype == tc.float32
    (y * tc.randn(3, 5)).sum().backward()
    assert x.grad.dtype == tc.float32


def test_bad_axis_is_a_clear_error():
    with pytest.raises(ValueError, match="axis 2"):
        softmax(tc.randn(3, 4), axis=2)
