"""tinycoat.fast: the fast wing — every speed technique, as twins of the readable reference ops.

    import tinycoat as tc
    tc.fast.enable()                   # twins on, OpenBLAS's idle spin limited, malloc tuned
    with tc.fast.enabled(False):       # ... the reference tier alone inside the with
        ...
    tc.fast.disable()

The ops the lessons cite (tinycoat/ops/, tinycoat/nn/functional/, optim/) are the
*reference tier*: each the formula as array code, forward beside backward. The wing holds
twins of them with the same arguments and the same results, registered in the table below;
while it is on, ``Function.apply`` runs a twin in place of its reference (tinycoat/twins.py).
tests/test_fast_twins.py proves each twin equal to its reference, forward and backward.
The library starts with the wing off; train_cifar.py and the benchmarks switch it on
(``--reference`` runs them without it).

    blocks.py          cache-sized blocks of the batch on every host core; threads
    layout.py          channel-major maps: (N, C, H, W) laid out (C, N, H, W)
    host.py            OpenBLAS's idle spin, glibc's malloc
    cuda_kernels.py    the CUDA kernels (GELU, SiLU, BatchNorm, LayerNorm, softmax, depthwise, im2col, AdamW,
                       clipping)
    arithmetic.py      Add, Mul, MatMul, Mean and the engine's gradient sums, in blocks
    conv.py            conv2d: 1×1 without patches, channel-major columns; CUDA im2col/col2im
    depthwise.py       the depthwise convolution as one small product per channel; CUDA
    normalization.py   BatchNorm and LayerNorm in fewer passes, one visit per channel block; CUDA
    activations.py     GELU's erfc in place, the slope in the forward; CUDA GELU and SiLU
    softmax.py         softmax in blocks, in place; CUDA
    pooling.py         max pooling as a running maximum in blocks
    channel_scale.py   squeeze-excitation's gate in blocks
    multi_tensor.py    AdamW and clipping of every parameter at once: one CUDA launch, not one per tensor
    cuda_graph.py      a step's gradients recorded once as a CUDA graph and replayed: one launch a step
    gemm.py            matrix products by cuBLAS directly, which a CUDA graph can capture (CuPy's cannot)

Lesson 11 ("Making it fast") tells each technique with what it measured. An op with no twin
is one where none paid: F.linear with its bias added in place, or AdamW's update in place on
the CPU, measured within noise of the reference (0.1 % of a tiny training step).
"""
from __future__ import annotations

import contextlib

from tinycoat import twins
from tinycoat.autograd import accumulate
from tinycoat.fast import (activations, arithmetic, channel_scale, conv, cuda_kernels, depthwise, gemm, host,
                           multi_tensor, normalization, pooling, softmax)
from tinycoat.fast.cuda_graph import CudaGraphStep  # noqa: F401
from tinycoat.fast.blocks import get_num_threads, set_num_threads  # noqa: F401
from tinycoat.amp import matrix_product
from tinycoat.nn.functional.activations import GELU, SiLU
from tinycoat.nn.functional.channel_scale import ScaleChannels
from tinycoat.nn.functional.conv import Conv2d
from tinycoat.nn.functional.depthwise import DepthwiseConv2d
from tinycoat.nn.functional.normalization import BatchNorm, BatchNormEval, LayerNorm
from tinycoat.nn.functional.pooling import MaxPool2d
from tinycoat.nn.functional.softmax import Softmax
from tinycoat.ops.arithmetic import Add, MatMul, Mul
from tinycoat.ops.reduction import Mean
from tinycoat.optim.adamw import adamw_update_each
from tinycoat.optim.clip import clip_gradients_

# reference (what the lessons cite)  its CPU twin                    its GPU twin
TWINS = [
    (Add,                             arithmetic.Add,                 None),
    (Mul,                             arithmetic.Mul,                 None),
    (MatMul,                          arithmetic.MatMul,              None),
    (Mean,                            arithmetic.Mean,                None),
    (accumulate,                      arithmetic.accumulate,          None),
    (Conv2d,                          conv.Conv2d,                    conv.Conv2d),
    (DepthwiseConv2d,                 depthwise.DepthwiseConv2d,      depthwise.DepthwiseConv2d),
    (BatchNorm,                       normalization.BatchNorm,        normalization.BatchNorm),
    (BatchNormEval,                   normalization.BatchNormEval,    normalization.BatchNormEval),
    (LayerNorm,                       normalization.LayerNorm,        normalization.LayerNorm),
    (GELU,                            activations.GELU,               activations.GELU),
    (SiLU,                            None,                           activations.SiLU),
    (Softmax,                         softmax.Softmax,                softmax.Softmax),
    (MaxPool2d,                       pooling.MaxPool2d,              None),
    (ScaleChannels,                   channel_scale.ScaleChannels,    channel_scale.ScaleChannels),
    (adamw_update_each,               None,                           multi_tensor.adamw_update_each),
    (clip_gradients_,                 None,                           multi_tensor.clip_gradients_),
    (matrix_product,                  None,                           gemm.matrix_product),
]
# Where a twin handles only some inputs, the reference runs for the others (gemm.py's: only
# while a CUDA graph is captured; AdamW's: not with amsgrad; the depthwise one: not dilated; the
# convolution's: one group).
_GPU_ACCEPTS = {activations.SiLU: cuda_kernels.available, multi_tensor.adamw_update_each: multi_tensor.adamw_accepts,
                multi_tensor.clip_gradients_: multi_tensor.kernel_accepts, gemm.matrix_product: gemm.accepts,
                depthwise.DepthwiseConv2d: depthwise.accepts, conv.Conv2d: conv.accepts}
_CPU_ACCEPTS = {depthwise.DepthwiseConv2d: depthwise.accepts, conv.Conv2d: conv.accepts}

for _reference, _cpu, _gpu in TWINS:
    if _cpu is not None:
        twins.register(_reference, _cpu, "cpu", accepts=_CPU_ACCEPTS.get(_cpu))
    if _gpu is not None:
        twins.register(_reference, _gpu, "gpu", accepts=_GPU_ACCEPTS.get(_gpu))


def enable(malloc: bool = True) -> None:
    """Switch the twins on, limit OpenBLAS's idle spin and (``malloc=True``) tune glibc's malloc.

    The host settings (host.py) are process-wide and stay after ``disable()``; they change
    no number. Call it at start-up, while no matrix product runs in another thread.
    """
    host.limit_blas_spin()
    if malloc:
        host.tune_malloc()
    twins.set_enabled(True)


def disable() -> None:
    """Switch the twins off: every op runs its reference (the code the lessons cite)."""
    twins.set_enabled(False)


def is_enabled() -> bool:
    return twins.is_enabled()


@contextlib.contextmanager
def enabled(flag: bool = True):
    """``with tc.fast.enabled(False):`` runs the reference tier alone inside, ``enabled()`` the
    twins; the previous setting comes back afterwards. (Host settings are not touched.)"""
    previous = twins.set_enabled(flag)
    try:
        yield
    finally:
        twins.set_enabled(previous)
