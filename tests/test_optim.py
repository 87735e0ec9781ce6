"""Every update rule against a step computed by hand (in plain NumPy, from the formulas)."""
import math
import re
import warnings

import numpy as np
import pytest

import tinycoat as tc
from tinycoat import optim
from tinycoat.nn.module import Module, Parameter


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


def test_adamw_takes_pytorchs_amsgrad_and_refuses_it_on():
    assert optim.AdamW([param([1.0])], 1e-3, (0.9, 0.999), 1e-8, 0.01, False).param_groups[0]["lr"] == 1e-3
    with pytest.raises(ValueError, match="amsgrad=True is not implemented"):
        optim.AdamW([param([1.0])], amsgrad=True)


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
    # a group's own hyper-parameters are checked too (weight_decay_groups sets weight_decay per group)
    (lambda ps: optim.AdamW([{"params": ps, "weight_decay": NAN}]), ValueError,
     "AdamW: weight_decay must be a finite number >= 0, got nan"),
    (lambda ps: optim.SGD([{"params": ps, "lr": NAN}], lr=0.1), ValueError,
     "SGD: lr must be a finite number >= 0, got nan"),
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
