"""The proof of the fast wing: every twin equals its reference.

tinycoat.fast registers, for reference ops (the code the lessons cite), twins with the same
contract (tinycoat/twins.py). Here every registered twin meets its reference on the same
Hypothesis-drawn inputs — batch 1, 1-pixel maps, odd and even sizes, non-square kernels, every
stride and padding the op accepts, broadcasting — in float32 and float64, in plain and
channel-major memory layouts (the layout the wing itself produces), cut into many small
blocks or a few, on one to three threads, and must give

* the same forward values, with a graph recorded and without (under no_grad several twins
  take another path), and the same updated state (BatchNorm's running statistics);
* the same gradient for every input that asks for one — a random subset of them, so the
  twins' "only what is needed" branches run — from a random upstream gradient;
* and it must really have been the twin that ran, and (CPU) a channel-major input keeps its
  layout through the twins that promise it.

The CUDA twins meet the same references on a GPU (skipped, with the reason, elsewhere).
``test_a_planted_error_is_caught`` shows the comparison fails for a twin off by 1e-6.
"""
import contextlib
import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinycoat as tc
import tinycoat.nn.functional as F
from tinycoat import backend, twins
from tinycoat.autograd import Function, accumulate, instrumented
from tinycoat.fast import blocks, layout
from tinycoat.nn.functional.activations import GELU, SiLU
from tinycoat.nn.functional.channel_scale import ScaleChannels
from tinycoat.nn.functional.conv import Conv2d
from tinycoat.nn.functional.depthwise import DepthwiseConv2d
from tinycoat.nn.functional.normalization import BatchNorm, BatchNormEval, LayerNorm
from tinycoat.nn.functional.pooling import MaxPool2d
from tinycoat.nn.functional.softmax import Softmax
from tinycoat.ops.arithmetic import Add, MatMul, Mul
from tinycoat.ops.reduction import Mean
from tinycoat.amp import matrix_product
from tinycoat.optim.adamw import adamw_update_each
from tinycoat.optim.clip import clip_gradients_
from conftest import GPU_SKIP_REASON
from strategies import arrays, positive


@dataclasses.dataclass
class Case:
    """op(*tensors) -> Tensor, or (Tensor, [state tensors to compare]); the float64 inputs."""
    op: object
    inputs: list


def side(lo=1, hi=4):
    return st.integers(lo, hi)


# ------------------------------------------------------------------------ the cases, per op

@st.composite
def binary_case(draw, fn):
    """x (up to 4-D) with an operand as big, broadcast like a bias or a mask, or a number; either order."""
    shape = draw(st.lists(side(), min_size=0, max_size=4).map(tuple))
    other = draw(st.sampled_from([shape, shape[1:], shape[-1:], (), tuple(1 if i % 2 else n for i, n in enumerate(shape)),
                                  shape[:1] + (1,) * (len(shape) - 1)]))
    a, b = draw(arrays(shape)), draw(arrays(other))
    return Case(fn, [b, a] if draw(st.booleans()) else [a, b])


@st.composite
def matmul_case(draw):
    """(..., n, k) @ (..., k, m), batch axes 0-2 that broadcast (attention's (B, heads, N, d) among them)."""
    n, k, m = side(), side(), side()
    n, k, m = draw(n), draw(k), draw(m)
    batch = draw(st.lists(side(1, 3), min_size=0, max_size=2).map(tuple))
    other = tuple(draw(st.sampled_from([b, 1])) for b in batch)
    a, b = draw(arrays(batch + (n, k))), draw(arrays(other + (k, m)))
    return Case(lambda s, t: s @ t, [b.swapaxes(-1, -2).copy(), a.swapaxes(-1, -2).copy()]
                if draw(st.booleans()) else [a, b])


