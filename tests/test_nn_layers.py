"""Layers: initialization, reproducibility, forward against references, shape errors,
and float64 gradient checks of whole layers (input *and* parameters)."""
import math
import re

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat import nn
import tinycoat.nn.functional as F
from strategies import arrays


def layer_gradcheck(layer, x):
    """Check d/dx and d/dθ for every parameter θ: gradcheck perturbs the parameters in place."""
    params = list(layer.parameters())
    return tc.gradcheck(lambda inp, *_: layer(inp), x, *params)


def x64(shape, device):
    return tc.randn(*shape, dtype="float64", device=device, requires_grad=True)


@pytest.mark.parametrize("make,fan_in", [
    (lambda: nn.Linear(20, 7), 20),
    (lambda: nn.Conv2d(6, 5, 3), 6 * 9),
    (lambda: nn.Conv2d(6, 5, (1, 2)), 6 * 2),
    (lambda: nn.DepthwiseConv2d(8, 3), 9),
])
def test_pytorch_default_initialization(make, fan_in):
    """kaiming_uniform(a=√5) weights and biases: Uniform(±1/√fan_in), float32."""
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    for p in (layer.weight, layer.bias):
        values = p.numpy()
        assert p.dtype == tc.float32 and np.abs(values).max() <= bound
    w = layer.weight.numpy()
    assert w.max() > 0.5 * bound and w.min() < -0.5 * bound and abs(w.mean()) < 0.3 * bound  # spread, centred


def test_initialization_is_reproducible_and_dtype_independent():
    tc.manual_seed(5)
    a = nn.Conv2d(3, 4, 3).state_dict()
    tc.manual_seed(5)
    b = nn.Conv2d(3, 4, 3).state_dict()
    tc.manual_seed(5)
    c = nn.Conv2d(3, 4, 3, dtype="float64").state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        np.testing.assert_array_equal(a[k], c[k].astype(np.float32))
    d = nn.Conv2d(3, 4, 3).state_dict()  # the generator moved on
    assert not np.array_equal(a["weight"], d["weight"])


def test_norm_initialization_and_bias_flags():
    bn, ln = nn.BatchNorm2d(3), nn.LayerNorm(4)
    assert bn.weight.tolist() == [1, 1, 1] and bn.bias.tolist() == [0, 0, 0]
    assert bn.running_mean.tolist() == [0, 0, 0] and bn.running_var.tolist() == [1, 1, 1]
    assert ln.weight.tolist() == [1] * 4 and ln.bias.tolist() == [0] * 4
    assert nn.Conv2d(2, 2, 1, bias=False).bias is None and nn.Linear(2, 2, bias=False).bias is None
    assert [n for n, _ in nn.Conv2d(2, 2, 1, bias=False).named_parameters()] == ["weight"]


def test_layers_take_pytorchs_positional_arguments_or_refuse_them():
    """Conv2d(in, out, k, stride, padding, dilation, groups, bias): PyTorch's dilation lands where it
    should, and groups too, not as a plain one with a 'bias' of 2; device and
    dtype are keywords everywhere (PyTorch's order differs: a positional one would land in the other)."""
    assert nn.Conv2d(2, 4, 3, 1, 1, 1, 1, False).bias is None                  # bias in PyTorch's place
    assert nn.Conv2d(3, 8, 3, 1, 2, 2).dilation == (2, 2)
    assert nn.Conv2d(3, 6, 3, 1, 1, 1, 3).weight.shape == (6, 1, 3, 3)        # groups in PyTorch's place
    assert nn.BatchNorm2d(2, 1e-5, 0.1, False).weight is None                   # affine in PyTorch's place
    for build in (lambda: nn.Linear(2, 2, True, "cpu"), lambda: nn.BatchNorm2d(2, 1e-5, 0.1, True, True, "cpu"),
                  lambda: nn.LayerNorm(2, 1e-5, True, False),
                  lambda: nn.Conv2d(2, 2, 1, 1, 0, 1, 1, True, "zeros", "cpu")):
        with pytest.raises(TypeError, match="positional argument"):
            build()
    with pytest.raises(ValueError, match="padding_mode must be one of .* got 'cpu'"):   # PyTorch's 9th: padding_mode
        nn.Conv2d(2, 2, 1, 1, 0, 1, 1, True, "cpu")


