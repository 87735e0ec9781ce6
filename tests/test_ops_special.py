"""The special functions of ops/special.py: values against NumPy and math, a float64 gradient check
of each inside its domain (away from kinks and poles), dtypes (float32 stays float32, integers
become float32), edge values exactly as NumPy gives them, PyTorch's gradients where the formulas
break down, the accuracy of the written-out erf, erfc and erfinv, and errors that name the function.
"""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinycoat as tc
from tinycoat.autograd import instrumented
from tinycoat.ops import special as S
from strategies import FLOAT, arrays, away_from_zero, broadcastable_pair, positive, shapes


# NumPy warns where it makes NaN or ±∞ (arcsin(2), log2(0), 0/0, cosh(1e300)); the tests marked so
# make them on purpose.
numpy_edges = pytest.mark.filterwarnings("ignore:.* encountered in:RuntimeWarning")


def leaf(array, device):
    return tc.tensor(array, requires_grad=True, dtype="float64", device=device)


def check(fn, *arrays_, device):
    return tc.gradcheck(fn, *[leaf(a, device) for a in arrays_])


def const(array, device, dtype="float64"):
    return tc.tensor(array, dtype=dtype, device=device)


def quiet(function, *args):
    """A NumPy reference, without its warnings about NaN and ±∞ results."""
    with np.errstate(all="ignore"):
        return function(*args)


def math_erf(x): return np.vectorize(math.erf, otypes=[float])(x)
def math_erfc(x): return np.vectorize(math.erfc, otypes=[float])(x)


def erfinv_by_bisection(y):
    """erfinv of a float64 number, to the last bit: halve [0, 6] until the midpoint is an end. The
    residual erf(x) − |y| is taken as (1 − |y|) − erfc(x) from ½ on, where erf(x) has too few digits."""
    a = abs(y)
    if a >= 1:
        return math.copysign(math.inf, y) if a == 1 else math.nan
    low, high = 0.0, 6.0
    while True:
        mid = (low + high) / 2
        if mid in (low, high):
            return math.copysign(mid, y)
        below = math.erf(mid) < a if a < 0.5 else math.erfc(mid) > 1 - a
        low, high = (mid, high) if below else (low, mid)


def grid(shape, low=-3.0, high=3.0):
    """Odd multiples of 1/16 in [low, high]: never a whole number or a multiple of 1/8, so at least
    1/16 from frac's jumps and from fmod's (for divisors that are multiples of 1/8)."""
    k = st.integers(int(low * 8), int(high * 8) - 1)
    return hnp.arrays(FLOAT, shape, elements=k.map(lambda k: (k + 0.5) / 8))


# ------------------------------------------------------------------ functions of one tensor

UNARY = {
    # name: (function, float64 reference, values to compare, values to differentiate at)
    "asin": (S.asin, np.arcsin, lambda s: arrays(s, -1.0, 1.0), lambda s: arrays(s, -0.9, 0.9)),
    "acos": (S.acos, np.arccos, lambda s: arrays(s, -1.0, 1.0), lambda s: arrays(s, -0.9, 0.9)),
    "atan": (S.atan, np.arctan, lambda s: arrays(s, -30.0, 30.0), arrays),
    "sinh": (S.sinh, np.sinh, lambda s: arrays(s, -30.0, 30.0), arrays),
    "cosh": (S.cosh, np.cosh, lambda s: arrays(s, -30.0, 30.0), arrays),
    "asinh": (S.asinh, np.arcsinh, lambda s: arrays(s, -30.0, 30.0), arrays),
    "acosh": (S.acosh, np.arccosh, lambda s: positive(s, 1.0, 30.0), lambda s: positive(s, 1.2, 4.0)),
    "atanh": (S.atanh, np.arctanh, lambda s: arrays(s, -0.999, 0.999), lambda s: arrays(s, -0.9, 0.9)),
    "erf": (S.erf, math_erf, lambda s: arrays(s, -7.0, 7.0), arrays),
    "erfc": (S.erfc, math_erfc, lambda s: arrays(s, -7.0, 26.0), arrays),
    "erfinv": (S.erfinv, np.vectorize(erfinv_by_bisection, otypes=[float]), lambda s: arrays(s, -1.0, 1.0),
               lambda s: arrays(s, -0.95, 0.95)),
    "exp2": (S.exp2, np.exp2, lambda s: arrays(s, -60.0, 60.0), arrays),
    "log2": (S.log2, np.log2, lambda s: positive(s, 1e-6, 1e6), positive),
    "log10": (S.log10, np.log10, lambda s: positive(s, 1e-6, 1e6), positive),
    "frac": (S.frac, lambda x: x - np.trunc(x), lambda s: arrays(s, -30.0, 30.0), grid),
    "sinc": (S.sinc, np.sinc, lambda s: arrays(s, -6.0, 6.0), arrays),
    "nan_to_num": (S.nan_to_num, np.nan_to_num, arrays, arrays),
}
# erf, erfc and erfinv are written out here (Cody's approximations): a few ulps from the true values;
# the others are NumPy's own functions, or exact. (atol: results below the normal numbers, where
# Hypothesis's tiny inputs take erf and erfinv, have no relative precision left.)
RTOL = {"erf": 1e-15, "erfc": 2e-15, "erfinv": 2e-15}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_values_and_gradients(name, data, device):
    fn, reference, values, differentiable = UNARY[name]
    x = data.draw(values(shapes()))
    np.testing.assert_allclose(fn(const(x, device)).numpy(), reference(x), rtol=RTOL.get(name, 1e-15), atol=1e-300)
    assert check(fn, data.draw(differentiable(shapes())), device=device)


