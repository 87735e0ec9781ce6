"""tinycoat.fast.blocks: batch blocks on host threads, the fast wing's first technique.

Properties: every row is visited exactly once and results come back in block order
whatever the thread count; broadcast arrays reach every block whole; bad shapes and
worker errors surface; a whole training computation gives the same bits on 1 and on 3
threads. (That every twin built on blocks equals its reference, in small blocks and large,
on 1 to 3 threads, is tests/test_fast_twins.py.)
"""
import contextlib
import threading

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
import tinycoat.fast.blocks as blocks_module
import tinycoat.nn.functional as F


@contextlib.contextmanager
def blocks(n_threads, block_bytes=None):
    """Use ``n_threads`` threads (and blocks of ``block_bytes``) inside the ``with``, then restore."""
    saved = blocks_module.get_num_threads(), blocks_module.BLOCK_BYTES
    blocks_module.set_num_threads(n_threads)
    if block_bytes is not None:
        blocks_module.BLOCK_BYTES = block_bytes
    try:
        yield
    finally:
        blocks_module.set_num_threads(saved[0])
        blocks_module.BLOCK_BYTES = saved[1]


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
        firsts = blocks_module.map_blocks(kernel, x, out, block_bytes=block_bytes)
    np.testing.assert_array_equal(out, x + 1.0)
    np.testing.assert_array_equal(np.concatenate(firsts), x[:, 0])       # block order
    per_block = max(1, round(block_bytes / (width * 8)))
    assert len(firsts) == -(-rows // per_block)


def test_threads_really_share_the_work():
    names = set()

    def kernel(block):
        names.add(threading.current_thread().name)
    with blocks(2):
        blocks_module.map_blocks(kernel, np.zeros((8, 4)), block_bytes=1)
    assert len(names) == 2, names


def test_broadcast_arrays_and_numbers_reach_every_block_whole():
    x = np.arange(12.0).reshape(6, 2)
    scale = np.array([[10.0, 100.0]])                  # one row: broadcast
    out = np.empty_like(x)
    with blocks(3):
        blocks_module.map_blocks(lambda a, s, k, o: np.multiply(a + k, s, out=o), x, scale, 0.5, out, block_bytes=1)
    np.testing.assert_array_equal(out, (x + 0.5) * scale)


def test_arrays_with_fewer_dimensions_broadcast_like_numpy():
    """A (4,) weight against (4, 3, 4) tokens is a per-feature weight, not one value per sample."""
    x = np.arange(48.0).reshape(4, 3, 4)
    weight = np.array([1.0, 2.0, 3.0, 4.0])
    out = np.empty_like(x)
    with blocks(2):
        blocks_module.map_blocks(lambda a, w, o: np.multiply(a, w, out=o), x, weight, out, block_bytes=1)
    np.testing.assert_array_equal(out, x * weight)


def test_map_elements_cuts_finer_than_a_sample_when_it_can():
    x = np.arange(24.0).reshape(2, 3, 4)
    out = np.empty_like(x)
    double = lambda a, o: (np.multiply(a, 2.0, out=o), a.shape)[1]        # noqa: E731
    with blocks(2, block_bytes=1):
        shapes = blocks_module.map_elements(double, x, out)
        np.testing.assert_array_equal(out, 2 * x)
        assert shapes == [(1, 4)] * 6                             # rows of the (6, 4) view ...
        transposed = x.transpose(1, 0, 2)                         # ... not of a non-contiguous view:
        out_t = np.empty(transposed.shape)
        shapes = blocks_module.map_elements(double, transposed, out_t)
        np.testing.assert_array_equal(out_t, 2 * transposed)
        assert shapes == [(1, 2, 4)] * 3                          # whole samples, as map_blocks cuts


def test_whole_makes_one_call():
    calls = []
    with blocks(2):
        blocks_module.map_blocks(lambda a: calls.append(a.shape), np.zeros((8, 4)), block_bytes=1, whole=True)
    assert calls == [(8, 4)]


def test_mismatched_rows_are_named():
    with pytest.raises(ValueError, match=r"array 1 has shape \(3, 2\), expected 4 or 1 rows"):
        blocks_module.map_blocks(lambda a, b: None, np.zeros((4, 2)), np.zeros((3, 2)))


def test_errors_in_a_worker_reach_the_caller():
    def kernel(block):
        if block[0, 0] == 5:
            raise RuntimeError("block 5 failed")
    with blocks(2), pytest.raises(RuntimeError, match="block 5 failed"):
        blocks_module.map_blocks(kernel, np.arange(8.0).reshape(8, 1), block_bytes=1)


def test_nested_calls_run_inline_without_deadlock():
    x = np.arange(16.0).reshape(8, 2)

    def inner(block):
        return float(block.sum())

    def outer(block):
        return sum(blocks_module.map_blocks(inner, block, block_bytes=1))
    with blocks(2):
        assert sum(blocks_module.map_blocks(outer, x, block_bytes=1)) == x.sum()


def test_bad_thread_count():
    with pytest.raises(ValueError, match="positive number of threads, got 0"):
        blocks_module.set_num_threads(0)


def test_results_do_not_depend_on_the_thread_count():
    """Same blocks, same order of partial sums: the same bits on 1 and on 3 threads (the wing's
    BatchNorm and GELU, forward and backward)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((9, 4, 5, 5)).astype(np.float32)
    fn = lambda t, g, b: F.gelu(F.batch_norm(t, None, None, g, b, training=True))   # noqa: E731
    inputs = [x, np.ones(4, np.float32), np.zeros(4, np.float32)]
    results = []
    for n in (1, 3):
        leaves = [tc.tensor(a, requires_grad=True) for a in inputs]
        with blocks(n, block_bytes=400), tc.fast.enabled():
            fn(*leaves).sum().backward()
        results.append([t.grad.numpy() for t in leaves])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_gpu_arrays_are_not_cut(device):
    """On the GPU the kernel gets the whole arrays in one call (the device is parallel already)."""
    if device != "gpu":
        pytest.skip("the GPU path of map_blocks needs a GPU")
    x = tc.zeros(8, 3, device="gpu").data
    calls = blocks_module.map_blocks(lambda a: a.shape, x, block_bytes=1)
    assert calls == [(8, 3)]


def test_broadcast_shape():
    assert blocks_module.broadcast_shape((2, 1, 3), (4, 1)) == (2, 4, 3)
    assert blocks_module.broadcast_shape((2, 3), (4, 3)) is None