@given(data=st.data())
def test_linear_matches_numpy(data, device):
    lead = data.draw(st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple))
    fin, fout = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    layer = nn.Linear(fin, fout, dtype="float64").to(device)
    x = data.draw(arrays(lead + (fin,)))
    y = layer(tc.tensor(x, device=device))
    np.testing.assert_allclose(y.numpy(), x @ layer.weight.numpy().T + layer.bias.numpy(), rtol=1e-12, atol=1e-14)


def test_linear_gradcheck(device):
    layer = nn.Linear(3, 2, dtype="float64").to(device)
    assert layer_gradcheck(layer, x64((2, 2, 3), device))


def test_conv_layers_gradcheck(device):
    assert layer_gradcheck(nn.Conv2d(2, 3, 3, stride=2, padding=1, dtype="float64").to(device), x64((2, 2, 3, 4), device))
    assert layer_gradcheck(nn.Conv2d(2, 3, 1, dtype="float64").to(device), x64((1, 2, 2, 3), device))
    assert layer_gradcheck(nn.DepthwiseConv2d(3, 3, padding=1, dtype="float64").to(device), x64((2, 3, 3, 2), device))


def test_norm_layers_gradcheck(device):
    bn = nn.BatchNorm2d(3).double().to(device)
    x = x64((2, 3, 2, 3), device)
    assert layer_gradcheck(bn, x)
    bn.eval()
    assert layer_gradcheck(bn, x)
    assert layer_gradcheck(nn.LayerNorm((2, 3)).double().to(device), x64((2, 2, 3), device))


