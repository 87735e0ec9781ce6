"""scatter, scatter_add, scatter_reduce, the index_* family, take_along_dim, masked_scatter
(tinycoat/ops/scatter.py): entries written into a copy of a tensor at the places an index names.

Forward values against NumPy (np.add.at, np.put_along_axis, np.take_along_axis) or a loop over the
definition, in PyTorch's CPU order (a place written twice keeps the last write); gradients by
tc.gradcheck (float64 central differences), repeated places included; shapes and values drawn by
Hypothesis, from 0-d tensors and size-1 or empty axes up; and the errors, each naming its function.
"""
import functools

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinycoat as tc
from strategies import arrays, shapes
from tinycoat.ops.scatter import (index_add, index_copy, index_fill, index_reduce, masked_scatter, scatter,
                                  scatter_add, scatter_reduce, take_along_dim)

REDUCE = {"sum": sum, "prod": lambda v: functools.reduce(lambda a, b: a * b, v, 1.0),
          "mean": lambda v: sum(v) / len(v), "amax": max, "amin": min}


def leaf(array, device):
    return tc.tensor(array, requires_grad=True, dtype="float64", device=device)


def ints(array, device):
    return tc.tensor(np.asarray(array, dtype=np.int64), device=device)


def targets(index, axis):
    """Each index position p and the place of x it names: p with index[p] along ``axis``."""
    for pos in np.ndindex(*index.shape):
        place = list(pos)
        place[axis] = index[pos]
        yield pos, tuple(place)


def scatter_reference(x, axis, index, src, reduce=None, include_self=True):
    """The definition, one index position at a time in row-major order (PyTorch's CPU loop)."""
    out = x.copy()
    if reduce is None:
        for pos, place in targets(index, axis):
            out[place] = src[pos]                                  # the last write stays
        return out
    gathered = {}
    for pos, place in targets(index, axis):
        gathered.setdefault(place, [x[place]] if include_self else []).append(src[pos])
    for place, values in gathered.items():
        out[place] = REDUCE[reduce](values)
    return out


@st.composite
def scatter_case(draw, values=arrays, min_index_side=1):
    """(x, dim, index, src) as PyTorch's scatter takes them: index with x's number of axes, no larger
    than x but along dim (where it may be longer: repeated places), no larger than src anywhere."""
    x = draw(values(shapes(min_dims=1, max_dims=3)))
    dim = draw(st.integers(-x.ndim, x.ndim - 1))
    axis = dim % x.ndim
    shape = tuple(draw(st.integers(min_index_side, 5)) if d == axis else draw(st.integers(min_index_side, n))
                  for d, n in enumerate(x.shape))
    index = np.array(draw(st.lists(st.integers(0, x.shape[axis] - 1), min_size=int(np.prod(shape)),
                                   max_size=int(np.prod(shape)))), dtype=np.int64).reshape(shape)
    src = draw(values(tuple(n + draw(st.integers(0, 1)) for n in shape)))
    return x, dim, index, src


def distinct_values(shape):
    """Entries 1/8 apart, so amax/amin have one winner wherever they are differentiable."""
    return hnp.arrays(np.float64, shape, elements=st.integers(-400, 400).map(lambda k: k / 8), unique=True)


# ---------------------------------------------------------------------------- scatter, scatter_add

@given(case=scatter_case())
def test_scatter_writes_src_at_the_indexed_places_the_last_write_staying(case, device):
    x, dim, index, src = case
    axis = dim % x.ndim
    out = scatter(tc.tensor(x, device=device), dim, ints(index, device), tc.tensor(src, device=device))
    np.testing.assert_array_equal(out.numpy(), scatter_reference(x, axis, index, src))
    # x's gradient: 0 where overwritten; src's: a gather at the places its write stayed, 0 for writes overwritten
    assert tc.gradcheck(lambda a, b: scatter(a, dim, ints(index, device), b), leaf(x, device), leaf(src, device))


