"""gradcheck: trust a backward() only after comparing it with finite differences.

For a function y = f(x) and a *random* upstream gradient u (same shape as y),
the scalar  L(x) = Σ u ⊙ f(x)  has the gradient  dL/dx = J(x)ᵀ u, which is
exactly what backward(grad=u) computes. The same number, numerically:

    dL/dx_k ≈ (L(x + ε e_k) − L(x − ε e_k)) / 2ε      (central difference, error O(ε²))

Why a random u and not u = 1 (i.e. L = sum(f(x)))?  Because many outputs have a
constant sum: sum(softmax(x)) = 1 and a normalized output sums to 0, so their
gradient through a plain sum is zero — a broken backward that returns zeros
would pass. A random u sees every direction of Jᵀ.

The check runs in float64, where ε = 1e-6 leaves ~1e-10 of round-off error;
in float32 round-off alone (~1e-7 / 1e-6 = 0.1) would swamp the comparison.
"""
from __future__ import annotations

from tinycoat import backend
from tinycoat.autograd import no_grad
from tinycoat.tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree (or the check cannot run)."""


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0) -> bool:
    """Check d fn / d input for every input tensor with ``requires_grad``.

    ``fn(*inputs)`` returns a Tensor or a tuple of Tensors. Inputs that require
    grad must be float64. Raises ``GradcheckError`` naming the input, the worst
    element's index and both values; returns True when every gradient agrees
    within ``atol + rtol·|numeric|``.
    """
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise GradcheckError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    for i in checked:
        if inputs[i].dtype != backend.float64:
            raise GradcheckError(f"gradcheck: input {i} has dtype {inputs[i].dtype}; finite differences "
                                 "need float64 (use tc.tensor(..., dtype='float64'))")
    snapshot = [t.data.copy() if isinstance(t, Tensor) else None for t in inputs]
    saved_grads = [inputs[i].grad for i in checked]
    for i in checked:
        inputs[i].grad = None

    # Analytic: one backward per output, each with its own random upstream gradient.
    outputs = _as_tuple(fn(*inputs))
    rng = backend.array_module(outputs[0].device).random.default_rng(seed)
    upstream = []
    for k, out in enumerate(outputs):
        if out.dtype != backend.float64:
            raise GradcheckError(f"gradcheck: output {k} has dtype {out.dtype}; run the check in float64")
        upstream.append(rng.standard_normal(out.shape))
    for k, (out, u) in enumerate(zip(outputs, upstream)):
        if out.requires_grad:
            out.backward(u, retain_graph=k < len(outputs) - 1)
    analytic = {i: (inputs[i].grad.data if inputs[i].grad is not None
                    else inputs[i].xp.zeros(inputs[i].shape)) for i in checked}
    for i, g in zip(checked, saved_grads):
        inputs[i].grad = g
    _check_not_mutated(inputs, snapshot)

    # Numerical: central differences of L = Σ_k Σ u_k ⊙ fn(x)_k, one entry at a time.
    def objective():
        with no_grad():
            outs = _as_tuple(fn(*inputs))
        return sum(float((o.data * u).sum()) for o, u in zip(outs, upstream))

    for i in checked:
        x = inputs[i].data
        numeric = inputs[i].xp.zeros(x.shape)
        for idx in _indices(x.shape):
            original = x[idx].copy() if hasattr(x[idx], "copy") else x[idx]
            x[idx] = original + eps
            plus = objective()
            x[idx] = original - eps
            minus = objective()
            x[idx] = original
            numeric[idx] = (plus - minus) / (2 * eps)
        _compare(i, inputs[i], analytic[i], numeric, atol, rtol)
    _check_not_mutated(inputs, snapshot)
    return True


def _indices(shape):
    """Every index of an array of ``shape``, row-major (``numpy.ndindex`` without NumPy)."""
    total = 1
    for n in shape:
        total *= n
    for flat in range(total):
        yield _unravel(flat, shape)


def _unravel(flat, shape):
    """The index of element ``flat`` of a row-major array of ``shape`` (``numpy.unravel_index``
    in host ints: CuPy's takes arrays only)."""
    idx = []
    for n in reversed(shape):
        idx.append(flat % n)
        flat //= n
    return tuple(reversed(idx))


def _compare(i, tensor, analytic, numeric, atol, rtol):
    xp = tensor.xp
    if analytic.shape != numeric.shape:
        raise GradcheckError(f"gradcheck: input {i}: gradient shape {analytic.shape} != input shape {numeric.shape}")
    excess = xp.abs(analytic - numeric) - (atol + rtol * xp.abs(numeric))
    if analytic.size == 0 or float(excess.max()) <= 0 and bool(xp.isfinite(analytic).all()):
        return
    flat = int(xp.argmax(xp.where(xp.isfinite(excess), excess, xp.inf)))
    idx = _unravel(flat, numeric.shape)
    raise GradcheckError(
        f"gradcheck failed for input {i} (shape {tensor.shape}): worst element {idx}: "
        f"analytic {float(analytic[idx]):.10g}, numeric {float(numeric[idx]):.10g} "
        f"(tolerance atol={atol} + rtol={rtol}·|numeric|); "
        f"max |analytic − numeric| = {float(xp.nanmax(xp.abs(analytic - numeric))):.3g}")


def _check_not_mutated(inputs, snapshot):
    for i, (t, before) in enumerate(zip(inputs, snapshot)):
        if before is not None and not bool(t.xp.array_equal(t.data, before, equal_nan=t.dtype.kind == "f")):
            raise GradcheckError(f"gradcheck: fn modified input {i} in place; ops must not mutate their inputs")
