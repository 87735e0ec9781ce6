"""Exponential moving average of a model's weights.

    θ_ema ← d·θ_ema + (1 − d)·θ        after every optimizer step

The average of the last ~1/(1 − d) weights is often a better model than the
last one: it smooths out the noise of the final steps. Buffers (BatchNorm's
running statistics) are copied, not averaged.
"""
from __future__ import annotations

from tinycoat import backend


class ModelEMA:
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
        for name, b in model.named_buffers():
            b.data[...] = self.buffers[name]

    def state_dict(self) -> dict:
        return {**{f"shadow.{k}": v for k, v in self.shadow.items()},
                **{f"buffers.{k}": v for k, v in self.buffers.items()}}

    def load_state_dict(self, state: dict):
        for key, value in state.items():
            kind, name = key.split(".", 1)
            target = self.shadow if kind == "shadow" else self.buffers
            if name not in target or target[name].shape != value.shape:
                raise KeyError(f"ModelEMA.load_state_dict: unexpected or mis-shaped entry {key!r}")
            target[name][...] = backend.to_device(value, backend.device_of(target[name]))
