"""Twin of amp.py::matrix_product on a GPU, for CUDA graphs: cuBLAS called directly.

CuPy refuses cuBLAS while a stream is being captured into a CUDA graph: each of its cuBLAS calls
first re-binds the handle to the current stream, and it raises if that stream is capturing.
cuBLAS itself can be captured, given a handle bound to the capturing stream *before* the capture
and a workspace of its own, so that it never allocates while captured. This module keeps such a
handle and calls cuBLAS's strided-batched GEMM through ctypes. The twin runs only while
fast/cuda_graph.py captures a step, and in the eager step before (``accepts``); everywhere else
CuPy's ``a @ b`` runs.

Row-major and column-major. NumPy and CuPy store a matrix by rows, cuBLAS reads it by columns,
and a row-major m×n matrix read by columns is its transpose, n×m. So C = A·B is computed as

    Cᵀ = Bᵀ·Aᵀ        cuBLAS's first operand is our B, its second our A, C is written as Cᵀ

and nothing is copied. An operand that is itself the transpose of a row-major array (what the
backward passes multiply: Wᵀ, colsᵀ, Kᵀ) is read with cuBLAS's transpose flag. Batch axes
broadcast as in NumPy: an operand with one matrix for all is read with batch stride 0; one
broadcast along some batch axes only is copied out first.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import math
import os

from tinycoat.backend import array_module, device_of
from tinycoat.fast import cuda_graph

NO_TRANSPOSE, TRANSPOSE = 0, 1          # cublasOperation_t
_WORKSPACE_BYTES = 32 << 20             # cuBLAS asks for 32 MiB on Hopper GPUs


class GemmError(RuntimeError):
    """cuBLAS could not be loaded or called directly (cuda_graph.py then runs the step eagerly)."""


@dataclasses.dataclass
class Operand:
    """A batch of matrices as cuBLAS reads it: row-major storage (batch, rows, cols), ``transposed``
    if the matrix we mean is that storage's transpose, and the stride between matrices (0: one for all)."""
    storage: object
    transposed: bool
    batch_stride: int


@dataclasses.dataclass
class Plan:
    """One cublas<t>gemmStridedBatched call computing Cᵀ = op(first)·op(second), column-major."""
    first: Operand             # our B
    second: Operand            # our A
    m: int                     # cuBLAS's m, n, k: our n, m, k
    n: int
    k: int
    ld_first: int
    ld_second: int
    ldc: int
    batch: int
    out_shape: tuple


def _broadcast_shape(*shapes):
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for sizes in zip(*padded):
        big = max(sizes)
        if any(s not in (1, big) for s in sizes):
            raise ValueError(f"matrix_product: batch shapes {shapes} do not broadcast")
        out.append(big)
    return tuple(out)


def operand(x, batch_shape, xp) -> Operand:
    """``x`` (..., r, c) as an Operand for the batch ``batch_shape``, copied only where it must be."""
    r, c = x.shape[-2:]
    own = math.prod(x.shape[:-2])
    if own != 1 and (1,) * (len(batch_shape) - x.ndim + 2) + tuple(x.shape[:-2]) != tuple(batch_shape):
        x = xp.ascontiguousarray(xp.broadcast_to(x, tuple(batch_shape) + (r, c)))   # broadcast along some axes
    stride = 0 if own == 1 else r * c
    if x.flags.c_contiguous:
        return Operand(x.reshape(-1, r, c), False, stride)
    flipped = xp.swapaxes(x, -1, -2)
    if flipped.flags.c_contiguous:                        # x is the transpose of a row-major array
        return Operand(flipped.reshape(-1, c, r), True, stride)
    return Operand(xp.ascontiguousarray(x).reshape(-1, r, c), False, stride)


def plan(a, b, xp) -> Plan:
    """How cuBLAS computes a @ b for a (..., m, k) and b (..., k, n)."""
    (m, k), n = a.shape[-2:], b.shape[-1]
    if b.shape[-2] != k:
        raise ValueError(f"matrix_product: shapes {a.shape} and {b.shape} do not align")
    batch_shape = _broadcast_shape(a.shape[:-2], b.shape[:-2])
    first, second = operand(b, batch_shape, xp), operand(a, batch_shape, xp)
    # Read by columns, row-major B (k, n) is Bᵀ with leading dimension n, and A (m, k) is Aᵀ with k:
    # just what Cᵀ = Bᵀ·Aᵀ needs. A transposed storage holds B (A) itself: the flag, and the other ld.
    return Plan(first, second, m=n, n=m, k=k,
                ld_first=k if first.transposed else n, ld_second=m if second.transposed else k,
                ldc=n, batch=math.prod(batch_shape), out_shape=tuple(batch_shape) + (m, n))


