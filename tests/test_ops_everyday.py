"""PyTorch's everyday spellings beyond the core ops: prod, tril/triu, rounding, comparisons and
logic by name, isclose, outer/dot/mm, randperm, set_grad_enabled, and the function spellings of
methods (tc.floor(x) is x.floor()). Values against NumPy, float64 gradient checks against
finite differences."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinycoat as tc
from strategies import arrays, shapes


def leaf(array, device):
    return tc.tensor(array, requires_grad=True, dtype="float64", device=device)


def with_zeros(shape):
    """float64 arrays where some entries are exactly 0 (where y/x_i would be 0/0)."""
    return hnp.arrays(np.float64, shape, elements=st.one_of(st.just(0.0), st.floats(-2, 2)))


@given(data=st.data(), keepdim=st.booleans())
def test_prod_and_its_gradient_the_product_of_the_others_zeros_included(data, keepdim, device):
    shape = data.draw(shapes(min_dims=0, max_dims=3))
    a = data.draw(with_zeros(shape))
    dim = data.draw(st.none() | st.integers(-max(len(shape), 1), max(len(shape), 1) - 1))
    x = tc.tensor(a, device=device)
    want = np.prod(a) if dim is None else np.prod(a, axis=dim % max(a.ndim, 1), keepdims=keepdim) if a.ndim else a
    np.testing.assert_allclose(x.prod(dim, keepdim).numpy(), want, rtol=1e-12)
    assert tc.gradcheck(lambda t: t.prod(dim, keepdim), leaf(a, device))
    assert tc.prod(tc.tensor([[2, 3], [4, 5]], dtype="int32", device=device), 1).tolist() == [6, 20]
    assert tc.prod(tc.tensor([[2, 3]], device=device), 1).dtype == tc.int64


def test_prod_gradient_with_one_and_with_two_zeros():
    """One zero: only it gets a gradient (the product of the others); two: none does."""
    x = leaf(np.array([2.0, 0.0, 3.0]), "cpu")
    x.prod().backward()
    assert x.grad.tolist() == [0.0, 6.0, 0.0]
    y = leaf(np.array([0.0, 5.0, 0.0]), "cpu")
    y.prod().backward()
    assert y.grad.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(IndexError, match=r"prod: dim must be one axis, an int in \[-1, 0\], got 1"):
        x.prod(1)


@given(data=st.data())
def test_tril_and_triu_keep_one_side_of_a_diagonal(data, device):
    shape = data.draw(shapes(min_dims=2, max_dims=4))
    a = data.draw(arrays(shape))
    k = data.draw(st.integers(-3, 3))
    x = tc.tensor(a, device=device)
    np.testing.assert_array_equal(x.tril(k).numpy(), np.tril(a, k))
    np.testing.assert_array_equal(tc.triu(x, k).numpy(), np.triu(a, k))
    np.testing.assert_array_equal((x.tril(k) + x.triu(k + 1)).numpy(), a)           # the two halves make x
    assert tc.gradcheck(lambda t: t.tril(k) * 2 + t.triu(k), leaf(a, device))


def test_tril_needs_a_matrix():
    with pytest.raises(ValueError, match=r"tril: expected a tensor of at least 2 dimensions .* shape \(3,\)"):
        tc.zeros(3).tril()


@given(a=arrays(shapes(), -5, 5))
def test_rounding_is_numpys_and_outside_the_graph(a, device):
    a = np.concatenate([a.ravel(), [0.5, 1.5, 2.5, -0.5, -2.5]])               # halves go to the even one
    x = tc.tensor(a, requires_grad=True, dtype="float64", device=device)
    for name, want in (("floor", np.floor), ("ceil", np.ceil), ("trunc", np.trunc), ("round", np.round)):
        got = getattr(tc, name)(x)
        np.testing.assert_array_equal(got.numpy(), want(a))
        assert not got.requires_grad
    np.testing.assert_array_equal(x.round(decimals=1).numpy(), np.round(a, 1))
    for decimals in (-1, 2, 3):                                  # in the tensor's own dtype, as NumPy's
        single = a.astype(np.float32)
        np.testing.assert_array_equal(tc.tensor(single, device=device).round(decimals).numpy(), np.round(single, decimals))
    assert tc.tensor([2.675], device=device).round(2).item() == np.round(np.float32(2.675), 2)
    assert tc.floor(tc.tensor([3, -4], device=device)).tolist() == [3, -4]


@given(data=st.data())
def test_comparisons_logic_and_closeness_by_name(data, device):
    shape = data.draw(shapes())
    a = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 0.0, 1.0, 1.0 + 1e-9, np.nan, np.inf])))
    b = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 0.0, 1.0, np.inf])))
    x, y = tc.tensor(a, device=device), tc.tensor(b, device=device)
    for name, want in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                       ("gt", np.greater), ("ge", np.greater_equal), ("maximum", np.maximum), ("minimum", np.minimum),
                       ("logical_and", np.logical_and), ("logical_or", np.logical_or),
                       ("logical_xor", np.logical_xor)):
        np.testing.assert_array_equal(getattr(x, name)(y).numpy(), want(a, b), err_msg=name)
    np.testing.assert_array_equal(tc.logical_not(x).numpy(), np.logical_not(a))
    np.testing.assert_array_equal(tc.isinf(x).numpy(), np.isinf(a))
    np.testing.assert_array_equal(tc.isclose(x, y).numpy(), np.isclose(a, b))
    np.testing.assert_array_equal(x.isclose(y, equal_nan=True).numpy(), np.isclose(a, b, equal_nan=True))
    assert tc.count_nonzero(x).item() == np.count_nonzero(a)
    with pytest.raises(ValueError, match="isclose: rtol and atol must be >= 0, got rtol=-1"):
        x.isclose(y, rtol=-1)


@given(a=arrays(st.integers(1, 4).map(lambda n: (n,))), b=arrays(st.integers(1, 4).map(lambda n: (n,))))
def test_outer_dot_and_mm(a, b, device):
    x, y = leaf(a, device), leaf(b, device)
    np.testing.assert_allclose(tc.outer(x, y).detach().numpy(), np.outer(a, b), rtol=1e-12)
    assert tc.gradcheck(tc.outer, x, y)
    assert tc.gradcheck(lambda t: t.dot(t), x)
    np.testing.assert_allclose(x.dot(x).item(), np.dot(a, a), rtol=1e-12)
    np.testing.assert_allclose(tc.mm(tc.outer(x, y), tc.outer(y, x)).detach().numpy(),
                               np.outer(a, b) @ np.outer(b, a), rtol=1e-12)
    if len(a) != len(b):
        with pytest.raises(ValueError, match="dot: expected two 1-D tensors of one length"):
            x.dot(y)
    with pytest.raises(ValueError, match=r"mm: expected two 2-D tensors, got shapes"):
        tc.mm(x, tc.outer(x, y))


def test_randperm_is_a_seeded_permutation(device):
    tc.manual_seed(7)
    first = tc.randperm(50, device=device)
    tc.manual_seed(7)
    again = tc.randperm(50, device=device)
    assert sorted(first.tolist()) == list(range(50)) and first.tolist() == again.tolist()
    assert first.tolist() != list(range(50)) and first.dtype == tc.int64 and tc.randperm(0).shape == (0,)


def test_set_grad_enabled_as_a_statement_and_in_a_with():
    w = tc.ones(2, requires_grad=True)
    with tc.set_grad_enabled(False):
        assert not (w * 2).requires_grad
    assert (w * 2).requires_grad
    try:
        tc.set_grad_enabled(False)
        assert not tc.is_grad_enabled() and not (w * 2).requires_grad
    finally:
        tc.set_grad_enabled(True)
    assert tc.is_grad_enabled()


def test_function_spellings_and_shape_helpers(device):
    x = tc.arange(6.0, device=device).reshape(2, 3)
    np.testing.assert_allclose(tc.softmax(x, dim=1).numpy(), tc.nn.functional.softmax(x, dim=1).numpy())
    np.testing.assert_allclose(tc.log_softmax(x, 0).numpy(), tc.nn.functional.log_softmax(x, 0).numpy())
    assert tc.unsqueeze(x, 0).shape == (1, 2, 3) and tc.squeeze(tc.zeros(1, 3)).shape == (3,) and tc.numel(x) == 6
    assert tc.clamp(x, 1, 4).tolist() == [[1.0, 1.0, 2.0], [3.0, 4.0, 4.0]]
    assert x.view_as(tc.zeros(3, 2)).shape == (3, 2) and x.reshape_as(tc.zeros(6)).shape == (6,)
    assert tc.tensor([1, 2]).type_as(x).dtype == tc.float32
    assert tc.floor.__name__ == "floor" and "is x.floor(...)" in tc.floor.__doc__
    assert tc.all(x >= 0).item() and not tc.any(x > 5).item() and tc.amax(x, 1).tolist() == [2.0, 5.0]
    assert tc.t(x).shape == (3, 2) and [r.tolist() for r in tc.unbind(x)] == x.tolist() and tc.is_floating_point(x)
    np.testing.assert_allclose(tc.logsumexp(x, 1).numpy(), np.log(np.exp(x.numpy()).sum(1)), rtol=1e-6)
    assert tc.sign(x - 1).tolist() == [[-1.0, 0.0, 1.0], [1.0, 1.0, 1.0]] and tc.square(x).tolist()[1] == [9.0, 16.0, 25.0]


@given(value=st.floats(-50, 50))
def test_softmax_of_a_0d_tensor_is_a_row_of_one(value, device):
    """PyTorch takes axis 0 or −1 of a 0-d tensor: softmax 1, log_softmax 0, gradient 0."""
    x = tc.tensor(value, dtype="float64", requires_grad=True, device=device)
    y, log_y = tc.softmax(x, 0), tc.log_softmax(x, dim=-1)
    assert y.shape == log_y.shape == () and y.item() == 1.0 and log_y.item() == 0.0
    assert tc.gradcheck(lambda t: tc.softmax(t, -1) * 3 + tc.log_softmax(t, 0), x)
    with pytest.raises(ValueError, match=r"softmax: axis 1 is out of range for a tensor of shape \(\)"):
        tc.softmax(x, 1)
    with pytest.raises(ValueError, match=r"log_softmax: axis -2 is out of range for a tensor of shape \(\)"):
        tc.log_softmax(x, -2)


def test_edges_a_differential_check_against_pytorch_found(device):
    """Each line was once wrong: tril kept no integer dtype, tc.eq was missing, round ignored
    decimals of integers, count_nonzero(dim=()) reduced nothing, an empty integer tensor // 0 raised,
    outer flattened a matrix."""
    ints = tc.tensor(np.ones((2, 2), np.int32), device=device)
    assert ints.tril().dtype == tc.int32 and tc.tensor(np.ones((2, 2), bool), device=device).triu(1).dtype == tc.bool_
    assert tc.triu(tc.tensor(np.ones((2, 2), bool), device=device), 1).tolist() == [[False, True], [False, False]]
    x = tc.tensor([1.0, 2.0], device=device)
    assert [getattr(tc, n)(x, 1.5).tolist() for n in ("eq", "ne", "lt", "le", "gt", "ge")] == [
        [False, False], [True, True], [True, False], [True, False], [False, True], [False, True]]
    assert tc.tensor([15, 26, -35], device=device).round(decimals=-1).tolist() == [20, 30, -40]   # (−35: to even)
    assert tc.tensor([[0.0, 1.0], [2.0, 0.0]], device=device).count_nonzero(()).item() == 2
    assert (tc.zeros(0, dtype="int64", device=device) // 0).shape == (0,)
    with pytest.raises(ValueError, match=r"outer: expected two 1-D tensors, got shapes \(2, 1\) and \(2,\)"):
        tc.outer(x.reshape(2, 1), x)


def test_edges_a_second_differential_check_found(device):
    """Each line was once wrong: masked_fill wrapped 300 into uint8 as 44 (and inf into int64 as its
    minimum); index_select of a 0-d tensor gave shape (1,); unbind and narrow of a 0-d tensor failed
    with a bare IndexError; all/any refused dim as a list; narrow refused a 0-d tensor as start."""
    small = tc.tensor(np.array([1, 2], np.uint8), device=device)
    on = tc.tensor([True, False], device=device)
    with pytest.raises(ValueError, match=r"masked_fill: the value 300 does not fit uint8 \(integers in \[0, 255\]\)"):
        small.masked_fill(on, 300)
    for bad in (float("inf"), float("nan"), -1):
        with pytest.raises(ValueError, match="does not fit"):
            small.masked_fill(on, bad)
    assert small.masked_fill(on, 255).tolist() == [255, 2] and small.masked_fill(on, 2.7).tolist() == [2, 2]
    for bad in (300, -1.0, float("nan"), np.int64(256), tc.tensor(300.0)):   # x[i] = v and fill_ wrapped too
        with pytest.raises(ValueError, match=r"x\[index\] = value: the value .* does not fit uint8"):
            small[0] = bad
        with pytest.raises(ValueError, match="does not fit uint8"):
            small.fill_(bad)
    assert small.tolist() == [1, 2]
    small[1] = 2.7
    assert small.tolist() == [1, 2]
    scalar = tc.tensor(5.0, device=device)
    assert tc.index_select(scalar, 0, tc.tensor([0], device=device)).shape == ()
    with pytest.raises(IndexError, match="a 0-d tensor takes exactly one index"):
        tc.index_select(scalar, 0, tc.tensor([0, 0], device=device))
    with pytest.raises(ValueError, match="unbind: a 0-d tensor has no axis"):
        tc.unbind(scalar)
    with pytest.raises(ValueError, match="narrow: a 0-d tensor has no axis"):
        tc.narrow(scalar, 0, 0, 1)
    m = tc.tensor([[True, False], [True, True]], device=device)
    assert tc.all(m, dim=[0, 1]).item() is False and tc.any(m, dim=[1]).tolist() == [True, True]
    assert tc.narrow(tc.arange(4, device=device), 0, tc.tensor(1), 2).tolist() == [1, 2]
    assert [t.tolist() for t in tc.unbind(m, -1)] == [[True, True], [False, True]]


def test_python_numbers_from_tensors_and_numpy_scalars_as_arguments(device):
    """float(loss) and int(count) as PyTorch's; a NumPy scalar as softplus's beta or norm's p leaves a
    float32 tensor float32 (NumPy 2 would promote it to float64)."""
    assert float(tc.tensor([2.5], device=device)) == 2.5 and int(tc.tensor(7, device=device)) == 7
    with pytest.raises(ValueError, match=r"item\(\) needs a tensor with one element, got shape \(2,\)"):
        float(tc.ones(2, device=device))
    x = tc.ones(3, device=device)
    assert tc.nn.functional.softplus(x, beta=np.float64(2.0)).dtype == tc.float32
    assert x.norm(np.int64(3)).dtype == tc.float32 and x.norm(np.int64(3)).item() == pytest.approx(3 ** (1 / 3))


def test_boolean_logic_operators(device):
    a, b = tc.tensor([True, True, False], device=device), tc.tensor([True, False, False], device=device)
    assert (a & b).tolist() == [True, False, False] and (a | b).tolist() == [True, True, False]
    assert (a ^ b).tolist() == [False, True, False] and (~a).tolist() == [False, False, True]
    assert (True & b).tolist() == [True, False, False] and (tc.tensor([6], device=device) & 3).tolist() == [2]
    with pytest.raises(TypeError, match=r"&: expected boolean \(or integer\) tensors, got float32, bool"):
        tc.ones(3) & b


def test_set_grad_enabled_as_a_decorator_changes_nothing_until_called():
    w = tc.ones(2, requires_grad=True)

    @tc.set_grad_enabled(False)
    def frozen():
        return w * 2
    assert tc.is_grad_enabled() and (w * 2).requires_grad
    assert not frozen().requires_grad and tc.is_grad_enabled()


def test_edges_a_differential_check_of_the_tensor_core_found(device):
    """Each line was once wrong: std's gradient was NaN where all entries are equal (PyTorch: 0);
    sum(dim=()) reduced nothing (PyTorch reduces all, as amax did here); uint8 summed to uint64;
    full put NaN into int64 as its minimum; arange(0, 5, 1.5, dtype=int32) gave [0, 1, 3, 4]
    (NumPy and PyTorch: [0, 1, 2, 3]); a float axis and a zero step failed with bare errors."""
    w = tc.tensor([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]], dtype="float64", requires_grad=True, device=device)
    s = w.std(1)
    s.sum().backward()
    assert s.tolist() == [0.0, 1.0] and w.grad.tolist() == [[0.0, 0.0, 0.0], [-0.5, 0.0, 0.5]]
    assert tc.gradcheck(lambda t: t.std(1), tc.tensor([[1.0, 2.0, 4.0]], dtype="float64", requires_grad=True, device=device))
    m = tc.arange(6.0, device=device).reshape(2, 3)
    assert m.sum(dim=()).item() == 15.0 and m.mean(dim=[]).item() == 2.5 and m.var(dim=()).item() == 3.5
    assert tc.tensor(np.array([200, 100], np.uint8), device=device).sum().tolist() == 300
    assert tc.tensor(np.array([200, 100], np.uint8), device=device).sum().dtype == tc.int64
    with pytest.raises(ValueError, match=r"full: the value nan does not fit int64"):
        tc.full((2,), float("nan"), dtype=tc.int64, device=device)
    assert tc.arange(0, 5, 1.5, dtype=tc.int32, device=device).tolist() == [0, 1, 2, 3]
    assert tc.arange(tc.tensor(3), device=device).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="arange: step must not be 0"):
        tc.arange(0, 3, 0)
    with pytest.raises(TypeError, match=r"sum: expected an axis \(an int\) or a tuple of them, got 1.5"):
        m.sum(1.5)


def test_arg_and_logical_reductions_check_their_axes(device):
    """argmax/argmin/any/all/logsumexp/unsqueeze name themselves for a bad axis (they failed with
    NumPy's AxisError, 'tuple index out of range' or a slice error); argmax of a 0-d tensor is 0-d,
    also with keepdim (as PyTorch); any/all with dim=() reduce nothing (PyTorch's rule for them)."""
    m = tc.tensor([[1.0, 5.0], [3.0, 2.0]], device=device)
    assert tc.tensor(2.0).argmax(0, keepdim=True).shape == () and m.argmax(keepdim=True).shape == (1, 1)
    assert m.argmax(1).tolist() == [1, 0] and m.argmin(0, keepdim=True).tolist() == [[0, 1]]
    assert (m > 2).any(()).shape == (2, 2) and (m > 2).all(dim=[0, 1]).item() is False
    assert m.logsumexp(()).shape == () and tc.zeros(2, 0).logsumexp(1).tolist() == [-math.inf, -math.inf]
    for call, error, message in [(lambda: m.argmax(2), ValueError, "argmax: axis 2 is out of range"),
                                 (lambda: tc.zeros(0).argmax(), ValueError, "argmax: there is no entry to pick"),
                                 (lambda: tc.zeros(2, 0).argmin(1), ValueError, "argmin: there is no entry .* axis 1"),
                                 (lambda: (m > 2).any(3), ValueError, "any: axis 3 is out of range"),
                                 (lambda: (m > 2).all((0, 0)), ValueError, r"all: repeated axis in \(0, 0\)"),
                                 (lambda: m.logsumexp(2), ValueError, "logsumexp: axis 2 is out of range"),
                                 (lambda: m.unsqueeze(1.0), TypeError, "unsqueeze: dim must be an int, got 1.0")]:
        with pytest.raises(error, match=message):
            call()


def test_pytorchs_keyword_names_for_sizes_axes_and_where(device):
    """x.reshape(shape=...), x.flip(dims=...), x.permute(dims=...), x.expand(size=...), x.where(c, y)
    and tc.where(condition=, input=, other=), as code written for PyTorch spells them."""
    x = tc.arange(6.0, device=device).reshape(2, 3)
    assert x.reshape(shape=(3, 2)).shape == (3, 2) and x.view(shape=[6]).shape == (6,)
    assert x.flip(dims=[0]).tolist() == [[3.0, 4.0, 5.0], [0.0, 1.0, 2.0]] and x.permute(dims=(1, 0)).shape == (3, 2)
    assert x[:1].expand(size=(4, 3)).shape == (4, 3)
    assert x.where(x > 2, -1.0).tolist() == tc.where(condition=x > 2, input=x, other=-1.0).tolist() == \
        [[-1.0, -1.0, -1.0], [3.0, 4.0, 5.0]]
    with pytest.raises(TypeError, match="give the sizes or axes one way"):
        x.reshape(6, shape=(6,))
