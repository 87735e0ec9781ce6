"""A property-based float64 gradient check for every differentiable primitive.

Each test draws shapes and values with Hypothesis, runs ``tc.gradcheck`` (central
differences against backward, contracted with a random upstream gradient) and,
where it is cheap, compares the forward value with NumPy itself.
"""
import math

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st
from hypothesis.extra import numpy as hnp

import tinycoat as tc
from strategies import (arrays, away_from_zero, broadcastable_pair, distinct, positive,
                        shape_and_axis, shapes)


def leaf(array, device):
    return tc.tensor(array, requires_grad=True, dtype="float64", device=device)


def check(fn, *arrays_, device):
    return tc.gradcheck(fn, *[leaf(a, device) for a in arrays_])


# ------------------------------------------------------------------ binary arithmetic, broadcasting

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_ops_broadcast(name, data, device):
    shape_a, shape_b = data.draw(broadcastable_pair())
    a = data.draw(arrays(shape_a))
    b = data.draw(away_from_zero(shape_b) if name == "div" else arrays(shape_b))
    fn, reference = BINARY[name]
    out = fn(tc.tensor(a, device=device), tc.tensor(b, device=device))
    np.testing.assert_allclose(out.numpy(), reference(a, b), rtol=1e-12)
    assert check(fn, a, b, device=device)


@given(data=st.data())
def test_binary_ops_with_python_scalars(data, device):
    a = data.draw(away_from_zero(shapes()))
    s = data.draw(st.floats(0.5, 2.0))
    np.testing.assert_allclose(((2.5 - tc.tensor(a, device=device)) * s + s / tc.tensor(a, device=device)
                                - tc.tensor(a, device=device) / s).numpy(), (2.5 - a) * s + s / a - a / s, rtol=1e-12)
    assert check(lambda x: (2.5 - x) * s + s / x - x / s, a, device=device)


@given(a=arrays(shapes()))
def test_neg(a, device):
    np.testing.assert_array_equal((-tc.tensor(a)).numpy(), -a)
    assert check(lambda x: -x, a, device=device)


@given(data=st.data())
def test_pow_scalar_exponent(data, device):
    a = data.draw(positive(shapes()))
    p = data.draw(st.sampled_from([2, 3, 0.5, -1.5, 1.0]))
    np.testing.assert_allclose((tc.tensor(a) ** p).numpy(), a ** p, rtol=1e-12)
    assert check(lambda x: x ** p, a, device=device)


@given(data=st.data())
def test_pow_tensor_exponent_broadcast(data, device):
    shape_a, shape_b = data.draw(broadcastable_pair())
    a = data.draw(positive(shape_a, 0.5, 2.0))
    b = data.draw(arrays(shape_b, -2.0, 2.0))
    np.testing.assert_allclose((tc.tensor(a, device=device) ** tc.tensor(b, device=device)).numpy(), a ** b, rtol=1e-12)
    assert check(lambda x, y: x ** y, a, b, device=device)


def test_pow_at_a_zero_base_has_pytorchs_finite_gradients(device):
    """a ** 0 is constant in a, and 0 ** b is 0 for every b > 0: their derivatives are 0 there,
    which the formulas b·a^(b−1) and a^b·log(a) would make NaN (0·∞)."""
    assert check(lambda x: x ** 0, np.array([0.0, 1.5, -2.0]), device=device)
    assert check(lambda x: x ** tc.zeros(3, dtype="float64", device=device), np.array([0.0, 1.5, -2.0]), device=device)
    assert check(lambda y: tc.zeros(3, dtype="float64", device=device) ** y, np.array([0.5, 1.0, 2.0]), device=device)
    b = tc.tensor([0.0], dtype="float64", device=device, requires_grad=True)
    (tc.zeros(1, dtype="float64", device=device) ** b).sum().backward()           # 0 ** 0 = 1, its gradient 0
    assert b.grad.tolist() == [0.0]


def test_relu_of_infinities_and_nan():
    x = tc.tensor([-np.inf, -1.0, 0.0, 2.0, np.inf, np.nan])
    assert np.array_equal(tc.relu(x).numpy(), [0.0, 0.0, 0.0, 2.0, np.inf, np.nan], equal_nan=True)


@st.composite
def matmul_shapes(draw):
    """Operands of a (possibly batched, broadcast, 1-D) matrix product."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    kind = draw(st.sampled_from(["mm", "batched", "broadcast", "vec-mat", "mat-vec", "vec-vec"]))
    if kind == "mm":
        return (n, k), (k, m)
    if kind == "batched":
        b = draw(st.integers(1, 3))
        return (b, n, k), (b, k, m)
    if kind == "broadcast":
        b = draw(st.integers(1, 3))
        return (b, 1, n, k), (2, k, m)
    if kind == "vec-mat":
        return (k,), (draw(st.integers(1, 2)), k, m)
    if kind == "mat-vec":
        return (2, n, k), (k,)
    return (k,), (k,)


@given(data=st.data())
def test_matmul(data, device):
    shape_a, shape_b = data.draw(matmul_shapes())
    a, b = data.draw(arrays(shape_a)), data.draw(arrays(shape_b))
    np.testing.assert_allclose((tc.tensor(a) @ tc.tensor(b)).numpy(), a @ b, rtol=1e-10, atol=1e-12)
    assert check(lambda x, y: x @ y, a, b, device=device)


# ------------------------------------------------------------------ element-wise functions

UNARY = {
    # name: (function, NumPy reference, strategy for its domain)
    "exp": (lambda x: x.exp(), np.exp, arrays),
    "log": (lambda x: x.log(), np.log, positive),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, positive),
    "tanh": (lambda x: x.tanh(), np.tanh, arrays),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), arrays),
    "relu": (lambda x: x.relu(), lambda x: np.maximum(x, 0), away_from_zero),
    "abs": (lambda x: x.abs(), np.abs, away_from_zero),
    "log1p": (lambda x: x.log1p(), np.log1p, lambda shape: arrays(shape, -0.5, 3.0)),
    "expm1": (lambda x: x.expm1(), np.expm1, arrays),
    "rsqrt": (lambda x: x.rsqrt(), lambda x: 1 / np.sqrt(x), positive),
    "sin": (lambda x: x.sin(), np.sin, arrays),
    "cos": (lambda x: x.cos(), np.cos, arrays),
    "reciprocal": (lambda x: x.reciprocal(), lambda x: 1 / x, away_from_zero),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_ops(name, data, device):
    fn, reference, domain = UNARY[name]
    a = data.draw(domain(shapes()))
    np.testing.assert_allclose(fn(tc.tensor(a)).numpy(), reference(a), rtol=1e-12, atol=1e-15)
    assert check(fn, a, device=device)


def test_clip_with_tensor_bounds_says_what_to_write():
    with pytest.raises(TypeError, match=r"clip: min and max are numbers here; .* tc.minimum\(tc.maximum\(x, low\), high\)"):
        tc.randn(3).clamp(tc.zeros(3), 1.0)


@given(data=st.data())
def test_clip_away_from_the_bounds(data, device):
    # Values are multiples of 1/4 shifted by 1/8, the bounds are multiples of 1/4:
    # every value is at least 1/8 from a bound, far beyond eps.
    a = data.draw(arrays(shapes()).map(lambda x: np.round(x * 4) / 4 + 0.125))
    lo = data.draw(st.sampled_from([None, -1.0, 0.0]))
    hi = data.draw(st.sampled_from([None, 0.5, 2.0]) if lo is not None else st.sampled_from([0.5, 2.0]))
    np.testing.assert_array_equal(tc.tensor(a).clip(lo, hi).numpy(), np.clip(a, lo, hi))
    assert check(lambda x: x.clip(lo, hi), a, device=device)


def test_sigmoid_does_not_overflow():
    x = tc.tensor([-1000.0, 0.0, 1000.0])
    np.testing.assert_allclose(x.sigmoid().numpy(), [0.0, 0.5, 1.0])


@given(x=st.floats(-700, 700), dtype=st.sampled_from(["float64", "float32"]))
def test_sigmoid_keeps_its_relative_precision_far_below_zero(x, dtype, device):
    """σ(−40) = 4.2e−18 is a number, not 0: the tiny side keeps its digits (½(1 + tanh(x/2)) lost
    them below x ≈ −15). Python's 1/(1 + e^−x) is exact to a rounding here (e^700 is finite)."""
    if dtype == "float32":
        x = float(np.float32(min(max(x, -80.0), 80.0)))      # (σ(−80) = 1.8e−35, a normal float32)
    want = 1 / (1 + math.exp(-x))
    got = tc.tensor(x, dtype=dtype, device=device).sigmoid().item()
    assert got == pytest.approx(want, rel=4e-16 if dtype == "float64" else 4e-7)


