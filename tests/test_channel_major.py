"""Channel-major activations: the same numbers, the same gradients, the layout kept.

conv2d's column path returns its (N, C, H, W) result laid out (C, N, H, W) in memory, and
on the CPU the MBConv ops keep that layout (1×1 convolutions as one matrix product on the
(C, N·H·W) columns, BatchNorm on blocks of whole channels; layout.py, lesson 11). Layout is never
part of the math: each op here runs on a contiguous input and on the same values laid out
channel-major, with a channel-major upstream gradient, and must agree to float64 round-off
— in many small blocks (so the block code is exercised) — and return a channel-major output.
"""
import contextlib

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
import tinycoat.blockwise as blockwise
import tinycoat.nn.functional as F
from tinycoat.nn.functional.normalization import BatchNorm
from strategies import arrays, positive


def channel_major_copy(a):
    """The values of a (N, C, H, W), laid out (C, N, H, W) in memory."""
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)


@contextlib.contextmanager
def small_blocks(size=64):
    """Many blocks, of channels or of samples, so that the code that cuts them runs."""
    old, blockwise.BLOCK_BYTES = blockwise.BLOCK_BYTES, size
    try:
        yield
    finally:
        blockwise.BLOCK_BYTES = old


def laid_out_channel_major(a):
    return a.transpose(1, 0, 2, 3).flags.c_contiguous


OPS = ["conv1x1", "batch_norm", "batch_norm_eval", "gelu", "depthwise", "max_pool", "scale_channels"]


@st.composite
def cases(draw):
    op = draw(st.sampled_from(OPS))
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    even = op == "max_pool"
    h, w = (draw(st.integers(1, 3)) * (2 if even else 1) for _ in range(2))
    if op == "batch_norm" and n * h * w < 2:
        n = 2
    x = draw(arrays((n, c, h, w)))
    params = {"w": draw(arrays((c,))), "b": draw(arrays((c,))), "rm": draw(arrays((c,))),
              "rv": draw(positive((c,))), "w1": draw(arrays((draw(st.integers(1, 3)), c, 1, 1))),
              "wd": draw(arrays((c, 1, 3, 3))), "stride": draw(st.sampled_from([1, 2])),
              "s": draw(arrays((n, c, 1, 1)))}
    params["o"] = params["w1"].shape[0]
    return op, x, params


def run(op, x, p, upstream):
    """Forward, then backward from ``upstream``: (output, gradients of x and the parameters)."""
    xt = tc.tensor(x, requires_grad=True)
    names = {"conv1x1": ["w1"], "batch_norm": ["w", "b"], "batch_norm_eval": ["w", "b"], "gelu": [],
             "depthwise": ["wd"], "max_pool": [], "scale_channels": ["s"]}[op]
    t = {k: tc.tensor(p[k], requires_grad=True) for k in names}
    if op == "conv1x1":
        y = F.conv2d(xt, t["w1"])
    elif op == "batch_norm":
        y = F.batch_norm(xt, None, None, t["w"], t["b"], training=True)
    elif op == "batch_norm_eval":
        y = F.batch_norm(xt, tc.tensor(p["rm"]), tc.tensor(p["rv"]), t["w"], t["b"], training=False)
    elif op == "gelu":
        y = F.gelu(xt)
    elif op == "depthwise":
        y = F.depthwise_conv2d(xt, t["wd"], stride=p["stride"], padding=1)
    elif op == "max_pool":
        y = F.max_pool2d(xt, 2)
    else:
        y = F.scale_channels(xt, t["s"])
    y.backward(tc.tensor(upstream(y.shape)))
    return y.numpy(), [xt.grad.numpy()] + [t[k].grad.numpy() for k in names]


@given(case=cases(), seed=st.integers(0, 2**16))
def test_channel_major_inputs_give_the_same_numbers_and_keep_their_layout(case, seed):
    op, x, p = case
    with small_blocks():
        y_ref, grads_ref = run(op, x, p, lambda shape: np.random.default_rng(seed).standard_normal(shape))
        y_cm, grads_cm = run(op, channel_major_copy(x), p,
                             lambda shape: channel_major_copy(np.random.default_rng(seed).standard_normal(shape)))
    np.testing.assert_allclose(y_cm, y_ref, rtol=1e-10, atol=1e-12)
    for got, want in zip(grads_cm, grads_ref):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
    assert laid_out_channel_major(y_cm), f"{op} returned a {y_cm.strides} layout for a channel-major input"
    assert laid_out_channel_major(grads_cm[0]), f"{op}'s input gradient lost the channel-major layout"


def test_batch_norm_takes_the_one_visit_path_for_channel_major_arrays_and_gradchecks(monkeypatch):
    calls = []
    original = BatchNorm._backward_channel_major
    monkeypatch.setattr(BatchNorm, "_backward_channel_major", lambda self, g: calls.append(1) or original(self, g))
    monkeypatch.setattr(blockwise, "BLOCK_BYTES", 64)          # many blocks of channels
    rng = np.random.default_rng(0)
    x = tc.tensor(rng.standard_normal((4, 3, 5, 2)) * 3 + 1, requires_grad=True)
    w, b = (tc.tensor(rng.standard_normal(3), requires_grad=True) for _ in range(2))
    weights = tc.tensor(channel_major_copy(rng.standard_normal((4, 3, 5, 2))))

    def loss(x, w, b):   # x enters channel-major; the weighting makes the upstream gradient channel-major too
        x_cm = x.permute(1, 0, 2, 3).contiguous().permute(1, 0, 2, 3)
        return F.batch_norm(x_cm, None, None, w, b, training=True) * weights
    assert tc.gradcheck(loss, x, w, b)
    out = loss(x, w, b)
    out.sum().backward()
    assert calls, "the channel-major backward was never used"


def test_a_channel_major_batch_of_one_is_also_plain_and_takes_either_path():
    x = np.random.default_rng(1).standard_normal((1, 3, 2, 2))
    cm = channel_major_copy(x)
    assert cm.flags.c_contiguous and laid_out_channel_major(cm)      # both at once: nothing to choose
    y = F.batch_norm(tc.tensor(cm), None, None, tc.ones(3, dtype=tc.float64), tc.zeros(3, dtype=tc.float64),
                     training=True).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)


@pytest.mark.parametrize("model", ["coatnet_cifar_nano"])
def test_mbconv_stages_run_channel_major_from_the_stem_on(model):
    """The layout reaches the MBConv ops: the stem's conv returns it and the blocks keep it."""
    from tinycoat.models import create_model
    from tinycoat.autograd import instrumented
    seen = []

    def wrap(cls, name, original):
        def f(self, *args, **kwargs):
            if cls.__name__ == "BatchNorm" and name == "forward":
                seen.append(laid_out_channel_major(args[0]))
            return original(self, *args, **kwargs)
        return f
    net = create_model(model, num_classes=3, image_size=16)
    with instrumented(wrap):
        net(tc.randn(4, 3, 16, 16))
    assert seen and all(seen), f"BatchNorm inputs channel-major: {seen}"
