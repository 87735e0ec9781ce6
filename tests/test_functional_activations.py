"""erf, gelu, silu, the piecewise and smooth activations (elu to softshrink, their slopes at the
kinks as PyTorch's), softmax stability, cross_entropy, dropout and drop_path."""
import math

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import tinycoat as tc
import tinycoat.nn.functional as F
from tinycoat.nn.functional.erf import erf, erfc
from strategies import arrays, shapes

GRID = np.concatenate([np.linspace(-10, 10, 20001), np.geomspace(1e-30, 0.6, 400), -np.geomspace(1e-30, 0.6, 400)])


def test_erf_matches_math_erf_to_float32_round_off():
    exact = np.array([math.erf(v) for v in GRID])
    # float64 arithmetic: only the approximation's own error is left (NR's fit: < 1.2e-7
    # relative for erfc; the series near 0): a relative error of at most 2⁻²⁴, half of
    # float32's machine epsilon — as good as rounding the exact value to float32.
    got64 = erf(GRID)
    assert np.all(np.abs(got64 - exact) <= 2.0 ** -24 * np.abs(exact))
    # float32 arithmetic end to end: a few float32 ulps (rounding in the polynomial itself).
    x32 = GRID.astype(np.float32)
    exact32 = np.array([math.erf(float(v)) for v in x32])
    got32 = erf(x32)
    assert got32.dtype == np.float32
    assert np.all(np.abs(got32.astype(np.float64) - exact32) <= 4 * np.spacing(np.abs(exact32).astype(np.float32)))
    assert erf(np.float64(0.0)) == 0.0 and erf(np.array([np.inf, -np.inf])).tolist() == [1.0, -1.0]


def test_erfc_is_relatively_accurate_in_the_tail():
    z = np.linspace(0, 26, 2601)
    exact = np.array([math.erfc(v) for v in z])
    assert np.all(np.abs(erfc(z) - exact) <= 1.2e-7 * exact)
    np.testing.assert_allclose(erfc(-z), 2 - exact, rtol=1e-7)


@given(x=arrays(shapes(), -6.0, 6.0))
def test_gelu_exact_and_tanh_forms(x, device):
    xt = tc.tensor(x, requires_grad=True, device=device)
    exact = x * 0.5 * np.vectorize(math.erfc)(-x / math.sqrt(2))
    np.testing.assert_allclose(F.gelu(xt).numpy(), exact, rtol=2e-7, atol=1e-300)
    with tc.no_grad():                    # no slope wanted: y = max(x, 0) − |x|·Φ(−|x|)
        np.testing.assert_allclose(F.gelu(xt).numpy(), exact, rtol=2e-7, atol=1e-300)
    approx = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(F.gelu(xt, approximate="tanh").numpy(), approx, rtol=1e-12, atol=1e-15)
    assert tc.gradcheck(F.gelu, xt)
    assert tc.gradcheck(lambda a: F.gelu(a, approximate="tanh"), xt)


@given(x=arrays(shapes(), -8.0, 8.0))
def test_silu(x, device):
    xt = tc.tensor(x, requires_grad=True, device=device)
    np.testing.assert_allclose(F.silu(xt).numpy(), x / (1 + np.exp(-x)), rtol=1e-12, atol=1e-15)
    assert tc.gradcheck(F.silu, xt)


