"""The course in lessons/ is part of the code base: every lesson is checked here.

For each lesson lessons/NN-*.md:

* its ```python blocks run, in order, in one fresh namespace, from the repository root
  (``assert`` lines in them check what the prose claims);
* ```python-gpu blocks need CuPy and a CUDA device: only where a GPU is found, a second
  test runs the whole lesson again with them (all blocks in document order); elsewhere
  that test is skipped, with the reason;
* ```python-mpi blocks are one program that every rank runs: a third test runs them, in
  order, under ``mpiexec -n 2`` (skipped, with the reason, where mpi4py or mpiexec is missing);
* every file it cites in backticks exists — `tinycoat/nn/functional/depthwise.py` — and
  every name it cites as `path::name` (or `path::Class.method`) is defined in that file
  (checked with ``ast``, without importing it); a file the learner is asked to write,
  `lessons/exercises/solutions/NAME.py`, must have its reference answer in
  lessons/exercises/reference/;
* every picture it shows exists, is a PNG under 200 KB and is drawn by
  lessons/make_figures.py (the tests never redraw them: run that script by hand);
* it says what the learner will be able to do, and it ends with an Exercises section.
"""
import ast
import os
import pathlib
import re
import struct

import pytest

import tinycoat as tc

ROOT = pathlib.Path(__file__).resolve().parents[1]
LESSONS_DIR = ROOT / "lessons"
LESSONS = sorted(LESSONS_DIR.glob("[0-9][0-9]*.md"))
FIGURE_SCRIPT = LESSONS_DIR / "make_figures.py"
MAX_FIGURE_BYTES = 200_000

# Fence tags a lesson may use, and what the runner does with each.
RUN = {"python"}
GPU = {"python-gpu"}                               # run only where CuPy sees a CUDA device
MPI = {"python-mpi"}                               # run as one program by 2 MPI ranks
SHOW = {"text", "bash", "console", ""}             # shown, never run (output, shell commands)
FENCE = re.compile(r"^```([\w-]*)\s*$")


def lesson_id(path):
    return path.stem


def fenced_blocks(path):
    """[(tag, code, first_line_number)] of every fenced block, in order."""
    blocks, tag, start, body = [], None, 0, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = FENCE.match(line)
        if tag is None and match:
            tag, start, body = match.group(1), number + 1, []
        elif tag is not None and line.strip() == "```":
            blocks.append((tag, "\n".join(body) + "\n", start))
            tag = None
        elif tag is not None:
            body.append(line)
    assert tag is None, f"{path.name}: a ``` fence opened at line {start - 1} is never closed"
    return blocks


def prose(path):
    """The lesson without its fenced blocks (where citations and links are read)."""
    text = path.read_text(encoding="utf-8")
    return re.sub(r"^```[\w-]*\s*$.*?^```\s*$", "", text, flags=re.S | re.M)


def snapshot():
    """The repository's top-level entries and everything under lessons/ (a lesson must not add any)."""
    return {p.name for p in ROOT.iterdir()} | {str(p) for p in LESSONS_DIR.rglob("*")
                                               if "__pycache__" not in p.parts}


def run_blocks(path, tags):
    namespace = {"__name__": f"lesson_{path.stem.replace('-', '_')}"}
    for tag, code, first_line in fenced_blocks(path):
        if tag in tags:
            # Pad with blank lines so a traceback's line number is the line in the .md file.
            exec(compile("\n" * (first_line - 1) + code, str(path), "exec"), namespace)
    return namespace


def test_there_is_a_course():
    names = [p.name for p in LESSONS]
    assert len(LESSONS) >= 10, f"expected the numbered lessons in lessons/, found {names}"
    assert (LESSONS_DIR / "README.md").is_file(), "lessons/README.md (the course index) is missing"
    index = (LESSONS_DIR / "README.md").read_text(encoding="utf-8")
    for p in LESSONS:
        assert p.name in index, f"lessons/README.md does not link {p.name}"


@pytest.mark.parametrize("path", LESSONS, ids=lesson_id)
def test_fence_tags_are_known(path):
    for tag, _, line in fenced_blocks(path):
        assert tag in RUN | GPU | MPI | SHOW, (
            f"{path.name}:{line - 1}: unknown fence tag ```{tag}; use ```python (run by the tests), "
            f"```python-gpu (run only with a GPU), ```python-mpi (run by 2 MPI ranks) or one of "
            f"{sorted(t for t in SHOW if t)} (shown only)")


