"""Ops that move entries around without changing them.

Their backward moves the gradient back to where each entry came from: reshape
back, permute by the inverse permutation, pass a contiguous copy's straight through,
scatter-add a slice into zeros, split a concatenation, crop a padding, sum an
expansion over the axes it repeated.
"""
from __future__ import annotations

import operator

from tinycoat import backend
from tinycoat.autograd import Function, as_tensor, unbroadcast
from tinycoat.backend import get_array_module
from tinycoat.checks import is_int
from tinycoat.ops.arithmetic import broadcastable, promoted
from tinycoat.tensor import Tensor


class Reshape(Function):
    def forward(self, x, shape=()):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return g.reshape(self.shape)


class Permute(Function):
    def forward(self, x, dims=()):
        self.inverse = tuple(sorted(range(len(dims)), key=lambda i: dims[i]))
        return x.transpose(dims)

    def backward(self, g):
        return g.transpose(self.inverse)


class Contiguous(Function):
    """The same entries laid out row-major in memory (a copy unless they already are)."""

    def forward(self, x):
        return get_array_module(x).ascontiguousarray(x)

    def backward(self, g):
        return g


class Clone(Function):
    """A copy with its own memory: the gradient passes through unchanged."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


class GetItem(Function):
    """x[index] for basic slices and integer/boolean arrays.

    Backward: a zero array of x's shape with the gradient added at ``index``.
    With integer arrays an entry may be picked twice, so the gradients must be
    *added* (scatter-add), not assigned.
    """

    def forward(self, x, index=()):
        self.shape, self.dtype = x.shape, x.dtype
        # index arrays kept by value: one changed in place after the forward must not move the gradient
        self.index = _copy_arrays(index) if any(self.needs_input_grad) else index
        return x[index]

    def backward(self, g):
        xp = get_array_module(g)
        grad = xp.zeros(self.shape, dtype=g.dtype)
        if _has_array(self.index):
            backend.scatter_add(grad, self.index, g)
        else:  # basic indexing never repeats an entry: plain assignment is enough
            grad[self.index] = g
        return grad


class Expand(Function):
    """x repeated along its size-1 axes (and new leading ones) without copying: a read-only view.

    Backward: every entry was used once per repetition, so its gradient is the sum over the
    repeated axes, the adjoint of broadcasting (``autograd.unbroadcast``).
    """

    def forward(self, x, shape=()):
        self.shape = x.shape
        return get_array_module(x).broadcast_to(x, shape)

    def backward(self, g):
        return unbroadcast(g, self.shape)


class Concatenate(Function):
    def forward(self, *arrays, axis=0):
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return get_array_module(arrays[0]).concatenate(arrays, axis=axis)

    def backward(self, g):
        xp = get_array_module(g)
        bounds = [sum(self.sizes[:i + 1]) for i in range(len(self.sizes) - 1)]
        return tuple(xp.split(g, bounds, axis=self.axis))


class Stack(Function):
    def forward(self, *arrays, axis=0):
        self.axis = axis
        return get_array_module(arrays[0]).stack(arrays, axis=axis)

    def backward(self, g):
        xp = get_array_module(g)
        return tuple(xp.take(g, i, axis=self.axis) for i in range(g.shape[self.axis]))


class Pad(Function):
    """Constant padding; backward crops the padded border away."""

    def forward(self, x, pad_width=(), value=0.0):
        self.crop = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return get_array_module(x).pad(x, pad_width, mode="constant", constant_values=value)

    def backward(self, g):
        return g[self.crop]


class Where(Function):
    """where(cond, a, b): a where cond holds, else b; the gradient follows the choice."""

    def forward(self, a, b, cond=None):
        # the condition kept by value: one changed in place after the forward must not move the gradient
        self.cond = cond.copy() if any(self.needs_input_grad) else None
        self.a_shape, self.b_shape = a.shape, b.shape
        return get_array_module(a).where(cond, a, b)

    def backward(self, g):
        zero = g.dtype.type(0)
        xp = get_array_module(g)
        ga = unbroadcast(xp.where(self.cond, g, zero), self.a_shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(xp.where(self.cond, zero, g), self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb


class To(Function):
    """A copy to another device and/or dtype; the gradient goes back the same way."""

    def forward(self, x, device=None, dtype=None):
        self.device, self.dtype = backend.device_of(x), x.dtype
        y = backend.to_device(x, device) if device is not None else x
        return y.astype(dtype) if dtype is not None and y.dtype != dtype else y

    def backward(self, g):
        return backend.to_device(g, self.device).astype(self.dtype, copy=False)


# ---------------------------------------------------------------------------- user-facing functions

def _copy_arrays(index):
    """``index`` with each of its arrays copied (slices, integers and None as they are)."""
    if isinstance(index, tuple):
        return tuple(_copy_arrays(i) for i in index)
    return index.copy() if hasattr(index, "shape") else index


def _has_array(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(hasattr(p, "shape") and not isinstance(p, slice) for p in parts)


def _raw_index(index, device):
    """The arrays of an index on ``device``. Host data (lists, NumPy arrays) is copied there, as
    PyTorch accepts ``x[[0, 2]]`` on any device; a Tensor index keeps its own device, so a
    Tensor on another device is refused by ``getitem`` rather than copied behind the user's back."""
    if isinstance(index, tuple):
        return tuple(_raw_index(i, device) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return backend.as_array(index, device=device)
    if hasattr(index, "shape") and backend.device_of(index) == "cpu" and device != "cpu":
        return backend.to_device(index, device)
    return index


def _index_for(x, index):
    """``index`` as arrays on x's device (an index tensor or array on another device is refused)."""
    tensors = [p for p in (index if isinstance(index, tuple) else (index,)) if isinstance(p, Tensor)]
    for p in tensors:
        if p.device != x.device:
            raise backend.DeviceError(f"indexing a tensor on '{x.device}' with an index tensor on '{p.device}'")
    index = _raw_index(index, x.device)
    parts = index if isinstance(index, tuple) else (index,)
    for p in parts:
        if hasattr(p, "shape") and backend.device_of(p) != x.device:
            raise backend.DeviceError(f"indexing a tensor on '{x.device}' with an index array on "
                                      f"'{backend.device_of(p)}'")
    return index


def _integers_first(index):
    """PyTorch reads ``x[0, :, [0, 1]]`` as ``x[0][:, [0, 1]]``: the integers pick first, then the
    arrays. NumPy counts an integer among the arrays, and where a slice stands between them it
    moves their axes to the front: (2, 3) for an x of shape (2, 3, 4), where PyTorch gives (3, 2).
    So an index with both is split in two, (the integers, the rest); None where there is nothing to do.
    A 0-d integer tensor (``t.argmax()``) counts as an integer, as in PyTorch."""
    parts = index if isinstance(index, tuple) else (index,)
    integer = [is_int(p) or (hasattr(p, "ndim") and p.ndim == 0 and p.dtype.kind in "iu") for p in parts]
    if not (any(integer) and any(hasattr(p, "shape") and not i for p, i in zip(parts, integer))):
        return None
    first, rest = [], []
    for p, i in zip(parts, integer):
        if i:
            first.append(int(p))                          # (a 0-d array read as an int: the pick stays a view)
        elif p is None:                                   # the new axis is made first, then kept whole
            first.append(None), rest.append(slice(None))
        elif hasattr(p, "dtype") and p.dtype.kind == "b":  # a mask spans as many axes as it has
            first.extend([slice(None)] * p.ndim), rest.append(p)
        else:                                             # slices, arrays, and ... keep their place
            first.append(p if p is Ellipsis else slice(None)), rest.append(p)
    return tuple(first), tuple(rest)


def getitem(x, index):
    index = _index_for(x, index)
    try:
        split = _integers_first(index)
        if split:
            return GetItem.apply(GetItem.apply(x, index=split[0]), index=split[1])
        return GetItem.apply(x, index=index)
    except IndexError as exc:
        raise IndexError(f"index {index!r} is invalid for a tensor of shape {x.shape}: {exc}") from None


def setitem(x, index, value):
    """``x[index] = value`` written into x's own memory: not an op of the graph (Tensor.__setitem__
    says when it is allowed). A host number or 0-d array is a number on any device, as in ``+=``."""
    index = _index_for(x, index)
    v = backend.operand_for(value.data if isinstance(value, Tensor) else value, x.device, "x[index] = value")
    try:
        split = _integers_first(index)
        if split:
            x.data[split[0]][split[1]] = v          # (the integers' part is a view: the write goes through)
        else:
            x.data[index] = v
    except (IndexError, ValueError) as exc:
        shape = f" of shape {tuple(v.shape)}" if hasattr(v, "shape") else ""
        raise type(exc)(f"x[index] = value{shape}: it does not fit the indexed part of a tensor of shape "
                        f"{x.shape} ({exc})") from None


def reshape(x, shape):
    shape = tuple(shape)
    try:
        return Reshape.apply(x, shape=shape)
    except ValueError:
        raise ValueError(f"cannot reshape a tensor of shape {x.shape} ({x.numel()} elements) into {shape}") from None


def expand(x, shape):
    """x repeated to ``shape`` (PyTorch's expand): a size may grow only from 1, −1 keeps an axis's
    size, and new axes go in front."""
    shape = tuple(shape)
    lead = len(shape) - x.ndim
    if lead < 0 or not all(is_int(n) and n >= -1 for n in shape):
        raise ValueError(f"expand: expected a shape of at least {x.ndim} sizes (ints >= 0, or −1 to keep one) "
                         f"for a tensor of shape {x.shape}, got {shape}")
    if -1 in shape[:lead]:
        raise ValueError(f"expand: −1 keeps an existing axis's size; a new leading axis needs one, got {shape}")
    full = shape[:lead] + tuple(old if new == -1 else new for old, new in zip(x.shape, shape[lead:]))
    for axis, (old, new) in enumerate(zip(x.shape, full[lead:])):
        if old != new and old != 1:
            raise ValueError(f"expand: cannot expand shape {x.shape} to {shape}: a size grows only from 1 "
                             f"(axis {axis}: {old} → {new})")
    return Expand.apply(x, shape=full)


def split(x, split_size_or_sections, dim=0):
    """Pieces of x along ``dim`` (PyTorch's split): of ``split_size`` each (the last may be
    shorter), or of the listed sizes, which must add up to the axis. Each piece is a slice
    (``getitem``), so the gradient finds its way back through each."""
    axis = _axis("split", dim, x.ndim)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [operator.index(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ValueError(f"split: sizes {list(sizes)} must be >= 0 and add up to {n}, the size of axis {axis} "
                             f"of a tensor of shape {x.shape}")
    else:
        size = operator.index(split_size_or_sections)
        if size < 1:
            raise ValueError(f"split: split_size must be a positive int, got {size}")
        sizes = [min(size, n - start) for start in range(0, n, size)] or [0]
    before = (slice(None),) * axis
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return tuple(getitem(x, before + (slice(start, start + size),)) for start, size in zip(starts, sizes))


def chunk(x, chunks, dim=0):
    """x cut into ``chunks`` pieces of equal size along ``dim``, the last one shorter if the axis does
    not divide (PyTorch's chunk: pieces of ⌈n / chunks⌉, so there may be fewer than ``chunks``)."""
    if not (is_int(chunks) and chunks >= 1):
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    n = x.shape[_axis("chunk", dim, x.ndim)]
    return split(x, max(-(-n // chunks), 1), dim)


def contiguous(x):
    return Contiguous.apply(x)


def clone(x):
    return Clone.apply(x)


def _axis(name, axis, ndim):
    """``axis`` in [−ndim, ndim) as a non-negative int; anything else is an error, never a silent
    wrap-around (a 0-d tensor takes axis 0 or −1, as PyTorch's flatten does)."""
    n = max(ndim, 1)
    try:
        axis = operator.index(axis)                         # ints, and NumPy's integer scalars
    except TypeError:
        raise TypeError(f"{name}: an axis must be an int, got {axis!r}") from None
    if not -n <= axis < n:
        raise ValueError(f"{name}: axis {axis!r} is out of range for a tensor with {ndim} dimensions "
                         f"(expected an int in [{-n}, {n - 1}])")
    return axis % n


def flatten(x, start_dim=0, end_dim=-1):
    start, end = _axis("flatten", start_dim, x.ndim), _axis("flatten", end_dim, x.ndim)
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {x.shape}")
    middle = 1
    for n in x.shape[start:end + 1]:
        middle *= n
    return reshape(x, x.shape[:start] + (middle,) + x.shape[end + 1:])


def permute(x, dims):
    dims = tuple(_axis("permute", d, x.ndim) for d in dims) if x.ndim else tuple(dims)
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Permute.apply(x, dims=dims)


def transpose(x, dim0, dim1):
    dim0, dim1 = _axis("transpose", dim0, x.ndim), _axis("transpose", dim1, x.ndim)
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return permute(x, dims)


def _check_joinable(name, tensors, axis, same_axis_size):
    """The join's axis as a non-negative int, once the tensors are known to fit together along it."""
    if len(tensors) == 0:
        raise ValueError(f"{name}: needs at least one tensor")
    first = tensors[0]
    if not same_axis_size and first.ndim == 0:
        raise ValueError(f"{name}: 0-d tensors have no axis to join along (stack them instead)")
    axis = _axis(name, axis, first.ndim + (1 if same_axis_size else 0))   # stack adds an axis
    for i, t in enumerate(tensors):
        ref = list(first.shape)
        got = list(t.shape)
        if same_axis_size or len(ref) != len(got):
            ok = ref == got
        else:
            ref.pop(axis), got.pop(axis)
            ok = ref == got
        if not ok:
            raise ValueError(f"{name}: tensor {i} has shape {t.shape}, incompatible with tensor 0's "
                             f"shape {first.shape} along axis {axis}")
    return axis


def _joined(tensors):
    """The tensors to join, integer ones in the floats' dtype if both kinds meet (PyTorch's rule;
    NumPy would make float32 joined with int64 float64). Integer tensors never need a gradient."""
    tensors = [as_tensor(t) for t in tensors]
    floats = [t.dtype for t in tensors if t.dtype.kind == "f"]
    if not floats or len(floats) == len(tensors):
        return tensors
    dtype = get_array_module(tensors[0].data).result_type(*floats)
    return [t if t.dtype.kind == "f" else Tensor(t.data.astype(dtype)) for t in tensors]


def concatenate(tensors, axis=0):
    tensors = _joined(tensors)
    axis = _check_joinable("concatenate", tensors, axis, same_axis_size=False)
    return Concatenate.apply(*tensors, axis=axis)


def cat(tensors, dim=0):
    """PyTorch's name for ``concatenate``."""
    return concatenate(tensors, axis=dim)


def stack(tensors, axis=0, *, dim=None):
    """The tensors side by side along a new axis (``dim=``, PyTorch's name, or ``axis=``)."""
    axis = axis if dim is None else dim
    tensors = _joined(tensors)
    axis = _check_joinable("stack", tensors, axis, same_axis_size=True)
    return Stack.apply(*tensors, axis=axis)


def pad(x, pad_width, value=0.0):
    """Constant padding, ``pad_width`` as in ``numpy.pad``: ((before, after), ...) per axis."""
    if isinstance(pad_width, int):
        pad_width = ((pad_width, pad_width),) * x.ndim
    pad_width = tuple((int(b), int(a)) for b, a in pad_width)
    if len(pad_width) != x.ndim or any(b < 0 or a < 0 for b, a in pad_width):
        raise ValueError(f"pad: pad_width needs one non-negative (before, after) pair per axis of "
                         f"shape {x.shape}, got {pad_width}")
    return Pad.apply(x, pad_width=pad_width, value=value)


def where(condition, input=None, other=None):  # noqa: A002 - PyTorch's argument names
    """Entries of ``input`` where ``condition`` is true, else of ``other`` (the condition is not
    differentiated). With the condition alone, the indices where it holds, one tensor per axis
    (``condition.nonzero(as_tuple=True)``)."""
    cond, a, b = condition, input, other
    if a is None and b is None:
        return as_tensor(cond).nonzero(as_tuple=True)
    a, b = promoted(a, b)              # (PyTorch's dtype rules: where(c, x_float32, 0.5) stays float32)
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    a, b = as_tensor(a, like=like), as_tensor(b, like=like)
    cond = cond.data if isinstance(cond, Tensor) else backend.as_array(cond, device=a.device)
    if cond.dtype != backend.bool_:
        raise TypeError(f"where: the condition must be boolean, got dtype {cond.dtype}")
    broadcastable("where (condition, a, b)", cond, a, b)
    return Where.apply(a, b, cond=cond)


def tril(x, diagonal=0):
    """x's entries on and below the ``diagonal``-th diagonal of its last two axes, 0 above (torch.tril;
    e.g. a mask that lets position i see only positions j ≤ i); the gradient passes where x is kept."""
    return where(_on_or_below("tril", x, diagonal), x, x.new_zeros(()))   # (a 0 of x's own dtype)


def triu(x, diagonal=0):
    """x's entries on and above the ``diagonal``-th diagonal of its last two axes, 0 below (torch.triu)."""
    return where(~_on_or_below("triu", x, diagonal, shift=-1), x, x.new_zeros(()))   # above: not on or below d − 1


def _on_or_below(name, x, diagonal, shift=0):
    """An (H, W) mask of x's last two axes, True on and below the (diagonal + shift)-th diagonal."""
    if x.ndim < 2 or not is_int(diagonal):
        raise ValueError(f"{name}: expected a tensor of at least 2 dimensions and an int diagonal, "
                         f"got shape {x.shape} and diagonal={diagonal!r}")
    return Tensor(x.xp.tri(*x.shape[-2:], k=diagonal + shift, dtype=bool))


def to(x, device=None, dtype=None):
    device = backend.canonical_device(device) if device is not None else None
    dtype = backend.as_dtype(dtype) if dtype is not None else None
    if (device is None or device == x.device) and (dtype is None or dtype == x.dtype):
        return x
    return To.apply(x, device=device, dtype=dtype)


def compare(a, b, op):
    """The element-wise ``numpy`` function ``op`` of a and b, outside the graph: a comparison
    (``less`` …) or logic (``logical_and`` …) gives booleans, bitwise logic of integers integers."""
    a = as_tensor(a)
    b = as_tensor(b, like=a)
    return Tensor(getattr(a.xp, op)(a.data, b.data))
