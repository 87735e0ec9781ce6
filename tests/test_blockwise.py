"""tinycoat.blockwise: batch blocks on host threads, and the ops that use them.

Properties: every row is visited exactly once and results come back in block order
whatever the thread count; broadcast arrays reach every block whole; bad shapes and
worker errors surface. Then each blocked op (GELU, BatchNorm in training and
evaluation, LayerNorm, depthwise convolution, squeeze-excitation's scale_channels,
softmax) gives the same forward and backward when cut into one-row blocks on three
threads as in one block, and passes the float64 gradient check cut that way.
"""
import contextlib
import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinycoat as tc
import tinycoat.blockwise as blockwise
import tinycoat.nn.functional as F
from strategies import arrays


@contextlib.contextmanager
def blocks(n_threads, block_bytes=None):
    """Use ``n_threads`` threads (and blocks of ``block_bytes``) inside the ``with``, then restore."""
    saved = blockwise.get_num_threads(), blockwise.BLOCK_BYTES
    blockwise.set_num_threads(n_threads)
    if block_bytes is not None:
        blockwise.BLOCK_BYTES = block_bytes
    try:
        yield
    finally:
        blockwise.set_num_threads(saved[0])
        blockwise.BLOCK_BYTES = saved[1]


@given(rows=st.integers(1, 40), width=st.integers(1, 16), block_bytes=st.integers(1, 600),
       n_threads=st.integers(1, 4))
