"""Every update rule against a step computed by hand (in plain NumPy, from the formulas)."""
import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat import backend, optim
from tinycoat.nn.module import Module, Parameter
from strategies import arrays, shapes


def param(values, device="cpu"):
    return Parameter(tc.tensor(np.array(values, dtype=np.float64), device=device).data)


def set_grad(p, values):
    p.grad = tc.tensor(np.array(values, dtype=np.float64), device=p.device)


def test_sgd_plain_and_weight_decay(device):
    p = param([1.0, -2.0], device)
    opt = optim.SGD([p], lr=0.1, weight_decay=0.5)
    set_grad(p, [0.2, 0.4])
    opt.step()
    # θ − η(g + λθ) = [1 − 0.1(0.2 + 0.5), −2 − 0.1(0.4 − 1.0)]
    np.testing.assert_allclose(p.numpy(), [0.93, -1.94], rtol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_two_steps(nesterov, device):
    p = param([1.0], device)
    opt = optim.SGD([p], lr=0.1, momentum=0.9, nesterov=nesterov)
    g1, g2 = 0.5, -0.25
    set_grad(p, [g1])
    opt.step()
    set_grad(p, [g2])
    opt.step()
    b1 = g1
    b2 = 0.9 * b1 + g2
    if nesterov:
        expected = 1.0 - 0.1 * (g1 + 0.9 * b1) - 0.1 * (g2 + 0.9 * b2)
    else:
        expected = 1.0 - 0.1 * b1 - 0.1 * b2
    np.testing.assert_allclose(p.numpy(), [expected], rtol=1e-12)


@pytest.mark.parametrize("shape", [(), (2,)])
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_with_weight_decay_on_a_0d_parameter_too(shape, nesterov, device):
    """Three steps of b ← μb + (g + λθ), θ ← θ − η(b or g + λθ + μb). A 0-d parameter (a learned
    scale) once lost its momentum: NumPy's g + λθ of 0-d arrays is a scalar, not an array."""
    p = Parameter(tc.tensor(np.full(shape, 1.0), device=device).data)
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=nesterov)
    theta, b = 1.0, None
    for g in (1.0, -0.5, 2.0):
        p.grad = tc.tensor(np.full(shape, g), device=device)
        opt.step()
        d = g + 0.1 * theta
        b = d if b is None else 0.9 * b + d
        theta -= 0.1 * (d + 0.9 * b if nesterov else b)
    np.testing.assert_allclose(p.numpy(), np.full(shape, theta), rtol=1e-12)
    assert p.shape == shape


@pytest.mark.parametrize("name", ["AdamW", "Adam"])
def test_adam_and_adamw_two_steps_by_hand(name, device):
    """AdamW shrinks θ itself, θ ← θ(1 − ηλ); Adam (PyTorch's) adds the decay to the gradient,
    g ← g + λθ, before the moments. Then the same update."""
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.99, 1e-8, 0.1
    p = param([0.5, -1.0], device)
    opt = getattr(optim, name)([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    theta = np.array([0.5, -1.0])
    m = v = np.zeros(2)
    for t, g in enumerate([np.array([0.3, -0.1]), np.array([-0.2, 0.4])], start=1):
        set_grad(p, g)
        opt.step()
        if name == "AdamW":
            theta = theta * (1 - lr * wd)
        else:
            g = g + wd * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    np.testing.assert_allclose(p.numpy(), theta, rtol=1e-12)
    np.testing.assert_array_equal(p.grad.numpy(), [-0.2, 0.4])     # (the decay is not written into .grad)


def test_adam_and_adamw_default_weight_decay_is_pytorchs():
    assert optim.Adam([param([1.0])]).param_groups[0]["weight_decay"] == 0.0
    assert optim.AdamW([param([1.0])]).param_groups[0]["weight_decay"] == 0.01


def test_add_param_group_takes_more_parameters_with_their_own_settings():
    a, b = param([1.0]), param([1.0])
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5] and opt.param_groups[1]["momentum"] == 0.9
    set_grad(a, [1.0]), set_grad(b, [1.0])
    opt.step()
    assert (a.item(), b.item()) == (pytest.approx(0.9), pytest.approx(0.5))
    with pytest.raises(ValueError, match="appears in two groups"):
        opt.add_param_group({"params": [a]})


def test_adamw_keeps_float32():
    p = Parameter(tc.randn(3).data)
    p.grad = tc.randn(3)
    opt = optim.AdamW([p], lr=0.1)
    opt.step()
    assert p.dtype == tc.float32 and opt.state[p]["exp_avg"].dtype == np.float32


def test_parameter_without_grad_is_skipped():
    p = param([1.0])
    optim.AdamW([p]).step()
    np.testing.assert_array_equal(p.numpy(), [1.0])


class Tiny(Module):
    def __init__(self):
        super().__init__()
        self.weight = param(np.ones((2, 2)))
        self.bias = param([0.0, 0.0])
        self.relative_bias_table = param(np.zeros((1, 3, 3)))
        self.register_buffer("running_mean", tc.zeros(2, dtype="float64"))


def test_weight_decay_groups_exclude_biases_norms_and_bias_tables():
    model = Tiny()
    groups = optim.weight_decay_groups(model.named_parameters(), weight_decay=0.05)
    decayed, undecayed = groups
    assert decayed["weight_decay"] == 0.05 and decayed["params"] == [model.weight]
    assert undecayed["weight_decay"] == 0.0
    assert {id(p) for p in undecayed["params"]} == {id(model.bias), id(model.relative_bias_table)}
    opt = optim.AdamW(groups, lr=0.1)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.05, 0.0]


def test_clip_grad_norm(device):
    a, b = param([0.0, 0.0], device), param([0.0], device)
    set_grad(a, [3.0, 0.0])
    set_grad(b, [4.0])  # global norm 5
    norm = optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert norm.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), [0.8], rtol=1e-6)
    set_grad(a, [0.3, 0.4])  # norm 0.5 < max: untouched
    optim.clip_grad_norm_([a], max_norm=1.0)
    np.testing.assert_allclose(a.grad.numpy(), [0.3, 0.4])