@given(x=arrays(shapes(), -8.0, 8.0), alpha=st.sampled_from([0.5, 1.0, 2.0]))
def test_elu_hardsigmoid_hardswish(x, alpha, device):
    """Against NumPy from their definitions; gradchecked away from their kinks (0 for elu with
    α ≠ 1, ±3 for the hard ones); elu's left-out branch never overflows into a NaN gradient."""
    xt = tc.tensor(x, requires_grad=True, device=device)
    hard = np.clip(x / 6 + 0.5, 0, 1)
    np.testing.assert_allclose(F.elu(xt, alpha).numpy(), np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))),
                               rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(F.hardsigmoid(xt).numpy(), hard, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(F.hardswish(xt).numpy(), x * hard, rtol=1e-12, atol=1e-15)
    near_a_kink = (np.abs(x) < 1e-2) | (np.abs(np.abs(x) - 3) < 1e-2)
    smooth = tc.tensor(np.where(near_a_kink, 1.5, x), requires_grad=True, device=device)   # (moved off them)
    for f in (lambda a: F.elu(a, alpha), F.hardsigmoid, F.hardswish):
        assert tc.gradcheck(f, smooth)


SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def numpy_softplus(x):
    return np.logaddexp(0, x)


# name: (tinycoat's function, its definition in NumPy, the kinks where a finite difference fails)
DEFINITIONS = {
    "hardtanh": (lambda a: F.hardtanh(a, -1.5, 0.5), lambda x: np.clip(x, -1.5, 0.5), (-1.5, 0.5)),
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6), (0, 6)),
    "celu": (lambda a: F.celu(a, 0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(np.minimum(x, 0) / 0.7)), ()),
    "selu": (F.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))), (0,)),
    "mish": (F.mish, lambda x: x * np.tanh(numpy_softplus(x)), ()),
    "logsigmoid": (F.logsigmoid, lambda x: -numpy_softplus(-x), ()),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x)), ()),
    "threshold": (lambda a: F.threshold(a, 0.5, -2.0), lambda x: np.where(x > 0.5, x, -2.0), (0.5,)),
    "tanhshrink": (F.tanhshrink, lambda x: x - np.tanh(x), ()),
    "hardshrink": (lambda a: F.hardshrink(a, 0.7), lambda x: np.where(np.abs(x) > 0.7, x, 0), (-0.7, 0.7)),
    "softshrink": (lambda a: F.softshrink(a, 0.7),
                   lambda x: np.where(x > 0.7, x - 0.7, np.where(x < -0.7, x + 0.7, 0)), (-0.7, 0.7)),
}


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
@given(x=arrays(shapes(), -8.0, 8.0))
def test_activations_meet_their_definitions_and_gradcheck(name, x, device):
    """Each against NumPy from its definition; gradchecked with entries moved off its kinks (a finite
    difference across a kink measures neither side's slope)."""
    function, definition, kinks = DEFINITIONS[name]
    xt = tc.tensor(x, device=device)
    np.testing.assert_allclose(function(xt).numpy(), definition(x), rtol=1e-12, atol=1e-15)
    near_a_kink = np.zeros(x.shape, bool)
    for k in kinks:
        near_a_kink |= np.abs(x - k) < 1e-2
    assert tc.gradcheck(function, tc.tensor(np.where(near_a_kink, 0.3, x), requires_grad=True, device=device))


def test_slopes_at_the_kinks_are_pytorchs(device):
    """At a kink itself, the slope PyTorch takes: hardtanh (so relu6 and hardsigmoid) 0 at both ends,
    hardswish 0 at −3 and 1 at 3, the shrinks 0 at ±λ, threshold 0 at t, prelu a at 0."""
    def slopes(function, points):
        x = tc.tensor(points, dtype="float64", requires_grad=True, device=device)
        function(x).sum().backward()
        return x.grad.tolist()
    assert slopes(F.hardtanh, [-1.0, 1.0, 0.0]) == [0.0, 0.0, 1.0]
    assert slopes(F.relu6, [0.0, 6.0, 3.0]) == [0.0, 0.0, 1.0]
    assert slopes(F.hardsigmoid, [-3.0, 3.0, 0.0]) == [0.0, 0.0, 1 / 6]
    assert slopes(F.hardswish, [-3.0, 3.0, 0.0]) == [0.0, 1.0, 0.5]
    assert slopes(F.hardshrink, [-0.5, 0.5, 0.6]) == [0.0, 0.0, 1.0]
    assert slopes(F.softshrink, [-0.5, 0.5, 0.0, -0.6]) == [0.0, 0.0, 0.0, 1.0]
    assert slopes(lambda a: F.threshold(a, 1.0, 5.0), [1.0, 1.5]) == [0.0, 1.0]
    assert slopes(lambda a: F.prelu(a, tc.tensor([0.25], dtype="float64", device=device)),
                  [0.0, 1.0, -1.0]) == [0.25, 1.0, 0.25]


