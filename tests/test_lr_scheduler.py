"""PyTorch's learning-rate schedulers (tinycoat/optim/lr_scheduler.py): the lr after each step()
against the formulas written out here, the groups' ratios, resuming from a state_dict, errors."""
import bisect
import math

import numpy as np
import pytest
from hypothesis import example, given, strategies as st

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
    "PolynomialLR": (lambda o: sched.PolynomialLR(o, total_iters=6, power=2.0),
                     lambda t, lr0: lr0 * ((6 - t) / 6) ** 2 if t < 6 else 0.0),
    # cycles of 2, 4 and 8 steps: restarts at t = 2 and 6
    "CosineAnnealingWarmRestarts": (lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2, eta_min=0.01),
                                    lambda t, lr0: 0.01 + (lr0 - 0.01) / 2 * (1 + math.cos(
                                        math.pi * (t / 2 if t < 2 else (t - 2) / 4 if t < 6 else (t - 6) / 8)))),
    # from a tenth of each group's lr up to it in 3 steps, down in 2: heights 0, ⅓, ⅔, 1, ½, 0, ...
    "CyclicLR": (lambda o: sched.CyclicLR(o, base_lr=[g["lr"] / 10 for g in o.param_groups],
                                          max_lr=[g["lr"] for g in o.param_groups], step_size_up=3, step_size_down=2,
                                          cycle_momentum=False),
                 lambda t, lr0: lr0 / 10 + 0.9 * lr0 * [0, 1 / 3, 2 / 3, 1, 1 / 2][t % 5]),
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


@given(t_0=st.integers(1, 6), t_mult=st.integers(1, 3), lr0=st.floats(1e-4, 1.0),
       floor=st.sampled_from([0.0, 1e-5, 1e-4]))
def test_warm_restarts_anneal_each_cycle_then_restart_it_t_mult_times_longer(t_0, t_mult, lr0, floor):
    """PyTorch's documented SGDR: T_cur counts the steps since the last restart and T_i is the cycle's
    length; when T_cur reaches T_i the lr restarts (T_cur = 0) for a cycle T_mult times longer, and
    lr = η_min + ½(η_max − η_min)(1 + cos(π·T_cur/T_i)), η_max each group's lr."""
    warm = sched.CosineAnnealingWarmRestarts(optimizer(lr0, 3 * lr0), T_0=t_0, T_mult=t_mult, eta_min=floor)
    t_cur, t_i = 0, t_0
    for t in range(60):
        want = [floor + (top - floor) / 2 * (1 + math.cos(math.pi * t_cur / t_i)) for top in (lr0, 3 * lr0)]
        assert warm.last_epoch == t
        assert warm.get_last_lr() == pytest.approx(want, rel=1e-12, abs=1e-15)
        warm.step()
        t_cur += 1
        if t_cur == t_i:
            t_cur, t_i = 0, t_i * t_mult


@given(t_0=st.integers(1, 5), t_mult=st.integers(1, 3),
       epochs=st.lists(st.one_of(st.floats(0, 150), st.integers(0, 150)), min_size=1, max_size=8))
