"""Twins of the small core ops (ops/arithmetic.py, ops/reduction.py, autograd.py): every host core.

NumPy runs ``a + b`` on one core. In a training step of coatnet_cifar_nano the residual sums,
drop-path products, the gradients of tensors used twice (38 sums a step), squeeze-excitation's
pooling and attention's batched products took ~135 ms with the second core idle. Here each is
cut into cache-sized blocks on every core (blocks.py), and writes its result laid out like its
big operand, so a channel-major map (layout.py) stays channel-major. Same math, same numbers:
a sum of two numbers is the same sum in any block (measured on nano: 58.8 → 60.0 img/s).

    Add, Mul          forward (and Mul's backward products) in blocks       ops/arithmetic.py
    MatMul            stacks of matrices cut along their batch axis           ops/arithmetic.py
    Mean              a mean over non-batch axes, blocks of samples           ops/reduction.py
    accumulate        the engine's gradient sums                              autograd.py

A twin subclasses its reference and overrides only what it speeds up (Add and Mean keep the
reference's backward, MatMul everything but the product itself).
"""
from __future__ import annotations

from tinycoat.amp import autocast_matmul
from tinycoat.autograd import unbroadcast
from tinycoat.backend import get_array_module
from tinycoat.fast.blocks import binary_in_blocks, broadcast_shape, map_blocks
from tinycoat.ops import arithmetic, reduction


class Add(arithmetic.Add):
    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return binary_in_blocks(get_array_module(a).add, a, b)


class Mul(arithmetic.Mul):
    def forward(self, a, b):
        self.a = a if self.needs_input_grad[1] else None
        self.b = b if self.needs_input_grad[0] else None
        self.a_shape, self.b_shape = a.shape, b.shape
        return binary_in_blocks(get_array_module(a).multiply, a, b)

    def backward(self, g):
        mul = get_array_module(g).multiply
        ga = unbroadcast(binary_in_blocks(mul, g, self.b), self.a_shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(binary_in_blocks(mul, g, self.a), self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb


def batched_matmul(a, b, precision):
    """a @ b; stacks of matrices with one leading batch axis in common (attention's (B, heads, n, k))
    are cut along it into blocks on every host core, which NumPy's matmul would run on one."""
    xp = get_array_module(a)
    batch = broadcast_shape(a.shape[:-2], b.shape[:-2])
    if a.ndim < 3 or a.ndim != b.ndim or a.shape[0] != b.shape[0] or a.dtype != b.dtype or batch is None:
        return autocast_matmul(a, b, precision)
    out = xp.empty(batch + (a.shape[-2], b.shape[-1]), dtype=a.dtype)

    def block(ab, bb, ob):
        if precision is None:
            xp.matmul(ab, bb, out=ob)
        else:
            ob[...] = autocast_matmul(ab, bb, precision)
    map_blocks(block, a, b, out)
    return out


class MatMul(arithmetic.MatMul):
    def product(self, a, b):
        return batched_matmul(a, b, self.precision)


class Mean(reduction.Mean):
    def forward(self, x, axes=(), keepdims=False):
        self.shape, self.axes = x.shape, axes
        if 0 in axes or x.ndim < 2 or x.dtype.kind != "f":
            return x.mean(axis=axes, keepdims=keepdims)
        # Every sample's mean is its own (squeeze-excitation's pooling): blocks of samples
        xp = get_array_module(x)
        out = xp.empty_like(x, shape=tuple(1 if i in axes else n for i, n in enumerate(x.shape)))   # x's layout
        map_blocks(lambda xb, ob: xp.mean(xb, axis=axes, keepdims=True, out=ob), x, out)
        return out if keepdims else out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))


def accumulate(total, grad):
    """total + grad in blocks (a residual's input, SE's map: gradients arriving on two paths)."""
    return binary_in_blocks(get_array_module(total).add, total, grad)
