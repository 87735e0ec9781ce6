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
    """train_cifar.py exits 0 after the first Ctrl-C/SIGTERM (it saved where it stopped): the sweep
    must see that the run is not done and stop, not go on to the next run."""
    ablation = load_ablation()
    calls = []
    monkeypatch.setattr(ablation.train_cifar, "main", lambda argv: calls.append(argv) or 0)
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
    assert len(text) == 2                 # no epochs in these records: no reading at equal training loss
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


def test_generalization_at_equal_training_loss():
    """The paper's reading: test accuracy at the moment each run's training loss first fell to the
    lowest loss all runs reached. An epoch's running loss belongs to its middle, its test accuracy
    to its end; higher is better."""
    ablation = load_ablation()
    epochs = lambda *pairs: [{"train_loss": loss, "test_acc": acc} for loss, acc in pairs]  # noqa: E731
    argv = ["--test-subset", "100000"]
    fast = {"layout": "CCCC", "seed": 0, "train_eval_loss": 0.01, "test_loss": 0.5, "train_argv": argv,
            "epochs": epochs((0.9, 0.70), (0.3, 0.85), (0.01, 0.90))}
    slow = {"layout": "TTTT", "seed": 0, "train_eval_loss": 0.4, "test_loss": 0.5, "train_argv": argv,
            "epochs": epochs((1.5, 0.50), (0.8, 0.80), (0.5, 0.88))}
    assert ablation.common_training_loss([fast, slow]) == 0.5
    # CCCC's loss passes 0.5 two thirds of the way from epoch 1's middle (0.9) to epoch 2's (0.3), at
    # t = 0.5 + 2/3 epochs: a sixth of the way from epoch 1's end (0.70) to epoch 2's (0.85)
    assert abs(ablation.test_acc_at_training_loss(fast, 0.5) - (0.70 + 0.15 / 6)) < 1e-12
    # TTTT reaches 0.5 in the middle of epoch 3: halfway between the ends of epochs 2 and 3
    assert abs(ablation.test_acc_at_training_loss(slow, 0.5) - 0.84) < 1e-12
    assert ablation.test_acc_at_training_loss(fast, 0.95) == 0.70          # there in epoch 1: its evaluation
    assert ablation.test_acc_at_training_loss(slow, 0.1) is None            # never got there
    lines = ablation.orderings([fast, slow]).splitlines()
    assert lines[1].startswith("  at equal loss T-T-T-T > C-C-C-C") and "fell to 0.500" in lines[1]
    assert lines[0].startswith("generalization  T-T-T-T > C-C-C-C")       # the smaller gap first
    # on 50 test images per epoch the two readings (72.5 % and 84 %) are within chance (16 pt): "≈"
    few = ["--test-subset", "50"]
    assert "T-T-T-T ≈ C-C-C-C" in ablation.orderings([{**fast, "train_argv": few}, {**slow, "train_argv": few}])


def test_lesson_09_shows_the_records_table(tmp_path):
    """Lesson 09's measured table and orderings are the records' own (after a new record:
    layout_ablation.py --write-lesson), and --write-lesson replaces exactly those."""
    ablation = load_ablation()
    rows = ablation.load_records()
    lesson = ablation.LESSON.read_text()
    assert ablation.table(rows) in lesson and ablation.orderings(rows) in lesson
    copy = tmp_path / "lesson.md"
    copy.write_text(lesson)
    ablation.write_into(copy, rows[:2])
    changed = copy.read_text()
    assert ablation.table(rows[:2]) in changed and ablation.orderings(rows[:2]) in changed
    assert ablation.table(rows) not in changed
    before, after = lesson.split(ablation.table(rows))
    assert changed.startswith(before) and changed.endswith(after.split(ablation.orderings(rows))[1])


def test_lesson_09s_reading_at_equal_training_loss_holds_for_the_records():
    """Lesson 09 says that at equal training loss T-T-T-T reads best and the other layouts lie within
    chance of each other (so not the paper's ordering): the orderings' "≈" says so of the records."""
    ablation = load_ablation()
    line = ablation.orderings(ablation.load_records()).splitlines()[1]
    ranked = line.removeprefix("  at equal loss ").split("    (")[0]
    assert ranked.startswith("T-T-T-T > ") and ranked.count(">") == 1 and ranked.count("≈") == 3, line
