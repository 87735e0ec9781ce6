"""Linear algebra (tinycoat/ops/linalg.py, torch.linalg's functions) on matrices Hypothesis builds
well-conditioned: orthogonal factors (from the QR of drawn arrays) around chosen singular values or
eigenvalues, 1×1 to 4×4, with 0–2 batch axes. Values against NumPy's, the identities that define each
function as properties, float64 gradchecks of every differentiable output (for eigh, svd and qr of
quantities that do not depend on the arbitrary signs of the vectors, or with the signs fixed), and
the errors: singular and non-positive-definite matrices named by their batch index, wrong shapes."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinycoat as tc
from strategies import FLOAT, away_from_zero, values
from tinycoat.ops import linalg


def leaf(array, device):
    return tc.tensor(array, dtype="float64", requires_grad=True, device=device)


def check(fn, *arrays, device):
    return tc.gradcheck(fn, *[leaf(a, device) for a in arrays])


def const(array, device):
    return tc.tensor(array, dtype="float64", device=device)


def sym(x):
    """The symmetric part: eigh and cholesky read one triangle, so finite differences of the raw
    entries would see only that triangle; their gradients are those for symmetric changes."""
    return (x + x.mT) * 0.5


def mT(a):
    return np.swapaxes(a, -1, -2)


def orthonormal_columns(w, atol=1e-12):
    """Wᵀ W = I for every matrix of the batch."""
    k = w.shape[-1]
    np.testing.assert_allclose((w.mT @ w).numpy(), np.broadcast_to(np.eye(k), w.shape[:-2] + (k, k)), atol=atol)


# ------------------------------------------------------------------------------ strategies

def batch_shapes():
    return hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3)


@st.composite
def orthogonal(draw, batch, n):
    """Q of the QR of a drawn array: orthogonal whatever was drawn (zeros give the identity)."""
    x = draw(hnp.arrays(FLOAT, batch + (n, n), elements=values(-1, 1)))
    return np.linalg.qr(x)[0]


@st.composite
def spread(draw, batch, k, low=1.0, step=1.0):
    """k values per matrix, at least ``step``/2 apart: low + i·step + a draw in [0, step/2]."""
    jitter = draw(hnp.arrays(FLOAT, batch + (k,), elements=st.floats(0, step / 2, width=64)))
    return low + step * np.arange(k) + jitter


@st.composite
def square(draw, batch=None, n=None):
    """A = Q₁ diag(±s) Q₂ᵀ with s in [0.5, 2]: condition number at most 4, either sign of det."""
    batch = draw(batch_shapes()) if batch is None else batch
    n = draw(st.integers(1, 4)) if n is None else n
    s = draw(hnp.arrays(FLOAT, batch + (n,), elements=st.floats(0.5, 2.0, width=64).flatmap(
        lambda v: st.sampled_from([v, -v]))))
    q1, q2 = draw(orthogonal(batch, n)), draw(orthogonal(batch, n))
    return (q1 * s[..., None, :]) @ mT(q2)


@st.composite
def spd(draw, batch=None, n=None):
    """A = Q diag(λ) Qᵀ, λ from 1 up, at least 0.5 apart: symmetric positive-definite with distinct
    eigenvalues (eigh's gradient needs them apart)."""
    batch = draw(batch_shapes()) if batch is None else batch
    n = draw(st.integers(1, 4)) if n is None else n
    q, lam = draw(orthogonal(batch, n)), draw(spread(batch, n))
    return (q * lam[..., None, :]) @ mT(q)


@st.composite
def rectangular(draw, batch=None, m=None, n=None):
    """A = U diag(s) Vᵀ (m × n) with U, V orthonormal columns and s from 1 up, at least 0.5 apart:
    full rank, distinct singular values."""
    batch = draw(batch_shapes()) if batch is None else batch
    m = draw(st.integers(1, 4)) if m is None else m
    n = draw(st.integers(1, 4)) if n is None else n
    k = min(m, n)
    u, v = draw(orthogonal(batch, m))[..., :k], draw(orthogonal(batch, n))[..., :k]
    return (u * draw(spread(batch, k))[..., None, :]) @ mT(v)


# ------------------------------------------------------------------------------ inv, det, slogdet

@given(data=st.data())
def test_inv_is_numpys_undoes_A_and_has_the_gradient_of_minus_A_inverse_dA_A_inverse(data, device):
    a = data.draw(square())
    x = linalg.inv(const(a, device))
    np.testing.assert_allclose(x.numpy(), np.linalg.inv(a), rtol=1e-12, atol=1e-12)
    eye = np.broadcast_to(np.eye(a.shape[-1]), a.shape)
    np.testing.assert_allclose((x @ const(a, device)).numpy(), eye, atol=1e-12)
    np.testing.assert_allclose((const(a, device) @ x).numpy(), eye, atol=1e-12)
    assert check(linalg.inv, a, device=device)


@given(data=st.data())
def test_det_and_slogdet_are_numpys_and_det_is_multiplicative(data, device):
    batch = data.draw(batch_shapes())
    n = data.draw(st.integers(1, 4))
    a, b = data.draw(square(batch, n)), data.draw(square(batch, n))
    A, B = const(a, device), const(b, device)
    np.testing.assert_allclose(linalg.det(A).numpy(), np.linalg.det(a), rtol=1e-12)
    sign, logabsdet = linalg.slogdet(A)
    np.testing.assert_array_equal(sign.numpy(), np.linalg.slogdet(a)[0])
    np.testing.assert_allclose(logabsdet.numpy(), np.linalg.slogdet(a)[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(linalg.det(A @ B).numpy(), (linalg.det(A) * linalg.det(B)).numpy(), rtol=1e-10)
    np.testing.assert_allclose((sign * logabsdet.exp()).numpy(), np.linalg.det(a), rtol=1e-12)
    assert check(linalg.det, a, device=device)
    assert check(lambda x: linalg.slogdet(x), a, device=device)          # (the sign's gradient: 0)
    assert check(lambda x: linalg.slogdet(x).logabsdet, a, device=device)


@given(data=st.data())
def test_det_has_the_cofactor_matrix_as_its_gradient_also_where_A_is_singular(data, device):
    """det is a polynomial: its gradient (the cofactors) exists everywhere, also at a singular A,
    where A⁻¹ does not (PyTorch gives 0 there)."""
    batch, n = data.draw(batch_shapes()), data.draw(st.integers(1, 4))
    s = data.draw(hnp.arrays(FLOAT, batch + (n,), elements=st.floats(0.5, 2.0, width=64)))
    s[..., -1] = 0.0                                                     # rank n − 1
    a = (data.draw(orthogonal(batch, n)) * s[..., None, :]) @ mT(data.draw(orthogonal(batch, n)))
    np.testing.assert_allclose(linalg.det(const(a, device)).numpy(), 0.0, atol=1e-12)
    assert check(linalg.det, a, device=device)


@given(data=st.data())
def test_logdet_of_positive_definite_matrices(data, device):
    a = data.draw(spd())
    np.testing.assert_allclose(linalg.logdet(const(a, device)).numpy(), np.log(np.linalg.det(a)), rtol=1e-12,
                               atol=1e-12)
    assert check(linalg.logdet, a, device=device)


def test_logdet_is_nan_for_a_negative_determinant_and_minus_inf_for_a_singular_matrix(device):
    x = leaf(np.diag([-1.0, 2.0]), device)
    out = linalg.logdet(x)
    assert math.isnan(out.item())
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 2)))     # (PyTorch's: 0 where NaN)
    assert linalg.logdet(const(np.ones((2, 2)), device)).item() == -math.inf
    sign, logabsdet = linalg.slogdet(const(np.ones((2, 2)), device))
    assert (sign.item(), logabsdet.item()) == (0.0, -math.inf)


