"""flip, roll, gather, sort, topk (tinycoat/ops/reorder.py): each output entry is an input entry.

Forward values against NumPy's own functions (or a loop over the definition), gradients by
tc.gradcheck (float64 central differences), shapes and values drawn by Hypothesis, from 0-d
and size-1 axes up.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from strategies import arrays, distinct, shapes


def leaf(array, device):
    return tc.tensor(array, requires_grad=True, dtype="float64", device=device)


def check(fn, *arrays_, device):
    return tc.gradcheck(fn, *[leaf(a, device) for a in arrays_])


@st.composite
def array_and_axes(draw, min_dims=1):
    a = draw(arrays(shapes(min_dims=min_dims, max_dims=3)))
    axes = draw(st.lists(st.integers(-a.ndim, a.ndim - 1), min_size=1, max_size=a.ndim,
                         unique_by=lambda d: d % a.ndim))
    return a, tuple(axes)


@given(data=array_and_axes())
def test_flip_reverses_the_axes_and_its_gradient_flips_back(data, device):
    a, axes = data
    np.testing.assert_array_equal(tc.flip(tc.tensor(a, device=device), axes).numpy(), np.flip(a, axes))
    np.testing.assert_array_equal(tc.tensor(a).flip(*axes).numpy(), np.flip(a, axes))
    assert check(lambda x: tc.flip(x, axes) * tc.arange(a.shape[-1], dtype="float64", device=device), a,
                 device=device)


@given(data=array_and_axes(), shift=st.integers(-5, 5))
def test_roll_wraps_entries_round_and_its_gradient_rolls_back(data, shift, device):
    a, axes = data
    shifts = tuple(shift + i for i in range(len(axes)))
    np.testing.assert_array_equal(tc.roll(tc.tensor(a, device=device), shifts, axes).numpy(),
                                  np.roll(a, shifts, axes))
    np.testing.assert_array_equal(tc.tensor(a).roll(shift).numpy(), np.roll(a, shift))   # flattened
    weight = tc.arange(a.size, dtype="float64", device=device).reshape(a.shape)       # (a sum would hide the order)
    assert check(lambda x: tc.roll(x, shifts, axes) * weight, a, device=device)
    assert check(lambda x: x.roll(shift) * weight, a, device=device)


@st.composite
def gather_case(draw):
    a = draw(arrays(shapes(min_dims=1, max_dims=3)))
    dim = draw(st.integers(-a.ndim, a.ndim - 1))
    axis = dim % a.ndim
    # PyTorch's rule: index no longer than x along the other axes, any length along dim
    shape = tuple(draw(st.integers(1, 5)) if d == axis else draw(st.integers(1, n)) for d, n in enumerate(a.shape))
    index = draw(st.lists(st.integers(0, a.shape[axis] - 1), min_size=int(np.prod(shape)),
                          max_size=int(np.prod(shape))))
    return a, dim, np.array(index, dtype=np.int64).reshape(shape)


@given(case=gather_case())
def test_gather_reads_along_one_axis_and_adds_repeated_reads_gradients(case, device):
    a, dim, index = case
    out = tc.gather(tc.tensor(a, device=device), dim, tc.tensor(index, device=device))
    expected = np.empty(index.shape)
    axis = dim % a.ndim
    for pos in np.ndindex(*index.shape):                 # the definition, entry by entry
        source = list(pos)
        source[axis] = index[pos]
        expected[pos] = a[tuple(source)]
    np.testing.assert_array_equal(out.numpy(), expected)
    assert check(lambda x: x.gather(dim, tc.tensor(index, device=device)) ** 2, a, device=device)


def test_flip_and_roll_edges_as_pytorch():
    assert tc.flip(tc.tensor(3.0), (0,)).item() == 3.0 and tc.roll(tc.tensor(3.0), 2, 0).item() == 3.0
    assert tc.roll(tc.arange(4.0), (1, 1), (0, 0)).tolist() == [2.0, 3.0, 0.0, 1.0]   # an axis twice: both shifts
    assert tc.roll(tc.arange(4.0), (1,)).tolist() == [3.0, 0.0, 1.0, 2.0]             # one shift, flattened
    with pytest.raises(TypeError, match="shifts must be ints"):
        tc.roll(tc.arange(4.0), 1.5, 0)
    with pytest.raises(ValueError, match="an axis appears twice"):
        tc.flip(tc.zeros(2, 2), (0, -2))
    with pytest.raises(ValueError, match="one shift per axis"):
        tc.roll(tc.zeros(2, 2), (1, 2), 0)


def test_gather_refuses_what_pytorch_refuses():
    x = tc.zeros(2, 3)
    with pytest.raises(TypeError, match="integer"):
        x.gather(1, tc.zeros(2, 1))
    with pytest.raises(TypeError, match="integer Tensor"):
        x.gather(1, [[0], [1]])
    with pytest.raises(ValueError, match=r"index of shape \(3, 1\) does not fit x of shape \(2, 3\)"):
        x.gather(1, tc.zeros(3, 1, dtype="int64"))
    with pytest.raises(ValueError, match="as many axes"):
        x.gather(1, tc.zeros(2, dtype="int64"))
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        x.gather(1, tc.tensor([[3], [0]]))
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        x.gather(1, tc.tensor([[-1], [0]]))


@given(a=distinct(shapes(min_dims=1, max_dims=3)), descending=st.booleans(), data=st.data())
def test_sort_orders_along_an_axis_and_sends_each_gradient_to_its_place(a, descending, data, device):
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    values, indices = tc.tensor(a, device=device).sort(dim, descending)
    expected = np.sort(a, axis=dim)
    np.testing.assert_array_equal(values.numpy(), np.flip(expected, dim) if descending else expected)
    np.testing.assert_array_equal(np.take_along_axis(a, indices.numpy(), dim), values.numpy())
    assert indices.dtype == tc.int64
    weight = tc.arange(a.size, dtype="float64", device=device).reshape(a.shape)
    assert check(lambda x: x.sort(dim, descending).values * weight, a, device=device)


def test_sort_is_stable_and_puts_nan_at_the_large_end_as_pytorch():
    x = tc.tensor([2.0, float("nan"), 1.0, 2.0, 1.0])
    assert x.sort().indices.tolist() == [2, 4, 0, 3, 1]
    assert x.sort(descending=True).indices.tolist() == [1, 0, 3, 2, 4]
    assert tc.argsort(tc.tensor([[3, 1, 2]]), dim=1, descending=True).tolist() == [[0, 2, 1]]
    inf, nan = float("inf"), float("nan")
    assert tc.tensor([inf, nan, 0.0, inf]).argsort(descending=True).tolist() == [1, 0, 3, 2]
    assert tc.tensor([1, 0, 2, 0], dtype="uint8").argsort(descending=True).tolist() == [2, 0, 1, 3]
    assert tc.tensor([False, True, True]).argsort(descending=True).tolist() == [1, 2, 0]
    assert x.sort(stable=True).indices.tolist() == x.sort().indices.tolist()    # (PyTorch's option; always stable)


@given(a=distinct(shapes(min_dims=1, max_dims=3)), largest=st.booleans(), data=st.data())
def test_topk_is_the_first_k_of_the_sort(a, largest, data, device):
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    k = data.draw(st.integers(0, a.shape[dim]))
    values, indices = tc.tensor(a, device=device).topk(k, dim, largest=largest)
    order = np.argsort(-a if largest else a, axis=dim)
    first = np.take(order, np.arange(k), axis=dim)
    np.testing.assert_array_equal(indices.numpy(), first)
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(a, first, dim))
    if k:
        assert check(lambda x: x.topk(k, dim, largest=largest).values ** 2, a, device=device)


def test_topk_of_ties_takes_the_earlier_entry_and_refuses_a_bad_k():
    logits = tc.tensor([[0.1, 0.7, 0.7, 0.2]])
    assert logits.topk(2).indices.tolist() == [[1, 2]]
    assert tc.topk(logits, 1, largest=False).indices.tolist() == [[0]]
    v, i = tc.tensor(4.0).topk(1)
    assert v.shape == () and i.item() == 0
    with pytest.raises(ValueError, match=r"k must be an int in \[0, 4\]"):
        logits.topk(5)


def test_top5_accuracy_reads_as_in_pytorch():
    """The use topk is for: is the label among a classifier's five best guesses?"""
    logits = tc.tensor(np.eye(10)[[3, 8]] + np.linspace(0, 0.5, 10))   # best: 3, then 9 8 7 6; 8, then 9 7 6 5
    labels = tc.tensor([5, 8])
    top5 = logits.topk(5, dim=1).indices
    assert top5.tolist() == [[3, 9, 8, 7, 6], [8, 9, 7, 6, 5]]
    assert (top5 == labels.unsqueeze(1)).any(dim=1).tolist() == [False, True]


