"""Reductions: sum, mean, max, variance and the p-norms over axes, with ``keepdims``; the product
along one axis (prod); and the running sum along one axis (cumsum).

A reduction's backward *spreads* the gradient back over the axes it removed:
put those axes back as size 1 (``_keep``) and broadcast to the input's shape.
"""
from __future__ import annotations

from tinycoat.autograd import Function
from tinycoat.backend import get_array_module, int64
from tinycoat.checks import is_int
from tinycoat.tensor import Tensor
from tinycoat.ops.arithmetic import _integers_as_default_float as _float


def _normalize_axes(axis, ndim, name="reduction"):
    """axis (None, int or tuple, negatives allowed) as a sorted tuple of non-negative ints. None, and
    an empty tuple or list, name every axis: PyTorch reads ``sum(dim=())`` so (NumPy: no axis)."""
    if axis is None or (isinstance(axis, (tuple, list)) and len(axis) == 0):
        return tuple(range(ndim))
    axes = (axis,) if is_int(axis) else tuple(axis) if isinstance(axis, (tuple, list)) else None
    if axes is None or not all(is_int(a) for a in axes):
        raise TypeError(f"{name}: expected an axis (an int) or a tuple of them, got {axis!r}")
    out = []
    for a in axes:
        if not -(ndim or 1) <= a < (ndim or 1):
            raise ValueError(f"{name}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axis in {axis}")
    return tuple(sorted(out)) if ndim else ()        # (a 0-d tensor's axis 0 or −1, as PyTorch: nothing to reduce)


def _keep(g, shape, axes):
    """Reshape a reduced gradient so it broadcasts against the input (axes kept as 1)."""
    return g.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Sum(Function):
    def forward(self, x, axes=(), keepdims=False):
        self.shape, self.axes = x.shape, axes
        return x.sum(axis=axes, keepdims=keepdims)

    def backward(self, g):
        xp = get_array_module(g)
        return xp.broadcast_to(_keep(g, self.shape, self.axes), self.shape)


class Mean(Function):
    def forward(self, x, axes=(), keepdims=False):
        self.shape, self.axes = x.shape, axes
        return x.mean(axis=axes, keepdims=keepdims)

    def backward(self, g):
        xp = get_array_module(g)
        n = _count(self.shape, self.axes)
        return xp.broadcast_to(_keep(g, self.shape, self.axes) / n, self.shape).astype(g.dtype, copy=False)


class Max(Function):
    """max over axes. The gradient goes to the maximal entries, split evenly between ties (a NaN,
    which is the max, counts as one); with ``one_winner`` (one axis: torch.max(x, dim)) all of it
    goes to the entry argmax names, the first."""

    reduce, arg = "max", "argmax"

    def forward(self, x, axes=(), keepdims=False, one_winner=False):
        xp = get_array_module(x)
        self.shape, self.axes = x.shape, axes
        m = getattr(x, self.reduce)(axis=axes, keepdims=True)
        if one_winner:
            (axis,) = axes
            first = getattr(x, self.arg)(axis=axis, keepdims=True)
            self.winners = xp.arange(x.shape[axis]).reshape([-1 if i == axis else 1 for i in range(x.ndim)]) == first
        else:
            self.winners = (x == m) | (xp.isnan(x) & xp.isnan(m)) if x.dtype.kind == "f" else x == m
        return m if keepdims else m.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))

    def backward(self, g):
        ties = self.winners.sum(axis=self.axes, keepdims=True)
        return self.winners * (_keep(g, self.shape, self.axes) / ties).astype(g.dtype, copy=False)


class Min(Max):
    """min over axes: Max's rule with min and argmin."""

    reduce, arg = "min", "argmin"


