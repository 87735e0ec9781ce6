"""Ops that write entries of one tensor into a copy of another, at places an index names: scatter
(overwrite), scatter_add and index_add (add), scatter_reduce and index_reduce (the sum, product,
mean, largest or smallest of everything that lands on a place), index_copy, index_fill,
masked_scatter; and take_along_dim, which reads as gather does.

scatter is gather's mirror image. Along dim 1 of a 2-D tensor,

    gather:   y[i][j]            = x[i][index[i][j]]      (read at the place the index names)
    scatter:  out[i][index[i][j]] = src[i][j]             (write there)

and every index entry names one place of x: its own position, with the index's value along ``dim``
(``_places``). So their gradients swap: gather's backward adds ȳ into zeros at the places it read
(a scatter_add), and scatter_add's backward reads ḡ at the places it wrote (a gather).

When several index entries name one place:
  * scatter writes each in turn, so the last one (in the index's row-major order, which for one
    place is its order along ``dim``) is the one that stays, as PyTorch's CPU loop leaves it. NumPy
    and CuPy promise no order for ``a[idx] = v`` with a repeated idx, so the writes that are
    overwritten are found first (a stable sort of the places) and left out: one write per place.
  * scatter_add adds them all (``add.at``); on a GPU the additions land in no fixed order, so float
    sums may differ in the last bits from run to run, as PyTorch's CUDA scatter_add does.
  * scatter_reduce sorts the entries by place and reduces each run of one place in a fixed tree
    order (``_scan``): the same bits on every run and device, whatever the reduction.
"""
from __future__ import annotations

from tinycoat import backend
from tinycoat.autograd import Function, as_tensor
from tinycoat.backend import get_array_module
from tinycoat.checks import all_in_range
from tinycoat.ops.arithmetic import mul
from tinycoat.ops.arrange import _broadcast_shape
from tinycoat.ops.reorder import gather
from tinycoat.ops.shape import _axis, clone, expand, getitem, reshape, where
from tinycoat.tensor import Tensor

REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


# ---------------------------------------------------------------------------- Functions

class Scatter(Function):
    """out = x, then out[place(p)] = src[p] for every index position p, the last write to a place
    staying (``won`` marks the writes that stay: one per place).

    Backward: x̄ = ḡ with 0 at the written places (what x held there was overwritten, so it reaches
    nothing); s̄rc[p] = ḡ[place(p)] for a write that stayed, 0 for one overwritten by a later write
    (a gather, masked); 0 too where src is larger than the index (those entries were never read).
    (PyTorch's backward is the plain gather, which also gives the overwritten writes ḡ: not the
    derivative, which gradcheck would refuse; the two agree wherever no place is written twice.)
    """

    def forward(self, x, src, places=None, won=None):
        self.x_shape, self.src_shape, self.places, self.won = x.shape, src.shape, places, won
        out = x.reshape(-1).copy()
        out[places[won]] = _corner(src, places.shape)[won]          # (each place once: no order needed)
        return out.reshape(x.shape)

    def backward(self, g):
        xp = get_array_module(g)
        flat = g.reshape(-1)
        gx = gsrc = None
        if self.needs_input_grad[0]:
            gx = flat.copy()
            gx[self.places] = 0
            gx = gx.reshape(self.x_shape)
        if self.needs_input_grad[1]:
            gsrc = xp.zeros(self.src_shape, dtype=g.dtype)
            gsrc[_corner_index(self.places.shape)] = xp.where(self.won, flat[self.places], 0)
        return gx, gsrc


class ScatterAdd(Function):
    """out = x, then out[place(p)] += src[p] for every index position p (a place named twice
    receives both).

    Backward, the adjoint of adding at places: x̄ = ḡ (x passes through unchanged), and
    s̄rc[p] = ḡ[place(p)], a gather (0 where src is larger than the index).
    """

    def forward(self, x, src, places=None):
        self.src_shape, self.places = src.shape, places
        out = x.reshape(-1).copy()
        backend.scatter_add(out, places, _corner(src, places.shape))
        return out.reshape(x.shape)

    def backward(self, g):
        xp = get_array_module(g)
        gsrc = None
        if self.needs_input_grad[1]:
            gsrc = xp.zeros(self.src_shape, dtype=g.dtype)
            gsrc[_corner_index(self.places.shape)] = g.reshape(-1)[self.places]
        return (g if self.needs_input_grad[0] else None), gsrc


