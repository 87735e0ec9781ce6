"""RMSprop and Adagrad: a step per coordinate, scaled by the size of that coordinate's gradients.

Adagrad (Duchi, Hazan & Singer, 2011) divides by the root of the *sum* of every squared gradient
so far, so a coordinate that has seen large gradients takes small steps, and every step is smaller
than the one before:

    g ← −∇ if maximize, else ∇;   g ← g + λ·θ                (coupled L2 weight decay)
    s ← s + g²                                               (s starts at initial_accumulator_value)
    θ ← θ − η_t · g / (√s + ε),    η_t = η / (1 + (t − 1)·lr_decay)

RMSprop (Hinton's lecture 6e, 2012) forgets: a running *mean* of g² instead of the sum, so the
steps do not shrink for ever; ``centered`` subtracts the square of g's running mean too (dividing
by an estimate of g's variance), and ``momentum`` accumulates the scaled steps:

    v ← α·v + (1 − α)·g²,    ḡ ← α·ḡ + (1 − α)·g, ṽ = v − ḡ²    (ṽ = v unless centered)
    b ← μ·b + g / (√ṽ + ε),  θ ← θ − η·b                        (μ = 0: θ ← θ − η·g / (√ṽ + ε))

Adam (adamw.py) is RMSprop's v with a momentum of g itself, m, and both bias-corrected.
"""
from __future__ import annotations

from tinycoat.backend import get_array_module
from tinycoat.checks import check_bool, check_number
from tinycoat.optim.optimizer import Optimizer


def _signed_decayed(p, group):
    """The gradient the rules use: −∇ when maximizing, plus λ·θ (coupled weight decay)."""
    g = p.grad.data
    g = -g if group["maximize"] else g
    return g + group["weight_decay"] * p.data if group["weight_decay"] else g


def rmsprop_update(p, g, v, lr, alpha, eps, momentum=0.0, b=None, g_avg=None):
    """One RMSprop step of one parameter's array ``p`` with gradient ``g``: p, v (and the momentum
    buffer ``b``, centered's running mean ``g_avg``, where given) change in place."""
    xp = get_array_module(p)
    v[...] = alpha * v + (1 - alpha) * (g * g)
    v_tilde = v
    if g_avg is not None:
        g_avg[...] = alpha * g_avg + (1 - alpha) * g
        v_tilde = v - g_avg * g_avg
    step = g / (xp.sqrt(v_tilde) + eps)
    if b is not None:
        b[...] = momentum * b + step
        step = b
    p[...] = p - lr * step


def adagrad_update(p, g, s, lr, eps):
    """One Adagrad step of ``p`` with gradient ``g`` at learning rate ``lr`` (already decayed); p and
    the sum of squares ``s`` change in place."""
    s[...] = s + g * g
    p[...] = p - lr * g / (get_array_module(p).sqrt(s) + eps)


class RMSprop(Optimizer):
    """RMSprop, the rule at the top of this file, with PyTorch's arguments and defaults (``maximize``
    by name)."""

    STATE_KEYS = ("step", "square_avg")      # with momentum "momentum_buffer", centered "grad_avg"

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, *,
                 maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def check_group(self, group):
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay", "momentum"):
            check_number(name, key, group[key])
        check_number(name, "alpha", group["alpha"], high=1)
        for key in ("centered", "maximize"):
            check_bool(name, key, group[key])

    def state_keys(self, group):
        return (self.STATE_KEYS + (("momentum_buffer",) if group["momentum"] > 0 else ())
                + (("grad_avg",) if group["centered"] else ()))

    def step(self):
        for group in self.param_groups:
            for p, state in self.stepped(group):
                for key in self.state_keys(group):
                    if key not in state:
                        state[key] = 0 if key == "step" else p.xp.zeros_like(p.data)
                state["step"] += 1
                rmsprop_update(p.data, _signed_decayed(p, group), state["square_avg"], group["lr"], group["alpha"],
                               group["eps"], group["momentum"], state.get("momentum_buffer"), state.get("grad_avg"))


class Adagrad(Optimizer):
    """Adagrad, the rule at the top of this file, with PyTorch's arguments and defaults (``maximize``
    by name)."""

    STATE_KEYS = ("step", "sum")

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10, *,
                 maximize=False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize))

    def check_group(self, group):
        name = type(self).__name__
        for key in ("lr", "lr_decay", "weight_decay", "eps", "initial_accumulator_value"):
            check_number(name, key, group[key])
        check_bool(name, "maximize", group["maximize"])

    def step(self):
        for group in self.param_groups:
            for p, state in self.stepped(group):
                if "step" not in state:
                    state["step"] = 0
                    state["sum"] = p.xp.full_like(p.data, group["initial_accumulator_value"])
                state["step"] += 1
                lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
                adagrad_update(p.data, _signed_decayed(p, group), state["sum"], lr, group["eps"])
