"""The benchmark's per-op breakdown knows every Function in tinycoat (none lands in "other")."""
import importlib
import pathlib
import pkgutil
import sys

import pytest

import tinycoat
from tinycoat.autograd import Function

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_function_has_an_op_type(monkeypatch):
    for module in pkgutil.walk_packages(tinycoat.__path__, "tinycoat."):
        importlib.import_module(module.name)
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    train_step = importlib.import_module("train_step")
    try:
        names = sorted({f.__name__ for f in _subclasses(Function) if f.__module__.startswith("tinycoat.")})
        assert len(names) > 30
        unknown = [n for n in names if train_step.category(n) == "other"]
        assert not unknown, f"add these Functions to benchmarks/train_step.py CATEGORIES: {unknown}"
    finally:
        sys.modules.pop("train_step", None)
        sys.modules.pop("common", None)


def _launch_count(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    module = importlib.import_module("launch_count")
    return module


def test_the_launch_counter_counts_what_a_gpu_would_launch(monkeypatch):
    """Known expressions: each kernel a GPU would run is one count; views and empty() are free."""
    import numpy as np
    lc = _launch_count(monkeypatch)
    rows = np.array([0, 2])                 # (made before counting: in counting, a host→device copy)
    try:
        with lc.counting() as counts:
            a = np.zeros((4, 3))            # 1: fills memory
            b = a + 1                       # 1: elementwise
            b.sum(axis=0)                   # 1: a reduction
            b[rows]                         # 1: a gather
            _ = b.T, b[1:3], b.reshape(3, 4), np.empty(3)     # views and an allocation: free
            b[0] = 5                        # 1: a copy into memory
            np.concatenate([a, b])          # 1
            b.T.copy()                      # 1
            b.T.reshape(12)                 # 1: a non-contiguous reshape copies
        assert sum(counts.values()) == 8, dict(counts)
        assert isinstance(b, lc.CountingArray)
    finally:
        sys.modules.pop("launch_count", None)
        sys.modules.pop("common", None)
    assert type(np.zeros(2)) is np.ndarray                    # NumPy restored after counting


def test_a_training_steps_count_is_complete_and_repeatable(monkeypatch):
    """Every Function of the step issues at least one counted operation (so the count is not
    missing whole ops), and two counts of the same step agree."""
    from tinycoat import autograd
    lc = _launch_count(monkeypatch)
    applied = []
    apply = autograd.Function.apply.__func__

    def counting_apply(cls, *inputs, **params):
        applied.append(cls.__name__)
        return apply(cls, *inputs, **params)
    try:
        monkeypatch.setattr(autograd.Function, "apply", classmethod(counting_apply))
        first = lc.count_training_step(batch_size=2)
        forward_functions = len(applied) // 2              # two steps were run; the last one counted
        second = lc.count_training_step(batch_size=2)
    finally:
        sys.modules.pop("launch_count", None)
        sys.modules.pop("common", None)
    assert sum(first["forward"].values()) >= forward_functions > 100
    assert first == second
    assert first["backward"]["matmul"] > 0 and first["optimizer"]["sqrt"] > 0


def test_the_gpu_twins_path_is_counted_on_the_stand_in(monkeypatch):
    """--gpu: the GPU twins' kernels are counted (one launch each), the optimizer's tail is a few
    launches for the whole model (the multi-tensor twins), and the table and kernels come back after."""
    from tinycoat import twins
    from tinycoat.fast import cuda_kernels
    lc = _launch_count(monkeypatch)
    table, available = dict(twins._twins), cuda_kernels.available
    try:
        gpu = lc.count_training_step(batch_size=2, gpu=True)
        again = lc.count_training_step(batch_size=2, gpu=True)
        reference = lc.count_training_step(batch_size=2)
    finally:
        sys.modules.pop("launch_count", None)
        sys.modules.pop("common", None)
    assert gpu == again
    kernels = {k for part in gpu.values() for k in part if k.startswith("kernel ")}
    assert {"kernel layer_norm_forward", "kernel softmax_rows", "kernel depthwise_forward", "kernel adamw_each",
            "kernel clip_each", "kernel batch_norm_apply", "kernel gelu_forward"} <= kernels
    assert sum(gpu["optimizer"].values()) <= 12 < 1000 < sum(reference["optimizer"].values())
    assert sum(gpu["forward"].values()) < sum(reference["forward"].values())
    assert twins._twins == table and cuda_kernels.available is available


NCU_OUTPUT = '''==PROF== Connected to process 4242 (/usr/bin/python3)
==PROF== Profiling "tinycoat_gelu_forward": 0%....50%....100% - 1 pass
"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size","Device","CC","Section Name","Metric Name","Metric Unit","Metric Value"
"0","4242","python3","127.0.0.1","tinycoat_gelu_forward","1","13","(128, 1, 1)","(512, 1, 1)","0","9.0","Command line profiler metrics","gpu__time_duration.sum","nsecond","2,048"
"1","4242","python3","127.0.0.1","sm90_xmma_gemm_f32f32_tf32f32_f32_tn_n_tilesize128x64x32","1","13","(256, 1, 1)","(24, 1, 1)","0","9.0","Command line profiler metrics","gpu__time_duration.sum","nsecond","6000"
"2","4242","python3","127.0.0.1","cupy_multiply__float32_float32_float32","1","13","(128, 1, 1)","(64, 1, 1)","0","9.0","Command line profiler metrics","gpu__time_duration.sum","usecond","1.5"
"3","4242","python3","127.0.0.1","void cub::DeviceReduceKernel<...>","1","13","(256, 1, 1)","(8, 1, 1)","0","9.0","Command line profiler metrics","gpu__time_duration.sum","nsecond","452"
==PROF== Disconnected from process 4242
'''


def test_kernel_times_reads_ncu_csv_and_sorts_kernels_by_kind(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    kernel_times = importlib.import_module("kernel_times")
    try:
        rows = kernel_times.parse_ncu_csv(NCU_OUTPUT)
        assert [ns for _, ns in rows] == [2048, 6000, 1500, 452]
        by_kind, total = kernel_times.summarize(rows)
        assert total == 10000
        assert by_kind == {"tinycoat kernels": (1, 2048), "matrix products": (1, 6000),
                           "other elementwise": (1, 1500), "reductions": (1, 452)}
        with pytest.raises(ValueError, match="no ncu CSV"):
            kernel_times.parse_ncu_csv("==PROF== No kernels were profiled.\n")
    finally:
        sys.modules.pop("kernel_times", None)
        sys.modules.pop("common", None)