@given(x=arrays(shapes(min_dims=2, max_dims=2)), data=st.data())
def test_scatter_of_a_full_permutation_is_numpys_put_along_axis(x, data, device):
    axis = data.draw(st.integers(0, 1))
    index = np.argsort(np.asarray(data.draw(arrays(x.shape))), axis=axis, kind="stable")
    src = data.draw(arrays(x.shape))
    expected = x.copy()
    np.put_along_axis(expected, index, src, axis)
    out = scatter(tc.tensor(x, device=device), axis, ints(index, device), tc.tensor(src, device=device))
    np.testing.assert_array_equal(out.numpy(), expected)


@given(case=scatter_case())
def test_scatter_add_adds_every_write_as_numpys_add_at(case, device):
    x, dim, index, src = case
    axis = dim % x.ndim
    coords = list(np.indices(index.shape))
    coords[axis] = index
    expected = x.copy()
    np.add.at(expected, tuple(coords), src[tuple(slice(0, n) for n in index.shape)])
    out = scatter_add(tc.tensor(x, device=device), dim, ints(index, device), tc.tensor(src, device=device))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert tc.gradcheck(lambda a, b: scatter_add(a, dim, ints(index, device), b), leaf(x, device), leaf(src, device))


@given(case=scatter_case(), value=st.floats(-3, 3))
def test_scatter_of_a_number_fills_the_places(case, value, device):
    x, dim, index, _ = case
    expected = scatter_reference(x, dim % x.ndim, index, np.full(index.shape, value))
    out = scatter(tc.tensor(x, device=device), dim, ints(index, device), value=value)
    np.testing.assert_array_equal(out.numpy(), expected)
    np.testing.assert_array_equal(scatter(tc.tensor(x, device=device), dim, ints(index, device), value).numpy(), expected)
    assert tc.gradcheck(lambda a: scatter(a, dim, ints(index, device), value=value), leaf(x, device))


def test_scatter_keeps_the_last_of_many_writes_to_one_place(device):
    """NumPy and CuPy promise no order for a repeated index; here the last write stays, every time."""
    n = 2000
    index = np.arange(n) % 3
    src = np.arange(n, dtype=np.float64)
    out = scatter(tc.zeros(3, dtype="float64", device=device), 0, ints(index, device), tc.tensor(src, device=device))
    assert out.tolist() == [1998.0, 1999.0, 1997.0]
    x = leaf(np.zeros(3), device)
    s = leaf(src, device)
    scatter(x, 0, ints(index, device), s).backward(tc.tensor([1.0, 2.0, 3.0], dtype="float64", device=device))
    expected = np.zeros(n)
    expected[[1998, 1999, 1997]] = [1.0, 2.0, 3.0]              # only the writes that stayed reach the output
    np.testing.assert_array_equal(s.grad.numpy(), expected)
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_scatter_edges_as_pytorch(device):
    one = tc.tensor(1.0, device=device)
    assert scatter(one, 0, ints(0, device), tc.tensor(5.0, device=device)).item() == 5.0       # 0-d
    assert scatter(one, -1, ints([0], device), tc.tensor([5.0], device=device)).shape == ()
    x = tc.zeros(3, 4, device=device)
    empty = scatter(x, 0, tc.zeros(0, 9, dtype="int64", device=device), tc.ones(2, 2, device=device))
    assert empty.tolist() == x.tolist()                          # nothing written, no shape checked (PyTorch)
    out = scatter(x, 1, ints([[1, 1], [2, 2], [3, 3]], device), tc.ones(3, 2, device=device), reduce="add")
    assert out.sum().item() == 6.0
    out = scatter(tc.full((3,), 2.0, device=device), 0, ints([1, 1], device), tc.tensor([3.0, 4.0], device=device),
                  reduce="multiply")
    assert out.tolist() == [2.0, 24.0, 2.0]
    assert scatter(x, 0, tc.tensor([[2]], dtype="int32", device=device), tc.ones(1, 1, device=device))[2, 0].item() == 1
    assert scatter(ints([1, 2, 3], device), 0, ints([2, 2], device), ints([7, 8], device)).tolist() == [1, 2, 8]


# ---------------------------------------------------------------------------- scatter_reduce

