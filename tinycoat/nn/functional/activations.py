"""Activation functions: GELU and SiLU here; ReLU, sigmoid and softmax live elsewhere.

GELU (Hendrycks & Gimpel) weighs x by the probability that a standard normal is below it:

    gelu(x) = x · Φ(x),     Φ(x) = ½ erfc(−x/√2),     gelu'(x) = Φ(x) + x · φ(x),
    φ(x) = exp(−x²/2) / √(2π)   (the normal density, Φ's derivative).

(Writing Φ with erfc rather than ½(1 + erf(x/√2)) keeps its tiny values accurate for
very negative x.) erfc is erf.py's fit, good to 1.2e-7 relative, so Φ and gelu are too
(in float64; float32's own rounding is 6e-8). The "tanh" approximation replaces Φ by
½(1 + tanh(√(2/π)(x + 0.044715x³))).

SiLU (also "swish", used inside squeeze-excitation):

    silu(x) = x · σ(x),     silu'(x) = σ(x) · (1 + x · (1 − σ(x))).

relu, sigmoid and tanh are core primitives (tinycoat.ops); softmax and log_softmax have their
own file (softmax.py). They are re-exported from ``tinycoat.nn.functional``. Written from those
primitives (so their backward is autograd's):

    leaky_relu(x) = x for x > 0, else a·x        normalize(x) = x / max(‖x‖, ε)
    elu(x) = x for x > 0, else α(eˣ − 1)          celu(x) = x for x > 0, else α(e^{x/α} − 1)
    selu(x) = λ · elu(x, α)  (λ, α fixed: activations that keep mean 0 and variance 1)
    hardswish(x) = x · hardsigmoid(x)             (MobileNetV3's cheap SiLU: no exp)
    prelu(x) = x for x > 0, else a_c·x (a learned slope per channel)
    mish(x) = x · tanh(softplus(x))              logsigmoid(x) = −softplus(−x)
    softsign(x) = x / (1 + |x|)                   glu(x) = a ⊙ σ(b), x's halves a, b along dim
    threshold(x) = x for x > t, else v            tanhshrink(x) = x − tanh(x)
    hardshrink(x) = x for |x| > λ, else 0         softshrink(x) = x ∓ λ for |x| > λ, else 0

hardtanh (clamp to [min, max]) is a Function: PyTorch's slope at min and max themselves is 0 (a
clamp's is 1), and relu6 (MobileNetV2's, where MBConv comes from) and hardsigmoid = hardtanh(x/6 +
½, 0, 1) are made of it. softplus(x) = log(1 + eˣ), whose derivative is σ(x), is one too.
"""
from __future__ import annotations

import math

from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.nn.functional.erf import erfc
from tinycoat.ops import clip, where
from tinycoat.ops.arithmetic import _integers_as_default_float as _float
from tinycoat.ops.elementwise import logistic

INV_SQRT2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GELU(Function):
    def forward(self, x):
        self.x = x
        self.cdf = 0.5 * erfc(-x * INV_SQRT2)                             # Φ(x)
        return x * self.cdf

    def backward(self, g):
        xp = get_array_module(g)
        pdf = xp.exp(-0.5 * self.x * self.x) * INV_SQRT_2PI               # φ(x)
        return g * (self.cdf + self.x * pdf)


class GELUTanh(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        self.t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
        return 0.5 * x * (1.0 + self.t)

    def backward(self, g):
        x, t = self.x, self.t
        inner_grad = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x * x)   # d/dx of tanh's argument
        return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner_grad)


class SiLU(Function):
    def forward(self, x):
        self.x = x
        self.s = logistic(x)                                      # σ(x), the core op's
        return x * self.s

    def backward(self, g):
        s = self.s
        return g * (s * (1.0 + self.x * (1.0 - s)))


