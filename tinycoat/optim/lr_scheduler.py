"""Learning-rate schedulers with PyTorch's names and arguments (torch.optim.lr_scheduler).

A scheduler sets ``group['lr']`` of every parameter group from the lr the group had when the
scheduler was made (kept as ``group['initial_lr']``) and t, the number of ``step()`` calls since
it was made (``last_epoch``: call ``step()`` once an epoch, or once a batch, as the schedule is meant):

    LambdaLR           lr = initial · f(t)
    StepLR             lr = initial · γ^⌊t / step_size⌋
    MultiStepLR        lr = initial · γ^(how many milestones are ≤ t)
    ExponentialLR      lr = initial · γ^t
    CosineAnnealingLR  lr = η_min + (initial − η_min) · ½(1 + cos(π t / T_max))
    LinearLR           lr = initial · (s + (e − s) · min(t, T)/T)       (a warm-up: s < e = 1)
    ConstantLR         lr = initial · f while t < T, then initial
    SequentialLR       one scheduler after another, each from its own t = 0 at its milestone
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
        max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * len(groups)
        if len(max_lrs) != len(groups):
            raise ValueError(f"OneCycleLR: max_lr must be a number or a list of {len(groups)} (one per group)")
        up = float(pct_start * self.total_steps) - 1                  # the phases' last steps, as PyTorch's
        # (phase ends, and each phase's start and end as names of the group's values)
        self.phases = ([(up, "initial_lr", "max_lr"), (2 * up, "max_lr", "initial_lr"), (self.total_steps - 1, "initial_lr", "min_lr")]
                       if three_phase else [(up, "initial_lr", "max_lr"), (self.total_steps - 1, "max_lr", "min_lr")])
        self.momentum_key = "betas" if "betas" in groups[0] else "momentum"
        if self.cycle_momentum and self.momentum_key == "momentum" and not groups[0].get("momentum"):
            raise ValueError("OneCycleLR: cycle_momentum needs an optimizer with momentum (SGD(momentum > 0), "
                             "Adam's betas), or pass cycle_momentum=False")
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
                if self.momentum_key == "betas":
                    group["betas"] = (m, group["betas"][1])
                else:
                    group["momentum"] = m


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
