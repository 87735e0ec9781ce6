"""Twin of AdamW's update (optim/adamw.py::adamw_update) on a GPU: one CUDA kernel per parameter.

The reference's update is ~14 array operations per parameter; on a GPU each is a kernel launch
of ~10-60 µs of host time, for arrays of a few hundred numbers: ~200 parameters made AdamW a
third of a nano training step. The kernel (cuda_kernels.py "adamw_step") does the whole
update in one pass, with the two bias corrections folded into two scalars,

    θ ← θ·(1 − η·λ) − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)

— the same formula, rearranged (the last bits of θ may differ). (On the CPU the same update
written in place measured 0.1 % of a tiny training step faster: the reference stays.)
"""
from __future__ import annotations

import math

from tinycoat.fast import cuda_kernels


def kernel_accepts(p, g, m, v):
    """Where the kernel applies: float32 or float64 CuPy arrays, the gradient in the parameter's dtype."""
    return cuda_kernels.available(p, g) and g.dtype == p.dtype


def update_in_one_kernel(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step):
    """optim/adamw.py::adamw_update as one kernel: p, m and v are read, then written, in place."""
    T = p.dtype.type                                    # the kernel's scalars are values of type T
    cuda_kernels.elementwise("adamw_step")(
        g, T(1 - lr * weight_decay), T(beta1), T(beta2), T(lr / (1 - beta1 ** step)),
        T(math.sqrt(1 - beta2 ** step)), T(eps), p, m, v)
