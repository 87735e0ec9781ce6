"""AdamW: Adam with *decoupled* weight decay (Loshchilov & Hutter, 2019).

Adam scales each coordinate's step by a running estimate of its gradient's size:

    g ← −∇ if maximize, else ∇         (to maximize f is to minimize −f: only the gradient's sign flips)
    m ← β₁·m + (1 − β₁)·g              first moment (mean of g)
    v ← β₂·v + (1 − β₂)·g²             second moment (mean of g²)
    m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)   (bias correction: m, v start at 0)
    θ ← θ − η·m̂ / (√v̂ + ε)

AMSGrad (``amsgrad=True``; Reddi, Kale & Kumar, 2018) divides by the largest v so far instead:

    v_max ← max(v_max, v),  v̂ = v_max / (1 − β₂ᵗ)

When gradients shrink, v shrinks and Adam's step η/√v̂ grows again, and on some problems that
keeps Adam from converging; with the maximum the step can only shrink (but for the bias
correction). The maximum is of the raw v, corrected by this step's 1 − β₂ᵗ, as PyTorch computes
it (its older documentation, 1.10 and 1.11, wrote the maximum of the corrected v̂ instead: never
smaller, and much larger in the first steps).

"Decoupled" means the decay is applied to θ directly, θ ← θ·(1 − η·λ), not
added to g: added to g it would be rescaled by 1/√v̂ like the rest of the
gradient, and parameters with large gradients would barely be decayed. That coupled
form, g ← g + λ·θ before the moments, is plain Adam's (Kingma & Ba, 2015): class Adam below.
Neither decay changes sign with ``maximize``: it shrinks θ either way.
"""
from __future__ import annotations

from tinycoat import twins
from tinycoat.checks import check_bool, check_number
from tinycoat.backend import device_of, get_array_module
from tinycoat.optim.optimizer import Optimizer


def adamw_update(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step, v_max=None):
    """One AdamW step of one parameter's array ``p`` with gradient ``g``; p, m and v change in place,
    and AMSGrad's ``v_max`` (the largest v so far) where one is given."""
    xp = get_array_module(p)
    m[...] = beta1 * m + (1 - beta1) * g
    v[...] = beta2 * v + (1 - beta2) * (g * g)
    if v_max is not None:
        v_max[...] = xp.maximum(v_max, v)
    m_hat = m / (1 - beta1 ** step)
    v_hat = (v if v_max is None else v_max) / (1 - beta2 ** step)
    p[...] = p * (1 - lr * weight_decay) - lr * m_hat / (xp.sqrt(v_hat) + eps)


def adamw_update_each(ps, gs, ms, vs, lr, beta1, beta2, eps, weight_decay, steps, v_maxes=None):
    """adamw_update of every parameter of a list: ``ps[i]`` with gradient ``gs[i]`` at step ``steps[i]``
    (with AMSGrad: ``v_maxes[i]``, else None)."""
    for i, (p, g, m, v, step) in enumerate(zip(ps, gs, ms, vs, steps)):
        v_max = None if v_maxes is None else v_maxes[i]
        adamw_update(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step, v_max)


class AdamW(Optimizer):
    """Adam with decoupled weight decay (Loshchilov & Hutter): the update at the top of this file,
    with PyTorch's arguments and defaults."""

    STATE_KEYS = ("step", "exp_avg", "exp_avg_sq")      # and with amsgrad "max_exp_avg_sq" (state_keys)

    # PyTorch's arguments, in PyTorch's order (maximize only by name, as there)
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False, *,
                 maximize=False):
        betas = tuple(betas) if isinstance(betas, list) else betas
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def check_group(self, group):
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay"):
            check_number(name, key, group[key])
        betas = group["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2) of numbers in [0, 1), got {betas!r}")
        for i, beta in enumerate(betas):
            check_number(name, f"betas[{i}]", beta, high=1, high_open=True)
        for key in ("amsgrad", "maximize"):
            check_bool(name, key, group[key])

    def state_keys(self, group):
        return self.STATE_KEYS + (("max_exp_avg_sq",) if group["amsgrad"] else ())

    decoupled = True            # the decay shrinks θ itself (Adam below adds it to g instead)

    def step(self):
        self._check_amsgrad_state()
        for group in self.param_groups:
            (beta1, beta2) = group["betas"]
            wd, amsgrad = group["weight_decay"], group["amsgrad"]
            rows = []                         # (θ, g, m, v, t, v_max or None) of each parameter with a gradient
            for p, state in self.stepped(group):  # (each counted as changed: it is, below)
                if "step" not in state:
                    state["step"] = 0
                    state["exp_avg"] = p.xp.zeros_like(p.data)
                    state["exp_avg_sq"] = p.xp.zeros_like(p.data)
                    if amsgrad:
                        state["max_exp_avg_sq"] = p.xp.zeros_like(p.data)
                state["step"] += 1
                g = p.grad.data
                if group["maximize"]:
                    g = -g                       # (a new array: .grad is left as it is)
                if wd and not self.decoupled:
                    g = g + wd * p.data          # Adam's coupled decay, after the sign: it shrinks θ either way
                rows.append((p.data, g, state["exp_avg"], state["exp_avg_sq"], state["step"],
                             state.get("max_exp_avg_sq")))
            if not rows:
                continue
            *lists, steps, v_maxes = (list(column) for column in zip(*rows))
            v_maxes = v_maxes if amsgrad else None
            # (One launch on a GPU: twins.py. The kernel has no AMSGrad; with it the reference runs.)
            update = twins.pick(adamw_update_each, device_of(rows[0][0]), *lists, v_maxes=v_maxes)
            update(*lists, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                   weight_decay=wd if self.decoupled else 0.0, steps=steps, v_maxes=v_maxes)

    def _check_amsgrad_state(self):
        """Refuse a step, before any parameter changes, where amsgrad was switched on after steps
        without it: there is no maximum of the v's before (PyTorch fails with a KeyError)."""
        for group in self.param_groups:
            if group["amsgrad"]:
                for p in group["params"]:
                    state = self.state.get(p, {})
                    if "step" in state and "max_exp_avg_sq" not in state:
                        raise ValueError(f"{type(self).__name__}: a group has amsgrad=True, but a parameter of it "
                                         "has taken steps without it (its state has no 'max_exp_avg_sq'): set "
                                         "amsgrad before the first step")


class Adam(AdamW):
    """Adam, with PyTorch's arguments and defaults: weight decay (0 by default) *coupled*, added
    to the gradient, g ← g + λ·θ, then AdamW's update without its own decay (see the top of this file)."""

    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
