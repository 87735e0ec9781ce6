"""Mixed precision (tinycoat/amp.py) and loss scaling (tinycoat/optim/grad_scaler.py).

The rule: inside autocast a float32 matrix product is fp16(fp16(A)·fp16(B)) with float32 sums.
It is checked against float64 products of float16-rounded inputs, on both devices.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat import optim
from tinycoat.nn import functional as F


def rounded(a):
    return np.asarray(a, dtype=np.float16).astype(np.float64)


def fp16_product(a, b):
    """What autocast promises, computed in float64 and rounded once at the end."""
    return (rounded(a) @ rounded(b)).astype(np.float16).astype(np.float32)


def close_in_fp16(actual, expected):
    # float32 sums in another order can move a result across one float16 rounding step
    np.testing.assert_allclose(actual, expected, rtol=2 ** -10, atol=1e-6)


@given(rows=st.integers(1, 5), k=st.integers(1, 7), n=st.integers(1, 4), seed=st.integers(0, 2 ** 16))
def test_linear_forward_and_backward_products_in_float16(device, rows, k, n, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((rows, k)).astype(np.float32), rng.standard_normal((n, k)).astype(np.float32)
    g = rng.standard_normal((rows, n)).astype(np.float32)
    xt, wt = tc.tensor(x, device=device, requires_grad=True), tc.tensor(w, device=device, requires_grad=True)
    with tc.amp.autocast():
        y = F.linear(xt, wt)
    y.backward(tc.tensor(g, device=device))            # outside autocast: the recorded precision holds
    assert y.dtype == xt.grad.dtype == wt.grad.dtype == tc.float32
    close_in_fp16(y.numpy(), fp16_product(x, w.T))
    close_in_fp16(xt.grad.numpy(), fp16_product(g, w))
    close_in_fp16(wt.grad.numpy(), fp16_product(g.T, x))


def test_conv_and_matmul_follow_the_rule_and_plain_code_does_not(device):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 5)).astype(np.float32), rng.standard_normal((2, 5, 4)).astype(np.float32)
    at, bt = tc.tensor(a, device=device), tc.tensor(b, device=device)
    with tc.amp.autocast():
        close_in_fp16((at @ bt).numpy(), fp16_product(a, b))
    plain = (at @ bt).numpy()
    np.testing.assert_allclose(plain, a @ b, rtol=1e-6)
    assert not np.allclose(plain, fp16_product(a, b), rtol=1e-5, atol=0)   # the rule is really off outside
    x, w = rng.standard_normal((2, 3, 6, 5)).astype(np.float32), rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    xt, wt = tc.tensor(x, device=device), tc.tensor(w, device=device)
    expected = F.conv2d(tc.tensor(rounded(x)), tc.tensor(rounded(w)), padding=1).numpy()
    with tc.amp.autocast():
        y = F.conv2d(xt, wt, padding=1).numpy()
    np.testing.assert_allclose(y, expected, rtol=2e-3, atol=2e-3)
    assert y.dtype == np.float32
    # a grouped convolution: one product per group (3-D operands), under the same rule
    wg = rng.standard_normal((4, 1, 3, 3)).astype(np.float32)
    x3 = np.concatenate([x, x[:, :1]], axis=1)                                   # 4 channels, 4 groups
    expected = F.conv2d(tc.tensor(rounded(x3)), tc.tensor(rounded(wg)), padding=1, groups=4).numpy()
    with tc.amp.autocast():
        y = F.conv2d(tc.tensor(x3, device=device), tc.tensor(wg, device=device), padding=1, groups=4).numpy()
    np.testing.assert_allclose(y, expected, rtol=2e-3, atol=2e-3)
    assert not np.allclose(F.conv2d(tc.tensor(x3), tc.tensor(wg), padding=1, groups=4).numpy(), expected,
                           rtol=1e-6, atol=0)                                   # (the rounding shows)
    # the transposed convolution: its stamps are one product, under the same rule
    v = rng.standard_normal((2, 4, 3, 4)).astype(np.float32)                    # 4 channels back to 3
    expected = F.conv_transpose2d(tc.tensor(rounded(v)), tc.tensor(rounded(w)), stride=2).numpy()
    with tc.amp.autocast():
        y = F.conv_transpose2d(tc.tensor(v, device=device), wt, stride=2).numpy()
    np.testing.assert_allclose(y, expected, rtol=2e-3, atol=2e-3)
    assert y.dtype == np.float32


def test_float64_is_untouched_and_gradcheck_still_holds(device):
    x = tc.tensor(np.random.default_rng(1).standard_normal((3, 4)), device=device, requires_grad=True)
    w = tc.tensor(np.random.default_rng(2).standard_normal((2, 4)), device=device, requires_grad=True)
    with tc.amp.autocast():
        np.testing.assert_allclose(F.linear(x, w).numpy(), x.numpy() @ w.numpy().T, rtol=1e-14)
        assert tc.gradcheck(lambda a, b: F.linear(a, b), x, w)


def test_autocast_nests_restores_and_checks_its_dtype():
    assert tc.amp.autocast_dtype() is None
    with tc.amp.autocast():
        assert tc.amp.autocast_dtype() == "float16"
        with tc.amp.autocast(enabled=False):
            assert tc.amp.autocast_dtype() is None
        assert tc.amp.autocast_dtype() == "float16"
    assert tc.amp.autocast_dtype() is None
    with pytest.raises(ValueError, match="dtype must be 'float16'.*bfloat16"):
        tc.amp.autocast(dtype="bfloat16")


def small_gradient(device, scaler):
    """dL/dw of a loss whose true gradient, 1e-9 per entry, is below float16's smallest value (6e-8)."""
    w = tc.nn.Parameter(tc.ones(2, 3, device=device).data)
    x = tc.ones(1, 3, device=device)
    opt = optim.SGD([w], lr=0.0)
    with tc.amp.autocast():
        loss = F.linear(x, w).sum() * 1e-9
    opt.zero_grad()
    scaler.scale(loss).backward()
    assert scaler.step(opt)                              # unscales the gradient in place, then steps
    scaler.update()
    return w.grad.numpy()


