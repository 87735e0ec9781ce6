"""Lesson 03, exercise 1 (reference answer): the central-difference gradient of a scalar function."""
import numpy as np


def numerical_gradient(f, x, eps=1e-6):
    x = np.asarray(x, dtype=np.float64)
    work = x.copy()                       # perturb a copy: the caller's x is never touched
    grad = np.zeros_like(work)
    for idx in np.ndindex(work.shape):
        original = work[idx]
        work[idx] = original + eps
        plus = f(work)
        work[idx] = original - eps
        minus = f(work)
        work[idx] = original
        grad[idx] = (plus - minus) / (2 * eps)
    return grad