@numpy_edges
@pytest.mark.parametrize("name", sorted(UNARY))
def test_float32_stays_float32_and_integers_become_float32(name, device):
    fn, reference, _, _ = UNARY[name]
    x = np.array([[0.25, -0.5, 0.75], [0.125, 0.5, -0.875]])
    out = fn(const(x, device, "float32"))
    assert out.dtype == tc.float32
    np.testing.assert_allclose(out.numpy(), quiet(reference, x), rtol=1e-6, atol=1e-7)
    if name == "nan_to_num":                              # (as PyTorch: integers keep their dtype)
        ints = tc.tensor([[1, -2], [3, 0]], device=device)
        assert fn(ints).dtype == tc.int64 and fn(ints).tolist() == [[1, -2], [3, 0]]
        return
    whole = np.array([[1, 2, 3], [0, -1, 4]])
    out = fn(tc.tensor(whole, device=device))
    assert out.dtype == tc.float32
    np.testing.assert_allclose(out.numpy(), quiet(reference, whole.astype(np.float32)), rtol=1e-6, atol=1e-7)


@numpy_edges
def test_no_float64_in_a_float32_forward_or_backward():
    """Every Function here returns, saves and hands back float32 for float32 inputs (no NumPy
    promotion through a float64 constant, a Python inf or a where)."""
    found = []

    def wrap(cls, method, original):
        def watched(self, *args, **kwargs):
            out = original(self, *args, **kwargs)
            values = list(out) if isinstance(out, tuple) else [out]
            values += [v for v in vars(self).values() if hasattr(v, "dtype") and hasattr(v, "shape")]
            found.extend(f"{cls.__name__}.{method}" for v in values if getattr(v, "dtype", None) == np.float64)
            return out
        return watched

    x = tc.tensor([[0.3, -0.6], [0.9, 0.1]], requires_grad=True)
    y = tc.tensor([1.5, 2.5], requires_grad=True)
    with instrumented(wrap):
        outputs = [fn(x) for fn, *_ in UNARY.values()] + [S.acosh(y), S.erfinv(tc.tensor([1.0, -1.0, 2.0]))]
        outputs += [S.atan2(x, y), S.hypot(x, y), S.xlogy(x, y), S.fmod(x, y), S.lerp(x, y, 0.3), S.lerp(x, y, x)]
        sum(o.sum() for o in outputs if o.requires_grad).backward()
    assert not found, found
    assert x.grad.dtype == y.grad.dtype == tc.float32


# ------------------------------------------------------------------ functions of two and three tensors

