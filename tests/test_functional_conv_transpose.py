"""conv_transpose2d and nn.ConvTranspose2d: the definition, the adjoint identity, gradient checks.

The transposed convolution meets its definition written out one input pixel at a time (each stamps
the kernel onto the output, ``naive_conv_transpose2d``), is conv2d's adjoint, ⟨conv2d(x, W), y⟩ =
⟨x, conv_transpose2d(y, W)⟩, and with a k = s kernel of ones is nearest-neighbour upsampling.

Shapes are drawn by Hypothesis at the edges: batch 1–2 or one unbatched image, 1×1 inputs, odd
and even, non-square kernels, strides 1–3, paddings 0–2 (as large as the output allows),
output_padding below the stride or dilation, dilations 1–3, groups 1–2.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
import tinycoat.nn.functional as F
from tinycoat import nn
from strategies import arrays


@st.composite
def transposed_case(draw, max_side=4):
    """(x, weight (C_in, C_out/g, kh, kw), bias or None, stride, padding, output_padding, dilation,
    groups) whose output is at least 1×1; x is one (C, H, W) image a fifth of the time."""
    groups = draw(st.integers(1, 2))
    c_in, o_group = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if draw(st.booleans()) else (1, 1)
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = (draw(st.integers(1, max_side)), draw(st.integers(1, max_side)))
    # the padding may crop all but one row of what the stamps cover (and output_padding adds)
    full = [(n - 1) * s + d * (k - 1) + 1 + op for n, s, d, k, op in zip(size, stride, dilation, kernel,
                                                                            output_padding)]
    padding = tuple(draw(st.integers(0, min(2, (f - 1) // 2))) for f in full)
    shape = (c_in,) + size if draw(st.integers(0, 4)) == 0 else (draw(st.integers(1, 2)), c_in) + size
    x = draw(arrays(shape))
    weight = draw(arrays((c_in, o_group) + kernel))
    bias = draw(st.none() | arrays((o_group * groups,)))
    return x, weight, bias, stride, padding, output_padding, dilation, groups


def naive_conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups):
    """The definition, one input pixel at a time: x[n, c, r, q] stamps W[c] (its C_out/g kernels),
    scaled, at (r·s, q·s) in the full output; padding crops, output_padding adds rows at the end."""
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    n, c_in, h, wd = x.shape
    _, o_group, kh, kw = w.shape
    full = np.zeros((n, o_group * groups, (h - 1) * sh + dh * (kh - 1) + 1 + oph,
                     (wd - 1) * sw + dw * (kw - 1) + 1 + opw))
    c_group = c_in // groups
    for i in range(n):
        for c in range(c_in):
            k = c // c_group                                     # the group of input channel c
            for r in range(h):
                for q in range(wd):
                    stamp = full[i, k * o_group:(k + 1) * o_group, r * sh:r * sh + dh * (kh - 1) + 1:dh,
                                 q * sw:q * sw + dw * (kw - 1) + 1:dw]
                    stamp += x[i, c, r, q] * w[c]
    y = full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]
    return y if b is None else y + b.reshape(-1, 1, 1)


def tensors(device, *arrays_, grad=False):
    return [None if a is None else tc.tensor(a, dtype="float64", device=device, requires_grad=grad)
            for a in arrays_]


@given(case=transposed_case())
def test_conv_transpose2d_matches_the_stamps_one_pixel_at_a_time(case, device):
    x, w, b, stride, padding, output_padding, dilation, groups = case
    y = F.conv_transpose2d(*tensors(device, x, w, b), stride, padding, output_padding, groups, dilation)
    batch = x if x.ndim == 4 else x[None]
    want = naive_conv_transpose2d(batch, w, b, stride, padding, output_padding, dilation, groups)
    np.testing.assert_allclose(y.numpy(), want if x.ndim == 4 else want[0], rtol=1e-10, atol=1e-12)


@given(case=transposed_case(max_side=3))
def test_conv_transpose2d_gradcheck(case, device):
    x, w, b, stride, padding, output_padding, dilation, groups = case
    inputs = [t for t in tensors(device, x, w, b, grad=True) if t is not None]
    assert tc.gradcheck(lambda x_, w_, b_=None: F.conv_transpose2d(x_, w_, b_, stride, padding, output_padding,
                                                                   groups, dilation), *inputs)


@given(data=st.data())
def test_conv_transpose2d_is_the_adjoint_of_conv2d(data, device):
    """⟨conv2d(x, W), y⟩ = ⟨x, conv_transpose2d(y, W)⟩ for every x and y, with the output_padding that
    gives back x's size (the rows a stride-s conv2d leaves unread): the transposed convolution is
    conv2d's input gradient, the map Wᵀ of the linear map x ↦ W * x."""
    x, w, _, stride, padding, _, dilation, groups = data.draw(transposed_case())
    # conv2d's weight (O, C/g, kh, kw) with O = this case's C_in: it maps C = C_out channels to C_in
    n, c = (x.shape[0] if x.ndim == 4 else 1), w.shape[1] * groups
    span = [d * (k - 1) + 1 for k, d in zip(w.shape[2:], dilation)]
    size = [data.draw(st.integers(max(1, s - 2 * p), max(1, s - 2 * p) + 4)) for s, p in zip(span, padding)]
    image = data.draw(arrays((n, c, *size)))
    y = F.conv2d(*tensors(device, image, w), stride=stride, padding=padding, dilation=dilation, groups=groups)
    other = data.draw(arrays(y.shape))
    gap = [(s + 2 * p - k) % st_ for s, p, k, st_ in zip(size, padding, span, stride)]
    back = F.conv_transpose2d(*tensors(device, other, w), stride=stride, padding=padding, output_padding=gap,
                              groups=groups, dilation=dilation)
    assert back.shape == image.shape
    assert float((y.numpy() * other).sum()) == pytest.approx(float((image * back.numpy()).sum()), rel=1e-9, abs=1e-9)


