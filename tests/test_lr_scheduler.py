"""PyTorch's learning-rate schedulers (tinycoat/optim/lr_scheduler.py): the lr after each step()
against the formulas written out here, the groups' ratios, resuming from a state_dict, errors."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat import optim
from tinycoat.optim import lr_scheduler as sched


def optimizer(*lrs):
    return optim.SGD([{"params": [tc.nn.Parameter(tc.zeros(1).data)], "lr": lr} for lr in lrs], lr=lrs[0])


FORMULAS = {
    "StepLR": (lambda o: sched.StepLR(o, step_size=3, gamma=0.5), lambda t, lr0: lr0 * 0.5 ** (t // 3)),
    "MultiStepLR": (lambda o: sched.MultiStepLR(o, milestones=[2, 5], gamma=0.1),
                    lambda t, lr0: lr0 * (1 if t < 2 else 0.1 if t < 5 else 0.01)),
    "ExponentialLR": (lambda o: sched.ExponentialLR(o, gamma=0.9), lambda t, lr0: lr0 * 0.9 ** t),
    "CosineAnnealingLR": (lambda o: sched.CosineAnnealingLR(o, T_max=8, eta_min=0.01),
                          lambda t, lr0: 0.01 + (lr0 - 0.01) * (1 + math.cos(math.pi * t / 8)) / 2),
    "LambdaLR": (lambda o: sched.LambdaLR(o, lambda t: 1 / (1 + t)), lambda t, lr0: lr0 / (1 + t)),
    "LinearLR": (lambda o: sched.LinearLR(o, start_factor=0.25, total_iters=4),
                 lambda t, lr0: lr0 * (0.25 + 0.75 * min(t, 4) / 4)),
    "ConstantLR": (lambda o: sched.ConstantLR(o, factor=0.5, total_iters=3), lambda t, lr0: lr0 * (0.5 if t < 3 else 1)),
    "SequentialLR": (lambda o: sched.SequentialLR(o, [sched.LinearLR(o, start_factor=0.25, total_iters=4),
                                                      sched.CosineAnnealingLR(o, T_max=6, eta_min=0.001)], [4]),
                     lambda t, lr0: lr0 * (0.25 + 0.75 * t / 4) if t < 4
                     else 0.001 + (lr0 - 0.001) * (1 + math.cos(math.pi * (t - 4) / 6)) / 2),
    "SequentialLR(LambdaLR, StepLR)": (lambda o: sched.SequentialLR(o, [sched.LambdaLR(o, lambda t: (t + 1) / 5),
                                                                        sched.StepLR(o, 3, 0.5)], [5]),
                                       lambda t, lr0: lr0 * ((t + 1) / 5 if t < 5 else 0.5 ** ((t - 5) // 3))),
}


def test_sequential_lr_takes_lambda_lr_with_a_function_per_group():
    """LambdaLR's lr is a function per group, not of t and the initial lr alone: SequentialLR asks
    each stage for group i's lr (once it failed with a bare NotImplementedError)."""
    opt = optimizer(0.1, 0.4)
    chained = sched.SequentialLR(opt, [sched.LambdaLR(opt, [lambda t: t + 1, lambda t: 0.5]),
                                       sched.ExponentialLR(opt, 0.5)], [2])
    seen = [chained.get_last_lr()] + [chained.step() or chained.get_last_lr() for _ in range(3)]
    np.testing.assert_allclose(seen, [[0.1, 0.2], [0.2, 0.2], [0.1, 0.4], [0.05, 0.2]], rtol=1e-12)
    with pytest.raises(TypeError, match="OneCycleLR sets its groups' lrs itself.*cannot be a stage of SequentialLR"):
        sgd = optim.SGD([tc.nn.Parameter(tc.zeros(1).data)], lr=0.1, momentum=0.9)
        sched.SequentialLR(sgd, [sched.OneCycleLR(sgd, max_lr=1.0, total_steps=10), sched.StepLR(sgd, 2)], [3])


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_each_scheduler_follows_its_formula_in_every_group(name):
    make, formula = FORMULAS[name]
    opt = optimizer(0.1, 0.4)
    scheduler = make(opt)
    for t in range(12):
        assert scheduler.last_epoch == t
        assert scheduler.get_last_lr() == pytest.approx([formula(t, 0.1), formula(t, 0.4)], rel=1e-12)
        assert [g["lr"] for g in opt.param_groups] == scheduler.get_last_lr()
        scheduler.step()


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_a_scheduler_resumed_from_its_state_dict_continues_the_same_lrs(name):
    make, _ = FORMULAS[name]
    first = make(optimizer(0.1))
    for _ in range(4):
        first.step()
    state = first.state_dict()
    assert "optimizer" not in state and "lr_lambdas" not in state       # (functions are not saved, as PyTorch)
    resumed = make(optimizer(0.1))
    resumed.load_state_dict(state)
    assert resumed.get_last_lr() == first.get_last_lr()
    for _ in range(5):
        first.step(), resumed.step()
        assert resumed.get_last_lr() == first.get_last_lr()