def test_clip_grad_norm_takes_pytorchs_arguments(device):
    """PyTorch's signature: one tensor or many, norm_type third (a positional eps there would clip
    to the wrong norm silently), the norm of no gradients is 0; a max_norm that is no positive
    number is refused."""
    a = param([0.0, 0.0], device)
    assert optim.clip_grad_norm_([a], 1.0).item() == 0.0                  # no gradient yet
    set_grad(a, [3.0, 4.0])
    assert optim.clip_grad_norm_(a, 1.0, 2.0).item() == pytest.approx(5.0)   # one tensor; the L2 norm
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.8], rtol=1e-6)
    with pytest.raises(ValueError, match="norm_type must be 2, 1 or inf"):
        optim.clip_grad_norm_([a], 1.0, 3.0)
    for bad in (float("nan"), 0.0, -1.0):
        with pytest.raises(ValueError, match=r"max_norm must be a number > 0 \(inf: no clipping\)"):
            optim.clip_grad_norm_([a], bad)
    set_grad(a, [3.0, 4.0])
    assert optim.clip_grad_norm_([a], float("inf")).item() == pytest.approx(5.0)    # measured, not clipped
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 4.0])
    for number in (np.float32(2.5), np.int64(5)):                  # NumPy's numbers are numbers (once refused)
        set_grad(a, [3.0, 4.0])
        assert optim.clip_grad_norm_([a], number).item() == pytest.approx(5.0)
        np.testing.assert_allclose(a.grad.numpy(), np.array([3.0, 4.0]) * min(1.0, float(number) / (5 + 1e-6)))
        assert a.grad.dtype == tc.float64


@pytest.mark.parametrize("norm_type, norm", [(1, 12.0), (float("inf"), 5.0), ("inf", 5.0)])
def test_clip_grad_norm_by_the_l1_or_max_norm(norm_type, norm, device):
    a, b = param([0.0, 0.0], device), param([0.0], device)
    set_grad(a, [3.0, -4.0])
    set_grad(b, [5.0])                    # Σ|g| = 12, max |g| = 5
    assert optim.clip_grad_norm_([a, b], 2.0, norm_type).item() == pytest.approx(norm)
    np.testing.assert_allclose(np.concatenate([a.grad.numpy(), b.grad.numpy()]),
                               np.array([3.0, -4.0, 5.0]) * 2.0 / (norm + 1e-6), rtol=1e-9)


def test_clip_grad_value_clamps_each_entry(device):
    a = param([0.0, 0.0, 0.0], device)
    set_grad(a, [3.0, -0.5, -4.0])
    optim.clip_grad_value_([a, param([1.0], device)], 1.0)        # (a parameter without a gradient is skipped)
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, -0.5, -1.0])
    optim.clip_grad_value_(a, np.float32(0.75))
    np.testing.assert_array_equal(a.grad.numpy(), [0.75, -0.5, -0.75])
    with pytest.raises(ValueError, match="clip_value must be a number > 0"):
        optim.clip_grad_value_(a, 0)


