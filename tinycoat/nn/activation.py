"""Parameter-free element-wise layers: activations, dropout and drop-path."""
from __future__ import annotations

import tinycoat.nn.functional as F
from tinycoat.checks import check_number
from tinycoat.nn.module import Module


class GELU(Module):
    """x·Φ(x), Φ the standard normal CDF (``approximate="tanh"``: the tanh formula)."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return "" if self.approximate == "none" else f"approximate={self.approximate!r}"


class SiLU(Module):
    """x·σ(x) (also called swish)."""

    def __init__(self, inplace=False):          # (PyTorch's memory saving; no effect here)
        super().__init__()

    def forward(self, x):
        return F.silu(x)


class ReLU(Module):
    """max(x, 0)."""

    def __init__(self, inplace=False):          # (PyTorch's memory saving; no effect here)
        super().__init__()

    def forward(self, x):
        return F.relu(x)


class Softmax(Module):
    """softmax along ``dim`` (PyTorch's nn.Softmax)."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, axis=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e^−x)."""

    def forward(self, x):
        return F.sigmoid(x)


class Dropout(Module):
    """Zero entries with probability p in training mode (identity in eval mode)."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = float(check_number("Dropout", "p", p, high=1))

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class DropPath(Module):
    """Stochastic depth: drop a residual branch for whole samples with probability p (training only)."""

    def __init__(self, p=0.0):
        super().__init__()
        self.p = float(check_number("DropPath", "p", p, high=1))

    def forward(self, x):
        return F.drop_path(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x):
        return F.tanh(x)


class ELU(Module):
    """x for x > 0, else alpha·(eˣ − 1)."""

    def __init__(self, alpha=1.0, inplace=False):               # (inplace: no effect, as LeakyReLU's)
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Hardsigmoid(Module):
    """clamp(x/6 + ½, 0, 1)."""

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return F.hardsigmoid(x)


class Hardswish(Hardsigmoid):
    """x · clamp(x/6 + ½, 0, 1)."""

    def forward(self, x):
        return F.hardswish(x)


class LeakyReLU(Module):
    """x for x > 0, else negative_slope·x."""

    def __init__(self, negative_slope=0.01, inplace=False):     # (inplace: PyTorch's memory saving; no effect)
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Softplus(Module):
    """log(1 + e^βx)/β, a smooth ReLU (x itself where βx > threshold)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = check_number("Softplus", "beta", beta, low_open=True)
        self.threshold = threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class LogSoftmax(Softmax):
    """log_softmax along ``dim`` (PyTorch's nn.LogSoftmax)."""

    def forward(self, x):
        return F.log_softmax(x, axis=self.dim)
