"""Linear: y = x Wᵀ + b over the last axis, W (out, in) as in PyTorch (F.linear does the work).

Initialization (PyTorch's default): W and b ~ Uniform(±1/√in) (see ``uniform_parameter``).
"""
from __future__ import annotations

import math

from tinycoat.checks import check_int
from tinycoat.nn import functional as F
from tinycoat.nn.module import Module, uniform_parameter


class Linear(Module):
    """y = x Wᵀ + b over the last axis: weight (out_features, in_features), bias (out_features,),
    both drawn from U(−1/√in_features, 1/√in_features) as in PyTorch."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, dtype=None, device="cpu"):
        super().__init__()
        self.in_features = check_int("Linear", "in_features", in_features)
        self.out_features = check_int("Linear", "out_features", out_features)
        bound = 1.0 / math.sqrt(in_features)
        self.weight = uniform_parameter((out_features, in_features), bound, dtype, device)
        self.register_parameter("bias", uniform_parameter((out_features,), bound, dtype, device) if bias else None)

    def forward(self, x):
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}→{self.out_features}): expected input "
                             f"(..., {self.in_features}), got {tuple(x.shape)}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.in_features}→{self.out_features}, bias={self.bias is not None}"
