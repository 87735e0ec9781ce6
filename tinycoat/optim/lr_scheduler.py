"""Learning-rate schedulers with PyTorch's names and arguments (torch.optim.lr_scheduler).

A scheduler sets ``group['lr']`` of every parameter group from the lr the group had when the
scheduler was made (kept as ``group['initial_lr']``) and t, the number of ``step()`` calls since
it was made (``last_epoch``: call ``step()`` once an epoch, or once a batch, as the schedule is meant):

    LambdaLR           lr = initial · f(t)
    StepLR             lr = initial · γ^⌊t / step_size⌋
    MultiStepLR        lr = initial · γ^(how many milestones are ≤ t)
    ExponentialLR      lr = initial · γ^t
    CosineAnnealingLR  lr = η_min + (initial − η_min) · ½(1 + cos(π t / T_max))
    CosineAnnealingWarmRestarts
                       the same half cosine, started again from the top after T_0 steps, then
                       after T_0·T_mult more, ... (t may be fractional: step(epoch))
    LinearLR           lr = initial · (s + (e − s) · min(t, T)/T)       (a warm-up: s < e = 1)
    ConstantLR         lr = initial · f while t < T, then initial
    PolynomialLR       lr = initial · (1 − min(t, T)/T)^power
    SequentialLR       one scheduler after another, each from its own t = 0 at its milestone
    ChainedScheduler   several at once, each on its own t: their factors of the initial lr multiply
    CyclicLR           up and down in straight lines between base_lr and max_lr, the height
                       scaled per cycle or per step, with the momentum going the other way
    OneCycleLR         up from max_lr/div_factor to max_lr, then down far below it, along half
                       cosines (or lines), with the momentum going the other way

ReduceLROnPlateau is another kind: it multiplies the lr by a factor when a measured quantity
(``step(val_loss)``) has stopped improving for ``patience`` steps — a rule, not a formula of t.

Each is written as its formula of t; PyTorch computes most of them from the previous step's
lr, which gives the same values as long as nothing else changes ``group['lr']``.
(schedule.py holds WarmupCosine, the schedule train_cifar.py uses, on the same base.)
"""
from __future__ import annotations

import math

from tinycoat.checks import check_int, check_number, is_int


class LRScheduler:
    """The base: ``step()`` advances t and sets every group's lr to ``lr_at(t, its initial lr)``."""

    not_saved = ("optimizer",)              # what state_dict leaves out (functions cannot be saved)

    def __init__(self, optimizer, last_epoch=-1):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{type(self).__name__}: expected an optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        if not (is_int(last_epoch) and last_epoch >= -1):
            raise ValueError(f"{type(self).__name__}: last_epoch must be an int >= −1 (−1: a new schedule), "
                             f"got {last_epoch!r}")
        self.last_epoch = int(last_epoch)
        self.step()                          # t = last_epoch + 1: 0 for a new schedule, its initial lr

    def lr_at(self, t, initial_lr):          # each scheduler's formula
        raise TypeError(f"{type(self).__name__} sets its groups' lrs itself; it has no formula of t alone "
                        "(so it cannot be a stage of SequentialLR)")

    def group_lr(self, t, index, group):
        """The lr of parameter group number ``index`` at step t: for most schedules a formula of t
        and the group's initial lr (LambdaLR has a function per group)."""
        return self.lr_at(t, group["initial_lr"])

    def step(self):
        self.last_epoch += 1
        self._apply()

    def _apply(self):
        for index, group in enumerate(self.optimizer.param_groups):
            group["lr"] = self.group_lr(self.last_epoch, index, group)

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {key: value for key, value in vars(self).items() if key not in self.not_saved}

    def load_state_dict(self, state: dict):
        """The saved t and settings; every group's lr is set for that t at once."""
        self.__dict__.update({key: value for key, value in state.items() if key not in self.not_saved})
        self._apply()


class LambdaLR(LRScheduler):
    """lr = initial · lr_lambda(t); one function, or a list of one per parameter group."""

    not_saved = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        groups = len(optimizer.param_groups)
        self.lr_lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(self.lr_lambdas) != groups or not all(callable(f) for f in self.lr_lambdas):
            raise ValueError(f"LambdaLR: expected a function of t, or a list of {groups} (one per parameter group), "
                             f"got {lr_lambda!r}")
        super().__init__(optimizer, last_epoch)

    def group_lr(self, t, index, group):
        return group["initial_lr"] * self.lr_lambdas[index](t)


