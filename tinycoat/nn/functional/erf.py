"""The error function, which NumPy lacks (GELU needs it): erf and erfc on raw arrays.

    erf(x) = (2/√π) ∫₀ˣ e^(−t²) dt,       erfc(x) = 1 − erf(x),       Φ(x) = ½ erfc(−x/√2)

erfc, for z >= 0, is Numerical Recipes' Chebyshev fit (Press et al., "erfcc"):

    t = 1 / (1 + z/2),     erfc(z) ≈ t · exp(−z² + P(t)),     P a degree-9 polynomial,

with a relative error below 1.2e-7 for every z >= 0 (the fit is to log(erfc(z)/t) + z²,
smooth on t ∈ (0, 1]), and erfc(−z) = 2 − erfc(z) for the negative side. One
exponential and one polynomial: cheap, and the same line runs on NumPy and CuPy.
``erfc_polynomial`` and ``half_erfc`` evaluate that fit in place in caller-given arrays
(GELU calls them on cache-sized blocks); ``erfc_nonnegative``, ``erfc`` and ``erf`` are
built on them.

erf = 1 − erfc loses its *relative* accuracy near 0 (where erf(x) ≈ 1.13x is small and
the 1 swallows the digits), so for |x| < ½ we use the Taylor series instead,

    erf(x) = (2/√π) Σₖ (−1)ᵏ x^(2k+1) / (k! (2k+1)),

whose 8th term is already below 1e-9 there. Measured against ``math.erf`` over
[−10, 10]: within 0.5 float32 ulp when evaluated in float64, within 4 float32 ulps
(the round-off of the float32 arithmetic itself) in float32. Arrays keep their dtype.
"""
from __future__ import annotations

import math

from tinycoat.backend import get_array_module

# P(t) = c0 + c1 t + ... + c9 t⁹  (Numerical Recipes in C, 2nd ed., §6.2, erfcc)
_ERFC_COEFFS = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
                0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277)
# 2/√π · (−1)ᵏ / (k! (2k+1)), k = 0..7
_ERF_SERIES = tuple(2 / math.sqrt(math.pi) * (-1) ** k / (math.factorial(k) * (2 * k + 1)) for k in range(8))


def _horner(coeffs, t, out=None):
    """c0 + c1·t + ... + cn·tⁿ, evaluated from the top coefficient down, in place (in ``out`` if given)."""
    p = get_array_module(t).multiply(t, coeffs[-1], out=out)
    for c in reversed(coeffs[1:-1]):
        p += c
        p *= t
    p += coeffs[0]
    return p


def reflect(value, mask, total):
    """value ← total − value where mask is set, in place, for 0 <= value <= total/2.

    How erfc(−z) = 2 − erfc(z) and Φ(x) = 1 − Φ(−x) are applied to a whole array, as
    |total·mask − value|: branch-free (xp.where says the same but is branchy on mixed
    signs, ~20× slower, and so is a masked ufunc), two passes, and exact where the mask is
    clear (there |0 − value| is value itself, however tiny).
    """
    xp = get_array_module(value)
    total_where_set = mask if total == 1 else xp.multiply(mask, total, dtype=value.dtype)
    xp.subtract(total_where_set, value, out=value)
    return xp.abs(value, out=value)


# Horner's first step multiplies t by the top coefficient c9. Scaling the variable,
# t' = γ·t with γ = c9^(1/9), makes that coefficient 1 (P(t) = Σ cₖ/γᵏ · t'ᵏ), so the
# first step is an add; and ½·t = t'·exp(−ln 2 − ln γ) puts both constants into the
# polynomial's constant term: ½ erfc(w) = t'·exp(−w² + Q(t')). One pass fewer, same numbers.
_GAMMA = _ERFC_COEFFS[-1] ** (1 / 9)
_Q_COEFFS = ((_ERFC_COEFFS[0] - math.log(2.0) - math.log(_GAMMA),)
             + tuple(c / _GAMMA ** k for k, c in enumerate(_ERFC_COEFFS) if k > 0))


def erfc_polynomial(z, scale, out, t):
    """The fit's two pieces for ½ erfc(w), w = scale·z >= 0: t ← t' = γ/(1 + w/2), out ← Q(t').

    ½ erfc(w) = t'·exp(−w² + Q(t')); ``half_erfc`` finishes that, GELU finishes it its own
    way. In place: ``t`` and ``out`` are caller-given arrays of z's shape.
    """
    xp = get_array_module(z)
    xp.add(z, 2.0 / scale, out=t)
    xp.divide(2.0 * _GAMMA / scale, t, out=t)          # t' = γ / (1 + scale·z/2)
    xp.add(t, _Q_COEFFS[-2], out=out)                   # Q is monic: t' + q8, then Horner
    for c in reversed(_Q_COEFFS[:-2]):
        out *= t
        out += c
    return out


def half_erfc(z, scale, out, t, neg_square):
    """out = ½ erfc(scale·z) for z >= 0 (relative error < 1.2e-7), written into arrays of z's shape.

    ``t`` and ``neg_square`` are work arrays; ``neg_square`` ends up holding −(scale·z)².
    Every step writes into one of the three, never into a fresh array: on a block of a
    large activation the whole chain then fits in the core's cache, which measured 2.5×
    faster than letting each step allocate its own result.
    """
    xp = get_array_module(z)
    erfc_polynomial(z, scale, out, t)                 # Q(t')
    xp.multiply(z, z, out=neg_square)
    neg_square *= -(scale * scale)                    # −(scale·z)²
    out += neg_square
    xp.exp(out, out=out)
    out *= t                                          # t' · exp(−w² + Q(t'))
    return out


def erfc_nonnegative(z):
    """erfc(z) for z >= 0, relative error < 1.2e-7."""
    xp = get_array_module(z)
    if xp.ndim(z) == 0:  # a number or 0-d array: the in-place steps below need a real array
        return erfc_nonnegative(xp.reshape(z, (1,)))[0]
    z = xp.asarray(z)
    e = half_erfc(z, 1.0, xp.empty_like(z), xp.empty_like(z), xp.empty_like(z))
    e *= 2.0
    return e


def erfc(x):
    """1 − erf(x), accurate relative to its own (possibly tiny) value for x >= 0."""
    xp = get_array_module(x)
    e = erfc_nonnegative(xp.abs(x))
    return reflect(e, x < 0, 2.0)                             # erfc(x) = 2 − erfc(−x) for x < 0


def erf(x):
    """The error function: the series near 0, 1 − erfc(|x|) (with x's sign) elsewhere."""
    xp = get_array_module(x)
    z = xp.abs(x)
    tail = 1.0 - erfc_nonnegative(z)
    tail *= xp.sign(x)
    series = x * _horner(_ERF_SERIES, x * x)
    return xp.where(z < 0.5, series, tail)
