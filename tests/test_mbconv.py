"""MBConv and squeeze-excitation: the spec's structure, output shapes, float64 gradient checks."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
import tinycoat.nn.functional as F
from tinycoat import nn
from strategies import arrays


def block_gradcheck(block, x):
    params = list(block.parameters())
    return tc.gradcheck(lambda inp, *_: block(inp), x, *params)


@pytest.mark.parametrize("cin,cout,stride,stride_at,shortcut", [
    (4, 4, 1, "depthwise", ["Identity"]),
    (4, 8, 1, "depthwise", ["Conv2d"]),                    # only channels change: Proj(x)
    (4, 8, 2, "depthwise", ["MaxPool2d", "Conv2d"]),       # downsampling: Proj(Pool(x))
    (4, 8, 2, "expand", ["MaxPool2d", "Conv2d"]),
    (4, 4, 2, "depthwise", ["MaxPool2d"]),                 # same channels: Pool(x) only
])
def test_output_shapes_and_shortcuts(cin, cout, stride, stride_at, shortcut, device):
    block = nn.MBConv(cin, cout, stride=stride, stride_at=stride_at).to(device)
    y = block(tc.randn(2, cin, 6, 4, device=device))
    assert y.shape == (2, cout, 6 // stride, 4 // stride) and y.dtype == tc.float32
    found = [type(m).__name__ for m in block.shortcut] if isinstance(block.shortcut, nn.Sequential) \
        else [type(block.shortcut).__name__]
    assert found == shortcut
    assert block.expand.stride == ((stride, stride) if stride_at == "expand" else (1, 1))
    assert block.depthwise.stride == ((stride, stride) if stride_at == "depthwise" else (1, 1))


def test_structure_follows_the_spec():
    block = nn.MBConv(8, 16, stride=2)
    hidden = 16 * 4                                           # expansion on the *output* channels
    assert block.norm.num_features == 8                       # pre-norm on the input
    assert (block.expand.in_channels, block.expand.out_channels, block.expand.kernel_size) == (8, hidden, (1, 1))
    assert block.depthwise.channels == hidden and block.depthwise.kernel_size == (3, 3)
    assert block.depthwise.padding == (1, 1)
    assert block.se.reduce.out_channels == 4 and block.se.expand.out_channels == hidden   # 0.25 · C_out
    assert (block.project.in_channels, block.project.out_channels) == (hidden, 16)
    # a conv directly followed by BatchNorm has no bias; every other conv has one
    assert block.expand.bias is None and block.depthwise.bias is None
    assert all(c.bias is not None for c in (block.project, block.se.reduce, block.se.expand, block.shortcut[1]))
    assert nn.MBConv(2, 2).se.reduce.out_channels == 1        # rounded, at least 1
    n_params = sum(p.numel() for p in block.parameters())
    expected = (2 * 8 + 8 * hidden + 2 * hidden + 9 * hidden + 2 * hidden + (hidden * 4 + 4) + (4 * hidden + hidden)
                + (hidden * 16 + 16) + (8 * 16 + 16))
    assert n_params == expected


def test_mbconv_is_a_residual_block():
    """With the branch's last conv zeroed, the block is its shortcut."""
    block = nn.MBConv(3, 3)
    block.project.weight.data[...] = 0
    block.project.bias.data[...] = 0
    x = tc.randn(2, 3, 4, 4)
    np.testing.assert_array_equal(block(x).numpy(), x.numpy())


@pytest.mark.parametrize("cin,cout,stride,stride_at", [(2, 2, 1, "depthwise"), (2, 3, 2, "depthwise"),
                                                       (1, 2, 2, "expand")])
def test_mbconv_gradcheck_float64(cin, cout, stride, stride_at, device):
    tc.manual_seed(0)
    block = nn.MBConv(cin, cout, stride=stride, stride_at=stride_at).double().to(device)  # train-mode BN
    x = tc.randn(2, cin, 4, 2, dtype="float64", device=device, requires_grad=True)
    assert block_gradcheck(block, x)


