"""Special element-wise functions, each PyTorch's of the same name and arguments, differentiable:

    inverse trigonometric   asin  acos  atan  atan2(input, other)  (the angle of the point (other, input))
    hyperbolic              sinh  cosh  asinh  acosh  atanh
    error function          erf  erfc  erfinv
    other bases             exp2  log2  log10
    of two or three         hypot(input, other)  lerp(input, end, weight)  fmod(input, other)  xlogy(input, other)
    odds and ends           frac  sinc  nan_to_num(input, nan, posinf, neginf)

As in elementwise.py, each Function's backward multiplies the incoming gradient by f'(x), written
next to its forward (d asin x = 1/√(1 − x²), d erf x = 2/√π·e^(−x²), ...). The functions of two
or three tensors broadcast, and sum each gradient back to its input's shape (``unbroadcast``).
Integer tensors give float32 results, PyTorch's default float; fmod and nan_to_num keep integers
integers, as PyTorch's do.

Neither NumPy nor CuPy (outside cupyx.scipy) has the error function, so it is written out here:
``erf_array`` and ``erfc_array`` are W. J. Cody's rational approximations ("Rational Chebyshev
approximations for the error function", Math. Comp. 23, 1969), within a few float64 ulps of the
true values, and ``erfinv_array`` solves erf(x) = y by Newton's method on them. (GELU's erf, in
nn/functional/erf.py, is accurate to float32 only, and ops, below nn, cannot import it.)
"""
from __future__ import annotations

import math
import numbers

from tinycoat.autograd import Function, unbroadcast
from tinycoat.backend import get_array_module
from tinycoat.ops.arithmetic import _integers_as_default_float as _float
from tinycoat.ops.arithmetic import _operands, _refuse_integer_zero, broadcastable
from tinycoat.tensor import Tensor

LN2, LN10 = math.log(2), math.log(10)
SQRT_PI = math.sqrt(math.pi)


# ---------------------------------------------------------------------------- inverse trigonometric

class Asin(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).arcsin(x)            # NaN outside [−1, 1]

    def backward(self, g):
        # d asin x = 1/√(1 − x²), with 1 − x² as (1 − x)(1 + x): near x = ±1, 1 − x is exact, where
        # x² would round away most of the difference. (±∞ at x = ±1, as in PyTorch.)
        return g / get_array_module(g).sqrt((1 - self.x) * (1 + self.x))


class Acos(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).arccos(x)

    def backward(self, g):
        return -g / get_array_module(g).sqrt((1 - self.x) * (1 + self.x))    # acos x = π/2 − asin x


class Atan(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).arctan(x)

    def backward(self, g):
        return g / (1 + self.x * self.x)                 # d atan x = 1/(1 + x²) (→ 0 as x² overflows)


class Atan2(Function):
    """atan2(y, x): the angle of the point (x, y) from the positive x axis, in [−π, π]. With
    r² = x² + y²:  ∂/∂y = x/r²,  ∂/∂x = −y/r². At the origin the angle has no limit; both
    gradients are taken as 0 there (PyTorch's choice)."""

    def forward(self, y, x):
        self.y, self.x = y, x
        self.y_shape, self.x_shape = y.shape, x.shape
        return get_array_module(y).arctan2(y, x)

    def backward(self, g):
        xp = get_array_module(g)
        # (x/r)/r rather than x/r²: r = hypot(x, y) neither overflows nor underflows where r² would
        r = xp.hypot(self.x, self.y)
        r = xp.where(r == 0, xp.inf, r)                  # the origin: 1/r = 0, so both gradients are 0
        gy = unbroadcast(g * (self.x / r) / r, self.y_shape) if self.needs_input_grad[0] else None
        gx = unbroadcast(-g * (self.y / r) / r, self.x_shape) if self.needs_input_grad[1] else None
        return gy, gx


# ---------------------------------------------------------------------------- hyperbolic

class Sinh(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).sinh(x)

    def backward(self, g):
        return g * get_array_module(g).cosh(self.x)      # d sinh x = cosh x


class Cosh(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).cosh(x)

    def backward(self, g):
        return g * get_array_module(g).sinh(self.x)      # d cosh x = sinh x