# ------------------------------------------------------------------ reductions

@pytest.mark.parametrize("name", ["sum", "mean", "var"])
@given(data=st.data(), keepdims=st.booleans())
def test_reductions(name, data, keepdims, device):
    shape, axis = data.draw(shape_and_axis())
    a = data.draw(arrays(shape))
    ddof = data.draw(st.sampled_from([0, 1])) if name == "var" else None
    kwargs = {"ddof": ddof} if name == "var" else {}
    n = a.size if axis is None else int(np.prod([shape[i] for i in np.atleast_1d(axis)]))
    if name == "var" and n - ddof <= 0:
        with pytest.raises(ValueError, match="var over axes"):
            tc.tensor(a).var(axis=axis, ddof=ddof)
        return

    def fn(x):
        return getattr(x, name)(axis=axis, keepdims=keepdims, **kwargs)

    expected = getattr(np, name)(a, axis=axis, keepdims=keepdims, **kwargs)
    np.testing.assert_allclose(fn(tc.tensor(a)).numpy(), expected, rtol=1e-10, atol=1e-12)
    assert check(fn, a, device=device)


@given(data=st.data(), keepdims=st.booleans())
def test_max_with_a_unique_winner(data, keepdims, device):
    shape, axis = data.draw(shape_and_axis())
    a = data.draw(distinct(shape))
    np.testing.assert_array_equal(tc.tensor(a).max(axis=axis, keepdims=keepdims).numpy(),
                                  np.max(a, axis=axis, keepdims=keepdims))
    assert check(lambda x: x.max(axis=axis, keepdims=keepdims), a, device=device)


def test_max_splits_the_gradient_between_ties():
    x = tc.tensor([1.0, 3.0, 3.0, 0.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.5, 0.5, 0.0])


def test_empty_reductions():
    empty = tc.zeros(0, 3, requires_grad=True)
    s = empty.sum(axis=0)  # a sum over nothing is 0, and its gradient is empty
    np.testing.assert_array_equal(s.numpy(), np.zeros(3))
    s.sum().backward()
    assert empty.grad.shape == (0, 3)
    with pytest.raises(ValueError, match="no elements to average"):
        empty.mean(axis=0)
    with pytest.raises(ValueError, match="maximum of nothing"):
        empty.max(axis=0)


def test_bad_axis_is_a_clear_error():
    with pytest.raises(ValueError, match="axis 3 is out of range for a tensor with 2 dimensions"):
        tc.ones(2, 3).sum(axis=3)
    with pytest.raises(TypeError, match="an axis must be an int"):
        tc.ones(2, 3).transpose(0, 1.0)
    assert tc.ones(2, 3, 4).transpose(np.int64(0), -1).shape == (4, 3, 2)      # NumPy's integers are ints
    assert tc.tensor(2.0).flatten().shape == (1,)                               # a 0-d tensor has axis 0
    x = tc.tensor(2.5, dtype="float64", requires_grad=True)                      # ... to reduce over, as PyTorch
    assert [x.sum(0).item(), x.mean(-1).item(), x.max(axis=0).item(), x.var(0, unbiased=False).item()] == \
        [2.5, 2.5, 2.5, 0.0]
    x.sum(0).backward()
    assert x.grad.item() == 1.0
    with pytest.raises(ValueError, match="axis 1 is out of range for a tensor with 0 dimensions"):
        x.sum(1)


@pytest.mark.parametrize("op, message", [
    (lambda: tc.ones(2, 3).permute(2, 1), "permute: axis 2 is out of range for a tensor with 2 dimensions"),
    (lambda: tc.ones(2, 3).permute(0, -3), "permute: axis -3 is out of range"),
    (lambda: tc.ones(2, 3, 4).transpose(0, 3), "transpose: axis 3 is out of range for a tensor with 3"),
    (lambda: tc.ones(2, 3, 4).flatten(3), "flatten: axis 3 is out of range"),
    (lambda: tc.ones(2, 3, 4).flatten(1, 7), "flatten: axis 7 is out of range"),
    (lambda: tc.ones(2, 3, 4).flatten(2, 1), "flatten: start_dim 2 comes after end_dim 1"),
    (lambda: tc.concatenate([tc.ones(2, 3)] * 2, axis=2), "concatenate: axis 2 is out of range"),
    (lambda: tc.concatenate([tc.tensor(1.0)] * 2), "concatenate: 0-d tensors have no axis"),
    (lambda: tc.stack([tc.ones(2, 3)] * 2, axis=3), "stack: axis 3 is out of range for a tensor with 3"),
    (lambda: tc.stack([tc.ones(2, 3)] * 2, axis=-4), "stack: axis -4 is out of range"),
])
def test_shape_ops_refuse_an_axis_out_of_range(op, message):
    """An axis past the last one is an error, not an axis counted round again (permute(2, 1) of a
    matrix once returned it unchanged, stack(axis=7) stacked along axis 1)."""
    with pytest.raises(ValueError, match=message):
        op()