@given(a=arrays(shapes(min_dims=2, max_dims=4)), data=st.data())
def test_diagonal_reads_x_i_i_plus_offset_and_its_gradient_goes_back_there(a, data, device):
    """As numpy.diagonal (the diagonal as the last axis), for offsets past either side too (an empty
    diagonal), negative dims and the two axes in either order; float64 gradient check."""
    dim1, dim2 = data.draw(st.lists(st.integers(-a.ndim, a.ndim - 1), min_size=2, max_size=2, unique_by=lambda d: d % a.ndim))
    offset = data.draw(st.integers(-5, 5))
    y = tc.diagonal(tc.tensor(a, device=device), offset, dim1, dim2)
    np.testing.assert_array_equal(y.numpy(), np.diagonal(a, offset, dim1 % a.ndim, dim2 % a.ndim))
    np.testing.assert_array_equal(tc.tensor(a).diagonal(offset, dim1, dim2).numpy(), y.numpy())
    x = tc.tensor(a, requires_grad=True, device=device)
    assert tc.gradcheck(lambda t: tc.diagonal(t, offset, dim1, dim2), x)
    g = np.arange(1, y.numpy().size + 1, dtype=float).reshape(y.shape)
    tc.diagonal(x, offset, dim1, dim2).backward(tc.tensor(g, device=device))
    assert x.grad.numpy().sum() == g.sum() and np.count_nonzero(x.grad.numpy()) == g.size   # each once, on it


def test_diagonal_refuses_one_axis_twice_and_a_non_int_offset():
    with pytest.raises(ValueError, match=r"diagonal: dim1 and dim2 must be two different axes, got 0 and -2 of 2"):
        tc.diagonal(tc.zeros(2, 2), 0, 0, -2)
    with pytest.raises(TypeError, match=r"diagonal: offset must be an int, got 1.5"):
        tc.diagonal(tc.zeros(2, 2), 1.5)
