"""train_cifar.py never loses a run: output folders, metrics that match the checkpoint, kills and
signals, write failures. Where the behaviour is about processes, real processes get real signals."""
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from test_train_cifar import FAST, ROOT, cifar_root, run, train_cifar, weights  # noqa: F401  (cifar_root: a fixture)

# A process that runs train_cifar.main(argv) with one planted fault, chosen by TEST_FAULT:
#   kill-in-save:N        SIGKILL itself in the middle of writing its N-th checkpoint
#   kill-before-metrics:N SIGKILL itself after its N-th checkpoint, before metrics.jsonl is written
#   pause-at-step:K       at training step K, write TEST_MARKER and sleep (the test signals it then)
DRIVER = textwrap.dedent("""
    import importlib.util, os, signal, sys, time
    spec = importlib.util.spec_from_file_location("train_cifar", os.path.join(os.environ["ROOT"], "train_cifar.py"))
    tcf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tcf)
    kind, n = os.environ["TEST_FAULT"].split(":")
    n, calls = int(n), [0]
    if kind == "kill-in-save":
        import numpy
        savez = numpy.savez
        def savez_then_die(f, **arrays):
            calls[0] += 1
            if calls[0] == n:
                f.write(b"half a checkpoint")
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            return savez(f, **arrays)
        numpy.savez = savez_then_die
    elif kind == "kill-before-metrics":
        write_metrics = tcf.write_metrics
        def die_before_the_nth(out, history):
            calls[0] += 1
            if calls[0] == n:
                os.kill(os.getpid(), signal.SIGKILL)
            return write_metrics(out, history)
        tcf.write_metrics = die_before_the_nth
    elif kind == "pause-at-step":
        cross_entropy = tcf.F.cross_entropy
        def pause(*args, **kwargs):
            calls[0] += 1
            if calls[0] == n:
                open(os.environ["TEST_MARKER"], "w").close()
                time.sleep(5)              # the signal arrives during this step
            return cross_entropy(*args, **kwargs)
        tcf.F.cross_entropy = pause
    sys.exit(tcf.main(sys.argv[1:]))
""")


def spawn(fault, *argv, marker=None):
    env = {**os.environ, "ROOT": str(ROOT), "TEST_FAULT": fault, "TEST_MARKER": str(marker or ""),
           "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", DRIVER, *map(str, argv)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def die_by_sigkill(fault, *argv):
    killed = spawn(fault, *argv)
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL


def epochs_in(out):
    return [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]


def checkpoint_epoch(path):
    from tinycoat.checkpoint import load_checkpoint
    return load_checkpoint(path)["meta"]["epoch"]


# ------------------------------------------------------------------------ 1. one folder, one run

def test_a_new_run_never_writes_over_another(cifar_root, tmp_path, capsys):
    out = tmp_path / "run"
    common = ["--data-dir", cifar_root, "--epochs", 1, "--out", out, *FAST]
    assert run(*common) == 0
    before = (out / "last.npz").read_bytes(), (out / "metrics.jsonl").read_text()
    capsys.readouterr()
    assert run(*common) == 2                                     # the same command again
    err = capsys.readouterr().err
    assert "already holds a run" in err and f"--resume {out / 'last.npz'}" in err and "--overwrite" in err
    assert ((out / "last.npz").read_bytes(), (out / "metrics.jsonl").read_text()) == before
    other = tmp_path / "other"                                   # another run's checkpoint into this folder
    assert run("--data-dir", cifar_root, "--epochs", 1, "--out", other, *FAST) == 0
    assert run(*common[:-len(FAST)], "--epochs", 2, "--resume", other / "last.npz", *FAST) == 2
    kept = (out / "last.npz").read_bytes()
    capsys.readouterr()
    assert run(*common[:-len(FAST)], "--data-dir", tmp_path / "no-data", *FAST, "--overwrite") == 2
    assert "deleted" not in capsys.readouterr().err               # a start that fails deletes nothing
    assert (out / "last.npz").read_bytes() == kept
    assert run(*common, "--overwrite") == 0                      # asked to: a fresh run
    assert "deleted the previous run's" in capsys.readouterr().err
    assert epochs_in(out) == [1]


def test_a_failed_start_leaves_no_folders_behind(tmp_path):
    """--out and the parents it needed are made before the data loads; a start that fails removes
    the ones it made (an existing, non-empty folder stays)."""
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "mine.txt").write_text("a user's file")
    out = tmp_path / "kept" / "runs" / "deeper" / "run"
    assert run("--dataset", "fashion-mnist", "--data-dir", tmp_path / "no-data", "--no-download", "--out", out,
               *FAST) == 2
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["mine.txt"]