def test_batchnorm_layer_running_stats_and_modes(device):
    bn = nn.BatchNorm2d(2, momentum=0.5).to(device)
    x = tc.randn(4, 2, 3, 3, device=device)
    y_train = bn(x)
    xn = x.numpy()
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.5 * xn.mean(axis=(0, 2, 3)), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.5 + 0.5 * xn.var(axis=(0, 2, 3), ddof=1), rtol=1e-5)
    assert int(bn.num_batches_tracked.item()) == 1
    bn.eval()
    y_eval = bn(x)
    expected = (xn - bn.running_mean.numpy().reshape(1, 2, 1, 1)) / np.sqrt(bn.running_var.numpy().reshape(1, 2, 1, 1) + 1e-5)
    np.testing.assert_allclose(y_eval.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(y_train.numpy(), y_eval.numpy())
    assert int(bn.num_batches_tracked.item()) == 1


@given(batches=st.integers(1, 4), rows=st.integers(2, 5))
def test_batchnorm_momentum_none_keeps_the_plain_average_of_every_batch(batches, rows, device):
    """momentum=None (as PyTorch's): after n batches the running mean is the mean of the n batch
    means, the running variance the mean of their unbiased variances, not an exponential average."""
    data = np.random.default_rng(batches * 10 + rows).standard_normal((batches, rows, 3))
    bn = nn.BatchNorm1d(3, momentum=None).double().to(device)
    assert "momentum=None" in repr(bn)
    for x in data:
        bn(tc.tensor(x, device=device))
    np.testing.assert_allclose(bn.running_mean.numpy(), data.mean(axis=1).mean(axis=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(bn.running_var.numpy(), data.var(axis=1, ddof=1).mean(axis=0), rtol=1e-12)
    assert int(bn.num_batches_tracked.item()) == batches


def test_simple_layers(device):
    x = tc.randn(2, 3, 4, 4, device=device)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 2, 2) and nn.AvgPool2d(3, 1, 1)(x).shape == (2, 3, 4, 4)
    assert nn.GlobalAvgPool2d()(x).shape == (2, 3) and nn.GlobalAvgPool2d(keepdims=True)(x).shape == (2, 3, 1, 1)
    assert nn.Identity()(x) is x
    np.testing.assert_allclose(nn.GELU()(x).numpy(), tc.nn.functional.gelu(x).numpy())
    np.testing.assert_allclose(nn.SiLU()(x).numpy(), (x * x.sigmoid()).numpy(), rtol=1e-6)
    drop = nn.DropPath(0.5)
    assert drop.eval()(x) is x and nn.Dropout(0.5).eval()(x) is x
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')" and repr(nn.MaxPool2d(2)) == "MaxPool2d(k=2, s=2)"


@pytest.mark.parametrize("layer,shape,message", [
    (nn.Conv2d(3, 16, 3), (2, 4, 8, 8),
     r"^Conv2d\(3→16, k=3\): expected input \(N, 3, H, W\) or \(3, H, W\), got \(2, 4, 8, 8\)$"),
    (nn.Conv2d(3, 16, 3, stride=2), (4, 8, 8),
     r"^Conv2d\(3→16, k=3, s=2\): expected input \(N, 3, H, W\) or \(3, H, W\), got \(4, 8, 8\)"),
    (nn.Conv2d(3, 16, 3), (8, 8),
     r"^Conv2d\(3→16, k=3\): expected input \(N, 3, H, W\) or \(3, H, W\), got \(8, 8\)$"),
    (nn.Conv2d(3, 16, 3), (1, 3, 2, 5), r"^Conv2d\(3→16, k=3\): input \(1, 3, 2, 5\) is too small"),
    (nn.DepthwiseConv2d(8, 3, padding=1), (2, 4, 8, 8),
     r"^DepthwiseConv2d\(8, k=3, p=1\): expected input \(N, 8, H, W\) or \(8, H, W\)"),
    (nn.Linear(16, 10), (2, 15), r"^Linear\(16→10\): expected input \(\.\.\., 16\), got \(2, 15\)"),
    (nn.BatchNorm2d(16), (2, 8, 4, 4), r"^BatchNorm2d\(16\): expected input \(N, 16, H, W\), got \(2, 8, 4, 4\)"),
    (nn.BatchNorm2d(4), (1, 4, 1, 1), r"^batch_norm: expected more than 1 value per channel when training, got input \(1, 4, 1, 1\)"),
    (nn.LayerNorm(8), (2, 4, 7), r"^LayerNorm\(8\): expected input \(\.\.\., 8\), got \(2, 4, 7\)"),
    (nn.BatchNorm1d(3), (2, 3, 4, 4), r"^BatchNorm1d\(3\): expected input \(N, 3\) or \(N, 3, L\), got \(2, 3, 4, 4\)"),
    (nn.BatchNorm1d(3), (1, 3), r"^batch_norm: expected more than 1 value per channel when training, got input \(1, 3\)"),
    (nn.GroupNorm(2, 4), (2, 6, 3), r"^GroupNorm\(2, 4\): expected input \(N, 4, \.\.\.\), got \(2, 6, 3\)"),
    (nn.MaxPool2d(2), (2, 3, 1, 4), r"^MaxPool2d\(k=2, s=2\): input \(2, 3, 1, 4\) is smaller than the kernel "
                                     r"\(2, 2\) \(with padding \(0, 0\)\): expected \(N, C, H, W\) or \(C, H, W\) "
                                     r"with H, W >= 2, 2"),
    (nn.MaxPool2d(2), (2, 3, 4, 4, 1), r"^MaxPool2d\(k=2, s=2\): expected input \(N, C, H, W\) or \(C, H, W\)"),
    (nn.GlobalAvgPool2d(), (2, 3), r"^GlobalAvgPool2d: expected input \(N, C, H, W\) or \(C, H, W\), got \(2, 3\)"),
])
def test_shape_errors_name_the_layer_and_the_expected_shape(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer(tc.zeros(*shape))


@pytest.mark.parametrize("layer,shape,name", [
    (nn.Conv2d(3, 4, 3), (1, 3, 5, 5), r"Conv2d\(3→4, k=3\)"),
    (nn.DepthwiseConv2d(3, 3, padding=1), (1, 3, 1, 7), r"DepthwiseConv2d\(3, k=3, p=1\)"),
    (nn.Linear(3, 2), (2, 3), "linear"),
])
@pytest.mark.parametrize("dtype", ["uint8", "int64", "bool"])
def test_integer_inputs_are_refused_naming_the_dtype(layer, shape, name, dtype):
    """As PyTorch's layers do: NumPy would compute uint8 images with float weights, unnormalized."""
    x = tc.tensor(np.ones(shape, dtype=dtype))
    with pytest.raises(TypeError, match=f"^{name}: expected a floating-point input \\(float32\\), got {dtype}"):
        layer(x)
    assert layer(x.float()).dtype == tc.float32


@pytest.mark.parametrize("make,error,message", [
    (lambda: nn.Conv2d(3, 8, 0), ValueError, "Conv2d: kernel_size must be a positive int or a pair of them, got 0"),
    (lambda: nn.Conv2d(3, 8, (3, 3, 3)), ValueError,
     "Conv2d: kernel_size must be a positive int or a pair of them, got (3, 3, 3)"),
    (lambda: nn.Conv2d(3, 8, 2.5), TypeError, "Conv2d: kernel_size must be a positive int or a pair of them, got 2.5"),
    (lambda: nn.Conv2d(0, 8, 3), ValueError, "Conv2d: in_channels must be a positive int, got 0"),
    (lambda: nn.Conv2d(3, -8, 3), ValueError, "Conv2d: out_channels must be a positive int, got -8"),
    (lambda: nn.Conv2d(3, 8, 3, stride=0), ValueError,
     "Conv2d: stride must be a positive int or a pair of them, got 0"),
    (lambda: nn.Conv2d(3, 8, 3, padding="SAME"), ValueError,
     "Conv2d: padding must be an int, a pair, 'same' or 'valid', got 'SAME'"),
    (lambda: nn.Conv2d(3, 8, 3, padding=1.5), TypeError,
     "Conv2d: padding must be a non-negative int or a pair of them, got 1.5"),
    (lambda: nn.Conv2d(3, 8, 3, padding=(1, -1)), ValueError,
     "Conv2d: padding must be a non-negative int or a pair of them, got (1, -1)"),
    (lambda: nn.DepthwiseConv2d(0, 3), ValueError, "DepthwiseConv2d: channels must be a positive int, got 0"),
    (lambda: nn.DepthwiseConv2d(8, 3, stride=(1, 0)), ValueError,
     "DepthwiseConv2d: stride must be a positive int or a pair of them, got (1, 0)"),
    (lambda: nn.Linear(0, 2), ValueError, "Linear: in_features must be a positive int, got 0"),
    (lambda: nn.Linear(4, -2), ValueError, "Linear: out_features must be a positive int, got -2"),
    (lambda: nn.BatchNorm2d(2, eps=-1), ValueError, "BatchNorm2d: eps must be a finite number > 0, got -1"),
    (lambda: nn.BatchNorm2d(2, eps=0), ValueError, "BatchNorm2d: eps must be a finite number > 0, got 0"),
    (lambda: nn.BatchNorm2d(2, momentum=2.0), ValueError,
     "BatchNorm2d: momentum must be a finite number in [0, 1], got 2.0"),
    (lambda: nn.BatchNorm2d(0), ValueError, "BatchNorm2d: num_features must be a positive int, got 0"),
    (lambda: nn.GroupNorm(4, 6), ValueError, "GroupNorm: num_channels (6) must be divisible by num_groups (4)"),
    (lambda: nn.LayerNorm(8, eps=float("nan")), ValueError, "LayerNorm: eps must be a finite number > 0, got nan"),
    (lambda: nn.LayerNorm((4, 0)), ValueError, "LayerNorm: normalized_shape[1] must be a positive int, got 0"),
    (lambda: nn.MaxPool2d(0), ValueError, "MaxPool2d: kernel_size must be a positive int or a pair of them, got 0"),
    (lambda: nn.AvgPool2d(2, stride=0), ValueError,
     "AvgPool2d: stride must be a positive int or a pair of them, got 0"),
    (lambda: nn.MaxPool2d(2, padding=2), ValueError, "MaxPool2d: padding must be at most half the kernel_size "
                                                     "(2, 2) (PyTorch's rule: more would let a window hold nothing "
                                                     "but padding), got 2"),
    (lambda: nn.Dropout(1.5), ValueError, "Dropout: p must be a finite number in [0, 1], got 1.5"),
    (lambda: nn.DropPath("0.1"), TypeError, "DropPath: p must be a finite number in [0, 1], got '0.1'"),
])
def test_bad_constructor_arguments_are_refused_at_once(make, error, message):
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        make()


def test_constructor_arguments_accept_ints_and_pairs():
    conv = nn.Conv2d(np.int64(3), 8, [3, 1], stride=(2, 1), padding=(1, 0))
    assert conv.kernel_size == (3, 1) and conv.stride == (2, 1) and conv.padding == (1, 0)
    assert conv(tc.zeros(1, 3, 6, 5)).shape == (1, 8, 3, 5)
    assert nn.LayerNorm([2, 3]).normalized_shape == (2, 3) and nn.BatchNorm2d(2, momentum=0.0).momentum == 0.0


def test_batchnorm_without_affine_or_running_statistics_as_pytorch():
    x = tc.randn(4, 3, 2, 2, dtype="float64")
    plain = nn.BatchNorm2d(3, affine=False, dtype="float64")
    assert plain.weight is None and plain.bias is None and len(list(plain.parameters())) == 0
    assert sorted(plain.state_dict()) == ["num_batches_tracked", "running_mean", "running_var"]
    mean = x.numpy().mean(axis=(0, 2, 3), keepdims=True)
    expected = (x.numpy() - mean) / np.sqrt(x.numpy().var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(plain(x).numpy(), expected, rtol=1e-10)
    untracked = nn.BatchNorm2d(3, track_running_stats=False, dtype="float64")
    assert untracked.running_mean is None and sorted(untracked.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(untracked.eval()(x).numpy(), expected, rtol=1e-10)      # the batch's own, in eval too
    assert "affine=False" in repr(plain) and "track_running_stats=False" in repr(untracked)
    xt = tc.tensor(x.numpy(), requires_grad=True)
    assert tc.gradcheck(lambda t: nn.BatchNorm2d(3, affine=False, track_running_stats=False, dtype="float64")(t), xt)


@given(data=st.data())
def test_embedding_looks_up_rows_and_adds_the_gradients_of_repeated_indices(data):
    n, dim = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 4))
    shape = data.draw(st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple))
    index = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=int(np.prod(shape)),
                                        max_size=int(np.prod(shape)))), dtype=np.int64).reshape(shape)
    table = nn.Embedding(n, dim, dtype="float64")
    out = table(tc.tensor(index))
    np.testing.assert_array_equal(out.numpy(), table.weight.numpy()[index])
    upstream = np.random.default_rng(0).standard_normal(out.shape)
    (out * tc.tensor(upstream)).sum().backward()
    one_hot = np.eye(n)[index].reshape(-1, n)                   # W̄ = one_hot(idx)ᵀ · ȳ
    np.testing.assert_allclose(table.weight.grad.numpy(), one_hot.T @ upstream.reshape(-1, dim), atol=1e-12)
    assert tc.gradcheck(lambda w: w[tc.tensor(index)], tc.tensor(table.weight.numpy(), requires_grad=True))


