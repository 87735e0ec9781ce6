"""Twin of softmax (nn/functional/softmax.py): attention's softmax in blocks, in place; on a GPU,
one kernel each way.

Attention's weights are the largest arrays of the transformer stages ((B, heads, N, N)).
The reference's four passes (max, exp, sum, divide) each stream them through main memory;
here the rows are cut into cache-sized blocks of the batch on every core (blocks.py) and
every pass writes into the result's own block, in place. On a GPU, along the last axis, a
kernel with a thread per row does the forward and another the backward (cuda_kernels.py),
where the array code launches five and four.
"""
from __future__ import annotations

from tinycoat.backend import get_array_module
from tinycoat.fast import cuda_kernels
from tinycoat.fast.blocks import map_blocks
from tinycoat.nn.functional.softmax import Softmax as ReferenceSoftmax


class Softmax(ReferenceSoftmax):
    # Rows are independent, so both directions run block by block over axis 0 (on every
    # core, blocks.py) — unless the softmax runs along axis 0 itself (whole=).
    def forward(self, x, axis=-1):
        xp = get_array_module(x)
        self.axis = axis
        self.by_rows = axis == x.ndim - 1 and x.size > 0 and cuda_kernels.available(x)
        if self.by_rows:
            self.y = cuda_kernels.softmax_rows(x)
            return self.y
        if x.dtype.kind != "f":             # integers: the reference's float result (no in-place exp)
            return ReferenceSoftmax.forward(self, x, axis)

        def softmax_block(x_b, y_b):
            xp.subtract(x_b, x_b.max(axis=axis, keepdims=True), out=y_b)   # exponents <= 0: no overflow
            xp.exp(y_b, out=y_b)
            y_b /= y_b.sum(axis=axis, keepdims=True)
        self.y = xp.empty_like(x)
        map_blocks(softmax_block, x, self.y, whole=axis == 0)
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        if self.by_rows and g.dtype == self.y.dtype:
            return cuda_kernels.softmax_rows_backward(g, self.y)
        if g.dtype != self.y.dtype:         # (a float64 g for a float32 softmax: promote, as the reference)
            return ReferenceSoftmax.backward(self, g)

        def backward_block(g_b, y_b, gx_b):
            xp.subtract(g_b, (g_b * y_b).sum(axis=self.axis, keepdims=True), out=gx_b)   # g − Σ g⊙y
            gx_b *= y_b                                                                  # ⊙ y
        g_x = xp.empty_like(g)
        map_blocks(backward_block, g, self.y, g_x, whole=self.axis == 0)
        return g_x
