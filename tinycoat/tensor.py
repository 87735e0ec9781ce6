"""Tensor: an array that remembers how it was made.

A ``Tensor`` holds

* ``data``  — the backing NumPy (CPU) or CuPy (GPU) array, nothing more;
* ``requires_grad`` — whether gradients should flow to it;
* ``grad``  — after ``backward()``, a Tensor of d(output)/d(self), same shape;
* ``_ctx``  — the ``Function`` (see ``autograd.py``) that produced it, or None for
  a leaf (a tensor the user made).  Following ``_ctx.inputs`` backwards from a
  result walks the whole computation graph: this is "define-by-run".

The arithmetic sugar below (``a + b``, ``a @ b``, ``a.sum()``...) only forwards to
the functions in ``tinycoat/ops/``, where each operation's forward and backward
are written side by side.
"""
from __future__ import annotations

import collections
import operator

from tinycoat import backend
from tinycoat.checks import all_in_range, is_int


class Tensor:
    """An n-dimensional array (NumPy on the CPU, CuPy on the GPU) that records the operations
    made with it, so that ``backward()`` can fill ``.grad`` (this module's docstring; lesson 01)."""

    __slots__ = ("data", "requires_grad", "grad", "_ctx", "_version_counter", "_hooks", "retains_grad",
                 "__weakref__")
    # Make NumPy defer to our operators in `ndarray + Tensor`.
    __array_priority__ = 1000

    def __init__(self, data, requires_grad: bool = False, dtype=None, device=None):
        if isinstance(data, Tensor):
            raise TypeError("Tensor(Tensor) is ambiguous: use t.detach() or tc.tensor(t.numpy())")
        if device is None:
            device = backend.device_of(data)
        self.data = backend.as_array(data, dtype=dtype, device=device)
        self.grad = None
        self._ctx = None
        self._version_counter = VersionCounter()
        self._hooks = None              # register_hook's functions, by handle id
        self.retains_grad = False       # retain_grad(): a result that keeps its .grad too
        self.requires_grad_(requires_grad)

    # ----------------------------------------------------------------- properties
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    def size(self, dim=None):
        """The shape, or the length of axis ``dim`` (PyTorch's ``size()``; NumPy's ``.size`` is ``numel()``)."""
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        """The number of entries (PyTorch's ``numel``, NumPy's ``size``)."""
        return self.data.size

    def dim(self) -> int:
        """The number of axes (PyTorch's ``dim``, NumPy's ``ndim``)."""
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self) -> str:
        # Read off the array each time, so that it can never disagree with ``data``
        # (Module.to() swaps the arrays of parameters in place).
        return backend.device_of(self.data)

    @property
    def xp(self):
        """The array module of this tensor: numpy on 'cpu', cupy on 'gpu'."""
        return backend.get_array_module(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = repr(backend.to_numpy(self.data)).replace("array", "tensor", 1)
        extras = [] if self.device == "cpu" else [f"device='{self.device}'"]
        if self._ctx is not None:
            extras.append(f"grad_fn={type(self._ctx).__name__}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return body[:-1] + "".join(", " + e for e in extras) + ")" if extras else body

    # ----------------------------------------------------------------- conversion
    def numpy(self):
        """The values as a host NumPy array (copied from the GPU if needed)."""
        return backend.to_numpy(self.data)

    def __float__(self): return float(self.item())     # float(loss), as PyTorch: one element only
    def __int__(self): return int(self.item())

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (no copy: it shares this tensor's version counter)."""
        out = Tensor(self.data)
        out._version_counter = self._version_counter
        return out

    def clone(self) -> "Tensor":
        """A copy with its own memory, in the graph (change it in place without touching this tensor)."""
        return ops.clone(self)

    @property
    def _version(self) -> int:
        """How many times this tensor's memory was changed in place (PyTorch's ``_version``)."""
        return self._version_counter.value

    def _bump_version(self):
        """Record an in-place change of ``data`` (done by ``+=`` and by optimizers, in no graph):
        backward() refuses a graph that saved this tensor before the change (autograd.py)."""
        self._version_counter.value += 1

    def to(self, device=None, dtype=None) -> "Tensor":
        """A copy on ``device`` and/or with ``dtype`` (or ``to(dtype)``, as PyTorch); differentiable."""
        device, dtype = backend.device_and_dtype(device, dtype)
        return ops.to(self, device=device, dtype=dtype)

    def float(self):
        return self.to(dtype=backend.float32)

    def double(self):
        return self.to(dtype=backend.float64)

    def astype(self, dtype):
        return self.to(dtype=dtype)

    # PyTorch's short spellings of to(...)
    def half(self): return self.to(dtype=backend.float16)
    def long(self): return self.to(dtype=backend.int64)
    def int(self): return self.to(dtype=backend.int32)      # noqa: A003 - PyTorch's name
    def bool(self): return self.to(dtype=backend.bool_)     # noqa: A003
    def cpu(self): return self.to("cpu")
    def cuda(self, device=None): return self.to(backend.cuda_device(device))

    # ----------------------------------------------------------------- autograd
    def backward(self, grad=None, retain_graph: bool = False, *, gradient=None) -> None:
        """Fill ``.grad`` of every leaf this tensor depends on (see autograd.backward).
        ``gradient=`` is PyTorch's name for ``grad``."""
        if gradient is not None and grad is not None:
            raise TypeError("backward: give grad or gradient (its PyTorch name), not both")
        autograd.backward(self, grad if gradient is None else gradient, retain_graph=retain_graph)

    # Looking inside backward() (lesson 01): the gradient that reaches a result of the forward pass.
    def retain_grad(self) -> None:
        """Keep the gradient that reaches this tensor (after its hooks) in ``.grad`` after backward(),
        as a leaf's is kept (and summed over backward() calls); a result's gradient is otherwise
        passed on and dropped."""
        self._need_grad("retain_grad")
        self.retains_grad = self._ctx is not None      # (a leaf keeps its .grad anyway)

    def register_hook(self, hook) -> "RemovableHandle":
        """Call ``hook(grad)`` with the gradient that reaches this tensor in backward(), before it
        is used; a tensor it returns takes the gradient's place. ``handle.remove()`` undoes it."""
        self._need_grad("register_hook")
        if self._hooks is None:
            self._hooks = collections.OrderedDict()
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = hook
        return handle

    def _need_grad(self, what):
        if not self.requires_grad:
            raise RuntimeError(f"{what}: this tensor does not require grad, so backward() never reaches it "
                               "(make a leaf with requires_grad=True, or use a result computed from one)")

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    # PyTorch's in-place fills, under item assignment's rules (__setitem__): p.grad.zero_() works
    def zero_(self): return self.fill_(0)

    def fill_(self, value):
        if getattr(value, "ndim", 0) != 0:
            raise ValueError(f"fill_: the value must be a number or a 0-d tensor, got shape {tuple(value.shape)} "
                             "(copy_ copies a tensor)")
        self[...] = value
        return self

    def copy_(self, src, non_blocking=False):
        """The values of ``src`` (broadcast, cast to this dtype; from any device, as PyTorch) in place.
        (``non_blocking`` is accepted and ignored: the copy is done when this returns.)"""
        if isinstance(src, Tensor) and src.device != self.device:
            src = Tensor(backend.to_device(src.data, self.device))
        self[...] = src
        return self

    def zero_grad_(self):
        self.grad = None
        return self

    # ----------------------------------------------------------------- operators
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.sub(self, other)
    def __rsub__(self, other): return ops.sub(other, self)
    def __mul__(self, other): return ops.mul(self, other)
    def __rmul__(self, other): return ops.mul(other, self)
    def __truediv__(self, other): return ops.div(self, other)
    def __rtruediv__(self, other): return ops.div(other, self)
    def __floordiv__(self, other): return ops.floor_divide(self, other)
    def __rfloordiv__(self, other): return ops.floor_divide(other, self)
    def __mod__(self, other): return ops.remainder(self, other)
    def __rmod__(self, other): return ops.remainder(other, self)
    def __pow__(self, other): return ops.pow(self, other)
    def __rpow__(self, other): return ops.pow(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.neg(self)
    def __getitem__(self, index): return ops.getitem(self, index)

    def __setitem__(self, index, value):
        """``x[mask] = 0``, ``x[0] = row``: in place, as PyTorch, under the in-place operators' rule
        (below); the graph cannot hold it here, so a tensor in the graph, or a value in it, is refused."""
        if autograd.is_grad_enabled() and (self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
            which = "this tensor requires grad" if self.requires_grad else "the value is in the graph"
            raise RuntimeError(f"x[index] = value while the graph is recorded and {which}: the assignment would "
                               "not carry gradients here. Change it inside `with tc.no_grad():`, or build the "
                               "result as a new tensor (tc.where(mask, value, x), tc.cat, tc.stack)")
        self._check_writable("x[index] = value")
        if isinstance(value, (int, float)) or getattr(value, "ndim", None) == 0:      # a number, not wrapped
            _held_by("x[index] = value", value.item() if hasattr(value, "item") else value, self.dtype, self.xp)
        ops.setitem(self, index, value)
        self._bump_version()

    def _check_writable(self, what):
        if not getattr(getattr(self.data, "flags", None), "writeable", True):
            raise ValueError(f"{what}: this tensor's memory is read-only (a tensor over a read-only NumPy array); "
                             "change a copy, t.clone()")

    # In place, as PyTorch: `p -= lr * p.grad` under `tc.no_grad()` changes p itself (without these
    # Python would bind the name to a new tensor, and a loop over a model's parameters would change
    # none of them). While the graph is recorded, a leaf that requires grad (a parameter) is refused,
    # as PyTorch refuses it; if either side is in the graph (``total += loss``, the second time too),
    # the result must be in the graph, which cannot be done in place here, so the name is bound to
    # the new tensor ``t + x``, as Python does for a type without in-place operators. The change
    # bumps the tensor's version, so a graph that saved it before refuses to backward (autograd.py).
    def __iadd__(self, other): return self._in_place(other, operator.iadd, operator.add, "+=")
    def __isub__(self, other): return self._in_place(other, operator.isub, operator.sub, "-=")
    def __imul__(self, other): return self._in_place(other, operator.imul, operator.mul, "*=")
    def __itruediv__(self, other): return self._in_place(other, operator.itruediv, operator.truediv, "/=")
    def __ipow__(self, other): return self._in_place(other, operator.ipow, operator.pow, "**=")

    def _in_place(self, other, in_place, out_of_place, symbol, label=None):
        label = label or f"{symbol} in place"          # (a method names itself: "div_")
        if autograd.is_grad_enabled():
            if self.requires_grad and self.is_leaf:
                raise RuntimeError(f"{symbol} in place on a leaf tensor that requires grad (a parameter), while the "
                                   "graph is recorded: update it inside `with tc.no_grad():`, or write "
                                   f"t = t {symbol[:-1]} x for a new tensor")
            if self.requires_grad or (isinstance(other, Tensor) and other.requires_grad):
                return out_of_place(self, other)
        other = other.data if isinstance(other, Tensor) else other
        if self.dtype.kind in "biu" and (symbol == "/=" or isinstance(other, float)
                                         or getattr(getattr(other, "dtype", None), "kind", None) == "f"):
            raise TypeError(f"{label}: this {self.dtype} tensor cannot hold the float result; write "
                            f"t = t {symbol[:-1]} x for a new (float) tensor")
        other = backend.operand_for(other, self.device, label)
        self._check_writable(label)
        in_place(self.data, other)      # (the array's own in-place operator: its dtype stays)
        self._bump_version()
        return self

    # The method spellings, as an optimizer written PyTorch's way uses them (p.add_(g, alpha=-lr)).
    # A method's result is easily ignored, so where `+=` would bind the name to a new tensor in the
    # graph, these refuse: leaving the tensor as it was would be a silent wrong answer.
    def add_(self, other, *, alpha=1): return self._method_in_place("add_", other, alpha, operator.iadd, "+=")
    def sub_(self, other, *, alpha=1): return self._method_in_place("sub_", other, alpha, operator.isub, "-=")
    def mul_(self, other): return self._method_in_place("mul_", other, 1, operator.imul, "*=")
    def div_(self, other): return self._method_in_place("div_", other, 1, operator.itruediv, "/=")
    def pow_(self, exponent): return self._method_in_place("pow_", exponent, 1, operator.ipow, "**=")

    def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's argument names
        self._refuse_in_graph("clamp_", None)
        if self.dtype.kind in "biu" and (isinstance(min, float) or isinstance(max, float)):
            raise TypeError(f"clamp_: this {self.dtype} tensor cannot hold a float bound; write t = t.clip(min, max) "
                            "for a new (float) tensor")
        return self.copy_(ops.clip(self, min, max))

    def _method_in_place(self, name, other, alpha, in_place, symbol):
        self._refuse_in_graph(name, other)
        if alpha != 1:
            other = ops.mul(other, alpha)
        return self._in_place(other, in_place, None, symbol, label=name)

    def _refuse_in_graph(self, name, other):
        if autograd.is_grad_enabled() and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
            raise RuntimeError(f"{name}: in place while the graph is recorded and a tensor in it requires grad; "
                               f"change a parameter inside `with tc.no_grad():`, or build a new tensor (t = t.{name[:-1]}(x))")

    # Comparisons give boolean tensors without gradient (used by `where`, masks). `==` too, as in
    # PyTorch: a tensor stays hashable by identity (a dict key, as in optimizer.state).
    def __lt__(self, other): return ops.compare(self, other, "less")
    def __le__(self, other): return ops.compare(self, other, "less_equal")
    def __gt__(self, other): return ops.compare(self, other, "greater")
    def __ge__(self, other): return ops.compare(self, other, "greater_equal")
    def __eq__(self, other):
        return False if other is None or isinstance(other, str) else ops.compare(self, other, "equal")

    def __ne__(self, other):
        return True if other is None or isinstance(other, str) else ops.compare(self, other, "not_equal")
    __hash__ = object.__hash__

    def __bool__(self):
        """The value of a one-element tensor (``if loss < best:``); more elements are ambiguous."""
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor of {self.data.size} elements is ambiguous: "
                               "use t.any() or t.all()")
        return bool(self.data.reshape(()).item())

    def any(self, dim=None, keepdim=False):
        """Whether any entry (along ``dim``, an axis or a tuple of them) is true; a bool tensor."""
        return Tensor(self.xp.any(self.data, axis=self._logical_axes("any", dim), keepdims=keepdim))

    def all(self, dim=None, keepdim=False):
        """Whether every entry (along ``dim``) is true; a bool tensor."""
        return Tensor(self.xp.all(self.data, axis=self._logical_axes("all", dim), keepdims=keepdim))

    def _logical_axes(self, name, dim):
        """any's and all's ``dim`` checked, as NumPy axes: None all, () none (PyTorch's any and all,
        unlike its sum, reduce nothing for dim=())."""
        if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
            return None if dim is None else ()
        return ops.reduction._normalize_axes(dim, self.ndim, name)

    # ----------------------------------------------------------------- methods
    # Reductions take NumPy's names (axis, keepdims) or PyTorch's (dim, keepdim).
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.sum(self, *_axis_and_keep(axis, keepdims, dim, keepdim))

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.mean(self, *_axis_and_keep(axis, keepdims, dim, keepdim))

    def var(self, dim=None, unbiased=True, keepdim=False, *, correction=None, ddof=None, axis=None, keepdims=None):
        """Σ(x − μ)² / (n − correction), in PyTorch's order: ``x.var(dim, unbiased, keepdim)``. By default
        the unbiased estimate (correction 1); ``unbiased=False`` or ``correction=0`` (NumPy's ``ddof=0``,
        its default) the population variance."""
        return ops.var(self, *_axis_and_keep(axis, keepdims, dim, keepdim), _correction(unbiased, correction, ddof))

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """PyTorch's: ``x.max()`` the largest entry; ``x.max(dim)`` the pair (values, indices) along
        ``dim``, as ``torch.max`` gives it (its gradient all to the entry ``indices`` names);
        ``x.max(other)`` the element-wise maximum. NumPy's spelling, ``x.max(axis=...)``, gives the
        values alone (``axis`` may be a tuple of axes)."""
        return self._extreme(ops.max, ops.maximum, MaxResult, self.argmax, dim, keepdim, axis, keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """As ``max``, for the smallest entries."""
        return self._extreme(ops.min, ops.minimum, MinResult, self.argmin, dim, keepdim, axis, keepdims)

    def _extreme(self, reduce, element_wise, result, arg, dim, keepdim, axis, keepdims):
        keep = bool(keepdim or keepdims)
        if isinstance(dim, Tensor):                                 # torch.max(a, b)
            return element_wise(self, dim)
        if dim is None:
            return reduce(self, axis, keep)
        if axis is not None:
            raise TypeError(f"{reduce.__name__}: give dim (PyTorch: values and indices) or axis (NumPy: values), "
                            "not both")
        if self.ndim == 0 and dim in (0, -1):                       # (PyTorch allows dim 0 of a 0-d tensor)
            return result(reduce(self), Tensor(self.xp.zeros((), dtype=backend.int64)))
        return result(reduce(self, dim, keep, one_winner=True), arg(dim, keep))

    def amax(self, dim=(), keepdim=False):
        """The largest entries along ``dim`` (an axis, a tuple of them, or () for all), values only;
        ties share the gradient equally, as in PyTorch."""
        return ops.max(self, dim, keepdim)

    def amin(self, dim=(), keepdim=False):
        """As ``amax``, for the smallest entries."""
        return ops.min(self, dim, keepdim)

    def std(self, dim=None, unbiased=True, keepdim=False, *, correction=None, ddof=None, axis=None, keepdims=None):
        """√var, with var's arguments: the unbiased estimate by default, as torch.std. Where var is 0
        (all entries equal) √'s slope 1/(2√v) is infinite; the gradient there is 0, as PyTorch's."""
        v = self.var(dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis, keepdims=keepdims)
        spread = v > 0
        return ops.where(spread, ops.where(spread, v, 1.0).sqrt(), 0.0)

    def argmin(self, dim=None, keepdim=False):
        """The index of the smallest entry (of the flattened tensor, or along ``dim``); no gradient."""
        return self._arg("argmin", dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        """The index of the largest entry (of the flattened tensor, or along ``dim``); no gradient."""
        return self._arg("argmax", dim, keepdim)

    def _arg(self, name, dim, keepdim):
        find = getattr(self.xp, name)
        axis = None if dim is None else ops.shape._axis(name, dim, self.ndim)
        if (self.numel() if axis is None or self.ndim == 0 else self.shape[axis]) == 0:
            raise ValueError(f"{name}: there is no entry to pick {'in an empty tensor' if axis is None else f'along axis {dim}'}"
                             f" (shape {self.shape})")
        if axis is None or self.ndim == 0:      # (of the whole tensor: one index, in a tensor of 1s as PyTorch's)
            index = find(self.data)
            return Tensor(index.reshape((1,) * self.ndim) if keepdim else index)
        index = find(self.data, axis=axis)
        return Tensor(self.xp.expand_dims(index, axis) if keepdim else index)

    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def rsqrt(self): return ops.rsqrt(self)
    def sin(self): return ops.sin(self)
    def cos(self): return ops.cos(self)
    def reciprocal(self): return ops.div(1, self)

    # PyTorch's method spellings of the operators
    def add(self, other, alpha=1): return ops.add(self, other if alpha == 1 else ops.mul(other, alpha))
    def sub(self, other, alpha=1): return ops.sub(self, other if alpha == 1 else ops.mul(other, alpha))
    def mul(self, other): return ops.mul(self, other)
    def div(self, other): return ops.div(self, other)
    def pow(self, exponent): return ops.pow(self, exponent)
    def neg(self): return ops.neg(self)
    def clamp_min(self, min): return ops.clip(self, min, None)  # noqa: A002 - PyTorch's argument name
    def clamp_max(self, max): return ops.clip(self, None, max)  # noqa: A002

    def logsumexp(self, dim, keepdim=False):
        """log Σ exp(x) along ``dim``, computed as m + log Σ exp(x − m) with m the (constant) maximum,
        so that no exp overflows; its gradient is the softmax."""
        dims = ops.reduction._normalize_axes(dim, self.ndim, "logsumexp")
        kept = tuple(n for i, n in enumerate(self.shape) if i not in dims)
        if self.ndim and any(self.shape[d] == 0 for d in dims):          # (the log of an empty sum: −inf)
            out = self.sum(dims, keepdim=True) - float("inf")
            return out if keepdim else out.reshape(kept)
        m = self.detach().amax(dims, keepdim=True)
        m = ops.where(m.isfinite(), m, 0.0)                      # (all −inf: log Σ = −inf, not NaN)
        out = (self - m).exp().sum(dims, keepdim=True).log() + m
        return out if keepdim else out.reshape(kept)
    def log1p(self): return ops.log1p(self)
    def expm1(self): return ops.expm1(self)
    def norm(self, p=2, dim=None, keepdim=False): return ops.norm(self, p, dim, keepdim)
    def cumsum(self, dim): return ops.cumsum(self, dim)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def relu(self): return ops.relu(self)
    def abs(self): return ops.abs(self)
    __abs__ = abs
    # linear algebra (ops/linalg.py), PyTorch's method spellings
    def inverse(self): return ops.linalg.inv(self)
    def det(self): return ops.linalg.det(self)
    def logdet(self): return ops.linalg.logdet(self)
    def slogdet(self): return ops.linalg.slogdet(self)
    def matrix_power(self, n): return ops.linalg.matrix_power(self, n)
    def pinverse(self, rcond=1e-15): return ops.linalg.pinverse(self, rcond)
    # entries written into a copy at the places an index names (ops/scatter.py)
    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        return ops.scatter(self, dim, index, src, value, reduce=reduce)
    def scatter_add(self, dim, index, src): return ops.scatter_add(self, dim, index, src)
    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        return ops.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)
    def index_add(self, dim, index, source, *, alpha=1): return ops.index_add(self, dim, index, source, alpha=alpha)
    def index_copy(self, dim, index, source): return ops.index_copy(self, dim, index, source)
    def index_fill(self, dim, index, value): return ops.index_fill(self, dim, index, value)
    def index_reduce(self, dim, index, source, reduce, *, include_self=True):
        return ops.index_reduce(self, dim, index, source, reduce, include_self=include_self)
    def take_along_dim(self, indices, dim=None): return ops.take_along_dim(self, indices, dim)
    def masked_scatter(self, mask, source): return ops.masked_scatter(self, mask, source)
    # axes moved, entries repeated, diagonals, products (ops/arrange.py)
    def movedim(self, source, destination): return ops.movedim(self, source, destination)
    moveaxis = movedim
    def swapaxes(self, axis0, axis1): return ops.swapaxes(self, axis0, axis1)
    def swapdims(self, dim0, dim1): return ops.swapdims(self, dim0, dim1)
    def unflatten(self, dim, sizes): return ops.unflatten(self, dim, sizes)
    def tile(self, *dims): return ops.tile(self, _spread(dims))
    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        return ops.repeat_interleave(self, repeats, dim, output_size=output_size)
    def broadcast_to(self, size): return ops.broadcast_to(self, size)
    def diag(self, diagonal=0): return ops.diag(self, diagonal)
    def diag_embed(self, offset=0, dim1=-2, dim2=-1): return ops.diag_embed(self, offset, dim1, dim2)
    def diagflat(self, offset=0): return ops.diagflat(self, offset)
    def trace(self): return ops.trace(self)
    def kron(self, other): return ops.kron(self, other)
    def cross(self, other, dim=None): return ops.cross(self, other, dim)
    def rot90(self, k=1, dims=(0, 1)): return ops.rot90(self, k, dims)
    # special functions (ops/special.py)
    def asin(self): return ops.asin(self)
    def acos(self): return ops.acos(self)
    def atan(self): return ops.atan(self)
    def atan2(self, other): return ops.atan2(self, other)
    def sinh(self): return ops.sinh(self)
    def cosh(self): return ops.cosh(self)
    def asinh(self): return ops.asinh(self)
    def acosh(self): return ops.acosh(self)
    def atanh(self): return ops.atanh(self)
    def erf(self): return ops.erf(self)
    def erfc(self): return ops.erfc(self)
    def erfinv(self): return ops.erfinv(self)
    def exp2(self): return ops.exp2(self)
    def log2(self): return ops.log2(self)
    def log10(self): return ops.log10(self)
    def hypot(self, other): return ops.hypot(self, other)
    def lerp(self, end, weight): return ops.lerp(self, end, weight)
    def frac(self): return ops.frac(self)
    def fmod(self, other): return ops.fmod(self, other)
    def nan_to_num(self, nan=0.0, posinf=None, neginf=None): return ops.nan_to_num(self, nan, posinf, neginf)
    def xlogy(self, other): return ops.xlogy(self, other)
    def sinc(self): return ops.sinc(self)
    def square(self): return ops.mul(self, self)
    def sign(self):
        """−1, 0 or 1 (0 for NaN, and a bool stays itself, as PyTorch's); no gradient: its derivative
        is 0 wherever it has one."""
        return Tensor(self.data.copy() if self.dtype.kind == "b" else ops.elementwise.sign_array(self.data))
    # (integers are never NaN and always finite: known without looking, or making a float copy to look at)
    def isnan(self):
        return Tensor(self.xp.isnan(self.data) if self.dtype.kind == "f" else self.xp.zeros(self.shape, bool))

    def isfinite(self):
        return Tensor(self.xp.isfinite(self.data) if self.dtype.kind == "f" else self.xp.ones(self.shape, bool))

    def isinf(self):
        return Tensor(self.xp.isinf(self.data) if self.dtype.kind == "f" else self.xp.zeros(self.shape, bool))

    # Rounding: steps, so outside the graph, as sign() (their derivative is 0 wherever they have one).
    # round() goes to the even neighbour at .5 (2.5 → 2), as PyTorch's and NumPy's.
    def floor(self): return self._step(self.xp.floor)
    def ceil(self): return self._step(self.xp.ceil)
    def trunc(self): return self._step(self.xp.trunc)
    def round(self, decimals=0):  # noqa: A003
        """To ``decimals`` places (negative: to tens, hundreds, ...; integers too, as NumPy's). Floats
        are scaled by 10^decimals in their own dtype, rounded to the even neighbour and scaled back,
        as NumPy and PyTorch do (CuPy's own round scales in float64: 2.675 would round another way)."""
        if self.dtype.kind == "b" or (self.dtype.kind in "iu" and decimals >= 0):
            return Tensor(self.data.copy())
        if self.dtype.kind in "iu":
            return Tensor(self.xp.round(self.data, decimals))
        factor = self.xp.asarray(10.0 ** abs(decimals), dtype=self.dtype)
        x, xp = self.data, self.xp
        return Tensor(xp.rint(x * factor) / factor if decimals >= 0 else xp.rint(x / factor) * factor)

    def _step(self, function):
        return Tensor(function(self.data) if self.dtype.kind == "f" else self.data.copy())

    # mask & other, mask | other, mask ^ other, ~mask: logic of boolean tensors (bitwise on integers).
    def __and__(self, other): return self._bitwise(other, "bitwise_and", "&")
    def __or__(self, other): return self._bitwise(other, "bitwise_or", "|")
    def __xor__(self, other): return self._bitwise(other, "bitwise_xor", "^")
    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        self._refuse_floats("~", self)
        return Tensor(self.xp.invert(self.data))

    def _bitwise(self, other, op, symbol):
        other = autograd.as_tensor(other, like=self)
        self._refuse_floats(symbol, self, other)
        ops.arithmetic.broadcastable(symbol, self, other)
        return ops.compare(self, other, op)

    @staticmethod
    def _refuse_floats(symbol, *tensors):
        if any(t.dtype.kind not in "biu" for t in tensors):
            raise TypeError(f"{symbol}: expected boolean (or integer) tensors, got {', '.join(str(t.dtype) for t in tensors)} "
                            "(for a mask, compare first: (x > 0) & (x < 1))")

    # Comparisons and logic by name (PyTorch's x.eq(y), x.logical_and(y)): boolean tensors.
    def eq(self, other): return self == other
    def ne(self, other): return self != other
    def lt(self, other): return self < other
    def le(self, other): return self <= other
    def gt(self, other): return self > other
    def ge(self, other): return self >= other
    def logical_and(self, other): return ops.compare(*ops.arithmetic.broadcastable("logical_and", self, other), "logical_and")
    def logical_or(self, other): return ops.compare(*ops.arithmetic.broadcastable("logical_or", self, other), "logical_or")
    def logical_xor(self, other): return ops.compare(*ops.arithmetic.broadcastable("logical_xor", self, other), "logical_xor")
    def logical_not(self): return Tensor(self.xp.logical_not(self.data))

    def isclose(self, other, rtol=1e-5, atol=1e-8, equal_nan=False):
        """|self − other| <= atol + rtol·|other|, entry by entry (torch.isclose; allclose asks it of all)."""
        other = autograd.as_tensor(other, like=self)
        ops.arithmetic.broadcastable("isclose", self, other)
        if not (rtol >= 0 and atol >= 0):
            raise ValueError(f"isclose: rtol and atol must be >= 0, got rtol={rtol!r}, atol={atol!r}")
        return Tensor(self.xp.isclose(self.data, other.data, rtol=rtol, atol=atol, equal_nan=equal_nan))

    def count_nonzero(self, dim=None):
        return (self != 0).long().sum(dim)                                  # (dim=(): all, as PyTorch's)
    def maximum(self, other): return ops.maximum(self, other)
    def minimum(self, other): return ops.minimum(self, other)
    def prod(self, dim=None, keepdim=False): return ops.prod(self, dim, keepdim)
    def tril(self, diagonal=0): return ops.tril(self, diagonal)
    def triu(self, diagonal=0): return ops.triu(self, diagonal)
    def outer(self, other):
        """The matrix of products self_i·other_j of two 1-D tensors (torch.outer)."""
        other = autograd.as_tensor(other, like=self)
        if self.ndim != 1 or other.ndim != 1:
            raise ValueError(f"outer: expected two 1-D tensors, got shapes {self.shape} and {other.shape}")
        return ops.mul(self.reshape(-1, 1), other.reshape(1, -1))
    def dot(self, other):
        """The inner product Σ self_i·other_i of two 1-D tensors (torch.dot; matmul for more axes)."""
        other = autograd.as_tensor(other, like=self)
        if self.ndim != 1 or other.shape != self.shape:
            raise ValueError(f"dot: expected two 1-D tensors of one length, got shapes {self.shape} and {other.shape}")
        return ops.matmul(self, other)

    def mm(self, other):
        """The product of two matrices (torch.mm: both 2-D; matmul broadcasts and takes vectors)."""
        other = autograd.as_tensor(other, like=self)
        if self.ndim != 2 or other.ndim != 2:
            raise ValueError(f"mm: expected two 2-D tensors, got shapes {self.shape} and {other.shape}")
        return ops.matmul(self, other)

    def clip(self, min=None, max=None): return ops.clip(self, min, max)
    clamp = clip                                    # (PyTorch's name)

    def reshape(self, *sizes, shape=None): return ops.reshape(self, _spread(sizes, shape))

    view = reshape          # (PyTorch's view shares memory and refuses some layouts; here it is reshape)
    def view_as(self, other): return self.reshape(other.shape)
    reshape_as = view_as
    def type_as(self, other): return self.to(dtype=other.dtype)

    def unsqueeze(self, dim):
        """A new axis of length 1 at ``dim`` (in [−ndim−1, ndim], as PyTorch)."""
        if not is_int(dim):
            raise TypeError(f"unsqueeze: dim must be an int, got {dim!r}")
        if not -self.ndim - 1 <= dim <= self.ndim:
            raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor of {self.ndim} axes "
                             f"(expected [{-self.ndim - 1}, {self.ndim}])")
        dim = dim % (self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        """Without its axes of length 1 (or only those of ``dim``, an axis or a tuple of them, that
        have length 1, as PyTorch)."""
        dims = range(self.ndim) if dim is None else dim if isinstance(dim, (tuple, list)) else (dim,)
        for d in dims:
            if not -max(self.ndim, 1) <= d < max(self.ndim, 1):
                raise IndexError(f"squeeze: dim {d} is out of range for a tensor of {self.ndim} axes")
        drop = {d % self.ndim for d in dims if self.ndim and self.shape[d] == 1}
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in drop))

    def contiguous(self):
        """The same values laid out row-major in memory (PyTorch's ``contiguous``; a copy if needed)."""
        return ops.contiguous(self)

    def permute(self, *axes, dims=None): return ops.permute(self, _spread(axes, dims))

    def transpose(self, dim0=-2, dim1=-1):
        """Swap two axes (PyTorch's ``transpose``); see ``permute`` for any order."""
        return ops.transpose(self, dim0, dim1)

    @property
    def T(self):
        return ops.permute(self, tuple(reversed(range(self.ndim))))

    def t(self):
        """The transpose of a matrix (a 1-D or 0-d tensor as it is), PyTorch's ``t()``."""
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor of at most 2 axes, got shape {self.shape}: use transpose or mT")
        return self.T

    def unbind(self, dim=0):
        """The slices along ``dim``, each without that axis (a tuple, as torch.unbind)."""
        if self.ndim == 0:
            raise ValueError("unbind: a 0-d tensor has no axis to unbind along")
        axis = ops.shape._axis("unbind", dim, self.ndim)
        return tuple(piece.squeeze(axis) for piece in ops.split(self, 1, axis)) if self.shape[axis] else ()

    def narrow(self, dim, start, length):
        """Entries start … start + length − 1 along ``dim`` (a view's worth of slicing)."""
        if self.ndim == 0:
            raise ValueError("narrow: a 0-d tensor has no axis to narrow")
        axis = ops.shape._axis("narrow", dim, self.ndim)
        start, length = (int(v.item()) if isinstance(v, Tensor) else v for v in (start, length))  # (0-d tensors too)
        begin = start + self.shape[axis] if start < 0 else start          # (a negative start counts from the end)
        if not (0 <= begin and 0 <= length and begin + length <= self.shape[axis]):
            raise IndexError(f"narrow: start {start} and length {length} do not fit axis {dim} of shape {self.shape}")
        return self[(slice(None),) * axis + (slice(begin, begin + length),)]

    def index_select(self, dim, index):
        """The entries at ``index`` (a 1-D integer tensor) along ``dim`` (torch.index_select)."""
        if not isinstance(index, Tensor) or index.ndim > 1 or index.dtype.kind not in "iu":
            raise TypeError("index_select: index must be a 1-D (or 0-d) integer tensor")
        axis = ops.shape._axis("index_select", dim, self.ndim)
        n = self.shape[axis] if self.ndim else 1
        if not all_in_range(index.data, n):
            raise IndexError(f"index_select: indices must lie in [0, {n}) for axis {dim} of shape {self.shape}")
        if self.ndim == 0:                      # (as PyTorch: one index, and the 0-d tensor itself back)
            if index.numel() != 1:
                raise IndexError(f"index_select: a 0-d tensor takes exactly one index (0), got {index.numel()}")
            return self.reshape(1)[index.reshape(-1)].reshape(())
        return self[(slice(None),) * axis + (index.reshape(-1),)]

    def nonzero(self, as_tuple=False):
        """The indices of the entries that are not zero (or False): (n, ndim) int64, or one index
        tensor per axis with ``as_tuple`` (what ``tc.where(condition)`` gives). No gradient."""
        if self.ndim == 0:                      # (one entry, no axes: (1, 0) or (0, 0) indices, as PyTorch)
            found = self.xp.zeros((int(bool(self.data)), 0), dtype=backend.int64)
            return (Tensor(self.xp.zeros(int(bool(self.data)), dtype=backend.int64)),) if as_tuple else Tensor(found)
        where = [w.astype(backend.int64, copy=False) for w in self.xp.nonzero(self.data)]
        return tuple(Tensor(w) for w in where) if as_tuple else Tensor(self.xp.stack(where, axis=1))

    def is_floating_point(self): return self.dtype.kind == "f"
    def element_size(self): return self.data.itemsize

    @property
    def nbytes(self): return self.data.nbytes

    @property
    def grad_fn(self):
        """The Function that made this tensor (None for a leaf), as PyTorch's ``grad_fn``."""
        return self._ctx

    # new tensors like this one (its dtype and device unless given)
    def new_zeros(self, *size, dtype=None): return zeros(*_spread(size), dtype=dtype or self.dtype, device=self.device)
    def new_ones(self, *size, dtype=None): return ones(*_spread(size), dtype=dtype or self.dtype, device=self.device)
    def new_full(self, size, fill_value, dtype=None): return full(size, fill_value, dtype=dtype or self.dtype, device=self.device)
    def new_tensor(self, data, dtype=None): return tensor(data, dtype=dtype or self.dtype, device=self.device)

    @property
    def mT(self):
        """The last two axes swapped (a batch of transposed matrices), PyTorch's ``mT``."""
        return ops.transpose(self, -2, -1)

    def expand(self, *sizes, size=None):
        """This tensor repeated along its size-1 axes, without a copy (−1 keeps a size)."""
        return ops.expand(self, _spread(sizes, size))

    def expand_as(self, other): return ops.expand(self, other.shape)

    def repeat(self, *sizes):
        """This tensor tiled ``sizes`` times along each axis (torch's repeat; more sizes than axes add
        leading axes): each axis of length n becomes (r, n), an expand of a size-1 axis, then one of r·n."""
        sizes = _spread(sizes)
        if len(sizes) < self.ndim or not all(is_int(r) and r >= 0 for r in sizes):
            raise ValueError(f"repeat: expected at least {self.ndim} counts (ints >= 0) for shape {self.shape}, "
                             f"got {tuple(sizes)}")
        shape = (1,) * (len(sizes) - self.ndim) + tuple(self.shape)
        paired = self.reshape(tuple(d for n in shape for d in (1, n)))                  # (1, n_0, 1, n_1, ...)
        tiled = paired.expand(tuple(d for r, n in zip(sizes, shape) for d in (r, n)))  # (r_0, n_0, r_1, n_1, ...)
        return tiled.reshape(tuple(r * n for r, n in zip(sizes, shape))).clone()       # (memory of its own)
    def split(self, split_size_or_sections, dim=0): return ops.split(self, split_size_or_sections, dim)
    def chunk(self, chunks, dim=0): return ops.chunk(self, chunks, dim)

    def flatten(self, start_dim=0, end_dim=-1): return ops.flatten(self, start_dim, end_dim)
    def matmul(self, other): return ops.matmul(self, other)

    # entries picked or moved (ops/reorder.py)
    def flip(self, *axes, dims=None): return ops.flip(self, _spread(axes, dims))
    def where(self, condition, other): return ops.where(condition, self, other)   # (torch's x.where(c, y))
    def roll(self, shifts, dims=None): return ops.roll(self, shifts, dims)
    def gather(self, dim, index): return ops.gather(self, dim, index)
    def diagonal(self, offset=0, dim1=0, dim2=1): return ops.diagonal(self, offset, dim1, dim2)
    def sort(self, dim=-1, descending=False, stable=True): return ops.sort(self, dim, descending)
    def argsort(self, dim=-1, descending=False, stable=True): return ops.argsort(self, dim, descending)
    def topk(self, k, dim=-1, largest=True, sorted=True): return ops.topk(self, k, dim, largest, sorted)  # noqa: A002

    def masked_fill(self, mask, value):
        """``value`` where the boolean ``mask`` (broadcast to this shape) is true, else this tensor's
        entries: ``where(mask, value, self)``, with this tensor's shape and dtype (PyTorch's masked_fill)."""
        mask_shape = getattr(mask, "shape", None)
        if mask_shape is None or len(mask_shape) > self.ndim or any(
                m not in (1, n) for m, n in zip(reversed(mask_shape), reversed(self.shape))):
            raise ValueError(f"masked_fill: the mask must be a boolean tensor that broadcasts to shape {self.shape}, "
                             f"got {'shape ' + str(tuple(mask_shape)) if mask_shape is not None else type(mask).__name__}")
        if getattr(value, "ndim", 0) != 0:
            raise ValueError(f"masked_fill: the value must be a number or a 0-d tensor, got shape {tuple(value.shape)}")
        # the value takes this tensor's dtype (2.5 into an int tensor is 2), so the result keeps it
        value = value.to(dtype=self.dtype) if isinstance(value, Tensor) else \
            Tensor(self.xp.asarray(_held_by("masked_fill", value, self.dtype, self.xp)).astype(self.dtype))
        return ops.where(mask, value, self)


# ---------------------------------------------------------------------------- constructors

class RemovableHandle:
    """What ``register_hook`` (here) and a Module's ``register_forward_hook`` and
    ``register_forward_pre_hook`` return: ``remove()`` unregisters the hook (twice is harmless)."""
    _next_id = 0

    def __init__(self, hooks):
        self.hooks, self.id = hooks, RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        self.hooks.pop(self.id, None)


class VersionCounter:
    """How many times some memory was changed in place. Tensors that view the same memory (a
    ``detach()``, a reshape) share one, so a change made through any of them is seen by all."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


# ``x.max(dim)``, ``x.min(dim)``: (values, indices), also by name, as PyTorch's ``torch.return_types.max``.
MaxResult = collections.namedtuple("MaxResult", ["values", "indices"])
MinResult = collections.namedtuple("MinResult", ["values", "indices"])


# tc.sum(x, ...), tc.max(x, 1), ...: the methods above as functions, as torch.sum and torch.max are
# (exported under those names by tinycoat/__init__.py; here they would hide Python's sum and max).
def sum_of(input, axis=None, keepdims=False, *, dim=None, keepdim=None):
    return autograd.as_tensor(input).sum(axis, keepdims, dim=dim, keepdim=keepdim)


def mean_of(input, axis=None, keepdims=False, *, dim=None, keepdim=None):
    return autograd.as_tensor(input).mean(axis, keepdims, dim=dim, keepdim=keepdim)


def var_of(input, dim=None, unbiased=True, keepdim=False, *, correction=None, ddof=None, axis=None, keepdims=None):
    return autograd.as_tensor(input).var(dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis,
                                         keepdims=keepdims)


def std_of(input, dim=None, unbiased=True, keepdim=False, *, correction=None, ddof=None, axis=None, keepdims=None):
    return autograd.as_tensor(input).std(dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis,
                                         keepdims=keepdims)


def max_of(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """torch.max: ``tc.max(x)`` the largest entry; ``tc.max(x, 1)`` (values, indices)."""
    return autograd.as_tensor(input).max(dim, keepdim, axis=axis, keepdims=keepdims)


def min_of(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """torch.min: ``tc.min(x)`` the smallest entry; ``tc.min(x, 1)`` (values, indices)."""
    return autograd.as_tensor(input).min(dim, keepdim, axis=axis, keepdims=keepdims)


def argmax(input, dim=None, keepdim=False):
    return autograd.as_tensor(input).argmax(dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    return autograd.as_tensor(input).argmin(dim, keepdim)


def allclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    """|input − other| <= atol + rtol·|other| everywhere (broadcasting), as torch.allclose: a Python
    bool, for checks and tests; both tensors on one device."""
    a, b = autograd.as_tensor(input), autograd.as_tensor(other)
    ops.arithmetic.broadcastable("allclose", a, b)
    if a.device != b.device:
        raise backend.DeviceError(f"allclose: one tensor is on '{a.device}', the other on '{b.device}'")
    return bool(a.xp.allclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input, other) -> bool:
    """The same shape and the same values (torch.equal): a Python bool."""
    a, b = autograd.as_tensor(input), autograd.as_tensor(other)
    return a.shape == b.shape and a.device == b.device and bool((a.data == b.data).all())


def function_of(method_name):
    """``tc.floor(x)`` as ``x.floor()``, ``tc.prod(x, 1)`` as ``x.prod(1)``: a method as a function,
    as PyTorch spells many of its ops both ways (tinycoat/__init__.py exports these)."""
    def function(input, *args, **kwargs):
        return getattr(autograd.as_tensor(input), method_name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = method_name
    function.__doc__ = f"tc.{method_name}(x, ...) is x.{method_name}(...). " + (getattr(Tensor, method_name).__doc__ or "")
    return function


def from_numpy(array) -> Tensor:
    """A tensor over the NumPy array's own memory (no copy, as torch.from_numpy)."""
    if not backend.is_host_array(array):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    if not array.dtype.isnative:
        raise TypeError(f"from_numpy: the array's bytes are in the other byte order (dtype {array.dtype.str}): "
                        "convert it first, array.astype(array.dtype.newbyteorder('='))")
    return Tensor(array)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def _correction(unbiased, correction, ddof):
    """The n − correction of var's divisor from PyTorch's ``unbiased`` or ``correction``, or NumPy's ``ddof``."""
    if not isinstance(unbiased, bool):
        raise TypeError(f"var/std: unbiased must be a bool, got {unbiased!r} (the order is PyTorch's: "
                        "var(dim, unbiased, keepdim); NumPy's keepdims and ddof go by name)")
    if correction is not None and ddof is not None:
        raise TypeError("var/std: give correction= (PyTorch's name) or ddof= (NumPy's), not both")
    given = correction if correction is not None else ddof
    return (1 if unbiased else 0) if given is None else given


def _held_by(name, value, dtype, xp):
    """``value`` (a number), refused if an integer ``dtype`` cannot hold it, as PyTorch refuses it:
    NumPy's cast would silently wrap 300 into uint8 as 44 (CuPy's too), and make −9223372036854775808
    of inf. (A tensor written into another is cast, as PyTorch casts it.)"""
    if dtype.kind in "iu" and not isinstance(value, bool):
        low, high = xp.iinfo(dtype).min, xp.iinfo(dtype).max
        if value != value or not low <= value <= high:                 # (NaN is no number at all)
            raise ValueError(f"{name}: the value {value!r} does not fit {dtype} (integers in [{low}, {high}])")
    return value


def _axis_and_keep(axis, keepdims, dim, keepdim):
    """(axis, keepdims) from NumPy's names or PyTorch's."""
    if dim is not None and axis is not None:
        raise TypeError("give the axis as axis= (NumPy's name) or dim= (PyTorch's), not both")
    return (axis if dim is None else dim), bool(keepdims or keepdim)


def tensor(data, requires_grad: bool = False, dtype=None, device="cpu") -> Tensor:
    """Make a leaf tensor from Python numbers, lists, NumPy or CuPy arrays.

    ``tc.tensor([1.0, 2.0])`` is float32 (Python floats default to float32, as in
    PyTorch); a NumPy array keeps its dtype unless ``dtype`` is given. The values are copied, as
    torch.tensor copies them: changing the tensor (``t += 1``) never changes the array it came from.
    """
    if isinstance(data, Tensor):
        data = data.data
    elif isinstance(data, (list, tuple)):
        data = _numbers(data)            # tc.tensor([loss_a, loss_b]): tensors in a list give their values
    t = Tensor(data, requires_grad=requires_grad, dtype=dtype, device=backend.canonical_device(device))
    if t.data is data or getattr(t.data, "base", None) is not None:      # (as_array kept the caller's memory)
        t.data = t.data.copy()
    return t


def _numbers(data):
    """A nested list with every tensor in it replaced by its values (as Python numbers)."""
    if isinstance(data, (list, tuple)):
        return [_numbers(v) for v in data]
    return data.tolist() if isinstance(data, Tensor) else data


def _spread(args, named=None):
    """f(2, 3), f((2, 3)) and f(name=(2, 3)) alike, as PyTorch takes sizes and axes: one tuple."""
    if named is not None:
        if args:
            raise TypeError(f"give the sizes or axes one way, as arguments or by name, got {args} and {named}")
        return tuple(named) if isinstance(named, (tuple, list)) else (named,)
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def _shape(shape):
    """zeros(2, 3) and zeros((2, 3)) alike, sizes checked (NumPy's own error names no function)."""
    shape = _spread(shape)
    try:
        sizes = tuple(operator.index(n) for n in shape)             # ints, and NumPy's integer scalars
    except TypeError:
        sizes = (-1,)
    if any(n < 0 for n in sizes):
        raise ValueError(f"a shape is a sequence of non-negative ints, got {shape}")
    return sizes


def zeros(*shape, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    xp = backend.array_module(device)
    return Tensor(xp.zeros(_shape(shape), dtype=backend.as_dtype(dtype or backend.default_float)),
                  requires_grad=requires_grad)


def ones(*shape, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    xp = backend.array_module(device)
    return Tensor(xp.ones(_shape(shape), dtype=backend.as_dtype(dtype or backend.default_float)),
                  requires_grad=requires_grad)


def full(shape, value, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """``shape`` filled with ``value``; without a dtype, the value's kind decides, as in torch.full:
    a bool is bool, an int int64, a float the default float (float32)."""
    xp = backend.array_module(device)
    if dtype is None:
        dtype = (backend.bool_ if isinstance(value, bool) else backend.int64 if isinstance(value, int)
                 else backend.default_float)
    dtype = backend.as_dtype(dtype)
    if not isinstance(value, Tensor):
        value = _held_by("full", value, dtype, xp)
    return Tensor(xp.full(_shape((shape,)), value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def empty(*shape, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """torch.empty's shape and dtype, filled with zeros: memory left unset would make a run's
    numbers depend on what was there before."""
    return zeros(*shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(t: Tensor, value, dtype=None, requires_grad=False) -> Tensor:
    return full(t.shape, value, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def eye(n, m=None, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """The n×m identity matrix (m = n unless given), float32 unless ``dtype``."""
    n, m = _shape((n, n if m is None else m))
    values = backend.array_module(device).eye(n, m, dtype=backend.as_dtype(dtype or backend.default_float))
    return Tensor(values, requires_grad=requires_grad)


def linspace(start, end, steps, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (torch.linspace)."""
    (steps,) = _shape((steps,))
    values = backend.array_module(device).linspace(start, end, steps)
    return Tensor(values.astype(backend.as_dtype(dtype or backend.default_float)), requires_grad=requires_grad)


def randint(low, high=None, size=None, dtype=None, device="cpu") -> Tensor:
    """Integers drawn uniformly from [low, high), int64 unless ``dtype``, from the seeded generator;
    torch.randint's two forms: ``randint(high, size)`` and ``randint(low, high, size)``."""
    if size is None:                    # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:                  # randint(high, size=...)
        low, high = 0, low
    if size is None or not (is_int(low) and is_int(high)):
        raise TypeError(f"randint: expected randint(high, size) or randint(low, high, size) with int bounds, "
                        f"got low={low!r}, high={high!r}, size={size!r}")
    if low >= high:
        raise ValueError(f"randint: the range [low, high) is empty: low={low}, high={high}")
    dtype = backend.as_dtype(dtype or backend.int64)
    return Tensor(backend.generator(device).integers(low, high, _shape((size,)), dtype=dtype))


def randperm(n, dtype=None, device="cpu") -> Tensor:
    """0, 1, …, n − 1 in a random order (int64 unless ``dtype``), from the seeded generator:
    the order that sorts n uniform draws (CuPy's generator has no permutation of its own)."""
    (n,) = _shape((n,))
    order = backend.generator(device).random(n).argsort()
    return Tensor(order.astype(backend.as_dtype(dtype or backend.int64)))


def randn_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def randn(*shape, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """Standard normal samples from the seeded generator (``tc.manual_seed``)."""
    dtype = backend.as_dtype(dtype or backend.default_float)
    values = backend.generator(device).standard_normal(_shape(shape), dtype=dtype)
    return Tensor(values, requires_grad=requires_grad)


def rand(*shape, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """Uniform samples in [0, 1) from the seeded generator."""
    dtype = backend.as_dtype(dtype or backend.default_float)
    values = backend.generator(device).random(_shape(shape), dtype=dtype)
    return Tensor(values, requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, device="cpu") -> Tensor:
    """start, start + step, ... up to stop (left out), as torch.arange: int64 for integers, the default
    float for floats, or ``dtype`` (the range made in it, as NumPy and PyTorch make it)."""
    if stop is None:
        start, stop = 0, start
    start, stop, step = (v.item() if isinstance(v, Tensor) else v for v in (start, stop, step))
    if step == 0:
        raise ValueError("arange: step must not be 0")
    xp = backend.array_module(device)
    values = xp.arange(start, stop, step, dtype=None if dtype is None else backend.as_dtype(dtype))
    if dtype is None and values.dtype.kind == "f":
        values = values.astype(backend.default_float)
    return Tensor(values)


# Imported last: autograd and ops build on Tensor, and Tensor's methods call them.
from tinycoat import autograd, ops  # noqa: E402
