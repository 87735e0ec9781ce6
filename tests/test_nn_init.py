"""nn.init: each initializer's distribution against its formula, on samples large enough that a
wrong scale (a missing √3, fan_out for fan_in, a gain off by √2) is far outside the tolerance."""
import math

import numpy as np
import pytest

import tinycoat as tc
from tinycoat.nn import init


def weight(*shape, dtype="float64"):
    return tc.nn.Parameter(tc.zeros(*shape, dtype=dtype).data)


def test_uniform_and_normal_have_the_asked_moments():
    w = init.uniform_(weight(200_000), -1.0, 3.0)
    v = w.numpy()
    assert v.min() >= -1.0 and v.max() < 3.0
    assert abs(v.mean() - 1.0) < 0.02 and abs(v.std() - 4 / math.sqrt(12)) < 0.01
    v = init.normal_(weight(200_000), 0.5, 2.0).numpy()
    assert abs(v.mean() - 0.5) < 0.02 and abs(v.std() - 2.0) < 0.02


def test_trunc_normal_stays_inside_its_absolute_bounds_with_the_truncated_std():
    mean, std, a, b = 0.0, 1.0, -1.0, 2.0
    v = init.trunc_normal_(weight(200_000), mean, std, a, b).numpy()
    assert v.min() >= a and v.max() <= b
    # the std of a normal truncated to [α, β] (in standard units): √(1 + (αφ(α) − βφ(β))/Z − ((φ(α) − φ(β))/Z)²)
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)      # noqa: E731
    cdf = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))             # noqa: E731
    z = cdf(b) - cdf(a)
    expected = math.sqrt(1 + (a * phi(a) - b * phi(b)) / z - ((phi(a) - phi(b)) / z) ** 2)
    assert abs(v.std() - expected) < 0.01
    assert abs(init.trunc_normal_(weight(100_000), std=0.02).numpy().std() - 0.02) < 0.001   # ViT's init: bounds ±2 far away
    with pytest.raises(ValueError, match="trunc_normal_"):
        init.trunc_normal_(weight(3), 0.0, 1.0, 8.0, 9.0)       # almost no mass there: refused, not an endless loop


@pytest.mark.parametrize("shape, fan_in, fan_out", [((64, 32, 3, 3), 288, 576), ((10, 40), 40, 10), ((8, 1, 5, 3), 15, 120)])
def test_kaiming_and_xavier_scale_by_the_fans(shape, fan_in, fan_out):
    n = math.prod(shape)
    tol = 4 / math.sqrt(n)                                     # relative: several standard errors of a std
    cases = [
        (init.kaiming_normal_, dict(nonlinearity="relu"), math.sqrt(2 / fan_in)),
        (init.kaiming_uniform_, dict(nonlinearity="relu", mode="fan_out"), math.sqrt(2 / fan_out)),
        (init.xavier_normal_, dict(), math.sqrt(2 / (fan_in + fan_out))),
        (init.xavier_uniform_, dict(gain=init.calculate_gain("tanh")), 5 / 3 * math.sqrt(2 / (fan_in + fan_out))),
    ]
    for fill, kwargs, std in cases:
        v = fill(weight(*shape), **kwargs).numpy()
        assert abs(v.std() / std - 1) < tol, (fill.__name__, v.std(), std)
        if "uniform" in fill.__name__:
            assert np.abs(v).max() <= math.sqrt(3) * std


def test_the_layers_default_is_kaiming_uniform_with_a_root_5():
    """PyTorch's default for Conv2d and Linear weights, which tinycoat's layers draw the same way."""
    tc.manual_seed(3)
    conv = tc.nn.Conv2d(4, 6, 3)
    tc.manual_seed(3)
    again = init.kaiming_uniform_(weight(6, 4, 3, 3, dtype="float32"), a=math.sqrt(5))
    np.testing.assert_allclose(again.numpy(), conv.weight.numpy(), rtol=1e-6)


def test_fills_in_place_without_a_graph_and_the_same_values_in_any_dtype():
    w = tc.nn.Parameter(tc.zeros(5).data)
    version = w._version
    assert init.ones_(w) is w and w.requires_grad and w.tolist() == [1.0] * 5
    assert w._version > version and init.zeros_(w).tolist() == [0.0] * 5
    assert init.constant_(w, 0.25).tolist() == [0.25] * 5
    tc.manual_seed(1)
    a = init.normal_(weight(7, dtype="float64")).numpy()
    tc.manual_seed(1)
    b = init.normal_(weight(7, dtype="float32")).numpy()
    np.testing.assert_array_equal(a.astype(np.float32), b)


def test_init_says_what_it_needs():
    with pytest.raises(TypeError, match="floating-point Tensor"):
        init.normal_(tc.zeros(3, dtype="int64"))
    with pytest.raises(ValueError, match="at least 2 axes"):
        init.xavier_uniform_(weight(3))
    with pytest.raises(ValueError, match="'fan_in' or 'fan_out'"):
        init.kaiming_normal_(weight(3, 3), mode="fan")
    with pytest.raises(ValueError, match="unknown nonlinearity 'gelu'"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative slope, a number"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="unknown nonlinearity 'identity'"):
        init.calculate_gain("identity")                            # (PyTorch knows it as 'linear')
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("conv_transpose2d") == 1.0
    assert init.kaiming_uniform_(weight(4, 0)).shape == (4, 0)    # no entries: nothing to fill, no division by 0
