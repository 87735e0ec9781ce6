"""Linear algebra, torch.linalg's names and meanings: inverses, determinants, solving, and the
factorizations (Cholesky, symmetric eigendecomposition, QR, SVD), each batched over leading axes:
an input of shape (..., m, n) is a batch of m×n matrices, every one of them handled alike.

    inv det slogdet logdet solve            Inv Det SlogDet Solve (Functions)
    cholesky                                Cholesky
    eigh eigvalsh                           Eigh
    qr                                      QR
    svd svdvals                             SVD SvdVals
    pinv pinverse                           Pinv
    matrix_power matrix_norm vector_norm norm trace     built from the ops above and matmul, sum, ...

A factorization's forward is one LAPACK (NumPy) or cuSOLVER (CuPy) call; its backward is the
derivative of the factorization written out as matrix algebra, from where it comes noted beside it.
Each one is the chain rule read backwards: given the upstream gradients X̄ of the outputs, the
input's Ā is the matrix with ⟨Ā, dA⟩ = Σ ⟨X̄, dX⟩ for every small change dA (⟨P, Q⟩ = Σ P_ij Q_ij =
tr(PᵀQ)). So one writes dX in terms of dA and moves everything but dA to the other side.

Outputs that come in several pieces (eigh's values and vectors, QR's Q and R, ...) are computed
by one Function as one array, the pieces side by side along a last axis (``_pack``); the user gets
slices of it (``_unpack``). Whatever gradients reach the slices come back to that Function as one
array, zeros in a piece no gradient reached; its backward takes the pieces apart again.

A matrix that an operation cannot take (a singular one for inv and solve, one that is not positive
definite for cholesky) is one ``LinAlgError`` naming the function and which matrix of the batch,
on either device (NumPy raises for the whole batch; CuPy returns what cuSOLVER left, so the result
is looked at: ``_factored``).
"""
from __future__ import annotations

import collections
import itertools
import math

from tinycoat import backend
from tinycoat.autograd import Function, as_tensor, unbroadcast
from tinycoat.backend import get_array_module
from tinycoat.checks import is_int
from tinycoat.ops.arithmetic import matmul
from tinycoat.ops.arrange import trace  # noqa: F401  (tc.linalg.trace: the 2-D trace, arrange.py's)
from tinycoat.ops.reduction import _normalize_axes, norm as _p_norm, sum as _sum
from tinycoat.ops.reorder import diagonal
from tinycoat.ops.shape import transpose, tril, where
from tinycoat.tensor import Tensor

SlogdetResult = collections.namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = collections.namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
QRResult = collections.namedtuple("QRResult", ["Q", "R"])
SVDResult = collections.namedtuple("SVDResult", ["U", "S", "Vh"])


class LinAlgError(RuntimeError):
    """A matrix the operation cannot take: singular (inv, solve), not positive-definite (cholesky).
    (torch.linalg.LinAlgError, also a RuntimeError.)"""


# NumPy's own error (CuPy raises the same class when it raises at all); it never reaches the user.
_LAPACK_ERROR = backend.array_module("cpu").linalg.LinAlgError


# ----------------------------------------------------------------------------- array helpers

def _mT(a):
    """The last two axes swapped: every matrix of the batch transposed."""
    return get_array_module(a).swapaxes(a, -1, -2)


def _lower(a, k=0):
    """Entries on or below diagonal k of every matrix (tril), the rest 0."""
    xp = get_array_module(a)
    rows, cols = a.shape[-2:]
    keep = xp.arange(rows)[:, None] + k >= xp.arange(cols)[None, :]
    return xp.where(keep, a, 0).astype(a.dtype, copy=False)


def _scale_columns(a, d):
    """a · diag(d) for a batch: column j times d_j."""
    return a * d[..., None, :]


def _off_diagonal_ratio(numerator, gaps):
    """numerator_ij / gaps_ij off the diagonal, 0 on it. Also 0 where the numerator is 0: there no
    gradient reached that pair of vectors, and a repeated eigenvalue's gap of 0 must not turn 0 into
    0/0 = NaN (eigh used only for its eigenvalues, say). A gap of 0 that a gradient does reach
    gives ±inf, as it must: that derivative does not exist."""
    xp = get_array_module(numerator)
    skip = xp.eye(numerator.shape[-1], dtype=bool) | (numerator == 0)
    return xp.where(skip, 0, numerator / xp.where(skip, 1, gaps)).astype(numerator.dtype, copy=False)


def _skew(m):
    """m − mᵀ for a batch (twice the antisymmetric part)."""
    return m - _mT(m)


