"""Ops whose every output entry is one input entry, read from a place the op knows: flip, roll,
gather, diagonal, and sort and topk, which are gather at the places argsort finds.

Each backward sends every gradient entry back to the place its entry was read from: flip the
gradient again, roll it back, or (gather) add it into zeros at the index it was read from; an
entry read twice receives both gradients.
"""
from __future__ import annotations

import collections

from tinycoat import backend
from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.checks import all_in_range, is_int
from tinycoat.ops.shape import _axis
from tinycoat.tensor import Tensor


class Flip(Function):
    """y = x with the order of the ``dims`` axes reversed; reversing twice is the identity."""

    def forward(self, x, dims=()):
        self.dims = dims
        return get_array_module(x).flip(x, axis=dims)

    def backward(self, g):
        return get_array_module(g).flip(g, axis=self.dims)


class Roll(Function):
    """y[(i + s) mod n] = x[i] along each axis: entries pushed ``s`` places on, the last s wrapping
    round to the front; rolling by −s brings each back."""

    def forward(self, x, shifts=(), dims=()):
        self.shifts, self.dims = shifts, dims
        return get_array_module(x).roll(x, shifts, axis=dims)

    def backward(self, g):
        return get_array_module(g).roll(g, tuple(-s for s in self.shifts), axis=self.dims)


class Gather(Function):
    """y[i, j, k] = x[i, index[i, j, k], k] along axis 1 (and likewise along any other axis):
    y = x[I], where I is ``index`` along the axis and each entry's own position along the others.
    Backward: x̄[I] += ȳ."""

    def forward(self, x, index=None, axis=0):
        self.shape, self.where = x.shape, _positions(index, axis)
        return x[self.where]

    def backward(self, g):
        gx = get_array_module(g).zeros(self.shape, dtype=g.dtype)
        return backend.scatter_add(gx, self.where, g)      # (add, not assign: an entry read twice)


class Diagonal(Function):
    """y[..., i] = x[..., i, i + offset] over the axes ``axis1``, ``axis2`` (the diagonal last, as in
    NumPy and PyTorch; offset < 0: below the main one). Backward: each ȳ entry back at its place on
    the diagonal, zeros off it."""

    def forward(self, x, offset=0, axis1=0, axis2=1):
        self.shape, self.where = x.shape, (offset, axis1, axis2)
        return get_array_module(x).diagonal(x, offset, axis1, axis2).copy()      # (NumPy's is read-only)

    def backward(self, g):
        xp = get_array_module(g)
        offset, axis1, axis2 = self.where
        gx = xp.zeros(self.shape, dtype=g.dtype)
        i = xp.arange(g.shape[-1])
        xp.moveaxis(gx, (axis1, axis2), (-2, -1))[..., i + max(-offset, 0), i + max(offset, 0)] = g   # (a view of gx)
        return gx


def _positions(index, axis):
    """The full index (a_0, ..., a_{n−1}) for x[...] that reads x at ``index`` along ``axis`` and at
    each entry's own position along every other axis (aranges shaped to broadcast)."""
    xp = get_array_module(index)
    ndim = index.ndim
    return tuple(index if d == axis else xp.arange(n).reshape([n if e == d else 1 for e in range(ndim)])
                 for d, n in enumerate(index.shape))


# ---------------------------------------------------------------------------- user-facing functions

SortResult = collections.namedtuple("SortResult", ["values", "indices"])
TopKResult = collections.namedtuple("TopKResult", ["values", "indices"])