# ------------------------------------------------------------------------------ solve

@st.composite
def solve_case(draw):
    """(A, B, vector?, left?) with A's and B's batch shapes broadcasting against each other."""
    batch_a, batch_b = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2,
                                                              max_side=3)).input_shapes
    n, k = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    left = draw(st.booleans())
    a = draw(square(batch_a, n))
    if left and draw(st.booleans()):        # a vector B is 1-D, or has exactly A's shape without its last axis
        b_shape = draw(st.sampled_from([(n,), batch_a + (n,)]))
    else:
        b_shape = batch_b + ((n, k) if left else (k, n))
    vector = len(b_shape) == 1 or (len(b_shape) == a.ndim - 1 and b_shape == a.shape[:-1])   # (PyTorch's rule)
    return a, draw(hnp.arrays(FLOAT, b_shape, elements=values(-2, 2))), vector, left


@given(case=solve_case())
def test_solve_is_numpys_on_broadcast_batches_and_solves(case, device):
    a, b, vector, left = case
    if vector and not left:                     # (B of A's shape less one axis reads as a vector: PyTorch refuses)
        with pytest.raises(ValueError, match="linalg.solve: with left=False, B must be matrices"):
            linalg.solve(const(a, device), const(b, device), left=left)
        return
    x = linalg.solve(const(a, device), const(b, device), left=left)
    bb = b[..., None] if vector else b if left else mT(b)
    batch = np.broadcast_shapes(a.shape[:-2], bb.shape[:-2])
    expected = np.linalg.solve(np.broadcast_to(a if left else mT(a), batch + a.shape[-2:]),
                               np.broadcast_to(bb, batch + bb.shape[-2:]))
    expected = expected[..., 0] if vector else expected if left else mT(expected)
    np.testing.assert_allclose(x.numpy(), expected, rtol=1e-10, atol=1e-12)
    product = (const(a, device) @ x[..., None])[..., 0] if vector else \
        const(a, device) @ x if left else x @ const(a, device)
    np.testing.assert_allclose(product.numpy(), np.broadcast_to(b, product.shape), atol=1e-10)
    assert check(lambda p, q: linalg.solve(p, q, left=left), a, b, device=device)


