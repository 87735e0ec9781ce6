"""How the exercise tests find the code they check.

Every exercise test runs twice:

* against ``reference/<name>.py`` — the course's own answer (a spoiler: read it after
  trying), so ``pytest lessons/`` is green out of the box and proves the exercise can be
  solved;
* against ``solutions/<name>.py`` — *your* answer. Until you create that file this run is
  SKIPPED, and the skip message says which file to write.

    pytest lessons/                                   # every exercise
    pytest lessons/exercises/test_exercise_05.py -k yours    # only your answer to lesson 05
"""
import importlib.util
import pathlib

import pytest
from hypothesis import HealthCheck, settings

HERE = pathlib.Path(__file__).resolve().parent


def load(name: str, which: str):
    """Import ``reference/<name>.py`` or ``solutions/<name>.py`` as a fresh module."""
    folder = HERE / ("reference" if which == "reference" else "solutions")
    file = folder / f"{name}.py"
    if not file.exists():
        if which == "yours":
            pytest.skip(f"your answer is not written yet: create lessons/exercises/solutions/{name}.py "
                        f"(the exercise in the lesson says what it must define)")
        raise FileNotFoundError(f"the reference solution {file} is missing")
    spec = importlib.util.spec_from_file_location(f"{which}_{name}", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exercise(name: str):
    """A fixture giving the reference module, then yours: ``solution = exercise("ex05_depthwise")``."""
    @pytest.fixture(params=["reference", "yours"], scope="module")
    def solution(request):
        return load(name, request.param)
    return solution


# Hypothesis settings for the exercise tests: few, deterministic examples, no deadline
# (a first call may be slow), and the (module-scoped) solution fixture is fine to share.
checks = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