def test_squeeze_excite_gradcheck_and_gate(device):
    se = nn.SqueezeExcite(4, 2).double().to(device)
    x = tc.randn(2, 4, 3, 2, dtype="float64", device=device, requires_grad=True)
    assert block_gradcheck(se, x)
    ratio = se(x).numpy() / x.numpy()                         # one gate per (sample, channel) in (0, 1)
    assert np.allclose(ratio, ratio[:, :, :1, :1]) and ((ratio > 0) & (ratio < 1)).all()


@given(x=arrays(st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4))),
       data=st.data())
def test_scale_channels_is_x_times_s_and_gradchecks(x, data, device):
    """squeeze-excitation's gate, one factor per (sample, channel): x ⊙ s, and its backward."""
    s = data.draw(arrays((x.shape[0], x.shape[1], 1, 1)))
    xt, st_ = (tc.tensor(a, requires_grad=True, device=device) for a in (x, s))
    np.testing.assert_array_equal(F.scale_channels(xt, st_).numpy(), x * s)
    assert tc.gradcheck(F.scale_channels, xt, st_)


def test_scale_channels_names_the_expected_shapes():
    with pytest.raises(ValueError, match=r"expected x \(N, C, H, W\) and s \(N, C, 1, 1\), got \(2, 3, 4, 4\) "
                                         r"and \(1, 3, 1, 1\)"):
        F.scale_channels(tc.zeros(2, 3, 4, 4), tc.zeros(1, 3, 1, 1))


def test_drop_path_in_training_only():
    block = nn.MBConv(3, 3, drop_path=1.0)
    x = tc.randn(2, 3, 4, 4)
    np.testing.assert_array_equal(block(x).numpy(), x.numpy())   # the branch is always dropped
    assert not np.array_equal(block.eval()(x).numpy(), x.numpy())


@pytest.mark.parametrize("block,shape,message", [
    (nn.MBConv(4, 8), (2, 3, 8, 8), r"^MBConv\(4→8\): expected input \(N, 4, H, W\), got \(2, 3, 8, 8\)$"),
    (nn.MBConv(4, 8), (4, 8, 8), r"^MBConv\(4→8\): expected input \(N, 4, H, W\), got \(4, 8, 8\)$"),
    (nn.MBConv(4, 8, stride=2), (2, 4, 7, 8), r"^MBConv\(4→8, stride=2\): expected input \(N, 4, H, W\) with H and W even"),
    (nn.SqueezeExcite(8, 2), (2, 4, 3, 3), r"^SqueezeExcite\(8\): expected input \(N, 8, H, W\), got \(2, 4, 3, 3\)"),
])
def test_shape_errors(block, shape, message):
    with pytest.raises(ValueError, match=message):
        block(tc.zeros(*shape))


def test_bad_arguments():
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        nn.MBConv(4, 4, stride=3)
    with pytest.raises(ValueError, match="stride_at"):
        nn.MBConv(4, 4, stride_at="project")
    with pytest.raises(ValueError, match=r"^MBConv: expand_ratio must be a positive int, got 0$"):
        nn.MBConv(8, 16, expand_ratio=0)
    with pytest.raises(TypeError, match=r"^MBConv: expand_ratio must be a positive int, got 2\.5$"):
        nn.MBConv(8, 16, expand_ratio=2.5)
    with pytest.raises(ValueError, match=r"^MBConv: se_ratio must be a finite number >= 0, got -1$"):
        nn.MBConv(8, 16, se_ratio=-1)
    with pytest.raises(ValueError, match=r"^MBConv: in_channels must be a positive int, got 0$"):
        nn.MBConv(0, 16)
    with pytest.raises(ValueError, match=r"^MBConv: out_channels must be a positive int, got -16$"):
        nn.MBConv(8, -16)
    with pytest.raises(ValueError, match=r"^SqueezeExcite: squeeze_channels must be a positive int, got 0$"):
        nn.SqueezeExcite(8, 0)
    with pytest.raises(ValueError, match=r"^SqueezeExcite: channels must be a positive int, got 0$"):
        nn.SqueezeExcite(0, 2)


def test_se_ratio_zero_keeps_the_smallest_squeeze_excitation():
    # The bottleneck is max(1, round(se_ratio · C_out)) channels: 0 gives one channel, not "no SE".
    assert nn.MBConv(8, 16, se_ratio=0).se.reduce.out_channels == 1
