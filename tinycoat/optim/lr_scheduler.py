"""Learning-rate schedulers with PyTorch's names and arguments (torch.optim.lr_scheduler).

A scheduler sets ``group['lr']`` of every parameter group from the lr the group had when the
scheduler was made (kept as ``group['initial_lr']``) and t, the number of ``step()`` calls since
it was made (``last_epoch``: call ``step()`` once an epoch, or once a batch, as the schedule is meant):

    LambdaLR           lr = initial · f(t)
    StepLR             lr = initial · γ^⌊t / step_size⌋
    MultiStepLR        lr = initial · γ^(how many milestones are ≤ t)
    ExponentialLR      lr = initial · γ^t
    CosineAnnealingLR  lr = η_min + (initial − η_min) · ½(1 + cos(π t / T_max))

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

    def lr_at(self, t, initial_lr):          # pragma: no cover - each scheduler's formula
        raise NotImplementedError

    def step(self):
        self.last_epoch += 1
        self._apply()

    def _apply(self):
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(self.last_epoch, group["initial_lr"])

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

    def _apply(self):
        for group, f in zip(self.optimizer.param_groups, self.lr_lambdas):
            group["lr"] = group["initial_lr"] * f(self.last_epoch)


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