@pytest.mark.parametrize("op, name", [(lambda a, b: a + b, "add"), (lambda a, b: a - b, "sub"),
                                      (lambda a, b: a * b, "mul"), (lambda a, b: a / b, "div"),
                                      (lambda a, b: a ** b, "pow"), (lambda a, b: tc.where(a > 0, a, b), "where")])
def test_shapes_that_do_not_broadcast_are_named(op, name):
    """Not NumPy's message from inside the forward: the op, both shapes and the sizes that clash."""
    with pytest.raises(ValueError, match=rf"{name}.*\(2, 3\) and .*\(4, 5\) do not broadcast.*3 vs .*5"):
        op(tc.ones(2, 3), tc.ones(4, 5))
    assert op(tc.ones(2, 1, 3), tc.ones(5, 1)).shape == (2, 5, 3)     # sizes of 1 and missing axes do


# ------------------------------------------------------------------ shape ops

@given(data=st.data())
def test_reshape_and_flatten(data, device):
    a = data.draw(arrays(shapes(min_dims=1)))
    flat = a.reshape(-1)
    assert check(lambda x: x.reshape(-1, 1) * 2, a, device=device)
    assert check(lambda x: x.flatten() * 2, a, device=device)
    np.testing.assert_array_equal(tc.tensor(a).flatten().numpy(), flat)
    with pytest.raises(ValueError, match="cannot reshape"):
        tc.tensor(a).reshape(a.size + 1)


@given(data=st.data())
def test_permute_and_transpose(data, device):
    a = data.draw(arrays(shapes(min_dims=2, max_dims=4)))
    dims = tuple(data.draw(st.permutations(range(a.ndim))))
    np.testing.assert_array_equal(tc.tensor(a).permute(*dims).numpy(), a.transpose(dims))
    np.testing.assert_array_equal(tc.tensor(a).transpose(0, -1).numpy(), np.swapaxes(a, 0, -1))
    assert check(lambda x: x.permute(dims) * 3, a, device=device)
    assert check(lambda x: x.transpose(0, -1) * 3, a, device=device)



@given(data=st.data())
def test_contiguous_copies_a_strided_view_and_passes_the_gradient_through(data, device):
    a = data.draw(arrays(shapes(min_dims=2, max_dims=4)))
    dims = tuple(data.draw(st.permutations(range(a.ndim))))
    t = tc.tensor(a).permute(*dims).contiguous()
    assert t.numpy().flags.c_contiguous
    np.testing.assert_array_equal(t.numpy(), a.transpose(dims))
    assert check(lambda x: x.permute(dims).contiguous() * 3, a, device=device)


@given(a=arrays(shapes(min_dims=0, max_dims=4)))
def test_clone_copies_into_its_own_memory_and_passes_the_gradient_through(a, device):
    t = tc.tensor(a, device=device)
    copy = t.clone()
    copy += 1.0                                                  # (no gradient wanted: in place)
    np.testing.assert_array_equal(t.numpy(), a)
    np.testing.assert_array_equal(copy.numpy(), a + 1.0)
    assert t._version == 0 and copy._version == 1
    assert check(lambda x: x.clone() * 3, a, device=device)

@st.composite
def basic_index(draw, shape):
    parts = []
    for n in shape[:draw(st.integers(1, len(shape)))]:
        kind = draw(st.sampled_from(["int", "slice", "full"]))
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.integers(0, n - 1))
            parts.append(slice(start, draw(st.integers(start + 1, n)), draw(st.integers(1, 2))))
        else:
            parts.append(slice(None))
    return tuple(parts)


@given(data=st.data())
def test_basic_indexing(data, device):
    a = data.draw(arrays(shapes(min_dims=1)))
    index = data.draw(basic_index(a.shape))
    np.testing.assert_array_equal(tc.tensor(a)[index].numpy(), a[index])
    assert check(lambda x: x[index] * 1.5, a, device=device)


@given(data=st.data())
def test_integer_array_indexing_with_repeats(data, device):
    a = data.draw(arrays(shapes(min_dims=1)))
    picks = data.draw(st.lists(st.integers(0, a.shape[0] - 1), min_size=1, max_size=6))
    index = tc.tensor(np.array(picks), device=device)
    np.testing.assert_array_equal(tc.tensor(a)[np.array(picks)].numpy(), a[picks])
    # Repeated picks must *add* their gradients: checked numerically here.
    assert check(lambda x: x[index] * 2, a, device=device)
    assert check(lambda x: x[picks, ...], a, device=device)


def test_integers_pick_before_arrays_as_pytorch_reads_an_index(device):
    """x[0, :, [0, 1]] is x[0][:, [0, 1]], shape (3, 2) (NumPy's reading gives (2, 3)); reading, the
    gradient and writing agree with the two steps."""
    a = np.arange(24.0).reshape(2, 3, 4)
    x = tc.tensor(a, device=device)
    mask = np.array([True, False, True])
    for index, expected in (((0, slice(None), [0, 1]), a[0][:, [0, 1]]),
                            ((slice(None), 1, slice(None), ), a[:, 1, :]),
                            ((1, slice(None), [[0], [3]]), a[1][:, [[0], [3]]]),
                            ((1, mask, [0, 3]), a[1][mask, [0, 3]]),
                            ((None, 0, Ellipsis, [2]), a[None][:, 0][..., [2]])):
        np.testing.assert_array_equal(x[index].numpy(), expected)
    assert check(lambda t: t[0, :, [0, 1, 1]] * 2, a, device=device)            # a repeat: gradients add
    y = tc.zeros(2, 3, 4, device=device)
    y[1, :, [0, 2]] = tc.tensor(np.arange(6.0).reshape(3, 2), device=device)
    expected = np.zeros((2, 3, 4))
    expected[1][:, [0, 2]] = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(y.numpy(), expected)
    # A 0-d integer tensor (t.argmax()) is an integer here too (it once took NumPy's reading: (2, 3)).
    one = tc.tensor(1, device=device)
    np.testing.assert_array_equal(x[one, :, [0, 1]].numpy(), a[1][:, [0, 1]])
    z = tc.zeros(2, 3, 4, device=device)
    z[one, :, [0, 2]] = tc.tensor(np.arange(6.0).reshape(3, 2), device=device)
    np.testing.assert_array_equal(z.numpy(), expected)