def test_every_row_once_in_block_order(rows, width, block_bytes, n_threads):
    x = np.arange(rows * width, dtype=np.float64).reshape(rows, width)
    out = np.zeros_like(x)
    seen = []

    def kernel(block, out_block):
        out_block += block + 1.0                       # a second visit would show as + 2
        seen.append(threading.get_ident())
        return block[:, 0].copy()
    with blocks(n_threads):
        firsts = blockwise.map_blocks(kernel, x, out, block_bytes=block_bytes)
    np.testing.assert_array_equal(out, x + 1.0)
    np.testing.assert_array_equal(np.concatenate(firsts), x[:, 0])       # block order
    per_block = max(1, round(block_bytes / (width * 8)))
    assert len(firsts) == -(-rows // per_block)


def test_threads_really_share_the_work():
    names = set()

    def kernel(block):
        names.add(threading.current_thread().name)
    with blocks(2):
        blockwise.map_blocks(kernel, np.zeros((8, 4)), block_bytes=1)
    assert len(names) == 2, names


def test_broadcast_arrays_and_numbers_reach_every_block_whole():
    x = np.arange(12.0).reshape(6, 2)
    scale = np.array([[10.0, 100.0]])                  # one row: broadcast
    out = np.empty_like(x)
    with blocks(3):
        blockwise.map_blocks(lambda a, s, k, o: np.multiply(a + k, s, out=o), x, scale, 0.5, out, block_bytes=1)
    np.testing.assert_array_equal(out, (x + 0.5) * scale)


def test_arrays_with_fewer_dimensions_broadcast_like_numpy():
    """A (4,) weight against (4, 3, 4) tokens is a per-feature weight, not one value per sample."""
    x = np.arange(48.0).reshape(4, 3, 4)
    weight = np.array([1.0, 2.0, 3.0, 4.0])
    out = np.empty_like(x)
    with blocks(2):
        blockwise.map_blocks(lambda a, w, o: np.multiply(a, w, out=o), x, weight, out, block_bytes=1)
    np.testing.assert_array_equal(out, x * weight)


def test_map_elements_cuts_finer_than_a_sample_when_it_can():
    x = np.arange(24.0).reshape(2, 3, 4)
    out = np.empty_like(x)
    double = lambda a, o: (np.multiply(a, 2.0, out=o), a.shape)[1]        # noqa: E731
    with blocks(2, block_bytes=1):
        shapes = blockwise.map_elements(double, x, out)
        np.testing.assert_array_equal(out, 2 * x)
        assert shapes == [(1, 4)] * 6                             # rows of the (6, 4) view ...
        transposed = x.transpose(1, 0, 2)                         # ... not of a non-contiguous view:
        out_t = np.empty(transposed.shape)
        shapes = blockwise.map_elements(double, transposed, out_t)
        np.testing.assert_array_equal(out_t, 2 * transposed)
        assert shapes == [(1, 2, 4)] * 3                          # whole samples, as map_blocks cuts


def test_whole_makes_one_call():
    calls = []
    with blocks(2):
        blockwise.map_blocks(lambda a: calls.append(a.shape), np.zeros((8, 4)), block_bytes=1, whole=True)
    assert calls == [(8, 4)]


def test_mismatched_rows_are_named():
    with pytest.raises(ValueError, match=r"array 1 has shape \(3, 2\), expected 4 or 1 rows"):
        blockwise.map_blocks(lambda a, b: None, np.zeros((4, 2)), np.zeros((3, 2)))


def test_errors_in_a_worker_reach_the_caller():
    def kernel(block):
        if block[0, 0] == 5:
            raise RuntimeError("block 5 failed")
    with blocks(2), pytest.raises(RuntimeError, match="block 5 failed"):
        blockwise.map_blocks(kernel, np.arange(8.0).reshape(8, 1), block_bytes=1)


def test_nested_calls_run_inline_without_deadlock():
    x = np.arange(16.0).reshape(8, 2)

    def inner(block):
        return float(block.sum())

    def outer(block):
        return sum(blockwise.map_blocks(inner, block, block_bytes=1))
    with blocks(2):
        assert sum(blockwise.map_blocks(outer, x, block_bytes=1)) == x.sum()


def test_bad_thread_count():
    with pytest.raises(ValueError, match="positive number of threads, got 0"):
        blockwise.set_num_threads(0)


# ---------------------------------------------------------------- the ops that run in blocks

@st.composite
def blocked_case(draw):
    """An op that runs in blocks, and inputs for it: batch 1-4, 1-pixel to 6-pixel, non-square."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    kind = draw(st.sampled_from(["gelu", "batch_norm", "batch_norm_eval", "layer_norm", "depthwise",
                                 "scale_channels", "softmax", "add", "mul", "mean", "matmul"]))
    x = draw(arrays((n, c, h, w)))
    if kind == "gelu":
        return kind, (lambda t: F.gelu(t)), [x]
    if kind in ("add", "mul"):          # the other operand as big, or broadcast like a mask or a bias
        other = draw(st.sampled_from([(n, c, h, w), (n, 1, 1, 1), (1, c, h, w), (c, 1, 1), (w,)]))
        op = (lambda a, b: a + b) if kind == "add" else (lambda a, b: a * b)
        return kind, op, [x, draw(arrays(other))]
    if kind == "mean":
        axes = draw(st.sampled_from([(2, 3), (1,), (3,), (0, 2), (1, 2, 3)]))
        return kind, (lambda t: t.mean(axis=axes)), [x]
    if kind == "matmul":                # (n, c, h, w) @ (n, c or 1, w, k): a batch axis to cut along
        k = draw(st.integers(1, 3))
        return kind, (lambda a, b: a @ b), [x, draw(arrays((n, draw(st.sampled_from([c, 1])), w, k)))]
    if kind == "softmax":
        axis = draw(st.sampled_from([0, 1, 2, 3, -1]))                 # axis 0: one call, not blocks
        return kind, (lambda t: F.softmax(t, axis=axis)), [x]
    if kind == "scale_channels":
        return kind, (lambda t, g: F.scale_channels(t, g)), [x, draw(arrays((n, c, 1, 1)))]
    if kind == "batch_norm_eval":
        stats = [tc.tensor(draw(arrays((c,), low=0.5))), tc.tensor(draw(arrays((c,), low=0.5)))]
        return kind, (lambda t, g, b: F.batch_norm(t, *stats, g, b, training=False)), \
            [x, draw(arrays((c,))), draw(arrays((c,)))]
    if kind == "layer_norm":
        d = draw(st.integers(1, 2))                    # normalize over the last 1 or 2 axes
        return kind, (lambda t, g, b: F.layer_norm(t, x.shape[4 - d:], g, b)), \
            [x, draw(arrays(x.shape[4 - d:])), draw(arrays(x.shape[4 - d:]))]
    if kind == "batch_norm":
        if n * h * w < 2:
            n, x = 2, np.concatenate([x, x[::-1] + 1.0])
        return kind, (lambda t, g, b: F.batch_norm(t, None, None, g, b, training=True)), \
            [x, draw(arrays((c,))), draw(arrays((c,)))]
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (kh // 2, kw // 2)
    weight = draw(arrays((c, 1, kh, kw)))
    return kind, (lambda t, k: F.depthwise_conv2d(t, k, stride=stride, padding=padding)), [x, weight]


def _forward_backward(fn, inputs, seed_grad=None):
    leaves = [tc.tensor(a, dtype="float64", requires_grad=True) for a in inputs]
    y = fn(*leaves)
    g = np.random.default_rng(0).standard_normal(y.shape) if seed_grad is None else seed_grad
    y.backward(tc.tensor(g, dtype="float64"))
    return y.numpy(), [t.grad.numpy() for t in leaves]


@given(case=blocked_case())
def test_blocked_ops_agree_with_one_block(case):
    """One row per block on three threads == the whole batch in one call."""
    _, fn, inputs = case
    with blocks(1, block_bytes=1 << 40):
        y_whole, grads_whole = _forward_backward(fn, inputs)
    with blocks(3, block_bytes=1):
        y_blocks, grads_blocks = _forward_backward(fn, inputs)
    np.testing.assert_allclose(y_blocks, y_whole, rtol=1e-12, atol=1e-12)
    for gb, gw in zip(grads_blocks, grads_whole):
        np.testing.assert_allclose(gb, gw, rtol=1e-10, atol=1e-9)   # sums in another order


@settings(max_examples=25)
@given(case=blocked_case())
def test_blocked_ops_gradcheck_in_small_blocks(case):
    _, fn, inputs = case
    leaves = [tc.tensor(a, dtype="float64", requires_grad=True) for a in inputs]
    with blocks(2, block_bytes=1):
        assert tc.gradcheck(fn, *leaves)


@given(x=arrays(st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4))),
       data=st.data())
def test_scale_channels_is_x_times_s(x, data):
    s = data.draw(arrays((x.shape[0], x.shape[1], 1, 1)))
    np.testing.assert_array_equal(F.scale_channels(tc.tensor(x), tc.tensor(s)).numpy(), x * s)


def test_scale_channels_names_the_expected_shapes():
    with pytest.raises(ValueError, match=r"expected x \(N, C, H, W\) and s \(N, C, 1, 1\), got \(2, 3, 4, 4\) and \(1, 3, 1, 1\)"):
        F.scale_channels(tc.zeros(2, 3, 4, 4), tc.zeros(1, 3, 1, 1))


@given(x=arrays(st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(3, 7), st.integers(3, 7)), -2, 2),
       kernel=st.integers(2, 3), padding=st.integers(0, 1))
def test_max_pool_agrees_in_blocks_ties_included(x, kernel, padding):
    """Max pooling in one-sample blocks on three threads == in one call, forward and backward,
    with Hypothesis's favourite repeated values (ties go to the first offset either way)."""
    padding = min(padding, kernel // 2)
    fn = lambda t: F.max_pool2d(t, kernel, 2, padding)     # noqa: E731
    with blocks(1, block_bytes=1 << 40):
        y_whole, (g_whole,) = _forward_backward(fn, [x])
    with blocks(3, block_bytes=1):
        y_blocks, (g_blocks,) = _forward_backward(fn, [x])
    np.testing.assert_array_equal(y_blocks, y_whole)
    np.testing.assert_array_equal(g_blocks, g_whole)


def test_results_do_not_depend_on_the_thread_count():
    """Same blocks, same order of partial sums: the same bits on 1 and on 3 threads."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((9, 4, 5, 5)).astype(np.float32)
    fn = lambda t, g, b: F.gelu(F.batch_norm(t, None, None, g, b, training=True))   # noqa: E731
    inputs = [x, np.ones(4, np.float32), np.zeros(4, np.float32)]
    results = []
    for n in (1, 3):
        leaves = [tc.tensor(a, requires_grad=True) for a in inputs]
        with blocks(n, block_bytes=400):
            fn(*leaves).sum().backward()
        results.append([t.grad.numpy() for t in leaves])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_gpu_arrays_are_not_cut(device):
    """On the GPU the kernel gets the whole arrays in one call (the device is parallel already)."""
    if device != "gpu":
        pytest.skip("the GPU path of map_blocks needs a GPU")
    x = tc.zeros(8, 3, device="gpu").data
    calls = blockwise.map_blocks(lambda a: a.shape, x, block_bytes=1)
    assert calls == [(8, 3)]


@given(x=arrays(st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4))),
       channel_major=st.booleans())
def test_gradients_of_a_tensor_used_twice_add_up_in_blocks(x, channel_major):
    """The engine sums the gradients reaching one tensor (binary_in_blocks): d(x·x + x)/dx = 2x + 1,
    in one-row blocks on three threads, whatever the layout of x."""
    data = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3) if channel_major else x
    with blocks(3, block_bytes=1):
        t = tc.tensor(data, requires_grad=True)
        (t * t + t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), 2 * x + 1, rtol=1e-12, atol=1e-12)
    assert blockwise.broadcast_shape((2, 1, 3), (4, 1)) == (2, 4, 3)
    assert blockwise.broadcast_shape((2, 3), (4, 3)) is None
