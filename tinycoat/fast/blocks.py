"""Cache-sized blocks on every host core: how the fast wing makes NumPy's long chains fast.

NumPy runs one operation at a time over a whole array, on one core. A chain like
exact GELU's (about thirty operations) on a 50 MB activation therefore streams 50 MB
through main memory thirty times, while the arithmetic itself would take a fraction
of that. Two cures, both here, both invisible in the math:

1. **Blocks.** Run the *whole chain* on a slice of the batch small enough to stay in
   the core's L2 cache (a few hundred KB), then move to the next slice: one trip to
   main memory per array instead of one per operation.
2. **Threads.** NumPy releases Python's GIL inside its loops, so two threads working
   on different slices run on two cores at once. (A block must not be too small,
   or the threads queue for the GIL between operations: ~512 KB measured best here.)

    map_blocks(kernel, x, out)          # kernel(x[i:j], out[i:j]) for every block
    binary_in_blocks(xp.add, a, b)      # a + b the same way (residual sums, gradient sums)

On the GPU neither cure applies (every operation is one kernel launch over the whole
array, and the device is parallel already), so ``map_blocks`` calls the kernel once.

Results are the same whatever the number of threads: the blocks depend only on the
shapes, each block is computed the same way, and ``map_blocks`` returns the kernels'
results in block order, so a caller that sums partial results sums them in the same
order every time (training stays bit-for-bit reproducible).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from tinycoat.backend import device_of, get_array_module

BLOCK_BYTES = 1 << 19          # target size of one array's block: 512 KiB (a whole step measured
                               # 2–4 % faster than with 256 KiB or 1 MiB blocks on a 2 MiB-L2 core)

_num_threads = None
_pool = None
_pool_size = 0
_inside_worker = threading.local()


def get_num_threads() -> int:
    """Host threads used by ``map_blocks``: TINYCOAT_NUM_THREADS, or the cores this process may use."""
    global _num_threads
    if _num_threads is None:
        env = os.environ.get("TINYCOAT_NUM_THREADS")
        if env is not None:
            set_num_threads(int(env))
        else:
            _num_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return _num_threads


def set_num_threads(n: int) -> None:
    """Use ``n`` host threads for blocked operations (1: run every block in the calling thread)."""
    global _num_threads
    if int(n) < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, got {n}")
    _num_threads = int(n)


def _thread_pool(workers):
    global _pool, _pool_size
    if _pool is None or _pool_size != workers:
        if _pool is not None:
            _pool.shutdown(wait=True)
        _pool, _pool_size = ThreadPoolExecutor(workers, thread_name_prefix="tinycoat"), workers
    return _pool


def block_bounds(rows: int, row_bytes: int, block_bytes: int):
    """[(start, stop), ...]: ``rows`` cut into runs of about ``block_bytes`` each (at least one row)."""
    per_block = max(1, round(block_bytes / max(1, row_bytes)))
    return [(start, min(start + per_block, rows)) for start in range(0, rows, per_block)]


def map_blocks(kernel, *arrays, block_bytes: int | None = None, whole: bool = False):
    """[kernel(*blocks) for each block of the batch], computed on every host core.

    The arrays with the most dimensions are the batch: they are cut along axis 0 and
    must agree on its length (or have length 1). Everything else is passed whole to
    every block — arrays with fewer dimensions (NumPy broadcasts those along the
    leading axes anyway, e.g. a (C,) weight against (N, T, C) tokens), arrays of
    length 1, numbers and None. ``kernel`` writes its output into blocks of arrays it
    was given (``out=``) and/or returns a partial result. It must not touch shared state.
    ``whole=True`` makes one call on the whole arrays: for an op whose own statistics run
    along axis 0, so that cutting it there would change the result.
    """
    ndim = max((getattr(a, "ndim", 0) for a in arrays), default=0)
    batched = [getattr(a, "ndim", 0) == ndim > 0 and a.shape[0] != 1 for a in arrays]
    if whole or not any(batched) or any(device_of(a) == "gpu" for a in arrays if hasattr(a, "shape")):
        return [kernel(*arrays)]
    rows = next(a.shape[0] for a, cut in zip(arrays, batched) if cut)
    for k, (a, cut) in enumerate(zip(arrays, batched)):
        if cut and a.shape[0] != rows:
            raise ValueError(f"map_blocks: array {k} has shape {tuple(a.shape)}, expected {rows} or 1 "
                             f"rows to match the others")
    widest = max(a.nbytes // rows for a, cut in zip(arrays, batched) if cut)
    bounds = block_bounds(rows, widest, BLOCK_BYTES if block_bytes is None else block_bytes)

    def run(span):
        outer, _inside_worker.active = getattr(_inside_worker, "active", False), True
        try:
            return [kernel(*(a[i:j] if cut else a for a, cut in zip(arrays, batched))) for i, j in span]
        finally:
            _inside_worker.active = outer

    threads = min(get_num_threads(), len(bounds))
    if threads == 1 or getattr(_inside_worker, "active", False):   # no pool inside a pool
        return run(bounds)
    # Contiguous runs of blocks, one per thread; the calling thread takes the first itself.
    cuts = [len(bounds) * t // threads for t in range(threads + 1)]
    spans = [bounds[cuts[t]:cuts[t + 1]] for t in range(threads)]
    futures = [_thread_pool(threads - 1).submit(run, span) for span in spans[1:]]
    results = run(spans[0])
    for future in futures:
        results += future.result()
    return results


def map_elements(kernel, *arrays):
    """``map_blocks`` for a kernel that treats every element alike (no broadcasting, no sums).

    Same-shape C-contiguous arrays are first viewed as (rows, last axis), so that a block
    can be smaller than one sample: one 96-channel 32×32 activation is already 393 KB,
    more than a block, and a chain of steps over it would spill out of the cache.
    """
    present = [a for a in arrays if a is not None]
    if len({(a.shape, a.strides) for a in present}) == 1 and present[0].ndim >= 2:
        # the same layout: view every array with its axes in memory order (a channel-major
        # (N, C, H, W) array as (C, N, H, W)); if that is contiguous, cut it as rows
        order = sorted(range(present[0].ndim), key=lambda i: -present[0].strides[i])
        if present[0].transpose(order).flags.c_contiguous:
            arrays = tuple(None if a is None else a.transpose(order).reshape(-1, a.shape[order[-1]])
                           for a in arrays)
    return map_blocks(kernel, *arrays)


def broadcast_shape(*shapes):
    """The shape NumPy's broadcasting gives ``shapes``, or None if they do not broadcast."""
    ndim = max(len(s) for s in shapes)
    result = []
    for sizes in zip(*[(1,) * (ndim - len(s)) + tuple(s) for s in shapes]):
        big = max(sizes)
        if any(n not in (1, big) for n in sizes):
            return None
        result.append(big)
    return tuple(result)


def binary_in_blocks(ufunc, a, b):
    """ufunc(a, b) (add, multiply, ...): when b only broadcasts against a float array a (a
    residual sum, a drop-path mask, two gradients of one tensor), block by block on every core."""
    xp = get_array_module(a)
    if (a.ndim < 2 or getattr(b, "dtype", None) != a.dtype or a.dtype.kind != "f"
            or broadcast_shape(a.shape, b.shape) != a.shape):
        return ufunc(a, b)
    # the result laid out like a, or like b where a is itself a broadcast (a stride of 0)
    out = xp.empty_like(b if 0 in a.strides and b.shape == a.shape else a)
    if a.shape == b.shape and a.strides == b.strides:
        map_elements(lambda x, y, o: ufunc(x, y, out=o), a, b, out)
    else:
        map_blocks(lambda x, y, o: ufunc(x, y, out=o), a, b, out)
    return out


def sum_in_order(partials):
    """The sum of per-block partial results, added in block order (the same bits every run)."""
    total = None
    for p in partials:
        total = p if total is None else total + p
    return total