@given(data=st.data())
def test_solve_of_A_times_X_gives_X_back(data, device):
    a = data.draw(square())
    x = data.draw(hnp.arrays(FLOAT, a.shape[:-1] + (data.draw(st.integers(1, 3)),), elements=values(-2, 2)))
    np.testing.assert_allclose(linalg.solve(const(a, device), const(a @ x, device)).numpy(), x, atol=1e-10)


# ------------------------------------------------------------------------------ cholesky

@given(data=st.data())
def test_cholesky_is_numpys_and_gives_L_of_L_Lt_back(data, device):
    a = data.draw(spd())
    lower = linalg.cholesky(const(a, device))
    np.testing.assert_allclose(lower.numpy(), np.linalg.cholesky(a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(linalg.cholesky(const(a, device), upper=True).numpy(), mT(np.linalg.cholesky(a)),
                               rtol=1e-10, atol=1e-12)
    n = a.shape[-1]
    l_ = np.tril(data.draw(hnp.arrays(FLOAT, a.shape, elements=values(-1, 1))), -1) \
        + np.eye(n) * data.draw(hnp.arrays(FLOAT, a.shape[:-1], elements=st.floats(0.5, 2, width=64)))[..., None, :]
    np.testing.assert_allclose(linalg.cholesky(const(l_ @ mT(l_), device)).numpy(), l_, rtol=1e-9, atol=1e-10)
    assert check(lambda x: linalg.cholesky(sym(x)), a, device=device)
    assert check(lambda x: linalg.cholesky(sym(x), upper=True), a, device=device)


def test_cholesky_reads_the_lower_triangle_and_its_gradient_is_symmetric(device):
    a = np.array([[4.0, 100.0], [2.0, 3.0]])                         # (the 100 is never read)
    x = leaf(a, device)
    lower = linalg.cholesky(x)
    np.testing.assert_allclose(lower.numpy(), np.linalg.cholesky(np.array([[4.0, 2.0], [2.0, 3.0]])))
    (lower * const([[1.0, 0.0], [2.0, 3.0]], device)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x.grad.numpy().T)


# ------------------------------------------------------------------------------ eigh, eigvalsh

@given(data=st.data())
def test_eigh_is_numpys_and_diagonalizes_A(data, device):
    a = data.draw(spd())
    values_, vectors = linalg.eigh(const(a, device))
    np.testing.assert_allclose(values_.numpy(), np.linalg.eigvalsh(a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(linalg.eigvalsh(const(a, device)).numpy(), np.linalg.eigvalsh(a), rtol=1e-10)
    assert (np.diff(values_.numpy(), axis=-1) > 0).all()                                 # ascending
    v = vectors.numpy()
    np.testing.assert_allclose(a @ v, v * values_.numpy()[..., None, :], atol=1e-10)    # A V = V Λ
    np.testing.assert_allclose(mT(v) @ v, np.broadcast_to(np.eye(a.shape[-1]), a.shape), atol=1e-12)
    upper = np.triu(a) + mT(np.triu(a, 1))                           # UPLO='U' reads the upper triangle only
    garbled = np.triu(a) + np.tril(data.draw(hnp.arrays(FLOAT, a.shape, elements=values(-9, 9))), -1)
    np.testing.assert_allclose(linalg.eigvalsh(const(garbled, device), UPLO="U").numpy(), np.linalg.eigvalsh(upper),
                               rtol=1e-10, atol=1e-12)


@given(data=st.data())
def test_eigh_gradients_for_distinct_eigenvalues(data, device):
    """Through λ, and through V diag(d) Vᵀ and V ∘ V, which do not depend on the signs of the
    eigenvectors (each v_i may come out as −v_i)."""
    a = data.draw(spd())
    d = const(np.arange(1.0, a.shape[-1] + 1), device)

    def fn(x):
        values_, v = linalg.eigh(sym(x))
        return values_, (v * d) @ v.mT, v * v

    assert check(fn, a, device=device)
    assert check(lambda x: linalg.eigvalsh(sym(x)), a, device=device)
    assert check(lambda x: linalg.eigh(sym(x), UPLO="U").eigenvalues, a, device=device)


def test_eigh_through_the_eigenvalues_alone_is_fine_at_repeated_eigenvalues(device):
    """Vectors of a repeated eigenvalue are not unique (their gradient would be ±inf), but the sum of
    the eigenvalues is the trace: its gradient I must come out, not 0 · inf = NaN."""
    x = leaf(np.eye(3) * 2.0, device)
    linalg.eigh(x).eigenvalues.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.eye(3), atol=1e-12)
    x = leaf(np.eye(3) * 2.0, device)
    linalg.eigvalsh(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.eye(3), atol=1e-12)


# ------------------------------------------------------------------------------ qr

def fixed_signs(q, r):
    """Q diag(σ), diag(σ) R with σ the signs of R's diagonal: the factorization with R's diagonal
    positive, a smooth function of A (LAPACK's signs may jump where a column's lead entry is 0)."""
    sigma = r.diagonal(dim1=-2, dim2=-1).detach().sign()
    return q * sigma[..., None, :], r * sigma[..., :, None]


@st.composite
def qr_input(draw):
    """A full-rank matrix whose leading min(m, n) columns are independent (QR's gradient needs R's
    leading square block invertible): for m >= n one of full rank, for m < n [X | Y] with X square()."""
    batch, m, n = draw(batch_shapes()), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    if m >= n:
        return draw(rectangular(batch, m, n))
    return np.concatenate([draw(square(batch, m)), draw(hnp.arrays(FLOAT, batch + (m, n - m), elements=values(-1, 1)))],
                          axis=-1)


@given(data=st.data(), mode=st.sampled_from(["reduced", "complete"]))
def test_qr_multiplies_back_to_A_with_Q_orthonormal_and_R_upper_triangular(data, mode, device):
    a = data.draw(qr_input())
    q, r = linalg.qr(const(a, device), mode=mode)
    nq, nr = np.linalg.qr(a, mode=mode)
    assert q.shape == nq.shape and r.shape == nr.shape
    np.testing.assert_allclose((q @ r).numpy(), a, atol=1e-12)
    orthonormal_columns(q)
    np.testing.assert_array_equal(np.tril(r.numpy(), -1), 0)
    signs = np.sign(np.diagonal(r.numpy(), axis1=-2, axis2=-1) * np.diagonal(nr, axis1=-2, axis2=-1))
    np.testing.assert_allclose(r.numpy()[..., :signs.shape[-1], :] * signs[..., :, None],
                               nr[..., :signs.shape[-1], :], atol=1e-12)         # NumPy's, up to row signs
    np.testing.assert_allclose(linalg.qr(const(a, device), mode="r").R.numpy(),        # (the reduced R)
                               linalg.qr(const(a, device)).R.numpy(), atol=1e-12)


@given(data=st.data())
def test_qr_gradients_of_Q_and_R(data, device):
    """m >= n and m < n (there the leading square block's), with the signs fixed."""
    a = data.draw(qr_input())
    assert check(lambda x: fixed_signs(*linalg.qr(x)), a, device=device)
    if a.shape[-2] <= a.shape[-1]:                       # 'complete' is 'reduced' there: differentiable
        assert check(lambda x: fixed_signs(*linalg.qr(x, mode="complete")), a, device=device)


def test_qr_without_a_gradient_where_pytorch_has_none(device):
    x = leaf(np.random.default_rng(0).standard_normal((4, 2)), device)
    with pytest.raises(RuntimeError, match="linalg.qr backward: mode='complete' has no gradient"):
        linalg.qr(x, mode="complete").Q.sum().backward()
    with pytest.raises(RuntimeError, match="linalg.qr backward: mode='r' has no gradient"):
        linalg.qr(x, mode="r").R.sum().backward()
    assert linalg.qr(x, mode="r").Q.shape == (0,)


# ------------------------------------------------------------------------------ svd, svdvals

@given(data=st.data(), full_matrices=st.booleans())
def test_svd_is_numpys_and_multiplies_back_to_A(data, full_matrices, device):
    a = data.draw(rectangular())
    u, s, vh = linalg.svd(const(a, device), full_matrices=full_matrices)
    nu, ns, nvh = np.linalg.svd(a, full_matrices=full_matrices)
    assert (u.shape, s.shape, vh.shape) == (nu.shape, ns.shape, nvh.shape)
    np.testing.assert_allclose(s.numpy(), ns, rtol=1e-10)
    np.testing.assert_allclose(linalg.svdvals(const(a, device)).numpy(), ns, rtol=1e-10)
    k = s.shape[-1]
    np.testing.assert_allclose(((u[..., :k] * s[..., None, :]) @ vh[..., :k, :]).numpy(), a, atol=1e-10)
    orthonormal_columns(u)
    orthonormal_columns(vh.mT)


@given(data=st.data())
def test_svd_gradients_for_distinct_singular_values(data, device):
    """Through S, and through U diag(d) Vh, U ∘ U, Vh ∘ Vh and u₁v₁ᵀ, which do not depend on the
    signs of the singular vector pairs."""
    a = data.draw(rectangular())
    k = min(a.shape[-2:])
    d = const(np.arange(1.0, k + 1), device)

    def fn(x, full_matrices=False):
        u, s, vh = linalg.svd(x, full_matrices=full_matrices)
        u, vh = u[..., :k], vh[..., :k, :]
        return s, (u * d) @ vh, u * u, vh * vh, u[..., :1] * vh[..., :1, :]

    assert check(fn, a, device=device)
    assert check(lambda x: fn(x, full_matrices=True), a, device=device)
    assert check(linalg.svdvals, a, device=device)


# ------------------------------------------------------------------------------ pinv, matrix_power

@given(data=st.data())
def test_pinv_is_numpys_satisfies_penroses_identities_and_has_a_gradient_at_full_rank(data, device):
    a = data.draw(rectangular())
    p = linalg.pinv(const(a, device)).numpy()
    np.testing.assert_allclose(p, np.linalg.pinv(a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a @ p @ a, a, atol=1e-10)
    np.testing.assert_allclose(p @ a @ p, p, atol=1e-10)
    np.testing.assert_allclose(a @ p, mT(a @ p), atol=1e-12)
    np.testing.assert_allclose(p @ a, mT(p @ a), atol=1e-12)
    assert check(linalg.pinv, a, device=device)


def test_pinv_drops_singular_values_below_the_tolerance(device):
    a = np.diag([4.0, 1e-3, 0.0])
    np.testing.assert_allclose(linalg.pinv(const(a, device)).numpy(), np.diag([0.25, 1e3, 0.0]))
    np.testing.assert_allclose(linalg.pinv(const(a, device), atol=0.01).numpy(), np.diag([0.25, 0.0, 0.0]))
    np.testing.assert_allclose(linalg.pinv(const(a, device), rtol=0.5).numpy(), np.diag([0.25, 0.0, 0.0]))


@given(data=st.data(), k=st.integers(-3, 4))
def test_matrix_power_is_numpys(data, k, device):
    a = data.draw(square())
    out = linalg.matrix_power(const(a, device), k)
    np.testing.assert_allclose(out.numpy(), np.linalg.matrix_power(a, k), rtol=1e-10, atol=1e-10)
    assert check(lambda x: linalg.matrix_power(x, k), a, device=device)


# ------------------------------------------------------------------------------ norms and trace

@given(data=st.data(), ord_=st.sampled_from(["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf]),
       keepdim=st.booleans())
def test_matrix_norm_is_numpys(data, ord_, keepdim, device):
    a = data.draw(rectangular())
    dim = data.draw(st.sampled_from([(-2, -1), (-1, -2)] + ([(0, -1), (2, 0)] if a.ndim == 3 else [])))
    out = linalg.matrix_norm(const(a, device), ord_, dim=dim, keepdim=keepdim)
    np.testing.assert_allclose(out.numpy(), np.linalg.norm(a, ord_, axis=dim, keepdims=keepdim), rtol=1e-10)
    # (1 and inf: a max of sums, smooth only where one wins; other dims: matrices not built to have distinct
    # singular values, and 1×1 ones that may be 0, where |a| has its kink)
    if ord_ in ("fro", "nuc", 2, -2) and set(dim) == {-2, -1}:
        assert check(lambda x: linalg.matrix_norm(x, ord_, dim=dim, keepdim=keepdim), a, device=device)


def test_matrix_norms_of_sums_are_differentiable_where_one_row_or_column_wins(device):
    a = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.5]])
    for ord_ in (1, -1, math.inf, -math.inf):
        assert check(lambda x: linalg.matrix_norm(x, ord_), a, device=device)


@given(data=st.data(), ord_=st.sampled_from([2, 1, 3, 0.5, -1, -2.5, math.inf, -math.inf, 0]),
       keepdim=st.booleans())
def test_vector_norm_is_numpys(data, ord_, keepdim, device):
    a = data.draw(away_from_zero(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)))
    dim = data.draw(st.sampled_from([None, -1, 0] + ([(0, -1)] if a.ndim > 1 else [])))
    out = linalg.vector_norm(const(a, device), ord_, dim=dim, keepdim=keepdim)
    flat = a.reshape(-1) if dim is None else a
    axis = None if dim is None else dim
    expected = np.linalg.norm(flat, ord_) if dim is None else \
        np.sum(np.abs(a) ** ord_, axis=axis, keepdims=keepdim) ** (1 / ord_) if ord_ not in (0, math.inf, -math.inf) \
        else np.linalg.norm(a, ord_, axis=axis, keepdims=keepdim) if not isinstance(axis, tuple) else \
        (np.count_nonzero(a, axis=axis, keepdims=keepdim) if ord_ == 0 else
         (np.max if ord_ > 0 else np.min)(np.abs(a), axis=axis, keepdims=keepdim))
    if dim is None and keepdim:
        expected = np.reshape(expected, (1,) * a.ndim)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10)
    if ord_ not in (0, math.inf, -math.inf):             # (inf: a max, with ties among |x| drawn)
        assert check(lambda x: linalg.vector_norm(x, ord_, dim=dim, keepdim=keepdim), a, device=device)


def test_norm_chooses_a_vector_or_a_matrix_norm_as_pytorch_does(device):
    a = np.arange(1.0, 7.0).reshape(2, 3)
    A = const(a, device)
    assert linalg.norm(A).item() == pytest.approx(np.sqrt((a ** 2).sum()))
    assert linalg.norm(A, 2).item() == pytest.approx(np.linalg.norm(a, 2))          # 2-D with ord: matrix
    np.testing.assert_allclose(linalg.norm(A, 1, dim=1).numpy(), np.abs(a).sum(1))  # int dim: vector
    assert linalg.norm(A, "nuc", dim=(0, 1)).item() == pytest.approx(np.linalg.norm(a, "nuc"))
    assert linalg.norm(const(a[0], device), 3).item() == pytest.approx((a[0] ** 3).sum() ** (1 / 3))
    with pytest.raises(ValueError, match="linalg.norm: with ord=2 and no dim, A must be 1-D or 2-D"):
        linalg.norm(const(np.ones((2, 2, 2)), device), 2)


@given(a=hnp.arrays(FLOAT, hnp.array_shapes(min_dims=2, max_dims=2, max_side=4), elements=values()))
def test_trace_of_a_matrix_square_or_not(a, device):
    assert linalg.trace(const(a, device)).item() == pytest.approx(np.trace(a), abs=1e-12)
    assert check(linalg.trace, a, device=device)


# ------------------------------------------------------------------------------ dtypes, no_grad

def test_float32_stays_float32_values_and_gradients(device):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)).astype(np.float32)
    ops = [linalg.inv, linalg.det, lambda x: linalg.slogdet(x).logabsdet, lambda x: linalg.solve(x, x),
           lambda x: linalg.cholesky(x @ x.mT), lambda x: linalg.eigh(sym(x))[1], linalg.svdvals,
           lambda x: linalg.svd(x)[0], lambda x: linalg.qr(x)[1], linalg.pinv]
    for op in ops:
        x = tc.tensor(a, requires_grad=True, device=device)
        out = op(x)
        assert out.dtype == tc.float32
        out.sum().backward()
        assert x.grad.dtype == tc.float32