BINARY = {
    # name: (function, reference, values of a and b to compare, values to differentiate at)
    "atan2": (S.atan2, np.arctan2, (arrays, arrays), (away_from_zero, arrays)),        # (no origin, no cut at y = 0)
    "hypot": (S.hypot, np.hypot, (arrays, arrays), (away_from_zero, arrays)),          # (no tip at 0)
    "xlogy": (S.xlogy, lambda x, y: np.where(x == 0, 0.0, x * np.log(y)), (arrays, positive), (arrays, positive)),
    "fmod": (S.fmod, np.fmod, (arrays, away_from_zero),
             (grid, lambda s: hnp.arrays(FLOAT, s, elements=st.sampled_from([-3.0, -1.25, -0.75, 0.5, 2.0])))),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_values_and_gradients_broadcast(name, data, device):
    fn, reference, (a_values, b_values), (a_diff, b_diff) = BINARY[name]
    shape_a, shape_b = data.draw(broadcastable_pair())
    a, b = data.draw(a_values(shape_a)), data.draw(b_values(shape_b))
    out = fn(const(a, device), const(b, device))
    assert out.shape == np.broadcast_shapes(shape_a, shape_b)
    np.testing.assert_allclose(out.numpy(), reference(a, b), rtol=1e-15, atol=0)
    assert check(fn, data.draw(a_diff(shape_a)), data.draw(b_diff(shape_b)), device=device)


@given(data=st.data())
def test_xlogy_is_differentiable_where_x_is_zero(data, device):
    """f(0, y) = 0 for every y: ∂f/∂y = 0/y = 0, and ∂f/∂x = log(y), x·log(y)'s slope through 0."""
    shape = data.draw(shapes())
    x = data.draw(hnp.arrays(FLOAT, shape, elements=st.sampled_from([0.0, 0.0, 1.5, -2.0])))
    assert check(S.xlogy, x, data.draw(positive(shape)), device=device)


def three_broadcastable():
    shapes_ = hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3)
    return shapes_.map(lambda r: r.input_shapes)


@given(data=st.data())
def test_lerp_broadcasts_three_ways(data, device):
    shape_a, shape_b, shape_w = data.draw(three_broadcastable())
    a, b, w = data.draw(arrays(shape_a)), data.draw(arrays(shape_b)), data.draw(arrays(shape_w, -1.0, 2.0))
    out = S.lerp(const(a, device), const(b, device), const(w, device))
    np.testing.assert_allclose(out.numpy(), a + w * (b - a), rtol=0, atol=1e-14)
    assert check(S.lerp, a, b, w, device=device)


@given(data=st.data(), weight=st.sampled_from([0.0, 0.3, 0.5, 1.0, -0.5, 1.5]))
def test_lerp_with_a_number_as_weight(data, weight, device):
    shape_a, shape_b = data.draw(broadcastable_pair())
    a, b = data.draw(arrays(shape_a)), data.draw(arrays(shape_b))
    out = S.lerp(const(a, device), const(b, device), weight)
    np.testing.assert_allclose(out.numpy(), a + weight * (b - a), rtol=0, atol=1e-14)
    assert check(lambda s, e: S.lerp(s, e, weight), a, b, device=device)


def test_lerp_reaches_both_ends_exactly(device):
    a, b = const([0.1, -3.7, 1e-3], device), const([0.7, 2.9, 5e8], device)
    assert S.lerp(a, b, 0.0).tolist() == a.tolist()
    assert S.lerp(a, b, 1.0).tolist() == b.tolist()


@pytest.mark.parametrize("name", sorted(BINARY) + ["lerp"])
def test_binary_dtypes(name, device):
    fn = BINARY[name][0] if name != "lerp" else (lambda a, b: S.lerp(a, b, 0.25))
    a32 = tc.tensor([1.5, -2.5, 3.0], device=device)
    assert fn(a32, tc.tensor([2.0, 0.5, 1.5], device=device)).dtype == tc.float32
    assert fn(a32, 2.0).dtype == tc.float32                                  # (a number takes the tensor's dtype)
    ints = fn(tc.tensor([3, -7, 5], device=device), tc.tensor([2, 3, 4], device=device))
    assert ints.dtype == (tc.int64 if name == "fmod" else tc.float32)          # (PyTorch's integer fmod)


# ------------------------------------------------------------------ edge values, as NumPy gives them

EDGES = np.array([0.0, -0.0, 1.0, -1.0, 1.5, -1.5, 0.5, 1e-300, 1e300, -1e300, np.inf, -np.inf, np.nan])
SAME_AS_NUMPY = {"asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
                 "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "exp2": np.exp2, "log2": np.log2,
                 "log10": np.log10, "sinc": np.sinc, "nan_to_num": np.nan_to_num, "erf": math_erf, "erfc": math_erfc}