@example(t_0=1, t_mult=3, epochs=[121, 39.5])      # restarts 1 + 3 + 9 + 27 + 81 = 121 (PyTorch's log rounds down)
def test_warm_restarts_step_to_a_fractional_epoch_then_on_by_one(t_0, t_mult, epochs):
    """step(epoch) as PyTorch's: epoch e lies in the cycle begun at the last restart s_i <= e, where
    s_i = T_0·(T_mult^i − 1)/(T_mult − 1) (i·T_0 for T_mult = 1), T_cur = e − s_i, T_i = T_0·T_mult^i;
    last_epoch is ⌊e⌋, and a plain step() after it goes to e + 1 (PyTorch's interleaved use)."""
    restarts = [t_0 * i if t_mult == 1 else t_0 * (t_mult ** i - 1) // (t_mult - 1) for i in range(200)]

    def want(e):
        i = bisect.bisect_right(restarts, e) - 1
        return (1 + math.cos(math.pi * (e - restarts[i]) / (t_0 * t_mult ** i))) / 2
    warm = sched.CosineAnnealingWarmRestarts(optimizer(1.0), T_0=t_0, T_mult=t_mult)
    for e in epochs:
        warm.step(e)
        assert warm.last_epoch == math.floor(e) and warm.get_last_lr()[0] == pytest.approx(want(e), abs=1e-12)
        warm.step()
        assert warm.last_epoch == math.floor(e + 1) and warm.get_last_lr()[0] == pytest.approx(want(e + 1), abs=1e-12)


def test_warm_restarts_resumed_after_a_fractional_epoch_continue_the_same_lrs():
    first = sched.CosineAnnealingWarmRestarts(optimizer(0.1), T_0=3, T_mult=2, eta_min=1e-3)
    first.step(4.25)
    resumed = sched.CosineAnnealingWarmRestarts(optimizer(0.1), T_0=3, T_mult=2, eta_min=1e-3)
    resumed.load_state_dict(first.state_dict())
    assert resumed.get_last_lr() == first.get_last_lr() and resumed.last_epoch == 4
    for _ in range(12):
        first.step(), resumed.step()
        assert resumed.get_last_lr() == first.get_last_lr()


@given(total=st.integers(0, 20), power=st.one_of(st.sampled_from([0.0, 0.5, 1.0, 2.0]), st.floats(0, 4)),
       lr0=st.floats(1e-4, 1.0))
def test_polynomial_lr_decays_to_zero_at_total_iters_then_stays(total, power, lr0):
    """PyTorch's documented lr = base_lr·(1 − t/total_iters)^power until total_iters, then unchanged
    (0; base_lr for power 0); total_iters = 0 leaves base_lr throughout, as PyTorch's steps do."""
    poly = sched.PolynomialLR(optimizer(lr0, 2 * lr0), total_iters=total, power=power)
    for t in range(total + 5):
        factor = 1.0 if total == 0 else ((total - t) / total) ** power if t < total else 0.0 ** power
        assert poly.get_last_lr() == pytest.approx([lr0 * factor, 2 * lr0 * factor], rel=1e-12, abs=1e-15)
        poly.step()


@given(up=st.integers(1, 6), down=st.one_of(st.none(), st.integers(1, 6)),
       mode=st.sampled_from(["triangular", "triangular2", "exp_range"]), gamma=st.floats(0.5, 1.0),
       lows=st.lists(st.floats(0, 1), min_size=2, max_size=2), highs=st.lists(st.floats(0, 1), min_size=2, max_size=2),
       adam=st.booleans())
def test_cyclic_lr_follows_pytorchs_three_policies_with_the_momentum_opposite(up, down, mode, gamma, lows, highs, adam):
    """PyTorch's documented CLR: the lr goes in straight lines from base_lr up to max_lr in
    step_size_up steps and back in step_size_down (default: as many), the height scaled by 1
    ("triangular"), 1/2^(cycle − 1) ("triangular2") or gamma^iterations ("exp_range"); the momentum
    goes from max_momentum down to base_momentum and back. One base_lr and max_lr per group, either
    above the other (PyTorch does not require max_lr >= base_lr)."""
    params = [{"params": [tc.nn.Parameter(tc.zeros(1).data)]} for _ in range(2)]
    opt = optim.AdamW(params, lr=0.5) if adam else optim.SGD(params, lr=0.5, momentum=0.5)
    cyc = sched.CyclicLR(opt, base_lr=lows, max_lr=highs, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma)
    period = up + (up if down is None else down)
    for t in range(3 * period + 2):
        height = np.interp(t % period, [0, up, period], [0.0, 1.0, 0.0])
        cycle = len(range(0, t + 1, period))                        # cycles begun by step t
        scale = {"triangular": 1.0, "triangular2": 0.5 ** (cycle - 1), "exp_range": gamma ** t}[mode]
        want = [low + (high - low) * height * scale for low, high in zip(lows, highs)]
        assert cyc.get_last_lr() == pytest.approx(want, rel=1e-12, abs=1e-15)
        momenta = [g["betas"][0] if adam else g["momentum"] for g in opt.param_groups]
        assert momenta == pytest.approx([0.9 - 0.1 * height * scale] * 2, rel=1e-12)
        cyc.step()


def test_cyclic_lr_scale_fn_of_the_cycle_or_of_the_step_replaces_mode():
    """scale_fn (mode is then ignored, as in PyTorch) of the cycle number, or of t."""
    for scale_mode, arg in (("cycle", lambda t: t // 4 + 1), ("iterations", lambda t: t)):
        cyc = sched.CyclicLR(optimizer(0.1), 0.0, 1.0, step_size_up=2, mode="ignored", scale_fn=lambda x: 1 / (1 + x),
                             scale_mode=scale_mode, cycle_momentum=False)
        for t in range(12):
            assert cyc.get_last_lr() == [pytest.approx([0, 0.5, 1, 0.5][t % 4] / (1 + arg(t)), abs=1e-15)]
            cyc.step()


def test_cyclic_lr_resumed_from_its_state_dict_continues_lrs_and_betas():
    def make():
        opt = optim.AdamW([tc.nn.Parameter(tc.zeros(1).data)], lr=0.5)
        return opt, sched.CyclicLR(opt, 0.01, 0.1, step_size_up=3, step_size_down=4, mode="exp_range", gamma=0.9)
    (opt, first), (resumed_opt, resumed) = make(), make()
    for _ in range(5):
        first.step()
    resumed.load_state_dict(first.state_dict())
    for _ in range(9):
        assert resumed.get_last_lr() == first.get_last_lr()
        assert resumed_opt.param_groups[0]["betas"] == opt.param_groups[0]["betas"]
        first.step(), resumed.step()


@given(start=st.floats(0.05, 1.0), warmup=st.integers(1, 6), step_size=st.integers(1, 5), gamma=st.floats(0.1, 1.0),
       lead=st.integers(0, 3))
def test_chained_scheduler_multiplies_the_factors_of_its_schedulers(start, warmup, step_size, gamma, lead):
    """Chained LinearLR(s, T) and StepLR(k, γ): each one's documented factor of the initial lr, each on its
    own t (the StepLR here stepped ``lead`` times before the chain was made), multiplied:
    lr = initial·(s + (1 − s)·min(t, T)/T)·γ^⌊(t + lead)/k⌋."""
    opt = optimizer(0.1, 0.4)
    decay = sched.StepLR(opt, step_size=step_size, gamma=gamma)
    for _ in range(lead):
        decay.step()
    chain = sched.ChainedScheduler([sched.LinearLR(opt, start_factor=start, total_iters=warmup), decay])
    for t in range(15):
        factor = (start + (1 - start) * min(t, warmup) / warmup) * gamma ** ((t + lead) // step_size)
        assert chain.get_last_lr() == pytest.approx([0.1 * factor, 0.4 * factor], rel=1e-12)
        chain.step()


def test_chained_scheduler_gives_pytorchs_documented_example_and_resumes():
    """PyTorch's example, ConstantLR(factor=0.1, total_iters=20) chained with ExponentialLR(0.9), lists
    0.05, 0.0450, 0.0405, ..., 0.00675 at epoch 19, then 0.06078, 0.05470 (for an lr of 0.5)."""
    def make():
        opt = optimizer(0.5)
        return sched.ChainedScheduler([sched.ConstantLR(opt, factor=0.1, total_iters=20),
                                       sched.ExponentialLR(opt, gamma=0.9)], optimizer=opt)
    chain = make()
    seen = [chain.get_last_lr()[0]] + [chain.step() or chain.get_last_lr()[0] for _ in range(21)]
    assert [seen[t] for t in (0, 1, 2, 19, 20, 21)] == pytest.approx([0.05, 0.0450, 0.0405, 0.00675, 0.06078, 0.05470],
                                                                     rel=1e-3)
    assert seen == pytest.approx([0.5 * (0.1 if t < 20 else 1) * 0.9 ** t for t in range(22)], rel=1e-12)
    first, resumed = make(), make()
    for _ in range(18):
        first.step()
    resumed.load_state_dict(first.state_dict())
    for _ in range(5):
        assert resumed.get_last_lr() == first.get_last_lr()
        first.step(), resumed.step()


def test_new_schedulers_refuse_bad_settings():
    warm = sched.CosineAnnealingWarmRestarts
    with pytest.raises(ValueError, match="CosineAnnealingWarmRestarts: T_0 must be a positive int, got 0"):
        warm(optimizer(0.1), T_0=0)
    with pytest.raises(TypeError, match="CosineAnnealingWarmRestarts: T_0 must be a positive int, got 2.5"):
        warm(optimizer(0.1), T_0=2.5)
    with pytest.raises(ValueError, match="CosineAnnealingWarmRestarts: T_mult must be a positive int, got 0"):
        warm(optimizer(0.1), T_0=3, T_mult=0)
    with pytest.raises(ValueError, match="CosineAnnealingWarmRestarts: eta_min must be a finite number >= 0, got -0.1"):
        warm(optimizer(0.1), T_0=3, eta_min=-0.1)
    with pytest.raises(ValueError, match="CosineAnnealingWarmRestarts: epoch must be a finite number >= 0, got -1"):
        warm(optimizer(0.1), T_0=3).step(-1)
    with pytest.raises(ValueError, match="PolynomialLR: total_iters must be a non-negative int, got -1"):
        sched.PolynomialLR(optimizer(0.1), total_iters=-1)
    with pytest.raises(ValueError, match="PolynomialLR: power must be a finite number >= 0, got -1"):
        sched.PolynomialLR(optimizer(0.1), power=-1.0)
    with pytest.raises(ValueError, match="CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range'"):
        sched.CyclicLR(optimizer(0.1), 0.01, 0.1, mode="triangle", cycle_momentum=False)
    with pytest.raises(ValueError, match="CyclicLR: scale_mode must be 'cycle' or 'iterations', got 'epoch'"):
        sched.CyclicLR(optimizer(0.1), 0.01, 0.1, scale_fn=abs, scale_mode="epoch", cycle_momentum=False)
    with pytest.raises(ValueError, match=r"CyclicLR: max_lr must be a number or a list of 2 \(one per parameter grou"):
        sched.CyclicLR(optimizer(0.1, 0.2), 0.01, [0.1], cycle_momentum=False)
    with pytest.raises(ValueError, match="CyclicLR: step_size_up must be a positive int, got 0"):
        sched.CyclicLR(optimizer(0.1), 0.01, 0.1, step_size_up=0, cycle_momentum=False)
    with pytest.raises(ValueError, match="CyclicLR: cycle_momentum needs an optimizer with momentum"):
        sched.CyclicLR(optimizer(0.1), 0.01, 0.1)
    sched.CyclicLR(optimizer(0.1), base_lr=0.1, max_lr=0.01, cycle_momentum=False)    # (PyTorch takes it too)
    opt, other = optimizer(0.1), optimizer(0.1)
    with pytest.raises(ValueError, match="ChainedScheduler: expected a list of at least one scheduler, got none"):
        sched.ChainedScheduler([])
    with pytest.raises(ValueError, match=r"ChainedScheduler: schedulers\[1\] is a ReduceLROnPlateau"):
        sched.ChainedScheduler([sched.StepLR(opt, 2), sched.ReduceLROnPlateau(opt)])
    with pytest.raises(TypeError, match=r"ChainedScheduler: schedulers\[0\] must be a scheduler, got SGD"):
        sched.ChainedScheduler([opt])
    with pytest.raises(ValueError, match=r"ChainedScheduler: schedulers\[1\], a LambdaLR, does not scale the lr "
                                         "by a factor"):       # PyTorch's chain would let it overwrite the StepLR
        sched.ChainedScheduler([sched.StepLR(opt, 2), sched.LambdaLR(opt, lambda t: 0.5)])
    with pytest.raises(ValueError, match=r"schedulers\[0\], a CosineAnnealingLR with eta_min != 0, does not"):
        sched.ChainedScheduler([sched.CosineAnnealingLR(opt, 10, eta_min=1e-3), sched.StepLR(opt, 2)])
    for outright in (sched.CyclicLR(opt, 0.01, 0.1, cycle_momentum=False),
                     sched.OneCycleLR(opt, 0.1, total_steps=10, cycle_momentum=False)):
        with pytest.raises(ValueError, match="does not scale the lr by a factor"):
            sched.ChainedScheduler([outright])
    with pytest.raises(ValueError, match="ChainedScheduler: every scheduler must drive the same optimizer"):
        sched.ChainedScheduler([sched.StepLR(opt, 2), sched.StepLR(other, 2)])
    with pytest.raises(ValueError, match="ChainedScheduler: every scheduler must drive the same optimizer"):
        sched.ChainedScheduler([sched.StepLR(opt, 2)], optimizer=other)