class StepLR(LRScheduler):
    """lr = initial · γ^⌊t / step_size⌋: multiplied by γ every ``step_size`` steps."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = check_int("StepLR", "step_size", step_size)
        self.gamma = check_number("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, initial_lr):
        return initial_lr * self.gamma ** (t // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = initial · γ^k, k the number of ``milestones`` (increasing ints) already reached."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        milestones = list(milestones)
        if not all(is_int(m) and m >= 0 for m in milestones) or sorted(milestones) != milestones:
            raise ValueError(f"MultiStepLR: milestones must be non-negative ints in increasing order, got {milestones}")
        self.milestones = milestones
        self.gamma = check_number("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, initial_lr):
        return initial_lr * self.gamma ** sum(1 for m in self.milestones if m <= t)


class ExponentialLR(LRScheduler):
    """lr = initial · γ^t."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = check_number("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, initial_lr):
        return initial_lr * self.gamma ** t


class CosineAnnealingLR(LRScheduler):
    """lr = η_min + (initial − η_min)·½(1 + cos(π t / T_max)): from the initial lr down to ``eta_min``
    at t = T_max along half a cosine (and, stepped on past T_max, back up again, as PyTorch's)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):  # noqa: N803 - PyTorch's name
        self.T_max = check_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = check_number("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, initial_lr):
        return self.eta_min + (initial_lr - self.eta_min) * 0.5 * (1 + math.cos(math.pi * t / self.T_max))


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter), as PyTorch's: CosineAnnealingLR's half cosine from the initial lr
    down to ``eta_min``, begun again from the top at every restart. Cycle i lasts T_i = T_0·T_mult^i
    steps and begins at s_i = T_0 + T_0·T_mult + … (i terms); at t in cycle i, T_cur = t − s_i and
        lr = η_min + (initial − η_min)·½(1 + cos(π·T_cur/T_i)).
    ``step(epoch)`` goes to that epoch, which may be fractional (``step(epoch + i / batches)`` once a
    batch), and a plain ``step()`` goes on from there by 1, as in PyTorch; ``last_epoch`` is ⌊epoch⌋."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):  # noqa: N803 - PyTorch's names
        self.T_0 = check_int("CosineAnnealingWarmRestarts", "T_0", T_0)
        self.T_mult = check_int("CosineAnnealingWarmRestarts", "T_mult", T_mult)      # (>= 1: cycles never shrink)
        self.eta_min = check_number("CosineAnnealingWarmRestarts", "eta_min", eta_min)
        self.epoch = last_epoch              # t itself; last_epoch, an int, is its floor
        super().__init__(optimizer, last_epoch)

    def step(self, epoch=None):
        self.epoch = self.epoch + 1 if epoch is None else check_number("CosineAnnealingWarmRestarts", "epoch", epoch)
        self.last_epoch = math.floor(self.epoch)
        self._apply()

    def _apply(self):                        # the base's, at the fractional t
        for index, group in enumerate(self.optimizer.param_groups):
            group["lr"] = self.group_lr(self.epoch, index, group)

    def lr_at(self, t, initial_lr):
        if self.T_mult == 1:                 # equal cycles: t mod T_0 (t may be a float)
            start, length = t - t % self.T_0, self.T_0
        else:
            # walk the restarts (about log_{T_mult} t of them): exact at each, where PyTorch's step(epoch)
            # takes a logarithm that can round down (T_0 = 1, T_mult = 3: its step(121) ends the cycle of
            # 81 steps instead of starting the next)
            start, length = 0, self.T_0
            while t >= start + length:
                start, length = start + length, length * self.T_mult
        return self.eta_min + (initial_lr - self.eta_min) * 0.5 * (1 + math.cos(math.pi * (t - start) / length))


class LinearLR(LRScheduler):
    """lr = initial · (s + (e − s)·min(t, T)/T): the factor goes in a straight line from
    ``start_factor`` s to ``end_factor`` e over ``total_iters`` T steps, then stays (a warm-up)."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        self.start_factor = check_number("LinearLR", "start_factor", start_factor, high=1.0, low_open=True)
        self.end_factor = check_number("LinearLR", "end_factor", end_factor, high=1.0)
        self.total_iters = check_int("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, initial_lr):
        return initial_lr * (self.start_factor + (self.end_factor - self.start_factor)
                             * min(t, self.total_iters) / self.total_iters)


class ConstantLR(LRScheduler):
    """lr = initial · ``factor`` for the first ``total_iters`` steps, then the initial lr."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        self.factor = check_number("ConstantLR", "factor", factor, high=1.0)
        self.total_iters = check_int("ConstantLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, initial_lr):
        return initial_lr * (self.factor if t < self.total_iters else 1.0)


class PolynomialLR(LRScheduler):
    """lr = initial · (1 − min(t, T)/T)^power: down to 0 at t = T = ``total_iters`` along a polynomial
    (power 1: a straight line; power < 1 falls late, > 1 early), then 0. T = 0 leaves the initial lr
    throughout, as PyTorch's steps give (there is no decay to spread over no steps)."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters = check_int("PolynomialLR", "total_iters", total_iters, positive=False)
        self.power = check_number("PolynomialLR", "power", power)    # (< 0 would divide by 0 at t = T)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, initial_lr):
        if self.total_iters == 0:
            return initial_lr
        return initial_lr * (1 - min(t, self.total_iters) / self.total_iters) ** self.power


class SequentialLR(LRScheduler):
    """``schedulers[i]`` from milestone i on (``milestones``: the steps where the next one takes over),
    each counting its own t from 0 there: e.g. LinearLR for a warm-up, then CosineAnnealingLR."""

    not_saved = ("optimizer", "schedulers")

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        schedulers, milestones = list(schedulers), list(milestones)
        if len(milestones) != len(schedulers) - 1 or sorted(milestones) != milestones or \
                not all(is_int(m) and m > 0 for m in milestones):
            raise ValueError(f"SequentialLR: expected increasing positive milestones, one fewer than the "
                             f"{len(schedulers)} schedulers, got {milestones}")
        if any(s.optimizer is not optimizer for s in schedulers):
            raise ValueError("SequentialLR: every scheduler must drive the optimizer given to SequentialLR")
        self.schedulers, self.milestones = schedulers, milestones
        super().__init__(optimizer, last_epoch)

    def group_lr(self, t, index, group):
        i = sum(1 for m in self.milestones if m <= t)            # the scheduler in charge at t
        start = self.milestones[i - 1] if i else 0
        return self.schedulers[i].group_lr(t - start, index, group)


class ChainedScheduler(LRScheduler):
    """All of ``schedulers`` at once: ``step()`` steps each, on its own t, and their lrs multiply as
    factors of the group's initial lr:  lr = lr₁ · (lr₂ / initial) · … · (lr_n / initial).
    PyTorch's chain has each scheduler in turn multiply the current lr by its own step-to-step ratio;
    the two agree for schedulers that scale the initial lr by a factor of t (StepLR, MultiStepLR,
    ExponentialLR, ConstantLR, LinearLR, PolynomialLR; CosineAnnealingLR with eta_min = 0), e.g. a
    LinearLR warm-up chained with an ExponentialLR decay, so only those are taken. (In PyTorch's, one
    that sets the lr outright — LambdaLR, CyclicLR, ... — overwrites what came before it in the chain:
    a result that depends on the order, which a factor cannot give.)"""

    not_saved = ("optimizer", "schedulers")

    def __init__(self, schedulers, optimizer=None):
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("ChainedScheduler: expected a list of at least one scheduler, got none")
        for i, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau):     # (its step() needs the measured value)
                raise ValueError(f"ChainedScheduler: schedulers[{i}] is a ReduceLROnPlateau, which cannot be "
                                 "chained: step it on its own, with the measured value")
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"ChainedScheduler: schedulers[{i}] must be a scheduler, "
                                f"got {type(scheduler).__name__}")
            if not isinstance(scheduler, CHAINABLE) or getattr(scheduler, "eta_min", 0) != 0:
                raise ValueError(f"ChainedScheduler: schedulers[{i}], a {type(scheduler).__name__}"
                                 f"{' with eta_min != 0' if isinstance(scheduler, CHAINABLE) else ''}, does not "
                                 "scale the lr by a factor, so chaining it would not give PyTorch's lrs: chain "
                                 + ", ".join(c.__name__ for c in CHAINABLE) + " (CosineAnnealingLR with eta_min=0)")
        self.optimizer = schedulers[0].optimizer if optimizer is None else optimizer
        if any(s.optimizer is not self.optimizer for s in schedulers):
            raise ValueError("ChainedScheduler: every scheduler must drive the same optimizer (the one given to "
                             "ChainedScheduler, if one is)")
        self.schedulers = schedulers
        self._apply()                        # (each made set the lrs alone: combine them now)

    def step(self):
        self._combine(lambda scheduler: scheduler.step())

    def _apply(self):
        self._combine(lambda scheduler: scheduler._apply())

    def _combine(self, run):
        groups = self.optimizer.param_groups
        lrs = None
        for scheduler in self.schedulers:
            run(scheduler)                   # sets every group's lr by its own formula: read as a factor
            own = [group["lr"] for group in groups]
            # (a group whose initial lr is 0 has no factor to give: 1)
            lrs = own if lrs is None else [lr * (o / g["initial_lr"] if g["initial_lr"] else 1.0)
                                           for lr, o, g in zip(lrs, own, groups)]
        for group, lr in zip(groups, lrs):
            group["lr"] = lr

    def state_dict(self) -> dict:
        """Each scheduler's own state (its t too), in order."""
        return {"schedulers": [scheduler.state_dict() for scheduler in self.schedulers]}

    def load_state_dict(self, state: dict):
        if len(state["schedulers"]) != len(self.schedulers):
            raise ValueError(f"ChainedScheduler.load_state_dict: the state holds {len(state['schedulers'])} "
                             f"schedulers, this chain {len(self.schedulers)}")
        for scheduler, saved in zip(self.schedulers, state["schedulers"]):
            scheduler.load_state_dict(saved)
        self._apply()