@numpy_edges
@pytest.mark.parametrize("name", sorted(SAME_AS_NUMPY))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_edge_values_are_numpys(name, dtype, device):
    """Domain ends and beyond (NaN, ±∞, ±0) exactly as NumPy; as math for erf and erfc (NaN, ±∞ and
    ±0 exactly, other values within their few ulps)."""
    x = quiet(EDGES.astype, dtype)
    got = getattr(S, name)(const(x, device, dtype)).numpy()
    want = quiet(SAME_AS_NUMPY[name], x).astype(dtype)
    if name in ("erf", "erfc"):
        np.testing.assert_allclose(got, want, rtol=2e-15 if dtype == "float64" else 4e-7, atol=0)
    else:
        np.testing.assert_array_equal(got, want)
    number = ~np.isnan(want)
    np.testing.assert_array_equal(np.signbit(got[number]), np.signbit(want[number]))      # (−0 stays −0)


def test_erfinv_edges(device):
    y = const([1.0, -1.0, 0.0, -0.0, 1.5, -2.0, np.inf, np.nan], device)
    got = S.erfinv(y).numpy()
    np.testing.assert_array_equal(got, [np.inf, -np.inf, 0.0, -0.0, np.nan, np.nan, np.nan, np.nan])
    assert np.signbit(got[3]) and not np.signbit(got[2])


@numpy_edges
def test_binary_edge_values_are_numpys(device):
    a = np.array([0.0, -0.0, 0.0, 1.0, np.inf, 1.0, np.nan, 5.0, -5.0, np.inf])
    b = np.array([-0.0, -0.0, 0.0, 0.0, 2.0, np.inf, 1.0, 0.0, 3.0, np.nan])
    for name, reference in (("atan2", np.arctan2), ("hypot", np.hypot), ("fmod", np.fmod)):
        got = getattr(S, name)(const(a, device), const(b, device)).numpy()
        np.testing.assert_array_equal(got, quiet(reference, a, b), err_msg=name)
        number = ~np.isnan(got)
        np.testing.assert_array_equal(np.signbit(got[number]), np.signbit(quiet(reference, a, b)[number]), err_msg=name)
    np.testing.assert_array_equal(S.frac(const([np.inf, -np.inf, np.nan, -2.0, -2.25], device)).numpy(),
                                  [np.nan, np.nan, np.nan, 0.0, -0.25])


@numpy_edges
def test_xlogy_edge_values(device):
    x = const([0.0, 0.0, 0.0, 0.0, 1.0, 2.0, np.inf], device)
    y = const([0.0, -1.0, np.inf, np.nan, 0.0, -1.0, 1.0], device)
    np.testing.assert_array_equal(S.xlogy(x, y).numpy(), [0.0, 0.0, 0.0, np.nan, -np.inf, np.nan, np.nan])


def test_nan_to_num_replacements(device):
    x = np.array([np.nan, np.inf, -np.inf, 1.5, -0.0])
    for dtype in ("float64", "float32"):
        finfo = np.finfo(dtype)
        got = S.nan_to_num(const(x, device, dtype)).numpy()
        np.testing.assert_array_equal(got, np.array([0.0, finfo.max, finfo.min, 1.5, -0.0], dtype))
        got = S.nan_to_num(const(x, device, dtype), nan=-1.0, posinf=7.0, neginf=-8.0).numpy()
        np.testing.assert_array_equal(got, np.array([-1.0, 7.0, -8.0, 1.5, -0.0], dtype))
    assert S.nan_to_num(const(x, device), nan=None, posinf=2).tolist()[:2] == [0.0, 2.0]     # (None: 0, as PyTorch)
    assert S.nan_to_num(tc.tensor([True, False], device=device)).tolist() == [True, False]


# ------------------------------------------------------------------ gradients where the formulas break down

def grads(fn, *values, device):
    """d(Σ fn)/d(each input), in float64."""
    leaves = [leaf(np.array(v, dtype=float), device) for v in values]
    fn(*leaves).sum().backward()
    return [t.grad.numpy() for t in leaves]


@numpy_edges
def test_gradients_at_domain_ends_are_pytorchs(device):
    inf, nan = np.inf, np.nan
    np.testing.assert_array_equal(grads(S.asin, [1.0, -1.0, 2.0], device=device)[0], [inf, inf, nan])
    np.testing.assert_array_equal(grads(S.acos, [1.0, -1.0], device=device)[0], [-inf, -inf])
    np.testing.assert_array_equal(grads(S.acosh, [1.0, 0.5], device=device)[0], [inf, nan])
    np.testing.assert_array_equal(grads(S.atanh, [1.0, -1.0], device=device)[0], [inf, inf])
    np.testing.assert_array_equal(grads(S.erfinv, [1.0, -1.0, 0.0, 2.0], device=device)[0],
                                  [inf, inf, math.sqrt(math.pi) / 2, nan])
    np.testing.assert_array_equal(grads(S.log2, [0.0, -1.0], device=device)[0], [inf, -1 / math.log(2)])
    np.testing.assert_array_equal(grads(S.sinc, [0.0], device=device)[0], [0.0])