@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@given(data=st.data())
def test_scatter_reduce_against_its_definition_with_gradients(reduce, include_self, data, device):
    if reduce in ("amax", "amin"):                 # distinct values: one winner per place, differentiable
        x, dim, index, src = data.draw(scatter_case())
        pool = data.draw(distinct_values(x.size + src.size))
        x, src = pool[:x.size].reshape(x.shape), pool[x.size:].reshape(src.shape)
    else:
        x, dim, index, src = data.draw(scatter_case())
    axis = dim % x.ndim
    out = scatter_reduce(tc.tensor(x, device=device), dim, ints(index, device), tc.tensor(src, device=device), reduce,
                         include_self=include_self)
    np.testing.assert_allclose(out.numpy(), scatter_reference(x, axis, index, src, reduce, include_self),
                               rtol=1e-12, atol=1e-12)
    assert tc.gradcheck(lambda a, b: scatter_reduce(a, dim, ints(index, device), b, reduce, include_self=include_self),
                        leaf(x, device), leaf(src, device))


def test_scatter_reduce_prod_gradient_with_zeros_is_the_product_of_the_others(device):
    """d(Π)/d(factor) = the product of the other factors, made without dividing: right for zeros too."""
    src = np.array([0.0, 2.0, 3.0, 0.0, 0.0, 5.0])
    index = np.array([0, 0, 0, 1, 1, 2])
    x = np.array([4.0, 1.5, 0.0])
    out = scatter_reduce(tc.tensor(x, device=device), 0, ints(index, device), tc.tensor(src, device=device), "prod")
    assert out.tolist() == [0.0, 0.0, 0.0]
    a, b = leaf(x, device), leaf(src, device)
    scatter_reduce(a, 0, ints(index, device), b, "prod").backward(tc.tensor([1.0, 1.0, 1.0], dtype="float64", device=device))
    assert b.grad.tolist() == [24.0, 0.0, 0.0, 0.0, 0.0, 0.0]         # 4·2·3 for the one zero; two zeros: all 0
    assert a.grad.tolist() == [0.0, 0.0, 5.0]
    assert tc.gradcheck(lambda p, q: scatter_reduce(p, 0, ints(index, device), q, "prod", include_self=False),
                        leaf(x, device), leaf(src, device))


def test_scatter_reduce_amax_ties_share_the_gradient_as_pytorch(device):
    a, b = leaf([1.0, 0.0], device), leaf([1.0, 1.0, -2.0], device)
    out = scatter_reduce(a, 0, ints([0, 0, 1], device), b, "amax")
    assert out.tolist() == [1.0, 0.0]
    out.backward(tc.tensor([3.0, 1.0], dtype="float64", device=device))
    assert a.grad.tolist() == [1.0, 1.0] and b.grad.tolist() == [1.0, 1.0, 0.0]    # three tied at 1: 3/3 each
    # include_self=False: x's entry is no candidate (PyTorch counts it among the ties all the same,
    # then drops its share: the sources get 1/2, where d out / d src is 1)
    a, b = leaf([2.0], device), leaf([-3.0, 2.0], device)
    scatter_reduce(a, 0, ints([0, 0], device), b, "amax", include_self=False).backward(
        tc.tensor([1.0], dtype="float64", device=device))
    assert a.grad.tolist() == [0.0] and b.grad.tolist() == [0.0, 1.0]


def test_scatter_reduce_of_integers_and_nan_as_pytorch(device):
    x = ints([0, 0], device)
    assert scatter_reduce(x, 0, ints([0, 0, 1], device), ints([-1, -2, 5], device), "mean",
                          include_self=False).tolist() == [-2, 5]                  # rounds down
    assert scatter_reduce(ints([1, 0], device), 0, ints([0, 0, 1], device), ints([1, 2, 5], device), "mean").tolist() == [1, 2]
    nan = float("nan")
    for reduce in ("amax", "amin", "sum", "prod", "mean"):
        out = scatter_reduce(tc.zeros(2, device=device), 0, ints([0, 0, 1], device),
                             tc.tensor([2.0, nan, 5.0], device=device), reduce)
        assert np.isnan(out[0].item()) and not np.isnan(out[1].item())