class Asinh(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).arcsinh(x)

    def backward(self, g):
        # d asinh x = 1/√(x² + 1) = 1/hypot(x, 1): right also where x² overflows (|x| > 1e154)
        return g / get_array_module(g).hypot(self.x, 1)


class Acosh(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).arccosh(x)            # NaN below 1

    def backward(self, g):
        # d acosh x = 1/√(x² − 1) = 1/(√(x − 1)·√(x + 1)): x − 1 exact near 1, and nothing squared
        # to overflow. (+∞ at x = 1, as in PyTorch.)
        xp = get_array_module(g)
        return g / (xp.sqrt(self.x - 1) * xp.sqrt(self.x + 1))


class Atanh(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).arctanh(x)            # ±∞ at ±1, NaN beyond

    def backward(self, g):
        return g / ((1 - self.x) * (1 + self.x))         # d atanh x = 1/(1 − x²)


# ---------------------------------------------------------------------------- the error function
#
#     erf(x) = 2/√π ∫₀ˣ e^(−t²) dt,    erfc(x) = 1 − erf(x);    erf(−x) = −erf(x),  erfc(−x) = 2 − erfc(x)
#
# Cody's three pieces, each a ratio of two polynomials P/Q fitted (minimax) to what is left once the
# known shape of the function is taken out; with y = |x|:
#
#     y ≤ 0.46875:       erf(x)  = x · P₁(x²)/Q₁(x²)                       (erf is odd, ≈ 2x/√π near 0)
#     0.46875 < y ≤ 4:   erfc(y) = e^(−y²) · P₂(y)/Q₂(y)
#     y > 4:             erfc(y) = e^(−y²)/y · (1/√π − z·P₃(z)/Q₃(z)),  z = 1/y²  (the shape of erfc's
#                                                                        asymptotic series)
# Near 0, erf is computed and erfc = 1 − erf (erfc ≈ 1 there: nothing lost). Beyond, erfc is computed,
# keeping its relative accuracy where it is tiny, and erf = 1 − erfc (erf ≈ 1: nothing lost either).
# Measured against math.erf and math.erfc: within 3 and 6 float64 ulps; float32 arrays, computed in
# float32, within 3 and 9 float32 ulps. The coefficients (lowest power first) are Cody's, as in
# Netlib's SPECFUN (CALERF).

ERF_THRESHOLD = 0.46875

_P1 = (3.20937758913846947e3, 3.77485237685302021e2, 1.13864154151050156e2, 3.16112374387056560e0,
       1.85777706184603153e-1)
_Q1 = (2.84423683343917062e3, 1.28261652607737228e3, 2.44024637934444173e2, 2.36012909523441209e1, 1.0)
_P2 = (1.23033935479799725e3, 2.05107837782607147e3, 1.71204761263407058e3, 8.81952221241769090e2,
       2.98635138197400131e2, 6.61191906371416295e1, 8.88314979438837594e0, 5.64188496988670089e-1,
       2.15311535474403846e-8)
_Q2 = (1.23033935480374942e3, 3.43936767414372164e3, 4.36261909014324716e3, 3.29079923573345963e3,
       1.62138957456669019e3, 5.37181101862009858e2, 1.17693950891312499e2, 1.57449261107098347e1, 1.0)
_P3 = (6.58749161529837803e-4, 1.60837851487422766e-2, 1.25781726111229246e-1, 3.60344899949804439e-1,
       3.05326634961232344e-1, 1.63153871373020978e-2)
_Q3 = (2.33520497626869185e-3, 6.05183413124413191e-2, 5.27905102951428412e-1, 1.87295284992346047e0,
       2.56852019228982242e0, 1.0)


def _polynomial(coefficients, t):
    """c₀ + c₁·t + c₂·t² + ..., by Horner's rule (from the highest power down)."""
    p = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        p = p * t + c
    return p


def _erf_near_zero(x):
    """erf(x) = x·P₁(x²)/Q₁(x²) for |x| ≤ 0.46875. (Arrays are computed whole and the pieces picked
    afterwards; x is clipped into this piece's range, so the entries it does not serve overflow nothing.)"""
    x = get_array_module(x).clip(x, -ERF_THRESHOLD, ERF_THRESHOLD)
    t = x * x
    return x * _polynomial(_P1, t) / _polynomial(_Q1, t)