def test_clip_grad_norm_leaves_non_finite_gradients_alone(device):
    a, b = param([0.0, 0.0], device), param([0.0], device)
    set_grad(a, [np.inf, 3.0])
    set_grad(b, [4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # no inf·0 = NaN on the way
        norm = optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert np.isinf(norm.item())
    np.testing.assert_array_equal(a.grad.numpy(), [np.inf, 3.0])
    np.testing.assert_array_equal(b.grad.numpy(), [4.0])


def test_warmup_cosine_by_hand():
    peak, warm, total, low = 1e-3, 4, 14, 1e-5
    assert optim.warmup_cosine(0, total, peak, warm, low) == pytest.approx(peak / 4)
    assert optim.warmup_cosine(3, total, peak, warm, low) == pytest.approx(peak)
    assert optim.warmup_cosine(4, total, peak, warm, low) == pytest.approx(peak)
    assert optim.warmup_cosine(9, total, peak, warm, low) == pytest.approx(low + (peak - low) * 0.5)
    assert optim.warmup_cosine(14, total, peak, warm, low) == pytest.approx(low)
    p = param([1.0])
    opt = optim.AdamW([p], lr=peak)
    sched = optim.WarmupCosine(opt, total_steps=total, warmup_steps=warm, min_lr=low)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(total):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs[0] == pytest.approx(peak / 4) and lrs[-1] == pytest.approx(low)
    assert all(x >= y for x, y in zip(lrs[3:], lrs[4:]))  # non-increasing after warm-up
    restored = optim.WarmupCosine(optim.AdamW([param([1.0])], lr=peak), total_steps=1)
    restored.load_state_dict(sched.state_dict())
    assert restored.get_last_lr() == pytest.approx([lrs[-1]]) and restored.total_steps == total   # the saved plan
    with pytest.raises(ValueError, match="the state lacks total_steps, warmup_steps, min_lr"):
        restored.load_state_dict({"last_step": 3})


def test_optimizer_state_dict_round_trip():
    p1, q1 = param([1.0, 2.0]), param([3.0])
    opt = optim.AdamW([p1, q1], lr=0.1)
    for g in ([0.1, 0.2], [0.3, -0.1]):
        set_grad(p1, g)
        set_grad(q1, [0.5])
        opt.step()
    p2, q2 = param(p1.numpy()), param(q1.numpy())
    opt2 = optim.AdamW([p2, q2], lr=0.5)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.param_groups[0]["lr"] == 0.1
    for p, q in ((p1, p2), (q1, q2)):
        set_grad(p, [0.2] * p.numel())
        set_grad(q, [0.2] * q.numel())
    opt.step()
    opt2.step()
    np.testing.assert_array_equal(p1.numpy(), p2.numpy())
    with pytest.raises(ValueError, match="groups of sizes"):
        optim.AdamW([param([1.0])]).load_state_dict(opt.state_dict())


def test_ema_by_hand():
    model = Tiny()
    ema = optim.ModelEMA(model, decay=0.9)
    model.weight.data[...] = 3.0
    model.running_mean.data[...] = 7.0
    ema.update(model)
    # 0.9·1 + 0.1·3 = 1.2 ; buffers are copied
    np.testing.assert_allclose(ema.shadow["weight"], np.full((2, 2), 1.2))
    target = Tiny()
    ema.copy_to(target)
    np.testing.assert_allclose(target.weight.numpy(), np.full((2, 2), 1.2))
    np.testing.assert_array_equal(target.running_mean.numpy(), [7.0, 7.0])
    again = optim.ModelEMA(Tiny(), decay=0.9)
    again.load_state_dict(ema.state_dict())
    np.testing.assert_array_equal(again.shadow["weight"], ema.shadow["weight"])


def test_ema_load_state_dict_checks_every_entry_before_writing_any():
    ema, saved = optim.ModelEMA(Tiny(), decay=0.9), optim.ModelEMA(Tiny(), decay=0.9).state_dict()
    saved = {k: v + 1 for k, v in saved.items()}
    before = {k: v.copy() for k, v in ema.state_dict().items()}
    cases = [({k: v for k, v in saved.items() if k != "buffers.running_mean"}, r"missing: buffers\.running_mean"),
             ({**saved, "extra": np.zeros(2)}, r"unexpected: extra"),
             ({**saved, "shadow.weight": [[1.0, 2.0]]}, r"mis-shaped: shadow\.weight a list \(expected an array of shape \(2, 2\)\)")]
    for state, message in cases:
        with pytest.raises(ValueError, match=message):
            ema.load_state_dict(state)
        for k, v in ema.state_dict().items():
            np.testing.assert_array_equal(v, before[k], err_msg=k)              # nothing written
    ema.load_state_dict(saved)
    np.testing.assert_array_equal(ema.shadow["weight"], saved["shadow.weight"])


def test_bad_hyperparameters_are_clear_errors():
    with pytest.raises(ValueError, match="betas"):
        optim.AdamW([param([1.0])], betas=(0.9, 1.5))
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([param([1.0])], nesterov=True)
    with pytest.raises(TypeError, match="every parameter must be a Tensor, got ndarray"):
        optim.SGD([np.ones(2)])
    with pytest.raises(ValueError, match="a non-leaf tensor"):
        optim.SGD([param([1.0]) * 2])
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    assert math.isfinite(optim.warmup_cosine(0, 1, 1.0))


@pytest.mark.parametrize("name", ["AdamW", "Adam"])
def test_adam_and_adamw_take_pytorchs_arguments_amsgrad_sixth_and_maximize_by_name(name):
    """(params, lr, betas, eps, weight_decay, amsgrad, *, maximize): PyTorch's order, maximize only
    by name (a seventh positional argument is refused there too); every group holds both switches."""
    make = getattr(optim, name)
    group = make([param([1.0])], 1e-3, (0.9, 0.999), 1e-8, 0.01, True).param_groups[0]
    assert (group["lr"], group["amsgrad"], group["maximize"]) == (1e-3, True, False)
    assert make([param([1.0])], maximize=True).param_groups[0]["maximize"] is True
    with pytest.raises(TypeError):
        make([param([1.0])], 1e-3, (0.9, 0.999), 1e-8, 0.01, False, True)
    with pytest.raises(TypeError):
        optim.SGD([param([1.0])], 0.1, 0.9, 0.0, 0.0, False, True)


def test_sgd_default_lr_is_pytorchs():
    assert optim.SGD([param([1.0])]).param_groups[0]["lr"] == 1e-3


def test_sgd_takes_pytorchs_arguments_in_pytorchs_order():
    """SGD(params, lr, momentum, dampening, weight_decay, nesterov): a positional fourth argument is
    the dampening τ, b ← μ·b + (1 − τ)·g after the first step (which takes g as it is)."""
    p = param([1.0])
    opt = optim.SGD([p], 0.1, 0.9, 0.5)
    assert opt.param_groups[0]["dampening"] == 0.5 and opt.param_groups[0]["weight_decay"] == 0.0
    for g in (1.0, 2.0):
        set_grad(p, [g])
        opt.step()
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.1 * 1.0 - 0.1 * (0.9 * 1.0 + 0.5 * 2.0)], rtol=1e-6)
    with pytest.raises(ValueError, match="Nesterov momentum needs momentum > 0 and dampening 0"):
        optim.SGD([p], 0.1, 0.9, 0.5, nesterov=True)


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("make,error,message", [
    (lambda ps: optim.AdamW(ps, lr=NAN), ValueError, "AdamW: lr must be a finite number >= 0, got nan"),
    (lambda ps: optim.AdamW(ps, lr=-1e-3), ValueError, "AdamW: lr must be a finite number >= 0, got -0.001"),
    (lambda ps: optim.AdamW(ps, lr="1e-3"), TypeError, "AdamW: lr must be a finite number >= 0, got '1e-3'"),
    (lambda ps: optim.AdamW(ps, eps=NAN), ValueError, "AdamW: eps must be a finite number >= 0, got nan"),
    (lambda ps: optim.AdamW(ps, weight_decay=INF), ValueError,
     "AdamW: weight_decay must be a finite number >= 0, got inf"),
    (lambda ps: optim.AdamW(ps, betas=(0.9,)), ValueError,
     "AdamW: betas must be a pair (beta1, beta2) of numbers in [0, 1), got (0.9,)"),
    (lambda ps: optim.AdamW(ps, betas=0.9), ValueError,
     "AdamW: betas must be a pair (beta1, beta2) of numbers in [0, 1), got 0.9"),
    (lambda ps: optim.AdamW(ps, betas=(0.9, NAN)), ValueError,
     "AdamW: betas[1] must be a finite number in [0, 1), got nan"),
    (lambda ps: optim.AdamW(ps, betas=(1.0, 0.999)), ValueError,
     "AdamW: betas[0] must be a finite number in [0, 1), got 1.0"),
    (lambda ps: optim.SGD(ps, lr=NAN), ValueError, "SGD: lr must be a finite number >= 0, got nan"),
    (lambda ps: optim.SGD(ps, momentum=NAN), ValueError, "SGD: momentum must be a finite number >= 0, got nan"),
    (lambda ps: optim.SGD(ps, weight_decay=-INF), ValueError,
     "SGD: weight_decay must be a finite number >= 0, got -inf"),
    (lambda ps: optim.SGD(ps, lr=None), TypeError, "SGD: lr must be a finite number >= 0, got None"),
    # a switch given as a string or a number would be on or off by its truth, silently
    (lambda ps: optim.SGD(ps, maximize="False"), TypeError, "SGD: maximize must be True or False, got 'False'"),
    (lambda ps: optim.SGD(ps, momentum=0.9, nesterov="no"), TypeError, "SGD: nesterov must be True or False, got 'no'"),
    (lambda ps: optim.AdamW(ps, amsgrad=1), TypeError, "AdamW: amsgrad must be True or False, got 1"),
    (lambda ps: optim.Adam(ps, maximize=None), TypeError, "Adam: maximize must be True or False, got None"),
    # a group's own hyper-parameters are checked too (weight_decay_groups sets weight_decay per group)
    (lambda ps: optim.AdamW([{"params": ps, "weight_decay": NAN}]), ValueError,
     "AdamW: weight_decay must be a finite number >= 0, got nan"),
    (lambda ps: optim.SGD([{"params": ps, "lr": NAN}], lr=0.1), ValueError,
     "SGD: lr must be a finite number >= 0, got nan"),
    (lambda ps: optim.AdamW([{"params": ps, "amsgrad": "yes"}]), TypeError,
     "AdamW: amsgrad must be True or False, got 'yes'"),
    (lambda ps: optim.RMSprop(ps, alpha=1.5), ValueError, "RMSprop: alpha must be a finite number in [0, 1], got 1.5"),
    (lambda ps: optim.RMSprop(ps, momentum=-0.1), ValueError,
     "RMSprop: momentum must be a finite number >= 0, got -0.1"),
    (lambda ps: optim.RMSprop(ps, centered=1), TypeError, "RMSprop: centered must be True or False, got 1"),
    (lambda ps: optim.Adagrad(ps, lr_decay=NAN), ValueError, "Adagrad: lr_decay must be a finite number >= 0, got nan"),
    (lambda ps: optim.Adagrad(ps, initial_accumulator_value=-1), ValueError,
     "Adagrad: initial_accumulator_value must be a finite number >= 0, got -1"),
])
def test_optimizers_refuse_bad_hyperparameters_at_construction(make, error, message):
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        make([param([1.0, 2.0])])