class _Cublas:
    """A cuBLAS handle of our own, bound to one stream with its own workspace."""
    _instance = None

    @classmethod
    def get(cls):
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def __init__(self):
        cupy = array_module("gpu")
        cupy.cuda.device.get_cublas_handle()             # makes CuPy load its libcublas
        try:
            self.lib = ctypes.CDLL(_libcublas_path())
            for name in ("cublasCreate_v2", "cublasSetStream_v2", "cublasSetWorkspace_v2", "cublasSetMathMode",
                         "cublasSgemmStridedBatched", "cublasDgemmStridedBatched"):
                getattr(self.lib, name)
        except (OSError, AttributeError) as error:
            raise GemmError(f"fast/gemm.py: cannot call cuBLAS directly ({error})") from None
        self.handle = ctypes.c_void_p()
        self._check(self.lib.cublasCreate_v2(ctypes.byref(self.handle)), "cublasCreate")
        self.workspace = cupy.empty(_WORKSPACE_BYTES, dtype=cupy.uint8)
        for name in ("cublasSgemmStridedBatched", "cublasDgemmStridedBatched"):
            getattr(self.lib, name).argtypes = [
                ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_longlong, ctypes.c_void_p, ctypes.c_int,
                ctypes.c_longlong, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_longlong, ctypes.c_int]

    @staticmethod
    def _check(status, what):
        if status != 0:
            raise GemmError(f"{what} failed with cuBLAS status {status}")

    def bind(self, stream_ptr: int):
        """Issue on ``stream_ptr`` from now on (before a capture begins, not during). Always re-bound:
        a new stream may have the address of a destroyed one."""
        self._check(self.lib.cublasSetStream_v2(self.handle, ctypes.c_void_p(stream_ptr)), "cublasSetStream")
        # setStream resets the workspace to cuBLAS's own pool, which would allocate: ours again
        self._check(self.lib.cublasSetWorkspace_v2(self.handle, ctypes.c_void_p(self.workspace.data.ptr),
                                                   ctypes.c_size_t(_WORKSPACE_BYTES)), "cublasSetWorkspace")
        tf32 = int(os.environ.get("CUPY_TF32", "0") or 0) > 0   # as CuPy reads it (backend.use_tf32 sets it)
        self._check(self.lib.cublasSetMathMode(self.handle, 3 if tf32 else 0), "cublasSetMathMode")

    def gemm(self, p: Plan, out):
        if p.first.storage.dtype.char == "f":
            call, scalar = self.lib.cublasSgemmStridedBatched, ctypes.c_float
        else:
            call, scalar = self.lib.cublasDgemmStridedBatched, ctypes.c_double
        one, zero = scalar(1.0), scalar(0.0)
        op = lambda o: TRANSPOSE if o.transposed else NO_TRANSPOSE  # noqa: E731
        status = call(self.handle, op(p.first), op(p.second), p.m, p.n, p.k, ctypes.byref(one),
                      p.first.storage.data.ptr, p.ld_first, p.first.batch_stride,
                      p.second.storage.data.ptr, p.ld_second, p.second.batch_stride,
                      ctypes.byref(zero), out.data.ptr, p.ldc, p.m * p.n, p.batch)
        self._check(status, "cublas<t>gemmStridedBatched")


def _libcublas_path() -> str:
    """The libcublas this process has loaded for CuPy: of CuPy's CUDA major version (PyTorch, loaded
    beside it, may have brought another), else the loader's."""
    major = array_module("gpu").cuda.runtime.runtimeGetVersion() // 1000
    loaded = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split(None, 5)
                if len(fields) == 6 and "/libcublas.so" in fields[5]:
                    loaded.append(fields[5].strip())
    except OSError:
        pass
    for path in loaded:
        if path.endswith(f"libcublas.so.{major}") or f"libcublas.so.{major}." in path:
            return path
    if loaded:
        return loaded[0]
    found = ctypes.util.find_library("cublas")
    if found is None:
        raise GemmError("fast/gemm.py: cannot find libcublas (CuPy's cuBLAS library) to call it directly")
    return found


def bind_stream(stream) -> None:
    """Bind the handle to ``stream`` (a cupy Stream) before capturing on it."""
    _Cublas.get().bind(stream.ptr)


def accepts(a, b):
    """While a CUDA graph is recorded (and in the eager step before): float32 or float64 CuPy arrays of
    one dtype, 2-D or more."""
    return (cuda_graph.direct_products() and device_of(a) == device_of(b) == "gpu" and a.dtype == b.dtype
            and a.dtype.char in "fd" and a.ndim >= 2 and b.ndim >= 2)


def matrix_product(a, b):
    """a @ b through our own cuBLAS handle, on the stream it was bound to (bind_stream)."""
    cupy = array_module("gpu")
    p = plan(a, b, cupy)
    if p.m == 0 or p.n == 0 or p.batch == 0:
        return cupy.empty(p.out_shape, dtype=a.dtype)
    if p.k == 0:
        return cupy.zeros(p.out_shape, dtype=a.dtype)
    out = cupy.empty(p.out_shape, dtype=a.dtype)
    _Cublas.get().gemm(p, out)
    return out
