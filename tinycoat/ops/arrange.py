"""Arranging a tensor's entries: PyTorch's shape functions, each composed of the differentiable ops
beside it (permute, reshape, expand, flip, roll, pad, where, indexing, diagonal, matmul), so that
its gradient comes from theirs, with nothing new to get wrong:

    movedim moveaxis swapaxes swapdims   permute with the order they describe
    tile repeat_interleave               repeat (an expand, then a reshape), and indexing along one dim
    broadcast_to broadcast_tensors       expand (its backward sums over the repeated axes)
    broadcast_shapes meshgrid
    diag diag_embed diagflat trace       diagonal, or where(eye, v, 0) padded off the main diagonal
    kron tensordot cross                 products: broadcast mul, matmul, and rolls of 3-vectors
    rot90 unflatten atleast_1d/2d/3d     flips and transposes; reshapes
"""
from __future__ import annotations

import math

from tinycoat import backend
from tinycoat.autograd import as_tensor
from tinycoat.checks import is_int
from tinycoat.ops.arithmetic import matmul, mul, sub
from tinycoat.ops.reduction import sum as _sum
from tinycoat.ops.reorder import diagonal, flip, roll
from tinycoat.ops.shape import _axis, expand, getitem, pad, permute, reshape, transpose, where
from tinycoat.tensor import Tensor


def _ints(name, what, value):
    """``value`` (an int or a sequence of them) as a tuple of ints, else a TypeError naming ``what``."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not all(is_int(v) for v in values):
        raise TypeError(f"{name}: {what} must be an int or a sequence of ints, got {value!r}")
    return tuple(int(v) for v in values)


def _spread(args):
    """f(2, 3) and f((2, 3)) alike: one tuple."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


# ---------------------------------------------------------------------------- moving axes

def movedim(input, source, destination):  # noqa: A002 - PyTorch's argument names
    """x with its axes ``source`` moved to the places ``destination`` (ints or sequences of them),
    the other axes keeping their order (torch.movedim, numpy.moveaxis): a permute."""
    x = as_tensor(input)
    source, destination = _ints("movedim", "source", source), _ints("movedim", "destination", destination)
    if len(source) != len(destination):
        raise ValueError(f"movedim: source {source} and destination {destination} must name as many dims")
    source = tuple(_axis("movedim", d, x.ndim) for d in source)
    destination = tuple(_axis("movedim", d, x.ndim) for d in destination)
    for what, dims in (("source", source), ("destination", destination)):
        if len(set(dims)) != len(dims):
            raise ValueError(f"movedim: a dim appears twice in {what} {dims}")
    if x.ndim == 0:
        return permute(x, ())
    order = [d for d in range(x.ndim) if d not in source]          # the axes that stay, in order
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return permute(x, order)


moveaxis = movedim                      # (NumPy's name, which PyTorch has too)


def swapaxes(input, axis0, axis1):  # noqa: A002
    """x with two axes swapped (torch.swapaxes, NumPy's name for transpose)."""
    return transpose(as_tensor(input), axis0, axis1)


def swapdims(input, dim0, dim1):  # noqa: A002
    """x with two axes swapped (torch.swapdims, another name for transpose)."""
    return transpose(as_tensor(input), dim0, dim1)