def test_optimizer_load_state_dict_says_what_a_state_dict_holds():
    opt = optim.AdamW([param([1.0])])
    expected = (r"^AdamW\.load_state_dict: expected a dict made by state_dict\(\), with 'state' \(a dict\) and "
                r"'param_groups' \(a list of dicts, each with 'params'\), got ")
    with pytest.raises(ValueError, match=expected + r"keys \['bogus'\]$"):
        opt.load_state_dict({"bogus": 1})
    with pytest.raises(ValueError, match=expected + "list$"):
        opt.load_state_dict([])
    with pytest.raises(ValueError, match=expected):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1}]})


def test_optimizer_load_state_dict_checks_the_state_before_taking_any():
    """A bad setting, an incomplete or foreign state, a parameter index that is no number: each a
    clear error, and the optimizer as it was (a step would otherwise fail later, or use SGD's
    momentum as Adam's moments)."""
    p = param([1.0, 2.0])
    adam, sgd = optim.AdamW([p], lr=0.1), optim.SGD([p], lr=0.1, momentum=0.9)
    set_grad(p, [0.1, 0.2])
    adam.step()
    sgd.step()
    good, foreign = adam.state_dict(), sgd.state_dict()
    target = optim.AdamW([param([1.0, 2.0])], lr=0.5)
    cases = [
        ({**good, "param_groups": [{**good["param_groups"][0], "lr": "fast"}]}, TypeError,
         r"lr must be a finite number >= 0, got 'fast'"),
        ({**good, "state": {0: {k: v for k, v in good["state"][0].items() if k != "exp_avg_sq"}}}, ValueError,
         r"parameter 0's state holds \['exp_avg', 'step'\], but AdamW keeps \['step', 'exp_avg', 'exp_avg_sq'\]"),
        ({**good, "state": foreign["state"]}, ValueError, r"holds \['momentum_buffer'\].*another optimizer"),
        ({**good, "state": {"x": good["state"][0]}}, ValueError, r"state for parameter 'x', but parameters are numbered 0 to 0"),
    ]
    for state, error, message in cases:
        with pytest.raises(error, match=message):
            target.load_state_dict(state)
        assert target.param_groups[0]["lr"] == 0.5 and target.state == {}
    target.load_state_dict(good)
    assert target.param_groups[0]["lr"] == 0.1 and set(next(iter(target.state.values()))) == set(good["state"][0])


