"""Exponential moving average of a model's weights.

    θ_ema ← d·θ_ema + (1 − d)·θ        after every optimizer step

The average of the last ~1/(1 − d) weights is often a better model than the
last one: it smooths out the noise of the final steps. Buffers (BatchNorm's
running statistics) are copied, not averaged.
"""
from __future__ import annotations

from tinycoat import backend


class ModelEMA:
    """An exponential moving average of a model's weights, θ_ema ← d·θ_ema + (1 − d)·θ after
    every step, to evaluate with (this module's docstring)."""

    def __init__(self, model, decay: float = 0.999):
        if not 0 < decay < 1:
            raise ValueError(f"ModelEMA: decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.start_from(model)

    def start_from(self, model):
        """(Re)start the average at ``model``'s present weights (e.g. those of a resumed run that
        had no average yet: an average begun at the random initial weights would drag them in)."""
        self.shadow = {name: p.data.copy() for name, p in model.named_parameters()}
        self.buffers = {name: b.data.copy() for name, b in model.named_buffers()}

    def update(self, model):
        d = self.decay
        for name, p in model.named_parameters():
            s = self.shadow[name]
            s *= d
            s += (1 - d) * p.data
        for name, b in model.named_buffers():
            self.buffers[name][...] = b.data

    def copy_to(self, model):
        """Write the averaged weights into ``model`` (e.g. an evaluation copy)."""
        for name, p in model.named_parameters():
            p.data[...] = self.shadow[name]
            p._bump_version()
        for name, b in model.named_buffers():
            b.data[...] = self.buffers[name]
            b._bump_version()

    def state_dict(self) -> dict:
        return {**{f"shadow.{k}": v for k, v in self.shadow.items()},
                **{f"buffers.{k}": v for k, v in self.buffers.items()}}

    def load_state_dict(self, state: dict):
        """Every entry of ``state_dict()``, each the shape of this average's: checked before any is written."""
        own = {f"shadow.{k}": v for k, v in self.shadow.items()} | {f"buffers.{k}": v for k, v in self.buffers.items()}
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        mis_shaped = [f"{k} {tuple(v.shape) if hasattr(v, 'shape') else 'a ' + type(v).__name__} (expected an array "
                      f"of shape {own[k].shape})" for k, v in state.items()
                      if k in own and not (hasattr(v, "shape") and tuple(v.shape) == own[k].shape)]
        problems = [f"{what}: {', '.join(keys)}" for what, keys in (("missing", missing), ("unexpected", unexpected),
                                                                    ("mis-shaped", mis_shaped)) if keys]
        if problems:
            raise ValueError(f"ModelEMA.load_state_dict: the state does not fit this average ({'; '.join(problems)})")
        for key, value in state.items():
            own[key][...] = backend.as_array(value, dtype=own[key].dtype, device=backend.device_of(own[key]))
