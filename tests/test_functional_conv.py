"""conv2d and depthwise_conv2d: the definition, the paper's identities, float64 gradient checks.

conv2d meets its definition written out one output entry at a time (``naive_conv2d``); the
depthwise convolution, whose reference is itself the paper's shifted sum, meets conv2d with a
block-diagonal weight (and lesson 05's loop over the paper's formula).

Shapes are drawn by Hypothesis at the edges: batch 1–2, 1×1 images (where the kernel
fits with its padding), odd and even, non-square sizes, kernels 1–3 (odd and even, non-
square), strides 1–3, paddings 0–2 and dilations 1–3 per axis. A dilated kernel is also met
as the undilated one with zeros between its taps (``spread_taps``).
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
import tinycoat.nn.functional as F
from tinycoat import nn
from tinycoat.nn.functional.im2col import col2im, im2col, pad2d, windows
from strategies import arrays


def leaf(a, device):
    return tc.tensor(a, requires_grad=True, dtype="float64", device=device)


@st.composite
def conv_case(draw, depthwise=False, max_side=5, dilated=True):
    """(x, weight, bias or None, stride, padding, dilation) for a convolution whose output is at
    least 1×1 (dilation (1, 1) half the time, as most convolutions are; always without ``dilated``)."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    o = c if depthwise else draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilated and draw(st.booleans()) else (1, 1)
    span_h, span_w = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    h = draw(st.integers(max(1, span_h - 2 * padding[0]), max(max_side, span_h - 2 * padding[0])))
    w = draw(st.integers(max(1, span_w - 2 * padding[1]), max(max_side, span_w - 2 * padding[1])))
    x = draw(arrays((n, c, h, w)))
    weight = draw(arrays((o, 1 if depthwise else c, kh, kw)))
    bias = draw(st.none() | arrays((o,)))
    return x, weight, bias, stride, padding, dilation


def naive_conv2d(x, w, b, stride, padding, dilation=(1, 1)):
    """The definition, one output entry at a time: the taps of window (r, q) are every d-th pixel."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, o, (kh, kw) = x.shape[0], w.shape[0], w.shape[2:]
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    ho, wo = (xp.shape[2] - span_h) // sh + 1, (xp.shape[3] - span_w) // sw + 1
    y = np.zeros((n, o, ho, wo))
    for i in range(n):
        for j in range(o):
            for r in range(ho):
                for q in range(wo):
                    taps = xp[i, :, r * sh:r * sh + span_h:dh, q * sw:q * sw + span_w:dw]
                    y[i, j, r, q] = np.sum(taps * w[j])
    return y if b is None else y + b.reshape(-1, 1, 1)


def spread_taps(w, dilation):
    """The kernel with d − 1 zeros between neighbouring taps: (…, kh, kw) -> (…, d(kh−1)+1, d(kw−1)+1)."""
    (dh, dw), (kh, kw) = dilation, w.shape[2:]
    spread = np.zeros(w.shape[:2] + (dh * (kh - 1) + 1, dw * (kw - 1) + 1))
    spread[:, :, ::dh, ::dw] = w
    return spread


def as_tensors(x, w, b, device, grad=False):
    make = (lambda a: leaf(a, device)) if grad else (lambda a: tc.tensor(a, device=device))
    return make(x), make(w), None if b is None else make(b)


# ------------------------------------------------------------------------------- conv2d

@given(case=conv_case())
def test_conv2d_matches_naive_loops(case, device):
    x, w, b, stride, padding, dilation = case
    y = F.conv2d(*as_tensors(x, w, b, device), stride=stride, padding=padding, dilation=dilation)
    np.testing.assert_allclose(y.numpy(), naive_conv2d(x, w, b, stride, padding, dilation), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("depthwise", [False, True])
@given(data=st.data())
def test_a_dilated_kernel_is_the_kernel_with_zeros_between_its_taps(data, depthwise, device):
    """Dilation d: the same sum as an undilated kernel d·(k − 1) + 1 wide whose taps are the kernel's,
    d apart, with zeros in between — for the output and for the gradient of the input."""
    x, w, b, stride, padding, dilation = data.draw(conv_case(depthwise=depthwise))
    conv = F.depthwise_conv2d if depthwise else F.conv2d
    x1, x2 = leaf(x, device), leaf(x, device)
    y = conv(x1, tc.tensor(w, device=device), None if b is None else tc.tensor(b, device=device), stride, padding,
             dilation)
    y_spread = conv(x2, tc.tensor(spread_taps(w, dilation), device=device),
                    None if b is None else tc.tensor(b, device=device), stride, padding)
    np.testing.assert_allclose(y.numpy(), y_spread.numpy(), rtol=1e-10, atol=1e-12)
    g = np.cos(np.arange(y.numpy().size)).reshape(y.shape)
    y.backward(tc.tensor(g, device=device))
    y_spread.backward(tc.tensor(g, device=device))
    np.testing.assert_allclose(x1.grad.numpy(), x2.grad.numpy(), rtol=1e-10, atol=1e-12)


@given(case=conv_case(max_side=4))
def test_conv2d_gradcheck(case, device):
    x, w, b, stride, padding, dilation = case
    inputs = [t for t in as_tensors(x, w, b, device, grad=True) if t is not None]
    fn = (lambda x_, w_, b_=None: F.conv2d(x_, w_, b_, stride=stride, padding=padding, dilation=dilation))
    assert tc.gradcheck(fn, *inputs)


@given(data=st.data())
def test_pointwise_conv_is_a_product_over_channels(data, device):
    """1×1, stride 1, no padding: each pixel's channel vector times the (O, C) weight."""
    n, c, o, h, w = (data.draw(st.integers(1, 3)) for _ in range(5))
    x, wt, b = data.draw(arrays((n, c, h, w))), data.draw(arrays((o, c, 1, 1))), data.draw(arrays((o,)))
    y = F.conv2d(*as_tensors(x, wt, b, device))
    np.testing.assert_allclose(y.numpy(), np.einsum("oc,nchw->nohw", wt[:, :, 0, 0], x) + b.reshape(-1, 1, 1),
                               rtol=1e-10, atol=1e-12)
    assert tc.gradcheck(lambda x_, w_, b_: F.conv2d(x_, w_, b_), *as_tensors(x, wt, b, device, grad=True))


