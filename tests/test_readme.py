"""The README's Python examples run, in order, in one fresh namespace."""
import importlib.util
import pathlib
import re

import pytest

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


def results_table():
    spec = importlib.util.spec_from_file_location("results_table", ROOT / "experiments" / "results_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_results_table_is_the_records_table():
    """The README's results come from the runs' records (experiments/results_table.py), row by row."""
    results = results_table()
    full, ablation = results.records()
    assert ablation, "lessons/figures/layout_runs/ holds the layout ablation's records"
    readme = (ROOT / "README.md").read_text()
    assert results.markdown(full, ablation) in readme, \
        "README's results table differs from the records: run `python experiments/results_table.py --write`"


def test_the_results_table_is_rewritten_in_place(tmp_path):
    results = results_table()
    readme = (ROOT / "README.md").read_text()
    table = results.markdown(*results.records())
    stale = tmp_path / "README.md"
    stale.write_text(readme.replace(table, "\n".join(results.HEADER) + "\n| old | row |\n\n" + results.LEGEND))
    results.write_into(stale)
    assert stale.read_text() == readme                  # the old rows gone, the rest of the file untouched
    stale.write_text("# no table here\n")
    with pytest.raises(SystemExit, match="no results table"):
        results.write_into(stale)


def test_the_results_table_names_the_machine_shortly():
    """The table says cores (and a GPU's name) and whether the run shared them; the record keeps the rest."""
    machine = results_table()._machine
    assert machine("x86_64, 2 CPU cores (2-core AMD EPYC VM, two workers sharing the machine)") == \
        "2 CPU cores, shared with other runs"
    assert machine("x86_64, 16 CPU cores, NVIDIA H200") == "16 CPU cores, NVIDIA H200"


FULL_RUN_CHECKPOINT = ROOT / "checkpoints" / "fashion_full.npz"


def test_the_full_runs_progress_is_what_its_kept_checkpoint_records():
    """While the full run is under way (its checkpoint kept in the repository, to be continued on
    any machine), the README says how far it has come, and that is what the checkpoint records."""
    if not FULL_RUN_CHECKPOINT.exists():
        pytest.skip("no checkpoints/fashion_full.npz: the full run is not under way in this checkout")
    from tinycoat.checkpoint import load_checkpoint
    meta = load_checkpoint(FULL_RUN_CHECKPOINT)["meta"]
    history, config = meta["history"], meta["config"]
    assert [row["epoch"] for row in history] == list(range(1, meta["epoch"] + 1))
    assert (config["dataset"], config["epochs"], config["subset"]) == ("fashion-mnist", 20, None)
    readme = " ".join((ROOT / "README.md").read_text().split())
    last = history[-1]
    if meta["epoch"] < config["epochs"]:
        said = f"after {last['epoch']} epochs its test accuracy is {100 * last['test_acc']:.1f} %"
        assert said in readme, f"README should say the full run's progress: '{said}'"
    else:
        said = f"ends at {100 * last['test_acc']:.1f} % test accuracy"
        assert said in readme, f"README should say where the finished full run ended: '{said}'"


def test_the_kept_checkpoint_makes_the_mistakes_its_evaluation_recorded():
    """The kept checkpoint is the one whose evaluation (train_cifar.py --eval-only, recorded in
    lessons/figures/fashion_full/predictions.json) lesson 10 shows: on the test images up to the last
    recorded mistake it is wrong exactly there, saying the recorded class with the recorded confidence."""
    record = ROOT / "lessons" / "figures" / "fashion_full" / "predictions.json"
    real = pathlib.Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
    if not (FULL_RUN_CHECKPOINT.exists() and record.exists() and real.is_file()):
        pytest.skip("needs checkpoints/fashion_full.npz, the finished run's record and the real Fashion-MNIST")
    import json

    import tinycoat as tc
    from tinycoat.data import DataLoader, load_dataset
    spec = importlib.util.spec_from_file_location("predict_model", ROOT / "predict.py")
    predict = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(predict)
    model, config, classes = predict.load_model(FULL_RUN_CHECKPOINT)
    mistakes = json.loads(record.read_text())["mistakes"]
    test = load_dataset(config["dataset"], train=False, download=False).part(slice(0, mistakes[-1]["index"] + 1))
    images, labels = next(iter(DataLoader(test, batch_size=len(test))))
    with tc.no_grad():
        probabilities = tc.softmax(model(tc.tensor(images)), 1).numpy()
    said = probabilities.argmax(1)
    assert [i for i in range(len(test)) if said[i] != labels[i]] == [m["index"] for m in mistakes]
    for m in mistakes:
        i = m["index"]
        assert (classes[labels[i]], classes[said[i]]) == (m["true"], m["predicted"])
        assert probabilities[i, said[i]] == pytest.approx(m["confidence"], rel=1e-4)


def test_the_predict_example_is_what_the_kept_checkpoint_prints(tmp_path, capsys):
    """README's predict.py example: test images 1 and 4 of Fashion-MNIST, written as 28×28 PNGs,
    classified by checkpoints/fashion_full.npz, print exactly the lines the README shows."""
    real = pathlib.Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
    if not (FULL_RUN_CHECKPOINT.exists() and real.is_file()):
        pytest.skip("needs checkpoints/fashion_full.npz and the real Fashion-MNIST (apt-get install dataset-fashion-mnist)")
    from PIL import Image
    from tinycoat.data import load_fashion_mnist
    text = (ROOT / "README.md").read_text()
    command = re.search(r"^python predict\.py (\S+) (.+?) --top (\d+)$", text, re.M)
    shown = re.findall(r"^# (\S+\.png: .+)$", text, re.M)
    assert command and shown, "README should show a predict.py command and what it prints"
    test = load_fashion_mnist(train=False, download=False)
    names = command.group(2).split()
    for name, index in zip(names, (1, 4)):
        Image.fromarray(test.images[index, 0, 2:30, 2:30]).save(tmp_path / name)
    spec = importlib.util.spec_from_file_location("predict_example", ROOT / "predict.py")
    predict = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(predict)
    assert predict.main([str(ROOT / command.group(1)), *(str(tmp_path / n) for n in names),
                         "--top", command.group(3)]) == 0
    printed = [line.replace(f"{tmp_path}/", "") for line in capsys.readouterr().out.splitlines()]
    assert printed == shown
