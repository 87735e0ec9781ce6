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
