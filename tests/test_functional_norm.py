"""batch_norm, layer_norm, group_norm and instance_norm: forward against NumPy, running statistics,
float64 gradient checks."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
import tinycoat.nn.functional as F
from strategies import arrays, positive

EPS = 1e-5


def bn_shapes():
    """(N, C, H, W) with N·H·W >= 2 (one value per channel has no variance to normalize by)."""
    return st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)).filter(
        lambda s: s[0] * s[2] * s[3] >= 2)


def t64(a, device, grad=False):
    return tc.tensor(a, dtype="float64", device=device, requires_grad=grad)


@given(data=st.data(), momentum=st.sampled_from([0.1, 0.5]))
def test_batch_norm_training_normalizes_and_updates_unbiased_running_stats(data, momentum, device):
    x = data.draw(arrays(bn_shapes()))
    c = x.shape[1]
    w, b = data.draw(arrays((c,))), data.draw(arrays((c,)))
    rm0, rv0 = data.draw(arrays((c,))), data.draw(positive((c,)))
    rm, rv = t64(rm0.copy(), device), t64(rv0.copy(), device)  # updated in place
    y = F.batch_norm(t64(x, device), rm, rv, t64(w, device), t64(b, device), training=True, momentum=momentum)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    shape = (1, c, 1, 1)
    expected = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + EPS) * w.reshape(shape) + b.reshape(shape)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-9, atol=1e-9)
    m = x.size // c
    # a mean that cancels to ~0 is only as exact as the size of what was summed
    scale = 1e-12 * max(np.abs(x).max(), np.abs(rm0).max(), 1e-300)
    np.testing.assert_allclose(rm.numpy(), (1 - momentum) * rm0 + momentum * mean, rtol=1e-12, atol=scale)
    np.testing.assert_allclose(rv.numpy(), (1 - momentum) * rv0 + momentum * var * m / (m - 1), rtol=1e-12)


@pytest.mark.parametrize("fast,block_bytes", [(False, None), (True, 1), (True, 1 << 30)],
                         ids=["reference", "fast-small-blocks", "fast-one-block"])
def test_batch_norm_statistics_survive_a_large_mean_in_float32(fast, block_bytes, monkeypatch):
    """Means up to 10⁴ σ away from 0 still normalize to unit variance in float32: the reference's
    two passes (μ, then the mean of (x − μ)²), and the fast wing's one-read statistics (sums of
    x − k, k the first sample's mean) in one block or in many, even when that first sample is
    30 σ off. (The naive E[x²] − E[x]² would lose every digit here.)"""
    from tinycoat.fast import blocks
    rng = np.random.default_rng(3)
    sigma = np.array([1.0, 0.1, 3.0]).reshape(1, 3, 1, 1)
    x = 1e3 + rng.standard_normal((16, 3, 6, 5)) * sigma
    x[:1] += 30 * sigma
    if block_bytes is not None:
        monkeypatch.setattr(blocks, "BLOCK_BYTES", block_bytes)
    with tc.fast.enabled(fast):
        y = F.batch_norm(tc.tensor(x.astype(np.float32)), None, None, training=True).numpy()
    x = x.astype(np.float32).astype(np.float64)         # what the float32 input really holds
    expected = (x - x.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt(x.var(axis=(0, 2, 3), keepdims=True) + EPS)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, expected, atol=2e-3)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), expected.std(axis=(0, 2, 3)), rtol=1e-3)


@given(data=st.data())
def test_batch_norm_eval_uses_running_stats_and_leaves_them(data, device):
    x = data.draw(arrays(st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))))
    c = x.shape[1]
    w, b, rm0, rv0 = (data.draw(arrays((c,))), data.draw(arrays((c,))), data.draw(arrays((c,))),
                      data.draw(positive((c,))))
    rm, rv = t64(rm0.copy(), device), t64(rv0.copy(), device)  # updated in place
    y = F.batch_norm(t64(x, device), rm, rv, t64(w, device), t64(b, device), training=False)
    s = (1, c, 1, 1)
    expected = (x - rm0.reshape(s)) / np.sqrt(rv0.reshape(s) + EPS) * w.reshape(s) + b.reshape(s)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(rm.numpy(), rm0)
    np.testing.assert_array_equal(rv.numpy(), rv0)
    xt, wt, bt = t64(x, device, True), t64(w, device, True), t64(b, device, True)
    assert tc.gradcheck(lambda a, g, h: F.batch_norm(a, rm, rv, g, h, training=False), xt, wt, bt)


@given(data=st.data())
def test_batch_norm_training_gradcheck(data, device):
    x = data.draw(arrays(bn_shapes(), -2.0, 2.0))
    c = x.shape[1]
    x = x + np.arange(x.size).reshape(x.shape) * 1e-2  # no constant channel: σ² > 0 everywhere
    w, b = data.draw(arrays((c,))), data.draw(arrays((c,)))
    rm, rv = t64(np.zeros(c), device), t64(np.ones(c), device)
    xt, wt, bt = t64(x, device, True), t64(w, device, True), t64(b, device, True)
    assert tc.gradcheck(lambda a, g, h: F.batch_norm(a, rm, rv, g, h, training=True), xt, wt, bt)
    assert tc.gradcheck(lambda a: F.batch_norm(a, None, None, training=True), xt)  # no affine, no stats


@given(data=st.data())
def test_layer_norm_forward_and_gradcheck(data, device):
    shape = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple))
    nd = data.draw(st.integers(1, len(shape)))
    normalized = shape[len(shape) - nd:]
    x = data.draw(arrays(shape)) + np.arange(np.prod(shape)).reshape(shape) * 1e-2
    w, b = data.draw(arrays(normalized)), data.draw(arrays(normalized))
    axes = tuple(range(len(shape) - nd, len(shape)))
    expected = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + EPS) * w + b
    xt, wt, bt = t64(x, device, True), t64(w, device, True), t64(b, device, True)
    np.testing.assert_allclose(F.layer_norm(xt, normalized, wt, bt).numpy(), expected, rtol=1e-9, atol=1e-9)
    assert tc.gradcheck(lambda a, g, h: F.layer_norm(a, normalized, g, h), xt, wt, bt)


def test_norms_keep_float32_and_check_shapes(device):
    x = tc.randn(4, 3, 2, 2, device=device, requires_grad=True)
    rm, rv = tc.zeros(3, device=device), tc.ones(3, device=device)
    for training in (True, False):
        y = F.batch_norm(x, rm, rv, tc.ones(3, device=device), tc.zeros(3, device=device), training=training)
        y.sum().backward()
        assert y.dtype == rm.dtype == rv.dtype == x.grad.dtype == tc.float32
    assert F.layer_norm(x, (2, 2)).dtype == tc.float32
    with pytest.raises(ValueError, match=r"running_mean must have shape \(3,\)"):
        F.batch_norm(x, tc.zeros(4), rv, training=False)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(tc.zeros(1, 3, 1, 1), rm, rv, training=True)
    with pytest.raises(ValueError, match="batch_norm: training=False normalizes with running_mean and running_var, "
                                         "but they are None"):
        F.batch_norm(x, None, None, training=False)           # (it quietly used the batch's statistics)
    with pytest.raises(ValueError, match=r"layer_norm: expected input \(\.\.\., 5\), got \(4, 3, 2, 2\)"):
        F.layer_norm(x, 5)
    ints = tc.tensor(np.arange(8).reshape(2, 4), device=device)     # integers are refused, as PyTorch's norms do
    for norm, name in ((lambda t: F.layer_norm(t, 4), "layer_norm"), (lambda t: F.group_norm(t, 2), "group_norm"),
                       (lambda t: F.batch_norm(t, None, None, training=True), "batch_norm")):
        with pytest.raises(TypeError, match=f"{name}: expected a floating-point input"):
            norm(ints)


@st.composite
def group_case(draw):
    """x (N, C, ...) with C = G·(channels per group), and the number of groups G."""
    groups, per_group = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
    return draw(arrays((draw(st.integers(1, 2)), groups * per_group) + spatial)), groups


@given(case=group_case(), data=st.data())
def test_group_norm_standardizes_each_group_of_each_sample(case, data, device):
    x, groups = case
    n, c = x.shape[:2]
    w, b = data.draw(arrays((c,))), data.draw(arrays((c,)))
    y = F.group_norm(t64(x, device), groups, t64(w, device), t64(b, device))
    g = x.reshape(n, groups, -1)
    hat = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + EPS)).reshape(x.shape)
    per_channel = (1, c) + (1,) * (x.ndim - 2)
    np.testing.assert_allclose(y.numpy(), hat * w.reshape(per_channel) + b.reshape(per_channel), rtol=1e-9, atol=1e-9)
    assert tc.gradcheck(lambda a, k, s: F.group_norm(a, groups, k, s), t64(x, device, True), t64(w, device, True),
                        t64(b, device, True))


@given(x=arrays(st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))))
def test_one_group_is_a_layer_norm_and_one_group_per_channel_an_instance_norm(x, device):
    t = t64(x, device)
    np.testing.assert_allclose(F.group_norm(t, 1).numpy(), F.layer_norm(t, x.shape[1:]).numpy(), rtol=1e-12, atol=1e-12)
    each_map = (x - x.mean((2, 3), keepdims=True)) / np.sqrt(x.var((2, 3), keepdims=True) + EPS)
    np.testing.assert_allclose(F.group_norm(t, x.shape[1]).numpy(), each_map, rtol=1e-9, atol=1e-9)


def test_group_norm_refuses_groups_that_do_not_divide_the_channels():
    with pytest.raises(ValueError, match=r"group_norm: expected input \(N, C, \.\.\.\) with C divisible by num_groups, "
                                         r"got input \(2, 6, 3\) and num_groups=4"):
        F.group_norm(tc.zeros(2, 6, 3), 4)
    with pytest.raises(ValueError, match=r"group_norm: weight must have shape \(6,\)"):
        F.group_norm(tc.zeros(2, 6, 3), 3, tc.ones(3))


@given(x=arrays(st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)).filter(
    lambda s: s[2] * s[3] >= 2)), momentum=st.sampled_from([0.1, 0.5]), data=st.data())
def test_instance_norm_standardizes_each_map_and_averages_the_samples_statistics(x, momentum, data, device):
    """Each (n, c) map over its own pixels, then γ, β per channel; the running statistics move toward
    the N samples' average mean and unbiased variance; gradchecked for x, γ and β."""
    n, c = x.shape[:2]
    w, b = data.draw(arrays((c,))), data.draw(arrays((c,)))
    rm0, rv0 = data.draw(arrays((c,))), data.draw(positive((c,)))
    rm, rv = t64(rm0.copy(), device), t64(rv0.copy(), device)          # updated in place
    y = F.instance_norm(t64(x, device), rm, rv, t64(w, device), t64(b, device), momentum=momentum)
    mean, var = x.mean((2, 3), keepdims=True), x.var((2, 3), keepdims=True)
    np.testing.assert_allclose(y.numpy(), (x - mean) / np.sqrt(var + EPS) * w.reshape(1, c, 1, 1) + b.reshape(1, c, 1, 1),
                               rtol=1e-9, atol=1e-9)
    m = x.shape[2] * x.shape[3]
    scale = 1e-12 * max(np.abs(x).max(), np.abs(rm0).max(), 1e-300)
    np.testing.assert_allclose(rm.numpy(), (1 - momentum) * rm0 + momentum * mean.mean((0, 2, 3)), rtol=1e-12, atol=scale)
    np.testing.assert_allclose(rv.numpy(), (1 - momentum) * rv0 + momentum * var.mean((0, 2, 3)) * m / (m - 1), rtol=1e-12)
    assert tc.gradcheck(lambda a, k, s: F.instance_norm(a, weight=k, bias=s), t64(x, device, True), t64(w, device, True),
                        t64(b, device, True))
    # the running statistics in place of the input's: a fixed affine map per channel
    fixed = F.instance_norm(t64(x, device), rm, rv, use_input_stats=False).numpy()
    np.testing.assert_allclose(fixed, (x - rm.numpy().reshape(1, c, 1, 1)) / np.sqrt(rv.numpy().reshape(1, c, 1, 1) + EPS),
                               rtol=1e-9, atol=1e-9)