@given(s=st.integers(1, 3), n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 4), w=st.integers(1, 4))
def test_a_stride_s_kernel_of_ones_is_nearest_upsampling(s, n, c, h, w, device):
    """Stamps that tile the output (kernel = stride = s) do not overlap: with a kernel of ones per
    channel (groups = C), each pixel becomes an s×s block of itself, F.interpolate's 'nearest'."""
    x = tc.tensor(np.random.default_rng(h * w).standard_normal((n, c, h, w)), dtype="float64", device=device)
    up = F.conv_transpose2d(x, tc.ones(c, 1, s, s, dtype="float64", device=device), stride=s, groups=c)
    np.testing.assert_array_equal(up.numpy(), F.interpolate(x, scale_factor=s, mode="nearest").numpy())


def test_the_layer_has_pytorchs_weight_initialization_and_output_size():
    """weight (C_in, C_out/g, kh, kw), bounded by 1/√fan_in with fan_in = (C_out/g)·kh·kw (PyTorch's,
    from the weight's second axis); forward(x, output_size) picks the output_padding."""
    tc.manual_seed(0)
    layer = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)
    assert layer.weight.shape == (4, 3, 3, 3) and layer.bias.shape == (6,)
    assert repr(layer) == "ConvTranspose2d(4→6, k=3, s=2, p=1, groups=2)"
    bound = 1 / np.sqrt(3 * 9)
    assert bound * 0.9 < np.abs(layer.weight.numpy()).max() <= bound
    x = tc.randn(2, 4, 5, 3)
    assert layer(x).shape == (2, 6, 9, 5)                       # (H − 1)·2 − 2 + 3
    for size, padding in [((10, 6), (1, 1)), ((2, 6, 9, 6), (0, 1)), ([10, 5], (1, 0))]:
        np.testing.assert_array_equal(layer(x, output_size=size).numpy(),
                                      F.conv_transpose2d(x, layer.weight, layer.bias, 2, 1, padding, 2).numpy())
    assert layer(x[0]).shape == (6, 9, 5)                       # one unbatched image
    with pytest.raises(ValueError, match=r"^ConvTranspose2d: output_size \(11, 5\) is not one this layer can make "
                                         r"from input \(2, 4, 5, 3\): \(H, W\) from \(9, 5\) to \(10, 6\)"):
        layer(x, output_size=(11, 5))