def _products_of_the_others(s):
    """Π_{j≠i} s_j for each i along the last axis, without dividing (exact where some s_j = 0): the
    running product of the entries before i times that of the entries after it (as reduction.Prod)."""
    xp = get_array_module(s)
    one = xp.ones_like(s[..., :1])
    before = xp.cumprod(xp.concatenate([one, s[..., :-1]], axis=-1), axis=-1)
    after = xp.cumprod(xp.concatenate([one, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return before * after


def _broadcast_batch(first, second):
    """The shape two batch shapes broadcast to (NumPy's rule), or None where they do not."""
    n = max(len(first), len(second))
    first, second = (1,) * (n - len(first)) + tuple(first), (1,) * (n - len(second)) + tuple(second)
    if any(p != q and 1 not in (p, q) for p, q in zip(first, second)):
        return None
    return tuple(q if p == 1 else p for p, q in zip(first, second))


def _divide_columns(a, d):
    """a · diag(d)⁻¹ (column j over d_j), 0 where a is 0: no gradient there, so a singular value of 0
    must not make 0/0."""
    xp = get_array_module(a)
    skip = a == 0
    return xp.where(skip, 0, a / xp.where(skip, 1, d[..., None, :])).astype(a.dtype, copy=False)


def _batch_indices(batch_shape):
    return itertools.product(*(range(n) for n in batch_shape))


# ---------------------------------------------------------- several outputs from one Function

def _pack(arrays, batch):
    """The arrays (each of shape batch + its own) flattened after the batch axes and laid side by
    side along one last axis: one output for Function.apply."""
    xp = get_array_module(arrays[0])
    return xp.concatenate([a.reshape(batch + (math.prod(a.shape[len(batch):]),)) for a in arrays], axis=-1)


def _unpack(packed, batch, shapes):
    """A ``_pack``ed output taken apart again, one piece per shape: of its gradient (arrays) in a
    backward, of the output itself (tensors: differentiable slices, reshaped) for the user."""
    pieces, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        pieces.append(packed[..., start:start + size].reshape(batch + tuple(shape)))
        start += size
    return pieces


# --------------------------------------------------------------------- checks of the inputs

def _float_matrices(name, a, square=True):
    """``a`` as a tensor once it is a (batch of) float32/float64 matrices, square if asked: a clear
    TypeError or ValueError otherwise."""
    a = as_tensor(a)
    if a.dtype.kind != "f" or a.dtype == backend.float16:
        raise TypeError(f"{name}: expected a float32 or float64 tensor, got {a.dtype} "
                        f"({'float16 has no LAPACK routines: ' if a.dtype == backend.float16 else ''}"
                        "convert it with A.float() or A.double())")
    if a.ndim < 2:
        raise ValueError(f"{name}: expected a matrix or a batch of matrices, shape (..., m, n), got shape {a.shape}")
    if square and a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: expected square matrices, shape (..., n, n), got shape {a.shape}: "
                         f"{a.shape[-2]} by {a.shape[-1]} matrices")
    return a


def _refuse(name, problem, bad, shape):
    """One LinAlgError for the matrices at batch indices ``bad`` of an input of ``shape``."""
    if len(shape) == 2:
        where_ = "the matrix"
    else:
        shown = ", ".join(str(tuple(int(i) for i in idx)) for idx in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        where_ = (f"the matrix at batch index {shown}{more}" if len(bad) == 1 else
                  f"the matrices at batch indices {shown}{more}") + f" of the input of shape {tuple(shape)}"
    return LinAlgError(f"{name}: {where_} {'is' if len(bad) <= 1 else 'are'} {problem}")


def _factored(name, problem, compute, operands, valid):
    """``compute(*operands)`` for a batch of matrices (the operands' batch axes alike), or one
    LinAlgError naming the matrices it cannot take.

    NumPy raises its own LinAlgError for the whole batch, without saying which matrix; CuPy (unless
    told otherwise) returns whatever cuSOLVER left. So the result is also looked at:
    ``valid(out, *operands)`` is a boolean per matrix. After NumPy's error the matrices are tried one
    by one to name the culprits (a slow path, taken only on the way to an error)."""
    batch = operands[0].shape[:-2]
    try:
        out = compute(*operands)
    except _LAPACK_ERROR:
        out = None
    if out is not None:
        ok = valid(out, *operands)
        if bool(ok.all()):
            return out
        xp = get_array_module(ok)
        bad = [tuple(i) for i in xp.argwhere(~ok.reshape(batch)).tolist()] if batch else [()]
    else:
        bad = []
        for idx in _batch_indices(batch):
            one = tuple(o[idx] for o in operands)
            try:
                fine = bool(valid(compute(*one), *one).all())
            except _LAPACK_ERROR:
                fine = False
            if not fine:
                bad.append(idx)
        bad = bad or [()]
    raise _refuse(name, problem, bad, operands[0].shape) from None


def _finite(x, axes=(-2, -1)):
    """Per matrix: are all its entries finite?"""
    return get_array_module(x).isfinite(x).all(axis=axes)


def _finite_where_finite(out, *inputs):
    """Per matrix: a finite result, or inputs that were not all finite to begin with (NaN in, NaN
    out, as NumPy and PyTorch give it)."""
    ok = _finite(out)
    for x in inputs:
        ok = ok | ~_finite(x)
    return ok


_SINGULAR = "singular (not invertible: its LU factorization meets a pivot of 0, or the result overflows)"


def _inverse(name, a):
    """A⁻¹ of every matrix, or a LinAlgError naming the singular ones."""
    xp = get_array_module(a)
    return _factored(name, _SINGULAR, xp.linalg.inv, (a,), _finite_where_finite)


# ============================================================================ the Functions

class Inv(Function):
    """X = A⁻¹.  Differentiating A X = I: dA X + A dX = 0, so dX = −A⁻¹ dA A⁻¹ and
    ⟨X̄, dX⟩ = ⟨−A⁻ᵀ X̄ A⁻ᵀ, dA⟩:   Ā = −Xᵀ X̄ Xᵀ   (valid wherever A is invertible)."""

    def forward(self, a):
        self.x = _inverse("linalg.inv", a)
        return self.x

    def backward(self, g):
        xT = _mT(self.x)
        return -(xT @ g @ xT)


class Det(Function):
    """d = det A.  Jacobi's formula: d(det A) = tr(adj(A) dA), so Ā = d̄ · adj(A)ᵀ, the cofactor
    matrix. Where A is invertible adj(A) = det(A) A⁻¹; the cofactors exist also where it is not
    (a singular A's det still changes when A does), so they are taken from the SVD A = U S Vᵀ:
    adj(A) = adj(Vᵀ) adj(S) adj(U) = det(V) V · diag(Π_{j≠i} s_j) · det(U) Uᵀ (adj(Q) = det(Q) Qᵀ
    for an orthogonal Q), i.e. adj(A)ᵀ = det(U) det(V) · U diag(Π_{j≠i} s_j) Vᵀ. Valid for every A."""

    def forward(self, a):
        xp = get_array_module(a)
        self.a = a if self.needs_input_grad[0] else None
        return xp.linalg.det(a)

    def backward(self, g):
        xp = get_array_module(g)
        u, s, vh = xp.linalg.svd(self.a)
        signs = xp.linalg.det(u) * xp.linalg.det(vh)               # ±1 each: det(Vᵀ) = det(V)
        cofactors = _scale_columns(u, _products_of_the_others(s)) @ vh
        return (g * signs)[..., None, None] * cofactors


class SlogDet(Function):
    """(sign, log|det A|), packed side by side: (..., 2). The sign is a step function (its
    derivative is 0 where it has one); log|det A| has d log|det A| = tr(A⁻¹ dA) (Jacobi's formula
    divided by det A), so Ā = ḡ · A⁻ᵀ. Valid where A is invertible; at a singular A, log|det A| is
    −inf and has no gradient (the backward says so)."""

    def forward(self, a):
        xp = get_array_module(a)
        self.a = a if self.needs_input_grad[0] else None
        sign, logabsdet = xp.linalg.slogdet(a)
        return xp.stack([sign, logabsdet], axis=-1).astype(a.dtype, copy=False)

    def backward(self, g):
        a_inv = _inverse("linalg.slogdet (backward: log|det A| of a singular A is -inf, without a gradient)",
                         self.a)
        return g[..., 1][..., None, None] * _mT(a_inv)


class Solve(Function):
    """X = A⁻¹ B for A (..., n, n) and B (..., n, k), their batch axes broadcast. Differentiating
    A X = B: dA X + A dX = dB, so dX = A⁻¹ (dB − dA X) and
        B̄ = A⁻ᵀ X̄          (one more solve, with Aᵀ)
        Ā = −B̄ Xᵀ
    each summed over the batch axes its input was broadcast along. Valid wherever A is invertible."""

    def forward(self, a, b):
        xp = get_array_module(a)
        self.a_shape, self.b_shape = a.shape, b.shape
        batch = _broadcast_batch(a.shape[:-2], b.shape[:-2])
        a = xp.ascontiguousarray(xp.broadcast_to(a, batch + a.shape[-2:]))      # (CuPy's solve wants the batch
        b = xp.ascontiguousarray(xp.broadcast_to(b, batch + b.shape[-2:]))      # shapes equal)
        x = _factored("linalg.solve", _SINGULAR, xp.linalg.solve, (a, b), _finite_where_finite)
        if any(self.needs_input_grad):
            self.a, self.x = a, x
        return x

    def backward(self, g):
        xp = get_array_module(g)
        gb = xp.linalg.solve(xp.ascontiguousarray(_mT(self.a)), g)     # Aᵀ B̄ = X̄
        ga = -(gb @ _mT(self.x)) if self.needs_input_grad[0] else None
        return (unbroadcast(ga, self.a_shape) if ga is not None else None,
                unbroadcast(gb, self.b_shape) if self.needs_input_grad[1] else None)


class Cholesky(Function):
    """L with A = L Lᵀ, L lower triangular with a positive diagonal (A symmetric positive-definite;
    only its lower triangle is read, as LAPACK does).

    Differentiating: dA = dL Lᵀ + L dLᵀ, so L⁻¹ dA L⁻ᵀ = L⁻¹dL + (L⁻¹dL)ᵀ, where L⁻¹dL is lower
    triangular: L⁻¹dL = Φ(L⁻¹ dA L⁻ᵀ), Φ taking the lower triangle and half the diagonal. Then
    dL = L Φ(L⁻¹ dA L⁻ᵀ), and since Φ is its own adjoint,
        Ā = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹,  symmetrized: ½(Ā + Āᵀ)
    (I. Murray, "Differentiation of the Cholesky decomposition", 2016). It is the gradient for
    symmetric changes dA, the only ones that keep A in the domain, as PyTorch gives it."""

    def forward(self, a):
        xp = get_array_module(a)

        def factored(out, m):               # (LAPACK stops at a pivot <= 0, and cuSOLVER leaves it there)
            return (xp.diagonal(out, axis1=-2, axis2=-1) > 0).all(axis=-1) & _finite(out)
        problem = "not positive-definite (its Cholesky factorization meets a pivot <= 0, or a NaN)"
        lower = _factored("linalg.cholesky", problem, xp.linalg.cholesky, (a,), factored)
        self.lower = lower if self.needs_input_grad[0] else None
        return lower

    def backward(self, g):
        xp = get_array_module(g)
        lower = self.lower
        phi = _lower(_mT(lower) @ g)
        phi = phi - 0.5 * xp.eye(phi.shape[-1], dtype=phi.dtype) * phi       # half the diagonal
        l_inv = _inverse("linalg.cholesky (backward)", lower)                 # (a positive diagonal: invertible)
        ga = _mT(l_inv) @ phi @ l_inv
        return 0.5 * (ga + _mT(ga))


class Eigh(Function):
    """Eigenvalues λ (ascending) and orthonormal eigenvectors V of a symmetric A = V diag(λ) Vᵀ
    (only the ``uplo`` triangle of A is read); with ``vectors`` both, packed (..., n + n·n), else
    λ alone (eigvalsh).

    Differentiating A V = V diag(λ) with VᵀV = I: dλ_i = v_iᵀ dA v_i, and
    dV = V (F ∘ (Vᵀ dA V)) with F_ij = 1/(λ_j − λ_i) for i ≠ j, F_ii = 0. So
        Ā = V (diag(λ̄) + F ∘ (Vᵀ V̄)) Vᵀ
    (M. Giles, "An extended collection of matrix derivative results for forward and reverse mode
    automatic differentiation", 2008). Only symmetric dA are allowed, so the symmetric part is
    kept: F is antisymmetric, so that is V (diag(λ̄) + F ∘ ½(VᵀV̄ − V̄ᵀV)) Vᵀ (as PyTorch gives it).
    Valid for distinct eigenvalues: where two are equal the eigenvectors are not unique, and a
    gradient that reaches them is ±inf. (Through λ alone it is valid everywhere: V diag(λ̄) Vᵀ.)
    A loss of eigenvectors should not depend on their signs (each v_i may be −v_i)."""

    def forward(self, a, uplo="L", vectors=True):
        xp = get_array_module(a)
        self.vectors = vectors
        if vectors or any(self.needs_input_grad):
            values, v = xp.linalg.eigh(a, UPLO=uplo)
            self.values, self.v = (values, v) if any(self.needs_input_grad) else (None, None)
            return _pack([values, v], a.shape[:-2]) if vectors else values
        return xp.linalg.eigvalsh(a, UPLO=uplo)

    def backward(self, g):
        n = self.v.shape[-1]
        batch = self.v.shape[:-2]
        g_values, g_v = _unpack(g, batch, [(n,), (n, n)]) if self.vectors else (g, None)
        inner = get_array_module(g).zeros(batch + (n, n), dtype=g.dtype)
        if g_v is not None:
            gaps = self.values[..., None, :] - self.values[..., :, None]        # λ_j − λ_i
            inner = _off_diagonal_ratio(0.5 * _skew(_mT(self.v) @ g_v), gaps)
        inner = inner + get_array_module(g).eye(n, dtype=g.dtype) * g_values[..., None, :]
        return self.v @ inner @ _mT(self.v)


class QR(Function):
    """A = Q R, Q with orthonormal columns, R upper triangular ('reduced': Q (m, k), R (k, n),
    k = min(m, n); 'complete': Q (m, m), R (m, n); 'r': R alone), packed side by side.

    For m >= n (and A of full rank): with A = QR, C = Qᵀ dA R⁻¹ = QᵀdQ + dR R⁻¹, the first
    antisymmetric, the second upper triangular; solving for dQ and dR and collecting the terms,
        M = R R̄ᵀ − Q̄ᵀ Q,   Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ,   copyltu(M) = tril(M) + tril(M, −1)ᵀ
    (M. Seeger et al., "Auto-differentiating linear algebra", 2017; H.-J. Liao et al.,
    "Differentiable programming tensor networks", 2019). For m < n, A = [X | Y] with X square:
    X = Q U, R = [U | V], V = QᵀY; so Ȳ = Q V̄, and X̄ is the square case's with Q̄ + Y V̄ᵀ.
    Valid where the leading min(m, n) columns are independent (R invertible there). 'complete'
    with m > n has no gradient (the extra columns of Q are any basis of the complement), nor has
    'r' (R's derivative needs Q), as in PyTorch."""

    def forward(self, a, mode="reduced"):
        xp = get_array_module(a)
        self.mode = mode
        q, r = xp.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
        self.q, self.r = (q, r) if any(self.needs_input_grad) else (None, None)
        self.a = a if any(self.needs_input_grad) and a.shape[-2] < a.shape[-1] else None
        return r if mode == "r" else _pack([q, r], a.shape[:-2])

    def backward(self, g):
        q, r = self.q, self.r
        m, n = q.shape[-2], r.shape[-1]
        if self.mode == "r" or (self.mode == "complete" and m > n):
            raise RuntimeError(f"linalg.qr backward: mode={self.mode!r} has no gradient (with 'r', R's derivative "
                               "depends on Q, which is not computed; with 'complete' and more rows than columns, Q's "
                               "extra columns are any basis of the complement); use mode='reduced'")
        batch = q.shape[:-2]
        gq, gr = _unpack(g, batch, [q.shape[-2:], r.shape[-2:]])
        if m >= n:
            return _qr_square_backward(q, r, gq, gr)
        # m < n: A = [X | Y], X = Q U (m × m), V = Qᵀ Y
        xp = get_array_module(g)
        y, gu, gv = self.a[..., m:], gr[..., :m], gr[..., m:]
        gx = _qr_square_backward(q, r[..., :m], gq + y @ _mT(gv), gu)
        return xp.concatenate([gx, q @ gv], axis=-1)


def _qr_square_backward(q, r, gq, gr):
    """Ā of A = Q R for m >= n (R square): (Q̄ + Q copyltu(M)) R⁻ᵀ, M = R R̄ᵀ − Q̄ᵀ Q."""
    xp = get_array_module(q)
    m_ = r @ _mT(gr) - _mT(gq) @ q
    copyltu = _lower(m_) + _mT(_lower(m_, -1))
    rhs = gq + q @ copyltu                                              # (..., m, n)
    # rhs R⁻ᵀ = (R⁻¹ rhsᵀ)ᵀ: one solve with R
    problem = _SINGULAR + ": its columns are dependent, and QR's gradient needs R⁻¹"
    return _mT(_factored("linalg.qr (backward)", problem, xp.linalg.solve, (r, _mT(rhs)), _finite_where_finite))


class SVD(Function):
    """A = U diag(S) Vh, S descending and >= 0; reduced (U (m, k), Vh (k, n), k = min(m, n)) or full
    (U (m, m), Vh (n, n)), packed side by side.

    With V = Vhᵀ, dP = Uᵀ dA V: dS = diag(dP), Uᵀ dU = F ∘ (dP S + S dPᵀ), Vᵀ dV = F ∘ (S dP + dPᵀ S),
    F_ij = 1/(s_j² − s_i²) (i ≠ j), and the parts of dU, dV outside the spans of U, V. Collected:
        Ā = U [ diag(S̄) + (F ∘ (UᵀŪ − ŪᵀU)) S + S (F ∘ (VᵀV̄ − V̄ᵀV)) ] Vᵀ
            + (I − U Uᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I − V Vᵀ)
    (J. Townsend, "Differentiating the singular value decomposition", 2016). The last two terms
    only for m > k, n > k. Valid for distinct singular values (and non-zero ones where m ≠ n); a
    loss should not depend on the signs of the vectors (u_i, v_i may be −u_i, −v_i). With full
    matrices the columns beyond k are any basis of the complement: their gradients are ignored,
    as in PyTorch."""

    def forward(self, a, full_matrices=False):
        xp = get_array_module(a)
        u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
        if any(self.needs_input_grad):
            self.u, self.s, self.vh = u, s, vh
        return _pack([u, s, vh], a.shape[:-2])

    def backward(self, g):
        xp = get_array_module(g)
        u, s, vh = self.u, self.s, self.vh
        m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
        gu, gs, gvh = _unpack(g, u.shape[:-2], [u.shape[-2:], s.shape[-1:], vh.shape[-2:]])
        u, vh, gu, gvh = u[..., :k], vh[..., :k, :], gu[..., :k], gvh[..., :k, :]    # (full: the first k)
        v, gv = _mT(vh), _mT(gvh)
        s2 = s * s
        gaps = s2[..., None, :] - s2[..., :, None]                          # s_j² − s_i²
        inner = (_scale_columns(_off_diagonal_ratio(_skew(_mT(u) @ gu), gaps), s)
                 + s[..., :, None] * _off_diagonal_ratio(_skew(_mT(v) @ gv), gaps)
                 + xp.eye(k, dtype=g.dtype) * gs[..., None, :])
        ga = u @ inner @ vh
        if m > k:                                                           # (I − UUᵀ) Ū S⁻¹ Vᵀ
            gu_out = gu - u @ (_mT(u) @ gu)
            ga = ga + _divide_columns(gu_out, s) @ vh
        if n > k:                                                           # U S⁻¹ V̄ᵀ (I − VVᵀ)
            gv_out = gv - v @ (_mT(v) @ gv)
            ga = ga + u @ _mT(_divide_columns(gv_out, s))
        return ga


class SvdVals(Function):
    """The singular values S (descending). dS = diag(Uᵀ dA V) (the SVD's formula above, its
    diagonal), so Ā = U diag(S̄) Vᵀ: valid wherever the singular values are distinct, and for
    repeated ones too where the sum of those does not depend on which vectors were picked."""

    def forward(self, a):
        xp = get_array_module(a)
        if not any(self.needs_input_grad):
            return xp.linalg.svd(a, compute_uv=False)
        self.u, s, self.vh = xp.linalg.svd(a, full_matrices=False)
        return s

    def backward(self, g):
        return _scale_columns(self.u, g) @ self.vh


class Pinv(Function):
    """The Moore–Penrose pseudo-inverse A⁺ = V diag(1/s) Uᵀ, keeping only the singular values above
    max(atol, rtol · s_max) (the others count as 0).

    Its derivative where the rank does not change (G. Golub, V. Pereyra, "The differentiation of
    pseudo-inverses and nonlinear least squares problems", 1973):
        dA⁺ = −A⁺ dA A⁺ + A⁺A⁺ᵀ dAᵀ (I − AA⁺) + (I − A⁺A) dAᵀ A⁺ᵀA⁺
    whose adjoint, term by term, is
        Ā = −A⁺ᵀ Ḡ A⁺ᵀ + (I − AA⁺) Ḡᵀ A⁺A⁺ᵀ + A⁺ᵀA⁺ Ḡᵀ (I − A⁺A).
    (A⁺ jumps where the rank changes: no gradient there.)"""

    def forward(self, a, atol=0.0, rtol=0.0):
        xp = get_array_module(a)
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        largest = s[..., :1] if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), dtype=s.dtype)
        kept = s > xp.maximum(atol, rtol * largest)
        s_inv = xp.where(kept, 1 / xp.where(kept, s, 1), 0).astype(a.dtype, copy=False)
        p = _scale_columns(_mT(vh), s_inv) @ _mT(u)
        if any(self.needs_input_grad):
            self.a, self.p = a, p
        return p

    def backward(self, g):
        xp = get_array_module(g)
        a, p = self.a, self.p
        m, n = a.shape[-2:]
        pT, gT = _mT(p), _mT(g)
        left = xp.eye(m, dtype=a.dtype) - a @ p                 # I − AA⁺ (m × m)
        right = xp.eye(n, dtype=a.dtype) - p @ a                # I − A⁺A (n × n)
        return -(pT @ g @ pT) + left @ gT @ (p @ pT) + (pT @ p) @ gT @ right


# ============================================================================ user functions

def inv(A):
    """A⁻¹ of a (batch of) square matrices (torch.linalg.inv); a singular one is a LinAlgError."""
    return Inv.apply(_float_matrices("linalg.inv", A))


def det(A):
    """det A of a (batch of) square matrices, shape (...) (torch.linalg.det). Differentiable also
    at a singular A (its gradient there is the cofactor matrix, not PyTorch's 0)."""
    return Det.apply(_float_matrices("linalg.det", A))


def slogdet(A):
    """(sign, logabsdet): det A = sign · exp(logabsdet), without the overflow of det itself
    (torch.linalg.slogdet). sign is −1, 0 or 1 (its gradient is 0); a singular A has sign 0 and
    logabsdet −inf."""
    A = _float_matrices("linalg.slogdet", A)
    packed = SlogDet.apply(A)
    return SlogdetResult(packed[..., 0], packed[..., 1])


def logdet(A):
    """log det A (torch.logdet): log|det A| where det A > 0 (its gradient A⁻ᵀ), −inf where det A = 0,
    NaN where det A < 0 (there, as in PyTorch, a gradient of 0)."""
    sign, logabsdet = slogdet(_float_matrices("logdet", A))
    nan = Tensor(sign.xp.full(sign.shape, float("nan"), dtype=logabsdet.dtype))
    return where(sign.data < 0, nan, logabsdet)


def solve(A, B, *, left=True):
    """X with A X = B (or X A = B with ``left=False``), torch.linalg.solve. A is (..., n, n); B is
    (..., n, k) ((..., k, n) with left=False), or, for A X = B only, a batch of vectors (..., n) when it
    is 1-D or has exactly A's shape without its last axis (PyTorch's rules); the batch axes
    broadcast. A singular A is a LinAlgError."""
    A = _float_matrices("linalg.solve", A)
    B = as_tensor(B)
    if B.dtype != A.dtype:
        raise TypeError(f"linalg.solve: A and B must have the same dtype, got {A.dtype} and {B.dtype}")
    if B.ndim == 0:
        raise ValueError("linalg.solve: B must have at least one axis, got a 0-d tensor")
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if vector and not left:
        raise ValueError(f"linalg.solve: with left=False, B must be matrices (..., k, {n}), got shape {B.shape}, "
                         "which PyTorch reads as a vector (as a row: B.unsqueeze(-2))")
    if vector:
        B = B.reshape(B.shape + (1,))
    if B.ndim < 2 or B.shape[-2 if left else -1] != n:
        raise ValueError(f"linalg.solve: A of shape {A.shape} and B of shape {B.shape} do not fit: B needs {n} "
                         + (f"rows (..., {n}, k), or to be a vector (..., {n}) of A's batch shape" if left else
                            f"columns (..., k, {n})"))
    if _broadcast_batch(A.shape[:-2], B.shape[:-2]) is None:
        raise ValueError(f"linalg.solve: the batch shapes of A {A.shape[:-2]} and B {B.shape[:-2]} do not "
                         "broadcast (from the last axis on, sizes must be equal or 1)")
    if left:
        X = Solve.apply(A, B)
        return X.reshape(X.shape[:-1]) if vector else X
    return Solve.apply(A.mT, B.mT).mT                    # X A = B  ⇔  Aᵀ Xᵀ = Bᵀ


def cholesky(A, *, upper=False):
    """L, lower triangular with a positive diagonal, such that A = L Lᵀ (torch.linalg.cholesky; Lᵀ
    with ``upper=True``). A must be symmetric positive-definite; only its lower triangle is read. One
    that is not is a LinAlgError."""
    lower = Cholesky.apply(_float_matrices("linalg.cholesky", A))
    return lower.mT if upper else lower


def _uplo(name, UPLO):
    if UPLO not in ("L", "U"):
        raise ValueError(f"{name}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO


def eigh(A, UPLO="L"):
    """(eigenvalues, eigenvectors) of a (batch of) symmetric matrices, eigenvalues ascending, the
    eigenvectors as columns: A = V diag(λ) Vᵀ (torch.linalg.eigh; only the ``UPLO`` triangle of A is
    read). Each eigenvector's sign is arbitrary; the gradient is valid for distinct eigenvalues."""
    A = _float_matrices("linalg.eigh", A)
    n = A.shape[-1]
    values, vectors = _unpack(Eigh.apply(A, uplo=_uplo("linalg.eigh", UPLO), vectors=True), A.shape[:-2],
                                [(n,), (n, n)])
    return EighResult(values, vectors)


def eigvalsh(A, UPLO="L"):
    """The eigenvalues of a (batch of) symmetric matrices, ascending (torch.linalg.eigvalsh)."""
    A = _float_matrices("linalg.eigvalsh", A)
    return Eigh.apply(A, uplo=_uplo("linalg.eigvalsh", UPLO), vectors=False)


def qr(A, mode="reduced"):
    """(Q, R) with A = Q R, Q's columns orthonormal, R upper triangular (torch.linalg.qr). mode
    'reduced': Q (..., m, k), R (..., k, n), k = min(m, n); 'complete': Q (..., m, m), R (..., m, n);
    'r': R alone, Q an empty tensor (and no gradient). The gradient: see QR."""
    A = _float_matrices("linalg.qr", A, square=False)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    m, n = A.shape[-2:]
    batch = A.shape[:-2]
    if mode == "r":
        empty = Tensor(A.xp.zeros((0,), dtype=A.dtype))
        return QRResult(empty, QR.apply(A, mode="r"))
    k = m if mode == "complete" else min(m, n)
    q, r = _unpack(QR.apply(A, mode=mode), batch, [(m, k), (k, n)])
    return QRResult(q, r)


def svd(A, full_matrices=True):
    """(U, S, Vh) with A = U diag(S) Vh, S descending (torch.linalg.svd; full_matrices=True by
    default, as there: U (..., m, m), Vh (..., n, n); False: U (..., m, k), Vh (..., k, n)). The
    vectors' signs are arbitrary; the gradient is valid for distinct singular values."""
    A = _float_matrices("linalg.svd", A, square=False)
    m, n = A.shape[-2:]
    k = min(m, n)
    shapes = [(m, m), (k,), (n, n)] if full_matrices else [(m, k), (k,), (k, n)]
    return SVDResult(*_unpack(SVD.apply(A, full_matrices=bool(full_matrices)), A.shape[:-2], shapes))


def svdvals(A):
    """The singular values of a (batch of) matrices, descending (torch.linalg.svdvals)."""
    return SvdVals.apply(_float_matrices("linalg.svdvals", A, square=False))


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The pseudo-inverse A⁺ (torch.linalg.pinv), from the SVD: singular values at most
    max(atol, rtol · s_max) count as 0. Unless given, atol is 0 and rtol is eps · max(m, n) (0 when
    atol alone is given), PyTorch's defaults. ``hermitian=True`` reads the lower triangle alone, as
    PyTorch's (the matrix it names is tril(A) + tril(A, −1)ᵀ); the SVD serves either way."""
    A = _float_matrices("linalg.pinv", A, square=bool(hermitian))       # (a Hermitian matrix is square)
    if hermitian:
        A = tril(A) + transpose(tril(A, -1), -2, -1)
    for name, value in (("atol", atol), ("rtol", rtol)):
        if value is not None and not (isinstance(value, (int, float)) and value >= 0):
            raise ValueError(f"linalg.pinv: {name} must be a number >= 0 (or None), got {value!r}")
    if rtol is None:
        rtol = 0.0 if atol else float(A.xp.finfo(A.dtype).eps) * max(A.shape[-2:])
    return Pinv.apply(A, atol=float(atol or 0.0), rtol=float(rtol))


def pinverse(A, rcond=1e-15):
    """torch.pinverse (top-level, and Tensor.pinverse): ``pinv`` with the singular values up to
    rcond · s_max counted as 0."""
    return pinv(A, rtol=rcond)


def matrix_power(A, n):
    """A·A·…·A, n times (torch.linalg.matrix_power): n = 0 the identity (of A's shape), n < 0 the
    power of A⁻¹. By repeated squaring: about 2·log₂|n| products."""
    A = _float_matrices("linalg.matrix_power", A)
    if not is_int(n):
        raise TypeError(f"linalg.matrix_power: n must be an int, got {n!r}")
    n = int(n)
    if n == 0:     # the identity, for every matrix; still "of A" (its gradient reaches A as 0, as in PyTorch)
        identity = Tensor(A.xp.broadcast_to(A.xp.eye(A.shape[-1], dtype=A.dtype), A.shape).copy())
        return where(A.xp.ones(A.shape, dtype=bool), identity, A)
    base = inv(A) if n < 0 else A
    n, result = abs(n), None
    while n:                                   # binary powers: base^(2^i) for each bit i of n
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


# ------------------------------------------------------------------------------- norms

def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002 - PyTorch's argument name
    """(Σ|x|^ord)^(1/ord) over ``dim`` (all axes by default), torch.linalg.vector_norm: ord inf the
    largest |x|, −inf the smallest, 0 the number of non-zero entries, negative ord the same sum's
    power (−1: the harmonic-like 1/Σ(1/|x|)). ``dtype``: x is first converted to it."""
    x = as_tensor(x)
    if dtype is not None:
        x = x.to(dtype=dtype)
    if x.dtype.kind != "f":
        raise TypeError(f"linalg.vector_norm: expected a floating-point tensor, got {x.dtype} (x.float(), or dtype=)")
    if isinstance(ord, bool) or not isinstance(ord, (int, float)) or math.isnan(ord):
        raise ValueError(f"linalg.vector_norm: ord must be a number (inf and -inf too), got {ord!r}")
    if ord >= 0 or ord == -math.inf:
        return _p_norm(x, ord, dim, keepdim)
    axes = _normalize_axes(dim, x.ndim, "linalg.vector_norm")
    # A zero entry makes Σ|x|^ord infinite and the norm 0, whose gradient is 0 (PyTorch's): the powers
    # are taken of 1 in its place, so that no ∞ enters the chain rule, and where() gives the 0.
    zero = x.data == 0
    has_zero = Tensor(x.xp.any(zero, axis=axes, keepdims=keepdim))
    safe = where(Tensor(zero), 1.0, x.abs())
    return where(has_zero, 0.0, _sum(safe ** float(ord), axes, keepdim) ** (1.0 / ord))


_MATRIX_ORDS = ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    """A matrix norm of every matrix over the axes ``dim`` (torch.linalg.matrix_norm): 'fro'
    √Σ a_ij², 'nuc' Σ s_i (the singular values), 2 / −2 the largest / smallest singular value,
    1 / −1 the largest / smallest column sum of |a_ij|, inf / −inf the same of the rows."""
    A = as_tensor(A)
    if dtype is not None:
        A = A.to(dtype=dtype)
    A = _float_matrices("linalg.matrix_norm", A, square=False)
    if isinstance(ord, bool) or ord not in _MATRIX_ORDS:
        raise ValueError(f"linalg.matrix_norm: ord must be one of 'fro', 'nuc', 2, -2, 1, -1, inf, -inf; got {ord!r}")
    if not (isinstance(dim, (tuple, list)) and len(dim) == 2):
        raise ValueError(f"linalg.matrix_norm: dim must be a pair of axes, got {dim!r}")
    rows, cols = _normalize_axes(dim[0], A.ndim, "linalg.matrix_norm")[0], \
        _normalize_axes(dim[1], A.ndim, "linalg.matrix_norm")[0]
    if rows == cols:
        raise ValueError(f"linalg.matrix_norm: dim must name two different axes, got {dim!r}")
    if ord == "fro":
        return _p_norm(A, 2, (rows, cols), keepdim)
    others = [d for d in range(A.ndim) if d not in (rows, cols)]
    M = A.permute(others + [rows, cols])                   # the matrices last: (..., rows, cols)
    if ord in ("nuc", 2, -2):
        s = svdvals(M)
        out = s.sum(-1) if ord == "nuc" else s[..., 0] if ord == 2 else s[..., -1]
    else:
        sums = M.abs().sum(-2 if ord in (1, -1) else -1)     # column sums (1) or row sums (inf)
        out = sums.amax(-1) if ord in (1, math.inf) else sums.amin(-1)
    if keepdim:
        shape = list(A.shape)
        shape[rows] = shape[cols] = 1
        out = out.reshape(shape)
    return out


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """torch.linalg.norm: a vector norm over one axis (``dim`` an int), a matrix norm over two
    (``dim`` a pair). Without dim: the 2-norm of all entries when ord is None, else A must be 1-D
    (vector norm) or 2-D (matrix norm)."""
    A = as_tensor(A)
    if isinstance(dim, (tuple, list)) and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is None and ord is not None:
        if A.ndim == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
        if A.ndim != 1:
            raise ValueError(f"linalg.norm: with ord={ord!r} and no dim, A must be 1-D or 2-D, got shape {A.shape}")
    if isinstance(dim, (tuple, list)) and len(dim) != 1:
        raise ValueError(f"linalg.norm: dim must be an int or a pair of ints, got {dim!r}")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
