"""PyTorch's learning-rate schedulers (tinycoat/optim/lr_scheduler.py): the lr after each step()
against the formulas written out here, the groups' ratios, resuming from a state_dict, errors."""
import math

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
}


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