class ScatterReduce(Function):
    """out[q] = reduce of the src entries written to place q, and of x[q] too when ``include_self``
    (places nothing is written to keep x[q]). The entries are sorted by place, and each place's run
    reduced by ``_scan``.

    Backward, entry by entry (e one of the reduced entries of place q, y = out[q]):
        sum    ē = ȳ
        mean   ē = ȳ / n                                    (n entries at q)
        prod   ē = ȳ · Π (the other entries at q)            (that product made exactly, without
                                                              dividing: the product of the entries
                                                              before e times that of those after it;
                                                              right for zeros too)
        amax   ē = ȳ · [e = y] / #(entries equal to y)     (ties share the gradient equally, as
        amin                                                 PyTorch's; amin alike. With
                                                             include_self=False x's entry is no
                                                             candidate: PyTorch counts it among the
                                                             ties all the same, then drops its share)
    Then each ē goes back to where its entry came from: src, or x; x's entries left out of the
    reduction (include_self=False at a written place) get 0.
    """

    def forward(self, x, src, places=None, reduce="sum", include_self=True):
        xp = get_array_module(x)
        self.x_shape, self.src_shape, self.places = x.shape, src.shape, places
        self.reduce, self.include_self = reduce, include_self
        keys, values = places.reshape(-1), _corner(src, places.shape).reshape(-1)
        if include_self:                           # x's own entry first at each place
            keys = xp.concatenate([xp.arange(x.size, dtype=places.dtype), keys])
            values = xp.concatenate([x.reshape(-1), values])
        runs = self.runs = _Runs(keys)
        v = values[runs.order]
        if reduce == "mean":
            total = _scan(v, runs.start, xp.add)[runs.last]
            counts = (runs.last - runs.first + 1).astype(x.dtype)
            result = total / counts if x.dtype.kind == "f" else xp.floor_divide(total, counts)
        else:
            op = {"sum": xp.add, "prod": xp.multiply, "amax": xp.maximum, "amin": xp.minimum}[reduce]
            result = _scan(v, runs.start, op)[runs.last]
        if reduce in ("prod", "amax", "amin") and any(self.needs_input_grad):
            self.sorted_values, self.result = v, result
        out = x.reshape(-1).copy()
        out[runs.place] = result
        return out.reshape(x.shape)

    def backward(self, g):
        xp = get_array_module(g)
        runs = self.runs
        g_run = g.reshape(-1)[runs.place]                        # ȳ of each place's run
        g_entry = g_run[runs.run]                                # ... for each sorted entry
        if self.reduce == "mean":
            g_entry = g_entry / (runs.last - runs.first + 1)[runs.run].astype(g.dtype)
        elif self.reduce == "prod":
            g_entry = g_entry * _others_product(self.sorted_values, runs)
        elif self.reduce in ("amax", "amin"):
            best = self.result[runs.run]
            # (a NaN winner — NaN propagates — ties with itself: NaN == NaN is False, which would leave
            # the result's gradient to no entry at all)
            tie = (self.sorted_values == best) | (xp.isnan(self.sorted_values) & xp.isnan(best))
            ties = xp.zeros(runs.place.shape, dtype=g.dtype)
            backend.scatter_add(ties, runs.run, tie.astype(g.dtype))
            g_entry = xp.where(tie, g_entry / xp.maximum(ties, 1)[runs.run], 0)
        grads = xp.empty_like(g_entry)
        grads[runs.order] = g_entry                              # back in the entries' own order
        n = g.size if self.include_self else 0
        gx = gsrc = None
        if self.needs_input_grad[0]:
            if self.include_self:
                gx = grads[:n].reshape(self.x_shape)
            else:                                                # x's entry stayed only where nothing was written
                gx = g.reshape(-1).copy()
                gx[self.places] = 0
                gx = gx.reshape(self.x_shape)
        if self.needs_input_grad[1]:
            gsrc = xp.zeros(self.src_shape, dtype=g.dtype)
            gsrc[_corner_index(self.places.shape)] = grads[n:].reshape(self.places.shape)
        return gx, gsrc


# ---------------------------------------------------------------------------- places and runs

def _corner_index(shape):
    """The slices that cut an array down to its first ``shape`` entries along each axis."""
    return tuple(slice(0, n) for n in shape)


def _corner(src, shape):
    """src's entries at the index's positions (src may be larger than the index: the rest is unused)."""
    return src[_corner_index(shape)]