def test_conv2d_chain_reads_strided_views(device):
    """A k×k conv returns a transposed view; the next conv (k×k or 1×1) must read it correctly."""
    rng = np.random.default_rng(0)
    x, w1, w2, w3 = (rng.standard_normal(s) for s in [(2, 2, 5, 4), (3, 2, 3, 3), (2, 3, 3, 2), (3, 2, 1, 1)])
    ref = naive_conv2d(naive_conv2d(naive_conv2d(x, w1, None, (1, 1), (1, 1)), w2, None, (2, 1), (1, 0)),
                       w3, None, (1, 1), (0, 0))
    chain = (lambda a, b, c, d: F.conv2d(F.conv2d(F.conv2d(a, b, padding=1), c, stride=(2, 1), padding=(1, 0)), d))
    tensors = [leaf(a, device) for a in (x, w1, w2, w3)]
    np.testing.assert_allclose(chain(*tensors).numpy(), ref, rtol=1e-10)
    assert tc.gradcheck(chain, *tensors)


def test_conv2d_keeps_float32(device):
    x = tc.randn(2, 3, 6, 5, device=device)
    for k, s, p in [(3, 1, 1), (1, 1, 0), (1, 2, 0), (2, 2, 0)]:
        wt = tc.randn(4, 3, k, k, device=device, requires_grad=True)
        y = F.conv2d(x, wt, tc.zeros(4, device=device), stride=s, padding=p)
        y.sum().backward()
        assert y.dtype == tc.float32 and wt.grad.dtype == tc.float32


@given(data=st.data())
def test_im2col_and_col2im_are_adjoint(data, device):
    """⟨windows(x), G⟩ = ⟨x, col2im(G)⟩: col2im is exactly the backward of taking patches."""
    x, w, _, stride, padding, dilation = data.draw(conv_case())
    kernel = w.shape[2:]
    xt = tc.tensor(x, device=device).data
    patches = windows(pad2d(xt, padding), kernel, stride, dilation)   # (N, C, kh, kw, Ho, Wo)
    g = data.draw(arrays(patches.shape))
    gt = tc.tensor(g, device=device).data
    back = col2im(lambda i, j: gt[:, :, i, j], x.shape, kernel, stride, padding, like=gt, dilation=dilation)
    lhs = float((tc.tensor(patches).numpy() * g).sum())
    rhs = float((x * tc.tensor(back).numpy()).sum())
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9)
    cols = tc.tensor(im2col(xt, kernel, stride, padding, dilation)).numpy()   # the same patches, as a matrix
    n, c, kh, kw, ho, wo = patches.shape
    np.testing.assert_array_equal(cols, tc.tensor(patches).numpy().transpose(1, 2, 3, 0, 4, 5).reshape(c * kh * kw, -1))