def test_index_tensor_on_another_device_is_refused(device):
    if device == "cpu":
        pytest.skip("needs a second device: runs as the 'gpu' variant")
    x = tc.arange(6.0, device=device)
    with pytest.raises(tc.DeviceError, match="indexing a tensor on 'gpu' with an index tensor on 'cpu'"):
        x[tc.tensor(np.array([0, 1]))]
    assert x[np.array([4, 1])].tolist() == [4.0, 1.0] and x[[5]].tolist() == [5.0]  # host data is copied


@given(data=st.data())
def test_boolean_mask_indexing(data, device):
    a = data.draw(arrays(shapes(min_dims=1)))
    mask = a > 0
    np.testing.assert_array_equal(tc.tensor(a)[mask].numpy(), a[mask])
    assert check(lambda x: x[tc.tensor(mask, device=device)] * 2, a, device=device)


@given(data=st.data())
def test_concatenate_and_stack(data, device):
    shape = data.draw(shapes(min_dims=1))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    widths = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    parts = []
    for w in widths:
        s = list(shape)
        s[axis] = w
        parts.append(data.draw(arrays(tuple(s))))
    np.testing.assert_array_equal(tc.concatenate([tc.tensor(p) for p in parts], axis=axis).numpy(),
                                  np.concatenate(parts, axis=axis))
    assert check(lambda *xs: tc.concatenate(xs, axis=axis), *parts, device=device)
    same = [data.draw(arrays(shape)) for _ in widths]
    stack_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    np.testing.assert_array_equal(tc.stack([tc.tensor(p) for p in same], axis=stack_axis).numpy(),
                                  np.stack(same, axis=stack_axis))
    assert check(lambda *xs: tc.stack(xs, axis=stack_axis), *same, device=device)


def test_concatenate_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"tensor 1 has shape \(2, 4\), incompatible"):
        tc.concatenate([tc.ones(3, 3), tc.ones(2, 4)], axis=0)


@given(data=st.data())
def test_pad(data, device):
    a = data.draw(arrays(shapes(min_dims=1)))
    widths = tuple(data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2))) for _ in a.shape)
    value = data.draw(st.sampled_from([0.0, -1.5]))
    np.testing.assert_array_equal(tc.pad(tc.tensor(a), widths, value).numpy(),
                                  np.pad(a, widths, constant_values=value))
    assert check(lambda x: tc.pad(x, widths, value), a, device=device)


@given(data=st.data())
def test_where_broadcast(data, device):
    shape_a, shape_b = data.draw(broadcastable_pair())
    a, b = data.draw(arrays(shape_a)), data.draw(arrays(shape_b))
    cond = data.draw(st.just(np.broadcast_shapes(shape_a, shape_b)).flatmap(
        lambda s: st.from_type(bool).flatmap(lambda _: arrays(s).map(lambda v: v > 0))))
    np.testing.assert_array_equal(tc.where(cond, tc.tensor(a), tc.tensor(b)).numpy(), np.where(cond, a, b))
    assert check(lambda x, y: tc.where(tc.tensor(cond, device=device), x, y), a, b, device=device)


def test_dtype_copy_passes_the_gradient_back_in_the_input_dtype(device):
    x = tc.tensor([1.0, 2.0], dtype="float64", requires_grad=True, device=device)
    y = x.to(dtype="float32")
    assert y.dtype == tc.float32
    (y * tc.tensor([3.0, 4.0], device=device)).sum().backward()
    assert x.grad.dtype == tc.float64
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


def test_composite_expression(device):
    # A small MLP-like expression mixing many ops: the chain rule across them.
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)

    def fn(x, w, b):
        h = (x @ w + b).tanh()
        return (h * h.sigmoid()).mean(axis=0) - h.var(axis=1, keepdims=True).sqrt()[0]

    assert check(fn, x, w, b, device=device)


def test_an_integer_tensor_meeting_a_float_tensor_takes_its_dtype():
    """PyTorch's promotion, where NumPy's would widen int64 with float32 to float64."""
    ints, floats = tc.tensor([1, 2, 3]), tc.ones(3)
    for result in (ints * floats, floats + ints, floats - ints, floats / ints, ints ** floats, ints @ floats,
                   tc.tensor([True, False, True]) * floats, floats * np.arange(3)):
        assert result.dtype == np.float32
    assert (tc.ones(3, dtype="float64") * ints).dtype == np.float64 and (ints * ints).dtype == np.int64
    x = tc.ones(3, requires_grad=True)
    (x * ints).sum().backward()                                 # the cast needs no gradient of its own
    np.testing.assert_array_equal(x.grad.numpy(), [1, 2, 3])


def test_integers_divided_or_meeting_a_python_float_become_float32_as_in_pytorch():
    """NumPy makes float64 of int / int and int * 0.5; PyTorch its default float, float32."""
    ints = tc.tensor([1, 2, 3])
    for result in (ints / ints, ints / 2, 2 / ints, ints * 0.5, 0.5 + ints, ints - 0.5, ints ** 0.5,
                   tc.tensor([True, False]) * 0.5, np.arange(1, 4) / ints):
        assert result.dtype == np.float32, result
    assert (ints / 2).tolist() == [0.5, 1.0, 1.5]
    assert (ints + 1).dtype == np.int64 and (ints * 2).dtype == np.int64      # integers stay integers
    assert (tc.ones(3, dtype="float64") / ints).dtype == np.float64          # a float tensor keeps its dtype
    assert (tc.ones(3, dtype="float16") / ints).dtype == np.float16 == (ints / tc.ones(3, dtype="float16")).dtype
    for change in ("/= 2", "*= 0.5", "+= tc.ones(3)"):
        t = tc.tensor([1, 2, 3])
        with pytest.raises(TypeError, match=r"in place: this int64 tensor cannot hold the float result"):
            exec(f"t {change}", {"t": t, "tc": tc})
        assert t.tolist() == [1, 2, 3]


