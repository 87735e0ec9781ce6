"""Timing helpers shared by the benchmark scripts (scripts, never timed tests).

Every figure is a median over repeats after a warm-up, and GPU work is
synchronized before the clock is read (CuPy launches kernels asynchronously).
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tinycoat import backend  # noqa: E402


def synchronize(device):
    if device == "gpu":
        backend.array_module("gpu").cuda.get_current_device().synchronize()


def median_time(fn, device="cpu", repeats=5, warmup=1):
    """Median wall time of ``fn()`` in seconds."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_ceiling_gflops(device="cpu", n=1024, repeats=5):
    """This machine's float32 matrix-product speed (2n³ FLOPs per n×n product): the ceiling
    that conv, attention and whole-model figures are compared against."""
    xp = backend.array_module(device)
    rng = backend.generator(device)
    a = rng.standard_normal((n, n), dtype=xp.float32)
    b = rng.standard_normal((n, n), dtype=xp.float32)
    t = median_time(lambda: a @ b, device, repeats)
    return 2 * n ** 3 / t / 1e9


def machine_description(device="cpu"):
    desc = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    try:
        import numpy
        desc += f", NumPy {numpy.__version__}"
    except ImportError:  # pragma: no cover
        pass
    if device == "gpu":
        cupy = backend.array_module("gpu")
        props = cupy.cuda.runtime.getDeviceProperties(0)
        desc += f", {props['name'].decode()} (CuPy {cupy.__version__})"
    return desc


def emit_json(record):
    print(json.dumps(record, sort_keys=True))