class Var(Function):
    """var = Σ(x − μ)² / (n − ddof);  d var / dx = 2(x − μ) / (n − ddof)."""

    def forward(self, x, axes=(), keepdims=False, ddof=0):
        self.shape, self.axes = x.shape, axes
        self.centered = x - x.mean(axis=axes, keepdims=True)
        self.denominator = _count(x.shape, axes) - ddof
        return x.var(axis=axes, keepdims=keepdims, ddof=ddof)

    def backward(self, g):
        scale = 2 / self.denominator
        return (_keep(g, self.shape, self.axes) * scale * self.centered).astype(g.dtype, copy=False)


class Norm(Function):
    """‖x‖_p = (Σ|x|^p)^(1/p) over axes (p = 2: √Σx²);  d‖x‖_p/dx = sign(x)·(|x|/‖x‖_p)^(p−1)
    (p = 2: x/‖x‖), taken as 0 where ‖x‖_p = 0 and where x = 0 (PyTorch's choices: the norm has no
    derivative at 0, and 0/0 would make every gradient that meets it NaN; for p < 1 the slope at
    x = 0 is infinite). |x|/‖x‖_p ≤ 1, so for p ≥ 1 the power never overflows."""

    def forward(self, x, p=2, axes=(), keepdims=False):
        xp = get_array_module(x)
        self.x, self.p, self.shape, self.axes = x, p, x.shape, axes
        self.r = (xp.abs(x) ** p).sum(axis=axes, keepdims=True) ** (1 / p)
        return self.r if keepdims else self.r.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))

    def backward(self, g):
        xp = get_array_module(g)
        x, r = self.x, self.r
        ratio = xp.where(x == 0, 1, xp.abs(x) / xp.where(r == 0, 1, r))   # (a NaN norm stays NaN)
        slope = xp.where(x == 0, 0, xp.sign(x) * ratio ** (self.p - 1))
        return (_keep(g, self.shape, self.axes) * slope).astype(g.dtype, copy=False)