@given(data=st.data())
def test_prelu_learns_a_slope_per_channel(data, device):
    """x for x > 0, else a_c·x with a_c the slope of x's channel (axis 1), or one slope for all;
    gradchecked for x and the slopes."""
    shape = data.draw(shapes(min_dims=1, max_dims=4))
    channels = shape[1] if len(shape) >= 2 and data.draw(st.booleans()) else 1
    x, a = data.draw(arrays(shape)), data.draw(arrays((channels,)))
    slope = a.reshape((-1,) + (1,) * (len(shape) - 2)) if channels > 1 else a
    xt, at = (tc.tensor(v, requires_grad=True, device=device) for v in (np.where(np.abs(x) < 1e-2, 0.3, x), a))
    np.testing.assert_allclose(F.prelu(xt, at).numpy(), np.where(xt.numpy() > 0, xt.numpy(), slope * xt.numpy()),
                               rtol=1e-12, atol=1e-15)
    assert tc.gradcheck(F.prelu, xt, at)


@given(data=st.data())
def test_glu_gates_one_half_by_the_other(data, device):
    shape = list(data.draw(shapes(min_dims=1, max_dims=3)))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    shape[dim] *= 2
    x = data.draw(arrays(tuple(shape)))
    a, b = np.split(x, 2, axis=dim)
    xt = tc.tensor(x, requires_grad=True, device=device)
    np.testing.assert_allclose(F.glu(xt, dim).numpy(), a / (1 + np.exp(-b)), rtol=1e-12, atol=1e-15)
    assert tc.gradcheck(lambda t: F.glu(t, dim), xt)


def test_nan_stays_nan_and_passes_its_gradient(device):
    """As PyTorch's: the piecewise functions keep a NaN (a diverging run must not look fine), and
    hardtanh's slope at NaN is 1."""
    nan = float("nan")
    for f in (F.hardtanh, F.relu6, lambda a: F.threshold(a, 0.5, 20.0), F.hardshrink, F.softshrink, F.hardsigmoid):
        x = tc.tensor([nan, 0.25], dtype="float64", requires_grad=True, device=device)
        y = f(x)
        assert np.isnan(y.numpy()[0]) and not np.isnan(y.numpy()[1])
    x = tc.tensor([nan], dtype="float64", requires_grad=True, device=device)
    F.hardtanh(x).sum().backward()
    assert x.grad.tolist() == [1.0]


def test_hardsigmoids_kinks_are_at_three_in_float32_too(device):
    """The float32 number just below 3 is inside (−3, 3): slope 1/6 (hardswish: x/3 + ½), as PyTorch's."""
    x = tc.tensor([np.nextafter(np.float32(3), np.float32(0))], requires_grad=True, device=device)
    F.hardsigmoid(x).sum().backward()
    assert x.grad.numpy()[0] == pytest.approx(1 / 6, rel=1e-6)