@given(t_max=st.integers(2, 50), lr0=st.floats(1e-4, 1.0), floor=st.floats(0, 1e-4))
def test_cosine_annealing_closed_form_equals_pytorchs_recursive_update(t_max, lr0, floor):
    """PyTorch steps η_{t+1} = η_min + (η_t − η_min)·(1 + cos(π(t+1)/T)) / (1 + cos(πt/T)); before T the
    two agree (the recursion's factors telescope to the closed form)."""
    scheduler = sched.CosineAnnealingLR(optimizer(lr0), T_max=t_max, eta_min=floor)
    eta = lr0
    for t in range(t_max - 1):
        eta = floor + (eta - floor) * (1 + math.cos(math.pi * (t + 1) / t_max)) / (1 + math.cos(math.pi * t / t_max))
        scheduler.step()
        assert scheduler.get_last_lr()[0] == pytest.approx(eta, rel=1e-9, abs=1e-15)


def test_warmup_cosine_is_a_scheduler_of_the_same_base():
    opt = optimizer(0.1)
    scheduler = optim.WarmupCosine(opt, total_steps=10, warmup_steps=2)
    assert isinstance(scheduler, sched.LRScheduler) and scheduler.last_step == 0
    scheduler.step()
    assert scheduler.last_step == 1 and scheduler.get_last_lr() == [pytest.approx(0.1)]


def test_schedulers_refuse_bad_settings():
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int"):
        sched.StepLR(optimizer(0.1), step_size=0)
    with pytest.raises(ValueError, match="increasing order"):
        sched.MultiStepLR(optimizer(0.1), milestones=[5, 2])
    with pytest.raises(ValueError, match="one per parameter group"):
        sched.LambdaLR(optimizer(0.1, 0.2), [lambda t: 1.0])
    with pytest.raises(TypeError, match="expected an optimizer"):
        sched.ExponentialLR([tc.zeros(1)], gamma=0.9)
    with pytest.raises(ValueError, match="last_epoch must be an int >= −1"):
        sched.ExponentialLR(optimizer(0.1), gamma=0.9, last_epoch=-2)


def test_reduce_on_plateau_waits_patience_steps_then_cools_down():
    """The lrs PyTorch 2.13 gives for this sequence (patience 2, cooldown 1, factor ½): a value that
    is not better for a 3rd time in a row halves the lr; the step after a cut does not count."""
    opt = optimizer(1.0, 0.01)
    plateau = sched.ReduceLROnPlateau(opt, patience=2, cooldown=1, factor=0.5, min_lr=[0.0, 0.008])
    seen = []
    for value in [5, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3]:
        plateau.step(tc.tensor(float(value)))                             # (a loss tensor, as PyTorch's idiom)
        seen.append(plateau.get_last_lr())
    assert [lr for lr, _ in seen] == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25]
    assert [small for _, small in seen][-1] == 0.008                    # (its floor, min_lr)
    resumed = sched.ReduceLROnPlateau(optimizer(0.25, 0.008), patience=2, cooldown=1, factor=0.5)
    resumed.load_state_dict(plateau.state_dict())
    for value in (3, 3, 3, 3):                                           # cooldown, then 3 bad steps: halved
        resumed.step(value), plateau.step(value)
        assert resumed.get_last_lr() == plateau.get_last_lr()
    assert plateau.get_last_lr()[0] == 0.125


def test_reduce_on_plateau_max_mode_and_absolute_threshold():
    rising = sched.ReduceLROnPlateau(optimizer(1.0), mode="max", patience=0, threshold=0.5, threshold_mode="abs")
    for value, lr in ((1.0, 1.0), (1.4, 0.1), (2.0, 0.1), (2.2, 0.01)):   # +0.4 and +0.2 are not gains of 0.5
        rising.step(value)
        assert rising.get_last_lr() == [pytest.approx(lr)]
    with pytest.raises(ValueError, match="ReduceLROnPlateau: mode must be 'min' or 'max'"):
        sched.ReduceLROnPlateau(optimizer(1.0), mode="up")


