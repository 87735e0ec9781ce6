"""Twins of the optimizer's tail on a GPU: AdamW and gradient clipping over a whole list of
parameters in one launch each.

The reference (optim/adamw.py::adamw_update_each, optim/clip.py::clip_gradients_) walks the
list: ~14 array operations per parameter for AdamW, one rescale per gradient for clipping. A
CoAtNet has about two hundred parameters of a few hundred numbers each, so on a GPU that tail
was several hundred kernel launches of 10–60 µs of host time each, for almost no arithmetic.
Here the kernels of cuda_kernels.py (``MULTI_TENSOR``) treat the list as one concatenation:
every thread finds its tensor by a binary search over the list's start offsets and reaches it
through a table of addresses. The table is built on the host and copied to the GPU in one
transfer per call (the gradients are new arrays every step, so their addresses are too).

    AdamW:    1 launch                                            (was ~14 per parameter)
    clipping: Σx² in partial sums, their sum, √ — and 1 rescale    (was 1 per gradient and a copy)

AMSGrad (``amsgrad=True``: a running maximum of the second moments) is not in the kernel:
``adamw_accepts`` declines it, and the reference runs. (``maximize`` needs nothing here: the
optimizer hands over the negated gradients.)
"""
from __future__ import annotations

import math
import struct

from tinycoat.backend import array_module
from tinycoat.fast import cuda_graph, cuda_kernels

_PARTIALS = 64 * 256       # threads of the sum of squares (its partial sums): a fixed order, so a fixed result


def kernel_accepts(*lists, **params):
    """Where the kernels apply: non-empty lists of float32 or float64 CuPy arrays, all of one dtype,
    each contiguous (a kernel indexes its entries 0..size-1)."""
    arrays = [a for group in lists for a in group]
    return (bool(arrays) and cuda_kernels.available(*arrays) and len({a.dtype.char for a in arrays}) == 1
            and all(a.flags.c_contiguous for a in arrays))


def adamw_accepts(ps, gs, ms, vs, v_maxes=None, **params):
    """Where the AdamW kernel applies: kernel_accepts's arrays, without AMSGrad's ``v_maxes``."""
    return v_maxes is None and kernel_accepts(ps, gs, ms, vs)


def _bits(value: float) -> int:
    """A float64's bit pattern as an int64, so that coefficients travel in the table's one transfer."""
    return struct.unpack("<q", struct.pack("<d", value))[0]


def table(lists, coefficients, address):
    """The host's side of the table: a list of int64s, [starts (count + 1) | the addresses of each
    list (count each) | the coefficients' bit patterns]. The lists hold arrays of equal sizes,
    tensor by tensor; ``address(a)`` is where array a's data begins."""
    starts = [0]
    for a in lists[0]:
        starts.append(starts[-1] + a.size)
    return starts + [address(a) for group in lists for a in group] + [_bits(c) for c in coefficients]


def table_parts(table_array, count, lists):
    """Views of a table array (int64, NumPy or CuPy): starts, one address table per list, coefficients."""
    ends = [count + 1 + k * count for k in range(lists + 1)]
    return ([table_array[:count + 1]] + [table_array[a:b] for a, b in zip(ends, ends[1:])]
            + [table_array[ends[-1]:].view("float64")])


def adamw_coefficients(lr, beta1, beta2, weight_decay, steps):
    """Per parameter: decay = 1 − η·λ, step_size = η / (1 − β₁ᵗ), bias2_root = √(1 − β₂ᵗ)."""
    return [c for step in steps for c in (1 - lr * weight_decay, lr / (1 - beta1 ** step),
                                          math.sqrt(1 - beta2 ** step))]


def _on_gpu(lists, coefficients=()):
    """The table copied to the GPU in one transfer, and its parts; with the entries' total and count."""
    values = table(lists, coefficients, lambda a: a.data.ptr)
    count = len(lists[0])
    return values[count], count, table_parts(_upload(values), count, len(lists))


def _upload(values):
    """int64 ``values`` in a new GPU array. While a CUDA graph is captured (cuda_graph.py) CuPy refuses
    host-to-device copies; the copy is then issued from pinned host memory, which the graph's
    replays read again, so it is kept as long as the graph."""
    cupy = array_module("gpu")
    if not cuda_graph.capturing():
        return cupy.asarray(values, dtype=cupy.int64)
    nbytes = 8 * len(values)
    host = cupy.cuda.alloc_pinned_memory(nbytes)
    struct.pack_into(f"<{len(values)}q", host, 0, *values)
    device = cupy.empty(len(values), dtype=cupy.int64)
    runtime = cupy.cuda.runtime
    runtime.memcpyAsync(device.data.ptr, host.ptr, nbytes, runtime.memcpyHostToDevice,
                        cupy.cuda.get_current_stream().ptr)
    cuda_graph.hold(host)
    return device


def adamw_update_each(ps, gs, ms, vs, lr, beta1, beta2, eps, weight_decay, steps, v_maxes=None):
    """optim/adamw.py::adamw_update_each in one launch: every p, m and v read, then written, in place.
    Without AMSGrad only (``adamw_accepts``: with it the reference runs)."""
    if v_maxes is not None:
        raise ValueError("the AdamW kernel has no AMSGrad: its running maximum runs in the reference "
                         "(optim/adamw.py::adamw_update_each), which twins.pick chooses for it")
    if cuda_graph.capturing():
        raise RuntimeError("AdamW's update cannot be part of a CUDA graph: its learning rate and bias corrections "
                           "change every step. Call optimizer.step() after the graphed step (cuda_graph.py)")
    coefficients = adamw_coefficients(lr, beta1, beta2, weight_decay, steps)
    total, count, (starts, p_at, g_at, m_at, v_at, coef) = _on_gpu([ps, gs, ms, vs], coefficients)
    cupy = array_module("gpu")
    cuda_kernels.launch("adamw_each", ps[0].dtype, total,
                        (cupy.int64(total), starts, cupy.int32(count), p_at, g_at, m_at, v_at, coef,
                         cupy.float64(beta1), cupy.float64(beta2), cupy.float64(eps)))


def clip_gradients_(grads, max_norm, eps):
    """optim/clip.py::clip_gradients_ in four launches: the global norm (a 0-d float64 array,
    never read by the host) is returned, every gradient rescaled in place."""
    cupy = array_module("gpu")
    total, count, (starts, g_at, _) = _on_gpu([grads])
    partial = cupy.empty(_PARTIALS, dtype=cupy.float64)
    dtype = grads[0].dtype
    cuda_kernels.launch("sum_squares_each", dtype, _PARTIALS,
                        (cupy.int64(total), starts, cupy.int32(count), g_at, partial, cupy.int64(_PARTIALS)))
    sum_squares = partial.sum()
    cuda_kernels.launch("clip_each", dtype, total, (cupy.int64(total), starts, cupy.int32(count), g_at, sum_squares,
                                                    cupy.float64(max_norm), cupy.float64(eps)))
    return cupy.sqrt(sum_squares)
