"""Lesson 02, exercise 1 (reference answer): sum a gradient back to a broadcast input's shape."""
import numpy as np


def unbroadcast(grad, shape):
    shape = tuple(shape)
    grad = np.asarray(grad)
    extra = grad.ndim - len(shape)
    if extra:                                    # axes the input did not have at all
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:                                # axes where the input had size 1
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)