def test_scatter_reduce_is_the_same_bits_every_time(device):
    rng = np.random.default_rng(0)
    src = tc.tensor(rng.standard_normal(5000), device=device)
    index = ints(rng.integers(0, 7, 5000), device)
    first = scatter_reduce(tc.zeros(7, dtype="float64", device=device), 0, index, src, "sum").numpy()
    for _ in range(3):
        np.testing.assert_array_equal(scatter_reduce(tc.zeros(7, dtype="float64", device=device), 0, index, src,
                                                     "sum").numpy(), first)


# ---------------------------------------------------------------------------- index_add and its family

@st.composite
def along_case(draw, values=arrays):
    """(x, dim, index, source): index 1-D (any length, repeats allowed), source x's shape but len(index) along dim."""
    x = draw(values(shapes(min_dims=0, max_dims=3)))
    dim = draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1))
    n = x.shape[dim] if x.ndim else 1
    index = np.array(draw(st.lists(st.integers(0, n - 1), max_size=5)), dtype=np.int64)
    if x.ndim == 0:
        index = index[:1]
        return x, dim, index, draw(values(() if len(index) else (0,)))
    axis = dim % x.ndim
    return x, dim, index, draw(values(x.shape[:axis] + (len(index),) + x.shape[axis + 1:]))


def along_reference(x, dim, index, source, combine):
    """``combine(out_slice, source_slice)`` for each index entry in order, on x's axis moved first."""
    out = np.array(x, copy=True).reshape(x.shape or (1,))
    source = np.asarray(source).reshape(source.shape if x.ndim else (len(index),))
    moved, src = np.moveaxis(out, dim, 0), np.moveaxis(source, dim, 0)
    for i, k in enumerate(index):
        moved[k] = combine(moved[k], src[i])
    return out.reshape(x.shape)


@given(case=along_case(), alpha=st.sampled_from([1, 2.5, -1.0]))
def test_index_add_adds_alpha_times_the_source_slices(case, alpha, device):
    x, dim, index, source = case
    expected = np.array(x, copy=True).reshape(x.shape or (1,))
    if len(index):
        np.add.at(np.moveaxis(expected, dim, 0), index,
                  alpha * np.moveaxis(np.asarray(source).reshape(source.shape if x.ndim else (1,)), dim, 0))
    out = index_add(tc.tensor(x, device=device), dim, ints(index, device), tc.tensor(source, device=device), alpha=alpha)
    np.testing.assert_allclose(out.numpy(), expected.reshape(x.shape), rtol=1e-12, atol=1e-12)
    assert tc.gradcheck(lambda a, b: index_add(a, dim, ints(index, device), b, alpha=alpha),
                        leaf(x, device), leaf(source, device))


@given(case=along_case())
def test_index_copy_writes_the_source_slices_the_last_staying(case, device):
    x, dim, index, source = case
    out = index_copy(tc.tensor(x, device=device), dim, ints(index, device), tc.tensor(source, device=device))
    np.testing.assert_array_equal(out.numpy(), along_reference(x, dim, index, source, lambda old, new: new))
    assert tc.gradcheck(lambda a, b: index_copy(a, dim, ints(index, device), b), leaf(x, device), leaf(source, device))


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@given(data=st.data())
def test_index_reduce_against_its_definition(reduce, include_self, data, device):
    x, dim, index, source = data.draw(along_case())
    if reduce in ("amax", "amin"):
        pool = data.draw(distinct_values(x.size + source.size))
        x, source = pool[:x.size].reshape(x.shape), pool[x.size:].reshape(source.shape)
    expected = np.array(x, copy=True).reshape(x.shape or (1,))
    moved = np.moveaxis(expected, dim, 0)
    src = np.moveaxis(np.asarray(source).reshape(source.shape if x.ndim else (len(index),)), dim, 0)
    for k in sorted(set(index.tolist())):
        slices = ([moved[k].copy()] if include_self else []) + [src[i] for i in range(len(index)) if index[i] == k]
        moved[k] = {"prod": lambda s: np.prod(s, axis=0), "mean": lambda s: np.mean(s, axis=0),
                    "amax": lambda s: np.max(s, axis=0), "amin": lambda s: np.min(s, axis=0)}[reduce](np.stack(slices))
    out = index_reduce(tc.tensor(x, device=device), dim, ints(index, device), tc.tensor(source, device=device), reduce,
                       include_self=include_self)
    np.testing.assert_allclose(out.numpy(), expected.reshape(x.shape), rtol=1e-12, atol=1e-12)
    assert tc.gradcheck(lambda a, b: index_reduce(a, dim, ints(index, device), b, reduce, include_self=include_self),
                        leaf(x, device), leaf(source, device))