@numpy_edges
def test_gradients_at_the_origin_are_pytorchs(device):
    """atan2 jumps at (0, 0): both gradients 0 there. hypot's cone has its tip there: 0/0 = NaN."""
    gy, gx = grads(S.atan2, [0.0, 1.0], [0.0, 0.0], device=device)
    np.testing.assert_array_equal(gy, [0.0, 0.0])
    np.testing.assert_array_equal(gx, [0.0, -1.0])
    ga, gb = grads(S.hypot, [0.0, 3.0], [0.0, 4.0], device=device)
    np.testing.assert_array_equal(ga, [np.nan, 0.6])
    np.testing.assert_array_equal(gb, [np.nan, 0.8])


def test_atan2_gradient_neither_underflows_nor_overflows(device):
    """x/r² from r = hypot(x, y): right where r² is below the smallest or above the largest float64."""
    gy, gx = grads(S.atan2, [1e-300, 1e200], [2e-300, 1e200], device=device)
    np.testing.assert_allclose(gy, [4e299, 0.5e-200], rtol=4e-15)       # x/(x² + y²) = 2e−300/5e−600
    np.testing.assert_allclose(gx, [-2e299, -0.5e-200], rtol=4e-15)


@numpy_edges
def test_xlogy_gradients_where_x_is_zero_are_pytorchs(device):
    gx, gy = grads(S.xlogy, [0.0, 0.0, 0.0, 1.0], [0.0, -1.0, 2.0, 0.0], device=device)
    np.testing.assert_array_equal(gx, [0.0, 0.0, math.log(2.0), -np.inf])
    np.testing.assert_array_equal(gy, [np.nan, -0.0, 0.0, np.inf])


def test_nan_to_num_passes_the_gradient_where_x_was_finite(device):
    (g,) = grads(lambda t: S.nan_to_num(t, nan=1.0, posinf=2.0, neginf=3.0),
                 [1.5, np.nan, np.inf, -np.inf, -0.0], device=device)
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.0, 0.0, 1.0])
    x = np.array([0.5, np.nan, -2.0, np.inf, -np.inf])        # (the replacements are constants: slope 0)
    assert check(lambda t: S.nan_to_num(t, posinf=2.0, neginf=-3.0), x, device=device)


