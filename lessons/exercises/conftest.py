"""Exercise tests: reseed before each one, so a failure reproduces exactly."""
import pytest

import tinycoat as tc


@pytest.fixture(autouse=True)
def _seed():
    tc.manual_seed(0)