def test_under_no_grad_nothing_is_recorded(device):
    x = leaf(np.eye(2) * 2.0, device)
    with tc.no_grad():
        outs = [linalg.inv(x), linalg.det(x), *linalg.eigh(x), *linalg.svd(x), *linalg.qr(x), linalg.cholesky(x)]
    assert not any(o.requires_grad for o in outs)


# ------------------------------------------------------------------------------ errors

def test_a_singular_matrix_is_named_by_its_batch_index(device):
    a = np.stack([np.eye(3), np.zeros((3, 3)), np.eye(3), np.ones((3, 3))])
    with pytest.raises(linalg.LinAlgError, match=r"linalg.inv: the matrices at batch indices \(1,\), \(3,\) of the "
                                                 r"input of shape \(4, 3, 3\) are singular"):
        linalg.inv(const(a, device))
    with pytest.raises(linalg.LinAlgError, match=r"linalg.inv: the matrix is singular"):
        linalg.inv(const(np.ones((2, 2)), device))
    a = np.stack([np.eye(3), np.eye(3), np.zeros((3, 3)), np.eye(3)]).reshape(2, 2, 3, 3)
    with pytest.raises(linalg.LinAlgError, match=r"linalg.solve: the matrix at batch index \(1, 0\) of the input of "
                                                 r"shape \(2, 2, 3, 3\) is singular"):
        linalg.solve(const(a, device), const(np.ones((2, 2, 3)), device))
    with pytest.raises(linalg.LinAlgError, match=r"linalg.solve: the matrices at batch indices \(1, 0\), \(1, 1\) of "
                                                 r"the input of shape \(2, 2, 3, 3\) are singular"):    # (broadcast)
        linalg.solve(const(a[:, :1], device), const(np.ones((2, 3, 1)), device))
    with pytest.raises(linalg.LinAlgError, match="linalg.inv: the matrix is singular"):      # (A⁻¹ of A^-1)
        linalg.matrix_power(const(np.zeros((2, 2)), device), -1)
    assert issubclass(linalg.LinAlgError, RuntimeError)                 # (as torch.linalg.LinAlgError)