@given(n=st.integers(1, 5), data=st.data(), index=st.lists(st.integers(0, 4), min_size=1, max_size=6))
def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient(n, data, index):
    padding_idx = data.draw(st.integers(-n, n - 1))
    index = tc.tensor(np.array(index) % n)
    table = nn.Embedding(n, 3, padding_idx=padding_idx, dtype="float64")
    pad = padding_idx % n
    assert table.padding_idx == pad and not table.weight.numpy()[pad].any()
    with tc.no_grad():
        table.weight[pad] = 2.5                                      # read as set, as PyTorch's
    out = table(index)
    np.testing.assert_array_equal(out.numpy(), table.weight.numpy()[index.numpy()])
    (out * out).sum().backward()                                     # W̄[i] = Σ 2 W[i] over the reads of row i
    reads = np.bincount(index.numpy(), minlength=n)[:, None] * 2 * table.weight.numpy()
    reads[pad] = 0
    np.testing.assert_allclose(table.weight.grad.numpy(), reads, rtol=1e-12)


def test_embedding_refuses_floats_and_indices_out_of_range():
    table = nn.Embedding(4, 2)
    assert repr(table) == "Embedding(4, 2)" and table.weight.shape == (4, 2)
    with pytest.raises(TypeError, match="integer indices"):
        table(tc.tensor([0.0, 1.0]))
    assert repr(nn.Embedding(4, 2, padding_idx=-1)) == "Embedding(4, 2, padding_idx=3)"
    assert nn.Embedding(4, 2, padding_idx=np.int64(1)).padding_idx == 1
    with pytest.raises(ValueError, match=r"padding_idx must be an index into the 4 rows .* got 4"):
        nn.Embedding(4, 2, padding_idx=4)
    with pytest.raises(IndexError, match=r"\[0, 4\), got values in \[-1, 4\]"):
        table(tc.tensor([-1, 4]))