def test_a_0d_float_and_integer_functions_follow_pytorchs_dtype_rules():
    """A 0-d float64 (clip_grad_norm_'s norm, np.float64(2)) meeting float32 activations leaves
    them float32, its gradient in its own dtype; exp/log/sqrt/tanh/sigmoid of integers, integers
    clipped to float bounds, joined with floats or picked by where against a float, averaged
    (mean, var, std): float32."""
    x = tc.randn(3, requires_grad=True)
    s = tc.tensor(2.0, dtype="float64", requires_grad=True)
    for y in (x * s, s * x, x + np.float64(1.0), x - s, x / s, x ** s, tc.maximum(x, s)):
        assert y.dtype == tc.float32, y
    (x * s).sum().backward()
    assert s.grad.dtype == tc.float64 and s.grad.item() == pytest.approx(x.sum().item(), rel=1e-6)
    assert x.grad.dtype == tc.float32 and tc.allclose(x.grad, tc.full((3,), 2.0))
    assert (tc.ones(2, 2, dtype="float64") + tc.tensor(1.0)).dtype == tc.float64     # the dimensioned one decides
    assert (tc.tensor(1.0, dtype="float64") * tc.tensor(1.0)).dtype == tc.float64    # two 0-d: NumPy's widening
    ints, floats, mask = tc.tensor([1, 2]), tc.tensor([0.5, 1.5]), tc.tensor([True, False])
    for y in (ints.exp(), ints.log(), ints.sqrt(), ints.tanh(), ints.sigmoid(), ints.clip(0.5, 1.5),
              tc.cat([floats, ints]), tc.stack([ints, floats], dim=1), tc.where(mask, ints, 0.5),
              tc.where(mask, floats, tc.tensor(0.0, dtype="float64"))):
        assert y.dtype == tc.float32, y
    assert ints.clip(0, 1).dtype == ints.abs().dtype == tc.where(mask, ints, 0).dtype == tc.int64
    assert ints.mean().dtype == ints.var().dtype == ints.std(unbiased=False).dtype == tc.float32 and ints.mean().item() == 1.5
    assert ints.sum().dtype == tc.int64                                              # a sum stays an integer
    np.testing.assert_allclose(ints.exp().numpy(), np.exp([1.0, 2.0]), rtol=1e-6)


@given(data=st.data())
def test_maximum_and_minimum_broadcast(data, device):
    shape_a, shape_b = data.draw(broadcastable_pair())
    a, b = data.draw(arrays(shape_a)), data.draw(arrays(shape_b))
    assume(np.all(np.abs(np.subtract(a, b)) > 1e-3))                 # no ties: the derivative exists
    for name, reference in (("maximum", np.maximum), ("minimum", np.minimum)):
        op = getattr(tc, name)
        np.testing.assert_array_equal(op(tc.tensor(a, device=device), tc.tensor(b, device=device)).numpy(),
                                      reference(a, b))
        assert check(op, a, b, device=device)
        assert check(lambda x, y: getattr(x, name[:3])(y), a, b, device=device)    # x.max(y), as PyTorch


def test_maximum_splits_a_tie_and_min_max_take_integers_and_nan():
    a, b = tc.tensor([1.0, 5.0, 3.0], requires_grad=True), tc.tensor([2.0, 5.0, 1.0], requires_grad=True)
    tc.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.0, 0.5, 1.0] and b.grad.tolist() == [1.0, 0.5, 0.0]        # as PyTorch
    # -x would wrap around for unsigned and smallest values: min is a reduction of its own
    assert tc.tensor(np.array([0, 255], np.uint8)).min().item() == 0
    assert tc.tensor(np.array([-128, 3], np.int8)).min().item() == -128
    assert tc.tensor(np.array([True, False])).min().item() is False
    values, indices = tc.tensor(np.array([[0, 5, 200]], np.uint8)).min(1)
    assert values.tolist() == [0] and indices.tolist() == [0]
    x = tc.tensor([[1.0, 1.0, 2.0]], requires_grad=True)
    x.min(1).values.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 0.0]]                      # along a dim: all to the index returned
    x.grad = None
    x.min().backward()
    assert x.grad.tolist() == [[0.5, 0.5, 0.0]]                      # the whole tensor's: ties split
    y = tc.tensor([1.0, float("nan"), 0.5], requires_grad=True)
    y.min().backward()
    assert y.grad.tolist() == [0.0, 1.0, 0.0]                        # NaN is the min, and takes the gradient
    assert tc.tensor(3.0).max(0).values.item() == 3.0 and tc.tensor(3.0).min(-1).indices.item() == 0


def test_an_integer_result_has_no_gradient():
    """Rounding is not differentiable: x.long() leaves the graph, as in PyTorch."""
    t = tc.tensor([1.5, 2.5], requires_grad=True)
    rounded = t.long()
    assert not rounded.requires_grad and rounded._ctx is None
    alias = rounded
    rounded += 1                                                      # no graph: in place
    assert alias.tolist() == [2, 3]
    with pytest.raises(RuntimeError, match="does not require grad"):
        (rounded.float() * 5).sum().backward()


@given(data=st.data())
def test_expand_repeats_size_1_axes_and_sums_the_gradient_back(data, device):
    a = data.draw(arrays(shapes(min_dims=0, max_dims=3)))
    grown = tuple(data.draw(st.integers(1, 3)) if n == 1 else n for n in a.shape)     # sizes of 1 may grow
    lead = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))                    # new axes in front
    typed = lead + tuple(-1 if data.draw(st.booleans()) and g == n else g for g, n in zip(grown, a.shape))
    x = tc.tensor(a, device=device)
    np.testing.assert_array_equal(x.expand(*typed).numpy(), np.broadcast_to(a, lead + grown))
    assert x.expand(typed).shape == x.expand_as(tc.zeros(*(lead + grown))).shape == lead + grown
    assert check(lambda t: t.expand(*typed) * 2, a, device=device)


def test_expand_refuses_what_cannot_grow_and_its_view_is_read_only():
    x = tc.zeros(2, 1)
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(2, 1\) to \(3, 4\): a size grows only "
                                         r"from 1 \(axis 0: 2 → 3\)"):
        x.expand(3, 4)
    with pytest.raises(ValueError, match="expand: expected a shape of at least 2 sizes"):
        x.expand(4)
    with pytest.raises(ValueError, match="a new leading axis needs one"):
        x.expand(-1, 2, 4)
    view = x.expand(2, 5)
    with pytest.raises(ValueError, match="read-only"):
        view += 1                                       # five entries share one number: no write