def test_the_activation_layers_and_their_errors(device):
    x = tc.tensor([[-7.0, -1.0, 0.5, 7.0]], device=device)
    assert tc.nn.ReLU6()(x).tolist() == [[0.0, 0.0, 0.5, 6.0]] and repr(tc.nn.ReLU6()) == "ReLU6()"
    assert tc.nn.Hardtanh(-2, 2)(x).tolist() == [[-2.0, -1.0, 0.5, 2.0]]
    assert repr(tc.nn.Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)"
    prelu = tc.nn.PReLU(4, init=0.1, device=device)
    assert [p.shape for p in prelu.parameters()] == [(4,)] and repr(prelu) == "PReLU(num_parameters=4)"
    np.testing.assert_allclose(prelu(x).numpy(), [[-0.7, -0.1, 0.5, 7.0]], rtol=1e-6)
    prelu(x).sum().backward()
    np.testing.assert_allclose(prelu.weight.grad.numpy(), [-7.0, -1.0, 0.0, 0.0])
    for layer, function in [
            (tc.nn.SELU(), F.selu), (tc.nn.Mish(), F.mish), (tc.nn.LogSigmoid(), F.logsigmoid),
            (tc.nn.Softsign(), F.softsign), (tc.nn.Tanhshrink(), F.tanhshrink), (tc.nn.CELU(0.5), lambda a: F.celu(a, .5)),
            (tc.nn.Softshrink(1), lambda a: F.softshrink(a, 1)), (tc.nn.Hardshrink(1), lambda a: F.hardshrink(a, 1)),
            (tc.nn.Threshold(0, -1), lambda a: F.threshold(a, 0, -1)), (tc.nn.GLU(1), lambda a: F.glu(a, 1))]:
        np.testing.assert_array_equal(layer(x).numpy(), function(x).numpy())
    assert repr(tc.nn.Softshrink()) == "Softshrink(0.5)" and repr(tc.nn.CELU()) == "CELU(alpha=1.0)"
    assert F.logsigmoid(tc.tensor([-1e4, 1e4], device=device)).tolist() == [-1e4, 0.0]     # no overflow
    for call, message in [
            (lambda: F.hardtanh(x, 1.0, 1.0), r"^hardtanh: min_val must be below max_val, got 1.0 and 1.0"),
            (lambda: tc.nn.Hardtanh(2, -2), r"^Hardtanh: min_val must be below max_val"),
            (lambda: F.glu(tc.zeros(2, 3), 1), r"^glu: x's dim 1 must have an even size, to be halved; got \(2, 3\)"),
            (lambda: F.glu(tc.zeros(2, 4), 2), r"^glu: dim must be an axis of x, from -2 to 1, got 2 for \(2, 4\)"),
            (lambda: F.prelu(tc.zeros(2, 3, 4), tc.zeros(4)),
             r"^prelu: weight must be \(1,\) or \(channels,\) = \(3,\) for input \(2, 3, 4\), got \(4,\)"),
            (lambda: F.celu(x, 0.0), r"^celu: alpha must not be 0"),
            (lambda: tc.nn.Softshrink(-1), r"^Softshrink: lambd must be a finite number >= 0, got -1")]:
        with pytest.raises(ValueError, match=message):
            call()
    for function in (F.relu6, F.hardtanh, F.mish, F.selu, F.logsigmoid, F.softsign, F.tanhshrink, F.softshrink,
                     F.hardshrink, F.celu, lambda a: F.glu(a, 1), lambda a: F.prelu(a, tc.ones(4))):
        assert function(tc.randn(2, 4, device=device)).dtype == tc.float32


def test_elu_far_out_and_the_layers(device):
    x = tc.tensor([-1e4, 1e4], requires_grad=True, device=device)
    tc.nn.ELU(alpha=2.0)(x).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0]                                 # not NaN from e^(1e4) = inf
    assert repr(tc.nn.ELU(0.5)) == "ELU(alpha=0.5)"
    assert tc.nn.Hardswish()(tc.tensor([-4.0, 0.0, 4.0])).tolist() == [0.0, 0.0, 4.0]
    assert tc.nn.Hardsigmoid()(tc.tensor([-4.0, 0.0, 4.0])).tolist() == [0.0, 0.5, 1.0]


