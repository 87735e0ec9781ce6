"""AdamW: Adam with *decoupled* weight decay (Loshchilov & Hutter, 2019).

Adam scales each coordinate's step by a running estimate of its gradient's size:

    m ← β₁·m + (1 − β₁)·g              first moment (mean of g)
    v ← β₂·v + (1 − β₂)·g²             second moment (mean of g²)
    m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)   (bias correction: m, v start at 0)
    θ ← θ − η·m̂ / (√v̂ + ε)

"Decoupled" means the decay is applied to θ directly, θ ← θ·(1 − η·λ), not
added to g: added to g it would be rescaled by 1/√v̂ like the rest of the
gradient, and parameters with large gradients would barely be decayed. That coupled
form, g ← g + λ·θ before the moments, is plain Adam's (Kingma & Ba, 2015): class Adam below.
"""
from __future__ import annotations

from tinycoat import twins
from tinycoat.checks import check_number
from tinycoat.backend import device_of, get_array_module
from tinycoat.optim.optimizer import Optimizer


def adamw_update(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step):
    """One AdamW step of one parameter's array ``p`` with gradient ``g``; p, m and v change in place."""
    xp = get_array_module(p)
    m[...] = beta1 * m + (1 - beta1) * g
    v[...] = beta2 * v + (1 - beta2) * (g * g)
    m_hat = m / (1 - beta1 ** step)
    v_hat = v / (1 - beta2 ** step)
    p[...] = p * (1 - lr * weight_decay) - lr * m_hat / (xp.sqrt(v_hat) + eps)


def adamw_update_each(ps, gs, ms, vs, lr, beta1, beta2, eps, weight_decay, steps):
    """adamw_update of every parameter of a list: ``ps[i]`` with gradient ``gs[i]`` at step ``steps[i]``."""
    for p, g, m, v, step in zip(ps, gs, ms, vs, steps):
        adamw_update(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step)


class AdamW(Optimizer):
    """Adam with decoupled weight decay (Loshchilov & Hutter): the update at the top of this file,
    with PyTorch's arguments and defaults."""

    STATE_KEYS = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False):
        if amsgrad:
            raise ValueError(f"{type(self).__name__}: amsgrad=True is not implemented "
                             "(only Adam's own second moment)")
        betas = tuple(betas) if isinstance(betas, list) else betas
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def check_group(self, group):
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay"):
            check_number(name, key, group[key])
        betas = group["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2) of numbers in [0, 1), got {betas!r}")
        for i, beta in enumerate(betas):
            check_number(name, f"betas[{i}]", beta, high=1, high_open=True)

    decoupled = True            # the decay shrinks θ itself (Adam below adds it to g instead)

    def step(self):
        for group in self.param_groups:
            (beta1, beta2) = group["betas"]
            wd = group["weight_decay"]
            rows = []                                    # (θ, g, m, v, t) of each parameter with a gradient
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.setdefault(p, {})
                if "step" not in state:
                    state["step"] = 0
                    state["exp_avg"] = p.xp.zeros_like(p.data)
                    state["exp_avg_sq"] = p.xp.zeros_like(p.data)
                state["step"] += 1
                g = p.grad.data if self.decoupled or not wd else p.grad.data + wd * p.data
                rows.append((p.data, g, state["exp_avg"], state["exp_avg_sq"], state["step"]))
                p._bump_version()                # (changed below: a graph that kept p now refuses to backward)
            if not rows:
                continue
            *lists, steps = (list(column) for column in zip(*rows))
            update = twins.pick(adamw_update_each, device_of(rows[0][0]), *lists)  # (one launch on a GPU: twins.py)
            update(*lists, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                   weight_decay=wd if self.decoupled else 0.0, steps=steps)


class Adam(AdamW):
    """Adam, with PyTorch's arguments and defaults: weight decay (0 by default) *coupled*, added
    to the gradient, g ← g + λ·θ, then AdamW's update without its own decay (see the top of this file)."""

    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
