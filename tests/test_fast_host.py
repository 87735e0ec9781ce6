"""tinycoat.fast's host settings: OpenBLAS's idle spin (whatever the import order) and glibc's malloc."""
import os
import subprocess
import sys

import pytest

import tinycoat as tc
from tinycoat.fast import host

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _timeout_in_a_fresh_process(code, **env):
    """What blas_thread_timeout() reports in a new Python that runs ``code`` first."""
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    environ.update(env)
    out = subprocess.run([sys.executable, "-c", code + "; from tinycoat.fast import host; "
                          "print(host.blas_thread_timeout())"],
                         capture_output=True, text=True, env=environ, check=True, cwd=ROOT)
    return out.stdout.strip()


def test_openblas_spin_is_limited_by_enable_whatever_the_import_order():
    """The reference tier leaves OpenBLAS alone; ``tc.fast.enable()`` limits its idle spin whether
    NumPy was loaded before tinycoat or by it, and a value the user put in the environment wins."""
    if host.blas_thread_timeout() is None:
        pytest.skip("this NumPy's BLAS is not an OpenBLAS that can be asked (or not Linux)")
    limit = str(host.BLAS_THREAD_TIMEOUT)
    assert _timeout_in_a_fresh_process("import tinycoat") == "0"                  # OpenBLAS's own default
    assert _timeout_in_a_fresh_process("import tinycoat; tinycoat.fast.enable(malloc=False)") == limit
    assert _timeout_in_a_fresh_process("import numpy; numpy.ones((64, 64)) @ numpy.ones((64, 64)); "
                                       "import tinycoat; tinycoat.fast.enable(malloc=False)") == limit
    assert _timeout_in_a_fresh_process("import tinycoat; tinycoat.fast.enable(malloc=False)",
                                       OPENBLAS_THREAD_TIMEOUT="20") == "20"


def test_tune_malloc_says_whether_it_could():
    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's mallopt is a Linux matter")
    assert host.tune_malloc() is True


def test_enable_disable_and_the_context_manager():
    assert not tc.fast.is_enabled()                   # the library starts on the reference tier
    tc.fast.enable(malloc=False)
    assert tc.fast.is_enabled()
    with tc.fast.enabled(False):
        assert not tc.fast.is_enabled()
        with tc.fast.enabled():
            assert tc.fast.is_enabled()
        assert not tc.fast.is_enabled()
    assert tc.fast.is_enabled()
    tc.fast.disable()
    assert not tc.fast.is_enabled()


def test_a_twin_for_a_bad_device_is_refused():
    with pytest.raises(ValueError, match="device must be 'cpu' or 'gpu', got 'tpu'"):
        tc.twins.register(object, object, "tpu")


def test_blas_threads_can_be_set_where_openblas_is_loaded():
    """NumPy's own wheels name the function scipy_openblas_set_num_threads64_: it must be found."""
    import numpy as np
    from tinycoat.fast import host
    np.ones((64, 64)) @ np.ones((64, 64))            # OpenBLAS is loaded by now (if NumPy uses it)
    before = host.blas_threads()
    if before is None:
        pytest.skip("this NumPy does not use an OpenBLAS that can be asked for its threads")
    try:
        assert host.set_blas_threads(1) and host.blas_threads() == 1
    finally:
        host.set_blas_threads(before)
    assert host.blas_threads() == before
