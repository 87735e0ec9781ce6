"""experiments/layout_ablation.py: a sweep that stops and goes on, and records what it measured."""
import importlib.util
import json
import pathlib

from test_data_fashion_mnist import write_fashion

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_ablation():
    spec = importlib.util.spec_from_file_location("layout_ablation", ROOT / "experiments" / "layout_ablation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_layout_sweep_stops_goes_on_and_records(tmp_path, monkeypatch, capsys):
    from tinycoat.data import fashion_mnist
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "none")
    for train in (True, False):
        write_fashion(tmp_path / "data" / "fashion-mnist", n=10, train=train)
    ablation = load_ablation()
    argv = ["--epochs", "2", "--subset", "8", "--test-subset", "4", "--final-test-subset", "10", "--batch-size", "4",
            "--warmup", "0.5", "--runs", str(tmp_path / "runs"), "--record", str(tmp_path / "record"),
            "--only", "CCCC-seed0,TTTT-seed1", "--data-dir", str(tmp_path / "data"), "--no-download"]
    assert ablation.main(argv + ["--stop-after", "3"]) == 0          # CCCC's 2 epochs, TTTT's first
    assert ablation.epochs_done(tmp_path / "runs" / "TTTT-seed1") == 1
    assert not (tmp_path / "record" / "TTTT-seed1").exists()
    assert ablation.main(argv) == 0                                   # TTTT resumed, not restarted
    lines = (tmp_path / "record" / "TTTT-seed1" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    rows = ablation.load_records(tmp_path / "record")
    assert [(r["layout"], r["seed"]) for r in rows] == [("CCCC", 0), ("TTTT", 1)]
    for r in rows:
        assert "--no-augment" in r["train_argv"] and r["test_images"] == 10
        assert r["params"] > 0 and r["macs"] > 0
    cccc, tttt = rows
    assert tttt["macs"] > 2 * cccc["macs"]                            # attention over 16×16 tokens in S1
    printed = capsys.readouterr().out
    assert "| CCCC | 0 |" in printed and "| TTTT | 1 |" in printed


def test_a_run_stopped_mid_epoch_stops_the_sweep(tmp_path, monkeypatch, capsys):
    """train_cifar.py exits 128 + the signal after the first Ctrl-C/SIGTERM (it saved where it
    stopped): the sweep must see that the run is not done and stop, not go on to the next run."""
    import signal
    ablation = load_ablation()
    calls = []
    monkeypatch.setattr(ablation.train_cifar, "main", lambda argv: calls.append(argv) or 128 + signal.SIGTERM)
    argv = ["--runs", str(tmp_path / "runs"), "--record", str(tmp_path / "record"), "--only", "CCCC-seed0,TTTT-seed0"]
    assert ablation.main(argv) == 1
    assert len(calls) == 1 and "stopped before its epochs were done" in capsys.readouterr().out


def test_two_sweeps_share_the_runs_without_training_one_twice(tmp_path, monkeypatch):
    """A run another live sweep holds is skipped; a lock whose holder died is taken over."""
    import os
    import subprocess
    import sys
    ablation = load_ablation()
    out = tmp_path / "runs" / "CCCC-seed0"
    assert ablation.claim(out)
    (tmp_path / "runs" / "TTTT-seed0.lock").write_text(str(os.getpid()))          # held by a live process
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / "runs" / "CCTT-seed0.lock").write_text(dead.stdout.strip())       # its holder has exited
    trained = []
    monkeypatch.setattr(ablation, "_train", lambda layout, seed, *rest: trained.append(layout) or 1)
    opts = type("Opts", (), {"runs": str(tmp_path / "runs"), "epochs": 2})()
    for layout in ("CCCC", "TTTT", "CCTT"):
        ablation.train(layout, 0, opts, budget=1)
    assert trained == ["CCTT"]            # CCCC (ours, held) and TTTT (another's) skipped... 
    ablation.release(out)
    assert ablation.claim(out)            # ... and a released run can be taken again