@pytest.mark.parametrize("path", LESSONS, ids=lesson_id)
def test_lesson_code_runs(path, monkeypatch):
    """The lesson's ```python blocks, in order, in a fresh namespace, from the repository root."""
    monkeypatch.chdir(ROOT)
    if not any(tag in RUN for tag, _, _ in fenced_blocks(path)):
        pytest.fail(f"{path.name} has no runnable ```python block")
    tc.manual_seed(0)
    before = snapshot()
    run_blocks(path, RUN)
    assert snapshot() == before, (
        f"{path.name} left files behind: {sorted(snapshot() ^ before)} (write into a tempfile folder)")


GPU_LESSONS = [p for p in LESSONS if any(tag in GPU for tag, _, _ in fenced_blocks(p))]


@pytest.mark.parametrize("path", GPU_LESSONS, ids=lesson_id)
def test_lesson_gpu_code_runs(path, monkeypatch):
    """The ```python-gpu blocks move work to CuPy: they can only run where a CUDA device is."""
    try:
        tc.backend.array_module("gpu")
    except tc.DeviceError as exc:
        pytest.skip(f"{path.name}: its ```python-gpu blocks need CuPy and a CUDA device, and this "
                    f"machine has none ({str(exc).split('.')[0]}); the CPU blocks ran in "
                    "test_lesson_code_runs")
    monkeypatch.chdir(ROOT)
    tc.manual_seed(0)
    run_blocks(path, RUN | GPU)


MPI_LESSONS = [p for p in LESSONS if any(tag in MPI for tag, _, _ in fenced_blocks(p))]