@st.composite
def mean_case(draw):
    shape = draw(st.lists(side(), min_size=1, max_size=4).map(tuple))
    axes = draw(st.sampled_from([None, (len(shape) - 1,), tuple(range(1, len(shape))) or None, (0,),
                                 tuple(range(2, len(shape))) or None]))
    keepdims = draw(st.booleans())
    return Case(lambda t: t.mean(axis=axes, keepdims=keepdims), [draw(arrays(shape))])


@st.composite
def conv_case(draw):
    n, c, o = draw(side(1, 3)), draw(side(1, 3)), draw(side(1, 3))
    if draw(st.booleans()):                                        # 1×1, stride 1, no padding: MBConv's
        kernel, stride, padding = (1, 1), (1, 1), (0, 0)
    else:
        kernel = (draw(side(1, 3)), draw(side(1, 3)))
        stride = (draw(side(1, 2)), draw(side(1, 2)))
        padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(side(1, 3)), draw(side(1, 3))) if draw(st.booleans()) else (1, 1)
    least = [max(1, d * (k - 1) + 1 - 2 * p) for k, d, p in zip(kernel, dilation, padding)]
    h, w = draw(st.integers(least[0], max(least[0], 6))), draw(st.integers(least[1], max(least[1], 6)))
    inputs = [draw(arrays((n, c, h, w))), draw(arrays((o, c) + kernel))] + ([draw(arrays((o,)))] if draw(st.booleans()) else [])
    return Case(lambda *t: F.conv2d(*t, stride=stride, padding=padding, dilation=dilation), inputs)