def test_activations_keep_float32(device):
    x = tc.randn(3, 4, device=device, requires_grad=True)
    for f in (F.gelu, lambda a: F.gelu(a, "tanh"), F.silu, F.relu, F.sigmoid):
        y = f(x)
        y.sum().backward()
        assert y.dtype == x.grad.dtype == tc.float32
    assert F.gelu(tc.tensor([-1e4, 1e4])).tolist() == [0.0, 1e4]
    ints = tc.tensor([1, 2], device=device)                    # integers give float32, as exp and sigmoid do
    for f in (F.gelu, lambda a: F.gelu(a, "tanh"), F.silu, F.softplus, F.sigmoid, F.softmax, F.log_softmax):
        assert f(ints).dtype == tc.float32
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")


def test_softmax_is_stable_at_huge_logits(device):
    x = tc.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], device=device, requires_grad=True)
    p, logp = F.softmax(x, axis=-1), F.log_softmax(x, axis=-1)
    np.testing.assert_allclose(p.numpy(), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-7)
    np.testing.assert_allclose(logp.numpy(), [[0, -2e4, -1e4], [-math.log(3)] * 3], rtol=1e-6)
    (p.sum() + logp[0, 0]).backward()
    assert np.isfinite(x.grad.numpy()).all()


# ------------------------------------------------------------------------------- cross-entropy

def reference_cross_entropy(logits, q):
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -(q * logp).sum(axis=1).mean()


@given(data=st.data(), smoothing=st.sampled_from([0.0, 0.1, 0.5]))
def test_cross_entropy_integer_targets(data, smoothing, device):
    n, k = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 5))
    logits = data.draw(arrays((n, k), -5.0, 5.0))
    labels = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    q = (1 - smoothing) * np.eye(k)[labels] + smoothing / k
    lt = tc.tensor(logits, requires_grad=True, device=device)
    target = tc.tensor(labels, device=device)
    loss = F.cross_entropy(lt, target, label_smoothing=smoothing)
    assert loss.shape == () and loss.item() == pytest.approx(reference_cross_entropy(logits, q), rel=1e-10, abs=1e-12)
    loss.backward()
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(lt.grad.numpy(), (p - q) / n, rtol=1e-9, atol=1e-12)  # the famous (p − q)/N
    assert tc.gradcheck(lambda a: F.cross_entropy(a, target, label_smoothing=smoothing), lt)


@given(data=st.data())
def test_cross_entropy_soft_targets(data, device):
    n, k = data.draw(st.integers(1, 3)), data.draw(st.integers(2, 4))
    logits = data.draw(arrays((n, k)))
    q = data.draw(arrays((n, k), 0.0, 1.0)) + 1e-3
    q /= q.sum(axis=1, keepdims=True)
    lt = tc.tensor(logits, requires_grad=True, device=device)
    loss = F.cross_entropy(lt, tc.tensor(q, device=device))
    assert loss.item() == pytest.approx(reference_cross_entropy(logits, q), rel=1e-10)
    assert tc.gradcheck(lambda a: F.cross_entropy(a, tc.tensor(q, device=device), label_smoothing=0.1), lt)


def test_cross_entropy_huge_logits_and_errors(device):
    logits = tc.tensor([[1e4, -1e4], [1e4, -1e4]], device=device)
    loss = F.cross_entropy(logits, tc.tensor(np.array([0, 1]), device=device))
    assert loss.dtype == tc.float32 and loss.item() == pytest.approx(1e4)
    bad = tc.tensor(np.array([0, 2]), device=device)
    if device == "cpu":
        with pytest.raises(ValueError, match=r"class labels must lie in \[0, 2\)"):
            F.cross_entropy(logits, bad)
    else:  # checking on the GPU would make the host wait for it every step: the loss is NaN instead
        assert np.isnan(F.cross_entropy(logits, bad).item())
    with pytest.raises(ValueError, match=r"expected logits \(N, classes\)"):
        F.cross_entropy(tc.zeros(2, 2, 2), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"weight must hold one number per class, shape \(2,\)"):
        F.cross_entropy(logits, np.array([0, 1]), 0.1)                  # PyTorch's third: a class weight
    with pytest.raises(TypeError, match="positional"):
        F.cross_entropy(logits, np.array([0, 1]), None, -100)
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        F.cross_entropy(logits, np.array([0, 1]), reduction="average")