def test_instance_norm_layers_follow_pytorchs_defaults(device):
    """No γ, β and no running statistics unless asked (the input's own in eval too); one unbatched
    sample is a batch of one; with track_running_stats, eval uses them; num_batches_tracked stays 0
    and momentum=None leaves the statistics alone (as PyTorch's)."""
    x = tc.randn(2, 3, 4, 5, dtype="float64", device=device) * 3 + 1
    plain = tc.nn.InstanceNorm2d(3)
    assert list(plain.state_dict()) == [] and repr(plain) == ("InstanceNorm2d(3, eps=1e-05, momentum=0.1, "
                                                              "affine=False, track_running_stats=False)")
    np.testing.assert_array_equal(plain.eval()(x).numpy(), F.instance_norm(x).numpy())
    np.testing.assert_allclose(plain(x[1]).numpy(), F.instance_norm(x).numpy()[1], rtol=1e-12, atol=1e-12)
    tracked = tc.nn.InstanceNorm1d(3, affine=True, track_running_stats=True, dtype="float64", device=device)
    assert sorted(tracked.state_dict()) == ["bias", "num_batches_tracked", "running_mean", "running_var", "weight"]
    seq = x.reshape(2, 3, 20)
    tracked(seq)
    np.testing.assert_allclose(tracked.running_mean.numpy(), 0.1 * seq.numpy().mean((0, 2)), rtol=1e-12)
    assert tracked.num_batches_tracked.item() == 0
    tracked.eval()
    np.testing.assert_array_equal(tracked(seq).numpy(), F.instance_norm(seq, tracked.running_mean, tracked.running_var,
                                                                        tracked.weight, tracked.bias, False).numpy())
    frozen = tc.nn.InstanceNorm2d(3, momentum=None, track_running_stats=True, device=device)
    frozen(x.float())
    assert frozen.running_mean.tolist() == [0.0] * 3 and frozen.running_var.tolist() == [1.0] * 3
    for call, message in [
            (lambda: plain(tc.zeros(2, 4, 5, 5)), r"^InstanceNorm2d\(3\): expected input \(N, 3, H, W\) or \(3, H, W\), "
                                                  r"got \(2, 4, 5, 5\)"),
            (lambda: plain(tc.zeros(2, 3, 1, 1)), r"^instance_norm: expected more than 1 pixel per map"),
            (lambda: F.instance_norm(tc.zeros(2, 3)), r"^instance_norm: expected input \(N, C, \.\.\.\) with at least one "
                                                       r"pixel axis, got \(2, 3\)"),
            (lambda: F.instance_norm(tc.zeros(2, 3, 4), weight=tc.ones(2)), r"^instance_norm: weight must have shape \(3,\)")]:
        with pytest.raises(ValueError, match=message):
            call()


def test_instance_norm_edges():
    """An empty batch gives an empty result (as PyTorch); one running statistic without the other is
    refused; the layer prints every setting, as PyTorch's."""
    assert F.instance_norm(tc.zeros(0, 3, 4, 4)).shape == (0, 3, 4, 4)
    assert tc.nn.InstanceNorm2d(3)(tc.zeros(0, 3, 4, 4)).shape == (0, 3, 4, 4)
    with pytest.raises(ValueError, match=r"^instance_norm: pass running_mean and running_var together, or neither"):
        F.instance_norm(tc.randn(2, 3, 4), running_mean=tc.zeros(3))
    assert repr(tc.nn.InstanceNorm1d(4, affine=True, track_running_stats=True)) == (
        "InstanceNorm1d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)")
