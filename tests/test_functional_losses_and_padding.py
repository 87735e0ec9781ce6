"""mse_loss, l1_loss (regression_loss.py), one_hot (loss.py) and F.pad (padding.py): values against
NumPy written from the definitions, float64 gradient checks, and the errors they give."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
import tinycoat.nn.functional as F
from strategies import arrays, away_from_zero, shapes


def leaf(array, device):
    return tc.tensor(array, requires_grad=True, dtype="float64", device=device)


REDUCE = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}


@pytest.mark.parametrize("reduction", sorted(REDUCE))
@given(data=st.data())
def test_mse_and_l1_losses_and_their_gradients_in_input_and_target(reduction, data, device):
    shape = data.draw(shapes(min_dims=0, max_dims=3))
    x = data.draw(arrays(shape))
    d = data.draw(away_from_zero(shape))              # |x − t| away from 0: |·| has a kink there
    t = x - d
    mse = F.mse_loss(tc.tensor(x, device=device), tc.tensor(t, device=device), reduction=reduction)
    l1 = tc.nn.L1Loss(reduction=reduction)(tc.tensor(x, device=device), tc.tensor(t, device=device))
    np.testing.assert_allclose(mse.numpy(), REDUCE[reduction]((x - t) ** 2), rtol=1e-12)
    np.testing.assert_allclose(l1.numpy(), REDUCE[reduction](np.abs(x - t)), rtol=1e-12)
    assert tc.gradcheck(lambda a, b: tc.nn.MSELoss(reduction=reduction)(a, b), leaf(x, device), leaf(t, device))
    assert tc.gradcheck(lambda a, b: F.l1_loss(a, b, reduction), leaf(x, device), leaf(t, device))


def test_regression_losses_refuse_mismatched_shapes_and_unknown_reductions():
    with pytest.raises(ValueError, match=r"same shape, got \(4, 1\) and \(4,\)"):
        F.mse_loss(tc.zeros(4, 1), tc.zeros(4))               # PyTorch broadcasts to (4, 4), with a warning
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        F.l1_loss(tc.zeros(2), tc.zeros(2), reduction="avg")
    assert F.mse_loss(tc.zeros(2), [1.0, 3.0]).item() == 5.0   # (a plain target is taken as a constant)
    assert F.l1_loss(tc.zeros(2, dtype="float32"), tc.zeros(2)).dtype == tc.float32
    x = tc.tensor([float("nan"), 1.0, -1.0], dtype="float64", requires_grad=True)
    F.l1_loss(x, tc.zeros(3, dtype="float64")).backward()
    assert x.grad.tolist() == [0.0, 1 / 3, -1 / 3]              # a NaN entry gets gradient 0, as in PyTorch


@given(labels=st.lists(st.integers(0, 6), min_size=1, max_size=8), extra=st.integers(0, 3))
def test_one_hot_puts_a_single_one_at_each_label(labels, extra):
    t = tc.tensor(np.array(labels, dtype=np.int64).reshape(-1, 1))          # labels of shape (n, 1)
    k = max(labels) + 1 + extra
    rows = F.one_hot(t, k)
    assert rows.shape == (len(labels), 1, k) and rows.dtype == tc.int64
    np.testing.assert_array_equal(rows.numpy()[:, 0], np.eye(k, dtype=np.int64)[labels])
    assert F.one_hot(t).shape[-1] == max(labels) + 1   # −1: as many classes as the largest label needs
    assert F.one_hot(tc.zeros(0, dtype="int64"), 3).shape == (0, 3)


def test_one_hot_refuses_labels_out_of_range_and_floats():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got values in \[0, 3\]"):
        F.one_hot(tc.tensor([0, 3]), 3)
    with pytest.raises(ValueError, match=r"in \[-1, 1\]"):
        F.one_hot(tc.tensor([-1, 1]), 3)
    with pytest.raises(TypeError, match="integer Tensor"):
        F.one_hot(tc.tensor([0.0, 1.0]), 3)


@given(data=st.data())
def test_pad_reads_pytorchs_order_last_axis_first(data, device):
    x = data.draw(arrays(shapes(min_dims=1, max_dims=4)))
    axes = data.draw(st.integers(1, x.ndim))
    pads = data.draw(st.lists(st.integers(0, 2), min_size=2 * axes, max_size=2 * axes))
    value = data.draw(st.sampled_from([0.0, -1.5]))
    widths = [(0, 0)] * (x.ndim - axes) + [(pads[2 * i], pads[2 * i + 1]) for i in range(axes)][::-1]
    out = F.pad(tc.tensor(x, device=device), tuple(pads), value=value)
    np.testing.assert_array_equal(out.numpy(), np.pad(x, widths, constant_values=value))
    assert tc.gradcheck(lambda t: F.pad(t, pads, value=value) ** 2, leaf(x, device))


def test_pad_says_what_it_needs():
    x = tc.zeros(2, 3)
    assert F.pad(x, (1, 0, 0, 2)).shape == (4, 4)          # W gets (1, 0), H (0, 2)
    assert F.pad(tc.tensor([1.0, 2.0]), (1, 1), value=None).tolist() == [0.0, 1.0, 2.0, 0.0]   # None: 0, as PyTorch
    with pytest.raises(ValueError, match="an even number of ints"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(ValueError, match="an even number of ints"):
        F.pad(x, (1, 1, 1, 1, 1, 1))
    with pytest.raises(ValueError, match="negative pads"):
        F.pad(x, (-1, 0))
    with pytest.raises(ValueError, match="mode must be 'constant', 'reflect', 'replicate' or 'circular', got 'edge'"):
        F.pad(x, (1, 1), mode="edge")
    with pytest.raises(ValueError, match=r"mode='reflect' pads with the input's own entries and takes no value"):
        F.pad(x, (1, 1), mode="reflect", value=0.0)
    with pytest.raises(ValueError, match=r"mode='reflect' needs pads less than the axis' size; axis 1 has 3 entries"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match=r"mode='circular' needs pads at most the axis' size; axis 0 has 2 entries"):
        F.pad(x, (0, 0, 0, 3), mode="circular")
    with pytest.raises(ValueError, match=r"mode='replicate' copies the input's own entries, and axis 1 has none"):
        F.pad(tc.zeros(2, 0), (1, 1), mode="replicate")


@given(data=st.data(), mode=st.sampled_from(["reflect", "replicate", "circular"]))
def test_pad_modes_fill_with_the_inputs_own_entries_as_numpy_pad(data, mode, device):
    """reflect, replicate, circular are numpy.pad's 'reflect', 'edge', 'wrap'; the gradient of each
    padded place goes back into the entry it copied (a float64 gradient check)."""
    x = data.draw(arrays(shapes(min_dims=1, max_dims=4)))
    axes = data.draw(st.integers(1, x.ndim))
    limit = {"reflect": lambda n: n - 1, "replicate": lambda n: 3, "circular": lambda n: n}[mode]
    widths = [(0, 0)] * (x.ndim - axes)
    for n in x.shape[x.ndim - axes:]:
        widths.append((data.draw(st.integers(0, min(3, limit(n)))), data.draw(st.integers(0, min(3, limit(n))))))
    pads = tuple(v for pair in widths[::-1][:axes] for v in pair)            # PyTorch's order: last axis first
    out = F.pad(tc.tensor(x, device=device), pads, mode=mode)
    np.testing.assert_array_equal(out.numpy(), np.pad(x, widths, mode={"reflect": "reflect", "replicate": "edge",
                                                                      "circular": "wrap"}[mode]))
    assert tc.gradcheck(lambda t: F.pad(t, pads, mode=mode) ** 2, leaf(x, device))


@pytest.mark.parametrize("reduction", sorted(REDUCE))
@given(data=st.data())
def test_binary_cross_entropy_from_logits_and_from_probabilities(reduction, data, device):
    shape = data.draw(shapes(min_dims=1, max_dims=2))
    x = data.draw(arrays(shape, -6, 6))
    t = data.draw(arrays(shape, 0, 1))
    w = data.draw(arrays(shape[-1:], 0.5, 2))
    p = 1 / (1 + np.exp(-x))
    by_hand = -(2.0 * t * np.log(p) + (1 - t) * np.log(1 - p)) * w          # pos_weight 2, weight w
    out = F.binary_cross_entropy_with_logits(tc.tensor(x, device=device), tc.tensor(t, device=device),
                                             tc.tensor(w, device=device), reduction, tc.tensor(2.0, device=device))
    np.testing.assert_allclose(out.numpy(), REDUCE[reduction](by_hand), rtol=1e-10)
    plain = F.binary_cross_entropy(tc.tensor(p, device=device), tc.tensor(t, device=device), reduction=reduction)
    np.testing.assert_allclose(plain.numpy(), REDUCE[reduction](-(t * np.log(p) + (1 - t) * np.log(1 - p))),
                               rtol=1e-10)
    assert tc.gradcheck(lambda a, b: tc.nn.BCEWithLogitsLoss(reduction=reduction)(a, b), leaf(x, device),
                        leaf(t, device))
    assert tc.gradcheck(lambda a: tc.nn.BCELoss(reduction=reduction)(a, tc.tensor(t, device=device)),
                        leaf(np.clip(p, 0.05, 0.95), device))


def test_binary_cross_entropy_of_certain_probabilities_has_pytorchs_finite_gradient():
    """dℓ/dp = (p − t) / max(p(1 − p), 1e-12): 0 for a certain right answer, ∓1e12 for a certain wrong one."""
    p = tc.tensor([1.0, 0.0, 1.0, 1e-50], dtype="float64", requires_grad=True)
    F.binary_cross_entropy(p, tc.tensor([1.0, 0.0, 0.0, 1.0], dtype="float64"), reduction="none").sum().backward()
    assert p.grad.tolist() == [0.0, 0.0, 1e12, pytest.approx(-1e12)]
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        F.binary_cross_entropy(tc.tensor([1.5]), tc.tensor([1.0]))
    with pytest.raises(TypeError):
        tc.nn.BCEWithLogitsLoss(None, "sum")                 # (PyTorch's second positional is size_average)


def test_nll_loss_ignores_what_it_does_not_pick():
    minus_inf = tc.tensor([[-np.inf, 0.0], [0.0, -np.inf]])
    assert F.nll_loss(minus_inf, tc.tensor([1, 0])).item() == 0.0
    assert F.nll_loss(tc.tensor([[np.nan, 0.0], [-1.0, -2.0]]), tc.tensor([0, 1]), ignore_index=0).item() == 2.0


def test_binary_cross_entropy_stays_finite_for_confident_mistakes():
    logits = tc.tensor([1000.0, -1000.0])
    assert F.binary_cross_entropy_with_logits(logits, tc.tensor([0.0, 1.0]), reduction="sum").item() == 2000.0
    with np.errstate(divide="ignore"):
        assert F.binary_cross_entropy(tc.tensor([0.0, 1.0]), tc.tensor([1.0, 0.0]), reduction="sum").item() == 200.0


@given(data=st.data())
def test_nll_loss_of_log_softmax_is_cross_entropy(data, device):
    n, k = data.draw(st.integers(1, 4)), data.draw(st.integers(2, 5))
    logits = data.draw(arrays((n, k)))
    labels = tc.tensor(np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))), device=device)
    weight = tc.tensor(np.linspace(0.5, 2.0, k), device=device)
    x = tc.tensor(logits, device=device)
    np.testing.assert_allclose(tc.nn.NLLLoss(weight)(tc.nn.LogSoftmax(dim=1)(x), labels).numpy(),
                               F.cross_entropy(x, labels, weight).numpy(), rtol=1e-12)
    assert tc.gradcheck(lambda a: F.nll_loss(a, labels, reduction="sum"), leaf(logits, device))
    with pytest.raises(TypeError, match="nll_loss: target must hold integer class labels"):
        F.nll_loss(x, tc.zeros(n))


@given(x=arrays(shapes(min_dims=1, max_dims=3), -4, 4))
def test_leaky_relu_softplus_normalize(x, device):
    t = tc.tensor(x, device=device)
    np.testing.assert_allclose(F.leaky_relu(t, 0.2).numpy(), np.where(x > 0, x, 0.2 * x))
    np.testing.assert_allclose(tc.nn.LeakyReLU(0.2)(t).numpy(), np.where(x > 0, x, 0.2 * x))
    np.testing.assert_allclose(F.softplus(t).numpy(), np.log1p(np.exp(x)), rtol=1e-12)
    norms = np.maximum(np.sqrt((x * x).sum(axis=-1, keepdims=True)), 1e-12)
    np.testing.assert_allclose(F.normalize(t, dim=-1).numpy(), x / norms, rtol=1e-12)
    np.testing.assert_allclose(tc.nn.Tanh()(t).numpy(), np.tanh(x), rtol=1e-12)
    assert tc.gradcheck(F.softplus, leaf(x, device))                         # (smooth at 0 too: σ(0) = ½)
    far = tc.tensor([-40.0, 40.0], dtype="float64", requires_grad=True, device=device)
    F.softplus(far).sum().backward()                                          # σ(−40) = 4.2e-18, not 0
    np.testing.assert_allclose(far.grad.numpy(), 1 / (1 + np.exp([40.0, -40.0])), rtol=1e-12)
    np.testing.assert_allclose(F.silu(far).detach().numpy(), [-40 / (1 + math.exp(40)), 40 / (1 + math.exp(-40))],
                               rtol=1e-15)                                     # silu(−40) = −1.7e-16, not 0
    away = np.where(np.abs(x) < 0.1, 0.5, x)                                 # (kinks at 0, and ‖x‖ = 0)
    assert tc.gradcheck(lambda a: F.leaky_relu(a, 0.2) + F.normalize(a, dim=-1), leaf(away, device))


@given(x=arrays(shapes(min_dims=1, max_dims=3), -8, 8), beta=st.floats(0.25, 4), threshold=st.floats(1, 20))
def test_softplus_beta_and_threshold(x, beta, threshold, device):
    """PyTorch's softplus(x, β, threshold): log(1 + e^βx)/β, and x itself where βx > threshold."""
    t = tc.tensor(x, device=device)
    want = np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)
    np.testing.assert_allclose(F.softplus(t, beta, threshold).numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(tc.nn.Softplus(beta, threshold)(t).numpy(), want, rtol=1e-12)
    # The derivative is σ(βx), and 1 on the linear side: off the seam, the numerical one agrees.
    away = np.where(np.abs(beta * x - threshold) < 0.05, threshold / beta + 1, x)
    assert tc.gradcheck(lambda a: F.softplus(a, beta, threshold), leaf(away, device))
    with pytest.raises(ValueError, match="softplus: beta must be a positive number"):
        F.softplus(t, beta=0)
    with pytest.raises(ValueError, match=r"Softplus: beta must be a finite number > 0, got -1"):
        tc.nn.Softplus(beta=-1)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(data=st.data())
def test_cross_entropy_with_soft_targets_is_differentiable_in_both(reduction, data, device):
    """−Σ_k w_k q'_k log softmax(z)_k, q' = (1 − ε) q + ε/K: against NumPy, and gradchecked in the
    logits z and in the target q (a teacher's probabilities in distillation; its gradient was
    once silently None)."""
    n, k = data.draw(st.integers(1, 3)), data.draw(st.integers(2, 4))
    z, q = data.draw(arrays((n, k))), data.draw(arrays((n, k), 0, 1))
    smoothing, weight = data.draw(st.sampled_from([0.0, 0.2])), np.linspace(0.5, 2.0, k)
    log_p = z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
    want = -(weight * ((1 - smoothing) * q + smoothing / k) * log_p).sum(1)
    want = {"mean": want.mean(), "sum": want.sum(), "none": want}[reduction]

    def loss(logits, target):
        return F.cross_entropy(logits, target, tc.tensor(weight, device=device), reduction=reduction,
                               label_smoothing=smoothing)
    np.testing.assert_allclose(loss(leaf(z, device), leaf(q, device)).detach().numpy(), want, rtol=1e-12, atol=1e-15)
    assert tc.gradcheck(loss, leaf(z, device), leaf(q, device))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(data=st.data(), delta=st.sampled_from([0.5, 1.0, 2.0]))
def test_huber_and_smooth_l1_losses(reduction, data, delta, device):
    """½d² where |d| < δ, else δ(|d| − ½δ); smooth_l1 is that divided by δ (= β), and l1 at β = 0.
    Both once differentiable everywhere: gradchecked in input and target."""
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    x, t = data.draw(arrays(shape, -4, 4)), data.draw(arrays(shape, -4, 4))
    d = x - t
    huber = np.where(np.abs(d) < delta, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta))
    got = F.huber_loss(leaf(x, device), leaf(t, device), reduction, delta)
    np.testing.assert_allclose(got.detach().numpy(), REDUCE[reduction](huber), rtol=1e-12, atol=1e-15)
    smooth = F.smooth_l1_loss(leaf(x, device), leaf(t, device), reduction, beta=delta)
    np.testing.assert_allclose(smooth.detach().numpy(), REDUCE[reduction](huber / delta), rtol=1e-12, atol=1e-15)
    assert tc.gradcheck(lambda a, b: F.huber_loss(a, b, reduction, delta), leaf(x, device), leaf(t, device))
    assert tc.gradcheck(lambda a, b: F.smooth_l1_loss(a, b, reduction, delta), leaf(x, device), leaf(t, device))
    np.testing.assert_allclose(F.smooth_l1_loss(leaf(x, device), leaf(t, device), beta=0.0).detach().numpy(),
                               np.abs(d).mean(), rtol=1e-12)
    assert tc.nn.HuberLoss(reduction, delta)(leaf(x, device), leaf(t, device)).shape == got.shape


