"""Device handling: clear errors for a missing CuPy, a missing GPU, and mixed devices."""
import os
import sys
import types

import numpy as np
import pytest

import tinycoat as tc
from tinycoat import backend


@pytest.fixture
def no_cached_cupy(monkeypatch):
    monkeypatch.setattr(backend, "_cupy_module", None)


def test_gpu_without_cupy_says_how_to_install(monkeypatch, no_cached_cupy):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    with pytest.raises(tc.DeviceError, match=r"CuPy is not installed: pip install 'tinycoat\[gpu\]'"):
        tc.zeros(2, device="gpu")
    assert tc.gpu_available() is False


def test_cupy_without_a_device_or_driver(monkeypatch, no_cached_cupy):
    fake = types.ModuleType("cupy")

    class CUDARuntimeError(RuntimeError):
        pass

    def no_driver():
        raise CUDARuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")

    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_driver))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(tc.DeviceError, match="no usable CUDA device or driver.*insufficient"):
        tc.tensor([1.0], device="gpu")
    fake.cuda.runtime.getDeviceCount = lambda: 0
    with pytest.raises(tc.DeviceError, match="no CUDA device is visible"):
        tc.tensor([1.0], device="gpu")


def test_mixing_devices_names_both(monkeypatch):
    class StandIn(np.ndarray):         # an array whose type says "CuPy", on a machine without a GPU
        __module__ = "cupy.stand_in"
    a = tc.ones(2)
    b = tc.ones(2)
    b.data = b.data.view(StandIn)
    assert b.device == "gpu"
    with pytest.raises(tc.DeviceError, match=r"Add: .*input 0 on 'cpu', input 1 on 'gpu'"):
        a + b


def test_mixing_real_devices(device):
    if device == "cpu":
        pytest.skip("needs a GPU to hold one of the two tensors")
    with pytest.raises(tc.DeviceError, match="input 0 on 'cpu', input 1 on 'gpu'"):
        tc.ones(2) * tc.ones(2, device="gpu")


def test_to_device_round_trip(device):
    x = tc.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x.to(device)
    assert y.device == device
    (y * 2).to("cpu").sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 2.0))


def test_xp_is_the_tensors_array_module(device):
    x = tc.ones(2, device=device)
    assert x.xp is backend.array_module(device)
    assert isinstance(x.data, x.xp.ndarray)


def test_seed_must_be_a_non_negative_int():
    with pytest.raises(ValueError, match="non-negative int"):
        tc.manual_seed(-1)


def test_use_tf32_sets_what_cupy_reads(monkeypatch):
    """CuPy decides TF32 from CUPY_TF32 at its first float32 matmul; use_tf32 sets it both ways."""
    monkeypatch.delenv("CUPY_TF32", raising=False)
    backend.use_tf32()
    assert os.environ["CUPY_TF32"] == "1"
    backend.use_tf32(False)
    assert os.environ["CUPY_TF32"] == "0"


def test_tf32_changes_float32_matmuls_on_the_gpu(device):
    """On an Ampere-or-newer GPU, TF32 products are visibly less exact than float32 ones."""
    if device != "gpu":
        pytest.skip("TensorFloat-32 is a GPU mode")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 256, 256))
    exact = a @ b
    errors = []
    for tf32 in (False, True, False):
        backend.use_tf32(tf32)
        ga, gb = (backend.to_device(m.astype(np.float32), "gpu") for m in (a, b))
        errors.append(np.abs(backend.to_numpy(ga @ gb) - exact).max())
    assert errors[1] > 10 * errors[0] and errors[2] < 2 * errors[0]


def test_a_tensor_is_made_of_rectangular_numbers():
    """Ragged lists and strings are refused in one line that shows them, not with NumPy's words."""
    with pytest.raises(ValueError, match=r"rectangular data.*\[\[1, 2\], \[3\]\]"):
        tc.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="holds numbers.*<U3 from 'abc'"):
        tc.tensor("abc")
    with pytest.raises(TypeError, match="complex128"):
        tc.tensor(np.array([1 + 2j]))
    assert tc.tensor([True, False]).dtype == np.bool_ and tc.tensor(np.uint8([1])).dtype == np.uint8


def test_constructors_name_a_bad_shape():
    for make in (tc.zeros, tc.ones, tc.randn, tc.rand):
        with pytest.raises(ValueError, match=r"non-negative ints, got \(-1,\)"):
            make(-1)
        with pytest.raises(ValueError, match=r"got \(2, 2.5\)"):
            make((2, 2.5))
    assert tc.zeros(np.int64(2), 3).shape == (2, 3) and tc.randn(0).shape == (0,)
    with pytest.raises(ValueError, match=r"non-negative ints, got \(2, -1\)"):
        tc.full((2, -1), 1.0)
    assert tc.full([2, 3], 0.5).shape == (2, 3)
    assert (tc.full((2,), 0.5).dtype, tc.full((2,), 1).dtype, tc.full((2,), True).dtype) == (
        tc.float32, tc.int64, tc.bool_)                              # the value's kind, as torch.full


def test_describe_names_the_cpu_and_the_gpu(monkeypatch, no_cached_cupy):
    """What a run's report says it ran on: architecture and cores, and the GPU's name (CUDA gives bytes)."""
    import platform
    assert backend.describe("cpu") == f"{platform.machine()}, {os.cpu_count()} CPU cores"
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=lambda: 2, getDeviceProperties=lambda i: {"name": f"GPU {i}".encode()}),
        Device=lambda: types.SimpleNamespace(id=1))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    assert backend.describe("cuda") == f"{platform.machine()}, {os.cpu_count()} CPU cores, GPU 1"   # the current one
    monkeypatch.setattr(backend, "_cupy_module", None)
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(backend.DeviceError, match="pip install"):
        backend.describe("gpu")
