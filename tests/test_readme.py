"""The README's Python examples run, in order, in one fresh namespace."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def python_blocks(markdown_text):
    return re.findall(r"```python\n(.*?)```", markdown_text, flags=re.S)


def test_readme_python_blocks_run():
    blocks = python_blocks((ROOT / "README.md").read_text())
    assert blocks, "the README should show a runnable example"
    namespace = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["x"].grad.shape == (4, 3)