def test_loss_scaling_keeps_gradients_that_float16_would_lose(device):
    np.testing.assert_array_equal(small_gradient(device, optim.GradScaler(enabled=False)), 0.0)  # flushed
    kept = small_gradient(device, optim.GradScaler(init_scale=2.0 ** 16))
    np.testing.assert_allclose(kept, 1e-9, rtol=2 ** -10)   # 1e-9·2^16 is a normal float16 number


def test_overflow_skips_the_step_and_backs_off_then_grows(device):
    p = tc.nn.Parameter(tc.ones(3, device=device).data)
    opt = optim.AdamW([p], lr=0.1)
    scaler = optim.GradScaler(init_scale=8.0, growth_interval=2)
    p.grad = tc.tensor(np.array([1.0, np.inf, 0.0], dtype=np.float32), device=device)
    assert scaler.step(opt) is False
    scaler.update()
    np.testing.assert_array_equal(p.numpy(), 1.0)       # untouched, and no optimizer state was made
    assert opt.state == {} and scaler.get_scale() == 4.0
    for _ in range(2):
        p.grad = tc.tensor(np.array([4.0, 4.0, 4.0], dtype=np.float32), device=device)
        scaler.unscale_(opt)
        np.testing.assert_array_equal(p.grad.numpy(), 1.0)   # ÷ the scale in place
        assert scaler.step(opt) is True
        scaler.update()
    assert scaler.get_scale() == 8.0 and scaler.state_dict() == {
        "scale": 8.0, "growth_tracker": 0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2}
    assert p.numpy()[0] < 1.0