@given(data=st.data())
def test_split_and_chunk_cut_along_an_axis_and_the_gradient_finds_each_piece(data, device):
    a = data.draw(arrays(shapes(min_dims=1, max_dims=3)))
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
    n = a.shape[axis]
    size, chunks = data.draw(st.integers(1, n + 1)), data.draw(st.integers(1, n + 1))
    x = tc.tensor(a, device=device)
    pieces = x.split(size, dim=axis)
    assert [p.shape[axis] for p in pieces] == [min(size, n - s) for s in range(0, n, size)]
    np.testing.assert_array_equal(tc.cat(list(pieces), dim=axis).numpy(), a)
    per = -(-n // chunks)
    assert [p.shape[axis] for p in tc.chunk(x, chunks, axis)] == [min(per, n - s) for s in range(0, n, per)]
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
    sections = [b - e for b, e in zip(cuts + [n], [0] + cuts)]
    assert [p.shape[axis] for p in tc.split(x, sections, axis)] == sections
    assert check(lambda t: t.split(size, dim=axis), a, device=device)                   # each piece its own gradient
    assert check(lambda t: tc.split(t, sections, axis), a, device=device)


def test_split_and_chunk_refuse_bad_sizes():
    x = tc.zeros(5, 2)
    with pytest.raises(ValueError, match=r"split: sizes \[2, 2\] must be >= 0 and add up to 5"):
        x.split([2, 2])
    with pytest.raises(ValueError, match="split: split_size must be a positive int, got 0"):
        x.split(0)
    with pytest.raises(ValueError, match="chunk: chunks must be a positive int, got 0"):
        x.chunk(0)
    with pytest.raises(ValueError, match="split: axis 2 is out of range"):
        x.split(1, dim=2)


@given(data=st.data())
def test_masked_fill_is_where_with_the_tensors_shape_and_dtype(data, device):
    shape, mask_shape = data.draw(broadcastable_pair())
    shape = np.broadcast_shapes(shape, mask_shape)                # the mask broadcasts to x, never x to it
    a = data.draw(arrays(shape))
    mask = data.draw(st.lists(st.booleans(), min_size=int(np.prod(mask_shape)), max_size=int(np.prod(mask_shape))))
    mask = np.array(mask, dtype=bool).reshape(mask_shape)
    m = tc.tensor(mask, device=device)
    np.testing.assert_array_equal(tc.tensor(a, device=device).masked_fill(m, -7.0).numpy(), np.where(mask, -7.0, a))
    assert check(lambda x: x.masked_fill(m, 2.0) * x, a, device=device)
    assert tc.ones(2, dtype="float32").masked_fill(tc.tensor([True, False]), tc.tensor(2.0, dtype="float64")).dtype \
        == tc.float32


def test_masked_fill_keeps_an_integer_or_boolean_tensors_dtype():
    mask = tc.tensor([True, False, True])
    filled = tc.tensor([1, 2, 3], dtype="int32").masked_fill(mask, 2.5)      # 2.5 into int32 is 2, as PyTorch
    assert filled.dtype == tc.int32 and filled.tolist() == [2, 2, 2]
    assert tc.tensor([True, False, True]).masked_fill(mask, 0).tolist() == [False, False, False]


def test_masked_fill_refuses_a_mask_that_would_grow_the_tensor():
    with pytest.raises(ValueError, match=r"broadcasts to shape \(3,\), got shape \(2, 3\)"):
        tc.zeros(3).masked_fill(tc.ones(2, 3) > 0, 1.0)
    with pytest.raises(ValueError, match="a number or a 0-d tensor"):
        tc.zeros(3).masked_fill(tc.ones(3) > 0, tc.ones(3))


@given(data=st.data(), keepdim=st.booleans())
def test_amax_and_amin_reduce_over_axes_as_max_and_min_do(data, keepdim, device):
    shape, axis = data.draw(shape_and_axis())
    a = data.draw(distinct(shape))
    dim = () if axis is None else axis
    x = tc.tensor(a, device=device)
    np.testing.assert_array_equal(x.amax(dim, keepdim).numpy(), a.max(axis=axis, keepdims=keepdim))
    np.testing.assert_array_equal(x.amin(dim=dim, keepdim=keepdim).numpy(), a.min(axis=axis, keepdims=keepdim))
    assert check(lambda t: t.amax(dim, keepdim) * 3 + t.amin(dim, keepdim), a, device=device)


def test_amax_of_no_dims_or_of_a_0d_tensor_reduces_everything():
    x = tc.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], dtype="float64", requires_grad=True)
    top = x.amax(dim=[])                                    # PyTorch: [] names no dims, so all of them
    top.backward()
    assert top.item() == 3.0 and x.grad.tolist() == [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]
    assert tc.tensor(4.0).amax(0).item() == 4.0 and tc.tensor(4.0).amin(-1, keepdim=True).item() == 4.0


def test_sign_and_the_slope_of_abs_are_0_at_nan_as_pytorchs():
    x = tc.tensor([float("nan"), -2.0, 0.0, 5.0], dtype="float64", requires_grad=True)
    assert x.sign().tolist() == [0.0, -1.0, 0.0, 1.0]
    assert tc.tensor([True, False]).sign().tolist() == [True, False]
    x.abs().sum().backward()
    assert x.grad.tolist() == [0.0, -1.0, 0.0, 1.0]


def test_small_pytorch_methods_on_tensors():
    x = tc.tensor([[-1.5, 0.0], [float("nan"), float("inf")]])
    assert abs(tc.tensor([-2.0, 3.0])).tolist() == [2.0, 3.0]
    assert tc.tensor([-2.0, 3.0]).square().tolist() == [4.0, 9.0]
    assert tc.tensor([-2.0, 0.0, 3.0]).sign().tolist() == [-1.0, 0.0, 1.0]
    assert x.isnan().tolist() == [[False, False], [True, False]]
    assert x.isfinite().tolist() == [[True, True], [False, False]]
    assert tc.tensor([3, -4]).isnan().tolist() == [False, False] and tc.tensor([3, -4]).isfinite().all().item()
    assert tc.tensor([3, -4]).abs().tolist() == [3, 4] and tc.tensor([3, -4]).sign().tolist() == [1, -1]
    assert tc.zeros(4, 2, 3).mT.shape == (4, 3, 2)
    b = tc.tensor([[True, False], [False, False]])
    assert b.any(dim=1).tolist() == [True, False] and b.all(0, keepdim=True).tolist() == [[False, False]]
    assert b.any().item() is True and b.all().item() is False
    w = tc.ones(2, requires_grad=True)
    with tc.inference_mode():
        assert not (w * 2).requires_grad
    with tc.inference_mode(False):
        assert (w * 2).requires_grad