@given(shape=st.sampled_from([(4, 3), (2, 3, 5), (1, 3, 2)]))
def test_batch_norm_1d_normalizes_features_and_sequences_per_channel(shape, device):
    x = np.random.default_rng(1).standard_normal(shape)
    bn = nn.BatchNorm1d(3, momentum=0.5).double().to(device)
    y = bn(tc.tensor(x, device=device))
    axes = (0,) if len(shape) == 2 else (0, 2)
    want = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-9, atol=1e-9)
    m = x.size // 3
    np.testing.assert_allclose(bn.running_var.numpy(), 0.5 + 0.5 * x.var(axes) * m / (m - 1), rtol=1e-12)
    bn.eval()
    np.testing.assert_allclose(bn(tc.tensor(x, device=device)).numpy(),
                               (x - bn.running_mean.numpy().reshape((1, 3) + (1,) * (len(shape) - 2)))
                               / np.sqrt(bn.running_var.numpy().reshape((1, 3) + (1,) * (len(shape) - 2)) + 1e-5),
                               rtol=1e-9, atol=1e-12)
    assert layer_gradcheck(nn.BatchNorm1d(3).double().to(device), x64(shape, device))


def test_group_norm_layer_is_the_function_with_its_parameters(device):
    gn = nn.GroupNorm(2, 4).double().to(device)
    with tc.no_grad():
        gn.weight.copy_(tc.tensor([1.0, 2.0, 3.0, 4.0]))
    x = tc.randn(2, 4, 3, dtype="float64", device=device)
    np.testing.assert_array_equal(gn(x).numpy(), F.group_norm(x, 2, gn.weight, gn.bias).numpy())
    gn.eval()                                                          # (no batch statistics: the same in eval)
    np.testing.assert_array_equal(gn(x).numpy(), F.group_norm(x, 2, gn.weight, gn.bias).numpy())
    assert repr(nn.GroupNorm(2, 4, affine=False)) == "GroupNorm(2, 4, eps=1e-05, affine=False)"
    assert [n for n, _ in gn.named_parameters()] == ["weight", "bias"]
    assert layer_gradcheck(gn, x64((1, 4, 2, 2), device))
