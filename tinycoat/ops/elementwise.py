"""Element-wise functions: y = f(x) applied to every entry, so dy/dx = f'(x) entry-wise
(exp, log, log1p, expm1, sqrt, sin, cos, tanh, sigmoid, relu, abs, clip).

Each backward multiplies the incoming gradient by f'(x), written from whichever
of x or y makes it cheapest (e.g. d exp(x) = exp(x) = y, d tanh(x) = 1 − y²).
"""
from __future__ import annotations

from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.ops.arithmetic import _integers_as_default_float as _float


class Exp(Function):
    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, g):
        return g * self.y


class Log(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, g):
        return g / self.x


class Log1p(Function):
    """log(1 + x), accurate where x is tiny (1 + 1e-20 is 1 in floating point)."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).log1p(x)

    def backward(self, g):
        return g / (1 + self.x)


class Expm1(Function):
    """exp(x) − 1, accurate where x is tiny; its derivative exp(x) = y + 1."""

    def forward(self, x):
        self.y = get_array_module(x).expm1(x)
        return self.y

    def backward(self, g):
        return g * (self.y + 1)


class Sqrt(Function):
    def forward(self, x):
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)  # d√x = 1 / (2√x)


class Sin(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).sin(x)

    def backward(self, g):
        return g * get_array_module(g).cos(self.x)       # d sin x = cos x


class Cos(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).cos(x)

    def backward(self, g):
        return -g * get_array_module(g).sin(self.x)      # d cos x = −sin x


class Tanh(Function):
    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, g):
        return g * (1 - self.y * self.y)


def logistic(x):
    """σ(x) = 1/(1 + e^−x) of an array, accurate at both ends. 1/(1 + e^−x) overflows for
    x = −1000, and ½(1 + tanh(x/2)) rounds σ(−40) = 4.2e−18 to 0 (1 + tanh is 1 − 1); with
    e = e^−|x| ≤ 1, σ(x) = 1/(1 + e) for x ≥ 0 and e^x/(1 + e^x) = e/(1 + e) for x < 0 does neither."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1, e) / (1 + e)


class Sigmoid(Function):
    def forward(self, x):
        self.y = logistic(x)
        return self.y

    def backward(self, g):
        return g * self.y * (1 - self.y)


class ReLU(Function):
    def forward(self, x):
        self.mask = x > 0
        return get_array_module(x).maximum(x, 0)   # (x · mask would make −∞ · 0 = NaN; NaN stays NaN)

    def backward(self, g):
        return g * self.mask  # the kink at 0 gets gradient 0, as in PyTorch


def sign_array(x):
    """sign(x) with 0 at NaN, as PyTorch's (NumPy's is NaN there): |x|'s slope, and Tensor.sign."""
    xp = get_array_module(x)
    if x.dtype.kind != "f":                          # (integers have no NaN: nothing to look for)
        return xp.sign(x)
    return xp.where(xp.isnan(x), 0, xp.sign(x)).astype(x.dtype, copy=False)


class Abs(Function):
    def forward(self, x):
        self.sign = sign_array(x)         # (a NaN input gets gradient 0, as in PyTorch)
        return get_array_module(x).abs(x)

    def backward(self, g):
        return g * self.sign


class Clip(Function):
    """clip(x, lo, hi): gradient 1 where lo <= x <= hi, else 0 (PyTorch's clamp)."""

    def forward(self, x, lo=None, hi=None):
        xp = get_array_module(x)
        self.inside = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            self.inside &= x >= lo
        if hi is not None:
            self.inside &= x <= hi
        return xp.clip(x, lo, hi)

    def backward(self, g):
        return g * self.inside


# Of an integer tensor these are float32, PyTorch's default float (NumPy would give float64).
def exp(x): return Exp.apply(_float(x))
def log(x): return Log.apply(_float(x))
def log1p(x): return Log1p.apply(_float(x))
def expm1(x): return Expm1.apply(_float(x))
def sqrt(x): return Sqrt.apply(_float(x))
def rsqrt(x): return 1 / sqrt(x)
def sin(x): return Sin.apply(_float(x))
def cos(x): return Cos.apply(_float(x))
def tanh(x): return Tanh.apply(_float(x))
def sigmoid(x): return Sigmoid.apply(_float(x))
def relu(x): return ReLU.apply(x)
def abs(x): return Abs.apply(x)  # noqa: A001


def clip(x, min=None, max=None):  # noqa: A002 - PyTorch/NumPy argument names
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    if any(hasattr(bound, "shape") for bound in (min, max)):
        raise TypeError("clip: min and max are numbers here; for bounds that are tensors, write "
                        "tc.minimum(tc.maximum(x, low), high)")
    if isinstance(min, float) or isinstance(max, float):    # an integer tensor clipped to 0.5: float32
        x = _float(x)
    return Clip.apply(x, lo=min, hi=max)