def _ints(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def flip(x, dims):
    """x with the order of entries reversed along ``dims`` (an axis or a tuple of them), as torch.flip."""
    dims = tuple(_axis("flip", d, x.ndim) for d in _ints(dims))
    if len(set(dims)) != len(dims):
        raise ValueError(f"flip: an axis appears twice in dims {dims}")
    return Flip.apply(x, dims=dims if x.ndim else ())          # (a 0-d tensor has nothing to reverse)


def roll(x, shifts, dims=None):
    """Entries moved ``shifts`` places along ``dims``, those pushed off the end coming round to the
    front (torch.roll; an axis named twice is rolled by both shifts). Without dims, x is rolled as
    if flattened, then given its shape back."""
    shifts = _ints(shifts)
    if not all(is_int(s) for s in shifts):
        raise TypeError(f"roll: shifts must be ints, got {shifts}")
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: without dims, shifts is one int, got {shifts}")
        return Roll.apply(x.reshape(-1), shifts=(int(shifts[0]),), dims=(0,)).reshape(x.shape)
    dims = tuple(_axis("roll", d, x.ndim) for d in _ints(dims))
    if len(shifts) != len(dims):
        raise ValueError(f"roll: one shift per axis: got shifts {shifts} for dims {dims}")
    if x.ndim == 0:
        return x
    return Roll.apply(x, shifts=tuple(int(s) for s in shifts), dims=dims)


def gather(x, dim, index):
    """Entries of x picked along ``dim`` by ``index`` (torch.gather): out[i][j][k] = x[i][index[i][j][k]][k]
    for dim 1. ``index`` is an integer tensor with x's number of axes, no longer than x along the others."""
    axis = _axis("gather", dim, x.ndim)
    if not isinstance(index, Tensor):
        raise TypeError(f"gather: index must be an integer Tensor, got {type(index).__name__}")
    if index.dtype.kind not in "iu" or index.device != x.device:
        raise TypeError(f"gather: index must be an integer tensor on x's device '{x.device}', got dtype "
                        f"{index.dtype} on '{index.device}'")
    if index.ndim != x.ndim or any(i > n for d, (i, n) in enumerate(zip(index.shape, x.shape)) if d != axis):
        raise ValueError(f"gather: index of shape {index.shape} does not fit x of shape {x.shape} along dim {axis}: "
                         "it needs as many axes as x, and no more entries than x along every other axis")
    if not all_in_range(index.data, x.shape[axis]):
        raise IndexError(f"gather: index values must lie in [0, {x.shape[axis]}) for axis {axis} of shape {x.shape}")
    return Gather.apply(x, index=index.data, axis=axis)


def diagonal(x, offset=0, dim1=0, dim2=1):
    """The entries x[..., i, i + offset] of the two axes dim1, dim2, as a last axis (torch.diagonal;
    a copy, where PyTorch's is a view). offset > 0: above the main diagonal, < 0: below."""
    if not is_int(offset):
        raise TypeError(f"diagonal: offset must be an int, got {offset!r}")
    axis1, axis2 = _axis("diagonal", dim1, x.ndim), _axis("diagonal", dim2, x.ndim)
    if axis1 == axis2:
        raise ValueError(f"diagonal: dim1 and dim2 must be two different axes, got {dim1} and {dim2} of {x.ndim}")
    return Diagonal.apply(x, offset=int(offset), axis1=axis1, axis2=axis2)


def argsort(x, dim=-1, descending=False, stable=True):
    """The indices that sort x along ``dim``; NaN counts as the largest value, as in PyTorch. The
    sort is always stable (equal entries keep their order): ``stable`` is PyTorch's option, accepted."""
    axis = _axis("argsort", dim, x.ndim)
    xp = x.xp
    if x.ndim == 0:
        return Tensor(xp.zeros((), dtype=backend.int64))
    # (a 1-D array is sorted as one row: CuPy sorts 1-D floats by their bits, where a NaN with its
    # sign bit set comes before −inf; its sort of rows puts every NaN last, as NumPy's does)
    data, along = (x.data[None], 1) if x.ndim == 1 else (x.data, axis)
    if not descending:
        order = xp.argsort(data, axis=along, kind="stable")
    else:
        # Largest first, equal entries still in their order: sort the reversed axis ascending (NaN last),
        # read that order backwards, and turn positions in the reversed axis j back into n − 1 − j.
        # (Sorting −x instead would fail for NaN next to inf, and for unsigned ints, where −0 = 0.)
        backwards = xp.flip(xp.argsort(xp.flip(data, along), axis=along, kind="stable"), along)
        order = x.shape[axis] - 1 - backwards
    order = order[0] if x.ndim == 1 else order
    return Tensor(order.astype(backend.int64, copy=False))


def sort(x, dim=-1, descending=False, stable=True):
    """(values, indices): x sorted along ``dim`` (stably, see argsort); values = gather(x, dim, indices),
    whose gradient goes back to each value's place in x."""
    indices = argsort(x, dim, descending)
    if x.ndim == 0:
        return SortResult(x, indices)
    return SortResult(gather(x, dim, indices), indices)


def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's argument name
    """(values, indices) of the k largest (or smallest) entries along ``dim``, in order: largest first, or
    smallest first with ``largest=False``; the first k of ``sort`` (ties: the earlier entry first).
    ``sorted=False`` is accepted and gives them sorted."""
    if x.ndim == 0:                                # (one entry: its own top 1, as PyTorch)
        values, indices = topk(x.reshape(1), k, 0, largest)
        return TopKResult(values.reshape(()), indices.reshape(())) if k else TopKResult(values, indices)
    axis = _axis("topk", dim, x.ndim)
    n = x.shape[axis]
    if not (is_int(k) and 0 <= k <= n):
        raise ValueError(f"topk: k must be an int in [0, {n}] for axis {axis} of shape {x.shape}, got {k!r}")
    indices = argsort(x, dim, descending=largest)
    first_k = (slice(None),) * axis + (slice(0, k),)
    indices = Tensor(indices.data[first_k])
    return TopKResult(gather(x, axis, indices), indices)