@numpy_edges
def test_fmod_gradient_counts_the_divisors_fmod_took_away(device):
    """fmod(1.0, 0.1) = 1.0 − 9·0.1 (0.1 is a little more than 1/10), so ∂/∂b = −9, where
    trunc(1.0 / 0.1) = 10 (PyTorch's gradient) would count one too many. At b = 0, trunc(a/b)."""
    ga, gb = grads(S.fmod, [1.0, 5.0, -5.0, 5.0], [0.1, 3.0, 3.0, 0.0], device=device)
    np.testing.assert_array_equal(ga, [1.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(gb, [-9.0, -1.0, 1.0, -np.inf])


def test_sinc_slope_keeps_its_digits_near_zero(device):
    """Near 0, d sinc/dx ≈ −π²x/3 (the series' first term); the formula (cos πx − sinc x)/x loses
    every digit there to cancellation."""
    x = np.array([1e-12, -1e-9, 1e-6, 1e-4])
    (g,) = grads(S.sinc, x, device=device)
    np.testing.assert_allclose(g, -math.pi ** 2 * x / 3 * (1 - math.pi ** 2 * x ** 2 / 10), rtol=1e-15)


def test_asinh_and_acosh_gradients_where_x_squared_overflows(device):
    np.testing.assert_allclose(grads(S.asinh, [1e200, -1e300], device=device)[0], [1e-200, 1e-300], rtol=1e-15)
    np.testing.assert_allclose(grads(S.acosh, [1e200], device=device)[0], [1e-200], rtol=1e-15)


# ------------------------------------------------------------------ the accuracy of erf, erfc and erfinv

def ulps(got, want):
    """|got − want| in units of the last place of want, in got's dtype (0 where both are 0)."""
    spacing = np.spacing(np.abs(want).astype(got.dtype)).astype(float)
    return np.abs(got.astype(float) - want) / spacing


DENSE = np.concatenate([np.linspace(-28.0, 28.0, 40001), np.geomspace(1e-300, 6.0, 2000),
                        -np.geomspace(1e-300, 6.0, 2000), [0.46875, -0.46875, 4.0, -4.0]])


def test_erf_and_erfc_are_within_a_few_ulps_of_math():
    """Cody's approximations against math.erf and math.erfc, in float64 and in float32 arithmetic
    (for results that are normal numbers: below them an ulp is no longer relative)."""
    erf_want, erfc_want = math_erf(DENSE), math_erfc(DENSE)
    assert ulps(S.erf_array(DENSE), erf_want).max() <= 4
    normal = erfc_want > np.finfo(np.float64).tiny
    assert ulps(S.erfc_array(DENSE)[normal], erfc_want[normal]).max() <= 8
    x32 = DENSE.astype(np.float32)
    erf_want, erfc_want = math_erf(x32.astype(float)), math_erfc(x32.astype(float))
    assert S.erf_array(x32).dtype == S.erfc_array(x32).dtype == np.float32
    assert ulps(S.erf_array(x32), erf_want).max() <= 4
    normal = erfc_want > np.finfo(np.float32).tiny
    assert ulps(S.erfc_array(x32)[normal], erfc_want[normal]).max() <= 12
    x16 = np.linspace(-5, 5, 101).astype(np.float16)
    np.testing.assert_allclose(S.erf_array(x16).astype(float), math_erf(x16.astype(float)), atol=1e-3)


def test_erfinv_is_within_a_few_ulps_of_the_inverse():
    y = np.concatenate([np.linspace(-0.9999, 0.9999, 2001), 1 - np.geomspace(2 ** -53, 0.5, 300),
                        -(1 - np.geomspace(2 ** -53, 0.5, 300)), np.geomspace(1e-300, 0.5, 300)])
    want = np.array([erfinv_by_bisection(v) for v in y])
    assert ulps(S.erfinv_array(y), want).max() <= 6
    y32 = y.astype(np.float32)
    y32 = y32[np.abs(y32) < 1]
    want32 = np.array([erfinv_by_bisection(float(v)) for v in y32])
    assert ulps(S.erfinv_array(y32), want32).max() <= 8


# ------------------------------------------------------------------ errors that name the function

@pytest.mark.parametrize("name", ["atan2", "hypot", "xlogy", "fmod"])
def test_shapes_that_do_not_broadcast(name, device):
    with pytest.raises(ValueError, match=rf"^{name}: shapes \(2,\) and \(3,\) do not broadcast"):
        getattr(S, name)(tc.ones(2, device=device), tc.ones(3, device=device))


def test_lerp_refusals(device):
    a = tc.ones(2, device=device)
    with pytest.raises(ValueError, match=r"^lerp: shapes \(2,\) and \(3,\) do not broadcast"):
        S.lerp(a, tc.ones(3, device=device), 0.5)
    with pytest.raises(ValueError, match=r"^lerp: shapes \(2, 3\) and \(4, 3\) do not broadcast"):
        S.lerp(tc.ones(1, device=device), tc.ones(2, 3, device=device), tc.ones(4, 3, device=device))
    with pytest.raises(TypeError, match=r"^lerp: weight must be a number or a tensor, got str"):
        S.lerp(a, a, "half")
    with pytest.raises(TypeError, match=r"^lerp: input, end and weight must have one dtype, got float32 and float64"):
        S.lerp(a, a, tc.full((2,), 0.5, dtype="float64", device=device))
    # a 0-d weight is taken as a number, whatever its float dtype (as in PyTorch)
    assert S.lerp(a, 3 * a, tc.tensor(0.5, dtype="float64", device=device)).dtype == tc.float32


def test_nan_to_num_refuses_a_replacement_that_is_no_number(device):
    with pytest.raises(TypeError, match=r"^nan_to_num: posinf must be a number or None, got 'big'"):
        S.nan_to_num(tc.ones(2, device=device), posinf="big")
    with pytest.raises(TypeError, match=r"^nan_to_num: nan must be a number, got \[0\]"):
        S.nan_to_num(tc.ones(2, device=device), nan=[0])


def test_fmod_of_integers_by_zero_is_refused(device):
    with pytest.raises(ZeroDivisionError, match=r"^fmod: integer division by zero \(1 of the 2 divisors"):
        S.fmod(tc.tensor([5, 6], device=device), tc.tensor([0, 2], device=device))
    assert S.fmod(tc.tensor([-5, 5], device=device), 3).tolist() == [-2, 2]      # (the sign of the dividend)
