"""The one place that knows NumPy from CuPy.

Every other module in tinycoat asks a tensor for its array module (``tensor.xp``)
and writes ``xp.exp(x)``, ``xp.matmul(a, b)``, ... so that the same line runs on
NumPy arrays (device ``"cpu"``) and on CuPy arrays (device ``"gpu"``).  This
module is where that choice is made: it imports NumPy, imports CuPy lazily (only
when a GPU tensor is first asked for), moves arrays between devices, and owns
the random number generators behind ``tinycoat.manual_seed``, and the GPU's
TensorFloat-32 mode (``use_tf32``, a choice of precision). The settings of the host's
libraries that only buy speed (OpenBLAS's idle spin, glibc's malloc) belong to the fast
wing: tinycoat/fast/host.py.
"""
from __future__ import annotations

import os

import numpy

DEVICES = ("cpu", "gpu")
_DEVICE_ALIASES = {"cpu": "cpu", "gpu": "gpu", "cuda": "gpu"}

# dtypes are NumPy dtype objects; CuPy uses the very same ones.
float16 = numpy.dtype("float16")
float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int32 = numpy.dtype("int32")
int64 = numpy.dtype("int64")
uint8 = numpy.dtype("uint8")
bool_ = numpy.dtype("bool")

_DTYPE_NAMES = {"float16": float16, "float32": float32, "float64": float64,
                "int32": int32, "int64": int64, "uint8": uint8, "bool": bool_}

# The default floating dtype of new tensors made from Python numbers (PyTorch's rule).
default_float = float32


class DeviceError(RuntimeError):
    """A tensor or array is on the wrong device, or the device is not available."""


# --------------------------------------------------------------------------- devices

_cupy_module = None


def _import_cupy():
    """Return the CuPy module, or explain clearly why there is none."""
    global _cupy_module
    if _cupy_module is not None:
        return _cupy_module
    try:
        import cupy
    except ImportError as exc:  # not installed (or its CUDA libraries are missing)
        raise DeviceError(
            "the GPU (device 'gpu' or 'cuda') needs CuPy, but CuPy is not installed: pip install 'tinycoat[gpu]' "
            "(CuPy for CUDA 12), or 'tinycoat[gpu-cuda13]' for CUDA 13; from a source checkout, "
            f"pip install -e '.[gpu]'. Import error: {exc}"
        ) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError: no driver, or a driver older than the wheel
        raise DeviceError(
            "the GPU (device 'gpu' or 'cuda'): CuPy is installed but found no usable CUDA device or driver "
            f"({type(exc).__name__}: {exc}). Check `nvidia-smi`, and that the CuPy wheel "
            "matches the driver's CUDA version (cupy-cuda12x or cupy-cuda13x)."
        ) from exc
    if count < 1:
        raise DeviceError("the GPU (device 'gpu' or 'cuda'): CuPy is installed but no CUDA device is visible "
                          "(CUDA_VISIBLE_DEVICES may hide it).")
    _cupy_module = cupy
    return cupy


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        _import_cupy()
    except DeviceError:
        return False
    return True


def gpu_name() -> str:
    """The current CUDA device's name, e.g. "NVIDIA H200"."""
    cupy = _import_cupy()
    name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"]
    return name.decode() if isinstance(name, bytes) else name


def describe(device="cpu") -> str:
    """The machine in a few words, for a run's report: architecture and CPU cores, and on a GPU its
    name (e.g. "x86_64, 16 CPU cores, NVIDIA H200")."""
    import platform
    text = f"{platform.machine()}, {os.cpu_count()} CPU cores"
    return text + (f", {gpu_name()}" if canonical_device(device) == "gpu" else "")


