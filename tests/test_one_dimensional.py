"""The 1-D ops and layers: conv1d against its definition written out, each op the same as its 2-D
op on an image one row high, float64 gradchecks, the layers' PyTorch arguments and errors."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
import tinycoat.nn.functional as F
from tinycoat import nn
from strategies import arrays


@st.composite
def sequence_case(draw):
    """(x (N, C, L) or one (C, L), weight (O, C/g, k), bias or None, stride, padding, dilation, groups)
    with an output of at least one step."""
    groups = draw(st.integers(1, 2))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k, stride, dilation, padding = (draw(st.integers(1, 3)) for _ in range(4))
    span = dilation * (k - 1) + 1
    length = draw(st.integers(max(1, span - 2 * padding), max(1, span - 2 * padding) + 4))
    shape = (c, length) if draw(st.integers(0, 4)) == 0 else (draw(st.integers(1, 2)), c, length)
    return (draw(arrays(shape)), draw(arrays((o, c // groups, k))), draw(st.none() | arrays((o,))), stride, padding,
            dilation, groups)


def naive_conv1d(x, w, b, stride, padding, dilation, groups):
    """y[n, o, t] = b[o] + Σ_{c in o's group, i} W[o, c, i] · x_pad[n, c, t·s + d·i], one entry at a time."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    n, (o, c_group, k) = x.shape[0], w.shape
    span = dilation * (k - 1) + 1
    y = np.zeros((n, o, (xp.shape[2] - span) // stride + 1))
    for j in range(o):
        group = j // (o // groups)
        for t in range(y.shape[2]):
            taps = xp[:, group * c_group:(group + 1) * c_group, t * stride:t * stride + span:dilation]
            y[:, j, t] = np.sum(taps * w[j], axis=(1, 2)) + (0 if b is None else b[j])
    return y


def t64(a, device, grad=False):
    return None if a is None else tc.tensor(a, dtype="float64", device=device, requires_grad=grad)


@given(case=sequence_case())
def test_conv1d_meets_its_definition_and_gradchecks(case, device):
    x, w, b, stride, padding, dilation, groups = case
    y = F.conv1d(t64(x, device), t64(w, device), t64(b, device), stride, padding, dilation, groups)
    want = naive_conv1d(x if x.ndim == 3 else x[None], w, b, stride, padding, dilation, groups)
    np.testing.assert_allclose(y.numpy(), want if x.ndim == 3 else want[0], rtol=1e-10, atol=1e-12)
    inputs = [t for t in (t64(x, device, True), t64(w, device, True), t64(b, device, True)) if t is not None]
    assert tc.gradcheck(lambda *t: F.conv1d(*t, stride=stride, padding=padding, dilation=dilation, groups=groups),
                        *inputs)


@given(case=sequence_case(), output_padding=st.integers(0, 2))
def test_conv_transpose1d_is_the_2d_one_on_a_row_and_gradchecks(case, output_padding, device):
    x, w, b, stride, padding, dilation, groups = case
    weight = np.ascontiguousarray(w.reshape(w.shape[0], w.shape[1], -1))      # (C_in, C_out/g, k) read as such
    c_in = weight.shape[0]
    if c_in % groups or output_padding >= max(stride, dilation):
        return
    x = np.random.default_rng(0).standard_normal(x.shape[:-2] + (c_in, x.shape[-1]))
    length = (x.shape[-1] - 1) * stride - 2 * padding + dilation * (w.shape[2] - 1) + 1 + output_padding
    if length < 1:
        return
    bias = None if b is None else np.resize(b, (weight.shape[1] * groups,))
    y = F.conv_transpose1d(t64(x, device), t64(weight, device), t64(bias, device), stride, padding, output_padding,
                           groups, dilation)
    rows = F.conv_transpose2d(t64(x, device).unsqueeze(-2), t64(weight, device).unsqueeze(2), t64(bias, device),
                              (1, stride), (0, padding), (0, output_padding), groups, (1, dilation)).squeeze(-2)
    np.testing.assert_array_equal(y.numpy(), rows.numpy())
    assert y.shape[-1] == length
    inputs = [t for t in (t64(x, device, True), t64(weight, device, True), t64(bias, device, True)) if t is not None]
    assert tc.gradcheck(lambda *t: F.conv_transpose1d(*t, stride=stride, padding=padding, output_padding=output_padding,
                                                      groups=groups, dilation=dilation), *inputs)


@given(x=arrays(st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 7))), k=st.integers(1, 3),
       stride=st.integers(1, 3), padding=st.integers(0, 1), ceil_mode=st.booleans(), out=st.integers(1, 4))
def test_the_poolings_are_their_2d_ones_on_a_row(x, k, stride, padding, ceil_mode, out, device):
    """Values, indices and gradients (gradchecked where no two values lie within a finite difference)."""
    if padding > k // 2 or x.shape[-1] + 2 * padding < k:
        return
    row = t64(x, device).unsqueeze(-2)
    y, where = F.max_pool1d(t64(x, device), k, stride, padding, ceil_mode=ceil_mode, return_indices=True)
    y2, where2 = F.max_pool2d(row, (1, k), (1, stride), (0, padding), ceil_mode=ceil_mode, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), y2.squeeze(-2).numpy())
    np.testing.assert_array_equal(where.numpy(), where2.squeeze(-2).numpy())
    np.testing.assert_array_equal(F.avg_pool1d(t64(x, device), k, stride, padding, ceil_mode).numpy(),
                                  F.avg_pool2d(row, (1, k), (1, stride), (0, padding), ceil_mode).squeeze(-2).numpy())
    np.testing.assert_array_equal(F.adaptive_avg_pool1d(t64(x, device), out).numpy(),
                                  F.adaptive_avg_pool2d(row, (1, out)).squeeze(-2).numpy())
    np.testing.assert_array_equal(F.adaptive_max_pool1d(t64(x, device), out).numpy(),
                                  F.adaptive_max_pool2d(row, (1, out)).squeeze(-2).numpy())
    if x.size == 1 or np.diff(np.sort(x.ravel())).min() > 1e-3:      # no two values within a finite difference
        xt = t64(x, device, True)
        assert tc.gradcheck(lambda t: F.avg_pool1d(t, k, stride, padding, ceil_mode), xt)
        assert tc.gradcheck(lambda t: F.adaptive_max_pool1d(t, out), xt)


