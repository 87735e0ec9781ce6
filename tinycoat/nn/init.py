"""Initial values of parameters, as PyTorch's ``nn.init``: each ``…_`` function fills a tensor in
place (no graph is recorded) and returns it.

Why the scales. A layer y = W x with n = fan_in inputs of variance 1 gives outputs of variance
n · Var(W); for the signal to keep its size through many layers, Var(W) = 1/n (LeCun). Behind a
ReLU, which zeroes half of it, Var(W) = 2/n (He et al., "kaiming"). The gradients' size on the way
back asks for 1/fan_out instead; Glorot & Bengio ("xavier") take the compromise
Var(W) = 2/(fan_in + fan_out). So std = gain/√fan, with fan = fan_in (or fan_out: kaiming's
mode) or (fan_in + fan_out)/2 (xavier); a uniform on [−√3·std, √3·std] has the same std as the normal.

Every draw is made by tinycoat's seeded CPU generator in float64, then cast and moved: one
``tc.manual_seed`` gives the same draws on every device, rounded to each dtype (the layers
in this package draw their parameters through ``uniform_values`` and ``normal_values`` too).
"""
from __future__ import annotations

import math

from tinycoat import backend
from tinycoat.autograd import no_grad
from tinycoat.tensor import Tensor


def uniform_values(shape, low, high):
    """A float64 host array of ``shape`` ~ Uniform(low, high), from the seeded CPU generator."""
    u = backend.generator("cpu").random(tuple(shape))               # [0, 1)
    return (2.0 * u - 1.0) * ((high - low) / 2) + (low + high) / 2


def normal_values(shape, mean, std):
    """A float64 host array of ``shape`` ~ Normal(mean, std²), from the seeded CPU generator."""
    return backend.generator("cpu").standard_normal(tuple(shape)) * std + mean


def _fill(tensor, values):
    if not isinstance(tensor, Tensor) or tensor.dtype.kind != "f":
        raise TypeError(f"nn.init: expected a floating-point Tensor to fill, got "
                        f"{tensor.dtype if isinstance(tensor, Tensor) else type(tensor).__name__}")
    with no_grad():
        tensor[...] = Tensor(backend.as_array(values, dtype=tensor.dtype, device=tensor.device))
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    return _fill(tensor, uniform_values(tensor.shape, a, b))


def normal_(tensor, mean=0.0, std=1.0):
    return _fill(tensor, normal_values(tensor.shape, mean, std))


def constant_(tensor, val):
    with no_grad():
        tensor.fill_(val)
    return tensor


def zeros_(tensor): return constant_(tensor, 0.0)
def ones_(tensor): return constant_(tensor, 1.0)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Normal(mean, std²) restricted to [a, b] (absolute bounds, as PyTorch's): entries that fall
    outside are drawn again until none does (rejection sampling, exact for this distribution)."""
    def cdf(x):
        return 0.5 * (1 + math.erf((x - mean) / (std * math.sqrt(2))))
    if not a < b or std <= 0 or cdf(b) - cdf(a) < 1e-3:
        raise ValueError(f"trunc_normal_: need std > 0 and a < b holding at least 0.1 % of Normal({mean}, {std}²), "
                         f"got std={std}, [a, b] = [{a}, {b}]")
    values = normal_values(tensor.shape, mean, std)
    outside = (values < a) | (values > b)
    while outside.any():
        values[outside] = normal_values((int(outside.sum()),), mean, std)
        outside = (values < a) | (values > b)
    return _fill(tensor, values)


def calculate_gain(nonlinearity, param=None):
    """√(the variance factor) that keeps a signal's size through ``nonlinearity`` (PyTorch's values)."""
    if nonlinearity in ("linear", "sigmoid", "conv1d", "conv2d", "conv3d",
                        "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":          # a ReLU that keeps a fraction ``param`` of negative inputs
        if param is not None and (isinstance(param, bool) or not isinstance(param, (int, float))):
            raise ValueError(f"calculate_gain: leaky_relu's param is its negative slope, a number; got {param!r}")
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r} (expected linear, sigmoid, tanh, "
                     "relu, leaky_relu, selu, conv1d/2d/3d or conv_transpose1d/2d/3d)")


def _fan_in_and_fan_out(tensor):
    """A weight (out, in, *kernel) takes fan_in = in·k_h·k_w inputs and feeds fan_out = out·k_h·k_w."""
    if tensor.ndim < 2:
        raise ValueError(f"nn.init: fan in and fan out need a weight of at least 2 axes (out, in, ...), "
                         f"got shape {tuple(tensor.shape)}")
    receptive = math.prod(tensor.shape[2:])
    # (a weight with no entries: fans of 1, so that filling it is the no-op it should be, as in PyTorch)
    return max(tensor.shape[1] * receptive, 1), max(tensor.shape[0] * receptive, 1)


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"nn.init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return _fan_in_and_fan_out(tensor)[mode == "fan_out"]


def xavier_uniform_(tensor, gain=1.0):
    fan_in, fan_out = _fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    fan_in, fan_out = _fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode)))
