"""Shared test set-up: Hypothesis profiles and the `device` fixture.

The "ci" profile (chosen when CI is set, or by HYPOTHESIS_PROFILE=ci) bounds the examples and removes the
deadline so a loaded 2-core CI machine never fails a test on timing alone.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

import tinycoat as tc

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


def _gpu_skip_reason():
    try:
        tc.backend.array_module("gpu")
    except tc.DeviceError as exc:
        return f"no GPU: {exc}"
    return None


GPU_SKIP_REASON = _gpu_skip_reason()


@pytest.fixture(scope="session", params=["cpu", "gpu"])
def device(request):
    """Run a test once on NumPy ('cpu') and once on CuPy ('gpu', skipped without one)."""
    if request.param == "gpu" and GPU_SKIP_REASON:
        pytest.skip(GPU_SKIP_REASON)
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    tc.manual_seed(0)


@pytest.fixture(autouse=True)
def _reference_tier():
    """Every test starts with the fast wing off (the library's default), whatever the test
    before it switched on (train_cifar.main switches it on in-process)."""
    tc.fast.disable()
    yield
    tc.fast.disable()
