"""Settings of the host's libraries that buy speed and change no number: OpenBLAS, glibc's malloc.

**OpenBLAS's idle spin.** OpenBLAS, the matrix library inside NumPy's wheels, keeps its idle
worker threads spinning for 2^28 CPU cycles (~0.1 s) after every matrix product, in case
another one follows. On a few cores they then take the cores from the wing's own threads
(blocks.py) during every elementwise pass between two products; a spin of 2^12 cycles
measured a 1.2-1.3× faster training step on 2 cores (values 4-18 alike).

OpenBLAS reads ``OPENBLAS_THREAD_TIMEOUT`` from the environment once, when NumPy loads it,
and that happens at ``import numpy`` — in a user's script usually before tinycoat is even
imported. So ``limit_blas_spin`` does both: it puts the value in the environment (for
OpenBLAS not yet loaded, and for child processes), and if OpenBLAS is already loaded with
another value it has OpenBLAS read its environment again and restart its threads, which
then start with the new limit. The import order therefore does not matter. A value the user
set in the environment is kept (``OPENBLAS_THREAD_TIMEOUT=28`` gives back OpenBLAS's own).

**glibc's malloc.** By default glibc serves every allocation above its mmap threshold
(128 KiB to 32 MiB, adaptive) with a fresh ``mmap``: the kernel then faults in and zeroes
every page of every new activation or gradient, step after step, and ``free`` unmaps it
again. ``tune_malloc`` makes large blocks come from the heap and keeps up to 1 GiB of freed
heap for reuse, so a training step recycles the memory of the previous one (1.14× on nano's
CPU training step).

Both change process-wide state that outlives ``tinycoat.fast.disable()``; neither changes
a single computed number.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import warnings

BLAS_THREAD_TIMEOUT = 12            # log2 of the CPU cycles an idle OpenBLAS thread spins
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4     # mallopt parameter numbers, from glibc's <malloc.h>


def _loaded_openblas():
    """The OpenBLAS library this process has loaded (ctypes), or None (Linux only: found in
    /proc/self/maps, so that no second copy is loaded by asking)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_thread_timeout.restype = ctypes.c_int
            return lib
        except (OSError, AttributeError):
            continue
    return None


def blas_thread_timeout():
    """OpenBLAS's idle-spin limit in effect, as log2 of CPU cycles.

    0 means OpenBLAS runs with its built-in default (2^28 cycles); None that no OpenBLAS
    is loaded or it cannot be asked.
    """
    lib = _loaded_openblas()
    return None if lib is None else int(lib.openblas_thread_timeout())


def limit_blas_spin(timeout: int = BLAS_THREAD_TIMEOUT):
    """Let OpenBLAS's idle threads sleep after 2^timeout cycles, whether or not it is loaded yet.

    Returns the limit now in effect (``blas_thread_timeout``). Call it while no matrix product
    is running in another thread (it restarts OpenBLAS's threads).
    """
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", str(timeout))
    lib = _loaded_openblas()
    try:
        wanted = int(os.environ["OPENBLAS_THREAD_TIMEOUT"])
    except ValueError:
        return blas_thread_timeout()                       # the user's own (odd) value: leave it
    if lib is None or lib.openblas_thread_timeout() == wanted:
        return blas_thread_timeout()
    try:
        lib.openblas_read_env()                            # the environment again ...
        lib.blas_thread_shutdown_()                        # ... and its threads restart with it
    except AttributeError:
        warnings.warn("tinycoat.fast: this OpenBLAS was loaded before its idle spin could be limited "
                      "and cannot re-read its settings; set OPENBLAS_THREAD_TIMEOUT=12 in the "
                      "environment before starting Python (~1.3x on a few cores)", stacklevel=3)
    return blas_thread_timeout()


# OpenBLAS's thread-count functions, as a plain build names them and as NumPy's wheels do
# (scipy-openblas, built with a prefix and a 64-bit-integer suffix).
SET_THREADS = ("openblas_set_num_threads", "scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads")
GET_THREADS = ("openblas_get_num_threads", "scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads")


def _blas_function(names):
    lib = _loaded_openblas()
    for name in names if lib is not None else ():
        if hasattr(lib, name):
            return getattr(lib, name)
    return None


def blas_threads():
    """The number of threads OpenBLAS uses now (None if no OpenBLAS is loaded or it cannot be asked)."""
    get = _blas_function(GET_THREADS)
    if get is None:
        return None
    get.restype = ctypes.c_int
    return int(get())


def set_blas_threads(n: int) -> bool:
    """Let OpenBLAS use ``n`` threads from now on (several processes on one machine, e.g. the ranks
    of a data-parallel run, would otherwise each start one per core and fight over them: 4x slower
    on 2 cores, measured). Returns False where no OpenBLAS is loaded or it cannot be asked."""
    set_threads = _blas_function(SET_THREADS)
    if set_threads is None:
        return False
    set_threads(ctypes.c_int(int(n)))
    return True


def tune_malloc(trim_threshold: int = 2 ** 30) -> bool:
    """Keep freed large arrays in the process instead of returning them to the kernel (glibc only).

    ``M_MMAP_MAX = 0`` makes large blocks come from the heap, and a large
    ``M_TRIM_THRESHOLD`` keeps up to ``trim_threshold`` bytes of freed heap for reuse.
    Best called at start-up, before the big arrays exist. Returns False, changing nothing,
    where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl without mallopt)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)))