@given(data=st.data(), keepdim=st.booleans())
def test_norms_over_axes_and_the_gradient_x_over_the_norm(data, keepdim, device):
    shape, axis = data.draw(shape_and_axis())
    a = data.draw(away_from_zero(shape))
    x = tc.tensor(a, device=device)
    axes = axis if axis is None or isinstance(axis, tuple) else (axis,)
    np.testing.assert_allclose(x.norm(dim=axis, keepdim=keepdim).numpy(),
                               np.sqrt((a * a).sum(axis=axes, keepdims=keepdim)), rtol=1e-12)
    np.testing.assert_allclose(tc.norm(x, 1, axis, keepdim).numpy(), np.abs(a).sum(axis=axes, keepdims=keepdim),
                               rtol=1e-12)
    np.testing.assert_allclose(x.norm(float("inf"), axis, keepdim).numpy(), np.abs(a).max(axis=axes, keepdims=keepdim))
    np.testing.assert_allclose(x.norm(-float("inf"), axis, keepdim).numpy(), np.abs(a).min(axis=axes, keepdims=keepdim))
    assert check(lambda t: t.norm(dim=axis, keepdim=keepdim), a, device=device)
    p = data.draw(st.sampled_from([0.5, 1.5, 3, 4.25]))               # (Σ|x|^p)^(1/p), and its gradient
    np.testing.assert_allclose(x.norm(p, axis, keepdim).numpy(),
                               (np.abs(a) ** p).sum(axis=axes, keepdims=keepdim) ** (1 / p), rtol=1e-12)
    assert check(lambda t: t.norm(p, axis, keepdim), a, device=device)
    with_zeros = np.where(np.abs(a) < 0.5, 0.0, a)
    np.testing.assert_array_equal(tc.tensor(with_zeros).norm(0, axis, keepdim).numpy(),
                                  (with_zeros != 0).sum(axis=axes, keepdims=keepdim))


def test_the_norm_of_zeros_has_gradient_0_and_of_nan_nan_as_in_pytorch():
    x = tc.zeros(2, 3, dtype="float64", requires_grad=True)
    x.norm(dim=1).sum().backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2
    y = tc.tensor([1.0, float("nan"), 2.0], dtype="float64", requires_grad=True)
    y.norm().backward()
    assert np.isnan(y.grad.numpy()).all()
    assert tc.tensor([[1.0, -2.0], [3.0, 0.0]]).norm(2, ()).item() == pytest.approx(14 ** 0.5)   # () : all axes
    assert tc.tensor(-2.5).norm(dim=0).item() == 2.5
    z = tc.tensor([0.0, 3.0, -4.0], dtype="float64", requires_grad=True)  # an entry at 0: slope 0 there
    z.norm(0.5).backward()                                               # (for p < 1 it is infinite)
    r = (3 ** 0.5 + 4 ** 0.5) ** 2
    np.testing.assert_allclose(z.grad.numpy(), [0.0, (3 / r) ** -0.5, -(4 / r) ** -0.5], rtol=1e-12)
    for p in (-1, "nuc", float("nan")):
        with pytest.raises(ValueError, match="p must be a number ≥ 0, inf, -inf or 'fro'"):
            x.norm(p)
    with pytest.raises(TypeError, match="floating-point tensor, got int64"):
        tc.tensor([3, 4]).norm()


@given(data=st.data())
def test_cumsum_and_its_gradient_summed_from_the_other_end(data, device):
    shape, _ = data.draw(shape_and_axis())
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = data.draw(arrays(shape))
    np.testing.assert_allclose(tc.cumsum(tc.tensor(a, device=device), dim).numpy(), np.cumsum(a, axis=dim), rtol=1e-12)
    weight = tc.arange(a.size, dtype="float64", device=device).reshape(a.shape)
    assert check(lambda t: t.cumsum(dim) * weight, a, device=device)


def test_cumsum_of_integers_is_int64_and_of_a_0d_tensor_a_copy():
    assert tc.tensor([200, 100], dtype="uint8").cumsum(0).tolist() == [200, 300]
    assert tc.tensor([True, True]).cumsum(0).dtype == tc.int64
    x = tc.tensor(2.5)
    y = x.cumsum(-1)
    x[...] = 9.0
    assert y.item() == 2.5
    with pytest.raises(IndexError, match=r"an int in \[-1, 0\], got 1"):
        x.cumsum(1)
    with pytest.raises(TypeError, match="dim must be one axis"):
        tc.zeros(3).cumsum(None)


@given(a=arrays(shapes(min_dims=0, max_dims=3)), data=st.data())
def test_repeat_tiles_as_numpy_and_sums_the_gradient_of_every_copy(a, data, device):
    sizes = tuple(data.draw(st.lists(st.integers(1, 3), min_size=a.ndim, max_size=a.ndim + 2)))
    x = tc.tensor(a, device=device)
    tiled = x.repeat(*sizes)
    np.testing.assert_array_equal(tiled.numpy(), np.tile(a, sizes))
    x[...] = 7.0                                              # a copy, never a view of x (also for sizes of 1)
    np.testing.assert_array_equal(tiled.numpy(), np.tile(a, sizes))
    assert check(lambda t: t.repeat(sizes) ** 2, a, device=device)


def test_repeat_needs_a_count_per_axis():
    with pytest.raises(ValueError, match="repeat: expected at least"):
        tc.zeros(2, 3).repeat(2)