@pytest.mark.parametrize("reduction", ["batchmean", "mean", "sum", "none"])
@given(data=st.data())
def test_kl_div_of_log_probabilities(reduction, data, device):
    """Σ t (log t − x), 0 where t = 0; 'batchmean' per sample. log_target=True takes log t. The
    gradient in x is −t, also where t = 0 (no NaN from log 0)."""
    n, k = data.draw(st.integers(1, 3)), data.draw(st.integers(2, 4))
    z, u = data.draw(arrays((n, k))), data.draw(arrays((n, k)))
    t = np.exp(u) / np.exp(u).sum(1, keepdims=True)
    t[:, 0] *= data.draw(st.sampled_from([0.0, 1.0]))                  # sometimes a class of probability 0
    x = z - np.log(np.exp(z).sum(1, keepdims=True))                     # log-probabilities
    terms = np.where(t > 0, t * (np.log(np.where(t > 0, t, 1)) - x), 0.0)
    want = {"batchmean": terms.sum() / n, "mean": terms.mean(), "sum": terms.sum(), "none": terms}[reduction]
    xt = leaf(x, device)
    got = F.kl_div(xt, tc.tensor(t, device=device), reduction)
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12, atol=1e-15)
    got.sum().backward()
    assert np.isfinite(xt.grad.numpy()).all()
    assert tc.gradcheck(lambda a: F.kl_div(a, tc.tensor(t, device=device), reduction), leaf(x, device))
    positive = np.maximum(t, 0.05)
    assert tc.gradcheck(lambda a, b: F.kl_div(a, b, reduction), leaf(x, device), leaf(positive, device))
    with_logs = F.kl_div(leaf(x, device), leaf(np.log(positive), device), reduction, log_target=True)
    np.testing.assert_allclose(with_logs.detach().numpy(),
                               F.kl_div(leaf(x, device), leaf(positive, device), reduction).detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="kl_div: reduction must be 'batchmean', 'mean', 'sum' or 'none'"):
        tc.nn.KLDivLoss(reduction="batch")(xt, tc.tensor(t, device=device))