def test_an_update_rule_of_ones_own_saves_and_loads_its_state():
    """A subclass that names no STATE_KEYS is not held to any (an SGD of one's own, in a lesson)."""
    class Momentum(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def step(self):
            for group in self.param_groups:
                for p in group["params"]:
                    v = self.state.setdefault(p, {"v": p.xp.zeros_like(p.data)})["v"]
                    v[...] = 0.9 * v + p.grad.data
                    p.data -= group["lr"] * v
    p = param([1.0])
    first = Momentum([p])
    set_grad(p, [1.0])
    first.step()
    again = Momentum([param([1.0])])
    again.load_state_dict(first.state_dict())
    assert next(iter(again.state.values()))["v"].tolist() == [1.0]


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(total_steps=10, min_lr=1.0), ValueError,
     "WarmupCosine: min_lr (1) must not be above the optimizer's lr (0.001): the schedule decays from lr down to "
     "min_lr"),
    (dict(total_steps=10, min_lr=-1e-5), ValueError, "WarmupCosine: min_lr must be a finite number >= 0, got -1e-05"),
    (dict(total_steps=10, min_lr=NAN), ValueError, "WarmupCosine: min_lr must be a finite number >= 0, got nan"),
    (dict(total_steps=0), ValueError, "WarmupCosine: need ints 0 <= warmup_steps <= total_steps and "
                                      "total_steps > 0, got warmup_steps=0, total_steps=0"),
    (dict(total_steps=10, warmup_steps=-1), ValueError, "WarmupCosine: need ints 0 <= warmup_steps <= total_steps "
                                                        "and total_steps > 0, got warmup_steps=-1, total_steps=10"),
    (dict(total_steps=10, warmup_steps=11), ValueError, "WarmupCosine: need ints 0 <= warmup_steps <= total_steps "
                                                        "and total_steps > 0, got warmup_steps=11, total_steps=10"),
    (dict(total_steps=10.0), TypeError, "WarmupCosine: need ints 0 <= warmup_steps <= total_steps and "
                                        "total_steps > 0, got warmup_steps=0, total_steps=10.0"),
])
def test_warmup_cosine_refuses_bad_arguments(kwargs, error, message):
    opt = optim.AdamW([param([1.0])], lr=1e-3)
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        optim.WarmupCosine(opt, **kwargs)
    assert opt.param_groups[0]["lr"] == 1e-3 and "initial_lr" not in opt.param_groups[0]   # left untouched


def test_warmup_cosine_min_lr_is_checked_against_every_groups_peak():
    opt = optim.AdamW([{"params": [param([1.0])], "lr": 1e-2}, {"params": [param([2.0])], "lr": 1e-4}])
    with pytest.raises(ValueError, match=r"min_lr \(0\.001\) must not be above the optimizer's lr \(0\.0001\)"):
        optim.WarmupCosine(opt, total_steps=10, min_lr=1e-3)
    sched = optim.WarmupCosine(opt, total_steps=10, min_lr=1e-4)      # equal to the lowest peak: allowed
    for _ in range(10):
        sched.step()
    assert sched.get_last_lr() == pytest.approx([1e-4, 1e-4])


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.AdamW(ps, lr=0.1)],
                         ids=["SGD", "AdamW"])
def test_a_frozen_parameter_is_accepted_and_left_alone(make):
    """A layer frozen with requires_grad=False may stay in model.parameters(), as in PyTorch."""
    layer = tc.nn.Linear(2, 2)
    layer.bias.requires_grad_(False)
    opt, bias = make(layer.parameters()), layer.bias.numpy().copy()
    with tc.fast.enabled(True):                      # (on a GPU, the wing's multi-tensor update too)
        layer(tc.randn(3, 2)).sum().backward()
        opt.step()
    assert layer.bias.grad is None and np.array_equal(layer.bias.numpy(), bias)
    assert layer.bias not in opt.state


# ------------------------------------------------- maximize and AMSGrad, against the rules written out here

def sgd_by_hand(theta, grads, lr, momentum, dampening, weight_decay, nesterov, maximize):
    """PyTorch's documented SGD: g ← −∇ (maximize) or ∇, g ← g + λθ, b ← μb + (1 − τ)g (b = g on
    the first step), θ ← θ − η(g + μb) (Nesterov) or θ − ηb. Returns θ and b."""
    b = None
    for grad in grads:
        g = (-grad if maximize else grad) + weight_decay * theta
        if momentum:
            b = g if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        theta = theta - lr * g
    return theta, b


def adam_by_hand(theta, grads, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize):
    """PyTorch's documented Adam (decoupled: AdamW): g ← −∇ (maximize) or ∇; AdamW θ ← θ(1 − ηλ),
    Adam g ← g + λθ; m, v the moments; AMSGrad v_max ← max(v_max, v) of the raw v, and
    v̂ = v_max / (1 − β₂ᵗ). Returns θ, m, v, v_max."""
    m = v = v_max = np.zeros_like(theta)
    for t, grad in enumerate(grads, start=1):
        g = -grad if maximize else grad
        if decoupled:
            theta = theta * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = np.maximum(v_max, v)
        v_hat = (v_max if amsgrad else v) / (1 - beta2 ** t)
        theta = theta - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v_hat) + eps)
    return theta, m, v, v_max


@st.composite
def trajectories(draw, max_steps=5):
    """A parameter's start (0-d to 2-d) and a few gradients of its shape."""
    shape = draw(shapes(min_dims=0, max_dims=2))
    return draw(arrays(shape)), draw(st.lists(arrays(shape), min_size=1, max_size=max_steps))


def close(got, want, what):
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10, err_msg=what)


@given(path=trajectories(), lr=st.floats(0, 1), weight_decay=st.sampled_from([0.0, 0.1]) | st.floats(0, 1),
       maximize=st.booleans(), data=st.data())
def test_sgd_follows_the_rule_written_out_maximizing_too(device, path, lr, weight_decay, maximize, data):
    momentum = data.draw(st.sampled_from([0.0, 0.9]) | st.floats(0, 0.99), label="momentum")
    nesterov = momentum > 0 and data.draw(st.booleans(), label="nesterov")
    dampening = 0.0 if nesterov else data.draw(st.sampled_from([0.0, 0.5]) | st.floats(0, 1), label="dampening")
    theta0, grads = path
    p = param(theta0, device)
    opt = optim.SGD([p], lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                    nesterov=nesterov, maximize=maximize)
    for g in grads:
        set_grad(p, g)
        opt.step()
    theta, b = sgd_by_hand(theta0, grads, lr, momentum, dampening, weight_decay, nesterov, maximize)
    close(p.numpy(), theta, "θ")
    assert p.shape == theta0.shape
    if momentum:
        close(backend.to_numpy(opt.state[p]["momentum_buffer"]), b, "momentum buffer")
    np.testing.assert_array_equal(p.grad.numpy(), grads[-1])        # (the sign is not written into .grad)


