"""Lesson 12, exercise 1: a device-agnostic function (write solutions/ex12_xp.py)."""
import ast
import inspect

import numpy as np
import pytest

from tinycoat import backend
from exercise_tools import exercise

solution = exercise("ex12_xp")


def test_on_numpy(solution):
    x = np.random.default_rng(0).standard_normal((5, 3))
    y = solution.normalize_rows(x)
    assert isinstance(y, np.ndarray)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(y * np.linalg.norm(x, axis=1, keepdims=True), x, rtol=1e-12)


def test_imports_neither_numpy_nor_cupy(solution):
    tree = ast.parse(inspect.getsource(solution))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"numpy", "cupy"}, "ask tinycoat.backend for the array module instead"


def test_on_cupy(solution):
    if not backend.gpu_available():
        pytest.skip("needs CuPy and a CUDA device")
    cupy = backend.array_module("gpu")
    x = cupy.asarray(np.random.default_rng(0).standard_normal((5, 3)))
    y = solution.normalize_rows(x)
    assert isinstance(y, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(cupy.linalg.norm(y, axis=1)), 1.0, rtol=1e-12)
