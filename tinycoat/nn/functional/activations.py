"""Activation functions: GELU and SiLU here; ReLU, sigmoid and softmax live elsewhere.

GELU (Hendrycks & Gimpel) weighs x by the probability that a standard normal is below it:

    gelu(x) = x · Φ(x),     Φ(x) = ½ erfc(−x/√2),     gelu'(x) = Φ(x) + x · φ(x),
    φ(x) = exp(−x²/2) / √(2π)   (the normal density, Φ's derivative).

(Writing Φ with erfc rather than ½(1 + erf(x/√2)) keeps its tiny values accurate for
very negative x.) The "tanh" approximation replaces Φ by ½(1 + tanh(√(2/π)(x + 0.044715x³))).

SiLU (also "swish", used inside squeeze-excitation):

    silu(x) = x · σ(x),     silu'(x) = σ(x) · (1 + x · (1 − σ(x))).

relu and sigmoid are core primitives (tinycoat.ops); softmax and log_softmax have their
own file (softmax.py). They are re-exported from ``tinycoat.nn.functional``.
"""
from __future__ import annotations

import math

from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.blockwise import map_elements
from tinycoat.nn.functional import cuda_kernels
from tinycoat.nn.functional.erf import erfc_polynomial, half_erfc, reflect

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GELU(Function):
    # Both directions run block by block (tinycoat.blockwise): the ~30 array operations of
    # erfc stay in cache on a slice of the batch, and the slices are shared among the cores.
    # The forward also computes gelu'(x) while x is in cache (when a gradient is wanted), so
    # that the backward is one multiply that reads two arrays instead of a chain over three.
    def forward(self, x):
        xp = get_array_module(x)
        if cuda_kernels.available(x):                  # on a GPU: the whole chain in one kernel
            if self.needs_input_grad[0]:
                y, self.slope = cuda_kernels.elementwise("gelu_forward")(x)
            else:
                y, self.slope = cuda_kernels.elementwise("gelu_forward_no_slope")(x), None
            return y
        y = xp.empty_like(x)
        self.slope = xp.empty_like(x) if self.needs_input_grad[0] else None
        map_elements(_gelu_forward, x, y, self.slope)
        return y

    def backward(self, g):
        xp = get_array_module(g)
        gx = xp.empty_like(g)
        map_elements(lambda g_b, s_b, gx_b: xp.multiply(g_b, s_b, out=gx_b), g, self.slope, gx)
        return gx


def _gelu_forward(x, y, slope=None):
    """y = x · Φ(x) and, if asked, slope = gelu'(x) = Φ(x) + x φ(x), into the given blocks."""
    xp = get_array_module(x)
    abs_x, cdf, t, neg_half_x2 = (xp.empty_like(x) for _ in range(4))      # block-sized scratch
    xp.abs(x, out=abs_x)
    if slope is None:
        half_erfc(abs_x, _INV_SQRT2, out=cdf, t=t, neg_square=neg_half_x2)  # c = Φ(−|x|)
        # y = max(x, 0) − |x|·c: x(1 − c) for x >= 0 and x·c below, three passes where
        # forming Φ(x) first (below) takes four; tiny values in the left tail stay exact.
        # (x = ±inf gives inf·0 = NaN here, as x·Φ(x) does for −inf below.)
        xp.maximum(x, 0, out=y)
        abs_x *= cdf
        y -= abs_x
        return
    # Φ(−|x|) = ½ erfc(|x|/√2) = t'·exp(Q(t'))·exp(−x²/2): split the exponential so that
    # its second factor, exp(−x²/2), also gives the density φ(x) the slope needs.
    erfc_polynomial(abs_x, _INV_SQRT2, out=cdf, t=t)               # Q(t')
    xp.multiply(abs_x, abs_x, out=neg_half_x2)
    neg_half_x2 *= -0.5
    xp.exp(neg_half_x2, out=slope)                                  # exp(−x²/2)
    xp.exp(cdf, out=cdf)
    cdf *= t
    cdf *= slope                                                    # Φ(−|x|)
    slope *= x
    slope *= _INV_SQRT_2PI                                          # x φ(x)
    reflect(cdf, x >= 0, 1.0)                                       # Φ(x) = 1 − Φ(−x) for x >= 0
    xp.multiply(x, cdf, out=y)
    slope += cdf                                                    # Φ(x) + x φ(x)


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
        xp = get_array_module(x)
        self.x = x
        if cuda_kernels.available(x):                  # on a GPU: one kernel for y and σ(x)
            y, self.s = cuda_kernels.elementwise("silu_forward")(x)
            return y
        self.s = 0.5 * (1.0 + xp.tanh(0.5 * x))                    # σ(x), overflow-free
        return x * self.s

    def backward(self, g):
        if cuda_kernels.available(g):
            return cuda_kernels.elementwise("silu_backward")(g, self.x, self.s)
        s = self.s
        return g * (s * (1.0 + self.x * (1.0 - s)))


def gelu(x, approximate="none"):
    """x · Φ(x); approximate="tanh" for the tanh form."""
    if approximate == "none":
        return GELU.apply(x)
    if approximate == "tanh":
        return GELUTanh.apply(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(x):
    """x · sigmoid(x)."""
    return SiLU.apply(x)