def test_cholesky_names_the_matrix_that_is_not_positive_definite(device):
    a = np.stack([np.eye(2), np.eye(2), np.diag([1.0, -1.0])]).reshape(3, 1, 2, 2)
    with pytest.raises(linalg.LinAlgError, match=r"linalg.cholesky: the matrix at batch index \(2, 0\) of the input "
                                                 r"of shape \(3, 1, 2, 2\) is not positive-definite"):
        linalg.cholesky(const(a, device))
    with pytest.raises(linalg.LinAlgError, match="linalg.cholesky: the matrix is not positive-definite"):
        linalg.cholesky(const(np.full((2, 2), np.nan), device))


def test_slogdet_has_no_gradient_at_a_singular_matrix(device):
    x = leaf(np.ones((2, 2)), device)
    with pytest.raises(linalg.LinAlgError, match=r"linalg.slogdet \(backward: .*-inf, without a gradient\): the "
                                                 "matrix is singular"):
        linalg.slogdet(x).logabsdet.backward()


@pytest.mark.parametrize("op, error, message", [
    (lambda d: linalg.inv(tc.ones(2, 3, dtype="float64", device=d)), ValueError,
     r"linalg.inv: expected square matrices, shape \(\.\.\., n, n\), got shape \(2, 3\): 2 by 3 matrices"),
    (lambda d: linalg.det(tc.ones(4, 2, 3, device=d)), ValueError, r"linalg.det: expected square matrices"),
    (lambda d: linalg.cholesky(tc.ones(3, dtype="float64", device=d)), ValueError,
     r"linalg.cholesky: expected a matrix or a batch of matrices, shape \(\.\.\., m, n\), got shape \(3,\)"),
    (lambda d: linalg.eigh(tc.ones(2, 3, device=d)), ValueError, "linalg.eigh: expected square matrices"),
    (lambda d: linalg.inv(tc.tensor([[1, 0], [0, 1]], device=d)), TypeError,
     r"linalg.inv: expected a float32 or float64 tensor, got int64"),
    (lambda d: linalg.svd(tc.ones(2, 2, dtype="float16", device=d)), TypeError, "linalg.svd: .*float16"),
    (lambda d: linalg.solve(tc.eye(3, device=d), tc.ones(2, 1, device=d)), ValueError,
     r"linalg.solve: A of shape \(3, 3\) and B of shape \(2, 1\) do not fit: B needs 3 rows"),
    (lambda d: linalg.solve(tc.ones(2, 3, 3, device=d), tc.ones(4, 3, 1, device=d)), ValueError,
     r"linalg.solve: the batch shapes of A \(2,\) and B \(4,\) do not broadcast"),
    (lambda d: linalg.solve(tc.eye(3, device=d), tc.ones(3, device=d), left=False), ValueError,
     r"linalg.solve: with left=False, B must be matrices \(\.\.\., k, 3\), got shape \(3,\)"),
    (lambda d: linalg.solve(tc.eye(2, device=d), tc.ones(2, 1, dtype="float64", device=d)), TypeError,
     "linalg.solve: A and B must have the same dtype"),
    (lambda d: linalg.eigh(tc.eye(2, device=d), UPLO="X"), ValueError, "linalg.eigh: UPLO must be 'L' or 'U'"),
    (lambda d: linalg.qr(tc.eye(2, device=d), mode="raw"), ValueError, "linalg.qr: mode must be"),
    (lambda d: linalg.matrix_power(tc.eye(2, device=d), 1.0), TypeError, "linalg.matrix_power: n must be an int"),
    (lambda d: linalg.matrix_norm(tc.eye(2, device=d), 3), ValueError, "linalg.matrix_norm: ord must be one of"),
    (lambda d: linalg.matrix_norm(tc.ones(2, 2, 2, device=d), dim=(1, -2)), ValueError,
     "linalg.matrix_norm: dim must name two different axes"),
    (lambda d: linalg.vector_norm(tc.ones(3, device=d), "fro"), ValueError, "linalg.vector_norm: ord must be a number"),
    (lambda d: linalg.trace(tc.ones(2, 2, 2, device=d)), ValueError,
     r"trace: expected a matrix \(2-D\), got shape \(2, 2, 2\)"),
    (lambda d: linalg.pinv(tc.eye(2, device=d), atol=-1.0), ValueError, "linalg.pinv: atol must be a number >= 0"),
])
def test_wrong_inputs_are_named(op, error, message, device):
    with pytest.raises(error, match=message):
        op(device)