def test_the_layers_take_pytorchs_arguments():
    tc.manual_seed(0)
    conv = nn.Conv1d(4, 6, 3, padding="same", groups=2)
    assert conv.weight.shape == (6, 2, 3) and repr(conv) == "Conv1d(4→6, k=3, p=1, groups=2)"
    bound = 1 / np.sqrt(2 * 3)
    assert 0.9 * bound < np.abs(conv.weight.numpy()).max() <= bound
    x = tc.randn(2, 4, 7, dtype="float64")
    assert conv(x).shape == (2, 6, 7) and conv(x[0]).shape == (6, 7)
    even = nn.Conv1d(4, 2, 4, padding="same", dilation=1, padding_mode="reflect", dtype="float64")
    np.testing.assert_array_equal(even(x).numpy(), F.conv1d(F.pad(x, (1, 2), "reflect"), even.weight, even.bias).numpy())
    up = nn.ConvTranspose1d(4, 3, 3, stride=2, padding=1)
    assert up.weight.shape == (4, 3, 3) and up(x.float()).shape == (2, 3, 13)
    assert up(x.float(), output_size=[14]).shape == (2, 3, 14)
    pool, indices = nn.MaxPool1d(2, return_indices=True)(x)
    assert pool.shape == (2, 4, 3) and int(indices.max()) <= 5
    assert nn.AvgPool1d(3, 2, 1)(x).shape == (2, 4, 4) and nn.AdaptiveAvgPool1d(1)(x).shape == (2, 4, 1)
    assert nn.AdaptiveMaxPool1d(2, return_indices=True)(x)[1].shape == (2, 4, 2)