@given(data=st.data())
def test_cross_entropy_reductions_are_pytorchs(data, device):
    """'none': the N losses, −Σ_k q_k log p_k each; 'sum' their sum; 'mean' (the default) their mean."""
    n, k = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 5))
    logits = data.draw(arrays((n, k), -5.0, 5.0))
    labels = tc.tensor(np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))), device=device)
    lt = tc.tensor(logits, requires_grad=True, device=device)
    each = F.cross_entropy(lt, labels, reduction="none", label_smoothing=0.1)
    q = 0.9 * np.eye(k)[labels.numpy()] + 0.1 / k
    expected = [reference_cross_entropy(logits[i:i + 1], q[i:i + 1]) for i in range(n)]
    assert each.shape == (n,) and each.numpy() == pytest.approx(expected, rel=1e-10, abs=1e-12)
    total = F.cross_entropy(lt, labels, reduction="sum", label_smoothing=0.1)
    assert total.item() == pytest.approx(sum(expected), rel=1e-10, abs=1e-12)
    weights = tc.tensor(np.arange(1.0, n + 1), device=device)         # a gradient through each loss
    assert tc.gradcheck(lambda a: (F.cross_entropy(a, labels, reduction="none") * weights).sum(), lt)


# ------------------------------------------------------------------------------- dropout

def test_dropout_statistics_scaling_and_gradient(device):
    x = tc.ones(200, 100, device=device, requires_grad=True)
    y = F.dropout(x, p=0.3, training=True)
    values = y.numpy()
    survivors = values[values != 0]
    np.testing.assert_allclose(survivors, 1 / 0.7, rtol=1e-6)
    assert abs((values == 0).mean() - 0.3) < 0.02 and abs(values.mean() - 1.0) < 0.03
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)  # d(x ⊙ m)/dx = m
    assert y.dtype == tc.float32
    assert F.dropout(x, p=0.3, training=False) is x and F.dropout(x, p=0.0) is x
    assert F.dropout(x, p=1.0).numpy().max() == 0.0


def test_dropout_is_reproducible_with_manual_seed(device):
    x = tc.ones(50, device=device)
    tc.manual_seed(7)
    a = F.dropout(x, 0.5).numpy()
    tc.manual_seed(7)
    np.testing.assert_array_equal(a, F.dropout(x, 0.5).numpy())