def test_a_negative_order_norm_with_a_zero_entry_is_zero_with_gradient_zero():
    """Σ|x|^ord is infinite there and the norm 0; its gradient 0 (PyTorch's), not a NaN from ∞."""
    a = tc.tensor(np.array([0.0, 2.0]), requires_grad=True)
    y = linalg.vector_norm(a, -1)
    y.backward()
    assert y.item() == 0.0 and a.grad.tolist() == [0.0, 0.0]
    b = tc.tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert tc.gradcheck(lambda t: linalg.vector_norm(t, -1.5), b)


def test_pinv_hermitian_reads_the_lower_triangle():
    """As PyTorch's: the matrix named is tril(A) + tril(A, −1)ᵀ; the upper triangle gets no gradient."""
    a = tc.tensor(np.array([[2.0, 5.0], [1.0, 3.0]]), requires_grad=True)
    got = linalg.pinv(a, hermitian=True)
    np.testing.assert_allclose(got.numpy(), np.linalg.pinv(np.array([[2.0, 1.0], [1.0, 3.0]])), rtol=1e-12)
    got.sum().backward()
    assert a.grad.numpy()[0, 1] == 0.0
    with pytest.raises(ValueError, match=r"^linalg.pinv: expected square matrices"):
        linalg.pinv(tc.ones(2, 3), hermitian=True)