# Shared by CyclicLR and OneCycleLR.
def _per_group(owner, name, value, optimizer) -> list:
    """``value`` for every parameter group: one number for all, or a list of one per group."""
    groups = len(optimizer.param_groups)
    values = list(value) if isinstance(value, (list, tuple)) else [value] * groups
    if len(values) != groups:
        raise ValueError(f"{owner}: {name} must be a number or a list of {groups} (one per parameter group), "
                         f"got {value!r}")
    return [check_number(owner, name, v) for v in values]


def _momentum_key(owner, optimizer, cycle_momentum) -> str:
    """The group entry a cycle moves against the lr: Adam's ``betas`` (β₁) or SGD's ``momentum``. An SGD
    made without momentum is refused, not given one unasked (PyTorch's sets momentum = max_momentum)."""
    groups = optimizer.param_groups
    key = "betas" if "betas" in groups[0] else "momentum"
    if cycle_momentum and key == "momentum" and not groups[0].get("momentum"):
        raise ValueError(f"{owner}: cycle_momentum needs an optimizer with momentum (SGD(momentum > 0), "
                         "Adam's betas), or pass cycle_momentum=False")
    return key


def _set_momentum(group, key, momentum):
    if key == "betas":
        group["betas"] = (momentum, group["betas"][1])
    else:
        group["momentum"] = momentum


