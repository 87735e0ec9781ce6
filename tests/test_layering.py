"""The layered house: imports go only downward, only the backend touches NumPy, and the
reference tier never imports the fast wing.

Layers, bottom to top. A module may import from its own layer or any lower one.
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tinycoat"

# (module prefix, layer). The longest matching prefix decides.
LAYERS = {
    "tinycoat.backend": 0,
    "tinycoat.data": 0,          # host-side data code (NumPy arrays on the CPU by design)
    "tinycoat.twins": 0,         # the table the fast wing fills and the reference tier reads
    "tinycoat.checks": 0,        # argument checks of layers and optimizers (imports nothing)
    "tinycoat.files": 0,         # files written whole or not at all (checkpoints, downloads, caches)
    "tinycoat.tensor": 1,
    "tinycoat.autograd": 1,
    "tinycoat.amp": 1,           # which precision a matrix product uses (read by ops beside it)
    "tinycoat.ops": 1,
    "tinycoat.gradcheck": 2,
    "tinycoat.nn.functional": 2,
    "tinycoat.nn": 3,
    "tinycoat.optim": 3,
    "tinycoat.models": 4,
    "tinycoat.checkpoint": 4,
    "tinycoat.fast": 4,          # the fast wing: twins of the ops of layers 1-3
    "tinycoat.distributed": 4,   # data parallelism: collectives, gradient all-reduce, SyncBatchNorm
    "tinycoat": 5,               # the package's __init__ gathers the public API
}
WING = "tinycoat.fast"

# Only these may `import numpy`: the backend, and code that works on host data.
NUMPY_ALLOWED = ("tinycoat.backend", "tinycoat.data", "tinycoat.checkpoint")


def layer_of(module):
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def imports_of(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module != "tinycoat":  # `from tinycoat import x` is checked as tinycoat.x
                yield node.module, node.lineno
            for alias in node.names:  # `from tinycoat import ops` imports tinycoat.ops
                yield f"{node.module}.{alias.name}", node.lineno


@pytest.mark.parametrize("name,path", list(modules()), ids=lambda v: str(v))
def test_imports_only_downward(name, path):
    if name == "tinycoat":
        return
    for target, line in imports_of(path):
        if not target.startswith("tinycoat"):
            continue
        if target.split(".")[1:2] and not any(target == m or target.startswith(m + ".") for m, _ in modules()):
            continue  # `from tinycoat.x import name` where name is not a module
        if name.startswith(("tinycoat.tensor",)) and target in ("tinycoat.autograd", "tinycoat.ops"):
            continue  # Tensor's operator methods call the core layer beside it
        assert layer_of(target) <= layer_of(name), (
            f"{path.relative_to(ROOT)}:{line} imports {target} (layer {layer_of(target)}) from "
            f"layer {layer_of(name)}: imports must go downward")


@pytest.mark.parametrize("name,path", list(modules()), ids=lambda v: str(v))
def test_the_reference_tier_never_imports_the_fast_wing(name, path):
    """Every module outside tinycoat/fast/ (the package's __init__ aside, which offers ``tc.fast``)
    is the reference tier: it must read the same with the wing deleted."""
    if name == "tinycoat" or name == WING or name.startswith(WING + "."):
        return
    for target, line in imports_of(path):
        assert not (target == WING or target.startswith(WING + ".")), (
            f"{path.relative_to(ROOT)}:{line} imports {target}: the reference tier must not import the "
            "fast wing (a twin registers itself in tinycoat/twins.py instead)")


def test_the_rule_above_sees_a_planted_import(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("from tinycoat.fast.blocks import map_blocks\nimport tinycoat.fast\n")
    assert [t for t, _ in imports_of(planted) if t.startswith(WING)] == [
        "tinycoat.fast.blocks", "tinycoat.fast.blocks.map_blocks", "tinycoat.fast"]


@pytest.mark.parametrize("name,path", list(modules()), ids=lambda v: str(v))
def test_numpy_only_in_backend_and_host_data(name, path):
    if name.startswith(NUMPY_ALLOWED):
        return
    for target, line in imports_of(path):
        assert target.split(".")[0] not in ("numpy", "cupy"), (
            f"{path.relative_to(ROOT)}:{line} imports {target}: ask the tensor for its array module "
            "(tensor.xp) or use tinycoat.backend instead")


def test_ci_runs_the_readme_test_command():
    """.ci/run reads its command from the README's marked block: that block must exist and
    be the documented install-and-test command."""
    readme = (ROOT / "README.md").read_text().splitlines()
    marker = next(i for i, line in enumerate(readme) if "<!-- test-command" in line)
    assert readme[marker + 1].startswith("```")
    command = readme[marker + 2]
    assert "pip install -e" in command and "pytest" in command
    assert "test-command" in (ROOT / ".ci" / "run").read_text()
