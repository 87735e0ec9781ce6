"""linear: y = x Wᵀ + b over the last axis, the fully connected layer, as one Function.

Shapes: x (..., K), W (N, K) as in PyTorch, b (N,), y (..., N). The leading axes are
flattened into rows, so that (B, tokens, C) inputs are one matrix product, not B.

As one Function (rather than a product and a broadcast add) the backward says what each
gradient is: three products and a sum, with G = dL/dy as (rows, N):

    dL/dx = G W,        dL/dW = Gᵀ x,        dL/db = Σ_rows G
"""
from __future__ import annotations

from tinycoat.amp import autocast_dtype, autocast_matmul
from tinycoat.autograd import Function
from tinycoat.checks import check_float_input


class Linear(Function):
    def forward(self, x, weight, bias=None):
        x2 = x.reshape(-1, x.shape[-1])                          # (rows, K)
        self.x2 = x2 if self.needs_input_grad[1] else None
        self.weight = weight if self.needs_input_grad[0] else None
        self.x_shape, self.has_bias = x.shape, bias is not None
        self.precision = autocast_dtype()                        # float16 products inside amp.autocast
        y = autocast_matmul(x2, weight.T, self.precision)        # (rows, N)
        if bias is not None:
            y = y + bias
        return y.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, g):
        g2 = g.reshape(-1, g.shape[-1])                          # (rows, N)
        mm = lambda a, b: autocast_matmul(a, b, self.precision)  # noqa: E731
        gx = mm(g2, self.weight).reshape(self.x_shape) if self.needs_input_grad[0] else None
        gw = mm(g2.T, self.x2) if self.needs_input_grad[1] else None
        if not self.has_bias:
            return gx, gw
        return gx, gw, (g2.sum(axis=0) if self.needs_input_grad[2] else None)


def linear(x, weight, bias=None):
    """x (..., K) @ weight (N, K)ᵀ + bias (N,) -> (..., N)."""
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be (out_features, in_features), got {tuple(weight.shape)}")
    n, k = weight.shape
    if x.ndim < 1 or x.shape[-1] != k:
        raise ValueError(f"linear: expected input (..., {k}) for weight {tuple(weight.shape)}, got {tuple(x.shape)}")
    check_float_input("linear", x)
    if bias is not None and tuple(bias.shape) != (n,):
        raise ValueError(f"linear: bias must have shape ({n},), got {tuple(bias.shape)}")
    return Linear.apply(x, weight) if bias is None else Linear.apply(x, weight, bias)