@given(case=along_case(), value=st.floats(-3, 3))
def test_index_fill_fills_the_indexed_slices(case, value, device):
    x, dim, index, _ = case
    expected = np.array(x, copy=True).reshape(x.shape or (1,))
    np.moveaxis(expected, dim, 0)[index] = value
    out = index_fill(tc.tensor(x, device=device), dim, ints(index, device), value)
    np.testing.assert_array_equal(out.numpy(), expected.reshape(x.shape))
    assert tc.gradcheck(lambda a: index_fill(a, dim, ints(index, device), value), leaf(x, device))


# ---------------------------------------------------------------------------- take_along_dim, masked_scatter

@st.composite
def take_case(draw):
    """(x, indices, dim): the two broadcast against each other along every dim but ``dim``; indices
    negative too (counted from the end, as NumPy's)."""
    shape = draw(shapes(min_dims=1, max_dims=3))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    axis = dim % len(shape)
    x_shape = tuple(n if d == axis or draw(st.booleans()) else 1 for d, n in enumerate(shape))
    i_shape = tuple(draw(st.integers(0, 4)) if d == axis else (n if x_shape[d] == 1 or draw(st.booleans()) else 1)
                    for d, n in enumerate(shape))
    n = x_shape[axis]
    indices = np.array(draw(st.lists(st.integers(-n, n - 1), min_size=int(np.prod(i_shape)),
                                     max_size=int(np.prod(i_shape)))), dtype=np.int64).reshape(i_shape)
    return draw(arrays(x_shape)), indices, dim


@given(case=take_case())
def test_take_along_dim_is_numpys_take_along_axis_after_broadcasting(case, device):
    x, indices, dim = case
    axis = dim % x.ndim
    full = [max(a, b) for a, b in zip(x.shape, indices.shape)]
    xb = np.broadcast_to(x, tuple(n if d != axis else x.shape[axis] for d, n in enumerate(full)))
    ib = np.broadcast_to(indices, tuple(n if d != axis else indices.shape[axis] for d, n in enumerate(full)))
    out = take_along_dim(tc.tensor(x, device=device), ints(indices, device), dim)
    np.testing.assert_array_equal(out.numpy(), np.take_along_axis(xb, ib, axis))
    assert tc.gradcheck(lambda a: take_along_dim(a, ints(indices, device), dim), leaf(x, device))


@given(x=arrays(shapes(min_dims=0, max_dims=3)), data=st.data())
def test_take_along_dim_without_dim_reads_the_flattened_tensor(x, data, device):
    k = data.draw(st.integers(0, 5))
    indices = np.array(data.draw(st.lists(st.integers(-x.size, x.size - 1), min_size=k, max_size=k)), dtype=np.int64)
    out = take_along_dim(tc.tensor(x, device=device), ints(indices, device))
    np.testing.assert_array_equal(out.numpy(), np.take_along_axis(x.reshape(-1), indices, 0))
    assert tc.gradcheck(lambda a: take_along_dim(a, ints(indices, device)), leaf(x, device))


@given(x=arrays(shapes(min_dims=0, max_dims=3)), data=st.data())
def test_masked_scatter_fills_the_true_places_with_the_source_in_order(x, data, device):
    mask_shape = data.draw(st.sampled_from([x.shape, x.shape[1:], tuple(1 if data.draw(st.booleans()) else n for n in x.shape)]))
    mask = np.asarray(data.draw(arrays(mask_shape))) > 0
    shape = np.broadcast_shapes(x.shape, mask.shape)
    count = int(np.broadcast_to(mask, shape).sum())
    source = data.draw(arrays((count + data.draw(st.integers(0, 2)),)))
    expected = np.array(np.broadcast_to(x, shape))
    expected[np.broadcast_to(mask, shape)] = source[:count]
    m = tc.tensor(mask, device=device)
    out = masked_scatter(tc.tensor(x, device=device), m, tc.tensor(source, device=device))
    np.testing.assert_array_equal(out.numpy(), expected)
    assert tc.gradcheck(lambda a, b: masked_scatter(a, m, b), leaf(x, device), leaf(source, device))