def test_drop_path_drops_whole_samples(device):
    x = tc.ones(400, 3, 2, 2, device=device, requires_grad=True)
    y = F.drop_path(x, p=0.25, training=True).numpy()
    per_sample = y.reshape(400, -1)
    assert np.all(per_sample.min(axis=1) == per_sample.max(axis=1))      # all or nothing per sample
    kept = per_sample[:, 0] > 0
    np.testing.assert_allclose(per_sample[kept], 1 / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.07
    assert F.drop_path(x, p=0.25, training=False) is x
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        F.drop_path(x, p=1.5)


def pytorch_weighted_cross_entropy(logits, labels, weight, ignore_index, smoothing, reduction):
    """PyTorch's documented definition, written out: ℓ_n = −Σ_k w_k q'_nk log p_nk for a counted
    sample (q' the smoothed one-hot row), 0 for an ignored one; the mean divides by Σ_n w_{y_n}
    over the counted samples."""
    n, k = logits.shape
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    losses, denominator = np.zeros(n), 0.0
    for i, y in enumerate(labels):
        if y == ignore_index:
            continue
        q = (1 - smoothing) * np.eye(k)[y] + smoothing / k
        losses[i] = -(weight * q * logp[i]).sum()
        denominator += weight[y]
    return losses if reduction == "none" else losses.sum() / (denominator if reduction == "mean" else 1.0)


@given(data=st.data(), smoothing=st.sampled_from([0.0, 0.1]), reduction=st.sampled_from(["mean", "sum", "none"]))
def test_cross_entropy_class_weights_and_ignore_index_are_pytorchs(data, smoothing, reduction, device):
    n, k = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 4))
    ignore_index = data.draw(st.sampled_from([-100, 0]))             # padding, or a class left out
    logits = data.draw(arrays((n, k), -5.0, 5.0))
    labels = np.array(data.draw(st.lists(st.sampled_from([*range(k), ignore_index]), min_size=n, max_size=n)))
    assume(reduction != "mean" or (labels != ignore_index).any())    # (the mean of none: NaN, tested below)
    weight = data.draw(arrays((k,), 0.25, 4.0))
    expected = pytorch_weighted_cross_entropy(logits, labels, weight, ignore_index, smoothing, reduction)
    target, w = tc.tensor(labels, device=device), tc.tensor(weight, device=device)
    lt = tc.tensor(logits, requires_grad=True, device=device)
    loss = F.cross_entropy(lt, target, w, ignore_index=ignore_index, label_smoothing=smoothing, reduction=reduction)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-10, atol=1e-12)
    upstream = tc.tensor(np.arange(1.0, n + 1), device=device)       # a gradient through each loss
    reduce = (lambda t: (t * upstream).sum()) if reduction == "none" else (lambda t: t)
    assert tc.gradcheck(lambda a: reduce(F.cross_entropy(a, target, w, ignore_index=ignore_index,
                                                         label_smoothing=smoothing, reduction=reduction)), lt)
    criterion = tc.nn.CrossEntropyLoss(w, ignore_index=ignore_index, label_smoothing=smoothing, reduction=reduction)
    np.testing.assert_allclose(criterion(lt, target).numpy(), expected, rtol=1e-10, atol=1e-12)


def test_cross_entropy_ignore_index_and_weight_edges(device):
    logits = tc.tensor([[2.0, -1.0, 0.5], [0.0, 1.0, 3.0]], device=device, requires_grad=True)
    padded = tc.tensor(np.array([-100, 2]), device=device)
    assert F.cross_entropy(logits, padded).item() == pytest.approx(F.cross_entropy(logits[1:], padded[1:]).item())
    nothing = F.cross_entropy(logits, tc.tensor(np.array([-100, -100]), device=device))
    nothing.backward()
    assert np.isnan(nothing.item()) and logits.grad.abs().max().item() == 0.0   # as PyTorch: NaN, but no NaN gradient
    assert F.cross_entropy(logits, tc.tensor(np.array([-100, -100]), device=device), reduction="sum").item() == 0.0
    soft = tc.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], device=device)                  # soft targets: mean over N
    w = tc.tensor([1.0, 2.0, 3.0], device=device)
    assert F.cross_entropy(logits, soft, w).item() == pytest.approx(F.cross_entropy(logits, soft, w, reduction="sum")
                                                                    .item() / 2)
    if device == "cpu":
        with pytest.raises(ValueError, match=r"lie in \[0, 3\) \(or be ignore_index=-1\), got values in \[-100, -100\]"):
            F.cross_entropy(logits, padded, ignore_index=-1)
    with pytest.raises(ValueError, match=r"weight is a constant of the loss; pass weight.detach\(\)"):
        F.cross_entropy(logits, padded, tc.ones(3, requires_grad=True, device=device))
    with pytest.raises(ValueError, match=r"shape \(3,\), got shape \(2,\)"):
        F.cross_entropy(logits, padded, tc.ones(2, device=device))
    criterion = tc.nn.CrossEntropyLoss(tc.tensor([1.0, 2.0, 3.0]))
    assert list(criterion.state_dict()) == ["weight"]                 # a buffer, moved by .to(), as in PyTorch
    assert criterion.to(device).weight.device == device
    given = tc.tensor([1.0, 2.0, 3.0])
    tc.nn.CrossEntropyLoss(given).double()
    assert given.dtype == tc.float32               # the layer holds a copy (tinycoat's .to() changes a tensor in place)