@given(data=st.data())
def test_floor_division_and_remainder_follow_python_on_integers(data, device):
    shape_a, shape_b = data.draw(broadcastable_pair())
    a = data.draw(hnp.arrays(np.int64, shape_a, elements=st.integers(-20, 20)))
    b = data.draw(hnp.arrays(np.int64, shape_b, elements=st.integers(1, 6).map(lambda k: k * data.draw(st.sampled_from([-1, 1])))))
    x, y = tc.tensor(a, device=device), tc.tensor(b, device=device)
    np.testing.assert_array_equal((x // y).numpy(), a // b)
    np.testing.assert_array_equal((x % y).numpy(), a % b)
    assert (x % y).dtype == tc.int64 and (7 // y).numpy().tolist() == (7 // b).tolist()


@pytest.mark.parametrize("divide", [lambda a, b: a // b, lambda a, b: a % b, lambda a, b: 7 // b])
def test_integers_divided_by_zero_raise_as_in_python(divide, device):
    """NumPy's integer 7 // 0 is a silent 0; Python and PyTorch raise, and so does tinycoat."""
    with pytest.raises(ZeroDivisionError, match=r"integer division by zero \(1 of the 3 divisors are 0\)"):
        divide(tc.tensor([5, 6, 7], device=device), tc.tensor([2, 0, -3], device=device))
    with np.errstate(divide="ignore", invalid="ignore"):               # floats have inf and NaN to say it
        by_zero = divide(tc.tensor([5.0], device=device), tc.tensor([0.0], device=device)).item()
    assert math.isinf(by_zero) or math.isnan(by_zero)


@given(a=hnp.arrays(np.float64, 6, elements=st.floats(-1e3, 1e3)),
       b=hnp.arrays(np.float64, 6, elements=st.floats(1e-3, 1e3).flatmap(lambda v: st.sampled_from([v, -v]))))
def test_floor_division_and_remainder_of_floats_are_numpys_and_pythons(a, b, device):
    """Including quotients that round to a whole number: 1.0 // 0.1 is 9 (0.1 is a little more than a
    tenth), which floor(1.0 / 0.1) = 10 gets wrong."""
    a = np.concatenate([a, [1.0, 0.7, -0.3, -2.0, 3.0, -2.0, -0.5, 0.0]])
    b = np.concatenate([b, [0.1, 0.1, 0.1, 1.0, -np.inf, np.inf, -3.0, -3.0]])     # (an infinite divisor: −1, as Python)
    x, y = tc.tensor(a, device=device), tc.tensor(b, device=device)
    np.testing.assert_array_equal((x // y).numpy(), np.floor_divide(a, b))
    np.testing.assert_array_equal((x % y).numpy(), np.remainder(a, b))
    assert (x // y).numpy()[6] == 9.0 == 1.0 // 0.1 and np.signbit((x % y).numpy()[9]) == np.signbit(-2.0 % 1.0)


@given(data=st.data())
def test_remainder_of_floats_has_pytorchs_gradients(data, device):
    """a % b = a − b·⌊a/b⌋: gradient 1 for a and −⌊a/b⌋ for b, away from the jumps where a/b is whole."""
    shape_a, shape_b = data.draw(broadcastable_pair())
    shape = np.broadcast_shapes(shape_a, shape_b)                 # a the full shape, b broadcast to it
    b = data.draw(away_from_zero(shape_b, 0.5, 3.0))
    quotient = data.draw(hnp.arrays(np.float64, shape,
                                    elements=st.integers(-3, 3).flatmap(lambda k: st.floats(k + 0.2, k + 0.8))))
    a = quotient * b
    np.testing.assert_allclose((tc.tensor(a) % tc.tensor(b)).numpy(), np.remainder(a, b), rtol=1e-12, atol=1e-12)
    assert check(lambda x, y: x % y, a, b, device=device)
    assert not (tc.tensor(a, requires_grad=True) // 2.0).requires_grad


@given(data=st.data(), keepdim=st.booleans())
def test_logsumexp_is_stable_and_its_gradient_the_softmax(data, keepdim, device):
    shape, _ = data.draw(shape_and_axis())
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = data.draw(arrays(shape, -50, 50))
    m = a.max(axis=dim, keepdims=True)
    expected = np.log(np.exp(a - m).sum(axis=dim, keepdims=True)) + m
    np.testing.assert_allclose(tc.tensor(a, device=device).logsumexp(dim, keepdim).numpy(),
                               expected if keepdim else np.squeeze(expected, dim), rtol=1e-12)
    assert check(lambda t: t.logsumexp(dim, keepdim), a, device=device)


def test_logsumexp_of_huge_and_of_minus_infinite_entries_and_of_nothing():
    assert tc.zeros(2, 0).logsumexp(1).tolist() == [-np.inf, -np.inf]
    assert tc.tensor([1000.0, 1000.0]).logsumexp(0).item() == pytest.approx(1000 + np.log(2))
    with np.errstate(divide="ignore"):                          # (log 0, on the way to −inf)
        assert tc.tensor([-np.inf, -np.inf]).logsumexp(0).item() == -np.inf


def test_pytorchs_method_spellings_and_index_helpers(device):
    x = tc.arange(6.0, device=device).reshape(2, 3)
    assert x.t().shape == (3, 2) and tc.arange(3.0).t().shape == (3,)
    assert [r.tolist() for r in x.unbind(1)] == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    assert x.narrow(1, 1, 2).tolist() == [[1.0, 2.0], [4.0, 5.0]] and x.narrow(1, -1, 1).tolist() == [[2.0], [5.0]]
    assert x.index_select(1, tc.tensor([2, 0], device=device)).tolist() == [[2.0, 0.0], [5.0, 3.0]]
    assert (x > 2).nonzero().tolist() == [[1, 0], [1, 1], [1, 2]]
    assert [w.tolist() for w in tc.where(x > 3)] == [[1, 1], [1, 2]]
    assert x.add(1, alpha=2).tolist() == [[2.0, 3.0, 4.0], [5.0, 6.0, 7.0]] and x.sub(x).sum().item() == 0.0
    assert x.mul(2).div(2).pow(2).neg().tolist() == (-(x * x)).tolist()
    assert x.clamp_min(2).min().item() == 2.0 and x.clamp_max(2).max().item() == 2.0
    assert x.is_floating_point() and not tc.tensor([1]).is_floating_point()
    assert x.element_size() == 4 and x.nbytes == 24
    y = x.new_zeros(2, 2)
    assert y.dtype == x.dtype and y.device == x.device and x.new_ones((3,)).tolist() == [1.0] * 3
    assert x.new_full((2,), 7.0).tolist() == [7.0, 7.0] and x.new_tensor([1, 2]).dtype == tc.float32
    w = tc.ones(2, requires_grad=True)
    assert w.grad_fn is None and type((w * 2).grad_fn).__name__ == "Mul"
    with pytest.raises(ValueError, match="at most 2 axes"):
        tc.zeros(2, 2, 2).t()
    with pytest.raises(IndexError, match="do not fit"):
        x.narrow(1, 2, 2)
    with pytest.raises(ValueError, match="narrow: axis 2 is out of range"):
        x.narrow(2, 0, 1)
    with pytest.raises(ValueError, match="index_select: axis -3 is out of range"):
        x.index_select(-3, tc.tensor([0], device=device))
    with pytest.raises(IndexError, match=r"indices must lie in \[0, 2\)"):
        x.index_select(0, tc.tensor([-1], device=device))
    assert tc.tensor(5.0).index_select(0, tc.tensor([0])).tolist() == 5.0      # (0-d in, 0-d out, as PyTorch)


@pytest.mark.parametrize("mode", [tc.no_grad, tc.inference_mode])
def test_no_grad_and_inference_mode_decorate_with_or_without_parentheses_and_generators_step_by_step(mode):
    @mode
    def doubled(w):
        return w * 2

    @mode()
    def steps(w):
        yield w * 2
        yield tc.is_grad_enabled()

    w = tc.ones(2, requires_grad=True)
    assert not doubled(w).requires_grad
    first, grad_mode = steps(w)
    assert not first.requires_grad and grad_mode is False and tc.is_grad_enabled()
    context = mode()                                                # one object, entered twice
    for _ in range(2):
        with context:
            assert not (w * 2).requires_grad
    assert (w * 2).requires_grad
