"""scale_channels: x ⊙ s with one factor per (sample, channel) — squeeze-excitation's last step.

    y[n, c, h, w] = x[n, c, h, w] · s[n, c]        x (N, C, H, W), s (N, C, 1, 1)

``x * s`` says the same through broadcasting; as its own Function the backward says what
each gradient is, instead of summing a broadcast product back:

    dL/dx = g ⊙ s                       (broadcast over the pixels)
    dL/ds[n, c] = Σ_{h,w} g ⊙ x          (each factor met every pixel of its channel)
"""
from __future__ import annotations

from tinycoat.autograd import Function


class ScaleChannels(Function):
    def forward(self, x, s):
        self.x, self.s = x, s
        return x * s

    def backward(self, g):
        gx = g * self.s if self.needs_input_grad[0] else None
        gs = (g * self.x).sum(axis=(2, 3), keepdims=True) if self.needs_input_grad[1] else None
        return gx, gs


def scale_channels(x, s):
    """x (N, C, H, W) times s (N, C, 1, 1), one factor per sample and channel."""
    if x.ndim != 4 or tuple(s.shape) != (x.shape[0], x.shape[1], 1, 1):
        raise ValueError(f"scale_channels: expected x (N, C, H, W) and s (N, C, 1, 1), "
                         f"got {tuple(x.shape)} and {tuple(s.shape)}")
    return ScaleChannels.apply(x, s)
