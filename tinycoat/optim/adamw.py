"""AdamW: Adam with *decoupled* weight decay (Loshchilov & Hutter, 2019).

Adam scales each coordinate's step by a running estimate of its gradient's size:

    m ← β₁·m + (1 − β₁)·g              first moment (mean of g)
    v ← β₂·v + (1 − β₂)·g²             second moment (mean of g²)
    m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)   (bias correction: m, v start at 0)
    θ ← θ − η·m̂ / (√v̂ + ε)

"Decoupled" means the decay is applied to θ directly, θ ← θ·(1 − η·λ), not
added to g: added to g it would be rescaled by 1/√v̂ like the rest of the
gradient, and parameters with large gradients would barely be decayed.
"""
from __future__ import annotations

import math

from tinycoat.nn.functional import cuda_kernels
from tinycoat.optim.optimizer import Optimizer


class AdamW(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"AdamW: need lr, eps, weight_decay >= 0 and betas in [0, 1), got lr={lr}, "
                             f"betas={betas}, eps={eps}, weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def step(self):
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                xp, g = p.xp, p.grad.data
                state = self.state.setdefault(p, {})
                if "step" not in state:
                    state["step"] = 0
                    state["exp_avg"] = xp.zeros_like(p.data)
                    state["exp_avg_sq"] = xp.zeros_like(p.data)
                state["step"] += 1
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
                # Fold both bias corrections into two scalars: one division, one sqrt per entry.
                step_size = lr / (1 - beta1 ** t)
                bias2_root = math.sqrt(1 - beta2 ** t)
                if cuda_kernels.available(p.data, g) and g.dtype == p.data.dtype:
                    # The same update in one kernel (cuda_kernels.py "adamw_step"), values of T's type
                    T = p.data.dtype.type
                    cuda_kernels.elementwise("adamw_step")(
                        g, T(1 - lr * wd), T(beta1), T(beta2), T(step_size), T(bias2_root), T(eps), p.data, m, v)
                    continue
                if wd:
                    p.data *= 1 - lr * wd
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * (g * g)
                denom = xp.sqrt(v)
                denom /= bias2_root
                denom += eps
                p.data -= step_size * (m / denom)