# ---------------------------------------------------------------------------- errors

def test_scatter_refuses_what_pytorch_refuses():
    x = tc.zeros(2, 3)
    with pytest.raises(TypeError, match=r"scatter: index must be an int64 \(or int32\) tensor, got dtype float32"):
        scatter(x, 1, tc.zeros(2, 1), tc.ones(2, 1))
    with pytest.raises(TypeError, match=r"scatter_add: index must be an int64 \(or int32\) tensor, got dtype uint8"):
        scatter_add(x, 1, tc.zeros(2, 1, dtype="uint8"), tc.ones(2, 1))
    with pytest.raises(TypeError, match="scatter: index must be an integer Tensor"):
        scatter(x, 1, [[0], [1]], tc.ones(2, 1))
    with pytest.raises(TypeError, match="scatter: src must have the tensor's dtype float32, got float64"):
        scatter(x, 1, tc.tensor([[0]]), tc.ones(1, 1, dtype="float64"))
    with pytest.raises(IndexError, match=r"scatter: index values must lie in \[0, 3\) for dim 1"):
        scatter(x, 1, tc.tensor([[3]]), tc.ones(1, 1))
    with pytest.raises(IndexError, match=r"scatter_add: index values must lie in \[0, 2\)"):
        scatter_add(x, 0, tc.tensor([[-1]]), tc.ones(1, 1))
    with pytest.raises(ValueError, match=r"scatter: index of shape \(1, 2\) must be no larger than src \(1, 1\)"):
        scatter(x, 0, tc.tensor([[1, 0]]), tc.ones(1, 1))
    with pytest.raises(ValueError, match=r"no larger than the tensor \(2, 3\) along every dim but 1"):
        scatter_add(x, 1, tc.zeros(3, 1, dtype="int64"), tc.ones(3, 1))
    with pytest.raises(ValueError, match="scatter: index and src must have as many dimensions as the tensor"):
        scatter(x, 1, tc.tensor([0]), tc.ones(1))
    with pytest.raises(ValueError, match=r"scatter: axis 2 is out of range"):
        scatter(x, 2, tc.tensor([[0]]), tc.ones(1, 1))
    with pytest.raises(TypeError, match="scatter: give src"):
        scatter(x, 1, tc.tensor([[0]]))
    with pytest.raises(ValueError, match="scatter: reduce must be 'add' or 'multiply'"):
        scatter(x, 1, tc.tensor([[0]]), tc.ones(1, 1), reduce="sum")
    with pytest.raises(ValueError, match="scatter_reduce: reduce must be one of 'sum', 'prod', 'mean', 'amax', 'amin'"):
        scatter_reduce(x, 1, tc.tensor([[0]]), tc.ones(1, 1), "max")
    with pytest.raises(TypeError, match="scatter_reduce: include_self must be True or False"):
        scatter_reduce(x, 1, tc.tensor([[0]]), tc.ones(1, 1), "sum", include_self=1)


def test_index_family_refuses_what_pytorch_refuses():
    x = tc.zeros(3, 2)
    with pytest.raises(ValueError, match=r"index_add: index must be a 1-D \(or 0-d\) tensor, got shape \(1, 1\)"):
        index_add(x, 0, tc.tensor([[1]]), tc.ones(1, 2))
    with pytest.raises(ValueError, match=r"index_add: source must have the tensor's shape \(3, 2\) but along dim 0"):
        index_add(x, 0, tc.tensor([1]), tc.ones(1, 3))
    with pytest.raises(ValueError, match="index_copy: index has 2 entries, source 1 along dim 0"):
        index_copy(x, 0, tc.tensor([1, 2]), tc.ones(1, 2))
    with pytest.raises(IndexError, match=r"index_add: index values must lie in \[0, 3\)"):
        index_add(x, 0, tc.tensor([-1]), tc.ones(1, 2))
    with pytest.raises(TypeError, match=r"index_copy: index must be an int64 \(or int32\) tensor"):
        index_copy(x, 0, tc.tensor([1.0]), tc.ones(1, 2))
    with pytest.raises(TypeError, match="index_add: source must have the tensor's dtype float32, got int64"):
        index_add(x, 0, tc.tensor([1]), tc.ones(1, 2, dtype="int64"))
    with pytest.raises(ValueError, match="index_reduce: reduce must be one of 'prod', 'mean', 'amax', 'amin'"):
        index_reduce(x, 0, tc.tensor([1]), tc.ones(1, 2), "sum")
    with pytest.raises(ValueError, match="index_fill: value must be a number or a 0-d tensor"):
        index_fill(x, 0, tc.tensor([1]), tc.ones(2))