@pytest.mark.parametrize("name", ["AdamW", "Adam"])
@given(path=trajectories(), lr=st.floats(0, 1), beta1=st.floats(0, 0.99), beta2=st.floats(0, 0.999),
       eps=st.sampled_from([1e-8, 1e-3, 0.1]), weight_decay=st.sampled_from([0.0, 0.1]) | st.floats(0, 1),
       amsgrad=st.booleans(), maximize=st.booleans(), wing=st.booleans())
def test_adam_and_adamw_follow_the_rule_written_out_with_amsgrad_and_maximize(
        name, device, path, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, wing):
    """θ and the whole state (the step count, m, v and, with amsgrad only, the running maximum of v),
    with the fast wing off or on (on a GPU: the multi-tensor kernel, or the reference it falls back to)."""
    theta0, grads = path
    p = param(theta0, device)
    opt = getattr(optim, name)([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                               amsgrad=amsgrad, maximize=maximize)
    with tc.fast.enabled(wing):
        for g in grads:
            set_grad(p, g)
            opt.step()
    theta, m, v, v_max = adam_by_hand(theta0, grads, lr, beta1, beta2, eps, weight_decay, name == "AdamW",
                                      amsgrad, maximize)
    close(p.numpy(), theta, "θ")
    state = {k: backend.to_numpy(a) if hasattr(a, "shape") else a for k, a in opt.state[p].items()}
    assert set(state) == {"step", "exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if amsgrad else set())
    assert state["step"] == len(grads)
    close(state["exp_avg"], m, "exp_avg")
    close(state["exp_avg_sq"], v, "exp_avg_sq")
    if amsgrad:
        close(state["max_exp_avg_sq"], v_max, "max_exp_avg_sq")


@pytest.mark.parametrize("name", ["AdamW", "Adam"])
def test_amsgrad_keeps_the_running_maximum_of_v_and_corrects_it_by_this_steps_bias(name, device):
    """g = 2, then 0, with β₂ = 0.5: v = 2, then 1; the maximum stays 2, and step 2 divides by
    √(2 / (1 − 0.5²)) — PyTorch's code (and its documentation now). The maximum of the corrected
    v̂ (PyTorch 1.10's and 1.11's documentation) would be √4; plain Adam's is √(1 / 0.75)."""
    p = param([1.0], device)
    opt = getattr(optim, name)([p], lr=0.1, betas=(0.9, 0.5), eps=0.0, weight_decay=0.0, amsgrad=True)
    set_grad(p, [2.0])
    opt.step()
    assert p.item() == pytest.approx(1 - 0.1 * 2 / 2, rel=1e-12)          # m̂ = 0.2 / 0.1, v̂ = 2 / 0.5
    set_grad(p, [0.0])
    opt.step()
    state = opt.state[p]
    assert (state["exp_avg_sq"].item(), state["max_exp_avg_sq"].item()) == (1.0, 2.0)
    assert p.item() == pytest.approx(0.9 - 0.1 * (0.18 / 0.19) / math.sqrt(2 / 0.75), rel=1e-12)
    set_grad(p, [3.0])                                  # v = 0.5 + 4.5 = 5 > 2: the maximum follows v up
    opt.step()
    assert (state["exp_avg_sq"].item(), state["max_exp_avg_sq"].item()) == (5.0, 5.0)


@pytest.mark.parametrize("make", [
    lambda ps, maximize: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05, maximize=maximize),
    lambda ps, maximize: optim.SGD(ps, lr=0.1, momentum=0.5, dampening=0.3, maximize=maximize),
    lambda ps, maximize: optim.Adam(ps, lr=0.1, weight_decay=0.05, amsgrad=True, maximize=maximize),
    lambda ps, maximize: optim.AdamW(ps, lr=0.1, weight_decay=0.05, amsgrad=True, maximize=maximize),
    lambda ps, maximize: optim.AdamW(ps, lr=0.1, maximize=maximize),
    lambda ps, maximize: optim.RMSprop(ps, lr=0.1, momentum=0.5, centered=True, weight_decay=0.05, maximize=maximize),
    lambda ps, maximize: optim.Adagrad(ps, lr=0.1, lr_decay=0.1, weight_decay=0.05, maximize=maximize),
], ids=["SGD-nesterov", "SGD-dampening", "Adam-amsgrad", "AdamW-amsgrad", "AdamW", "RMSprop", "Adagrad"])
@given(path=trajectories(max_steps=1), steps=st.integers(1, 6))
def test_maximizing_f_is_minimizing_minus_f(make, path, steps):
    """f(θ) = −Σ(θ − c)², its gradient by backward: maximize=True on f takes the very steps that
    maximize=False takes on −f (weight decay shrinking θ in both)."""
    theta0, (c,) = path
    thetas = []
    for maximize, sign in ((True, 1.0), (False, -1.0)):
        theta = param(theta0)
        opt = make([theta], maximize)
        for _ in range(steps):
            opt.zero_grad()
            f = -((theta - tc.tensor(c)) ** 2).sum()
            (f * sign).backward()
            opt.step()
        thetas.append(theta.numpy())
    np.testing.assert_array_equal(thetas[0], thetas[1])


def test_add_param_group_takes_its_own_maximize_and_amsgrad():
    """As in PyTorch, a group may set its own switches; the others keep the optimizer's."""
    a, b = param([0.5, -1.0]), param([2.0])
    opt = optim.Adam([a], lr=0.1, betas=(0.8, 0.9), weight_decay=0.1)
    opt.add_param_group({"params": b, "amsgrad": True, "maximize": True})
    assert [(g["amsgrad"], g["maximize"]) for g in opt.param_groups] == [(False, False), (True, True)]
    grads_a, grads_b = [np.array([0.3, -0.2]), np.array([0.1, 0.0])], [np.array([1.0]), np.array([-0.1])]
    for ga, gb in zip(grads_a, grads_b):
        set_grad(a, ga), set_grad(b, gb)
        opt.step()
    hyper = dict(lr=0.1, beta1=0.8, beta2=0.9, eps=1e-8, weight_decay=0.1, decoupled=False)
    close(a.numpy(), adam_by_hand(np.array([0.5, -1.0]), grads_a, **hyper, amsgrad=False, maximize=False)[0], "group 0")
    close(b.numpy(), adam_by_hand(np.array([2.0]), grads_b, **hyper, amsgrad=True, maximize=True)[0], "group 1")
    assert "max_exp_avg_sq" not in opt.state[a] and "max_exp_avg_sq" in opt.state[b]
    s, t = param([1.0]), param([1.0])
    sgd = optim.SGD([s], lr=0.1)
    sgd.add_param_group({"params": [t], "maximize": True})
    set_grad(s, [1.0]), set_grad(t, [1.0])
    sgd.step()
    assert (s.item(), t.item()) == (pytest.approx(0.9), pytest.approx(1.1))
    with pytest.raises(TypeError, match="^SGD: maximize must be True or False, got 'yes'$"):
        sgd.add_param_group({"params": [param([1.0])], "maximize": "yes"})


OPTIMIZERS_WITH_SWITCHES = {
    "SGD": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True),
    "Adam": lambda ps: optim.Adam(ps, lr=0.05, weight_decay=0.01, amsgrad=True, maximize=True),
    "AdamW": lambda ps: optim.AdamW([{"params": ps[:1], "amsgrad": True},            # one group with, one without
                                     {"params": ps[1:], "maximize": True}], lr=0.05),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS_WITH_SWITCHES))
