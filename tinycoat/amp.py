"""Mixed precision: matrix products in float16 inside ``autocast``, everything else in float32.

    with tc.amp.autocast():                        # float16 products for the ops recorded here
        loss = F.cross_entropy(model(x), y)
    scaler.scale(loss).backward()                  # optim.GradScaler: see grad_scaler.py

What changes. Every matrix product of a float32 op recorded inside ``autocast`` (``@``,
``F.linear``, ``F.conv2d``; ``autocast_matmul`` below is the one place that decides) rounds its
two inputs to float16, multiplies them with float32 sums, and rounds the result to float16:

    C = fp16( fp16(A) · fp16(B) )    returned as float32

On a GPU that is one float16 product on the tensor cores (cuBLAS keeps float32 sums), at several
times the float32 rate; the casts are two extra passes over the inputs and one over the output.
On the CPU NumPy has no fast float16 product, so the same numbers are made by rounding around a
float32 product: slower, not faster, and there only so that everything can be tested without a GPU.
Parameters, gradients, norms, softmax and the loss stay float32, which is why it is *mixed*
precision; activations are stored in float32 too, so memory does not shrink here.

The backward products of an op use the precision its forward was recorded with, whether or not
``backward()`` runs inside ``autocast`` (as in PyTorch). Float16 keeps 11 significant bits and
reaches from 6e-8 (subnormal) to 65504: products are good to ~1e-3, and small gradients flush to
zero, which is what loss scaling (``optim.GradScaler``) is for. float64 ops are never touched.
bfloat16 is not offered: neither NumPy nor CuPy has that type.
"""
from __future__ import annotations

import contextlib
import threading

from tinycoat import twins
from tinycoat.backend import device_of, get_array_module

_state = threading.local()   # .dtype: "float16" inside autocast, None outside (per thread)


class autocast:
    """Context manager: float16 matrix products for the ops recorded inside (``enabled=False``: none)."""

    def __init__(self, enabled: bool = True, dtype="float16"):
        if str(dtype) != "float16":
            raise ValueError(f"autocast: dtype must be 'float16' (NumPy and CuPy have no bfloat16), got {dtype!r}")
        self.dtype = "float16" if enabled else None

    def __enter__(self):
        self._outer = autocast_dtype()
        _state.dtype = self.dtype
        return self

    def __exit__(self, *exc):
        _state.dtype = self._outer


def autocast_dtype():
    """'float16' inside ``autocast``, else None. A Function records it in its forward."""
    return getattr(_state, "dtype", None)


def matrix_product(a, b):
    """a @ b of two arrays of at least 2 dimensions: every matrix product of tinycoat's ops runs
    through here (autocast_matmul). Its GPU twin (fast/gemm.py) issues the product where CuPy
    cannot: inside the capture of a CUDA graph (fast/cuda_graph.py)."""
    return a @ b


def autocast_matmul(a, b, dtype):
    """a @ b, with the rounding described above when ``dtype`` is 'float16' and both are float32."""
    if dtype is None or a.dtype.char != "f" or b.dtype.char != "f":
        if a.ndim < 2 or b.ndim < 2:
            return a @ b
        return twins.pick(matrix_product, device_of(a), a, b)(a, b)
    # CuPy computes a float16 product whose result is a single number (1×k times k×1) as a
    # reduction with float16 sums (seen on an H200: 2 float16 steps off at k = 4); every other
    # shape goes to cuBLAS with float32 sums. That one case takes the CPU's way below.
    one_number = max(a.ndim, b.ndim) <= 2 and (a.ndim < 2 or a.shape[-2] == 1) and (b.ndim < 2 or b.shape[-1] == 1)
    if device_of(a) == "gpu" and not one_number:
        return (a.astype(dtype) @ b.astype(dtype)).astype(a.dtype)
    # CPU: the same numbers through a float32 product of float16-rounded inputs. Beyond 65504
    # float16 holds inf, as on the GPU (GradScaler's overflow check sees it): NumPy is told not
    # to warn about it (CuPy never warns, and has no errstate).
    on_host = device_of(a) == "cpu"
    with get_array_module(a).errstate(over="ignore") if on_host else contextlib.nullcontext():
        product = a.astype(dtype).astype(a.dtype) @ b.astype(dtype).astype(a.dtype)
        return product.astype(dtype).astype(a.dtype)