def test_the_orderings_use_the_seeds_noise():
    """Layouts ranked by their seed-averaged gap and training loss; neighbours within the spread of
    two seeds of one layout are "≈", the others ">"."""
    ablation = load_ablation()
    row = lambda layout, seed, train, test: {"layout": layout, "seed": seed, "train_eval_loss": train,  # noqa: E731
                                             "test_loss": test}
    rows = [row("CCCC", 0, 0.010, 0.40), row("CCCC", 1, 0.012, 0.44), row("CCTT", 0, 0.02, 0.45),
            row("TTTT", 0, 0.30, 0.90), row("TTTT", 1, 0.31, 0.93)]
    text = ablation.orderings(rows).splitlines()
    assert len(text) == 2
    # gaps: CCCC 0.409, CCTT 0.43, TTTT 0.61; the seeds' largest spread 0.038 (CCCC): CCTT is within it
    assert text[0].startswith("generalization  C-C-C-C ≈ C-C-T-T > T-T-T-T")
    assert "0.0380" in text[0]
    assert text[1].startswith("capacity        C-C-C-C ≈ C-C-T-T > T-T-T-T")
    single = ablation.orderings([r for r in rows if r["seed"] == 0]).splitlines()   # no noise to compare with
    assert single[0].startswith("generalization  C-C-C-C > C-C-T-T > T-T-T-T") and "no noise measured" in single[0]


def test_records_are_listed_in_the_papers_order_of_layouts(tmp_path):
    ablation = load_ablation()
    for layout, seed in [("TTTT", 1), ("CCCT", 0), ("CCCC", 1), ("CCCC", 0), ("TTTT", 0)]:
        folder = tmp_path / f"{layout}-seed{seed}"
        folder.mkdir()
        (folder / "run.json").write_text(json.dumps({"layout": layout, "seed": seed}))
    rows = ablation.load_records(tmp_path)
    assert [(r["layout"], r["seed"]) for r in rows] == [("CCCC", 0), ("CCCC", 1), ("CCCT", 0), ("TTTT", 0),
                                                        ("TTTT", 1)]


def test_the_runs_that_fit_alike_are_named_and_recorded_by_their_epochs(tmp_path, monkeypatch):
    """--fit trains FIT_RUNS, each with its own number of epochs (a whole schedule), in folders
    LAYOUT-seedS-Nep, and records how to run it again."""
    from tinycoat.data import fashion_mnist
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "none")
    for train in (True, False):
        write_fashion(tmp_path / "data" / "fashion-mnist", n=10, train=train)
    ablation = load_ablation()
    monkeypatch.setattr(ablation, "FIT_RUNS", [("CCCC", 0, 1), ("CCCC", 0, 2), ("CCTT", 0, 1)])
    argv = ["--fit", "--subset", "8", "--test-subset", "4", "--final-test-subset", "10", "--batch-size", "4",
            "--warmup", "0.5", "--runs", str(tmp_path / "runs"), "--record", str(tmp_path / "record"),
            "--only", "CCCC-seed0-1ep,CCCC-seed0-2ep", "--data-dir", str(tmp_path / "data"), "--no-download"]
    assert ablation.main(argv) == 0
    rows = ablation.load_records(tmp_path / "record")
    assert [(r["layout"], r["epochs"]) for r in rows] == [("CCCC", 1), ("CCCC", 2)]     # CCTT not asked for
    for r in rows:
        name = f"CCCC-seed0-{r['epochs']}ep"
        assert r["command"].startswith(f"python experiments/layout_ablation.py --fit --only {name} ")
        assert ablation.epochs_done(tmp_path / "runs" / name) == r["epochs"]
        lines = (tmp_path / "record" / name / "metrics.jsonl").read_text().splitlines()
        assert len(lines) == r["epochs"]


def test_lesson_09_shows_the_records_tables(tmp_path):
    """Lesson 09's measured tables and orderings are the records' own (after a new record:
    layout_ablation.py --write-lesson), and --write-lesson replaces exactly those."""
    ablation = load_ablation()
    rows, fit_rows = ablation.load_records(ablation.RECORD), ablation.load_records(ablation.FIT_RECORD)
    assert fit_rows, "lessons/figures/layout_fit/ holds the runs that fit alike"
    lesson = ablation.LESSON.read_text()
    old = [ablation.table(rows), ablation.orderings(rows), ablation.table(fit_rows)]
    assert all(part in lesson for part in old)
    copy = tmp_path / "lesson.md"
    copy.write_text(lesson)
    ablation.write_into(copy, rows[:2], rows[-1:])
    new = [ablation.table(rows[:2]), ablation.orderings(rows[:2]), ablation.table(rows[-1:])]
    changed = copy.read_text()
    for before, after in zip(old, new):
        assert before not in changed and after in changed
    assert changed.replace(new[0], old[0]).replace(new[1], old[1]).replace(new[2], old[2]) == lesson