def unflatten(input, dim, sizes):  # noqa: A002
    """x with axis ``dim`` split into axes of ``sizes`` (one of them may be −1: what is left), whose
    product must be that axis's length (torch.unflatten): a reshape."""
    x = as_tensor(input)
    if x.ndim == 0:
        raise ValueError("unflatten: a 0-d tensor has no dim to unflatten")
    axis = _axis("unflatten", dim, x.ndim)
    sizes = _ints("unflatten", "sizes", sizes)
    n = x.shape[axis]
    known = math.prod(s for s in sizes if s != -1)
    if not sizes or sizes.count(-1) > 1 or any(s < -1 for s in sizes) or (-1 in sizes and known == 0):
        raise ValueError(f"unflatten: sizes must be a non-empty sequence of ints >= 0, with at most one −1 "
                         f"(beside sizes > 0 only: with a 0 it could stand for anything), got {sizes}")
    if -1 in sizes:
        if n % known:
            raise ValueError(f"unflatten: sizes {sizes} do not multiply up to {n}, the size of dim {axis}")
        sizes = tuple(n // known if s == -1 else s for s in sizes)
    if math.prod(sizes) != n:
        raise ValueError(f"unflatten: sizes {sizes} do not multiply up to {n}, the size of dim {axis} of a "
                         f"tensor of shape {x.shape}")
    return reshape(x, x.shape[:axis] + sizes + x.shape[axis + 1:])


def _at_least(ndim, tensors):
    """One tensor for one tensor given; a tuple for several, or for a list or tuple of them (PyTorch's)."""
    one = len(tensors) == 1 and not isinstance(tensors[0], (tuple, list))
    out = []
    for t in _spread(tensors):
        t = as_tensor(t)
        if t.ndim >= ndim:
            out.append(t)
        elif ndim == 3 and t.ndim == 2:                                 # (m, n) → (m, n, 1)
            out.append(reshape(t, t.shape + (1,)))
        elif ndim == 3 and t.ndim == 1:                                 # (n,) → (1, n, 1)
            out.append(reshape(t, (1,) + t.shape + (1,)))
        else:                                                           # leading 1s
            out.append(reshape(t, (1,) * (ndim - t.ndim) + t.shape))
    return out[0] if one else tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least 1 axis (a 0-d one as shape (1,)); one tensor, or a tuple of them."""
    return _at_least(1, tensors)


def atleast_2d(*tensors):
    """Each tensor with at least 2 axes: 0-d → (1, 1), (n,) → (1, n)."""
    return _at_least(2, tensors)


def atleast_3d(*tensors):
    """Each tensor with at least 3 axes: 0-d → (1, 1, 1), (n,) → (1, n, 1), (m, n) → (m, n, 1), as NumPy's."""
    return _at_least(3, tensors)


# ---------------------------------------------------------------------------- repeating and broadcasting

def tile(input, dims):  # noqa: A002
    """x repeated ``dims[d]`` times along each axis d (torch.tile, numpy.tile): fewer dims than axes
    count as 1s in front (where repeat would refuse them), more add leading axes; then repeat."""
    x = as_tensor(input)
    dims = _ints("tile", "dims", dims)
    if any(r < 0 for r in dims):
        raise ValueError(f"tile: dims must be ints >= 0, got {dims}")
    dims = (1,) * (x.ndim - len(dims)) + dims
    return x.repeat(dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):  # noqa: A002
    """Each entry of x repeated ``repeats`` times in place along ``dim`` (torch.repeat_interleave):
    [a, b] → [a, a, b, b] for repeats=2; ``repeats`` an int, or an integer tensor of one count per
    entry (or one count for all). Without dim, x is flattened first. ``repeat_interleave(counts)``
    alone repeats each position i counts[i] times: [2, 0, 1] → [0, 0, 2]. The result reads x at
    the positions [0 … 0, 1 … 1, …], so its gradient adds each copy's back into its entry."""
    if repeats is None:                                         # repeat_interleave(counts)
        counts = as_tensor(input)
        return repeat_interleave(Tensor(counts.xp.arange(counts.numel() if counts.ndim else 1)), counts,
                                 output_size=output_size) if counts.ndim <= 1 else _bad_repeats(counts)
    x = as_tensor(input)
    if dim is None:
        x, axis = reshape(x, (-1,)), 0
    else:
        if x.ndim == 0:
            raise ValueError("repeat_interleave: a 0-d tensor has no dim; leave dim=None")
        axis = _axis("repeat_interleave", dim, x.ndim)
    n = x.shape[axis]
    xp = x.xp
    if isinstance(repeats, Tensor):
        if repeats.dtype.kind not in "iu":
            raise TypeError(f"repeat_interleave: repeats must be an int or an integer tensor, got dtype {repeats.dtype}")
        if repeats.ndim > 1:
            _bad_repeats(repeats)
        if repeats.device != x.device:
            raise backend.DeviceError(f"repeat_interleave: repeats is on '{repeats.device}', the tensor on '{x.device}'")
        counts = repeats.data.reshape(-1).astype(backend.int64)
        if counts.size not in (1, n):
            raise ValueError(f"repeat_interleave: repeats must have one count per entry along dim {axis} ({n}), "
                             f"or one for all, got {counts.size}")
        if counts.size and bool((counts < 0).any()):
            raise ValueError("repeat_interleave: repeats must be >= 0")
        counts = xp.broadcast_to(counts, (n,))
    elif is_int(repeats):
        if repeats < 0:
            raise ValueError(f"repeat_interleave: repeats must be >= 0, got {repeats}")
        counts = xp.full(n, repeats, dtype=backend.int64)
    else:
        raise TypeError(f"repeat_interleave: repeats must be an int or an integer tensor, got {type(repeats).__name__}")
    ends = xp.cumsum(counts)                                    # copy k of entry i lies in [ends[i−1], ends[i])
    total = int(ends[-1]) if n else 0
    if output_size is not None and output_size != total:
        raise ValueError(f"repeat_interleave: output_size={output_size}, but the repeats add up to {total}")
    positions = xp.searchsorted(ends, xp.arange(total), side="right")      # [0 … 0, 1 … 1, …]
    return getitem(x, (slice(None),) * axis + (positions,))


def _bad_repeats(repeats):
    raise ValueError(f"repeat_interleave: repeats must be a 0-d or 1-D tensor, got shape {repeats.shape}")


def broadcast_shapes(*shapes):
    """The shape that tensors of ``shapes`` broadcast to (torch.broadcast_shapes): aligned from the
    last axis, each size equal to the others or 1. A shape may be an int (a 1-D shape)."""
    shapes = [(s,) if is_int(s) else tuple(s) for s in shapes]
    for s in shapes:
        if not all(is_int(n) and n >= 0 for n in s):
            raise ValueError(f"broadcast_shapes: a shape is a sequence of ints >= 0, got {s}")
    return _broadcast_shape("broadcast_shapes", *shapes)


def _broadcast_shape(name, *shapes):
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for sizes in zip(*[(1,) * (ndim - len(s)) + tuple(s) for s in shapes]):
        big = set(sizes) - {1}
        if len(big) > 1:
            raise ValueError(f"{name}: shapes {', '.join(map(str, shapes))} do not broadcast (from the last "
                             f"axis on, sizes must be equal or 1; here {' vs '.join(map(str, sizes))})")
        out.append(big.pop() if big else 1)
    return tuple(out)


def broadcast_to(input, size):  # noqa: A002
    """x repeated (without copying) to shape ``size`` under broadcasting's rule (torch.broadcast_to;
    −1 keeps an axis's size): an expand."""
    x = as_tensor(input)
    size = _ints("broadcast_to", "size", size)
    lead = len(size) - x.ndim
    full = size[:max(lead, 0)] + tuple(n if s == -1 else s for s, n in zip(size[max(lead, 0):], x.shape))
    if lead < 0 or any(s < 0 for s in full) or any(n not in (1, s) for n, s in zip(x.shape, full[lead:])):
        raise ValueError(f"broadcast_to: a tensor of shape {x.shape} does not broadcast to {size} (from the last "
                         "axis on, each size must equal the target's or be 1; −1 keeps an existing size)")
    return expand(x, full)


def broadcast_tensors(*tensors):
    """The tensors expanded to the one shape they broadcast to (torch.broadcast_tensors), a tuple."""
    tensors = [as_tensor(t) for t in _spread(tensors)]
    shape = _broadcast_shape("broadcast_tensors", *(t.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors (torch.meshgrid): with indexing 'ij' (the default) output k
    has shape (n_0, n_1, …) and varies along axis k; with 'xy' (NumPy's default, Cartesian) the first
    two axes are swapped, (n_1, n_0, …). Each grid is a reshape of its tensor, then an expand."""
    tensors = [as_tensor(t) for t in _spread(tensors)]
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ValueError("meshgrid: needs at least one tensor")
    for t in tensors:
        if t.ndim > 1:
            raise ValueError(f"meshgrid: expected 0-d or 1-D tensors, got shape {t.shape}")
        if t.dtype != tensors[0].dtype or t.device != tensors[0].device:
            raise TypeError(f"meshgrid: expected tensors of one dtype and device, got {t.dtype} on '{t.device}' "
                            f"and {tensors[0].dtype} on '{tensors[0].device}'")
    sizes = tuple(t.numel() for t in tensors)
    grids = [expand(reshape(t, tuple(n if d == k else 1 for d, n in enumerate(sizes))), sizes)
             for k, t in enumerate(tensors)]
    if indexing == "xy" and len(tensors) >= 2:
        grids = [transpose(g, 0, 1) for g in grids]
    return tuple(grids)


# ---------------------------------------------------------------------------- diagonals

def diag_embed(input, offset=0, dim1=-2, dim2=-1):  # noqa: A002
    """A tensor whose (dim1, dim2) planes hold x's last axis on their ``offset``-th diagonal, zeros
    elsewhere (torch.diag_embed; dim1, dim2 count in the result, which has one axis more).
    Composed as where(eye, v as a column, 0) — v_i at (i, i), no 0·v product that would make inf or
    NaN of the zeros — then padded by |offset| to move it off the main diagonal, then moved to
    (dim1, dim2). Its gradient is the diagonal of ḡ."""
    x = as_tensor(input)
    if not is_int(offset):
        raise TypeError(f"diag_embed: offset must be an int, got {offset!r}")
    if x.ndim == 0:
        raise ValueError("diag_embed: expected a tensor of at least 1 dimension (its last axis goes on the diagonal)")
    d1, d2 = _axis("diag_embed", dim1, x.ndim + 1), _axis("diag_embed", dim2, x.ndim + 1)
    if d1 == d2:
        raise ValueError(f"diag_embed: dim1 and dim2 must be two different dims, got {dim1} and {dim2}")
    n = x.shape[-1]
    eye = Tensor(x.xp.eye(n, dtype=bool))
    square = where(eye, reshape(x, x.shape + (1,)), x.new_zeros(()))     # (..., n, n), v_i at (i, i)
    k = abs(int(offset))
    rows, cols = ((0, k), (k, 0)) if offset >= 0 else ((k, 0), (0, k))   # v_i at (i, i + offset)
    square = pad(square, ((0, 0),) * (x.ndim - 1) + (rows, cols))
    return movedim(square, (-2, -1), (d1, d2))


def diag(input, diagonal=0):  # noqa: A002
    """torch.diag: of a 1-D tensor, the square matrix with it on the ``diagonal``-th diagonal (above the
    main one for > 0, below for < 0); of a 2-D tensor, that diagonal as a 1-D tensor."""
    x = as_tensor(input)
    if not is_int(diagonal):
        raise TypeError(f"diag: diagonal must be an int, got {diagonal!r}")
    if x.ndim == 1:
        return diag_embed(x, diagonal)
    if x.ndim == 2:
        return _diagonal(x, diagonal)
    raise ValueError(f"diag: expected a 1-D or 2-D tensor, got shape {x.shape}")


def _diagonal(x, offset):
    return diagonal(x, offset, 0, 1)


def diagflat(input, offset=0):  # noqa: A002
    """The square matrix with x's entries (flattened) on its ``offset``-th diagonal (torch.diagflat)."""
    return diag_embed(reshape(as_tensor(input), (-1,)), offset)


def trace(input):  # noqa: A002
    """The sum of a matrix's main diagonal (torch.trace; a non-square one's too): diagonal, then sum."""
    x = as_tensor(input)
    if x.ndim != 2:
        raise ValueError(f"trace: expected a matrix (2-D), got shape {x.shape}")
    return _sum(_diagonal(x, 0))


# ---------------------------------------------------------------------------- products

def kron(input, other):  # noqa: A002
    """The Kronecker product (torch.kron, numpy.kron): the blocks a[i, j]·b laid side by side,
    out[i·p + k, j·q + l] = a[i, j]·b[k, l], for any number of axes (the fewer padded with leading
    1s). Composed: a as (a_0, 1, a_1, 1, …) times b as (1, b_0, 1, b_1, …), a broadcast product,
    reshaped to (a_0·b_0, a_1·b_1, …)."""
    a, b = as_tensor(input), as_tensor(other)
    ndim = max(a.ndim, b.ndim)
    sa, sb = (1,) * (ndim - a.ndim) + a.shape, (1,) * (ndim - b.ndim) + b.shape
    blocks = mul(reshape(a, tuple(d for n in sa for d in (n, 1))), reshape(b, tuple(d for n in sb for d in (1, n))))
    return reshape(blocks, tuple(m * n for m, n in zip(sa, sb)))


def tensordot(a, b, dims=2):
    """Σ over pairs of axes of a and b (torch.tensordot): ``dims`` an int k (a's last k axes with b's
    first k, in order) or a pair of lists ([axes of a], [axes of b]). Composed as NumPy computes it:
    a's summed axes moved last and b's first, each reshaped to a matrix, and one matrix product."""
    a, b = as_tensor(a), as_tensor(b)
    if a.dtype != b.dtype:
        raise TypeError(f"tensordot: both tensors must have one dtype, got {a.dtype} and {b.dtype}")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if is_int(dims):
        if not 0 <= dims <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims must be an int in [0, {min(a.ndim, b.ndim)}] for shapes {a.shape} and "
                             f"{b.shape}, got {dims}")
        dims_a, dims_b = tuple(range(a.ndim - dims, a.ndim)), tuple(range(dims))
    elif isinstance(dims, (tuple, list)) and len(dims) == 2:
        dims_a = tuple(_axis("tensordot", d, a.ndim) for d in _ints("tensordot", "dims[0]", dims[0]))
        dims_b = tuple(_axis("tensordot", d, b.ndim) for d in _ints("tensordot", "dims[1]", dims[1]))
    else:
        raise TypeError(f"tensordot: dims must be an int or a pair of lists of dims, got {dims!r}")
    if len(dims_a) != len(dims_b):
        raise ValueError(f"tensordot: dims {list(dims_a)} and {list(dims_b)} must pair as many dims of a and b")
    for which, ds in (("a", dims_a), ("b", dims_b)):
        if len(set(ds)) != len(ds):
            raise ValueError(f"tensordot: a dim of {which} appears twice in {list(ds)}")
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise ValueError(f"tensordot: summed dims must match: a has size {a.shape[da]} in dim {da}, b has size "
                             f"{b.shape[db]} in dim {db}")
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    k = math.prod(a.shape[d] for d in dims_a)
    left = reshape(permute(a, free_a + list(dims_a)), (math.prod(a.shape[d] for d in free_a), k))
    right = reshape(permute(b, list(dims_b) + free_b), (k, math.prod(b.shape[d] for d in free_b)))
    return reshape(matmul(left, right), tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b))


def cross(input, other, dim=None):  # noqa: A002
    """The cross product of 3-vectors along ``dim`` (torch.cross; batches broadcast, both tensors with
    one number of axes). Without dim, the first axis of size 3, as PyTorch's (deprecated) default;
    torch.linalg.cross's is −1. With the components read cyclically (roll by −1: a_{i+1}),
        (a × b)_i = a_{i+1} b_{i+2} − a_{i+2} b_{i+1}."""
    a, b = as_tensor(input), as_tensor(other)
    if a.ndim != b.ndim:
        raise ValueError(f"cross: both tensors must have one number of dimensions, got shapes {a.shape} and {b.shape}")
    if a.dtype != b.dtype:
        raise TypeError(f"cross: both tensors must have one dtype, got {a.dtype} and {b.dtype}")
    shape = _broadcast_shape("cross", a.shape, b.shape)
    if dim is None:
        threes = [d for d, n in enumerate(shape) if n == 3]
        if not threes:
            raise ValueError(f"cross: no dim of size 3 in shapes {a.shape} and {b.shape}")
        axis = threes[0]
    else:
        axis = _axis("cross", dim, a.ndim)
    if a.ndim == 0 or a.shape[axis] != 3 or b.shape[axis] != 3:
        raise ValueError(f"cross: dim {dim} must have size 3 in both tensors, got shapes {a.shape} and {b.shape}")
    return sub(mul(roll(a, -1, axis), roll(b, -2, axis)), mul(roll(a, -2, axis), roll(b, -1, axis)))


def rot90(input, k=1, dims=(0, 1)):  # noqa: A002
    """x turned by k quarter turns in the plane of ``dims``, from the first axis towards the second
    (torch.rot90, numpy.rot90): k = 1 flips the second axis, then swaps the two; k = 2 flips both;
    k = 3 flips the first, then swaps; negative k turns the other way."""
    x = as_tensor(input)
    if not is_int(k):
        raise TypeError(f"rot90: k must be an int, got {k!r}")
    dims = _ints("rot90", "dims", dims)
    if len(dims) != 2:
        raise ValueError(f"rot90: dims must name exactly 2 dims, got {dims}")
    if x.ndim < 2:
        raise ValueError(f"rot90: expected a tensor of at least 2 dimensions, got shape {x.shape}")
    d0, d1 = (_axis("rot90", d, x.ndim) for d in dims)
    if d0 == d1:
        raise ValueError(f"rot90: dims must be two different dims, got {dims}")
    k %= 4
    if k == 1:
        return transpose(flip(x, d1), d0, d1)
    if k == 2:
        return flip(x, (d0, d1))
    if k == 3:
        return transpose(flip(x, d0), d0, d1)
    return x.clone()