@pytest.mark.parametrize("shape,message", [
    ((2, 4, 8, 8), r"conv2d\(3→16, k=3×3\): expected input \(N, 3, H, W\) or \(3, H, W\), got \(2, 4, 8, 8\)"),
    ((4, 8, 8), r"expected input \(N, 3, H, W\) or \(3, H, W\), got \(4, 8, 8\)"),
    ((8, 8), r"expected input \(N, 3, H, W\) or \(3, H, W\), got \(8, 8\)"),
    ((1, 1, 3, 8, 8), r"expected input \(N, 3, H, W\) or \(3, H, W\), got \(1, 1, 3, 8, 8\)"),
    ((1, 3, 2, 8), r"too small for kernel \(3, 3\)"),
    ((3, 8, 2), r"input \(3, 8, 2\) is too small for kernel \(3, 3\)"),
])
def test_conv2d_shape_errors(shape, message):
    """A batch or one image (C, H, W), as PyTorch takes them; the error names both forms. (One
    image is a batch of one: tests/test_functional_pooling.py::test_one_image_is_a_batch_of_one.)"""
    with pytest.raises(ValueError, match=message):
        F.conv2d(tc.zeros(*shape), tc.zeros(16, 3, 3, 3))


# ------------------------------------------------------------------------------- depthwise

@given(case=conv_case(depthwise=True))
def test_depthwise_equals_conv2d_with_block_diagonal_weight(case, device):
    """Depthwise = a dense conv whose weight is zero between different channels."""
    x, w, b, stride, padding, dilation = case
    c = x.shape[1]
    dense = np.zeros((c, c) + w.shape[2:])
    dense[np.arange(c), np.arange(c)] = w[:, 0]
    y_dw = F.depthwise_conv2d(*as_tensors(x, w, b, device), stride=stride, padding=padding, dilation=dilation)
    y_dense = F.conv2d(*as_tensors(x, dense, b, device), stride=stride, padding=padding, dilation=dilation)
    np.testing.assert_allclose(y_dw.numpy(), y_dense.numpy(), rtol=1e-10, atol=1e-12)


@given(case=conv_case(depthwise=True, max_side=4))
def test_depthwise_gradcheck(case, device):
    x, w, b, stride, padding, dilation = case
    inputs = [t for t in as_tensors(x, w, b, device, grad=True) if t is not None]
    fn = (lambda x_, w_, b_=None: F.depthwise_conv2d(x_, w_, b_, stride=stride, padding=padding, dilation=dilation))
    assert tc.gradcheck(fn, *inputs)


@given(case=conv_case(depthwise=True))
def test_depthwise_gradients_do_not_depend_on_which_are_wanted(case, device):
    """The backward shares one patch matrix between dL/dx and dL/dw; asking for one alone
    (a frozen kernel, or an input that needs none) gives the same numbers."""
    x, w, _, stride, padding, dilation = case
    g = np.random.default_rng(0).standard_normal(
        F.depthwise_conv2d(tc.tensor(x), tc.tensor(w), stride=stride, padding=padding, dilation=dilation).shape)

    def grads(want_x, want_w):
        xt = leaf(x, device) if want_x else tc.tensor(x, device=device)
        wt = leaf(w, device) if want_w else tc.tensor(w, device=device)
        F.depthwise_conv2d(xt, wt, stride=stride, padding=padding, dilation=dilation).backward(tc.tensor(g, device=device))
        return xt.grad, wt.grad
    gx, gw = grads(True, True)
    np.testing.assert_allclose(grads(True, False)[0].numpy(), gx.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads(False, True)[1].numpy(), gw.numpy(), rtol=1e-12, atol=1e-12)