@given(data=st.data())
def test_resuming_from_a_state_dict_mid_training_gives_the_same_parameters(name, data):
    """Train k steps, save; a fresh optimizer, built with the defaults, loads the state (the saved
    maximize and amsgrad with it, as in PyTorch) and continues: the same parameters as the run
    that never stopped, bit for bit, and the same state (AMSGrad's maximum too)."""
    shapes_ = data.draw(st.lists(shapes(min_dims=0, max_dims=2), min_size=2, max_size=3), label="shapes")
    starts = [data.draw(arrays(s)) for s in shapes_]
    grads = [[data.draw(arrays(s)) for s in shapes_] for _ in range(data.draw(st.integers(2, 6), label="steps"))]
    k = data.draw(st.integers(1, len(grads) - 1), label="saved after")
    ps = [param(a) for a in starts]
    opt = OPTIMIZERS_WITH_SWITCHES[name](ps)
    for t, step_grads in enumerate(grads):
        if t == k:
            saved = opt.state_dict()
            resumed_ps = [param(p.numpy()) for p in ps]
            resumed = getattr(optim, name)(resumed_ps if name != "AdamW" else
                                           [{"params": resumed_ps[:1]}, {"params": resumed_ps[1:]}])
            resumed.load_state_dict(saved)
            assert [{k_: v for k_, v in g.items() if k_ != "params"} for g in resumed.param_groups] == \
                [{k_: v for k_, v in g.items() if k_ != "params"} for g in opt.param_groups]
        for p, g in zip(ps, step_grads):
            set_grad(p, g)
        opt.step()
        if t >= k:
            for p, g in zip(resumed_ps, step_grads):
                set_grad(p, g)
            resumed.step()
    for p, q in zip(ps, resumed_ps):
        np.testing.assert_array_equal(q.numpy(), p.numpy())
        assert opt.state[p].keys() == resumed.state[q].keys()
        for key, value in opt.state[p].items():
            np.testing.assert_array_equal(resumed.state[q][key], value, err_msg=key)
    if name != "SGD":                               # the first parameter's group has amsgrad, AdamW's second not
        assert "max_exp_avg_sq" in resumed.state[resumed_ps[0]]
        assert ("max_exp_avg_sq" in resumed.state[resumed_ps[1]]) == (name == "Adam")


def test_load_state_dict_holds_an_amsgrad_group_to_its_running_maximum():
    """A parameter's state is checked against its group's settings as loaded: a group saved with
    amsgrad=True and a state without the maximum is refused, and nothing changes."""
    p = param([1.0, 2.0])
    plain = optim.AdamW([p], lr=0.1)
    set_grad(p, [0.1, 0.2])
    plain.step()
    saved = plain.state_dict()
    bad = {**saved, "param_groups": [{**saved["param_groups"][0], "amsgrad": True}]}
    target = optim.AdamW([param([1.0, 2.0])], lr=0.5)
    message = ("parameter 0's state holds ['exp_avg', 'exp_avg_sq', 'step'], but AdamW keeps "
               "['step', 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq']")
    with pytest.raises(ValueError, match=re.escape(message)):
        target.load_state_dict(bad)
    assert target.param_groups[0]["lr"] == 0.5 and not target.param_groups[0]["amsgrad"] and target.state == {}
    target.load_state_dict(saved)                               # as saved: without amsgrad, without the maximum
    assert set(next(iter(target.state.values()))) == {"step", "exp_avg", "exp_avg_sq"}


def test_amsgrad_switched_on_after_steps_without_it_is_refused_before_anything_changes():
    a, b = param([1.0]), param([2.0])
    opt = optim.Adam([{"params": [a]}, {"params": [b]}], lr=0.1)
    set_grad(a, [1.0]), set_grad(b, [1.0])
    opt.step()
    before = (a.item(), b.item(), opt.state[a]["step"])
    opt.param_groups[1]["amsgrad"] = True
    with pytest.raises(ValueError, match=r"^Adam: a group has amsgrad=True, but a parameter of it has taken steps "
                                         r"without it \(its state has no 'max_exp_avg_sq'\): set amsgrad before "
                                         r"the first step$"):
        opt.step()
    assert (a.item(), b.item(), opt.state[a]["step"]) == before


# ------------------------------------------------- RMSprop and Adagrad, against the rules written out here

