"""lessons/make_figures.py's records of a finished run (issue 17): what lesson 10's table and mistakes
figure read must be what train_cifar.py measured, and `--eval-only` on the checkpoint must give it again.

The figures themselves are never redrawn here (make_figures.py is run by hand); the records are
written into a temporary folder from a two-epoch run on ten Fashion-MNIST images in the true format.
"""
import importlib.util
import json
import os
import pathlib

import pytest

from test_data_fashion_mnist import write_fashion

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_script(relative):
    spec = importlib.util.spec_from_file_location(pathlib.Path(relative).stem, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fashion_root(tmp_path, monkeypatch):
    from tinycoat.data import fashion_mnist
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "no-system-copy")
    monkeypatch.setenv("TINYCOAT_DATA", str(tmp_path / "data"))        # where load_dataset looks by default
    for train in (True, False):
        write_fashion(tmp_path / "data" / "fashion-mnist", n=10, train=train)
    return tmp_path / "data"


@pytest.mark.parametrize("extra", [[], ["--ema", "0.5"]], ids=["plain", "ema"])
def test_the_full_run_is_recorded_and_its_accuracy_reproduced_by_eval_only(fashion_root, tmp_path, monkeypatch,
                                                                           extra):
    """(With --ema the run evaluates its averaged weights, and so must the record.)"""
    figures = load_script("lessons/make_figures.py")
    train_cifar = load_script("train_cifar.py")
    args = ["--dataset", "fashion-mnist", "--epochs", "2", "--batch-size", "4", "--warmup", "0.5",
            *extra, "--no-download", "--no-progress"]
    monkeypatch.setattr(figures, "FULL_RUN_ARGS", args)
    monkeypatch.setattr(figures, "FULL_RUN_DIR", tmp_path / "record")
    out = tmp_path / "run"
    assert train_cifar.main(args + ["--out", str(out)]) == 0

    figures.record_run(out, full=True)
    record = tmp_path / "record"
    run = json.loads((record / "run.json").read_text())
    metrics = [json.loads(line) for line in (record / "metrics.jsonl").read_text().splitlines()]
    predictions = json.loads((record / "predictions.json").read_text())
    assert run["epochs_done"] == 2 and run["train_images"] == 10 and run["test_images"] == 10
    assert run["epochs_time_s"] >= 0 and run["test_acc"] == metrics[-1]["test_acc"]
    assert (record / "bias_tables.npz").exists()
    # The predictions are the checkpoint's own: the accuracy the run reported, class by class too
    assert predictions["test_images"] == 10 and predictions["accuracy"] == pytest.approx(metrics[-1]["test_acc"])
    assert predictions["loss"] == pytest.approx(metrics[-1]["test_loss"], rel=1e-5)
    report = json.loads((record / "report.json").read_text())
    assert list(predictions["per_class"].values()) == pytest.approx(report["per_class_acc"])
    assert [[None if o["class"] is None else report["classes"].index(o["class"]), o["images"]]
            for o in predictions["mistaken_for"].values()] == report["mistaken_for"]
    wrong = round((1 - predictions["accuracy"]) * 10)
    assert len(predictions["mistakes"]) == min(wrong, 12)
    assert all(m["true"] != m["predicted"] and 0 < m["confidence"] <= 1 for m in predictions["mistakes"])
    assert predictions["checkpoint"] == str(out / "last.npz")             # (outside the repository: as it is)
    # One image per class here: a class is either right, or taken for exactly one other class
    for name, accuracy in predictions["per_class"].items():
        other = predictions["mistaken_for"][name]
        assert (other["images"], other["class"] not in (name, None)) == ((0, False) if accuracy == 1 else (1, True))
    table = figures.per_class_table(predictions).splitlines()
    assert table[0] == "| class | test accuracy | most often taken for |" and len(table) == 2 + 10
    assert sum(" | — |" in row for row in table) == sum(a == 1 for a in predictions["per_class"].values())

    # A user's evaluation of the final checkpoint gives the same accuracy exactly
    assert train_cifar.main(["--eval-only", "--resume", str(out / "last.npz"), "--no-download", "--no-progress",
                             "--out", str(tmp_path / "eval")]) == 0
    again = json.loads((tmp_path / "eval" / "eval.json").read_text())
    assert again["test_acc"] == pytest.approx(predictions["accuracy"], abs=1e-12)
    assert again["test_loss"] == pytest.approx(predictions["loss"], rel=1e-5)   # the same model, in eval mode

    # ... and the README's results table shows it (experiments/results_table.py)
    row = load_script("experiments/results_table.py").full_run_row(run)
    assert row.startswith("| full training run | Fashion-MNIST, all 10 images | coatnet_cifar_nano | C-C-T-T | 2 | **")
    assert f"{100 * metrics[-1]['test_acc']:.1f} %" in row
    assert run["machine"].startswith(report["machine"]) and row.endswith(f"| {os.cpu_count()} CPU cores, shared with other runs |")


def test_a_run_made_with_other_arguments_is_not_recorded_as_the_full_run(fashion_root, tmp_path, monkeypatch):
    figures = load_script("lessons/make_figures.py")
    train_cifar = load_script("train_cifar.py")
    monkeypatch.setattr(figures, "FULL_RUN_DIR", tmp_path / "record")
    out = tmp_path / "run"
    assert train_cifar.main(["--dataset", "fashion-mnist", "--epochs", "1", "--batch-size", "4", "--no-download",
                             "--no-progress", "--out", str(out)]) == 0
    with pytest.raises(SystemExit, match="epochs = 1, not --epochs 20"):
        figures.record_run(out, full=True)
    assert not (tmp_path / "record").exists()


def test_an_unfinished_run_is_not_recorded(fashion_root, tmp_path, monkeypatch):
    """Stopped part-way (--stop-after, or a signal), the run has the full run's arguments but not
    its result: recording it would put an unfinished accuracy in the README."""
    figures = load_script("lessons/make_figures.py")
    train_cifar = load_script("train_cifar.py")
    args = ["--dataset", "fashion-mnist", "--epochs", "2", "--batch-size", "4", "--no-download", "--no-progress"]
    monkeypatch.setattr(figures, "FULL_RUN_ARGS", args)
    monkeypatch.setattr(figures, "FULL_RUN_DIR", tmp_path / "record")
    out = tmp_path / "run"
    assert train_cifar.main(args + ["--stop-after", "1", "--out", str(out)]) == 0
    with pytest.raises(SystemExit, match="has done 1 of its 2 epochs"):
        figures.record_run(out, full=True)
    assert not (tmp_path / "record").exists()