def test_depthwise_keeps_float32_and_checks_shapes(device):
    x = tc.randn(2, 3, 5, 5, device=device)
    w = tc.randn(3, 1, 3, 3, device=device, requires_grad=True)
    y = F.depthwise_conv2d(x, w, stride=2, padding=1)
    y.sum().backward()
    assert y.shape == (2, 3, 3, 3) and y.dtype == tc.float32 and w.grad.dtype == tc.float32
    with pytest.raises(ValueError, match=r"expected input \(N, 3, H, W\) or \(3, H, W\), got \(2, 4, 5, 5\)"):
        F.depthwise_conv2d(tc.zeros(2, 4, 5, 5), tc.zeros(3, 1, 3, 3))
    with pytest.raises(ValueError, match=r"expected input \(N, 3, H, W\) or \(3, H, W\), got \(5, 5\)"):
        F.depthwise_conv2d(tc.zeros(5, 5), tc.zeros(3, 1, 3, 3))
    with pytest.raises(ValueError, match=r"weight must be \(channels, 1, kh, kw\)"):
        F.depthwise_conv2d(tc.zeros(2, 3, 5, 5), tc.zeros(3, 3, 3, 3))


@given(kh=st.sampled_from([1, 3, 5]), kw=st.sampled_from([1, 3, 5]), h=st.integers(1, 6), w=st.integers(1, 6),
       depthwise=st.booleans())