@pytest.mark.parametrize("path", MPI_LESSONS, ids=lesson_id)
def test_lesson_mpi_code_runs(path, tmp_path):
    """The ```python-mpi blocks, joined in order, as the program of ``mpiexec -n 2``."""
    import subprocess
    import sys
    from test_distributed import find_mpiexec, mpi_missing
    if mpi_missing():
        pytest.skip(f"{path.name}: its ```python-mpi blocks need MPI: {mpi_missing()}")
    program, line = [], 1
    for tag, code, first_line in fenced_blocks(path):
        if tag in MPI:
            program.append("\n" * (first_line - line) + code)     # line numbers stay the .md file's
            line = first_line + code.count("\n")
    script = tmp_path / f"{path.stem}.py"
    script.write_text("".join(program))
    done = subprocess.run([find_mpiexec(), "-n", "2", sys.executable, str(script)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"})
    assert done.returncode == 0, f"{path.name}'s MPI program failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


# ---------------------------------------------------------------------------- citations

LEARNER_DIR, REFERENCE_DIR = "lessons/exercises/solutions/", "lessons/exercises/reference/"
INLINE_CODE = re.compile(r"`([^`\n]+)`")
TOP_LEVEL = {p.name for p in ROOT.iterdir()}


NAME_IN_FILE = re.compile(r"`([A-Za-z_][\w.]*)` in `([\w./-]+\.py)`")


def cited_paths(path):
    """(file, name or None) for every backticked citation: `path`, `path::name`, `path::Cls.meth`
    (the lessons' convention) and also the prose form "`name` in `path`"."""
    text = prose(path)
    for name, file in NAME_IN_FILE.findall(text):
        yield file, name
    for span in INLINE_CODE.findall(text):
        span = span.strip()
        if " " in span:
            continue
        file, _, name = span.partition("::")
        first = file.split("/")[0]
        looks_like_path = ("/" in file and first in TOP_LEVEL) or (
            "/" not in file and file.endswith((".py", ".md", ".toml")) and file in TOP_LEVEL | {""})
        if "::" in span and not looks_like_path:
            raise AssertionError(f"{path.name}: `{span}`: a citation is `path/from/repo/root.py::name`")
        if looks_like_path:
            yield file, (name or None)


def defined_names(source_path):
    """Top-level names of a module (functions, classes, assignments, imports) and Class.method."""
    tree = ast.parse(source_path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        names.add(f"{node.name}.{item.name}")
                    elif isinstance(item, ast.Assign):
                        names.update(f"{node.name}.{t.id}" for t in item.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        names.add(n.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


@pytest.mark.parametrize("path", LESSONS, ids=lesson_id)
def test_cited_files_and_names_exist(path):
    citations = list(cited_paths(path))
    if path.name[:2] not in ("00",):
        assert any(f.endswith(".py") for f, _ in citations), (
            f"{path.name} should point at the source it teaches, e.g. `tinycoat/autograd.py::backward`")
    problems = []
    for file, name in citations:
        if file.startswith(LEARNER_DIR) and file != LEARNER_DIR:
            # the learner writes this file; the course's own answer must exist beside it
            file = REFERENCE_DIR + file[len(LEARNER_DIR):]
        target = ROOT / file
        if not target.exists():
            problems.append(f"`{file}` does not exist")
        elif name is not None:
            if target.suffix != ".py":
                problems.append(f"`{file}::{name}`: only .py files can be cited with ::name")
            elif name not in defined_names(target):
                problems.append(f"`{file}::{name}`: {file} defines no {name!r}")
    assert not problems, f"{path.name} cites what is not there:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------------------- figures and links

IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s#]+)(?:#[^)]*)?\)")


def png_size(file):
    data = file.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{file.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("path", LESSONS + [LESSONS_DIR / "README.md"], ids=lambda p: p.stem)
def test_figures_and_links_exist(path):
    text = prose(path)
    script = FIGURE_SCRIPT.read_text(encoding="utf-8") if FIGURE_SCRIPT.exists() else ""
    for ref in IMAGE.findall(text):
        file = (path.parent / ref).resolve()
        assert file.is_file(), f"{path.name} shows {ref}, which does not exist (run python lessons/make_figures.py)"
        assert file.stat().st_size < MAX_FIGURE_BYTES, f"{ref} is {file.stat().st_size} bytes (limit 200 KB)"
        width, height = png_size(file)
        assert 100 <= width <= 2000 and 60 <= height <= 2000, f"{ref} is {width}×{height} pixels"
        assert file.name in script, f"{ref} is not drawn by lessons/make_figures.py"
    for ref in LINK.findall(text):
        if "://" in ref:
            continue
        assert (path.parent / ref).exists(), f"{path.name} links {ref}, which does not exist"


def test_every_figure_is_used():
    shown = set()
    for path in LESSONS:
        shown.update((path.parent / ref).resolve().name for ref in IMAGE.findall(prose(path)))
    figures = {p.name for p in (LESSONS_DIR / "figures").glob("*.png")}
    assert figures, "lessons/figures/ holds no figure"
    assert not figures - shown, f"figures no lesson shows: {sorted(figures - shown)}"


# ---------------------------------------------------------------------------- shape of a lesson

@pytest.mark.parametrize("path", LESSONS, ids=lesson_id)
def test_lesson_shape(path):
    """A title, what the learner will be able to do, and Exercises (with hints) at the end."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith(f"# {path.name[:2]} "), f"{path.name} should start with '# {path.name[:2]} …'"
    opening = "\n".join(lines[:25]).lower()
    assert "you will be able to" in opening, f"{path.name} should open with what the learner will be able to do"
    sections = [i for i, line in enumerate(lines) if line.startswith("## ")]
    assert sections, f"{path.name} has no '## ' sections"
    last = lines[sections[-1]]
    assert last.lower().startswith("## exercises"), f"{path.name} should end with '## Exercises', not {last!r}"
    exercises = "\n".join(lines[sections[-1]:])
    count = len(re.findall(r"^\d+\.\s|^### ", exercises, flags=re.M))
    assert 2 <= count <= 4, f"{path.name}: expected two or three exercises, found {count}"
    assert "hint" in exercises.lower(), f"{path.name}: the exercises should come with hints"
    assert len(lines) <= 320, f"{path.name} is {len(lines)} lines: split it, a lesson is one sitting"


def test_exercise_tests_exist():
    """At least one exercise per lesson has a test the learner can run (pytest lessons/)."""
    tests = {p.name for p in (LESSONS_DIR / "exercises").glob("test_*.py")}
    for path in LESSONS:
        if path.name.startswith("00"):
            continue
        mentioned = set(re.findall(r"lessons/exercises/(test_\w+\.py)", path.read_text(encoding="utf-8")))
        assert mentioned, f"{path.name}: no exercise names its test (lessons/exercises/test_….py)"
        assert mentioned <= tests, f"{path.name} names missing exercise tests: {sorted(mentioned - tests)}"


def test_lesson_code_does_not_use_the_network():
    for path in LESSONS:
        for tag, code, line in fenced_blocks(path):
            if tag in RUN:
                assert "urlopen" not in code and "download=True" not in code, (
                    f"{path.name}:{line}: lesson code must not use the network")