@pytest.mark.parametrize("call,error,message", [
    (lambda: F.conv_transpose2d(tc.zeros(1, 2, 2, 2), tc.zeros(2, 1, 3, 3), padding=3), ValueError,
     r"^conv_transpose2d\(2→1, k=3×3\): input \(1, 2, 2, 2\) gives an output of -2×-2: padding \(3, 3\) crops "
     r"2·padding off the 4×4 pixels"),
    (lambda: F.conv_transpose2d(tc.zeros(1, 2, 2, 2), tc.zeros(2, 1, 3, 3), stride=2, output_padding=2), ValueError,
     r"^conv_transpose2d: output_padding must be smaller than the stride or the dilation, got output_padding "
     r"\(2, 2\) with stride \(2, 2\) and dilation \(1, 1\)"),
    (lambda: F.conv_transpose2d(tc.zeros(1, 2, 2, 2), tc.zeros(3, 1, 3, 3)), ValueError,
     r"^conv_transpose2d\(3→1, k=3×3\): expected input \(N, 3, H, W\) or \(3, H, W\), got \(1, 2, 2, 2\)"),
    (lambda: F.conv_transpose2d(tc.zeros(1, 2, 2, 2), tc.zeros(2, 1, 3, 3), groups=4), ValueError,
     r"^conv_transpose2d: the weight's 2 input channels do not split into groups=4"),
    (lambda: F.conv_transpose2d(tc.zeros(1, 2, 2, 2), tc.zeros(2, 1, 3)), ValueError,
     r"^conv_transpose2d: weight must be \(in, out/groups, kh, kw\), got \(2, 1, 3\)"),
    (lambda: F.conv_transpose2d(tc.zeros(1, 2, 2, 2), tc.zeros(2, 1, 3, 3), padding="same"), ValueError,
     r"^conv_transpose2d: padding must be an int or a pair \(no 'same' or 'valid'"),
    (lambda: F.conv_transpose2d(tc.zeros(1, 2, 2, 2), tc.zeros(2, 1, 3, 3), bias=tc.zeros(2)), ValueError,
     r"^conv_transpose2d: bias must have shape \(1,\), got \(2,\)"),
    (lambda: F.conv_transpose2d(tc.zeros(1, 2, 2, 2, dtype="int64"), tc.zeros(2, 1, 3, 3)), TypeError,
     r"^conv_transpose2d\(2→1, k=3×3\): expected a floating-point input"),
    (lambda: nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect"), ValueError,
     r"^ConvTranspose2d: padding_mode must be 'zeros'"),
    (lambda: nn.ConvTranspose2d(2, 3, 3, groups=2), ValueError,
     r"^ConvTranspose2d: in_channels \(2\) and out_channels \(3\) must both be divisible by groups \(2\)"),
    (lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, output_padding=(0, 2)), ValueError,
     r"^ConvTranspose2d: output_padding must be smaller than the stride or the dilation"),
    (lambda: nn.ConvTranspose2d(2, 3, 3)(tc.zeros(1, 3, 4, 4)), ValueError,
     r"^ConvTranspose2d\(2→3, k=3\): expected input \(N, 2, H, W\) or \(2, H, W\), got \(1, 3, 4, 4\)"),
])
def test_transposed_errors_name_the_argument_and_the_expected_form(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_conv_transpose2d_keeps_float32(device):
    x = tc.randn(2, 3, 4, 5, device=device, requires_grad=True)
    w = tc.randn(3, 2, 3, 2, device=device, requires_grad=True)
    y = F.conv_transpose2d(x, w, tc.zeros(2, device=device), stride=2, padding=1, output_padding=1)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == tc.float32 and y.shape == (2, 2, 8, 9)


def test_mixed_dtypes_promote_as_conv2d_and_empty_maps_are_refused():
    x, w = tc.randn(1, 2, 3, 3), tc.randn(2, 1, 2, 2, dtype="float64")
    assert F.conv_transpose2d(x, w).dtype == F.conv2d(x, w.transpose(0, 1)).dtype == tc.float64
    with pytest.raises(ValueError, match=r"^conv_transpose2d\(2→1, k=2×2\): expected input \(N, 2, H, W\) or "
                                         r"\(2, H, W\), H and W at least 1, got \(1, 2, 0, 3\)"):
        F.conv_transpose2d(tc.zeros(1, 2, 0, 3), w)
    layer = nn.ConvTranspose2d(2, 1, 3, stride=2)
    for bad in (7, (1, 2, 3, 4, 5, 6), (7.0, 7.0)):
        with pytest.raises(ValueError, match=r"^ConvTranspose2d: output_size must be \(H, W\), or the whole output "
                                             r"shape \(4 ints\)"):
            layer(tc.zeros(1, 2, 3, 3), output_size=bad)
