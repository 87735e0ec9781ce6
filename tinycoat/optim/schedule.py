"""Learning-rate schedule: linear warm-up, then cosine decay.

    lr(t) = peak · (t + 1) / warmup                                    t < warmup
    lr(t) = min + (peak − min) · ½(1 + cos(π · (t − warmup) / (T − warmup)))   after

Warm-up keeps the first steps small while Adam's moment estimates and the
BatchNorm statistics are still poor; the cosine then anneals smoothly to ``min``.
"""
from __future__ import annotations

import math
from tinycoat.checks import check_number, is_int
from tinycoat.optim.lr_scheduler import LRScheduler


def warmup_cosine(step: int, total_steps: int, peak_lr: float, warmup_steps: int = 0,
                  min_lr: float = 0.0) -> float:
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return min_lr + (peak_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


class WarmupCosine(LRScheduler):
    """Sets ``group['lr']`` of every group; call ``step()`` after each optimizer step.

    Each group's peak is the lr it had when the schedule was made (kept as
    ``initial_lr``), so groups with different learning rates keep their ratio.
    (A scheduler of lr_scheduler.py, whose t is named ``last_step`` here and in checkpoints.)
    """

    def __init__(self, optimizer, total_steps: int, warmup_steps: int = 0, min_lr: float = 0.0):
        ints = is_int(total_steps) and is_int(warmup_steps)
        if not (ints and 0 <= warmup_steps <= total_steps and total_steps > 0):
            raise (ValueError if ints else TypeError)(
                f"WarmupCosine: need ints 0 <= warmup_steps <= total_steps and total_steps > 0, "
                f"got warmup_steps={warmup_steps!r}, total_steps={total_steps!r}")
        peak = min(group.get("initial_lr", group["lr"]) for group in optimizer.param_groups)
        if check_number("WarmupCosine", "min_lr", min_lr) > peak:
            raise ValueError(f"WarmupCosine: min_lr ({min_lr:g}) must not be above the optimizer's lr ({peak:g}): "
                             "the schedule decays from lr down to min_lr")
        self.total_steps, self.warmup_steps, self.min_lr = total_steps, warmup_steps, min_lr
        super().__init__(optimizer)

    def lr_at(self, step, initial_lr):
        return warmup_cosine(step, self.total_steps, initial_lr, self.warmup_steps, self.min_lr)

    @property
    def last_step(self) -> int:
        return self.last_epoch

    @last_step.setter
    def last_step(self, step: int):
        self.last_epoch = step

    def state_dict(self) -> dict:
        return {"last_step": self.last_step, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps, "min_lr": self.min_lr}

    def load_state_dict(self, state: dict):
        """The saved step *and plan* (total, warm-up, floor), as PyTorch's schedulers do: a resumed run
        follows the schedule it began with. To re-plan it, set ``total_steps`` etc. after loading
        (train_cifar.py's replan_schedule loads a new plan with the old step, when --epochs or --lr is
        typed again)."""
        missing = [k for k in ("last_step", "total_steps", "warmup_steps", "min_lr") if k not in state]
        if missing:
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state lacks {', '.join(missing)} "
                             f"(it has {', '.join(sorted(state)) or 'nothing'})")
        self.last_step = int(state["last_step"])
        self.total_steps, self.warmup_steps = int(state["total_steps"]), int(state["warmup_steps"])
        self.min_lr = float(state["min_lr"])
        self._apply()
