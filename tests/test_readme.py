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


def test_the_results_table_is_the_records_table():
    """The README's results come from the runs' records (experiments/results_table.py), row by row."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("results_table", ROOT / "experiments" / "results_table.py")
    results = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(results)
    full, ablation = results.records()
    assert ablation, "lessons/figures/layout_runs/ holds the layout ablation's records"
    readme = (ROOT / "README.md").read_text()
    assert results.markdown(full, ablation) in readme, \
        "README's results table differs from the records: paste `python experiments/results_table.py`"
