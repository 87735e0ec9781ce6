"""Timing helpers shared by the benchmark scripts (scripts, never timed tests).

Figures are taken after a warm-up run, and GPU work is synchronized before the
clock is read (CuPy launches kernels asynchronously). tinycoat is imported
lazily, so a script can set BLAS thread counts before NumPy loads.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout


def compute_gradients(model, x, y):
    """A training step without its update — forward, label-smoothed cross-entropy, backward, clipping to
    norm 1 — as the benchmarks time it and as tinycoat.fast.CudaGraphStep records it. Returns the loss."""
    from tinycoat import optim
    from tinycoat.nn import functional as F
    loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
    loss.backward()
    optim.clip_grad_norm_(model.parameters(), 1.0)
    return loss


def synchronize(device):
    if device == "gpu":
        from tinycoat import backend
        backend.array_module("gpu").cuda.Device().synchronize()


def time_runs(fn, device="cpu", repeats=5, warmup=1):
    """Wall times of ``repeats`` calls of ``fn()`` (seconds), after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times


def median_time(fn, device="cpu", repeats=5, warmup=1):
    return statistics.median(time_runs(fn, device, repeats, warmup))


def best_time(fn, device="cpu", repeats=5, warmup=1):
    return min(time_runs(fn, device, repeats, warmup))


def matmul_gflops(n, k, m, device="cpu", repeats=5):
    """GFLOP/s of one float32 (n×k)·(k×m) product (2nkm FLOPs), best of ``repeats``."""
    from tinycoat import backend
    rng = backend.generator(device)
    a = rng.standard_normal((n, k), dtype="float32")
    b = rng.standard_normal((k, m), dtype="float32")
    return 2 * n * k * m / best_time(lambda: a @ b, device, repeats) / 1e9


def matmul_ceiling_gflops(device="cpu", n=None, repeats=5):
    """This machine's square float32 matmul speed: the ceiling other figures are compared to.
    n defaults to 2048 on the CPU and 8192 on a GPU (a smaller product leaves a GPU half idle)."""
    n = n or (8192 if device == "gpu" else 2048)
    return matmul_gflops(n, n, n, device, repeats)


def machine_description(device="cpu"):
    import numpy
    desc = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, NumPy {numpy.__version__}")
    if device == "gpu":
        from tinycoat import backend
        desc += f", {backend.gpu_name()} (CuPy {backend.array_module('gpu').__version__})"
    return desc


def emit_json(record):
    print(json.dumps(record, sort_keys=True))