def gelu(x, approximate="none"):
    """x · Φ(x); approximate="tanh" for the tanh form."""
    if approximate == "none":
        return GELU.apply(_float(x))
    if approximate == "tanh":
        return GELUTanh.apply(_float(x))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(x):
    """x · sigmoid(x)."""
    return SiLU.apply(_float(x))


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else negative_slope·x (its slope at 0 is negative_slope, as PyTorch's)."""
    return where(x > 0, x, x * negative_slope)


def elu(x, alpha=1.0):
    """x where x > 0, else α(eˣ − 1). (eˣ of min(x, 0): the branch where() leaves out must not
    overflow, or its gradient, 0 · ∞, would be NaN.)"""
    x = _float(x)
    return where(x > 0, x, alpha * clip(x, None, 0.0).expm1())


class Hardtanh(Function):
    """clamp(x, lo, hi), with slope 1 strictly between lo and hi and 0 elsewhere (at lo and hi too)."""

    def forward(self, x, lo=-1.0, hi=1.0):
        self.inside = ~((x <= lo) | (x >= hi))          # (a NaN is inside: its gradient passes, as PyTorch's)
        return get_array_module(x).clip(x, lo, hi)

    def backward(self, g):
        return g * self.inside


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """x clamped to [min_val, max_val] (slope 0 at the ends, as PyTorch's)."""
    if not min_val < max_val:
        raise ValueError(f"hardtanh: min_val must be below max_val, got {min_val!r} and {max_val!r}")
    return Hardtanh.apply(_float(x), lo=float(min_val), hi=float(max_val))


def relu6(x):
    """min(max(x, 0), 6): MobileNetV2's bounded ReLU."""
    return hardtanh(x, 0.0, 6.0)


def hardsigmoid(x):
    """clamp(x/6 + ½, 0, 1) = hardtanh(x, −3, 3)/6 + ½: σ's shape from three straight pieces (slope 1/6
    on (−3, 3), 0 at ±3; clamping x itself puts the kinks at exactly ±3 in float32 too)."""
    return hardtanh(_float(x), -3.0, 3.0) * (1 / 6) + 0.5


def hardswish(x):
    """x · hardsigmoid(x): 0 below −3, x above 3, x(x + 3)/6 between (slopes 0 and 1 at −3 and 3)."""
    x = _float(x)
    return x * hardsigmoid(x)


def celu(x, alpha=1.0):
    """x where x > 0, else α(e^{x/α} − 1): ELU scaled so that its slope is 1 at 0 from both sides."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x)")
    x = _float(x)
    return where(x > 0, x, alpha * (clip(x, None, 0.0) * (1 / alpha)).expm1())


# SELU's constants (Klambauer et al. 2017): the fixed point of mean 0, variance 1 for normal inputs
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu(x):
    """λ · elu(x, α) with SELU's fixed α and λ."""
    return SELU_SCALE * elu(x, SELU_ALPHA)


def prelu(x, weight):
    """x where x > 0, else a·x, with ``weight`` a (one slope) or (C,) (one per channel, axis 1)."""
    if weight.ndim != 1 or (weight.shape[0] != 1 and (x.ndim < 2 or weight.shape[0] != x.shape[1])):
        channels = f"{x.shape[1]}" if x.ndim >= 2 else "1 (no channel axis)"
        raise ValueError(f"prelu: weight must be (1,) or (channels,) = ({channels},) for input {tuple(x.shape)}, "
                         f"got {tuple(weight.shape)}")
    x = _float(x)
    slope = weight.reshape((-1,) + (1,) * (x.ndim - 2)) if x.ndim >= 2 and weight.shape[0] > 1 else weight
    return where(x > 0, x, x * slope)


def mish(x):
    """x · tanh(softplus(x)) (Misra 2019): smooth, unbounded above, a small dip below 0."""
    x = _float(x)
    return x * softplus(x).tanh()


def logsigmoid(x):
    """log σ(x) = −softplus(−x), with no overflow for large |x|."""
    return -softplus(-_float(x))


def softsign(x):
    """x / (1 + |x|): tanh's shape, approached polynomially."""
    x = _float(x)
    return x / (x.abs() + 1.0)


def glu(x, dim=-1):
    """The gated linear unit: a ⊙ σ(b), a and b the first and second halves of x along ``dim``."""
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"glu: dim must be an axis of x, from {-x.ndim} to {x.ndim - 1}, got {dim} for "
                         f"{tuple(x.shape)}")
    if x.shape[dim] % 2:
        raise ValueError(f"glu: x's dim {dim} must have an even size, to be halved; got {tuple(x.shape)}")
    a, b = x.chunk(2, dim)
    return a * b.sigmoid()


def threshold(x, threshold, value):  # noqa: A002 - PyTorch's name
    """x where x > threshold, else value."""
    x = _float(x)
    return where(x <= threshold, value, x)        # (NaN stays NaN: it is not <= anything)


def tanhshrink(x):
    """x − tanh(x)."""
    x = _float(x)
    return x - x.tanh()


def hardshrink(x, lambd=0.5):
    """x where |x| > λ, else 0."""
    x = _float(x)
    return where(x.abs() <= lambd, 0.0, x)        # (NaN stays NaN)


def softshrink(x, lambd=0.5):
    """x − λ above λ, x + λ below −λ, else 0: x moved λ toward 0, stopping at 0."""
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd!r}")
    x = _float(x)
    return where(x.abs() <= lambd, 0.0, x - x.sign() * lambd)      # (NaN stays NaN)


class Softplus(Function):
    """log(1 + eˣ), a smooth ReLU, computed as max(x, 0) + log(1 + e^−|x|) (no exp of a large
    number); its derivative is σ(x). (Built from relu and abs, autograd would take both kinks'
    slopes at 0, where the sum is smooth, and give 0 there instead of ½.) PyTorch's β sharpens
    the kink, log(1 + e^βx)/β with derivative σ(βx), and above βx = threshold it is x itself
    (slope 1): there the two differ by less than e^−threshold/β."""

    def forward(self, x, beta=1.0, threshold=20.0):
        xp = get_array_module(x)
        self.z, self.threshold = beta * x, threshold
        smooth = (xp.maximum(self.z, 0) + xp.log1p(xp.exp(-xp.abs(self.z)))) / beta
        return xp.where(self.z > threshold, x, smooth)

    def backward(self, g):
        xp = get_array_module(g)
        return g * xp.where(self.z > self.threshold, 1, logistic(self.z))


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + e^βx)/β, and x where βx > threshold (Softplus above; PyTorch's F.softplus)."""
    if not beta > 0:
        raise ValueError(f"softplus: beta must be a positive number, got {beta!r}")
    # (Python floats: a NumPy scalar would make NumPy 2 compute a float32 x in float64)
    return Softplus.apply(_float(x), beta=float(beta), threshold=float(threshold))


def normalize(x, p=2.0, dim=1, eps=1e-12):
    """x divided by its p-norm along ``dim`` (at least eps), PyTorch's F.normalize."""
    return x / clip(x.norm(p, dim, keepdim=True), min=eps)