def test_padding_same_keeps_the_map_size_and_valid_is_none(kh, kw, h, w, depthwise):
    """PyTorch's padding words: 'same' is (k − 1)/2 on each side (stride 1, odd kernels), 'valid' 0."""
    x = tc.randn(2, 3, h, w, dtype="float64")
    weight = tc.randn(3, 1, kh, kw, dtype="float64") if depthwise else tc.randn(4, 3, kh, kw, dtype="float64")
    conv = F.depthwise_conv2d if depthwise else F.conv2d
    same = conv(x, weight, padding="same")
    assert same.shape[2:] == (h, w)
    np.testing.assert_array_equal(same.numpy(), conv(x, weight, padding=((kh - 1) // 2, (kw - 1) // 2)).numpy())
    if kh <= h and kw <= w:
        np.testing.assert_array_equal(conv(x, weight, padding="valid").numpy(), conv(x, weight).numpy())
    layer = (nn.DepthwiseConv2d(3, (kh, kw), padding="same") if depthwise
             else nn.Conv2d(3, 4, (kh, kw), padding="same"))
    assert layer.padding == ((kh - 1) // 2, (kw - 1) // 2) and layer(x.float()).shape[2:] == (h, w)


@pytest.mark.parametrize("make,message", [
    (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), r"padding='same' needs stride 1 \(as in PyTorch\)"),
    (lambda: nn.Conv2d(3, 4, 3, padding="full"), r"padding must be an int, a pair, 'same' or 'valid', got 'full'"),
    (lambda: F.conv2d(tc.randn(1, 3, 4, 4), tc.randn(4, 3, 2, 2), padding="same", stride=2),
     r"^conv2d: padding='same' needs stride 1"),
])
def test_padding_words_that_cannot_be_kept_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@given(k=st.integers(1, 4), d=st.integers(1, 3), h=st.integers(1, 6), depthwise=st.booleans())
def test_padding_same_pads_the_span_less_one_the_odd_one_at_the_end(k, d, h, depthwise):
    """'same' pads s − 1 in all for a kernel of span s = d·(k − 1) + 1: ⌊(s − 1)/2⌋ on each side, and
    where s is even the odd one at the bottom and right, as PyTorch; the layers as the functions."""
    x = tc.randn(1, 3, h, h + 1, dtype="float64")
    weight = tc.randn(3, 1, k, k, dtype="float64") if depthwise else tc.randn(2, 3, k, k, dtype="float64")
    conv = F.depthwise_conv2d if depthwise else F.conv2d
    span = d * (k - 1) + 1
    same = conv(x, weight, padding="same", dilation=d)
    assert same.shape[2:] == (h, h + 1)
    padded = F.pad(x, (0, 1 - span % 2, 0, 1 - span % 2))              # the odd one, at the end
    np.testing.assert_array_equal(same.numpy(), conv(padded, weight, padding=(span - 1) // 2, dilation=d).numpy())
    layer = (nn.DepthwiseConv2d(3, k, padding="same", dilation=d, dtype="float64") if depthwise
             else nn.Conv2d(3, 2, k, padding="same", dilation=d, dtype="float64"))
    layer.weight.data = weight.data
    np.testing.assert_array_equal(layer(x).numpy(), conv(x, weight, layer.bias, padding="same", dilation=d).numpy())
    assert ("p=same" in repr(layer)) == (span % 2 == 0)


@pytest.mark.parametrize("call,error,message", [
    (lambda: F.conv2d(tc.zeros(1, 3, 4, 4), tc.zeros(2, 3, 3, 3), dilation=2), ValueError,
     r"^conv2d\(3→2, k=3×3\): input \(1, 3, 4, 4\) is too small for kernel \(3, 3\) with dilation \(2, 2\) "
     r"\(spanning \(5, 5\)\) and padding \(0, 0\)"),
    (lambda: F.depthwise_conv2d(tc.zeros(3, 9, 4), tc.zeros(3, 1, 2, 2), dilation=(1, 4)), ValueError,
     r"input \(3, 9, 4\) is too small for kernel \(2, 2\) with dilation \(1, 4\) \(spanning \(2, 5\)\)"),
    (lambda: F.conv2d(tc.zeros(1, 3, 4, 4), tc.zeros(2, 3, 3, 3), dilation=0), ValueError, r"^conv2d: dilation"),
    (lambda: nn.Conv2d(3, 2, 3, dilation=(2, 0)), ValueError, r"^Conv2d: dilation"),
    (lambda: nn.DepthwiseConv2d(3, 3, dilation=1.5), TypeError, r"^DepthwiseConv2d: dilation"),
])
def test_dilation_errors_name_the_span(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_dilated_layers_say_so_and_compute_what_the_functions_do():
    conv, depthwise = nn.Conv2d(3, 4, 3, padding=2, dilation=2), nn.DepthwiseConv2d(3, 3, padding="same", dilation=3)
    assert "d=2" in repr(conv) and depthwise.padding == (3, 3) and "d=3" in repr(depthwise)
    x = tc.randn(2, 3, 7, 6)
    np.testing.assert_array_equal(conv(x).numpy(), F.conv2d(x, conv.weight, conv.bias, 1, 2, 2).numpy())
    np.testing.assert_array_equal(depthwise(x).numpy(),
                                  F.depthwise_conv2d(x, depthwise.weight, depthwise.bias, 1, 3, 3).numpy())
    assert conv(x).shape == (2, 4, 7, 6) and depthwise(x).shape == (2, 3, 7, 6)


# ------------------------------------------------------------------------------- groups

@st.composite
def grouped_case(draw):
    """(x, weight (O, C/g, kh, kw), bias or None, stride, padding, dilation, groups) with g of 1–3."""
    groups = draw(st.integers(1, 3))
    x, w, b, stride, padding, dilation = draw(conv_case())
    n, c_group, h, wd = x.shape
    o_group = w.shape[0]
    x = draw(arrays((n, c_group * groups, h, wd)))
    w = draw(arrays((o_group * groups, c_group) + w.shape[2:]))
    b = None if b is None else draw(arrays((o_group * groups,)))
    return x, w, b, stride, padding, dilation, groups


@given(case=grouped_case())
def test_a_grouped_convolution_is_one_dense_convolution_per_group(case, device):
    """groups g: output group k is the dense convolution of input group k with weight group k, by
    the naive loops, group by group, the outputs side by side."""
    x, w, b, stride, padding, dilation, groups = case
    y = F.conv2d(*as_tensors(x, w, b, device), stride, padding, dilation, groups)
    c, o = x.shape[1] // groups, w.shape[0] // groups
    want = np.concatenate([naive_conv2d(x[:, k * c:(k + 1) * c], w[k * o:(k + 1) * o], None if b is None
                                        else b[k * o:(k + 1) * o], stride, padding, dilation) for k in range(groups)],
                          axis=1)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-10, atol=1e-12)


@given(case=grouped_case())
def test_grouped_conv2d_gradcheck(case, device):
    x, w, b, stride, padding, dilation, groups = case
    inputs = [t for t in as_tensors(x[:, :, :4, :4] if min(x.shape[2:]) > 4 and dilation == (1, 1) else x, w, b,
                                    device, grad=True) if t is not None]
    assert tc.gradcheck(lambda x_, w_, b_=None: F.conv2d(x_, w_, b_, stride, padding, dilation, groups), *inputs)


@given(case=conv_case(depthwise=True))
def test_depthwise_is_conv2d_with_one_group_per_channel(case, device):
    """DepthwiseConv2d is PyTorch's Conv2d with groups = channels; gradients included."""
    x, w, b, stride, padding, dilation = case
    x1, w1, b1 = as_tensors(x, w, b, device, grad=True)
    x2, w2, b2 = as_tensors(x, w, b, device, grad=True)
    y1 = F.depthwise_conv2d(x1, w1, b1, stride, padding, dilation)
    y2 = F.conv2d(x2, w2, b2, stride, padding, dilation, groups=x.shape[1])
    np.testing.assert_allclose(y1.numpy(), y2.numpy(), rtol=1e-10, atol=1e-12)
    g = np.sin(np.arange(y1.numpy().size)).reshape(y1.shape)
    y1.backward(tc.tensor(g, device=device))
    y2.backward(tc.tensor(g, device=device))
    for a, c in [(x1, x2), (w1, w2)] + ([] if b is None else [(b1, b2)]):
        np.testing.assert_allclose(a.grad.numpy(), c.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call,error,message", [
    (lambda: F.conv2d(tc.zeros(1, 6, 4, 4), tc.zeros(5, 3, 3, 3), groups=2), ValueError,
     r"^conv2d: the weight's 5 output channels do not split into groups=2"),
    (lambda: F.conv2d(tc.zeros(1, 4, 4, 4), tc.zeros(4, 3, 3, 3), groups=2), ValueError,
     r"^conv2d\(6→4, k=3×3, groups=2\): expected input \(N, 6, H, W\) or \(6, H, W\), got \(1, 4, 4, 4\)"),
    (lambda: F.conv2d(tc.zeros(1, 4, 4, 4), tc.zeros(4, 2, 3, 3), groups=0), ValueError,
     r"^conv2d: groups must be a positive int, got 0"),
    (lambda: nn.Conv2d(6, 4, 3, groups=4), ValueError,
     r"^Conv2d: in_channels \(6\) and out_channels \(4\) must both be divisible by groups \(4\)"),
    (lambda: nn.Conv2d(6, 4, 3, groups=2.0), TypeError, r"^Conv2d: groups must be a positive int, got 2.0"),
])
def test_group_errors_say_what_divides_what(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_grouped_layer_has_pytorchs_weight_and_initialization():
    """weight (C_out, C_in/g, kh, kw), bounded by 1/√fan_in with fan_in = (C_in/g)·kh·kw, as PyTorch's."""
    tc.manual_seed(0)
    layer = nn.Conv2d(8, 6, 3, padding=1, groups=2)
    assert layer.weight.shape == (6, 4, 3, 3) and layer.bias.shape == (6,) and "groups=2" in repr(layer)
    bound = 1 / np.sqrt(4 * 9)
    assert np.abs(layer.weight.numpy()).max() <= bound and np.abs(layer.weight.numpy()).max() > 0.9 * bound
    x = tc.randn(2, 8, 5, 5)
    np.testing.assert_array_equal(layer(x).numpy(),
                                  F.conv2d(x, layer.weight, layer.bias, 1, 1, 1, 2).numpy())


@pytest.mark.parametrize("padding_mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"])
def test_padding_mode_pads_with_the_inputs_own_entries_first(padding_mode, padding):
    """PyTorch's layers: padding_mode pads by F.pad with that mode (all of 'same''s padding too, the odd
    one at the end), then the convolution pads nothing more; gradients by finite differences."""
    x = tc.randn(2, 3, 5, 6, dtype="float64", requires_grad=True)
    conv = nn.Conv2d(3, 4, (3, 2), padding=padding, dilation=(1, 2), padding_mode=padding_mode, dtype="float64")
    depthwise = nn.DepthwiseConv2d(3, (3, 2), padding=padding, dilation=(1, 2), padding_mode=padding_mode,
                                   dtype="float64")
    (ph, pw), (eh, ew) = conv.padding, conv.same_extra
    padded = F.pad(x, (pw, pw + ew, ph, ph + eh), mode=padding_mode)
    np.testing.assert_array_equal(conv(x).numpy(), F.conv2d(padded, conv.weight, conv.bias, dilation=(1, 2)).numpy())
    np.testing.assert_array_equal(depthwise(x).numpy(),
                                  F.depthwise_conv2d(padded, depthwise.weight, depthwise.bias, dilation=(1, 2)).numpy())
    assert f"padding_mode={padding_mode}" in repr(conv) and f"padding_mode={padding_mode}" in repr(depthwise)
    assert tc.gradcheck(lambda t: conv(t), x)
    if padding == "same":
        assert conv(x).shape == x.shape[:1] + (4,) + x.shape[2:]


def test_an_unknown_padding_mode_is_named():
    with pytest.raises(ValueError, match=r"^Conv2d: padding_mode must be one of 'zeros', 'reflect', 'replicate', "
                                         r"'circular', got 'mirror'"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