def use_tf32(enabled: bool = True) -> None:
    """Let float32 matrix products on the GPU run on TensorFloat-32 tensor cores (Ampere and newer).

    TF32 rounds each product's inputs to 10 mantissa bits and keeps the sums in float32:
    several times the float32 matmul speed, at ~1e-3 relative error per product (as
    PyTorch's ``allow_tf32``). CuPy reads ``CUPY_TF32`` at its first float32 product; the
    setting is also handed to CuPy directly when it is already loaded. No effect on the CPU.
    """
    os.environ["CUPY_TF32"] = "1" if enabled else "0"
    linalg = getattr(getattr(_cupy_module, "_core", None), "_routines_linalg", None)
    if linalg is not None and hasattr(linalg, "set_compute_type"):
        mode = linalg.COMPUTE_TYPE_TF32 if enabled else linalg.COMPUTE_TYPE_DEFAULT
        linalg.set_compute_type(float32, mode)


def canonical_device(device) -> str:
    """'cpu' or 'gpu' from what a user may write ('cpu', 'gpu', 'cuda', PyTorch's 'cuda:0')."""
    name = str(device).lower()
    base, _, index = name.partition(":")
    if base in _DEVICE_ALIASES and index and index != "0":
        raise ValueError(f"device {device!r}: tinycoat uses one GPU per process, 'cuda' or 'cuda:0' (choose which "
                         "one with CUDA_VISIBLE_DEVICES)")
    if base not in _DEVICE_ALIASES:
        raise ValueError(f"unknown device {device!r}: expected one of 'cpu', 'gpu' (or 'cuda')")
    return _DEVICE_ALIASES[base]


def device_and_dtype(device, dtype):
    """``to(device, dtype)``'s arguments, with PyTorch's ``to(dtype)`` too: a first argument
    that names no device but a dtype (``x.to(tc.float64)``) is the dtype."""
    if device is not None and dtype is None and str(device).lower().partition(":")[0] not in _DEVICE_ALIASES:
        try:
            return None, as_dtype(device)
        except TypeError:
            pass                    # neither: canonical_device below says so
    return (None if device is None else canonical_device(device)), (None if dtype is None else as_dtype(dtype))


def _is_cupy_array(array) -> bool:
    # Checking the type's module avoids importing CuPy just to answer "no".
    return type(array).__module__.startswith("cupy")


def nccl_module():
    """CuPy's NCCL binding (cupy.cuda.nccl), for all-reducing GPU arrays between processes."""
    _import_cupy()
    try:
        from cupy.cuda import nccl
        nccl.get_version()
    except Exception as exc:  # ImportError, or a CuPy built without NCCL
        raise DeviceError("data-parallel GPU training needs NCCL, which this CuPy cannot load: "
                          "pip install nvidia-nccl-cu12 (or -cu13 to match cupy-cuda13x). "
                          f"Error: {type(exc).__name__}: {exc}") from exc
    return nccl


def is_host_array(obj) -> bool:
    """Whether ``obj`` is a NumPy array (not a NumPy scalar, not a CuPy array)."""
    return isinstance(obj, numpy.ndarray)


def device_of(array) -> str:
    """The device an array lives on: 'gpu' for CuPy arrays, 'cpu' for everything else."""
    return "gpu" if _is_cupy_array(array) else "cpu"


def operand_for(value, device, what):
    """``value`` ready to be written into an array on ``device`` in place (``+=``, ``x[i] = v``): a
    host 0-d array (np.float32(0.5)) becomes a number, which any device takes; an array on another
    device is refused with ``what`` (e.g. "x[index] = value") naming the operation."""
    if getattr(value, "ndim", None) == 0 and device_of(value) == "cpu":
        return value.item()
    if hasattr(value, "shape") and device_of(value) != device:
        raise DeviceError(f"{what}: the tensor written into is on '{device}', the value on '{device_of(value)}'")
    return value


def cuda_device(device=None):
    """The device that ``.cuda(device)`` names: the GPU, by default or by its index (cuda(0)), or as given."""
    return "gpu" if device is None else f"cuda:{device}" if isinstance(device, int) else device


