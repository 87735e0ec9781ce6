"""F.unfold and F.fold: im2col and its adjoint as ops. Values against a loop written from the
definition, the convolution as one matrix product with unfold, the adjoint identity, and float64
gradient checks (edge sizes: 1-pixel images, batch 1, odd kernels, non-square inputs)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
import tinycoat.nn.functional as F
from strategies import arrays


@st.composite
def unfold_case(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    if h + 2 * ph < kh or w + 2 * pw < kw:
        kh, kw = min(kh, h + 2 * ph), min(kw, w + 2 * pw)
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))      # a spacing whose span fits, else 1
    dh, dw = (dh if dh * (kh - 1) < h + 2 * ph else 1), (dw if dw * (kw - 1) < w + 2 * pw else 1)
    x = draw(arrays((n, c, h, w)))
    return x, (kh, kw), (ph, pw), (sh, sw), (dh, dw)


def unfold_longhand(x, kernel, padding, stride, dilation=(1, 1)):
    """cols[n, (c, i, j), (r, q)] = x_pad[n, c, r·s + d·i, q·s + d·j], with loops."""
    (kh, kw), (ph, pw), (sh, sw), (dh, dw) = kernel, padding, stride, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, c, hp, wp = xp.shape
    ho, wo = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    cols = np.zeros((n, c * kh * kw, ho * wo))
    for ci in range(c):
        for i in range(kh):
            for j in range(kw):
                for r in range(ho):
                    for q in range(wo):
                        cols[:, (ci * kh + i) * kw + j, r * wo + q] = xp[:, ci, r * sh + dh * i, q * sw + dw * j]
    return cols


@given(case=unfold_case())
def test_unfold_lays_out_every_patch_and_its_gradient_checks(case, device):
    x, kernel, padding, stride, dilation = case
    t = tc.tensor(x, requires_grad=True, device=device)
    np.testing.assert_array_equal(F.unfold(t, kernel, dilation, padding, stride).detach().numpy(),
                                  unfold_longhand(x, kernel, padding, stride, dilation))
    assert tc.gradcheck(lambda a: F.unfold(a, kernel, dilation, padding, stride), t)


@given(case=unfold_case(), out_channels=st.integers(1, 3))
def test_a_convolution_is_one_matrix_product_with_unfold(case, out_channels, device):
    x, kernel, padding, stride, dilation = case
    weight = np.random.default_rng(0).standard_normal((out_channels, x.shape[1], *kernel))
    xt, wt = tc.tensor(x, device=device), tc.tensor(weight, device=device)
    y = F.conv2d(xt, wt, padding=padding, stride=stride, dilation=dilation)
    as_product = wt.reshape(out_channels, -1) @ F.unfold(xt, kernel, dilation, padding, stride)
    np.testing.assert_allclose(as_product.reshape(y.shape).numpy(), y.numpy(), rtol=1e-10, atol=1e-12)


@given(case=unfold_case(), data=st.data())
def test_fold_is_the_adjoint_of_unfold(case, data, device):
    """⟨unfold(x), c⟩ = ⟨x, fold(c)⟩ for every x and c; fold(unfold(1)) counts the windows over each pixel."""
    x, kernel, padding, stride, dilation = case
    size, where = x.shape[2:], dict(dilation=dilation, padding=padding, stride=stride)
    cols = F.unfold(tc.tensor(x, device=device), kernel, **where)
    c = data.draw(arrays(cols.shape))
    folded = F.fold(tc.tensor(c, device=device), size, kernel, **where)
    np.testing.assert_allclose((cols.numpy() * c).sum(), (x * folded.numpy()).sum(), rtol=1e-10, atol=1e-10)
    counts = F.fold(F.unfold(tc.ones(*x.shape, dtype="float64", device=device), kernel, **where), size, kernel, **where)
    covered = (unfold_longhand(np.ones(x.shape), kernel, padding, stride, dilation) != 0)   # as a check by counting
    assert counts.numpy().sum() == covered.sum()
    assert tc.gradcheck(lambda a: F.fold(a, size, kernel, **where), tc.tensor(c, requires_grad=True, device=device))


def test_unfold_of_an_empty_batch_is_empty():
    assert F.unfold(tc.zeros(0, 2, 4, 4), 2).shape == (0, 8, 9)
    assert F.fold(tc.zeros(0, 8, 9), (4, 4), 2).shape == (0, 2, 4, 4)


def test_unfold_and_fold_refuse_what_does_not_fit():
    with pytest.raises(ValueError, match=r"unfold: the \(3, 3\) kernel does not fit the input \(1, 1, 2, 2\)"):
        F.unfold(tc.zeros(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match=r"unfold: the \(2, 2\) kernel \(dilation \(4, 1\): it spans \(5, 2\)\) "
                                         r"does not fit the input \(1, 1, 4, 4\) padded by \(0, 0\)"):
        F.unfold(tc.zeros(1, 1, 4, 4), 2, dilation=(4, 1))
    with pytest.raises(ValueError, match=r"fold: .*dilation \(2, 2\)\), expected input \(N, C·4, 4\), got \(1, 4, 9\)"):
        F.fold(tc.zeros(1, 4, 9), (4, 4), 2, dilation=2)
    with pytest.raises(ValueError, match=r"unfold: dilation must be a positive int or a pair of them, got 0"):
        F.unfold(tc.zeros(1, 1, 4, 4), 2, dilation=0)
    with pytest.raises(ValueError, match=r"unfold: kernel_size must be a positive int or a pair of them, got \(2, 2, 2\)"):
        F.unfold(tc.zeros(1, 1, 4, 4), (2, 2, 2))
    assert F.unfold(tc.zeros(1, 1, 4, 4), [2]).shape == (1, 4, 9)          # one int in a list: both sides
    with pytest.raises(ValueError, match="fold: padding must be a non-negative int or a pair of them, got -1"):
        F.fold(tc.zeros(1, 4, 9), (4, 4), 2, padding=-1)
    with pytest.raises(ValueError, match=r"fold: for a \(4, 4\) image and kernel \(2, 2\).*expected input \(N, C·4, 9\)"):
        F.fold(tc.zeros(1, 4, 8), (4, 4), 2)


def test_the_layers_are_the_functions_and_check_their_sizes_when_built():
    x = tc.randn(2, 3, 5, 4, dtype="float64")
    unfold, fold = tc.nn.Unfold(3, padding=1, stride=2), tc.nn.Fold((5, 4), 3, padding=1, stride=2)
    np.testing.assert_array_equal(unfold(x).numpy(), F.unfold(x, 3, padding=1, stride=2).numpy())
    np.testing.assert_array_equal(fold(unfold(x)).numpy(), F.fold(unfold(x), (5, 4), 3, padding=1, stride=2).numpy())
    assert repr(unfold) == "Unfold(kernel_size=3, dilation=1, padding=1, stride=2)"
    with pytest.raises(ValueError, match="Unfold: stride must be a positive int or a pair of them, got 0"):
        tc.nn.Unfold(3, stride=0)
