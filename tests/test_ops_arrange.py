"""movedim, tile, repeat_interleave, broadcasting, meshgrid, diagonals, kron, tensordot, cross, rot90,
unflatten, atleast_nd (tinycoat/ops/arrange.py): PyTorch's shape functions, composed of the
differentiable ops beside them.

Forward values against NumPy's own functions (np.moveaxis, np.tile, np.repeat, np.meshgrid, np.diag,
np.trace, np.kron, np.tensordot, np.cross, np.rot90 ...), gradients by tc.gradcheck (float64 central
differences); shapes and values drawn by Hypothesis, with size-1 and empty axes, negative dims and
0-d tensors where PyTorch takes them; and the errors, each naming its function.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinycoat as tc
from strategies import arrays, shapes
from tinycoat.ops.arrange import (atleast_1d, atleast_2d, atleast_3d, broadcast_shapes, broadcast_tensors,
                                  broadcast_to, cross, diag, diag_embed, diagflat, kron, meshgrid, moveaxis, movedim,
                                  repeat_interleave, rot90, swapaxes, swapdims, tensordot, tile, trace, unflatten)


def leaf(array, device):
    return tc.tensor(array, requires_grad=True, dtype="float64", device=device)


def check(fn, *arrays_, device):
    return tc.gradcheck(fn, *[leaf(a, device) for a in arrays_])


def same(out, expected):
    outs = out if isinstance(out, tuple) else (out,)
    expecteds = expected if isinstance(expected, (tuple, list)) else (expected,)
    assert len(outs) == len(expecteds)
    for o, e in zip(outs, expecteds):
        assert o.shape == np.shape(e)
        np.testing.assert_allclose(o.numpy(), e, rtol=1e-12, atol=1e-12)


def empty_sides(min_dims=0, max_dims=3):
    """Shapes with sides from 0 (an empty axis) to 3."""
    return shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=3)


# ---------------------------------------------------------------------------- moving axes

@given(a=arrays(shapes(min_dims=1, max_dims=4)), data=st.data())
def test_movedim_is_numpys_moveaxis(a, data, device):
    n = a.ndim
    k = data.draw(st.integers(1, n))
    source = data.draw(st.lists(st.integers(-n, n - 1), min_size=k, max_size=k, unique_by=lambda d: d % n))
    destination = data.draw(st.lists(st.integers(-n, n - 1), min_size=k, max_size=k, unique_by=lambda d: d % n))
    x = tc.tensor(a, device=device)
    same(movedim(x, source, destination), np.moveaxis(a, source, destination))
    same(moveaxis(x, source[0], destination[0]), np.moveaxis(a, source[0], destination[0]))
    weight = tc.arange(a.size, dtype="float64", device=device).reshape(np.moveaxis(a, source, destination).shape)
    assert check(lambda t: movedim(t, source, destination) * weight, a, device=device)


@given(a=arrays(shapes(min_dims=1, max_dims=3)), data=st.data())
def test_swapaxes_and_swapdims_are_numpys_swapaxes(a, data, device):
    d0, d1 = (data.draw(st.integers(-a.ndim, a.ndim - 1)) for _ in range(2))
    same(swapaxes(tc.tensor(a, device=device), d0, d1), np.swapaxes(a, d0, d1))
    same(swapdims(tc.tensor(a, device=device), d0, d1), np.swapaxes(a, d0, d1))
    assert check(lambda t: swapaxes(t, d0, d1), a, device=device)


@given(a=arrays(empty_sides(min_dims=1)), data=st.data())
def test_unflatten_splits_one_axis(a, data, device):
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    n = a.shape[dim]
    first = data.draw(st.sampled_from([f for f in range(1, n + 1) if n % f == 0] or [0]))
    sizes = (first, n // first if first else 5)
    if first and data.draw(st.booleans()):
        sizes = (first, -1) if data.draw(st.booleans()) else (1, -1, first)
    out = unflatten(tc.tensor(a, device=device), dim, sizes)
    axis = dim % a.ndim
    resolved = tuple(n // first if s == -1 else s for s in sizes)
    same(out, a.reshape(a.shape[:axis] + resolved + a.shape[axis + 1:]))
    assert check(lambda t: unflatten(t, dim, sizes), a, device=device)


@given(a=arrays(shapes(min_dims=0, max_dims=4)))
def test_atleast_nd_is_numpys(a, device):
    x = tc.tensor(a, device=device)
    for ours, theirs in ((atleast_1d, np.atleast_1d), (atleast_2d, np.atleast_2d), (atleast_3d, np.atleast_3d)):
        same(ours(x), theirs(a))
        same(ours(x, x), tuple(theirs(a, a)))
        same(ours([x]), (theirs(a),))                                   # a list gives a tuple, as PyTorch's
        assert check(ours, a, device=device)


# ---------------------------------------------------------------------------- repeating and broadcasting

@given(a=arrays(empty_sides()), reps=st.lists(st.integers(0, 3), max_size=4))
def test_tile_is_numpys_tile(a, reps, device):
    same(tile(tc.tensor(a, device=device), reps), np.tile(a, reps))
    if reps:
        same(tile(tc.tensor(a, device=device), reps[0]), np.tile(a, reps[0]))
    assert check(lambda t: tile(t, reps), a, device=device)


@given(a=arrays(empty_sides()), data=st.data())
def test_repeat_interleave_is_numpys_repeat(a, data, device):
    x = tc.tensor(a, device=device)
    r = data.draw(st.integers(0, 3))
    same(repeat_interleave(x, r), np.repeat(a, r))                        # flattened
    assert check(lambda t: repeat_interleave(t, r), a, device=device)
    if a.ndim:
        dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
        counts = np.array(data.draw(st.lists(st.integers(0, 3), min_size=a.shape[dim], max_size=a.shape[dim])),
                          dtype=np.int64)
        c = tc.tensor(counts, device=device)
        same(repeat_interleave(x, c, dim), np.repeat(a, counts, axis=dim))
        same(repeat_interleave(x, tc.tensor([r], device=device), dim), np.repeat(a, r, axis=dim))
        same(repeat_interleave(x, tc.tensor(r, device=device), dim, output_size=a.shape[dim] * r),
             np.repeat(a, r, axis=dim))
        assert check(lambda t: repeat_interleave(t, c, dim), a, device=device)   # each copy's gradient adds up


def test_repeat_interleave_of_counts_alone_repeats_positions(device):
    assert repeat_interleave(tc.tensor([2, 0, 1], device=device)).tolist() == [0, 0, 2]
    assert repeat_interleave(tc.tensor([], dtype="int64", device=device)).tolist() == []
    assert repeat_interleave(tc.tensor(5.0, device=device), 3).tolist() == [5.0, 5.0, 5.0]


@st.composite
def broadcast_target(draw):
    """An array, and a shape it broadcasts to (leading axes added, 1s grown, some sizes as −1)."""
    a = draw(arrays(shapes(min_dims=0, max_dims=3)))
    lead = tuple(draw(st.lists(st.integers(0, 3), max_size=2)))
    grown = tuple(draw(st.integers(0, 3)) if n == 1 else n for n in a.shape)
    target = tuple(-1 if m == n and draw(st.booleans()) else n for n, m in zip(grown, a.shape))   # −1: kept
    return a, lead + target, lead + grown


@given(case=broadcast_target())
def test_broadcast_to_is_numpys_broadcast_to(case, device):
    a, target, resolved = case
    same(broadcast_to(tc.tensor(a, device=device), target), np.broadcast_to(a, resolved))
    assert check(lambda t: broadcast_to(t, target), a, device=device)   # the sum over the repeats


@given(data=st.data())
def test_broadcast_tensors_and_shapes_are_numpys(data, device):
    shape_sets = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=data.draw(st.integers(1, 3)), max_dims=3,
                                                             min_side=0, max_side=3)).input_shapes
    arrays_ = [data.draw(arrays(s)) for s in shape_sets]
    assert broadcast_shapes(*shape_sets) == np.broadcast_shapes(*shape_sets)
    same(broadcast_tensors(*[tc.tensor(a, device=device) for a in arrays_]), tuple(np.broadcast_arrays(*arrays_)))
    assert check(lambda *ts: broadcast_tensors(*ts), *arrays_, device=device)


@given(vectors=st.lists(arrays(shapes(min_dims=0, max_dims=1, max_side=3)), min_size=1, max_size=3),
       indexing=st.sampled_from(["ij", "xy"]))
def test_meshgrid_is_numpys(vectors, indexing, device):
    grids = meshgrid(*[tc.tensor(v, device=device) for v in vectors], indexing=indexing)
    same(grids, tuple(np.meshgrid(*vectors, indexing=indexing)))
    same(meshgrid([tc.tensor(v, device=device) for v in vectors], indexing=indexing), tuple(grids_.numpy() for grids_ in grids))
    assert check(lambda *ts: meshgrid(*ts, indexing=indexing), *vectors, device=device)


def test_meshgrid_defaults_to_ij_as_pytorch():
    x, y = meshgrid(tc.tensor([1.0, 2.0]), tc.tensor([3.0, 4.0, 5.0]))
    assert x.shape == y.shape == (2, 3)


# ---------------------------------------------------------------------------- diagonals

@given(v=arrays(shapes(min_dims=1, max_dims=1, min_side=0, max_side=4)), offset=st.integers(-4, 4))
def test_diag_of_a_vector_is_numpys_diag(v, offset, device):
    same(diag(tc.tensor(v, device=device), offset), np.diag(v, offset))
    same(diagflat(tc.tensor(v, device=device), offset), np.diagflat(v, offset))
    assert check(lambda t: diag(t, offset), v, device=device)


@given(m=arrays(shapes(min_dims=2, max_dims=2, min_side=0, max_side=4)), offset=st.integers(-5, 5))
def test_diag_of_a_matrix_and_trace_are_numpys(m, offset, device):
    same(diag(tc.tensor(m, device=device), offset), np.diag(m, offset))
    same(trace(tc.tensor(m, device=device)), np.trace(m))
    same(diagflat(tc.tensor(m, device=device), offset), np.diagflat(m, offset))
    assert check(lambda t: diag(t, offset), m, device=device)
    assert check(trace, m, device=device)


def test_diag_keeps_inf_and_nan_off_the_zeros():
    """v_i goes on the diagonal by choice (where), not by a product with the identity: inf·0 would be NaN."""
    assert diag(tc.tensor([float("inf"), 1.0])).tolist() == [[float("inf"), 0.0], [0.0, 1.0]]
    assert diag(tc.tensor([1, 2])).dtype == tc.int64 and trace(tc.tensor([[1, 2], [3, 4]], dtype="int32")).item() == 5


@given(a=arrays(shapes(min_dims=1, max_dims=3, min_side=0, max_side=3)), offset=st.integers(-3, 3), data=st.data())
def test_diag_embed_puts_the_last_axis_on_a_diagonal_of_dim1_dim2(a, offset, data, device):
    n = a.ndim + 1
    dim1, dim2 = data.draw(st.lists(st.integers(-n, n - 1), min_size=2, max_size=2, unique_by=lambda d: d % n))
    expected = np.zeros(a.shape[:-1] + (a.shape[-1] + abs(offset),) * 2)
    for pos in np.ndindex(*a.shape[:-1]):
        expected[pos] = np.diag(a[pos], offset)
    expected = np.moveaxis(expected, (-2, -1), (dim1 % n, dim2 % n))
    same(diag_embed(tc.tensor(a, device=device), offset, dim1, dim2), expected)
    assert check(lambda t: diag_embed(t, offset, dim1, dim2), a, device=device)


# ---------------------------------------------------------------------------- products

@given(a=arrays(empty_sides()), b=arrays(empty_sides()))
def test_kron_is_numpys_kron(a, b, device):
    same(kron(tc.tensor(a, device=device), tc.tensor(b, device=device)), np.kron(a, b))
    assert check(kron, a, b, device=device)


@given(a=arrays(shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)), data=st.data())
def test_tensordot_is_numpys_tensordot(a, data, device):
    k = data.draw(st.integers(0, a.ndim))
    b = data.draw(arrays(a.shape[a.ndim - k:] + data.draw(shapes(max_dims=2, max_side=3))))
    same(tensordot(tc.tensor(a, device=device), tc.tensor(b, device=device), k), np.tensordot(a, b, k))
    assert check(lambda p, q: tensordot(p, q, k), a, b, device=device)
    # the pair-of-lists form, dims in any order, negative ones too
    picked = data.draw(st.lists(st.integers(0, a.ndim - 1), max_size=a.ndim, unique=True)) if a.ndim else []
    other = list(data.draw(shapes(min_dims=len(picked), max_dims=len(picked) + 1, max_side=3)))
    places = data.draw(st.permutations(range(len(other))))[:len(picked)]
    for d, p in zip(picked, places):
        other[p] = a.shape[d]
    b = data.draw(arrays(tuple(other)))
    dims_a = [d - a.ndim if data.draw(st.booleans()) else d for d in picked]
    same(tensordot(tc.tensor(a, device=device), tc.tensor(b, device=device), (dims_a, list(places))),
         np.tensordot(a, b, (dims_a, list(places))))
    assert check(lambda p, q: tensordot(p, q, (dims_a, list(places))), a, b, device=device)


@given(data=st.data())
def test_cross_is_numpys_cross_of_3_vectors(data, device):
    shape = list(data.draw(shapes(min_dims=1, max_dims=3, max_side=3)))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    shape[dim] = 3
    other = [n if d == dim % len(shape) or data.draw(st.booleans()) else 1 for d, n in enumerate(shape)]
    a, b = data.draw(arrays(tuple(shape))), data.draw(arrays(tuple(other)))
    expected = np.cross(*np.broadcast_arrays(a, b), axis=dim)
    same(cross(tc.tensor(a, device=device), tc.tensor(b, device=device), dim), expected)
    assert check(lambda p, q: cross(p, q, dim), a, b, device=device)


def test_cross_without_dim_takes_the_first_axis_of_size_3_as_pytorch():
    a, b = np.arange(12.0).reshape(3, 4), np.ones((3, 4))
    same(cross(tc.tensor(a), tc.tensor(b)), np.cross(a, b, axis=0))
    assert cross(tc.tensor([1.0, 0.0, 0.0]), tc.tensor([0.0, 1.0, 0.0])).tolist() == [0.0, 0.0, 1.0]


@given(a=arrays(shapes(min_dims=2, max_dims=4, min_side=0, max_side=3)), k=st.integers(-5, 5), data=st.data())
def test_rot90_is_numpys_rot90(a, k, data, device):
    n = a.ndim
    dims = data.draw(st.lists(st.integers(-n, n - 1), min_size=2, max_size=2, unique_by=lambda d: d % n))
    same(rot90(tc.tensor(a, device=device), k, dims), np.rot90(a, k, dims))
    weight = tc.arange(a.size, dtype="float64", device=device).reshape(np.rot90(a, k, dims).shape)
    assert check(lambda t: rot90(t, k, dims) * weight, a, device=device)


# ---------------------------------------------------------------------------- errors

def test_moving_and_repeating_refuse_what_pytorch_refuses():
    x = tc.zeros(2, 3, 4)
    with pytest.raises(ValueError, match="movedim: a dim appears twice in source"):
        movedim(x, (0, -3), (1, 2))
    with pytest.raises(ValueError, match="movedim: source .* must name as many dims"):
        movedim(x, (0, 1), (2,))
    with pytest.raises(ValueError, match=r"movedim: axis 3 is out of range"):
        movedim(x, 3, 0)
    with pytest.raises(TypeError, match="movedim: source must be an int"):
        movedim(x, 0.5, 0)
    with pytest.raises(ValueError, match="tile: dims must be ints >= 0"):
        tile(x, (-1, 2))
    with pytest.raises(ValueError, match="repeat_interleave: repeats must be >= 0"):
        repeat_interleave(x, -1)
    with pytest.raises(ValueError, match="repeat_interleave: repeats must be >= 0"):
        repeat_interleave(tc.tensor([1, 2]), tc.tensor([1, -1]))
    with pytest.raises(ValueError, match=r"repeat_interleave: repeats must have one count per entry along dim 0 \(2\)"):
        repeat_interleave(tc.tensor([1, 2]), tc.tensor([1, 1, 1]))
    with pytest.raises(TypeError, match="repeat_interleave: repeats must be an int or an integer tensor, got dtype float32"):
        repeat_interleave(tc.tensor([1, 2]), tc.tensor([1.0, 1.0]))
    with pytest.raises(ValueError, match="repeat_interleave: repeats must be a 0-d or 1-D tensor"):
        repeat_interleave(tc.tensor([1, 2]), tc.tensor([[1, 1]]))
    with pytest.raises(ValueError, match="repeat_interleave: output_size=4, but the repeats add up to 3"):
        repeat_interleave(tc.tensor([1, 2]), tc.tensor([1, 2]), output_size=4)
    with pytest.raises(ValueError, match="unflatten: sizes .* do not multiply up to 12"):
        unflatten(tc.zeros(2, 12), 1, (5, -1))
    with pytest.raises(ValueError, match="unflatten: sizes must be a non-empty sequence"):
        unflatten(tc.zeros(2, 12), 1, (-1, -1))
    with pytest.raises(ValueError, match="unflatten: sizes must be a non-empty sequence"):
        unflatten(tc.zeros(2, 0), 1, (0, -1))
    with pytest.raises(ValueError, match="unflatten: a 0-d tensor"):
        unflatten(tc.tensor(1.0), 0, (1,))


def test_broadcasting_and_grids_refuse_what_pytorch_refuses():
    with pytest.raises(ValueError, match=r"broadcast_to: a tensor of shape \(3, 2\) does not broadcast to \(2, 4\)"):
        broadcast_to(tc.zeros(3, 2), (2, 4))
    with pytest.raises(ValueError, match=r"broadcast_to: a tensor of shape \(3, 2\) does not broadcast to \(2,\)"):
        broadcast_to(tc.zeros(3, 2), (2,))
    with pytest.raises(ValueError, match=r"broadcast_tensors: shapes \(3,\), \(4,\) do not broadcast"):
        broadcast_tensors(tc.zeros(3), tc.zeros(4))
    with pytest.raises(ValueError, match="broadcast_shapes: shapes"):
        broadcast_shapes((2, 3), (3, 2))
    with pytest.raises(ValueError, match="meshgrid: expected 0-d or 1-D tensors"):
        meshgrid(tc.zeros(2, 2), tc.zeros(3), indexing="ij")
    with pytest.raises(TypeError, match="meshgrid: expected tensors of one dtype"):
        meshgrid(tc.zeros(2), tc.zeros(3, dtype="float64"), indexing="ij")
    with pytest.raises(ValueError, match="meshgrid: indexing must be 'ij' or 'xy'"):
        meshgrid(tc.zeros(2), indexing="ji")
    with pytest.raises(ValueError, match="meshgrid: needs at least one tensor"):
        meshgrid()


def test_diagonals_and_products_refuse_what_pytorch_refuses():
    with pytest.raises(ValueError, match=r"diag: expected a 1-D or 2-D tensor, got shape \(\)"):
        diag(tc.tensor(1.0))
    with pytest.raises(ValueError, match=r"diag: expected a 1-D or 2-D tensor, got shape \(2, 2, 2\)"):
        diag(tc.zeros(2, 2, 2))
    with pytest.raises(TypeError, match="diag: diagonal must be an int"):
        diag(tc.zeros(2), 0.5)
    with pytest.raises(ValueError, match="diag_embed: dim1 and dim2 must be two different dims"):
        diag_embed(tc.zeros(2, 3), 0, 1, -2)
    with pytest.raises(ValueError, match="diag_embed: expected a tensor of at least 1 dimension"):
        diag_embed(tc.tensor(2.0))
    with pytest.raises(ValueError, match=r"trace: expected a matrix \(2-D\), got shape \(2, 2, 2\)"):
        trace(tc.zeros(2, 2, 2))
    with pytest.raises(ValueError, match=r"tensordot: dims must be an int in \[0, 1\]"):
        tensordot(tc.zeros(2, 3), tc.zeros(3), 2)
    with pytest.raises(ValueError, match="tensordot: summed dims must match: a has size 3 in dim 1, b has size 4 in dim 0"):
        tensordot(tc.zeros(2, 3, 4), tc.zeros(4, 3), ([1], [0]))
    with pytest.raises(ValueError, match="tensordot: a dim of a appears twice"):
        tensordot(tc.zeros(3, 3), tc.zeros(3, 3), ([0, -2], [0, 1]))
    with pytest.raises(TypeError, match="tensordot: both tensors must have one dtype"):
        tensordot(tc.zeros(2, 3), tc.zeros(3, dtype="float64"), 1)
    with pytest.raises(ValueError, match="cross: dim 1 must have size 3 in both tensors"):
        cross(tc.zeros(2, 4), tc.zeros(2, 4), 1)
    with pytest.raises(ValueError, match="cross: no dim of size 3"):
        cross(tc.zeros(2, 4), tc.zeros(2, 4))
    with pytest.raises(ValueError, match="cross: both tensors must have one number of dimensions"):
        cross(tc.zeros(2, 1, 3), tc.zeros(5, 3), -1)
    with pytest.raises(ValueError, match="rot90: dims must be two different dims"):
        rot90(tc.zeros(2, 3), 1, (0, -2))
    with pytest.raises(ValueError, match="rot90: expected a tensor of at least 2 dimensions"):
        rot90(tc.zeros(3), 1, (0, 0))
    with pytest.raises(ValueError, match="rot90: dims must name exactly 2 dims"):
        rot90(tc.zeros(2, 3), 1, (0, 1, 1))
    with pytest.raises(TypeError, match="rot90: k must be an int"):
        rot90(tc.zeros(2, 3), 1.0)
