"""The benchmark's per-op breakdown knows every Function in tinycoat (none lands in "other")."""
import importlib
import pathlib
import pkgutil
import sys

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