def _erfc_away_from_zero(y):
    """erfc(y) for y = |x| > 0.46875, from Cody's second and third pieces."""
    xp = get_array_module(y)
    # (y = ∞ would make y − s below ∞ − ∞ = NaN; erfc(27.3) is already below the smallest float64,
    # so a y cut at 30 changes no result)
    y = xp.minimum(y, 30.0)
    middle = _polynomial(_P2, y) / _polynomial(_Q2, y)
    far = xp.maximum(y, 4.0)
    z = 1 / (far * far)
    tail = (1 / SQRT_PI - z * _polynomial(_P3, z) / _polynomial(_Q3, z)) / far
    # e^(−y²) with y² in two exact parts: a rounding error δ in y² is a relative error δ in e^(−y²),
    # and y² = 400 (y = 20) is rounded by up to 3e−14. s = y cut down to sixteenths has an exact s²,
    # and y² = s² + (y − s)(y + s), the small second part with an error far below an ulp of y².
    s = xp.trunc(16 * y) / 16
    gaussian = xp.exp(-s * s) * xp.exp(-(y - s) * (y + s))
    return gaussian * xp.where(y <= 4, middle, tail)


def erf_array(x):
    """The error function of a float array (its dtype kept)."""
    xp = get_array_module(x)
    if x.dtype == xp.float16:         # (the polynomials would overflow float16: computed in float32)
        return erf_array(x.astype(xp.float32)).astype(x.dtype)
    y = xp.abs(x)
    return xp.where(y <= ERF_THRESHOLD, _erf_near_zero(x), xp.copysign(1 - _erfc_away_from_zero(y), x))


def erfc_array(x):
    """1 − erf(x) of a float array, accurate relative to its own value also where it is tiny."""
    xp = get_array_module(x)
    if x.dtype == xp.float16:
        return erfc_array(x.astype(xp.float32)).astype(x.dtype)
    y = xp.abs(x)
    tail = _erfc_away_from_zero(y)
    return xp.where(y <= ERF_THRESHOLD, 1 - _erf_near_zero(x), xp.where(x < 0, 2 - tail, tail))


WINITZKI_A = 0.147       # Winitzki's constant (2008) in his closed-form approximation of erf's inverse
NEWTON_STEPS = 4


def erfinv_array(y):
    """x with erf(x) = y for −1 < y < 1; ±∞ at ±1, NaN beyond (and for NaN).

    The first guess is Winitzki's closed form, within 0.2% for |y| ≥ 0.001 (for tiny y, where
    ln(1 − y²) rounds to 0, it is 0, and the first step makes it √π/2·y, already close):

        L = ln(1 − y²),   b = 2/(πa) + L/2,   x₀ = √(√(b² − L/a) − b),   a = 0.147.

    Then Newton's method on f(x) = erf(x) − y, whose slope is f'(x) = 2/√π·e^(−x²):

        x ← x − (erf(x) − y) · √π/2 · e^(x²),

    each step about doubling the correct digits; four reach float64's (measured: within 5 ulps of
    the exact inverse). For y ≥ ½ the residual erf(x) − y is computed as (1 − y) − erfc(x): there
    1 − y is exact and erfc(x) keeps its digits, where erf(x) and y would agree in most of theirs.
    """
    xp = get_array_module(y)
    if y.dtype == xp.float16:
        return erfinv_array(y.astype(xp.float32)).astype(y.dtype)
    magnitude = xp.abs(y)
    inside = magnitude < 1
    a = xp.where(inside, magnitude, 0)            # (the other entries are set at the end)
    log_1_minus_a2 = xp.log((1 - a) * (1 + a))     # ln(1 − a²), with 1 − a² exact-ish near a = 1
    b = 2 / (math.pi * WINITZKI_A) + log_1_minus_a2 / 2
    x = xp.sqrt(xp.sqrt(b * b - log_1_minus_a2 / WINITZKI_A) - b)
    for _ in range(NEWTON_STEPS):
        residual = xp.where(a < 0.5, erf_array(x) - a, (1 - a) - erfc_array(x))
        x = x - residual * (SQRT_PI / 2) * xp.exp(x * x)
    inf, nan = y.dtype.type(math.inf), y.dtype.type(math.nan)      # (in y's dtype, so that x keeps it)
    x = xp.where(inside, x, xp.where(magnitude == 1, inf, nan))
    return xp.copysign(x, y)                       # erfinv is odd (and erfinv(−0) = −0)


