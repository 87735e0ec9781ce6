"""GradScaler: loss scaling, so that float16 gradients do not flush to zero.

Inside ``amp.autocast`` the backward products take the gradient in float16, whose smallest
value is 6e-8: a gradient entry of 1e-9 becomes 0 and its update is lost. Multiplying the
loss by a scale S multiplies every gradient by S (the backward is linear in dL), which lifts
them into float16's range; dividing by S before the update gives back the true gradient:

    scaler.scale(loss).backward()      gradients of S·L
    scaler.unscale_(optimizer)         ÷ S (optional: do it before clipping, which needs true sizes)
    scaler.step(optimizer)             ÷ S if not done yet; skip the step if any entry is inf/NaN
    scaler.update()                    S ÷ 2 after an overflow; S × 2 after ``growth_interval`` good steps

Too large an S overflows float16 (65504) into inf: such a step is skipped and S halved, so S
settles near the largest value that does not overflow. ``step`` reads one flag from the
device to decide (the step's one wait for the GPU, as in PyTorch). With ``enabled=False``
every method passes through, so one training loop serves both precisions.
"""
from __future__ import annotations

from tinycoat.backend import get_array_module


class GradScaler:
    """Loss scaling for float16 training, with PyTorch's methods: ``scale``, ``unscale_``, ``step``,
    ``update``, ``state_dict`` (this module's docstring says why and how)."""

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                 enabled=True):
        self._check(init_scale, growth_factor, backoff_factor, growth_interval)
        self.enabled = enabled
        self._scale, self._growth_tracker = float(init_scale), 0
        self.growth_factor, self.backoff_factor, self.growth_interval = growth_factor, backoff_factor, growth_interval
        self._found_inf = {}       # id(optimizer) -> a 0-d device bool, set by unscale_
        self._stepped = set()      # id(optimizer) of those stepped since the last update()
        self._overflow = None      # did any of those steps overflow? (None: no step yet), for update()

    def get_scale(self) -> float:
        return self._scale if self.enabled else 1.0

    def scale(self, loss):
        """loss × S (a Tensor op, so the backward starts from S)."""
        return loss * self._scale if self.enabled else loss

    def unscale_(self, optimizer):
        """Divide the gradients by S in place and note whether any entry is inf or NaN."""
        if not self.enabled:
            return
        if id(optimizer) in self._found_inf:
            raise RuntimeError("GradScaler.unscale_ was already called for this optimizer since the last update()")
        grads = [p.grad.data for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if not grads:
            raise ValueError("GradScaler.unscale_: no parameter has a gradient (call backward() first)")
        xp = get_array_module(grads[0])
        for g in grads:
            g *= 1.0 / self._scale
        # a 0-d bool that stays on the device: no waiting here
        self._found_inf[id(optimizer)] = ~xp.isfinite(xp.concatenate([g.ravel() for g in grads])).all()

    def step(self, optimizer):
        """optimizer.step() with true gradients, unless they overflowed. Returns True if it stepped."""
        if not self.enabled:
            optimizer.step()
            return True
        if id(optimizer) in self._stepped:
            raise RuntimeError("GradScaler.step was already called for this optimizer since the last update()")
        if id(optimizer) not in self._found_inf:
            self.unscale_(optimizer)
        self._stepped.add(id(optimizer))
        overflow = bool(self._found_inf[id(optimizer)])          # the one read from the device
        self._overflow = overflow or bool(self._overflow)       # several optimizers: any overflow backs off
        if not overflow:
            optimizer.step()
        return not overflow

    def update(self):
        """Adjust S after a step: back off after an overflow, grow after a run of good steps."""
        if not self.enabled:
            return
        if self._overflow is None:
            raise RuntimeError("GradScaler.update: call step(optimizer) first")
        if self._overflow:
            self._scale *= self.backoff_factor
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker >= self.growth_interval:
                self._scale *= self.growth_factor
                self._growth_tracker = 0
        self._found_inf.clear()
        self._stepped.clear()
        self._overflow = None

    SETTINGS = ("growth_factor", "backoff_factor", "growth_interval")

    @staticmethod
    def _check(scale, growth_factor, backoff_factor, growth_interval, what="GradScaler"):
        if not (scale > 0 and growth_factor > 1 and 0 < backoff_factor < 1
                and float(growth_interval).is_integer() and growth_interval >= 1):
            raise ValueError(f"{what}: need a scale > 0, growth_factor > 1, 0 < backoff_factor < 1 and an integer "
                             f"growth_interval >= 1, got {scale}, {growth_factor}, {backoff_factor}, {growth_interval}")

    def state_dict(self) -> dict:
        """S, the count of good steps since it last changed, and the settings that change it (as PyTorch's)."""
        if not self.enabled:
            return {}
        return {"scale": self._scale, "growth_tracker": self._growth_tracker,
                **{name: getattr(self, name) for name in self.SETTINGS}}

    def load_state_dict(self, state: dict):
        if not (self.enabled and state):
            return
        missing = [k for k in ("scale", "growth_tracker") if k not in state]
        if missing:
            raise ValueError(f"GradScaler.load_state_dict: the state lacks {', '.join(missing)} "
                             f"(it has {', '.join(sorted(state)) or 'nothing'})")
        settings = {name: state.get(name, getattr(self, name)) for name in self.SETTINGS}   # (older states
        self._check(state["scale"], *settings.values(), what="GradScaler.load_state_dict")  # lack the settings)
        self._scale, self._growth_tracker = float(state["scale"]), int(state["growth_tracker"])
        for name, value in settings.items():
            setattr(self, name, int(value) if name == "growth_interval" else float(value))