def rmsprop_by_hand(theta, grads, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    """PyTorch's documented RMSprop: g ← −∇ (maximize) or ∇, g ← g + λθ; v ← αv + (1 − α)g²; centered:
    ḡ ← αḡ + (1 − α)g, ṽ = v − ḡ²; b ← μb + g/(√ṽ + ε), θ ← θ − ηb (μ = 0: θ ← θ − ηg/(√ṽ + ε))."""
    v = g_avg = b = np.zeros_like(theta)
    for grad in grads:
        g = (-grad if maximize else grad) + weight_decay * theta
        v = alpha * v + (1 - alpha) * g * g
        g_avg = alpha * g_avg + (1 - alpha) * g
        scaled = g / (np.sqrt(v - g_avg * g_avg if centered else v) + eps)
        b = momentum * b + scaled
        theta = theta - lr * (b if momentum > 0 else scaled)
    return theta, v, g_avg, b


def adagrad_by_hand(theta, grads, lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize):
    """PyTorch's documented Adagrad: η_t = η/(1 + (t − 1)·lr_decay); g ← −∇ or ∇, g ← g + λθ; s ← s + g²
    (from initial_accumulator_value); θ ← θ − η_t·g/(√s + ε)."""
    s = np.full_like(theta, initial_accumulator_value)
    for t, grad in enumerate(grads, start=1):
        g = (-grad if maximize else grad) + weight_decay * theta
        s = s + g * g
        theta = theta - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
    return theta, s


@given(path=trajectories(), lr=st.floats(0, 1), alpha=st.sampled_from([0.99, 0.5]) | st.floats(0, 1),
       eps=st.sampled_from([1e-8, 1e-3, 0.1]), weight_decay=st.sampled_from([0.0, 0.1]),
       momentum=st.sampled_from([0.0, 0.9]) | st.floats(0, 0.99), centered=st.booleans(), maximize=st.booleans())
def test_rmsprop_follows_the_rule_written_out(device, path, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    """θ and the whole state (PyTorch's names: square_avg, momentum_buffer with momentum, grad_avg when
    centered)."""
    theta0, grads = path
    if centered:
        # ṽ = v − ḡ² cancels: its relative rounding error grows as ε_machine/α (α → 0 leaves ṽ ≈ α·g²), and
        # a ṽ of about 0 divided by a tiny ε magnifies it; two correct orders of rounding then differ
        alpha, eps = max(alpha, 0.01), max(eps, 1e-3)
    p = param(theta0, device)
    opt = optim.RMSprop([p], lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
    for g in grads:
        set_grad(p, g)
        opt.step()
    theta, v, g_avg, b = rmsprop_by_hand(theta0, grads, lr, alpha, eps, weight_decay, momentum, centered, maximize)
    close(p.numpy(), theta, "θ")
    state = {k: backend.to_numpy(a) if hasattr(a, "shape") else a for k, a in opt.state[p].items()}
    assert set(state) == ({"step", "square_avg"} | ({"momentum_buffer"} if momentum > 0 else set())
                          | ({"grad_avg"} if centered else set()))
    assert state["step"] == len(grads)
    close(state["square_avg"], v, "square_avg")
    if momentum > 0:
        close(state["momentum_buffer"], b, "momentum_buffer")
    if centered:
        close(state["grad_avg"], g_avg, "grad_avg")


@given(path=trajectories(), lr=st.floats(0, 1), lr_decay=st.sampled_from([0.0, 0.5]) | st.floats(0, 2),
       weight_decay=st.sampled_from([0.0, 0.1]), initial=st.sampled_from([0.0, 0.1, 2.0]),
       eps=st.sampled_from([1e-10, 1e-3]), maximize=st.booleans())
def test_adagrad_follows_the_rule_written_out(device, path, lr, lr_decay, weight_decay, initial, eps, maximize):
    theta0, grads = path
    p = param(theta0, device)
    opt = optim.Adagrad([p], lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, initial_accumulator_value=initial,
                        eps=eps, maximize=maximize)
    for g in grads:
        set_grad(p, g)
        opt.step()
    theta, s = adagrad_by_hand(theta0, grads, lr, lr_decay, weight_decay, initial, eps, maximize)
    close(p.numpy(), theta, "θ")
    assert opt.state[p]["step"] == len(grads)
    close(backend.to_numpy(opt.state[p]["sum"]), s, "sum")


def test_adagrads_steps_shrink_and_rmsprops_do_not():
    """The difference the top of rmsprop.py describes: with the same gradient every step, Adagrad's
    step falls as 1/√t, RMSprop's settles (its mean of g² stops growing)."""
    steps = {}
    for name, make in [("Adagrad", lambda ps: optim.Adagrad(ps, lr=0.1)),
                       ("RMSprop", lambda ps: optim.RMSprop(ps, lr=0.1, alpha=0.5))]:
        p = param([0.0])
        opt, before, sizes = make([p]), 0.0, []
        for _ in range(40):
            set_grad(p, [1.0])
            opt.step()
            sizes.append(before - p.item())
            before = p.item()
        steps[name] = sizes
    assert steps["Adagrad"][-1] == pytest.approx(0.1 / math.sqrt(40), rel=1e-6)
    assert steps["RMSprop"][-1] == pytest.approx(0.1, rel=1e-6)           # v → 1: the step → η·1/√1


@pytest.mark.parametrize("make", [lambda ps: optim.RMSprop(ps, lr=0.1, momentum=0.9, centered=True),
                                  lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.1)], ids=["RMSprop", "Adagrad"])
def test_rmsprop_and_adagrad_state_dicts_round_trip(make):
    p1 = param([1.0, 2.0])
    opt = make([p1])
    for g in ([0.1, 0.2], [0.3, -0.1]):
        set_grad(p1, g)
        opt.step()
    p2 = param(p1.numpy())
    opt2 = make([p2])
    opt2.load_state_dict(opt.state_dict())
    set_grad(p1, [0.2, 0.2]), set_grad(p2, [0.2, 0.2])
    opt.step(), opt2.step()
    np.testing.assert_array_equal(p1.numpy(), p2.numpy())
    with pytest.raises(ValueError, match="keeps"):
        optim.SGD([param([1.0, 2.0])], momentum=0.9).load_state_dict(opt.state_dict())