@pytest.mark.parametrize("call,error,message", [
    (lambda: F.conv1d(tc.zeros(2, 3, 5, 5), tc.zeros(4, 3, 3)), ValueError,
     r"^conv1d\(3→4, k=3\): expected input \(N, 3, L\) or \(3, L\), got \(2, 3, 5, 5\)"),
    (lambda: F.conv1d(tc.zeros(2, 3, 5), tc.zeros(4, 3, 3, 3)), ValueError,
     r"^conv1d: weight must be \(out, in/groups, k\), got \(4, 3, 3, 3\)"),
    (lambda: F.conv1d(tc.zeros(2, 3, 5), tc.zeros(4, 3, 3), stride=(1, 2)), ValueError,
     r"^conv1d: stride must be a positive int \(or a 1-tuple of one\) for a 1-D op, got \(1, 2\)"),
    (lambda: F.max_pool1d(tc.zeros(2, 3), 2, padding=2), ValueError,
     r"^max_pool1d\(k=2\): padding must be at most half the kernel_size 2"),
    (lambda: F.max_pool1d(tc.zeros(2, 3), 3, dilation=2), ValueError,
     r"^max_pool1d\(k=3\): input \(2, 3\) is too short for a window spanning 5 steps with dilation 2 with padding 0: "
     r"expected a length L >= 5"),
    (lambda: F.conv1d(tc.zeros(2, 3, 2), tc.zeros(4, 3, 5), padding=1), ValueError,
     r"^conv1d\(3→4, k=5\): input \(2, 3, 2\) is too short for a window of 5 steps with padding 1"),
    (lambda: nn.Conv1d(3, 4, (3, 3)), ValueError, r"^Conv1d: kernel_size must be a positive int \(or a 1-tuple"),
    (lambda: nn.Conv1d(3, 4, 0), ValueError, r"^Conv1d: kernel_size must be a positive int"),
    (lambda: nn.Conv1d(3, 4, 3, stride=0), ValueError, r"^Conv1d: stride must be a positive int"),
    (lambda: nn.Conv1d(3, 4, 3, dilation=-1, padding="same"), ValueError, r"^Conv1d: dilation must be a positive int"),
    (lambda: nn.Conv1d(3, 4, 3, stride=2, padding="same"), ValueError,
     r"^Conv1d: padding='same' needs stride 1 \(as in PyTorch\), got stride 2"),
    (lambda: F.conv1d(tc.zeros(2, 3, 5), tc.zeros(4, 3, 3), stride=2, padding="same"), ValueError,
     r"^conv1d: padding='same' needs stride 1"),
    (lambda: F.conv_transpose1d(tc.zeros(2, 4, 1), tc.zeros(4, 3, 3), padding=3), ValueError,
     r"^conv_transpose1d\(4→3, k=3\): input \(2, 4, 1\) gives an output of length -3: padding 3 crops 2·padding "
     r"off the 3 steps"),
    (lambda: nn.ConvTranspose1d(4, 6, 3, stride=2, output_padding=3), ValueError,
     r"^ConvTranspose1d: output_padding must be smaller than the stride or the dilation"),
    (lambda: F.max_pool1d(tc.zeros(2, 3, 4), 2, 1, -1), ValueError, r"^max_pool1d\(k=2\): padding must be a non-negative"),
    (lambda: nn.MaxPool1d(0), ValueError, r"^MaxPool1d: kernel_size must be a positive int"),
    (lambda: F.avg_pool1d(tc.zeros(2, 3, 4), 2, 0), ValueError, r"^avg_pool1d\(k=2\): stride must be a positive int"),
    (lambda: nn.Conv1d(3, 4, 3)(tc.zeros(2, 4, 5)), ValueError,
     r"^Conv1d\(3→4, k=3\): expected input \(N, 3, L\) or \(3, L\), got \(2, 4, 5\)"),
    (lambda: nn.ConvTranspose1d(2, 3, 3, stride=2)(tc.zeros(1, 2, 4), output_size=(12,)), ValueError,
     r"^ConvTranspose1d: output_size \(12,\) is not one this layer can make from input \(1, 2, 4\): a length "
     r"from 9 to 10"),
    (lambda: F.avg_pool1d(tc.zeros(2, 3, 4, dtype="int64"), 2), TypeError, r"avg_pool1d\(k=2\): expected a floating"),
])
def test_1d_errors_use_1d_words(call, error, message):
    with pytest.raises(error, match=message):
        call()
