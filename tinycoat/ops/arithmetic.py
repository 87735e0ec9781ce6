"""Arithmetic with broadcasting: + - * / ** @ and negation.

Broadcasting copies an input along new or size-1 axes in the forward pass, so
in the backward pass the gradient of that input is the *sum* over those axes:
``unbroadcast`` (autograd.py) does that for every binary op here.
"""
from __future__ import annotations

import itertools

from tinycoat.amp import autocast_dtype, autocast_matmul
from tinycoat.autograd import Function, as_tensor, unbroadcast
from tinycoat.backend import default_float, get_array_module
from tinycoat.tensor import Tensor


class Add(Function):
    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return a + b

    def backward(self, g):
        return unbroadcast(g, self.a_shape), unbroadcast(g, self.b_shape)


class Sub(Function):
    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return a - b

    def backward(self, g):
        return unbroadcast(g, self.a_shape), unbroadcast(-g, self.b_shape)


class Mul(Function):
    def forward(self, a, b):
        # Save only what each gradient needs: d(ab)/da = b, d(ab)/db = a.
        self.a = a if self.needs_input_grad[1] else None
        self.b = b if self.needs_input_grad[0] else None
        self.a_shape, self.b_shape = a.shape, b.shape
        return a * b

    def backward(self, g):
        ga = unbroadcast(g * self.b, self.a_shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(g * self.a, self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        # d(a/b)/da = 1/b ;  d(a/b)/db = -a/b²: b for either, a only for b's
        self.a = a if self.needs_input_grad[1] else None
        self.b = b
        self.a_shape, self.b_shape = a.shape, b.shape
        return a / b

    def backward(self, g):
        ga = unbroadcast(g / self.b, self.a_shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-g * self.a / (self.b * self.b), self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb


def floor_divmod(a, b):
    """(⌊a/b⌋, a − b·⌊a/b⌋) of float arrays as Python computes them: the remainder from fmod
    (exact), moved to b's sign; the quotient then from (a − remainder)/b. (floor(a / b) would round
    1.0 // 0.1 up to 10, where Python, NumPy and PyTorch say 9: a / b is 10.0 after rounding, though
    0.1 is a little more than 1/10.)"""
    xp = get_array_module(a)
    mod = xp.fmod(a, b)                                        # a − b·trunc(a/b), exactly
    div = (a - mod) / b                                        # trunc(a/b), as a float near a whole number
    step_down = (mod != 0) & ((mod < 0) != (b < 0))            # a remainder takes b's sign: one step down
    mod = xp.where(step_down, mod + b, xp.where(mod == 0, xp.copysign(0.0, b), mod))
    div = xp.where(step_down, div - 1, div)
    quotient = xp.floor(div)
    quotient = xp.where(div - quotient > 0.5, quotient + 1, quotient)           # (div was just below a whole one)
    quotient = xp.where(div == 0, xp.copysign(0.0, a / b), quotient)
    return xp.where(b == 0, a / b, quotient), mod


class Remainder(Function):
    """a mod b = a − b·⌊a/b⌋ for floats; ⌊a/b⌋ is a step, so ∂/∂a = 1 and ∂/∂b = −⌊a/b⌋
    (as PyTorch)."""

    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        self.quotient, mod = floor_divmod(a, b)
        return mod

    def backward(self, g):
        ga = unbroadcast(g, self.a_shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-g * self.quotient, self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Pow(Function):
    """a ** b.  d/da = b·a^(b−1);  d/db = a^b·log(a) (only asked for when b needs it).

    At a = 0 the formulas meet 0·∞: a^b is constant in a where b = 0 (d/da = 0), and 0^b is
    0 or 1 for every b >= 0 (d/db = 0), as PyTorch takes them; computed, both would be NaN.
    """

    def forward(self, a, b):
        out = a ** b
        self.a = a                                           # (both gradients need a)
        self.b = b if self.needs_input_grad[0] else None
        self.out = out if self.needs_input_grad[1] else None
        self.a_shape, self.b_shape = a.shape, b.shape
        return out

    def backward(self, g):
        xp = get_array_module(g)
        ga = gb = None
        if self.needs_input_grad[0]:
            base = xp.where(self.b == 0, 1, self.a)                  # (b = 0: 0 · 1, not 0 · 0⁻¹)
            ga = unbroadcast(g * self.b * base ** (self.b - 1), self.a_shape)
        if self.needs_input_grad[1]:
            at_zero = (self.a == 0) & (self.out <= 1)                 # 0^b with b >= 0
            gb = unbroadcast(g * xp.where(at_zero, 0, self.out * xp.log(xp.where(at_zero, 1, self.a))), self.b_shape)
        return ga, gb


class Maximum(Function):
    """Element-wise max(a, b). ∂/∂a is 1 where a wins, 0 where b wins, ½ at a tie (as PyTorch)."""

    def forward(self, a, b):
        xp = get_array_module(a)
        self.a_shape, self.b_shape = a.shape, b.shape
        if any(self.needs_input_grad):      # a's share of the gradient (float: only float tensors need one)
            self.a_share = xp.where(a == b, 0.5, self.wins(a, b)).astype(a.dtype)
        return self.pick(xp)(a, b)

    def backward(self, g):
        share = self.a_share.astype(g.dtype, copy=False)
        ga = unbroadcast(g * share, self.a_shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(g * (1 - share), self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb

    @staticmethod
    def wins(a, b): return a > b

    @staticmethod
    def pick(xp): return xp.maximum


class Minimum(Maximum):
    """Element-wise min(a, b): Maximum's rule with the comparison turned round."""

    @staticmethod
    def wins(a, b): return a < b

    @staticmethod
    def pick(xp): return xp.minimum


class MatMul(Function):
    """Batched matrix product of arrays with ndim >= 2 (batch axes broadcast).

    C = A @ B  with  A (..., n, k), B (..., k, m):
        dA = dC @ Bᵀ   (..., n, m)(..., m, k)
        dB = Aᵀ @ dC   (..., k, n)(..., n, m)
    """

    def forward(self, a, b):
        # dA needs B, dB needs A: keep each only if the other's gradient is wanted
        self.a = a if self.needs_input_grad[1] else None
        self.b = b if self.needs_input_grad[0] else None
        self.a_shape, self.b_shape = a.shape, b.shape
        self.precision = autocast_dtype()            # float16 products inside amp.autocast
        return self.product(a, b)

    def backward(self, g):
        xp = get_array_module(g)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(self.product(g, xp.swapaxes(self.b, -1, -2)), self.a_shape)
        if self.needs_input_grad[1]:
            gb = unbroadcast(self.product(xp.swapaxes(self.a, -1, -2), g), self.b_shape)
        return ga, gb

    def product(self, a, b):
        """a @ b in the precision the forward recorded (amp.py)."""
        return autocast_matmul(a, b, self.precision)


def broadcastable(name, *operands):
    """The operands, once their shapes are known to broadcast: aligned from the last axis, each
    pair of sizes equal or one of them 1 (numbers have shape ()). Otherwise one clear error here,
    not NumPy's from inside the forward."""
    shapes = [tuple(getattr(x, "shape", ())) for x in operands]
    # (a shorter shape counts as 1 on the axes it lacks: zip_longest, not zip, which would stop at it)
    for sizes in itertools.zip_longest(*(reversed(shape) for shape in shapes), fillvalue=1):
        if len(set(sizes) - {1}) > 1:
            raise ValueError(f"{name}: shapes {' and '.join(map(str, shapes))} do not broadcast (from the last "
                             f"axis on, sizes must be equal or 1; here {' vs '.join(map(str, sizes))})")
    return operands


def promoted(a, b, true_division=False):
    """PyTorch's rules where NumPy's differ. An integer or boolean tensor meeting a float tensor takes
    the float's dtype (NumPy widens int64 with float32 to float64, silently doubling the memory). One
    meeting a Python float, or divided (``/`` is true division), becomes the default float, float32
    (NumPy: float64). The casts need no gradient: integer tensors never require one. And a 0-d float
    (a float64 norm, np.float64(0.5)) meeting a float tensor of more dimensions takes its dtype, as a
    Python number would (NumPy would make float32 activations float64); that cast is differentiable."""
    kinds = [getattr(getattr(x, "dtype", None), "kind", None) for x in (a, b)]
    if kinds == ["f", "f"] and a.dtype != b.dtype and (a.ndim == 0) != (b.ndim == 0):
        return (_cast(a, b.dtype), b) if a.ndim == 0 else (a, _cast(b, a.dtype))
    if kinds[0] == "f" and kinds[1] in ("b", "i", "u"):
        b = Tensor((b.data if isinstance(b, Tensor) else b).astype(a.dtype))
    elif kinds[1] == "f" and kinds[0] in ("b", "i", "u"):
        a = Tensor((a.data if isinstance(a, Tensor) else a).astype(b.dtype))
    elif true_division or isinstance(a, float) or isinstance(b, float):
        a, b = _integers_as_default_float(a), _integers_as_default_float(b)
    return a, b


def _cast(x, dtype):
    from tinycoat.ops.shape import to       # (shape.py imports this module: imported when first needed)
    return to(x, dtype=dtype) if isinstance(x, Tensor) else x.astype(dtype)


def _integers_as_default_float(x):
    if getattr(getattr(x, "dtype", None), "kind", None) in ("b", "i", "u"):
        return Tensor((x.data if isinstance(x, Tensor) else x).astype(default_float))
    return x


def add(a, b): return Add.apply(*broadcastable("add", *promoted(a, b)))
def sub(a, b): return Sub.apply(*broadcastable("sub", *promoted(a, b)))
def mul(a, b): return Mul.apply(*broadcastable("mul", *promoted(a, b)))
def div(a, b): return Div.apply(*broadcastable("div", *promoted(a, b, true_division=True)))
def neg(a): return Neg.apply(a)
def maximum(a, b): return Maximum.apply(*broadcastable("maximum", *promoted(a, b)))
def minimum(a, b): return Minimum.apply(*broadcastable("minimum", *promoted(a, b)))
def pow(a, b): return Pow.apply(*broadcastable("pow", *promoted(a, b)))  # noqa: A001 - Python's operator name


def _operands(name, a, b):
    a, b = broadcastable(name, *promoted(a, b))
    a = as_tensor(a, like=b if isinstance(b, Tensor) else None)
    return a, as_tensor(b, like=a)


def _refuse_integer_zero(name, a, b):
    # An integer has no inf or NaN to say "divided by 0", and NumPy's answer is a silent 0
    # (CuPy's another number again): refuse, as Python and PyTorch do (unless nothing is divided).
    if a.data.size and b.data.size and not b.data.all():
        raise ZeroDivisionError(f"{name}: integer division by zero ({int((b.data == 0).sum())} of the "
                                f"{b.data.size} divisors are 0); divide floats to get inf or NaN there")


def floor_divide(a, b):
    """a // b, rounded down (Python's and PyTorch's rule); a step function, so outside the graph
    (its derivative is 0 wherever it has one; PyTorch gives it none)."""
    a, b = _operands("floor_divide", a, b)
    if a.dtype.kind != "f":
        _refuse_integer_zero("floor_divide", a, b)
        return Tensor(a.xp.floor_divide(a.data, b.data))      # (integers: exact on both devices)
    return Tensor(floor_divmod(a.data, b.data)[0])


def remainder(a, b):
    """a % b = a − b·⌊a/b⌋, with the sign of b (Python's and torch.remainder's rule); of floats
    differentiable (Remainder)."""
    a, b = _operands("remainder", a, b)
    if a.dtype.kind != "f":
        _refuse_integer_zero("remainder", a, b)
        return Tensor(a.xp.remainder(a.data, b.data))
    return Remainder.apply(a, b)


def matmul(a, b):
    """``a @ b`` with NumPy's rules, 1-D operands included (promoted, then squeezed); an integer
    operand takes a float operand's dtype (``promoted``)."""
    a, b = promoted(a, b)
    a = as_tensor(a, like=b if isinstance(b, Tensor) else None)
    b = as_tensor(b, like=a)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least 1 dimension, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align "
                         f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})")
    if a.ndim == 1 and b.ndim == 1:
        return MatMul.apply(a.reshape(1, -1), b.reshape(-1, 1)).reshape(())
    if a.ndim == 1:
        out = MatMul.apply(a.reshape(1, -1), b)
        return out.reshape(out.shape[:-2] + out.shape[-1:])
    if b.ndim == 1:
        return MatMul.apply(a, b.reshape(-1, 1)).reshape(a.shape[:-1])
    return MatMul.apply(a, b)


def bmm(a, b):
    """A batch of matrix products, (B, n, m) @ (B, m, p) -> (B, n, p) (torch.bmm: no broadcasting)."""
    if getattr(a, "ndim", 0) != 3 or getattr(b, "ndim", 0) != 3 or a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: expected two batches of matrices (B, n, m) and (B, m, p), got shapes "
                         f"{tuple(getattr(a, 'shape', ()))} and {tuple(getattr(b, 'shape', ()))}")
    return matmul(a, b)