def array_module(device):
    """NumPy for 'cpu', CuPy for 'gpu'."""
    return _import_cupy() if canonical_device(device) == "gpu" else numpy


def get_array_module(array):
    """The array module (numpy or cupy) that owns ``array``."""
    return _import_cupy() if _is_cupy_array(array) else numpy


def to_device(array, device):
    """Move (or copy only if needed) an array to ``device``."""
    device = canonical_device(device)
    if device == "gpu":
        cupy = _import_cupy()
        return array if _is_cupy_array(array) else cupy.asarray(array)
    return array.get() if _is_cupy_array(array) else numpy.asarray(array)


def to_numpy(array):
    """A host NumPy array holding the same values (copies from the GPU)."""
    return to_device(array, "cpu")


def as_array(data, dtype=None, device="cpu"):
    """An array on ``device`` from Python numbers, lists, NumPy or CuPy arrays.

    Python floats become ``default_float`` (float32), as in PyTorch; arrays keep
    their dtype unless ``dtype`` is given.
    """
    device = canonical_device(device)
    given = data
    if dtype is not None:
        dtype = as_dtype(dtype)
    if isinstance(data, numpy.generic):  # NumPy scalars (e.g. 0-d results) keep their dtype
        data = numpy.asarray(data)
    if not (isinstance(data, numpy.ndarray) or _is_cupy_array(data)):
        try:
            host = numpy.asarray(data)
        except ValueError:          # NumPy's words for it: "inhomogeneous shape after 1 dimensions"
            raise ValueError("a tensor needs rectangular data: every row of a nested list the same "
                             f"length, got {_preview(given)}") from None
        if dtype is None and host.dtype.kind == "f":
            host = host.astype(default_float)
        data = host
    if data.dtype.kind not in "biuf":   # strings, objects, complex: nothing tinycoat computes with
        raise TypeError(f"a tensor holds numbers (bool, int, float), got dtype {data.dtype} from {_preview(given)}")
    if dtype is not None and data.dtype != dtype:
        data = data.astype(dtype)
    return to_device(data, device)


def _preview(data, width=60):
    text = repr(data)
    return text if len(text) <= width else text[:width - 3] + "..."


def as_dtype(dtype):
    """A NumPy dtype from a dtype, a type or a name such as 'float32'."""
    if isinstance(dtype, str) and dtype in _DTYPE_NAMES:
        return _DTYPE_NAMES[dtype]
    try:
        return numpy.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"unknown dtype {dtype!r}: expected e.g. 'float32' or 'float64'") from exc


def scatter_add(target, index, values):
    """target[index] += values, adding repeated indices (``add.at``: NumPy's, and CuPy's since v12)."""
    get_array_module(target).add.at(target, index, values)
    return target


# --------------------------------------------------------------------------- randomness

_seed = None
_generators = {}


def manual_seed(seed: int) -> None:
    """Seed the random numbers of every device (as ``torch.manual_seed``)."""
    global _seed
    if not isinstance(seed, (int, numpy.integer)) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative int, got {seed!r}")
    _seed = int(seed)
    _generators.clear()  # recreated from the seed on first use, per device


def generator(device="cpu"):
    """The seeded random generator of ``device`` (numpy or cupy ``Generator``)."""
    device = canonical_device(device)
    if device not in _generators:
        xp = array_module(device)
        _generators[device] = xp.random.default_rng(_seed)
    return _generators[device]


def reseed(device, *key) -> None:
    """Give ``device`` a fresh generator seeded from the integers ``key`` (e.g. seed, rank, step):
    distinct keys give independent streams."""
    seed = int(numpy.random.SeedSequence([int(k) for k in key]).generate_state(1)[0])
    _generators[canonical_device(device)] = array_module(device).random.default_rng(seed)


def get_rng_state() -> dict:
    """The CPU generator's state as JSON-able data (for checkpoints)."""
    return generator("cpu").bit_generator.state


def set_rng_state(state: dict) -> None:
    generator("cpu").bit_generator.state = state
