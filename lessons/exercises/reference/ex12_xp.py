"""Lesson 12, exercise 1 (reference answer): one function for NumPy and CuPy arrays."""
from tinycoat import backend


def normalize_rows(x):
    xp = backend.get_array_module(x)          # numpy or cupy: whichever owns x
    return x / xp.sqrt((x * x).sum(axis=1, keepdims=True))