@st.composite
def depthwise_case(draw):
    n, c = draw(side(1, 3)), draw(side(1, 4))
    kernel = (draw(side(1, 3)), draw(side(1, 3)))
    stride = (draw(side(1, 3)), draw(side(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h = draw(st.integers(max(1, kernel[0] - 2 * padding[0]), 7))
    w = draw(st.integers(max(1, kernel[1] - 2 * padding[1]), 7))
    inputs = [draw(arrays((n, c, h, w))), draw(arrays((c, 1) + kernel))] + ([draw(arrays((c,)))] if draw(st.booleans()) else [])
    return Case(lambda *t: F.depthwise_conv2d(*t, stride=stride, padding=padding), inputs)


def norm_shape(draw):
    """(N, C), (N, C, L) or (N, C, H, W) with at least 2 values per channel."""
    shape = (draw(side(1, 3)), draw(side(1, 4))) + tuple(draw(side(1, 4)) for _ in range(draw(st.integers(0, 2))))
    if np.prod(shape) // shape[1] < 2:
        shape = (2,) + shape[1:]
    return shape


@st.composite
def batch_norm_case(draw, training):
    shape = norm_shape(draw)
    c = shape[1]
    mean, var = draw(arrays((c,))), draw(positive((c,)))
    momentum, tracked = draw(st.sampled_from([0.1, 0.5])), draw(st.booleans()) or not training

    def op(x, w, b):
        stats = [tc.tensor(a.copy(), dtype=x.dtype, device=x.device) for a in (mean, var)] if tracked else [None, None]
        y = F.batch_norm(x, *stats, w, b, training=training, momentum=momentum)
        return y, [s for s in stats if s is not None]
    return Case(op, [draw(arrays(shape)), draw(arrays((c,))), draw(arrays((c,)))])


@st.composite
def layer_norm_case(draw):
    shape = draw(st.lists(side(), min_size=1, max_size=4).map(tuple))
    normalized = shape[len(shape) - draw(st.integers(1, min(2, len(shape)))):]
    return Case(lambda x, w, b: F.layer_norm(x, normalized, w, b),
                [draw(arrays(shape)), draw(arrays(normalized)), draw(arrays(normalized))])


@st.composite
def elementwise_case(draw, fn, low, high):
    shape = draw(st.lists(side(), min_size=0, max_size=4).map(tuple))
    return Case(fn, [draw(arrays(shape, low, high))])


@st.composite
def softmax_case(draw):
    shape = draw(st.lists(side(), min_size=1, max_size=4).map(tuple))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return Case(lambda t: F.softmax(t, axis=axis), [draw(arrays(shape, -10, 10))])


@st.composite
def max_pool_case(draw):
    """Also ceil_mode, whose last windows reach past the padding (on maps smaller than the kernel too).
    (One (C, H, W) image reaches the op as a batch of one: F.max_pool2d reshapes it.)"""
    kernel = (draw(side(1, 3)), draw(side(1, 3)))
    stride = (draw(side(1, 3)), draw(side(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    ceil_mode = draw(st.booleans())
    dilation = (draw(side(1, 3)), draw(side(1, 3))) if draw(st.booleans()) else (1, 1)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    least = [max(1, k - 2 * p - (s - 1 if ceil_mode else 0)) for k, s, p in zip(spans, stride, padding)]
    shape = (draw(side(1, 3)), draw(side(1, 3)), draw(st.integers(least[0], max(least[0], 6))),
             draw(st.integers(least[1], max(least[1], 6))))
    ties = st.integers(-8, 8).map(lambda v: v / 4)                  # many equal values: ties go to the first
    masked = st.just(-np.inf)                                       # (a window of −∞ names its first pixel)
    x = draw(hnp.arrays(np.float64, shape, elements=ties | masked))
    return Case(lambda t: F.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode=ceil_mode), [x])


@st.composite
def scale_channels_case(draw):
    n, c = draw(side(1, 3)), draw(side(1, 4))
    return Case(F.scale_channels, [draw(arrays((n, c, draw(side(1, 5)), draw(side(1, 5))))), draw(arrays((n, c, 1, 1)))])


CASES = {
    Add: binary_case(lambda a, b: a + b),
    Mul: binary_case(lambda a, b: a * b),
    MatMul: matmul_case(),
    Mean: mean_case(),
    Conv2d: conv_case(),
    DepthwiseConv2d: depthwise_case(),
    BatchNorm: batch_norm_case(training=True),
    BatchNormEval: batch_norm_case(training=False),
    LayerNorm: layer_norm_case(),
    GELU: elementwise_case(F.gelu, -12, 12),
    SiLU: elementwise_case(F.silu, -30, 30),
    Softmax: softmax_case(),
    MaxPool2d: max_pool_case(),
    ScaleChannels: scale_channels_case(),
}
# The twins that keep a channel-major (N, C, H, W) input channel-major, forward and backward.
KEEP_CHANNEL_MAJOR = {BatchNorm, BatchNormEval, GELU, DepthwiseConv2d, MaxPool2d, ScaleChannels}


# ------------------------------------------------------------------------ running a case

def channel_major_copy(a):
    """The values of an (N, C, H, W) array, laid out (C, N, H, W) in memory."""
    xp = backend.get_array_module(a)
    return xp.ascontiguousarray(a.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)


def place(a, dtype, device, channel_major):
    data = tc.tensor(np.asarray(a, dtype=dtype), device=device).data
    return channel_major_copy(data) if channel_major and data.ndim == 4 else data


@contextlib.contextmanager
def wing(on, threads=None, block_bytes=None):
    """The wing on or off; on the twins' side, also the blocks' thread count and size."""
    saved = blocks.get_num_threads(), blocks.BLOCK_BYTES
    if threads is not None:
        blocks.set_num_threads(threads)
    if block_bytes is not None:
        blocks.BLOCK_BYTES = block_bytes
    try:
        with tc.fast.enabled(on):
            yield
    finally:
        blocks.set_num_threads(saved[0])
        blocks.BLOCK_BYTES = saved[1]


def run(case, arrays_, wanted, upstream):
    """Forward (with a graph), backward from ``upstream``, and a forward under no_grad:
    (y, state, gradients, y without a graph, the Function that made y)."""
    leaves = [tc.Tensor(a, requires_grad=w) for a, w in zip(arrays_, wanted)]
    out = case.op(*leaves)
    y, state = out if isinstance(out, tuple) else (out, [])
    state = [backend.to_numpy(s.data).copy() for s in state]
    made_by = type(y._ctx) if y._ctx is not None else None
    y.backward(tc.Tensor(upstream))
    grads = [t.grad.numpy() if w else None for t, w in zip(leaves, wanted)]
    with tc.no_grad():
        out = case.op(*[tc.Tensor(a) for a in arrays_])
    y_no_grad = (out[0] if isinstance(out, tuple) else out).numpy()
    return y.numpy(), state, grads, y_no_grad, made_by


def assert_close(got, want, dtype, what):
    """Equal up to round-off: sums in another order, another but equal formula (float64: 1e-9 of
    the values' size; float32: 1e-3)."""
    tol = 1e-9 if np.dtype(dtype) == np.float64 else 1e-3
    finite = np.isfinite(want)
    scale = max(1.0, float(np.abs(want[finite]).max())) if finite.any() else 1.0   # (−∞ outputs: compared exactly)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale, err_msg=what)


def check_twin(reference, device, case, data):
    """Run ``case`` through ``reference`` (wing off) and through its twin (wing on); compare all."""
    twin = twins.registered()[(reference, device)]
    dtype = data.draw(st.sampled_from(["float64", "float32"]), label="dtype")
    layouts = [data.draw(st.booleans(), label=f"input {i} channel-major") for i in range(len(case.inputs))]
    arrays_ = [place(a, dtype, device, cm) for a, cm in zip(case.inputs, layouts)]
    wanted = data.draw(st.lists(st.booleans(), min_size=len(arrays_), max_size=len(arrays_))
                       .filter(any), label="inputs that want a gradient")
    with wing(False):
        y_shape = case.op(*[tc.Tensor(a) for a in arrays_])
    y_shape = (y_shape[0] if isinstance(y_shape, tuple) else y_shape).shape
    upstream = data.draw(arrays(y_shape), label="upstream gradient")
    upstream = place(upstream, dtype, device, data.draw(st.booleans(), label="upstream channel-major"))
    threads, block_bytes = data.draw(st.sampled_from([1, 2, 3])), data.draw(st.sampled_from([1, 64, 4096, None]))

    with wing(False):
        want = run(case, arrays_, wanted, upstream)
    outputs = {}

    def record(cls, name, original):            # what the twin's own forward and backward return
        def wrapped(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            outputs.setdefault((cls, name), result)
            return result
        return wrapped
    with wing(True, threads, block_bytes), instrumented(record):
        got = run(case, arrays_, wanted, upstream)

    if isinstance(twin, type) and issubclass(twin, Function):
        assert got[4] is twin, f"{got[4]} made the output, not the twin {twin}"
    assert want[4] is reference
    assert_close(got[0], want[0], dtype, "forward")
    assert_close(got[3], want[3], dtype, "forward under no_grad")
    for i, (g_got, g_want) in enumerate(zip(got[2], want[2])):
        assert (g_got is None) == (g_want is None)
        if g_want is not None:
            assert_close(g_got, g_want, dtype, f"gradient of input {i}")
    for s_got, s_want in zip(got[1], want[1]):
        assert_close(s_got, s_want, dtype, "state (running statistics)")
    if device == "cpu" and reference in KEEP_CHANNEL_MAJOR and arrays_[0].ndim == 4 and layouts[0]:
        assert layout.channel_major(outputs[(twin, "forward")]), "the twin lost a channel-major layout"
        gx = outputs.get((twin, "backward"))
        if wanted[0] and layout.channel_major(upstream) and gx is not None:
            gx = gx[0] if isinstance(gx, tuple) else gx
            assert layout.channel_major(gx), "the twin's input gradient lost the channel-major layout"


PAIRS = sorted(twins.registered(), key=lambda key: (key[1], getattr(key[0], "__qualname__", "")))


def _id(pair):
    return f"{pair[0].__name__}-{pair[1]}"


def _skip_without_gpu(device):
    if device == "gpu" and GPU_SKIP_REASON:
        pytest.skip(f"a GPU twin meets its reference on a GPU: {GPU_SKIP_REASON}")


FUNCTION_PAIRS = [p for p in PAIRS if p[0] in CASES]


@pytest.mark.parametrize("pair", FUNCTION_PAIRS, ids=_id)
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(data=st.data())
def test_twin_equals_its_reference(pair, data):
    reference, device = pair
    _skip_without_gpu(device)
    check_twin(reference, device, data.draw(CASES[reference], label="case"), data)


# ------------------------------------------------------------------------ the plain functions

@pytest.mark.parametrize("device", sorted({d for r, d in PAIRS if r is accumulate}))
@given(data=st.data())
def test_gradient_sums_equal_plain_addition(device, data):
    """The engine's sum of two gradients of one tensor (a residual's input, SE's map), any layouts."""
    _skip_without_gpu(device)
    shape = data.draw(st.lists(side(), min_size=1, max_size=4).map(tuple))
    dtype = data.draw(st.sampled_from(["float64", "float32"]))
    a, b = (place(data.draw(arrays(shape)), dtype, device, data.draw(st.booleans())) for _ in range(2))
    with wing(True, data.draw(st.sampled_from([1, 3])), data.draw(st.sampled_from([1, None]))):
        add = twins.pick(accumulate, device)
        assert add is twins.registered()[(accumulate, device)]
        total = add(a, b)
    np.testing.assert_array_equal(backend.to_numpy(total), backend.to_numpy(accumulate(a, b)))
    # and through the engine: d(x·x + x)/dx = 2x + 1
    with wing(True, 3, 1):
        x = tc.Tensor(a, requires_grad=True)
        (x * x + x).sum().backward()
    assert_close(x.grad.numpy(), 2 * backend.to_numpy(a) + 1, dtype, "engine")


def parameter_lists(data, dtype, device, lists):
    """``lists`` lists of arrays, tensor by tensor of one shape (1-4 tensors, scalars and empty ones
    among them); the last list positive (AdamW's second moments)."""
    shapes = data.draw(st.lists(st.lists(st.integers(0, 5), min_size=0, max_size=2).map(tuple), min_size=1,
                                max_size=4))
    return [[place(data.draw(positive(s) if k == lists - 1 else arrays(s)), dtype, device, False) for s in shapes]
            for k in range(lists)]


@pytest.mark.parametrize("device", sorted({d for r, d in PAIRS if r is adamw_update_each}))
@given(data=st.data())
def test_adamw_update_twin_equals_the_reference(device, data):
    """With amsgrad (v_maxes: the running maximum of v, which the kernel lacks) the twin declines
    and the reference runs: the switch gives the reference's numbers either way."""
    _skip_without_gpu(device)
    dtype = data.draw(st.sampled_from(["float64", "float32"]))
    ps, gs, ms, vs = parameter_lists(data, dtype, device, 4)
    amsgrad = data.draw(st.booleans(), label="amsgrad")
    v_maxes = [place(data.draw(positive(v.shape)), dtype, device, False) for v in vs]
    settings_ = dict(lr=data.draw(st.sampled_from([1e-3, 0.1])), beta1=0.9, beta2=0.99, eps=1e-8,
                     weight_decay=data.draw(st.sampled_from([0.0, 0.05])),
                     steps=data.draw(st.lists(st.integers(1, 5), min_size=len(ps), max_size=len(ps))))
    lists = (ps, gs, ms, vs) + ((v_maxes,) if amsgrad else ())
    ref = [[a.copy() for a in group] for group in lists]
    adamw_update_each(*ref[:4], **settings_, v_maxes=ref[4] if amsgrad else None)
    fast = [[a.copy() for a in group] for group in lists]
    with wing(True):
        update = twins.pick(adamw_update_each, device, *fast[:4], v_maxes=fast[4] if amsgrad else None)
        assert update is (adamw_update_each if amsgrad else twins.registered()[(adamw_update_each, device)])
        update(*fast[:4], **settings_, v_maxes=fast[4] if amsgrad else None)
    for got_group, want_group, name in zip(fast, ref, ("p", "g", "m", "v", "v_max")):
        for got, want in zip(got_group, want_group):
            assert_close(backend.to_numpy(got), backend.to_numpy(want), dtype, name)


@pytest.mark.parametrize("device", sorted({d for r, d in PAIRS if r is clip_gradients_}))
@given(data=st.data(), max_norm=st.sampled_from([1e-3, 1.0, 1e6]))
def test_clip_gradients_twin_equals_the_reference(device, data, max_norm):
    _skip_without_gpu(device)
    dtype = data.draw(st.sampled_from(["float64", "float32"]))
    (grads,) = parameter_lists(data, dtype, device, 1)
    ref = [g.copy() for g in grads]
    want = clip_gradients_(ref, max_norm=max_norm, eps=1e-6)
    with wing(True):
        clip = twins.pick(clip_gradients_, device, grads)
        assert clip is twins.registered()[(clip_gradients_, device)]
        got = clip(grads, max_norm=max_norm, eps=1e-6)
    assert_close(backend.to_numpy(got), backend.to_numpy(want), "float64", "norm")
    for g, r in zip(grads, ref):
        assert_close(backend.to_numpy(g), backend.to_numpy(r), dtype, "gradient")


@pytest.mark.parametrize("device", ["cpu", "gpu"])
def test_softmax_of_integers_matches_the_reference(device):
    """Integer logits take the reference's promotion (to float64) through the twin."""
    _skip_without_gpu(device)
    logits = np.arange(6).reshape(2, 3)

    def run(on):
        with wing(on):
            y = F.softmax(tc.tensor(logits, device=device), axis=-1)
        return y.dtype, backend.to_numpy(y.data)
    (dtype_fast, got), (dtype_ref, want) = run(True), run(False)
    assert dtype_fast == dtype_ref, f"the twin gives {dtype_fast}, the reference {dtype_ref}"
    assert_close(got, want, "float64", "softmax of ints")


def _record_backward_dtypes(log):
    """An ``instrumented`` wrap that appends (op name, dtypes of the gradients its backward
    returns) to ``log`` — for the outermost backward only, as a twin may call its reference's."""
    depth = [0]

    def wrap(cls, name, original):
        if name != "backward":
            return original

        def backward(self, g):
            depth[0] += 1
            try:
                grads = original(self, g)
            finally:
                depth[0] -= 1
            if depth[0] == 0:
                as_tuple = grads if isinstance(grads, tuple) else (grads,)
                log.append((type(self).__name__, tuple(None if a is None else str(a.dtype) for a in as_tuple)))
            return grads
        return backward
    return wrap


@pytest.mark.parametrize("device", ["cpu", "gpu"])
def test_twins_keep_the_references_dtypes(device):
    """Mixed dtypes take the reference's promotions through the twins (whose GPU kernels take one
    type): float32 maps with float64 weights, and float64 upstream gradients into float32 ops (the
    engine casts only at leaves), give the reference's dtypes and values, forward and backward. The dtypes are read where each op's backward
    returns them: a leaf's gradient is cast to the leaf's dtype, which would hide a twin's."""
    _skip_without_gpu(device)
    rng = np.random.default_rng(1)
    x32 = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    arrays = dict(w_dw=rng.standard_normal((3, 1, 3, 3)), w_conv=rng.standard_normal((4, 3, 3, 3)),
                  gamma=rng.standard_normal(3), beta=rng.standard_normal(3),
                  s=rng.standard_normal((2, 3, 1, 1)), m=rng.standard_normal((2, 3, 5, 4)),
                  m_conv=rng.standard_normal((2, 4, 5, 4)), b_conv=rng.standard_normal(4),
                  w_1x1=rng.standard_normal((4, 3, 1, 1)), w_1x1_4=rng.standard_normal((4, 4, 1, 1)),
                  gamma_row=rng.standard_normal(4), beta_row=rng.standard_normal(4))
    ops = {   # name: the op on x (float32) and the float64 tensors
        "depthwise, float64 weights": lambda x, t: F.depthwise_conv2d(x, t["w_dw"], padding=1),
        "depthwise, float64 g": lambda x, t: F.depthwise_conv2d(x, t["w_dw"].float(), padding=1) * t["m"],
        "depthwise, float64 bias": lambda x, t: F.depthwise_conv2d(x, t["w_dw"].float(), t["beta"], padding=1),
        "conv2d, float64 weights": lambda x, t: F.conv2d(x, t["w_conv"], padding=1),
        "conv2d, float64 g": lambda x, t: F.conv2d(x, t["w_conv"].float(), padding=1) * t["m_conv"],
        "conv2d, float64 bias": lambda x, t: F.conv2d(x, t["w_conv"].float(), t["b_conv"], padding=1),
        "conv2d 1×1, float64 weights": lambda x, t: F.conv2d(x, t["w_1x1"]),
        "conv2d 1×1, float64 g": lambda x, t: F.conv2d(x, t["w_1x1"].float()) * t["m_conv"],
        "conv2d 1×1 of a conv's map, float64 weights":     # a channel-major map: its columns are the map itself
            lambda x, t: F.conv2d(F.conv2d(x, t["w_conv"].float(), padding=1), t["w_1x1_4"]),
        "batch_norm, float64 γ, β": lambda x, t: F.batch_norm(x, None, None, t["gamma"], t["beta"], training=True),
        "batch_norm, float64 g": lambda x, t: F.batch_norm(x, None, None, t["gamma"].float(), t["beta"].float(),
                                                           training=True) * t["m"],
        "scale_channels, float64 s": lambda x, t: F.scale_channels(x, t["s"]),
        "scale_channels, float64 g": lambda x, t: F.scale_channels(x, t["s"].float()) * t["m"],
        "silu, float64 g": lambda x, t: F.silu(x) * t["m"],
        "gelu, float64 g": lambda x, t: F.gelu(x) * t["m"],
        "layer_norm, float64 γ, β": lambda x, t: F.layer_norm(x, (4,), t["gamma_row"], t["beta_row"]),
        "layer_norm, float64 g": lambda x, t: F.layer_norm(x, (4,), t["gamma_row"].float()) * t["m"],
        "softmax, float64 g": lambda x, t: F.softmax(x, axis=-1) * t["m"],
    }

    def run(on, op):
        returned = []                       # (op, dtypes its backward returned), outermost calls only
        with wing(on), instrumented(_record_backward_dtypes(returned)):
            x = tc.tensor(x32, requires_grad=True, device=device)
            t = {k: tc.tensor(a, requires_grad=True, device=device) for k, a in arrays.items()}
            y = op(x, t)
            (y * 1.5).sum().backward()
        outs = {"y": y, "dL/dx": x.grad} | {f"dL/d{k}": v.grad for k, v in t.items() if v.grad is not None}
        return {what: (a.dtype, backend.to_numpy(a.data)) for what, a in outs.items()}, returned
    for name, op in ops.items():
        (fast, fast_returned), (ref, ref_returned) = run(True, op), run(False, op)
        assert fast_returned == ref_returned, f"{name}: the backwards returned {fast_returned}, the references {ref_returned}"
        assert fast.keys() == ref.keys(), name
        for what in ref:
            (dtype_fast, got), (dtype_ref, want) = fast[what], ref[what]
            assert dtype_fast == dtype_ref, f"{name}, {what}: the twin gives {dtype_fast}, the reference {dtype_ref}"
            assert_close(got, want, "float32", f"{name}, {what}")


# ------------------------------------------------------------------------ the proof is complete and can fail

def test_every_twin_has_a_case():
    """A twin without a case here would be unproved: adding one to the wing needs a case."""
    covered = set(CASES) | {accumulate, adamw_update_each, clip_gradients_,
                          matrix_product}   # (tests/test_cuda_graph.py: the direct cuBLAS product)
    missing = [_id(p) for p in PAIRS if p[0] not in covered]
    assert not missing, f"twins with no case in tests/test_fast_twins.py: {missing}"
    assert all(any(r is ref for r, _ in PAIRS) for ref in CASES), "a case for an op that has no twin"


def test_twins_run_only_while_the_wing_is_on():
    x = tc.randn(2, 3)
    with tc.fast.enabled(False):
        assert type(F.gelu(x.double().requires_grad_())._ctx) is GELU
    with tc.fast.enabled(True):
        assert type(F.gelu(x.double().requires_grad_())._ctx) is twins.registered()[(GELU, "cpu")]
    assert not tc.fast.is_enabled()


def test_a_dilated_depthwise_convolution_runs_the_reference_while_the_wing_is_on():
    """The depthwise twin has no dilation: for a dilated kernel it declines (its ``accepts``), and
    the reference runs, on the wing's side too; an undilated one still runs the twin."""
    x, w = tc.randn(2, 3, 7, 6, dtype="float64"), tc.randn(3, 1, 3, 2, dtype="float64", requires_grad=True)
    with tc.fast.enabled(False):
        want = F.depthwise_conv2d(x, w, padding=2, dilation=(2, 3))
    with tc.fast.enabled(True):
        got = F.depthwise_conv2d(x, w, padding=2, dilation=(2, 3))
        assert type(got._ctx) is DepthwiseConv2d
        assert type(F.depthwise_conv2d(x, w, padding=1)._ctx) is twins.registered()[(DepthwiseConv2d, "cpu")]
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_a_grouped_convolution_runs_the_reference_while_the_wing_is_on():
    """The conv2d twin has one group: for groups > 1 it declines, and the reference runs."""
    x, w = tc.randn(2, 6, 5, 4, dtype="float64"), tc.randn(4, 3, 3, 3, dtype="float64", requires_grad=True)
    with tc.fast.enabled(False):
        want = F.conv2d(x, w, padding=1, groups=2)
    with tc.fast.enabled(True):
        got = F.conv2d(x, w, padding=1, groups=2)
        assert type(got._ctx) is Conv2d
        dense = F.conv2d(x, tc.randn(4, 6, 3, 3, dtype="float64", requires_grad=True))
        assert type(dense._ctx) is twins.registered()[(Conv2d, "cpu")]
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_a_planted_error_is_caught(monkeypatch):
    """A twin whose forward is off by one part in a million fails the comparison."""
    twin = twins.registered()[(GELU, "cpu")]
    original = twin.forward
    monkeypatch.setattr(twin, "forward", lambda self, x: original(self, x) * (1 + 1e-6))

    @settings(max_examples=5, derandomize=True)
    @given(data=st.data())
    def planted(data):
        check_twin(GELU, "cpu", Case(F.gelu, [np.linspace(-3, 3, 24).reshape(2, 3, 2, 2)]), data)
    with pytest.raises(AssertionError, match="forward"):
        planted()


def test_mbconv_stages_run_channel_major_from_the_stem_on():
    """With the wing on, the layout reaches the MBConv ops: the stem's conv returns it and the
    blocks keep it, so every BatchNorm of the convolution stages gets a channel-major map."""
    from tinycoat.models import create_model
    seen = []

    def wrap(cls, name, original):
        def f(self, *args, **kwargs):
            if issubclass(cls, BatchNorm) and name == "forward" and args[0].ndim == 4:
                seen.append(layout.channel_major(args[0]))
            return original(self, *args, **kwargs)
        return f
    net = create_model("coatnet_cifar_nano", num_classes=3, image_size=16)
    with tc.fast.enabled(), instrumented(wrap):
        net(tc.randn(4, 3, 16, 16))
    assert seen and all(seen), f"BatchNorm inputs channel-major: {seen}"