class CyclicLR(LRScheduler):
    """Smith's cyclical learning rates, as PyTorch's: the lr goes in a straight line from ``base_lr`` up
    to ``max_lr`` in ``step_size_up`` steps, back down in ``step_size_down`` (default: as many), and
    again. With c = 1 + ⌊t/(up + down)⌋ the cycle and p = t mod (up + down) the step in it,
        lr = base + (max − base)·h·f,   h = p/up while p ≤ up, then (up + down − p)/down,
    f = 1 (mode "triangular"), ½^(c−1) ("triangular2": halved each cycle), γ^t ("exp_range"), or
    ``scale_fn`` of c (scale_mode "cycle") or of t ("iterations"), which replaces mode. The momentum
    (SGD's, or Adam's β₁) goes the other way: max_momentum − (max_momentum − base_momentum)·h·f.
    base_lr, max_lr and the momenta: a number, or one per group (max_lr < base_lr cycles downward, as
    in PyTorch). The optimizer's lr is replaced by base_lr. Step it once per batch."""

    not_saved = ("optimizer", "custom_scale_fn")      # (a function cannot be saved)

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1):
        self.base_lrs = _per_group("CyclicLR", "base_lr", base_lr, optimizer)
        self.max_lrs = _per_group("CyclicLR", "max_lr", max_lr, optimizer)
        self.step_size_up = check_int("CyclicLR", "step_size_up", step_size_up)
        self.step_size_down = self.step_size_up if step_size_down is None else \
            check_int("CyclicLR", "step_size_down", step_size_down)
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range' (or pass "
                             f"scale_fn), got {mode!r}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        self.mode, self.gamma, self.custom_scale_fn = mode, check_number("CyclicLR", "gamma", gamma), scale_fn
        # the built-in modes say themselves what f is a function of (PyTorch ignores scale_mode for them)
        self.scale_mode = scale_mode if scale_fn is not None else ("iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = bool(cycle_momentum)
        self.momentum_key = _momentum_key("CyclicLR", optimizer, self.cycle_momentum)
        self.base_momentums = _per_group("CyclicLR", "base_momentum", base_momentum, optimizer)
        self.max_momentums = _per_group("CyclicLR", "max_momentum", max_momentum, optimizer)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, self.base_lrs):
                group["lr"] = lr
        super().__init__(optimizer, last_epoch)

    def scale_fn(self, x):
        """f at x: the cycle c, or t (scale_mode)."""
        if self.custom_scale_fn is not None:
            return self.custom_scale_fn(x)
        if self.mode == "triangular2":
            return 0.5 ** (x - 1)            # (not 1/2^(x − 1), which overflows after 1025 cycles)
        return self.gamma ** x if self.mode == "exp_range" else 1.0

    def _apply(self):
        t, up, down = self.last_epoch, self.step_size_up, self.step_size_down
        cycle, p = 1 + t // (up + down), t % (up + down)
        h = p / up if p <= up else (up + down - p) / down
        f = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        for index, group in enumerate(self.optimizer.param_groups):
            group["lr"] = self.base_lrs[index] + (self.max_lrs[index] - self.base_lrs[index]) * h * f
            if self.cycle_momentum:
                top = self.max_momentums[index]
                _set_momentum(group, self.momentum_key, top - (top - self.base_momentums[index]) * h * f)