class Erf(Function):
    def forward(self, x):
        self.x = x
        return erf_array(x)

    def backward(self, g):
        return g * (2 / SQRT_PI) * get_array_module(g).exp(-self.x * self.x)     # d erf x = 2/√π·e^(−x²)


class Erfc(Function):
    def forward(self, x):
        self.x = x
        return erfc_array(x)

    def backward(self, g):
        return g * (-2 / SQRT_PI) * get_array_module(g).exp(-self.x * self.x)    # erfc = 1 − erf


class Erfinv(Function):
    """x = erfinv(y): by the inverse function rule, dx/dy = 1/erf'(x) = √π/2·e^(x²) (∞ at y = ±1)."""

    def forward(self, y):
        self.x = erfinv_array(y)
        return self.x

    def backward(self, g):
        return g * (SQRT_PI / 2) * get_array_module(g).exp(self.x * self.x)


# ---------------------------------------------------------------------------- other bases
# NumPy's exp2, log2 and log10 rather than exp(x·ln 2) or log(x)/ln 10: those are exact where the
# answer is (2³ = 8, log10(1000) = 3), which a product with a rounded ln 2 would miss by an ulp.

class Exp2(Function):
    def forward(self, x):
        self.y = get_array_module(x).exp2(x)
        return self.y

    def backward(self, g):
        return g * self.y * LN2                          # 2^x = e^(x ln 2), so d 2^x = ln 2 · 2^x


class Log2(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).log2(x)

    def backward(self, g):
        return g / (self.x * LN2)                        # log2 x = ln x / ln 2


class Log10(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).log10(x)

    def backward(self, g):
        return g / (self.x * LN10)


# ---------------------------------------------------------------------------- of two or three tensors

