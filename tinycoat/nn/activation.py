"""Element-wise layers: activations (PReLU alone learns a parameter), dropout and drop-path."""
from __future__ import annotations

import tinycoat.nn.functional as F
from tinycoat.checks import check_int, check_number
from tinycoat.nn.module import Module, Parameter
from tinycoat.tensor import full


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


class Hardtanh(Module):
    """x clamped to [min_val, max_val]."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):     # (inplace: no effect here)
        super().__init__()
        if not min_val < max_val:
            raise ValueError(f"{type(self).__name__}: min_val must be below max_val, got {min_val!r} and {max_val!r}")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Hardtanh):
    """min(max(x, 0), 6) (MobileNetV2's)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0)

    def extra_repr(self):
        return ""


class PReLU(Module):
    """x for x > 0, else a·x, with the slope a learned: one for all channels (num_parameters=1) or
    one per channel (num_parameters = C, the input's axis 1), starting at ``init``."""

    def __init__(self, num_parameters=1, init=0.25, *, dtype=None, device="cpu"):
        super().__init__()
        self.num_parameters = check_int("PReLU", "num_parameters", num_parameters)
        self.weight = Parameter(full((self.num_parameters,), float(init), dtype=dtype, device=device))

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class CELU(Module):
    """x for x > 0, else α(e^{x/α} − 1)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        if alpha == 0:
            raise ValueError("CELU: alpha must not be 0 (it divides x)")
        self.alpha = alpha

    def forward(self, x):
        return F.celu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class GLU(Module):
    """a ⊙ σ(b), a and b the halves of x along ``dim``."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.glu(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Threshold(Module):
    """x for x > threshold, else value."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        for name, number in (("threshold", threshold), ("value", value)):
            if not isinstance(number, (int, float)) or isinstance(number, bool):
                raise TypeError(f"Threshold: {name} must be a number, got {number!r}")
        self.threshold, self.value = threshold, value

    def forward(self, x):
        return F.threshold(x, self.threshold, self.value)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}"


class Hardshrink(Module):
    """x for |x| > λ, else 0."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = check_number(type(self).__name__, "lambd", lambd)

    def forward(self, x):
        return F.hardshrink(x, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """x moved λ toward 0, stopping at 0."""

    def forward(self, x):
        return F.softshrink(x, self.lambd)


class SELU(Module):
    """λ · elu(x, α), SELU's fixed λ and α."""

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return F.selu(x)


class Mish(SELU):
    """x · tanh(softplus(x))."""

    def forward(self, x):
        return F.mish(x)


class LogSigmoid(Module):
    """log σ(x)."""

    def forward(self, x):
        return F.logsigmoid(x)


class Softsign(Module):
    """x / (1 + |x|)."""

    def forward(self, x):
        return F.softsign(x)


class Tanhshrink(Module):
    """x − tanh(x)."""

    def forward(self, x):
        return F.tanhshrink(x)
