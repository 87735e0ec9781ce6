"""softmax and log_softmax along one axis: the normalisation inside attention and cross-entropy.

    softmax(x)_i     = exp(x_i) / Σ_k exp(x_k)
    log_softmax(x)_i = x_i − log Σ_k exp(x_k)

Numerical stability. exp(1e4) overflows (float32 tops out near exp(88)), but both
formulas are unchanged when the same constant m is subtracted from every x_k, so we
subtract m = max_k x_k first: then every exponent is <= 0 and the largest term is
exp(0) = 1, so the sum lies in [1, n] and neither overflows nor vanishes.

Backward (y = softmax(x), g = d loss / d y, sums over the softmax axis):

    softmax:      ∂y_i/∂x_j = y_i (δ_ij − y_j)   ⇒   g_x = y ⊙ (g − Σ_k g_k y_k)
    log_softmax:  ∂y_i/∂x_j = δ_ij − softmax_j   ⇒   g_x = g − softmax(x) · Σ_k g_k

Both are O(n) per row: the n×n Jacobian is never built. Float32 stays float32.
"""
from __future__ import annotations

from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.ops.arithmetic import _integers_as_default_float as _float


def _along(name, op, x, axis):
    """op applied along ``axis`` of x, which it checks. A 0-d tensor takes axis 0 or −1, as in PyTorch:
    it is a row of one value (softmax 1, log_softmax 0)."""
    width = max(x.ndim, 1)
    if not -width <= axis < width:
        raise ValueError(f"{name}: axis {axis} is out of range for a tensor of shape {x.shape}")
    if x.ndim == 0:
        return op.apply(_float(x).reshape(1), axis=0).reshape(())
    return op.apply(_float(x), axis=axis % x.ndim)


class Softmax(Function):
    def forward(self, x, axis=-1):
        xp = get_array_module(x)
        self.axis = axis
        e = xp.exp(x - x.max(axis=axis, keepdims=True))            # exponents <= 0: no overflow
        self.y = e / e.sum(axis=axis, keepdims=True)
        return self.y

    def backward(self, g):
        y = self.y
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))  # y ⊙ (g − Σ g⊙y)


class LogSoftmax(Function):
    def forward(self, x, axis=-1):
        xp = get_array_module(x)
        self.axis = axis
        shifted = x - x.max(axis=axis, keepdims=True)
        log_sum = xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))  # log Σ exp, in [0, log n]
        self.y = shifted - log_sum
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        softmax = xp.exp(self.y)  # exp(log_softmax) = softmax, no second pass over x
        return g - softmax * g.sum(axis=self.axis, keepdims=True)


def softmax(x, axis=-1, *, dim=None):
    """exp(x) / Σ exp(x) along ``axis`` (default: the last; ``dim`` is PyTorch's name), computed stably."""
    return _along("softmax", Softmax, x, axis if dim is None else dim)


def log_softmax(x, axis=-1, *, dim=None):
    """log(softmax(x)) along ``axis`` (or ``dim``), computed without ever forming softmax's tiny values."""
    return _along("log_softmax", LogSoftmax, x, axis if dim is None else dim)