@given(total=st.integers(3, 60), data=st.data())
def test_warmup_cosine_is_pytorchs_linear_warmup_then_cosine_in_sequence(total, data):
    """Lesson 10's claim: WarmupCosine(T, W) equals SequentialLR([LinearLR(1/W, W − 1), CosineAnnealingLR(T − W)],
    milestones=[W]) at every step up to T."""
    warmup = data.draw(st.integers(2, total - 1))
    floor = data.draw(st.sampled_from([0.0, 1e-5]))
    ours, theirs = optimizer(0.1), optimizer(0.1)
    schedule = optim.WarmupCosine(ours, total_steps=total, warmup_steps=warmup, min_lr=floor)
    chained = sched.SequentialLR(theirs, [sched.LinearLR(theirs, start_factor=1 / warmup, total_iters=warmup - 1),
                                          sched.CosineAnnealingLR(theirs, T_max=total - warmup, eta_min=floor)],
                                 milestones=[warmup])
    for _ in range(total + 1):
        assert schedule.get_last_lr() == pytest.approx(chained.get_last_lr(), rel=1e-12, abs=1e-15)
        schedule.step(), chained.step()


@given(total=st.integers(4, 80), pct=st.floats(0.1, 0.9), top=st.floats(1e-3, 1.0))
def test_one_cycle_rises_then_falls_along_half_cosines_with_the_momentum_opposite(total, pct, top):
    """OneCycleLR: lr from top/25 up to top until step u = pct·T − 1, then down to top/25/10⁴ at T − 1,
    each leg e + (s − e)·½(1 + cos(π·p)); SGD's momentum from 0.95 down to 0.85 and back."""
    opt = optim.SGD([tc.nn.Parameter(tc.zeros(1).data)], lr=0.1, momentum=0.9)
    cycle = sched.OneCycleLR(opt, max_lr=top, total_steps=total, pct_start=pct)
    up, start, low = pct * total - 1, top / 25, top / 25 / 1e4

    def leg(s, e, p):
        return e + (s - e) / 2 * (1 + math.cos(math.pi * p))
    for t in range(total):
        rising = t <= up
        p = (t / up if up > 0 else 1.0) if rising else (t - up) / (total - 1 - up)
        want_lr = leg(start, top, p) if rising else leg(top, low, p)
        want_m = leg(0.95, 0.85, p) if rising else leg(0.85, 0.95, p)
        assert opt.param_groups[0]["lr"] == pytest.approx(want_lr, rel=1e-12)
        assert opt.param_groups[0]["momentum"] == pytest.approx(want_m, rel=1e-12)
        if t < total - 1:
            cycle.step()
    cycle.step()                 # the step() after the last batch of a PyTorch loop is allowed, as there
    with pytest.raises(ValueError, match=f"OneCycleLR: stepped {total + 1} times, but the cycle has {total} steps"):
        cycle.step()


def test_one_cycle_with_a_rise_of_one_step():
    """pct_start·T = 1: the rise is step 0 alone (PyTorch divides 0 by 0 there)."""
    opt = optim.SGD([tc.nn.Parameter(tc.zeros(1).data)], lr=0.1, momentum=0.9)
    cycle = sched.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.1)
    assert cycle.get_last_lr() == [1.0]
    cycle.step()
    assert cycle.get_last_lr()[0] == pytest.approx(4e-6 + (1 - 4e-6) / 2 * (1 + math.cos(math.pi / 9)))


def test_one_cycle_three_phases_linear_and_adams_beta():
    opt = optim.AdamW([tc.nn.Parameter(tc.zeros(1).data)], lr=0.1)
    cycle = sched.OneCycleLR(opt, max_lr=1.0, epochs=2, steps_per_epoch=5, three_phase=True, anneal_strategy="linear")
    lrs, betas = [], []
    for t in range(10):
        lrs.append(opt.param_groups[0]["lr"]), betas.append(opt.param_groups[0]["betas"][0])
        if t < 9:
            cycle.step()
    # up (steps 0–2), back down to the start (2–4), then on down to start/10⁴ (4–9), all in straight lines
    assert lrs == pytest.approx([0.04, 0.52, 1.0, 0.52, 0.04, 0.04 - 0.04 * (1 - 1e-4) * 0.2, 0.04 - 0.04 * (1 - 1e-4) * 0.4,
                                 0.04 - 0.04 * (1 - 1e-4) * 0.6, 0.04 - 0.04 * (1 - 1e-4) * 0.8, 4e-6], rel=1e-9)
    assert betas == pytest.approx([0.95, 0.9, 0.85, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95], rel=1e-12)
    with pytest.raises(ValueError, match="cycle_momentum needs an optimizer with momentum"):
        sched.OneCycleLR(optimizer(0.1), max_lr=1.0, total_steps=10)