class Prod(Function):
    """y = Π x_i along an axis; ∂y/∂x_i = Π_{j≠i} x_j, the product of the entries before i times
    that of the entries after it (two running products). Unlike y/x_i, this is right where some
    x_j are 0 (y/x_i would be 0/0 there)."""

    def forward(self, x, axis=0, keepdims=False):
        self.x, self.axis, self.keepdims = x, axis, keepdims
        return get_array_module(x).prod(x, axis=axis, keepdims=keepdims)

    def backward(self, g):
        xp = get_array_module(g)
        x = xp.moveaxis(self.x, self.axis, -1)                                     # the product's axis last
        one = xp.ones_like(x[..., :1])
        before = xp.cumprod(xp.concatenate([one, x[..., :-1]], axis=-1), axis=-1)            # Π_{j<i} x_j
        after = xp.cumprod(xp.concatenate([one, x[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]  # Π_{j>i} x_j
        g = g if self.keepdims else xp.expand_dims(g, self.axis)
        return g * xp.moveaxis(before * after, -1, self.axis)


class Cumsum(Function):
    """y_i = Σ_{j ≤ i} x_j along an axis; x_j reaches every y_i with i ≥ j, so x̄_j = Σ_{i ≥ j} ȳ_i:
    the running sum of ȳ taken from the other end."""

    def forward(self, x, axis=0):
        self.axis = axis
        return get_array_module(x).cumsum(x, axis=axis)

    def backward(self, g):
        xp = get_array_module(g)
        return xp.flip(xp.cumsum(xp.flip(g, self.axis), axis=self.axis), self.axis)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return Sum.apply(_as_int64(x), axes=_normalize_axes(axis, x.ndim, "sum"), keepdims=keepdims)


def _as_int64(x):
    """Integers and bools summed (or multiplied) in int64, as PyTorch's are: NumPy sums uint8 in
    uint64. (Integer tensors carry no gradient: a new constant is fine.)"""
    return Tensor(x.data.astype(int64)) if x.dtype.kind in "biu" and x.dtype != int64 else x


def mean(x, axis=None, keepdims=False):
    axes = _normalize_axes(axis, x.ndim, "mean")
    if _count(x.shape, axes) == 0:
        raise ValueError(f"mean over axes {axes} of a tensor of shape {x.shape}: no elements to average")
    return Mean.apply(_float(x), axes=axes, keepdims=keepdims)     # (of integers: float32, not NumPy's float64)


def max(x, axis=None, keepdims=False, one_winner=False):  # noqa: A001
    return _extreme(Max, x, axis, keepdims, one_winner)


def min(x, axis=None, keepdims=False, one_winner=False):  # noqa: A001
    return _extreme(Min, x, axis, keepdims, one_winner)


def _extreme(op, x, axis, keepdims, one_winner):
    name = op.reduce
    axes = _normalize_axes(axis, x.ndim, name)
    if _count(x.shape, axes) == 0:
        raise ValueError(f"{name} over axes {axes} of a tensor of shape {x.shape}: the {name}imum of nothing is "
                         "undefined")
    return op.apply(x, axes=axes, keepdims=keepdims, one_winner=one_winner and len(axes) == 1)


def var(x, axis=None, keepdims=False, ddof=1):
    """Σ(x − μ)² / (n − ddof): unbiased by default (ddof=1), as torch.var; ddof=0 is NumPy's default."""
    axes = _normalize_axes(axis, x.ndim, "var")
    if _count(x.shape, axes) - ddof <= 0:
        raise ValueError(f"var over axes {axes} of shape {x.shape} with ddof={ddof}: needs more than "
                         f"{ddof} element(s)")
    return Var.apply(_float(x), axes=axes, keepdims=keepdims, ddof=ddof)


def norm(x, p=2, dim=None, keepdim=False):
    """The vector norm over ``dim`` (all axes by default), torch's ``x.norm``: (Σ|x|^p)^(1/p) for
    p > 0 (2 or "fro" the Euclidean norm, 1 the sum of |x|), p = inf the largest |x| (−inf the
    smallest), p = 0 the number of entries that are not 0 (a count: no gradient)."""
    if x.dtype.kind != "f":
        raise TypeError(f"norm: expected a floating-point tensor, got {x.dtype} (x.float().norm())")
    axes = _normalize_axes(dim, x.ndim, "norm")
    if p == "fro":
        p = 2
    if isinstance(p, str) or not p >= 0 and p != -float("inf"):
        raise ValueError(f"norm: p must be a number ≥ 0, inf, -inf or 'fro', got {p!r}")
    if p == float("inf"):
        return max(x.abs(), axes, keepdim)
    if p == -float("inf"):
        return min(x.abs(), axes, keepdim)
    if p == 0:
        return sum((x != 0).to(dtype=x.dtype), axes, keepdim)
    if p == 1:
        return sum(x.abs(), axes, keepdim)
    return Norm.apply(_float(x), p=float(p), axes=axes, keepdims=keepdim)   # (a Python p keeps x's dtype)


def prod(x, dim=None, keepdim=False):
    """The product of the entries along one axis ``dim`` (of all of them by default), torch.prod;
    of integers (or bools) an int64."""
    if dim is None:
        return _along_one_axis("prod", Prod, x.reshape(-1), 0)
    return _along_one_axis("prod", Prod, x, dim, keepdims=keepdim)


def cumsum(x, dim):
    """Running sums along ``dim`` (torch.cumsum): y_i = x_0 + … + x_i."""
    return _along_one_axis("cumsum", Cumsum, x, dim)


def _along_one_axis(name, function, x, dim, **params):
    """``function`` along the one axis ``dim`` of x, as PyTorch's prod and cumsum take it: of
    integers (or bools) in int64, and a 0-d tensor with dim 0 or −1."""
    n = x.ndim or 1
    if not is_int(dim) or not -n <= dim < n:
        raise (TypeError if not is_int(dim) else IndexError)(
            f"{name}: dim must be one axis, an int in [{-n}, {n - 1}], got {dim!r}")
    x = _as_int64(x)
    if x.ndim == 0:
        return function.apply(x.reshape(1), axis=0).reshape(())
    return function.apply(x, axis=dim % x.ndim, **params)