def test_take_along_dim_and_masked_scatter_refuse_what_pytorch_refuses():
    x = tc.zeros(2, 3)
    with pytest.raises(ValueError, match="take_along_dim: input and indices must have the same number of dimensions"):
        take_along_dim(x, tc.tensor([1]), 1)
    with pytest.raises(ValueError, match=r"take_along_dim: shapes \(2, 3\) and \(3, 1\) do not broadcast along dim 0"):
        take_along_dim(x, tc.zeros(3, 1, dtype="int64"), 1)
    with pytest.raises(IndexError, match=r"take_along_dim: indices must lie in \[-3, 3\)"):
        take_along_dim(x, tc.tensor([[3]]), 1)
    with pytest.raises(TypeError, match=r"take_along_dim: indices must be an int64 \(or int32\) tensor"):
        take_along_dim(x, tc.tensor([[True]]), 1)
    with pytest.raises(ValueError, match="take_along_dim: a 0-d tensor has no dim"):
        take_along_dim(tc.tensor(1.0), tc.tensor(0), 0)
    with pytest.raises(TypeError, match="masked_scatter: mask must be a boolean Tensor"):
        masked_scatter(x, tc.ones(2, 3), tc.ones(6))
    with pytest.raises(ValueError, match="masked_scatter: the mask has 6 True entries, but source only 5"):
        masked_scatter(x, tc.ones(2, 3) > 0, tc.ones(5))
    with pytest.raises(ValueError, match=r"masked_scatter: shapes \(2, 3\), \(2,\) do not broadcast"):
        masked_scatter(x, tc.tensor([True, False]), tc.ones(5))


def test_index_fill_wraps_negative_indices_and_names_itself():
    x = tc.zeros(2, 4)
    assert tc.index_fill(x, 1, tc.tensor(np.array([-1, 0])), 2.5).tolist() == [[2.5, 0, 0, 2.5]] * 2
    with pytest.raises(IndexError, match=r"^index_fill: index values must lie in \[-4, 4\)"):
        tc.index_fill(x, 1, tc.tensor(np.array([4])), 1.0)
    with pytest.raises(TypeError, match=r"^index_fill: index must be an integer Tensor"):
        tc.index_fill(x, 1, [0], 1.0)


def test_index_add_names_a_fractional_alpha_for_integers():
    with pytest.raises(TypeError, match=r"^index_add: alpha must be a whole number for a int64 tensor, got 0.5"):
        tc.index_add(tc.zeros(3, dtype="int64"), 0, tc.tensor(np.array([0])), tc.ones(1, dtype="int64"), alpha=0.5)
    assert tc.index_add(tc.zeros(3, dtype="int64"), 0, tc.tensor(np.array([2])), tc.ones(1, dtype="int64"),
                        alpha=3).tolist() == [0, 0, 3]


def test_a_nan_maximum_takes_its_gradient():
    """NaN propagates through amax; the NaN entry it came from gets the result's gradient (NaN == NaN
    is False: without care, no entry would)."""
    src = tc.tensor(np.array([np.nan, 5.0]), requires_grad=True)
    out = tc.scatter_reduce(tc.tensor(np.array([1.0, 2.0])), 0, tc.tensor(np.array([0, 0])), src, "amax")
    out.sum().backward()
    assert np.isnan(out.numpy()[0]) and src.grad.tolist() == [1.0, 0.0]
