"""Stochastic gradient descent with momentum and Nesterov momentum (PyTorch's rule).

    g ← −∇ if maximize, else ∇        (to maximize f is to minimize −f: only the gradient's sign flips)
    g ← g + λ·θ                       (L2 weight decay, coupled: it still shrinks θ when maximizing)
    b ← μ·b + (1 − τ)·g               (momentum buffer with dampening τ; b = g on the first step)
    θ ← θ − η·(g + μ·b)   if Nesterov, else   θ ← θ − η·b
"""
from __future__ import annotations

from tinycoat.checks import check_bool, check_number
from tinycoat.optim.optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening and Nesterov momentum: the rule at the
    top of this file, with PyTorch's arguments and defaults."""

    STATE_KEYS = ("momentum_buffer",)

    # PyTorch's arguments, in PyTorch's order (lr: PyTorch 2's default; maximize only by name, as there)
    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def check_group(self, group):
        for name in ("lr", "momentum", "weight_decay"):
            check_number(type(self).__name__, name, group[name])
        check_number(type(self).__name__, "dampening", group["dampening"], high=1)
        check_bool(type(self).__name__, "maximize", group["maximize"])
        nesterov = check_bool(type(self).__name__, "nesterov", group["nesterov"])
        if nesterov and (group["momentum"] == 0 or group["dampening"] != 0):
            raise ValueError(f"{type(self).__name__}: Nesterov momentum needs momentum > 0 and dampening 0")

    def step(self):
        for group in self.param_groups:
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if group["maximize"] or wd:
                    # −g and g + λθ, made in a copy: for 0-d arrays NumPy's −g and g + λθ are scalars,
                    # not arrays, and the momentum buffer made from g below is updated in place.
                    g = g.copy()
                    if group["maximize"]:
                        g *= -1
                    if wd:
                        g += wd * p.data
                if mu:
                    state = self.state.setdefault(p, {})
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.copy()
                    else:
                        buf = state["momentum_buffer"]
                        buf *= mu
                        buf += (1 - group["dampening"]) * g
                    buf = state["momentum_buffer"]
                    g = g + mu * buf if group["nesterov"] else buf
                p.data -= lr * g
                p._bump_version()                # (a graph that kept p now refuses to backward)