class Hypot(Function):
    """h = √(a² + b²), without the overflow of a² (NumPy's hypot scales first). ∂h/∂a = a/h and
    ∂h/∂b = b/h; at a = b = 0, the tip of the cone, they are 0/0 = NaN (as in PyTorch)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.a_shape, self.b_shape = a.shape, b.shape
        self.h = get_array_module(a).hypot(a, b)
        return self.h

    def backward(self, g):
        ga = unbroadcast(g * self.a / self.h, self.a_shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(g * self.b / self.h, self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb


class Lerp(Function):
    """lerp(a, b, w) = a + w·(b − a), from a (w = 0) to b (w = 1) and on beyond.
    ∂/∂a = 1 − w,  ∂/∂b = w,  ∂/∂w = b − a."""

    def forward(self, start, end, weight):
        xp = get_array_module(start)
        self.shapes = (start.shape, end.shape, weight.shape)
        self.weight, self.difference = weight, end - start
        # From the nearer end, as PyTorch computes it: a + w(b − a) for |w| < ½, b − (1 − w)(b − a)
        # otherwise; so w = 1 gives exactly b (a + 1·(b − a) may miss it by a rounding).
        return xp.where(xp.abs(weight) < 0.5, start + weight * self.difference,
                        end - (1 - weight) * self.difference)

    def backward(self, g):
        w, (start_shape, end_shape, weight_shape) = self.weight, self.shapes
        needs = self.needs_input_grad
        return (unbroadcast(g * (1 - w), start_shape) if needs[0] else None,
                unbroadcast(g * w, end_shape) if needs[1] else None,
                unbroadcast(g * self.difference, weight_shape) if needs[2] else None)


class Fmod(Function):
    """fmod(a, b) = a − b·trunc(a/b): the remainder with a's sign (C's fmod; % takes b's sign).
    The whole number trunc(a/b) is a step, constant between its jumps, so ∂/∂a = 1 and
    ∂/∂b = −trunc(a/b)."""

    def forward(self, a, b):
        xp = get_array_module(a)
        self.a_shape, self.b_shape = a.shape, b.shape
        mod = xp.fmod(a, b)                              # exact
        if self.needs_input_grad[1]:
            # The number of b's that fmod took away, from its exact remainder: (a − mod)/b is within
            # a rounding of a whole number. (trunc(a / b) would say 10 for fmod(1.0, 0.1), which took
            # 9: 0.1 is a little more than 1/10, and 1.0 / 0.1 rounds up to 10. PyTorch says 10.)
            # Where there is no remainder (b = 0, a = ±∞, NaN), trunc(a/b), as PyTorch.
            quotient = xp.rint((a - mod) / b)
            self.quotient = xp.where(xp.isnan(mod), xp.trunc(a / b), quotient)
        return mod

    def backward(self, g):
        ga = unbroadcast(g, self.a_shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-g * self.quotient, self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb


def xlogy_array(x, y):
    """x·log(y), with 0 where x = 0 (unless y is NaN): the limit of x·log(x) as x → 0, which an
    entropy −Σ p·log(p) needs at p = 0 (where 0·log(0) would be 0·(−∞) = NaN)."""
    xp = get_array_module(x)
    y = xp.where((x == 0) & ~xp.isnan(y), 1, y)          # (log(1) = 0: no log of 0 is even taken)
    return x * xp.log(y)


class Xlogy(Function):
    """f(x, y) = x·log(y), 0 where x = 0:  ∂f/∂x = log(y),  ∂f/∂y = x/y.

    Where these break down, PyTorch's choices, kept: ∂f/∂x is 0 where x = 0 and y ≤ 0 (there log(y)
    is −∞ or NaN, and f is 0 along x = 0 only), and ∂f/∂y = x/y is NaN at x = y = 0."""

    def forward(self, x, y):
        self.x, self.y = x, y
        self.x_shape, self.y_shape = x.shape, y.shape
        return xlogy_array(x, y)

    def backward(self, g):
        xp = get_array_module(g)
        gx = gy = None
        if self.needs_input_grad[0]:
            # g·log(y) as xlogy(g, y), so that a zero gradient stays 0 even where log(y) = −∞
            gx = unbroadcast(xp.where((self.x == 0) & (self.y <= 0), 0, xlogy_array(g, self.y)), self.x_shape)
        if self.needs_input_grad[1]:
            gy = unbroadcast(g * self.x / self.y, self.y_shape)
        return gx, gy


# ---------------------------------------------------------------------------- odds and ends

# d sinc/dx near 0 as a series: with t = πx, sinc(x) = sin(t)/t = Σₖ (−1)ᵏ t^(2k)/(2k+1)!, so
#     d sinc/dx = π · d/dt (sin t / t) = π · t · Σ_{k≥1} cₖ t^(2k−2),   cₖ = (−1)ᵏ · 2k/(2k+1)!
# (nine terms: for |t| < 1 the first one left out is below 1e−16 of the sum).
_SINC_SLOPE_SERIES = tuple((-1) ** k * 2 * k / math.factorial(2 * k + 1) for k in range(1, 10))


class Sinc(Function):
    """sinc(x) = sin(πx)/(πx), 1 at x = 0 (the normalized sinc, NumPy's and PyTorch's).
    d sinc/dx = (cos(πx) − sinc(x))/x, 0 at x = 0."""

    def forward(self, x):
        self.x = x
        self.y = get_array_module(x).sinc(x)
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        t = math.pi * self.x
        near_zero = xp.abs(t) < 1
        # cos(πx) − sinc(x) cancels as x → 0 (both → 1; at x = 1e−8 not one digit of the difference is
        # left): there the series, elsewhere the formula (x is never 0 where it is used).
        series = math.pi * t * _polynomial(_SINC_SLOPE_SERIES, t * t)
        x = xp.where(near_zero, 1, self.x)
        formula = (xp.cos(math.pi * x) - self.y) / x
        return g * xp.where(near_zero, series, formula)


class NanToNum(Function):
    """NaN, +∞ and −∞ replaced by numbers, the rest kept. The replacements are constants, so the
    gradient is 1 where x was finite and 0 where it was not (as in PyTorch)."""

    def forward(self, x, nan=0.0, posinf=None, neginf=None):
        xp = get_array_module(x)
        self.finite = xp.isfinite(x)
        # (posinf/neginf None: the dtype's largest/smallest finite number, NumPy's default and PyTorch's)
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):
        return g * self.finite


# ---------------------------------------------------------------------------- the functions

def asin(x): return Asin.apply(_float(x))
def acos(x): return Acos.apply(_float(x))
def atan(x): return Atan.apply(_float(x))
def sinh(x): return Sinh.apply(_float(x))
def cosh(x): return Cosh.apply(_float(x))
def asinh(x): return Asinh.apply(_float(x))
def acosh(x): return Acosh.apply(_float(x))
def atanh(x): return Atanh.apply(_float(x))
def erf(x): return Erf.apply(_float(x))
def erfc(x): return Erfc.apply(_float(x))
def erfinv(x): return Erfinv.apply(_float(x))
def exp2(x): return Exp2.apply(_float(x))
def log2(x): return Log2.apply(_float(x))
def log10(x): return Log10.apply(_float(x))
def sinc(x): return Sinc.apply(_float(x))


def frac(x):
    """The fractional part x − trunc(x), with x's sign (frac(−1.5) = −0.5). trunc is a step (outside
    the graph), so the gradient is 1; x − trunc(x) is exact in floating point."""
    x = _float(x if isinstance(x, Tensor) else Tensor(x))
    return x - x.trunc()


def _float_operands(name, a, b):
    """Two tensors of one shape-compatible pair, promoted as arithmetic promotes them, then integers
    made float32 (these functions have no integer version)."""
    a, b = _operands(name, a, b)
    return _float(a), _float(b)


def atan2(input, other):  # noqa: A002 - PyTorch's argument names
    """The angle of the point (x, y) = (other, input), in [−π, π]: atan(y/x) in the right quadrant."""
    return Atan2.apply(*_float_operands("atan2", input, other))


def hypot(input, other):  # noqa: A002
    """√(input² + other²), the length of the hypotenuse."""
    return Hypot.apply(*_float_operands("hypot", input, other))


def xlogy(input, other):  # noqa: A002
    """input · log(other), 0 where input is 0 (unless other is NaN)."""
    return Xlogy.apply(*_float_operands("xlogy", input, other))


def fmod(input, other):  # noqa: A002
    """input − other·trunc(input/other), the remainder with the sign of input (C's fmod; ``%``,
    remainder, takes the sign of other). Of integers it is an integer, without a gradient; an integer
    divided by 0 is refused, as by remainder and PyTorch."""
    a, b = _operands("fmod", input, other)
    if a.dtype.kind != "f":
        _refuse_integer_zero("fmod", a, b)
        return Tensor(a.xp.fmod(a.data, b.data))
    return Fmod.apply(a, b)


def lerp(input, end, weight):  # noqa: A002
    """input + weight·(end − input): the straight line from input (weight 0) to end (weight 1).
    ``weight`` is a number or a tensor; all three broadcast. As in PyTorch the tensors must share one
    float dtype (integers are made float32 first), and a 0-d weight is taken as a number would be."""
    if not isinstance(weight, (numbers.Real, Tensor)):
        raise TypeError(f"lerp: weight must be a number or a tensor, got {type(weight).__name__}")
    start, end, weight = _float(input), _float(end), _float(weight)
    dtypes = {t.dtype for t in (start, end) if isinstance(t, Tensor)}
    if isinstance(weight, Tensor) and weight.ndim == 0 and len(dtypes) == 1:
        weight = weight.to(dtype=next(iter(dtypes)))
    dtypes |= {weight.dtype} if isinstance(weight, Tensor) else set()
    if len(dtypes) > 1:
        raise TypeError(f"lerp: input, end and weight must have one dtype, got "
                        f"{' and '.join(sorted(map(str, dtypes)))}; convert with .to(dtype=...)")
    for a, b in ((start, end), (start, weight), (end, weight)):       # (shapes that broadcast in pairs
        broadcastable("lerp", a, b)                                    # broadcast all together)
    return Lerp.apply(start, end, weight)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):  # noqa: A002
    """``input`` with NaN replaced by ``nan``, +∞ by ``posinf`` and −∞ by ``neginf`` (None: the
    dtype's largest and smallest finite numbers; ``nan=None`` is 0). Integer and boolean tensors have
    none of these: a copy, of their own dtype."""
    nan = 0.0 if nan is None else nan
    for name, value in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if not (value is None or isinstance(value, numbers.Real)):
            raise TypeError(f"nan_to_num: {name} must be a number{'' if name == 'nan' else ' or None'}, "
                            f"got {value!r}")
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.dtype.kind != "f":
        return Tensor(x.data.copy())
    return NanToNum.apply(x, nan=float(nan), posinf=None if posinf is None else float(posinf),
                          neginf=None if neginf is None else float(neginf))