def _places(shape, axis, index):
    """The flat (row-major) position in an array of ``shape`` that each index entry names: its own
    position, with its value along ``axis`` (an int64 array of the index's shape)."""
    xp = get_array_module(index)
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    places = index.astype(backend.int64) * strides[axis]
    for d, n in enumerate(index.shape):
        if d != axis:
            places = places + xp.arange(n, dtype=backend.int64).reshape(
                [n if e == d else 1 for e in range(index.ndim)]) * strides[d]
    return places


def _last_writes(places):
    """A boolean array of ``places``'s shape: True for the last entry (row-major) naming each place."""
    xp = get_array_module(places)
    flat = places.reshape(-1)
    order = xp.argsort(flat, kind="stable")                 # a place's entries keep their order
    ordered = flat[order]
    last = xp.ones(flat.shape, dtype=bool)
    last[:-1] = ordered[1:] != ordered[:-1]                 # the next sorted entry names another place
    won = xp.zeros(flat.shape, dtype=bool)
    won[order[last]] = True
    return won.reshape(places.shape)


class _Runs:
    """The entries of ``keys`` (places) sorted by place, stably, into runs of one place each:
    ``order`` sorts them; for sorted entry i, ``run[i]`` is its run's number and ``start[i]`` the
    sorted position its run starts at; for run r, ``place[r]`` is its place and ``first[r]``,
    ``last[r]`` the sorted positions of its first and last entry."""

    def __init__(self, keys):
        xp = get_array_module(keys)
        self.order = xp.argsort(keys, kind="stable")
        ordered = keys[self.order]
        m = ordered.shape[0]
        new = xp.ones(m, dtype=bool)
        new[1:] = ordered[1:] != ordered[:-1]               # a run starts where the place changes
        self.run = xp.cumsum(new) - 1
        self.first = xp.nonzero(new)[0]
        self.last = xp.concatenate([self.first[1:], xp.full(1, m, dtype=self.first.dtype)]) - 1
        self.start = self.first[self.run]
        self.place = ordered[self.first]


def _scan(values, start, op):
    """The inclusive scan within runs: out[i] = op over values[start[i]], ..., values[i] (op: add,
    multiply, maximum or minimum, each associative and commutative).

    Hillis and Steele's doubling, in whole-array steps that NumPy and CuPy both have: after the
    step of stride s, out[i] holds op over the last 2s entries of its run up to i (fewer at the
    run's start): out[i] combined with out[i − s], while i − s is still in i's run. log₂(longest
    run) steps, in a fixed order: the same bits every time.
    """
    xp = get_array_module(values)
    position = xp.arange(values.shape[0])
    longest = int((position - start).max()) + 1 if values.shape[0] else 0
    stride = 1
    while stride < longest:
        reach = position[stride:] - stride >= start[stride:]
        combined = xp.where(reach, op(values[stride:], values[:-stride]), values[stride:])
        values = xp.concatenate([values[:stride], combined])
        stride *= 2
    return values


def _others_product(v, runs):
    """For each sorted entry, the product of the other entries of its run: (the product of those
    before it) · (the product of those after it), each an exclusive scan, so no division (a zero
    among the entries needs no special case)."""
    xp = get_array_module(v)
    m = v.shape[0]
    position = xp.arange(m)
    before = _scan(v, runs.start, xp.multiply)                # inclusive; shifted by one below
    end = runs.last[runs.run]
    after = _scan(v[::-1], (m - 1 - end)[::-1], xp.multiply)[::-1]
    one = xp.ones((), dtype=v.dtype)
    before = xp.where(position > runs.start, xp.concatenate([one[None], before[:-1]]), one)
    after = xp.where(position < end, xp.concatenate([after[1:], one[None]]), one)
    return before * after


# ---------------------------------------------------------------------------- checks