def test_the_output_folder_is_checked_before_anything_is_trained(cifar_root, tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("a file")
    assert run("--data-dir", cifar_root, "--out", tmp_path / "file", *FAST) == 2
    assert "is a file, not a folder" in capsys.readouterr().err

    def refused(path, write, binary=True):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))
    monkeypatch.setattr(train_cifar, "atomic_write", refused)
    monkeypatch.setattr(train_cifar, "load_data", lambda args: pytest.fail("loaded data for an unwritable --out"))
    assert run("--data-dir", cifar_root, "--out", tmp_path / "readonly", *FAST) == 2
    assert "cannot write to --out" in capsys.readouterr().err


# ------------------------------------------------------------------------ 2. metrics agree with the checkpoint

def test_a_kill_inside_the_checkpoint_write_keeps_the_last_one_and_its_metrics(cifar_root, tmp_path):
    out = tmp_path / "run"
    common = ["--data-dir", cifar_root, "--epochs", 3, "--out", out, *FAST]
    die_by_sigkill("kill-in-save:2", *common)
    assert checkpoint_epoch(out / "last.npz") == 1 and epochs_in(out) == [1]
    leftovers = [n for n in os.listdir(out) if n.endswith(".tmp")]
    assert leftovers, "the killed writer's temporary file should be there for the cleaner to find"
    assert run(*common, "--resume", out / "last.npz") == 0
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]          # cleaned up
    assert epochs_in(out) == [1, 2, 3]
    assert run("--data-dir", cifar_root, "--epochs", 3, "--out", tmp_path / "straight", *FAST) == 0
    a, b = weights(tmp_path / "straight/last.npz"), weights(out / "last.npz")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_a_kill_between_checkpoint_and_metrics_is_mended_on_resume(cifar_root, tmp_path):
    out = tmp_path / "run"
    common = ["--data-dir", cifar_root, "--epochs", 3, "--out", out, *FAST]
    die_by_sigkill("kill-before-metrics:2", *common)
    assert checkpoint_epoch(out / "last.npz") == 2 and epochs_in(out) == [1]   # one epoch behind, never ahead
    assert run(*common, "--resume", out / "last.npz") == 0
    assert epochs_in(out) == [1, 2, 3]                                        # no duplicate, none missing


def test_a_failed_write_is_one_line_and_leaves_a_consistent_run(cifar_root, tmp_path, capsys, monkeypatch):
    """A full disk at the second epoch's checkpoint: exit 2, one line, epoch 1's checkpoint and metrics."""
    out = tmp_path / "run"
    import numpy
    savez, calls = numpy.savez, []

    def full_disk(f, **arrays):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return savez(f, **arrays)
    monkeypatch.setattr(numpy, "savez", full_disk)
    assert run("--data-dir", cifar_root, "--epochs", 2, "--out", out, *FAST) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "could not write the checkpoint" in err[0] and "No space left" in err[0]
    assert "last good checkpoint" in err[0] and "Traceback" not in err[0]
    assert checkpoint_epoch(out / "last.npz") == 1 and epochs_in(out) == [1]
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]


# ------------------------------------------------------------------------ 3. signals