def test_an_overflow_in_any_optimizer_backs_off_and_each_steps_once():
    """Two optimizers, one overflowing: S backs off (the verdict is the steps' together, as in
    PyTorch), and a second step() of one optimizer before update() is refused (it would apply the
    update twice)."""
    p, q = (tc.nn.Parameter(tc.ones(2).data) for _ in range(2))
    first, second = optim.SGD([p], lr=0.1), optim.SGD([q], lr=0.1)
    scaler = optim.GradScaler(init_scale=4.0, growth_interval=1)
    p.grad = tc.tensor(np.array([np.inf, 1.0], dtype=np.float32))
    q.grad = tc.tensor(np.array([1.0, 1.0], dtype=np.float32))
    assert scaler.step(first) is False and scaler.step(second) is True
    with pytest.raises(RuntimeError, match="step was already called for this optimizer"):
        scaler.step(second)
    scaler.update()
    assert scaler.get_scale() == 2.0                    # backed off, not grown
    np.testing.assert_array_equal(p.numpy(), 1.0)
    np.testing.assert_allclose(q.numpy(), 1.0 - 0.1 / 4.0)   # stepped once, with the unscaled gradient


def test_scaler_errors_and_state_round_trip():
    with pytest.raises(ValueError, match="GradScaler: need a scale > 0"):
        optim.GradScaler(init_scale=0)
    scaler = optim.GradScaler()
    p = tc.nn.Parameter(tc.ones(2).data)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="no parameter has a gradient"):
        scaler.unscale_(opt)
    p.grad = tc.ones(2)
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="already called"):
        scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="call step"):
        optim.GradScaler().update()
    other = optim.GradScaler()
    other.load_state_dict({"scale": 256.0, "growth_tracker": 7})        # (a state from before the settings)
    assert other.get_scale() == 256.0 and other.state_dict()["growth_tracker"] == 7
    saved = optim.GradScaler(init_scale=8.0, growth_factor=4.0, backoff_factor=0.25, growth_interval=3).state_dict()
    other.load_state_dict(saved)                                        # the settings come back too
    assert other.state_dict() == saved
    with pytest.raises(ValueError, match="the state lacks growth_tracker"):
        other.load_state_dict({"scale": 2.0})
    with pytest.raises(ValueError, match="GradScaler.load_state_dict: need a scale > 0"):
        other.load_state_dict({**saved, "scale": -1.0, "growth_interval": 0})
    assert other.state_dict() == saved                                  # (refused whole)
    other.load_state_dict({**saved, "growth_factor": 2.5})               # a setting is kept as it was saved
    assert other.growth_factor == 2.5
    off = optim.GradScaler(enabled=False)
    assert off.get_scale() == 1.0 and off.state_dict() == {}


class RecordingArray(np.ndarray):
    """A NumPy array that notes the dtype of every matrix product it takes part in."""
    dtypes = []

    def __matmul__(self, other):
        RecordingArray.dtypes.append(self.dtype)
        return np.ndarray.__matmul__(self, other)


def test_gpu_route_keeps_single_number_products_off_cupys_float16_sums(monkeypatch):
    """On a GPU a product whose result is one number must not be a float16 product (CuPy sums those
    in float16) and must not ask for errstate (CuPy has none). NumPy arrays stand in for CuPy's."""
    import tinycoat.amp as amp
    monkeypatch.setattr(amp, "device_of", lambda a: "gpu")
    monkeypatch.setattr(amp, "get_array_module", lambda a: pytest.fail("errstate asked for on the GPU"))
    rng = np.random.default_rng(3)
    for (n, k, m), float16_product in (((1, 64, 1), False), ((2, 64, 3), True), ((1, 64, 2), True)):
        a = rng.standard_normal((n, k)).astype(np.float32).view(RecordingArray)
        b = rng.standard_normal((k, m)).astype(np.float32)
        RecordingArray.dtypes = []
        close_in_fp16(np.asarray(amp.autocast_matmul(a, b, "float16")), fp16_product(a, b))
        assert (np.dtype(np.float16) in RecordingArray.dtypes) == float16_product, (n, k, m)