def _check_index(name, index, x, what="index"):
    """``index`` as an integer tensor on x's device (int64, or int32), else a clear error."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}: {what} must be an integer Tensor (int64 or int32), got {type(index).__name__}")
    if index.dtype not in (backend.int64, backend.int32):
        raise TypeError(f"{name}: {what} must be an int64 (or int32) tensor, got dtype {index.dtype}")
    if index.device != x.device:
        raise backend.DeviceError(f"{name}: {what} is on '{index.device}', the tensor on '{x.device}'")
    return index


def _check_source(name, src, x, what="src"):
    src = as_tensor(src, like=x) if not isinstance(src, Tensor) else src
    if src.dtype != x.dtype:
        raise TypeError(f"{name}: {what} must have the tensor's dtype {x.dtype}, got {src.dtype} "
                        f"(convert it first: {what}.to({x.dtype}))")
    if src.device != x.device:
        raise backend.DeviceError(f"{name}: {what} is on '{src.device}', the tensor on '{x.device}'")
    return src


def _check_in_range(name, index, n, axis, shape):
    if not all_in_range(index.data, n):
        raise IndexError(f"{name}: index values must lie in [0, {n}) for dim {axis} of a tensor of shape {shape}")


def _prepared(name, x, dim, index, src):
    """(x, axis, index, src) checked as PyTorch's scatter checks them, 0-d ones as 1-D; or None when
    the index is empty (nothing is written, and PyTorch checks no shape then)."""
    x = as_tensor(x)
    _check_index(name, index, x)
    src = _check_source(name, src, x)
    axis = _axis(name, dim, x.ndim)
    if index.numel() == 0:
        return None
    if x.ndim == 0:               # (PyTorch takes a 0-d tensor, index and src as ones of length 1)
        if index.ndim > 1 or src.ndim > 1 or src.numel() < index.numel():
            raise ValueError(f"{name}: a 0-d tensor takes a 0-d (or one-entry) index and src, got shapes "
                             f"{index.shape} and {src.shape}")
        x, index, src = reshape(x, (1,)), reshape(index, (1,)), reshape(src, (src.numel(),))
    if not (index.ndim == x.ndim == src.ndim):
        raise ValueError(f"{name}: index and src must have as many dimensions as the tensor ({x.ndim}), got "
                         f"index of shape {index.shape} and src of shape {src.shape}")
    if any(i > s or (d != axis and i > n) for d, (i, s, n) in enumerate(zip(index.shape, src.shape, x.shape))):
        raise ValueError(f"{name}: index of shape {index.shape} must be no larger than src {src.shape} along "
                         f"every dim, and no larger than the tensor {x.shape} along every dim but {axis}")
    _check_in_range(name, index, x.shape[axis], axis, x.shape)
    return x, axis, index, src


# ---------------------------------------------------------------------------- user-facing functions

def scatter(input, dim, index, src=None, value=None, *, reduce=None):  # noqa: A002 - PyTorch's names
    """A copy of ``input`` with src's entries written at the places ``index`` names (torch.scatter):
    for dim 1, out[i][index[i][j]] = src[i][j]. ``src`` may be a tensor (of input's dtype, at least
    as large as the index) or a number, as ``value``. A place named twice keeps the last write (see
    the module's docstring). ``reduce='add'`` or ``'multiply'`` adds or multiplies instead (PyTorch's
    older spelling of scatter_reduce's 'sum' and 'prod')."""
    if (src is None) == (value is None):
        raise TypeError("scatter: give src (a tensor or a number) or value (a number), one of them")
    x = as_tensor(input)
    if not isinstance(src, Tensor):                        # a number: a src of the index's shape
        number = value if src is None else src
        _check_index("scatter", index, x)
        src = expand(Tensor(x.xp.asarray(number, dtype=x.dtype)), index.shape)
    if reduce is not None:
        modes = {"add": "sum", "multiply": "prod"}
        if reduce not in modes:
            raise ValueError(f"scatter: reduce must be 'add' or 'multiply' (or None to overwrite), got {reduce!r}")
        return scatter_reduce(x, dim, index, src, modes[reduce], include_self=True)
    prepared = _prepared("scatter", x, dim, index, src)
    if prepared is None:
        return clone(x)
    x1, axis, index1, src1 = prepared
    places = _places(x1.shape, axis, index1.data)
    return reshape(Scatter.apply(x1, src1, places=places, won=_last_writes(places)), x.shape)


def scatter_add(input, dim, index, src):  # noqa: A002
    """A copy of ``input`` with src's entries added at the places ``index`` names (torch.scatter_add):
    for dim 1, out[i][index[i][j]] += src[i][j], each of a repeated place's entries added."""
    x = as_tensor(input)
    prepared = _prepared("scatter_add", x, dim, index, src)
    if prepared is None:
        return clone(x)
    x1, axis, index1, src1 = prepared
    return reshape(ScatterAdd.apply(x1, src1, places=_places(x1.shape, axis, index1.data)), x.shape)


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):  # noqa: A002
    """A copy of ``input`` where each place ``index`` names holds the ``reduce`` ('sum', 'prod',
    'mean', 'amax' or 'amin') of the src entries written there, and of input's own entry unless
    ``include_self=False`` (torch.scatter_reduce). 'mean' of integers rounds down, as PyTorch's."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"scatter_reduce: reduce must be one of {', '.join(map(repr, REDUCTIONS))}, got {reduce!r}")
    if not isinstance(include_self, bool):
        raise TypeError(f"scatter_reduce: include_self must be True or False, got {include_self!r}")
    x = as_tensor(input)
    prepared = _prepared("scatter_reduce", x, dim, index, src)
    if prepared is None:
        return clone(x)
    x1, axis, index1, src1 = prepared
    out = ScatterReduce.apply(x1, src1, places=_places(x1.shape, axis, index1.data), reduce=reduce,
                              include_self=include_self)
    return reshape(out, x.shape)


def _along(name, x, dim, index, source):
    """index_add's family: (x, axis, the index spread over source's shape, source), checked as
    PyTorch checks them (source: x's shape, but len(index) along dim); x 0-d taken as of length 1."""
    x = as_tensor(x)
    _check_index(name, index, x)
    source = _check_source(name, source, x, "source")
    axis = _axis(name, dim, x.ndim)
    if index.ndim > 1:
        raise ValueError(f"{name}: index must be a 1-D (or 0-d) tensor, got shape {index.shape}")
    index = reshape(index, (-1,))
    if x.ndim == 0:
        if source.ndim > 1 or source.numel() != index.numel():
            raise ValueError(f"{name}: a 0-d tensor takes a 0-d (or one-entry) source per index, got index of "
                             f"{index.numel()} entries and source of shape {source.shape}")
        x, source = reshape(x, (1,)), reshape(source, (index.numel(),))
    if source.ndim != x.ndim or any(s != n for d, (s, n) in enumerate(zip(source.shape, x.shape)) if d != axis):
        raise ValueError(f"{name}: source must have the tensor's shape {x.shape} but along dim {axis}, got "
                         f"{source.shape}")
    if source.shape[axis] != index.numel():
        raise ValueError(f"{name}: index has {index.numel()} entries, source {source.shape[axis]} along dim {axis}; "
                         "they must be equal")
    _check_in_range(name, index, x.shape[axis], axis, x.shape)
    spread = [1] * x.ndim
    spread[axis] = index.numel()
    return x, axis, Tensor(index.xp.broadcast_to(index.data.reshape(spread), source.shape)), source


def index_add(input, dim, index, source, *, alpha=1):  # noqa: A002
    """A copy of ``input`` with alpha · source[..., i, ...] added at input[..., index[i], ...] along
    ``dim`` (torch.index_add): scatter_add with the index spread over source's other axes."""
    shape = as_tensor(input).shape
    x, axis, spread, source = _along("index_add", input, dim, index, source)
    if x.dtype.kind != "f" and not (isinstance(alpha, int) or (isinstance(alpha, float) and alpha.is_integer())):
        raise TypeError(f"index_add: alpha must be a whole number for a {x.dtype} tensor, got {alpha!r}")
    if alpha != 1:
        source = mul(source, alpha)
    return reshape(scatter_add(x, axis, spread, source), shape)


def index_copy(input, dim, index, source):  # noqa: A002
    """A copy of ``input`` with source[..., i, ...] written at input[..., index[i], ...] along ``dim``
    (torch.index_copy; an index repeated: the last write stays)."""
    shape = as_tensor(input).shape
    x, axis, spread, source = _along("index_copy", input, dim, index, source)
    return reshape(scatter(x, axis, spread, source), shape)


def index_reduce(input, dim, index, source, reduce, *, include_self=True):  # noqa: A002
    """A copy of ``input`` where input[..., index[i], ...] along ``dim`` holds the ``reduce`` ('prod',
    'mean', 'amax', 'amin') of the source slices sent there, and of its own entry unless
    ``include_self=False`` (torch.index_reduce): scatter_reduce with the index spread."""
    if reduce not in REDUCTIONS[1:]:
        raise ValueError(f"index_reduce: reduce must be one of {', '.join(map(repr, REDUCTIONS[1:]))}, got {reduce!r}")
    shape = as_tensor(input).shape
    x, axis, spread, source = _along("index_reduce", input, dim, index, source)
    return reshape(scatter_reduce(x, axis, spread, source, reduce, include_self=include_self), shape)


def index_fill(input, dim, index, value):  # noqa: A002
    """A copy of ``input`` with ``value`` (a number, or a 0-d tensor) in every slice input[..., i, ...]
    along ``dim`` for i in ``index`` (torch.index_fill)."""
    x = as_tensor(input)
    if getattr(value, "ndim", 0) != 0:
        raise ValueError(f"index_fill: value must be a number or a 0-d tensor, got shape {tuple(value.shape)}")
    value = value.to(dtype=x.dtype) if isinstance(value, Tensor) else Tensor(x.xp.asarray(value, dtype=x.dtype))
    axis = _axis("index_fill", dim, x.ndim)
    _check_index("index_fill", index, x)
    length = x.shape[axis] if x.ndim else 1
    if not all_in_range(index.data + length, 2 * length):                # −length ≤ i < length
        raise IndexError(f"index_fill: index values must lie in [{-length}, {length}) for dim {axis} of a tensor of "
                         f"shape {x.shape}")
    index = Tensor(index.xp.where(index.data < 0, index.data + length, index.data))      # (−1: the last)
    n = index.numel()
    shape = x.shape[:axis] + (n,) + x.shape[axis + 1:] if x.ndim else (n,)
    return index_copy(x, dim, index, expand(value, shape))


def take_along_dim(input, indices, dim=None):  # noqa: A002
    """Entries of ``input`` picked along ``dim`` by ``indices`` (torch.take_along_dim,
    numpy.take_along_axis): a gather, after input and indices are broadcast to each other along
    every other axis. Without dim, both are flattened first. Negative indices count from the end."""
    x = as_tensor(input)
    _check_index("take_along_dim", indices, x, "indices")
    if dim is None:
        x, indices, axis = reshape(x, (-1,)), reshape(indices, (-1,)), 0
    else:
        if x.ndim == 0:
            raise ValueError("take_along_dim: a 0-d tensor has no dim to take along; leave dim=None")
        axis = _axis("take_along_dim", dim, x.ndim)
        if indices.ndim != x.ndim:
            raise ValueError(f"take_along_dim: input and indices must have the same number of dimensions, got "
                             f"shapes {x.shape} and {indices.shape}")
        shape = []
        for d, (a, b) in enumerate(zip(x.shape, indices.shape)):
            if d != axis and a != b and 1 not in (a, b):
                raise ValueError(f"take_along_dim: shapes {x.shape} and {indices.shape} do not broadcast along "
                                 f"dim {d} ({a} vs {b}); every dim but {axis} must be equal or 1")
            shape.append(max(a, b) if 0 not in (a, b) else 0)
        x = expand(x, tuple(n if d != axis else x.shape[axis] for d, n in enumerate(shape)))
        indices = Tensor(indices.xp.broadcast_to(
            indices.data, tuple(n if d != axis else indices.shape[axis] for d, n in enumerate(shape))))
    n = x.shape[axis]
    data = indices.data
    if data.size and not bool(((data >= -n) & (data < n)).all()):
        raise IndexError(f"take_along_dim: indices must lie in [{-n}, {n}) for dim {axis} of size {n}")
    wrapped = indices.xp.where(data < 0, data + n, data)
    return gather(x, axis, Tensor(wrapped))


def masked_scatter(input, mask, source):  # noqa: A002
    """A copy of ``input`` (broadcast with ``mask``) whose entries where the boolean mask is True are
    source's first entries, in row-major order (torch.masked_scatter): the k-th True place takes
    source.flatten()[k]. Composed: a read of source at each place's rank, then where(mask, ·, input)."""
    x = as_tensor(input)
    if not isinstance(mask, Tensor) or mask.dtype != backend.bool_:
        raise TypeError(f"masked_scatter: mask must be a boolean Tensor, got "
                        f"{mask.dtype if isinstance(mask, Tensor) else type(mask).__name__}")
    source = _check_source("masked_scatter", source, x, "source")
    if mask.device != x.device:
        raise backend.DeviceError(f"masked_scatter: mask is on '{mask.device}', the tensor on '{x.device}'")
    shape = _broadcast_shape("masked_scatter", x.shape, mask.shape)
    m = x.xp.broadcast_to(mask.data, shape).reshape(-1)
    count = int(m.sum())
    if count > source.numel():
        raise ValueError(f"masked_scatter: the mask has {count} True entries, but source only {source.numel()}")
    x = expand(x, shape)
    if count == 0:
        return clone(x)
    rank = x.xp.maximum(x.xp.cumsum(m) - 1, 0)          # the source entry each place would take
    taken = reshape(getitem(reshape(source, (-1,)), rank), shape)
    return where(Tensor(m.reshape(shape)), taken, x)