def test_sigterm_finishes_the_step_saves_and_resumes_exactly(cifar_root, tmp_path):
    common = ["--data-dir", cifar_root, *FAST, "--epochs", 1]
    assert run(*common, "--out", tmp_path / "straight") == 0
    marker = tmp_path / "at-step-2"
    proc = spawn("pause-at-step:2", *common, "--out", tmp_path / "split", marker=marker)
    deadline = time.time() + 240
    while not marker.exists():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)                              # what a scheduler or `kill` sends
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 128 + signal.SIGTERM, err                 # saved, but not done: not 0
    assert "SIGTERM: finishing this step" in err and "checkpoint saved" in out
    assert run(*common, "--out", tmp_path / "split", "--resume", tmp_path / "split/last.npz") == 0
    a, b = weights(tmp_path / "straight/last.npz"), weights(tmp_path / "split/last.npz")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_a_second_ctrl_c_and_one_during_loading_stop_cleanly(cifar_root, tmp_path, monkeypatch, capsys):
    original = train_cifar.F.cross_entropy
    calls = []

    def twice_at_step_2(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
        return original(*args, **kwargs)
    monkeypatch.setattr(train_cifar.F, "cross_entropy", twice_at_step_2)
    assert run("--data-dir", cifar_root, "--epochs", 1, "--out", tmp_path / "a", *FAST) == 128 + signal.SIGINT
    err = capsys.readouterr().err
    assert "stopped at once (Ctrl-C)" in err and "No checkpoint had been written" in err and "Traceback" not in err

    def interrupted_loading(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(train_cifar, "load_data", interrupted_loading)
    assert run("--data-dir", cifar_root, "--epochs", 1, "--out", tmp_path / "b", *FAST) == 128 + signal.SIGINT
    assert "stopped at once (Ctrl-C)" in capsys.readouterr().err


# ------------------------------------------------------------------------ 4. a resumed epoch's metrics

def test_a_resumed_epoch_reports_the_metrics_of_the_whole_epoch(cifar_root, tmp_path, monkeypatch):
    """Stopped at step 2 of 3 and resumed: the epoch's train loss and accuracy count all its steps,
    the same numbers as the uninterrupted run (bit for bit)."""
    common = ["--data-dir", cifar_root, *FAST, "--epochs", 2]
    assert run(*common, "--out", tmp_path / "straight") == 0
    original, calls = train_cifar.F.cross_entropy, []

    def stop_at_step_2(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGINT)
        return original(*args, **kwargs)
    monkeypatch.setattr(train_cifar.F, "cross_entropy", stop_at_step_2)
    assert run(*common, "--out", tmp_path / "split") == 128 + signal.SIGINT
    monkeypatch.setattr(train_cifar.F, "cross_entropy", original)
    assert run(*common, "--out", tmp_path / "split", "--resume", tmp_path / "split/last.npz") == 0
    rows = [[json.loads(line) for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
            for name in ("straight", "split")]
    for a, b in zip(*rows):
        for key in ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "global_step"):
            assert a[key] == b[key], (key, a[key], b[key])


# ------------------------------------------------------------------------ 9. the NaN message tells the truth

def test_nan_loss_before_any_checkpoint_says_there_is_none(cifar_root, tmp_path, monkeypatch, capsys):
    original = train_cifar.F.cross_entropy
    monkeypatch.setattr(train_cifar.F, "cross_entropy", lambda *a, **k: original(*a, **k) * float("nan"))
    assert run("--data-dir", cifar_root, "--epochs", 1, "--out", tmp_path / "run", *FAST) == 2
    err = capsys.readouterr().err
    assert "loss became nan" in err and "No checkpoint had been written" in err
    assert not (tmp_path / "run").exists()          # nothing was written: the folder the run made is gone too


# ------------------------------------------------------------------------ 5. a resumed run keeps its settings

def test_resuming_keeps_the_checkpoints_settings_and_refuses_a_different_data_order(cifar_root, tmp_path, capsys):
    out, straight = tmp_path / "run", tmp_path / "straight"
    common = ["--data-dir", cifar_root, "--no-progress", "--no-download", "--lr", "1e-3", "--warmup", "0.5"]
    assert run(*common, "--epochs", 2, "--batch-size", 4, "--out", straight) == 0
    assert run(*common, "--epochs", 2, "--batch-size", 4, "--stop-after", 1, "--out", out) == 0
    # only --resume: the checkpoint's --epochs 2, --batch-size 4, --lr 1e-3 (not the defaults 100, 128, 2e-3)
    assert run("--resume", out / "last.npz", "--data-dir", cifar_root, "--no-progress", "--no-download") == 0
    assert epochs_in(out) == [1, 2]
    a, b = weights(straight / "last.npz"), weights(out / "last.npz")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    capsys.readouterr()
    assert run("--resume", out / "last.npz", "--data-dir", cifar_root, "--batch-size", 8, "--epochs", 3) == 2
    err = capsys.readouterr().err
    assert "is from --batch-size 4, but this run asks for --batch-size 8" in err and "data order" in err


def test_a_typed_schedule_setting_re_plans_the_schedule_from_the_resumed_step(cifar_root, tmp_path, capsys):
    from tinycoat.checkpoint import load_checkpoint
    out = tmp_path / "run"
    common = ["--data-dir", cifar_root, *FAST]
    assert run(*common, "--epochs", 1, "--out", out) == 0
    before = load_checkpoint(out / "last.npz")
    capsys.readouterr()
    assert run(*common, "--epochs", 3, "--lr", "1e-3", "--resume", out / "last.npz") == 0
    err = capsys.readouterr().err
    assert "resuming with --epochs 3 (the checkpoint's run used 1): the schedule is re-planned" in err
    assert "resuming with --lr 0.001" in err
    after = load_checkpoint(out / "last.npz")
    steps = before["scheduler"]["last_step"]
    assert after["scheduler"]["total_steps"] == 3 * steps and after["scheduler"]["last_step"] == 3 * steps
    assert {g["initial_lr"] for g in after["optimizer"]["param_groups"]} == {1e-3}
    assert epochs_in(out) == [1, 2, 3] and json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["lr"] == 1e-5


def test_a_resumed_lr_below_the_checkpoints_floor_takes_the_floor_down(cifar_root, tmp_path, capsys):
    """The checkpoint's --min-lr (1e-5) over a typed --lr 1e-6: an untyped floor follows the peak down
    (it raised a bare ValueError from the schedule); a typed floor above the checkpoint's peak is refused."""
    from tinycoat.checkpoint import load_checkpoint
    out = tmp_path / "run"
    common = ["--data-dir", cifar_root, *FAST]
    assert run(*common, "--epochs", 2, "--stop-after", 1, "--out", out) == 0
    capsys.readouterr()
    assert run(*common, "--epochs", 2, "--min-lr", "0.01", "--resume", out / "last.npz") == 2
    assert "--min-lr (0.01) must not be above --lr (0.002)" in capsys.readouterr().err
    assert run(*common, "--epochs", 2, "--lr", "1e-6", "--resume", out / "last.npz") == 0
    assert load_checkpoint(out / "last.npz")["meta"]["config"]["min_lr"] == 1e-6


def test_eval_only_needs_neither_the_subset_nor_the_batch_size(cifar_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert run("--data-dir", cifar_root, "--epochs", 1, "--out", out, *FAST, "--subset", 12) == 0
    capsys.readouterr()
    assert run("--data-dir", cifar_root, "--eval-only", "--resume", out / "last.npz", "--batch-size", 2,
               "--subset", 5, "--no-progress") == 0
    assert "test accuracy" in capsys.readouterr().out


# ------------------------------------------------------------------------ 7. bad values, every option

def test_an_empty_training_set_is_refused_before_training(tmp_path, monkeypatch, capsys):
    from tinycoat.data import fashion_mnist
    from test_data_fashion_mnist import write_fashion
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "none")
    write_fashion(tmp_path / "data" / "fashion-mnist", n=0, train=True)
    write_fashion(tmp_path / "data" / "fashion-mnist", n=4, train=False)
    assert run("--dataset", "fashion-mnist", "--data-dir", tmp_path / "data", "--out", tmp_path / "run", *FAST) == 2
    assert "the training set of fashion-mnist is empty" in capsys.readouterr().err
    assert not (tmp_path / "run" / "last.npz").exists()


def test_a_subset_larger_than_the_dataset_is_said(cifar_root, tmp_path, capsys):
    assert run("--data-dir", cifar_root, "--epochs", 1, "--subset", 1000, "--out", tmp_path / "run", *FAST) == 0
    assert "--subset 1000 is more than the 15 images of the training set" in capsys.readouterr().err


class Accepted(Exception):
    """Raised where training would begin: the arguments got through every check."""


BAD = ["nan", "inf", "-1", "1e30", "abc", ""]
MAY_ACCEPT = {"--out": {"nan", "inf", "-1", "1e30", "abc"}}      # any non-empty name is a folder name


def test_every_option_refuses_bad_values_in_one_line(cifar_root, tmp_path, monkeypatch, capsys):
    """Walks every option of train_cifar's parser — a new one is covered without anyone remembering —
    with bad values: each is refused with exit code 2 and one line (no traceback), or, where the
    value is legitimately valid (a folder named "abc"), accepted; "0" must be one or the other too."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(train_cifar, "build", lambda args, train: (_ for _ in ()).throw(Accepted()))
    options = [a for a in train_cifar.make_parser()._actions
               if a.option_strings and a.nargs is None and a.const is None and a.dest != "help"]
    assert len(options) >= 20
    for action in options:
        option = action.option_strings[0]
        for i, value in enumerate(BAD + ["0"]):
            argv = ["--data-dir", cifar_root, "--epochs", 1, "--no-progress", "--no-download",
                    "--out", tmp_path / f"run-{option[2:]}-{i}", option, value]
            try:
                code = run(*argv)
            except Accepted:
                code = "accepted"
            err = capsys.readouterr().err.strip()
            if code == "accepted":
                assert value == "0" or value in MAY_ACCEPT.get(option, ()), f"{option} {value!r} was accepted"
                continue
            assert code == 2, f"{option} {value!r}: exit code {code}"
            assert err.startswith("error: ") and len(err.splitlines()) == 1 and "Traceback" not in err, \
                f"{option} {value!r}: {err}"


def test_help_shows_each_default_once():
    parser = train_cifar.make_parser()
    text = parser.format_help()
    assert "(default: None)" not in text and "(default: False)" not in text
    assert "default: 64)" in text and text.count("(default: 0.002)") == 1
    assert "(default: 100)" in text and "(default: 128)" in text and "(default: 0)" in text   # epochs, batch, seed
    formatter = parser._get_formatter()
    for action in parser._actions:                   # every option with a value to show shows it
        if action.option_strings and action.default not in (None, False, "==SUPPRESS=="):
            assert "default" in formatter._get_help_string(action), action.option_strings


def test_a_checkpoint_with_a_bad_random_state_is_one_line(cifar_root, tmp_path, capsys):
    """Item 8: a checkpoint whose random-generator state is not a state (hand-edited, or from
    another generator) is refused in one line naming the file, before any training."""
    out = tmp_path / "run"
    assert run("--data-dir", cifar_root, "--epochs", 2, "--stop-after", 1, "--out", out, *FAST) == 0
    with np.load(out / "last.npz") as f:
        arrays = dict(f)
    for bad in ("not a state", {"bit_generator": "MT19937", "state": {}}):
        meta = json.loads(str(arrays["__meta__"]))
        meta["meta"]["rng"] = bad
        np.savez(tmp_path / "edited.npz", **{**arrays, "__meta__": np.array(json.dumps(meta))})
        capsys.readouterr()
        assert run("--resume", tmp_path / "edited.npz", "--data-dir", cifar_root, "--out", tmp_path / "again",
                   *FAST) == 2
        err = capsys.readouterr().err
        assert "edited.npz" in err and "training state does not fit" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