class OneCycleLR(LRScheduler):
    """Smith's one-cycle policy, as PyTorch's: over ``total_steps`` (or epochs · steps_per_epoch)
    the lr rises from max_lr/div_factor to ``max_lr`` during the first ``pct_start`` of the steps,
    then falls to max_lr/(div_factor · final_div_factor); ``three_phase`` comes back down to the
    start first. Between two phase ends s → e the lr is e + (s − e)·½(1 + cos(π·p)), p the fraction
    of the phase done ("linear": s + (e − s)·p). The momentum (SGD's, or Adam's β₁) moves the other
    way, between ``max_momentum`` and ``base_momentum``. Step it once per batch."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = check_int("OneCycleLR", "epochs", epochs) * check_int("OneCycleLR", "steps_per_epoch",
                                                                               steps_per_epoch)
        self.total_steps = check_int("OneCycleLR", "total_steps", total_steps)
        check_number("OneCycleLR", "pct_start", pct_start, high=1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy, self.cycle_momentum = anneal_strategy, bool(cycle_momentum)
        groups = optimizer.param_groups
        max_lrs = _per_group("OneCycleLR", "max_lr", max_lr, optimizer)
        up = float(pct_start * self.total_steps) - 1                  # the phases' last steps, as PyTorch's
        # (phase ends, and each phase's start and end as names of the group's values)
        self.phases = ([(up, "initial_lr", "max_lr"), (2 * up, "max_lr", "initial_lr"), (self.total_steps - 1, "initial_lr", "min_lr")]
                       if three_phase else [(up, "initial_lr", "max_lr"), (self.total_steps - 1, "max_lr", "min_lr")])
        self.momentum_key = _momentum_key("OneCycleLR", optimizer, self.cycle_momentum)
        if last_epoch == -1:
            for group, top in zip(groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"], group["min_lr"] = top, top / div_factor / final_div_factor
                group["max_momentum"], group["base_momentum"] = max_momentum, base_momentum
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, p):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2 * (1 + math.cos(math.pi * p))
        return start + (end - start) * p

    def _apply(self):
        t = self.last_epoch
        if t > self.total_steps:            # (the step() after the last batch is allowed, as in PyTorch)
            raise ValueError(f"OneCycleLR: stepped {t} times, but the cycle has {self.total_steps} steps "
                             "(total_steps, or epochs · steps_per_epoch)")
        begin = 0
        for i, (end, start_key, end_key) in enumerate(self.phases):
            if t <= end or i == len(self.phases) - 1:
                p = (t - begin) / (end - begin) if end > begin else 1.0      # (a phase of one step: done)
                break
            begin = end
        # momentum runs opposite to the lr: from max while the lr rises to base at its peak, and back
        momentum_keys = {"initial_lr": "max_momentum", "max_lr": "base_momentum", "min_lr": "max_momentum"}
        for group in self.optimizer.param_groups:
            group["lr"] = self._anneal(group[start_key], group[end_key], p)
            if self.cycle_momentum:
                m = self._anneal(group[momentum_keys[start_key]], group[momentum_keys[end_key]], p)
                _set_momentum(group, self.momentum_key, m)


class ReduceLROnPlateau:
    """Multiply every group's lr by ``factor`` (down to ``min_lr``) once the quantity passed to
    ``step(value)`` has not improved for more than ``patience`` calls; then wait ``cooldown``
    calls before counting again. Improved: below best·(1 − threshold) in "min" mode (above
    best·(1 + threshold) in "max" mode; threshold_mode="abs": best ∓ threshold). min_lr: a number,
    or one per parameter group."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max' and threshold_mode 'rel' or 'abs', "
                             f"got {mode!r} and {threshold_mode!r}")
        self.optimizer = optimizer
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = check_number("ReduceLROnPlateau", "factor", factor, high=1.0, high_open=True)
        self.patience = check_int("ReduceLROnPlateau", "patience", patience, positive=False)
        self.cooldown = check_int("ReduceLROnPlateau", "cooldown", cooldown, positive=False)
        self.threshold = check_number("ReduceLROnPlateau", "threshold", threshold)
        groups = len(optimizer.param_groups)
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * groups
        if len(self.min_lrs) != groups:
            raise ValueError(f"ReduceLROnPlateau: min_lr must be a number or a list of {groups} (one per parameter "
                             f"group), got {min_lr!r}")
        self.eps = eps
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_steps = self.cooldown_left = self.last_epoch = 0

    def improves(self, value) -> bool:
        """PyTorch's test, as it is (for "rel" with a negative best the margin changes side)."""
        if self.threshold_mode == "rel":
            bound = self.best * (1 - self.threshold if self.mode == "min" else 1 + self.threshold)
        else:
            bound = self.best - self.threshold if self.mode == "min" else self.best + self.threshold
        return value < bound if self.mode == "min" else value > bound

    def step(self, value):
        value = float(value)                                     # (a one-element tensor too: val_loss)
        self.last_epoch += 1
        if self.improves(value):
            self.best, self.bad_steps = value, 0
        else:
            self.bad_steps += 1
        if self.cooldown_left > 0:                               # just reduced: these steps do not count
            self.cooldown_left -= 1
            self.bad_steps = 0
        if self.bad_steps > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new > self.eps:                 # (changes smaller than eps are skipped)
                    group["lr"] = new
            self.cooldown_left, self.bad_steps = self.cooldown, 0

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {key: value for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state: dict):
        self.__dict__.update({key: value for key, value in state.items() if key != "optimizer"})


# The schedulers whose lr is the initial lr times a factor of t: what ChainedScheduler can multiply.
CHAINABLE = (StepLR, MultiStepLR, ExponentialLR, ConstantLR, LinearLR, PolynomialLR, CosineAnnealingLR)
