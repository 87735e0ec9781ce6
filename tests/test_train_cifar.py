"""train_cifar.py end to end, on tiny datasets written in their true on-disk formats."""
import argparse
import importlib.util
import json
import os
import platform
import pathlib
import signal

import numpy as np
import pytest

from test_data_cifar import write_cifar10
from tinycoat.data import load_dataset
from test_data_fashion_mnist import write_fashion

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("train_cifar", ROOT / "train_cifar.py")
train_cifar = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train_cifar)

# Tiny batches and epochs of a few steps: the real coatnet_cifar_nano, kept quick.
FAST = ["--batch-size", "4", "--no-progress", "--log-every", "1", "--warmup", "0.5", "--no-download"]


@pytest.fixture
def cifar_root(tmp_path):
    write_cifar10(tmp_path / "data")  # 5 × 3 train records, 3 test records, 32×32
    return tmp_path / "data"


def run(*argv):
    return train_cifar.main([str(a) for a in argv])


def weights(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files if k.startswith("model/")}


def test_trains_evaluates_checkpoints_and_reports(cifar_root, tmp_path, capsys):
    import importlib.util
    plot = importlib.util.find_spec("matplotlib") is not None    # an optional extra: the curves need it
    out = tmp_path / "run"
    assert run("--data-dir", cifar_root, "--epochs", 2, "--out", out, *(["--plot"] if plot else []), *FAST) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert all(np.isfinite(r["train_loss"]) and 0 <= r["test_acc"] <= 1 for r in rows)
    report = json.loads((out / "report.json").read_text())
    assert len(report["per_class_acc"]) == 10 and report["wall_time_s"] > 0
    assert len(report["mistaken_for"]) == 10 and report["epoch"] == 2          # the epoch it measured
    for (other, images), accuracy in zip(report["mistaken_for"], report["per_class_acc"]):
        assert (images == 0) == (other is None) and (accuracy in (1, None) or images > 0)
    labels = load_dataset("cifar10", root=cifar_root, train=False, download=False).labels       # the first wrong answers, by index
    wrong = round((1 - report["test_acc"]) * report["test_images"])
    assert report["test_images"] == 3 and len(report["mistakes"]) == wrong
    for m in report["mistakes"]:
        assert m["true"] == report["classes"][labels[m["index"]]] != m["predicted"] and 0 < m["confidence"] <= 1
    assert None in report["per_class_acc"]           # 3 test images: classes without one are null, not NaN,
    json.loads((out / "report.json").read_text(), parse_constant=pytest.fail)      # which is not JSON
    assert report["machine"] == f"{platform.machine()}, {os.cpu_count()} CPU cores"    # what it trained on
    assert (out / "last.npz").exists()
    text = capsys.readouterr().out
    assert "test accuracy" in text and "per-class accuracy" in text and "images/s" in text
    assert "an epoch takes about" in text and "the training ends in about" in text      # said at the start
    if plot:
        assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_forecast_says_how_long_an_epoch_and_the_run_take():
    """The default run on a CPU: 100 epochs of 390 steps at 4 s a step (32 images/s)."""
    args = argparse.Namespace(batch_size=128, epochs=100)
    assert train_cifar.forecast(args, 4.0, 390, 390, 99 * 390) == (
        "at 32 images/s an epoch takes about 26 min; the training ends in about 43.3 h "
        "(100 epochs: --epochs, --subset and --stop-after shorten or split it)")
    assert train_cifar.forecast(args, 0.1, 10, 390, 0) == "at 1280 images/s an epoch takes about 39 s"


def test_resume_gives_identical_weights(cifar_root, tmp_path):
    """2 epochs straight == 1 epoch, stop, resume, 1 more epoch: bit for bit (drop-path on)."""
    common = ["--data-dir", cifar_root, *FAST, "--drop-path", "0.2"]
    assert run(*common, "--epochs", 2, "--out", tmp_path / "straight") == 0
    assert run(*common, "--epochs", 2, "--stop-after", 1, "--out", tmp_path / "split") == 0
    assert len((tmp_path / "split/metrics.jsonl").read_text().splitlines()) == 1
    assert run(*common, "--epochs", 2, "--out", tmp_path / "split", "--resume", tmp_path / "split/last.npz") == 0
    a, b = weights(tmp_path / "straight/last.npz"), weights(tmp_path / "split/last.npz")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_reference_trains_on_the_reference_ops_alone(cifar_root, tmp_path, capsys):
    """--reference leaves the fast wing off (the run says so) and trains as the wing does: the same
    losses up to round-off. (Not the same weights: a parameter the loss does not depend on, such as
    attention's key bias, has a gradient of pure round-off, which AdamW turns into steps of ±lr.)"""
    import tinycoat as tc
    from tinycoat.autograd import instrumented
    seen = set()

    def wrap(cls, name, original):
        def f(self, *args, **kwargs):
            seen.add(cls.__module__.split(".")[1])
            return original(self, *args, **kwargs)
        return f
    common = ["--data-dir", cifar_root, "--epochs", 1, *FAST, "--drop-path", "0"]
    with instrumented(wrap):
        assert run(*common, "--reference", "--out", tmp_path / "reference") == 0
    assert "fast" not in seen and not tc.fast.is_enabled()
    assert "reference ops only" in capsys.readouterr().out
    assert run(*common, "--out", tmp_path / "wing") == 0
    assert tc.fast.is_enabled()
    a, b = ([json.loads(line) for line in (tmp_path / f"{name}/metrics.jsonl").read_text().splitlines()]
            for name in ("reference", "wing"))
    for key in ("train_loss", "test_loss"):
        np.testing.assert_allclose([r[key] for r in a], [r[key] for r in b], rtol=1e-4, err_msg=key)


def test_ctrl_c_mid_epoch_saves_and_resumes_exactly(cifar_root, tmp_path, monkeypatch, capsys):
    common = ["--data-dir", cifar_root, *FAST, "--epochs", 1]
    assert run(*common, "--out", tmp_path / "straight") == 0
    calls = {"n": 0}
    original = train_cifar.F.cross_entropy

    def interrupt_at_step_2(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C does
        return original(*args, **kwargs)

    monkeypatch.setattr(train_cifar.F, "cross_entropy", interrupt_at_step_2)
    assert run(*common, "--out", tmp_path / "split") == 128 + signal.SIGINT   # saved, but not done
    monkeypatch.setattr(train_cifar.F, "cross_entropy", original)
    assert not (tmp_path / "split/metrics.jsonl").exists()  # stopped inside epoch 1
    capsys.readouterr()
    assert run(*common, "--out", tmp_path / "split", "--resume", tmp_path / "split/last.npz") == 0
    assert "resumed from" in (said := capsys.readouterr().out) and "in epoch 1, after step 2" in said   # as it stopped
    a, b = weights(tmp_path / "straight/last.npz"), weights(tmp_path / "split/last.npz")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_an_ema_turned_on_at_a_resume_averages_from_the_resumed_weights(cifar_root, tmp_path, monkeypatch):
    """θ_ema starts at the checkpoint's weights and follows θ_ema ← d·θ_ema + (1 − d)·θ after every
    step, recomputed here from the weights each step left (not from the random initial weights)."""
    from tinycoat.checkpoint import load_checkpoint
    out, d = tmp_path / "run", 0.5
    assert run("--data-dir", cifar_root, "--epochs", 1, "--out", out, *FAST) == 0
    start = load_checkpoint(out / "last.npz")["model"]
    after_each_step, original = [], train_cifar.optim.ModelEMA.update

    def spy(self, model):
        after_each_step.append({name: p.numpy().copy() for name, p in model.named_parameters()})
        original(self, model)
    monkeypatch.setattr(train_cifar.optim.ModelEMA, "update", spy)
    assert run("--data-dir", cifar_root, "--epochs", 2, "--ema", d, "--out", out, "--resume", out / "last.npz",
               *FAST) == 0
    assert len(after_each_step) == 3                                   # 15 images, 3 full batches of 4
    saved = load_checkpoint(out / "last.npz")["ema"]
    for name in after_each_step[0]:
        expected = start[name].astype(np.float64)
        for weights_then in after_each_step:
            expected = d * expected + (1 - d) * weights_then[name]
        np.testing.assert_allclose(saved[f"shadow.{name}"], expected, rtol=1e-5, atol=1e-6, err_msg=name)


def test_eval_only_with_ema_on_a_checkpoint_without_an_average_is_refused(cifar_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert run("--data-dir", cifar_root, "--epochs", 1, "--out", out, *FAST) == 0
    assert run("--data-dir", cifar_root, "--eval-only", "--resume", out / "last.npz", "--ema", 0.5, *FAST) == 2
    assert "was trained without --ema: it holds no weight average" in capsys.readouterr().err
    assert not (out / "eval.json").exists()


def test_the_class_each_class_is_most_often_taken_for():
    confusion = np.array([[5, 2, 3],     # class 0: 2 taken for 1, 3 for 2
                          [0, 4, 0],     # class 1: never mistaken
                          [1, 1, 0]])    # class 2: a tie, the first such class
    assert train_cifar.most_often_taken_for(confusion) == [[2, 3], [None, 0], [0, 1]]


@pytest.mark.parametrize("where, sig", [("evaluate", signal.SIGINT), ("report", signal.SIGTERM)])
def test_a_stop_asked_for_after_the_last_step_lets_the_run_finish(cifar_root, tmp_path, monkeypatch, capsys,
                                                                  where, sig):
    """Ctrl-C or SIGTERM during the final evaluation or while the report is written: the training is
    done, so the run ends as a finished one (its report written, status 0), not as a stop to
    resume (a finished run cannot be)."""
    original = getattr(train_cifar, where)

    def interrupted(args, *rest):
        if not args.eval_only:
            signal.raise_signal(sig)
        return original(args, *rest)
    monkeypatch.setattr(train_cifar, where, interrupted)
    out = tmp_path / "run"
    assert run("--data-dir", cifar_root, "--epochs", 1, "--out", out, *FAST) == 0
    printed = capsys.readouterr()
    assert f"{train_cifar.StopRequested.SIGNALS[sig]}: the training is done" in printed.err
    assert "continue with" not in printed.out.lower()
    assert (out / "report.json").exists()
    assert [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(cifar_root, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert run("--data-dir", cifar_root, "--epochs", 1, "--out", out, *FAST) == 0
    good = (out / "last.npz").read_bytes()
    original = train_cifar.F.cross_entropy
    monkeypatch.setattr(train_cifar.F, "cross_entropy", lambda *a, **k: original(*a, **k) * float("nan"))
    code = run("--data-dir", cifar_root, "--epochs", 2, "--out", out, "--resume", out / "last.npz", *FAST)
    assert code == 2
    err = capsys.readouterr().err
    assert "loss became nan" in err and "Try a lower --lr (or a --clip-grad below 1)." in err
    assert (out / "last.npz").read_bytes() == good


def test_a_non_finite_test_loss_stops_before_the_checkpoint_is_saved(cifar_root, tmp_path, monkeypatch, capsys):
    """The training loss is read before each update: weights made NaN by an epoch's last step show
    first in its evaluation, which must not let them overwrite the last good checkpoint."""
    out = tmp_path / "run"
    assert run("--data-dir", cifar_root, "--epochs", 1, "--out", out, *FAST) == 0
    good = (out / "last.npz").read_bytes()
    original = train_cifar.evaluate
    monkeypatch.setattr(train_cifar, "evaluate", lambda *a: {**original(*a), "test_loss": float("nan")})
    assert run("--data-dir", cifar_root, "--epochs", 2, "--out", out, "--resume", out / "last.npz", *FAST) == 2
    assert "the test loss became nan after epoch 2: the weights are no longer finite" in capsys.readouterr().err
    assert (out / "last.npz").read_bytes() == good


def test_eval_only(cifar_root, tmp_path, capsys):
    """An evaluation writes eval.json beside the checkpoint; the run's own report.json stays as it was."""
    out = tmp_path / "run"
    assert run("--data-dir", cifar_root, "--epochs", 1, "--out", out, *FAST) == 0
    trained = (out / "report.json").read_text()
    capsys.readouterr()
    assert run("--data-dir", cifar_root, "--eval-only", "--resume", out / "last.npz", *FAST) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert (out / "report.json").read_text() == trained
    evaluated = json.loads((out / "eval.json").read_text())
    assert evaluated["test_acc"] == json.loads(trained)["test_acc"] and evaluated["train_images_per_s"] == 0.0
    assert evaluated["epoch"] == 1 and evaluated["checkpoint"] == str(out / "last.npz")     # what it measured
    assert evaluated["global_step"] == json.loads(trained)["global_step"] == 3            # 15 images, batches of 4
    # On a random part of the test set, a mistake is still named by its index in the whole set
    assert run("--data-dir", cifar_root, "--eval-only", "--resume", out / "last.npz", "--test-subset", 2,
               "--out", tmp_path / "part", *FAST) == 0
    part = json.loads((tmp_path / "part" / "eval.json").read_text())
    labels = load_dataset("cifar10", root=cifar_root, train=False, download=False).labels
    picked = load_dataset("cifar10", root=cifar_root, train=False, download=False).subset(2, seed=0).source_indices()
    assert part["test_images"] == 2 and picked.tolist() == [2, 0]     # the seeded subset: the 3rd image, the 1st
    assert [m["index"] for m in part["mistakes"]] == [2, 0]           # (one epoch on 15 images: both wrong)
    for m in part["mistakes"]:
        assert m["true"] == part["classes"][labels[m["index"]]] != m["predicted"]


def test_switches_a_checkpoint_carries_can_be_turned_off_on_resume(cifar_root, tmp_path, capsys):
    """--amp, --no-augment and --test-subset carry over to a resume; --no-amp, --augment and
    --test-subset 0 (the whole test set) undo them."""
    from tinycoat.checkpoint import load_checkpoint
    out = tmp_path / "run"
    assert run("--data-dir", cifar_root, "--epochs", 2, "--stop-after", 1, "--amp", "--no-augment", "--test-subset",
               2, "--out", out, *FAST) == 0
    assert run("--data-dir", cifar_root, "--epochs", 2, "--resume", out / "last.npz", "--no-amp", "--augment",
               "--test-subset", 0, *FAST) == 0
    meta = load_checkpoint(out / "last.npz")["meta"]
    config = meta["config"]
    assert (config["amp"], config["no_augment"], config["test_subset"]) == (False, False, 0)
    assert meta["classes"] == json.loads((out / "report.json").read_text())["classes"]   # (predict.py names them)
    err = capsys.readouterr().err
    assert "resuming with --no-amp (the checkpoint's run used --amp)" in err
    assert "resuming with --augment (the checkpoint's run used --no-augment)" in err
    assert json.loads((out / "report.json").read_text())["per_class_acc"].count(None) == 10 - 3   # all 3 images


def test_a_graphed_resume_of_an_amp_checkpoint_is_refused(cifar_root, tmp_path):
    """--cuda-graph is refused with --amp when typed; an --amp carried in by the checkpoint must be
    refused too (the graphed step does not scale the loss, yet the scaler would divide by S).
    Checked where the settings are adopted, which needs no GPU."""
    out = tmp_path / "run"
    assert run("--data-dir", cifar_root, "--epochs", 2, "--stop-after", 1, "--amp", "--out", out, *FAST) == 0
    args = train_cifar.parse_args(["--device", "gpu", "--cuda-graph", "--resume", str(out / "last.npz")])
    with pytest.raises(train_cifar.TrainingError, match="was trained with --amp, and --cuda-graph needs no --amp"):
        train_cifar.adopt_settings(args, train_cifar.read_checkpoint(args))
    args = train_cifar.parse_args(["--device", "gpu", "--cuda-graph", "--no-amp", "--resume", str(out / "last.npz")])
    train_cifar.adopt_settings(args, train_cifar.read_checkpoint(args))
    assert args.amp is False


def test_a_finished_run_is_not_resumed_for_nothing(cifar_root, tmp_path, capsys):
    """Resuming a run whose epochs are all done (or with --epochs at or below them) trained nothing,
    said it had succeeded and overwrote the run's report with an empty one: now it is refused."""
    out = tmp_path / "run"
    assert run("--data-dir", cifar_root, "--epochs", 2, "--out", out, *FAST) == 0
    files = {name: (out / name).read_bytes() for name in ("report.json", "metrics.jsonl", "last.npz")}
    for extra, said in (([], "its run of 2 epochs is finished"), (["--epochs", 1], "--epochs 1 leaves nothing"),
                        (["--epochs", 2], "--epochs 2 leaves nothing")):
        capsys.readouterr()
        assert run("--data-dir", cifar_root, "--resume", out / "last.npz", *FAST, *extra) == 2
        err = capsys.readouterr().err
        assert said in err and "has 2 epochs done" in err and "--eval-only" in err and "Traceback" not in err
    assert {name: (out / name).read_bytes() for name in files} == files
    assert run("--data-dir", cifar_root, "--resume", out / "last.npz", *FAST, "--epochs", 3) == 0   # longer: fine


def test_plot_without_matplotlib_is_refused_before_training(cifar_root, tmp_path, monkeypatch, capsys):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    assert run("--data-dir", cifar_root, "--epochs", 1, "--out", tmp_path / "run", "--plot", *FAST) == 2
    assert "--plot needs matplotlib" in capsys.readouterr().err
    assert not (tmp_path / "run" / "last.npz").exists()


def test_fashion_mnist_idx_end_to_end(tmp_path, monkeypatch):
    from tinycoat.data import fashion_mnist
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "none")
    write_fashion(tmp_path / "data" / "fashion-mnist", n=8, train=True)
    write_fashion(tmp_path / "data" / "fashion-mnist", n=4, train=False)
    assert run("--dataset", "fashion-mnist", "--data-dir", tmp_path / "data", "--epochs", 1,
               "--out", tmp_path / "run", *FAST) == 0
    assert json.loads((tmp_path / "run/report.json").read_text())["dataset"] == "fashion-mnist"


def test_image_folder_end_to_end(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("val", 2)):
        for cls in ("cat", "dog"):
            folder = tmp_path / "imgs" / split / cls
            folder.mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(folder / f"{i}.jpg")
    assert run("--dataset", "folder", "--data-dir", tmp_path / "imgs", "--image-size", 32, "--epochs", 1,
               "--out", tmp_path / "run", *FAST) == 0
    assert json.loads((tmp_path / "run/report.json").read_text())["classes"] == ["cat", "dog"]


@pytest.mark.parametrize("argv,message", [
    (["--model", "resnet50"], "unknown model 'resnet50'"),
    (["--layout", "TCTC"], "unknown layout 'TCTC'"),
    (["--epochs", "-1"], "--epochs must be a number in [1, 1000000], got -1"),
    (["--eval-only"], "--eval-only needs --resume"),
    (["--dataset", "folder"], "--dataset folder needs --data-dir"),
    (["--threads", "0"], "--threads must be a number in [1, 1024], got 0"),
    (["--tf32"], "--tf32 is for --device gpu"),
    (["--resume", "/"], "--resume '/' is a folder: pass its checkpoint, --resume /last.npz"),
    (["--resume", "/no/such/last.npz"], "no such checkpoint file"),
    (["--dataset", "folder", "--data-dir", "/nowhere", "--image-size", "60"],
     "--image-size 60 does not divide by coatnet_cifar_nano's total stride 8"),     # before any decoding
])
def test_bad_arguments_are_clear_errors(argv, message, capsys):
    assert run(*argv) == 2
    assert message in capsys.readouterr().err


def test_missing_dataset_says_where_to_put_it(tmp_path, capsys):
    assert run("--data-dir", tmp_path / "empty", "--epochs", 1, *FAST) == 2
    err = capsys.readouterr().err
    assert "cifar-10-binary.tar.gz" in err and str(tmp_path / "empty") in err
    assert "--no-download was given" in err and "leave out --no-download" in err and "download=" not in err


def test_a_failed_start_leaves_no_folder_behind(tmp_path):
    """--out made by a run that fails before writing anything is removed; one that was there stays."""
    assert run("--data-dir", tmp_path / "empty", "--epochs", 1, "--out", tmp_path / "new", *FAST) == 2
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()
    assert run("--data-dir", tmp_path / "empty", "--epochs", 1, "--out", tmp_path / "mine", *FAST) == 2
    assert (tmp_path / "mine").is_dir()


def test_corrupt_archive_is_refused(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cifar-10-binary.tar.gz").write_bytes(b"not the real archive")
    assert run("--data-dir", tmp_path / "data", "--epochs", 1, *FAST) == 2
    assert "checksum" in capsys.readouterr().err.lower()


def test_gpu_without_cupy_is_a_clear_error(cifar_root, monkeypatch, capsys):
    import sys
    from tinycoat import backend
    monkeypatch.setattr(backend, "_cupy_module", None)
    monkeypatch.setitem(sys.modules, "cupy", None)
    assert run("--data-dir", cifar_root, "--device", "gpu", *FAST) == 2
    assert "CuPy is not installed" in capsys.readouterr().err


def test_checkpoint_from_another_model_is_refused(cifar_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert run("--data-dir", cifar_root, "--epochs", 1, "--out", out, *FAST) == 0
    capsys.readouterr()
    code = run("--data-dir", cifar_root, "--epochs", 2, "--out", out, "--model", "coatnet_cifar_tiny",
               "--resume", out / "last.npz", *FAST)
    assert code == 2
    assert "is from --model 'coatnet_cifar_nano'" in capsys.readouterr().err


def test_warmup_longer_than_the_run_is_capped(capsys):
    import tinycoat as tc
    args = train_cifar.parse_args(["--epochs", "2", "--warmup", "5"])
    opt = tc.optim.AdamW([tc.nn.Parameter(tc.zeros(2))], lr=1.0)
    sched = train_cifar.make_schedule(args, opt, steps_per_epoch=10)
    assert sched.warmup_steps == 4 and sched.total_steps == 20
    assert "warming up over the first fifth of the run (4 steps) instead" in capsys.readouterr().err
    sched = train_cifar.make_schedule(train_cifar.parse_args(["--epochs", "1", "--warmup", "5"]), opt, steps_per_epoch=3)
    assert sched.warmup_steps == 0 and "no warm-up (a fifth of the run is not one step)" in capsys.readouterr().err
    args = train_cifar.parse_args(["--epochs", "10", "--warmup", "5"])
    assert train_cifar.make_schedule(args, opt, steps_per_epoch=10).warmup_steps == 50


FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not (FASHION / "train-images-idx3-ubyte.gz").exists(),
                    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")
def test_loss_goes_down_on_real_fashion_mnist(tmp_path):
    """Three short epochs on 128 real Fashion-MNIST images: the training loss falls."""
    out = tmp_path / "run"
    assert run("--dataset", "fashion-mnist", "--subset", 128, "--test-subset", 32, "--epochs", 3,
               "--batch-size", 32, "--lr", "2e-3", "--warmup", "0.3", "--drop-path", "0", "--label-smoothing", "0",
               "--no-progress", "--log-every", "3", "--out", out) == 0
    losses = [json.loads(line)["train_loss"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert losses[2] < losses[0] - 0.1, losses


def test_nan_loss_error_names_bad_labels_only_on_the_gpu():
    """On the GPU cross_entropy does not read labels back, so the NaN-loss error mentions them."""
    import argparse
    assert train_cifar._label_hint(argparse.Namespace(device="cpu"), 10) == ""
    assert "class label outside [0, 10)" in train_cifar._label_hint(argparse.Namespace(device="gpu"), 10)


def test_amp_trains_keeps_the_scale_in_checkpoints_and_resumes_exactly(cifar_root, tmp_path):
    """--amp (emulated on the CPU): finite losses, the GradScaler's state in the checkpoint, and
    1 epoch + resume + 1 epoch == 2 epochs straight, bit for bit."""
    common = ["--data-dir", cifar_root, *FAST, "--amp", "--epochs", 2]
    assert run(*common, "--out", tmp_path / "straight") == 0
    assert run(*common, "--stop-after", 1, "--out", tmp_path / "split") == 0
    assert run(*common, "--out", tmp_path / "split", "--resume", tmp_path / "split/last.npz") == 0
    rows = [json.loads(line) for line in (tmp_path / "straight/metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(np.isfinite(r["train_loss"]) for r in rows)
    from tinycoat.checkpoint import load_checkpoint
    meta = load_checkpoint(tmp_path / "straight/last.npz")["meta"]
    assert meta["grad_scaler"]["scale"] > 0
    assert load_checkpoint(tmp_path / "split/last.npz")["meta"]["grad_scaler"] == meta["grad_scaler"]   # resumed too
    a, b = weights(tmp_path / "straight/last.npz"), weights(tmp_path / "split/last.npz")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_no_augment_trains_on_the_images_as_they_are(cifar_root, tmp_path):
    """With --no-augment every training image is exactly a (normalized) dataset image; with the
    default augmentation (crops after padding, flips) most are not."""
    from tinycoat.data.transforms import normalize

    def batch_images(*extra):
        args = train_cifar.parse_args(["--data-dir", str(cifar_root), "--no-download", *extra])
        train, test = train_cifar.load_data(args)
        loader, _ = train_cifar.make_loaders(args, train, test)
        originals = normalize(train.images, loader.mean, loader.std).reshape(len(train), -1)
        images = np.concatenate([b for b, _ in loader]).reshape(-1, originals.shape[1])
        return [bool((np.abs(originals - im).max(axis=1) == 0).any()) for im in images]

    assert all(batch_images("--no-augment", "--batch-size", "4"))
    assert sum(batch_images("--batch-size", "4")) < 6


def test_eval_train_measures_the_training_set_in_eval_mode(tmp_path, monkeypatch, capsys):
    """Fashion-MNIST files whose training and test sets are the same images: the training-set metrics
    equal the test metrics; with --subset the training set evaluated is the subset."""
    from tinycoat.data import fashion_mnist
    from test_data_fashion_mnist import write_fashion
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "none")
    for train in (True, False):
        write_fashion(tmp_path / "data" / "fashion-mnist", n=6, train=train)
    common = ["--dataset", "fashion-mnist", "--data-dir", tmp_path / "data", *FAST]
    for subset in ([], ["--subset", "3"]):
        out = tmp_path / f"run{len(subset)}"
        assert run(*common, "--epochs", 1, "--out", out, *subset) == 0
        capsys.readouterr()
        assert run(*common, "--eval-only", "--eval-train", "--resume", out / "last.npz") == 0
        printed = capsys.readouterr().out
        record = json.loads((out / "eval.json").read_text())
        assert f"training set ({3 if subset else 6} images, eval mode)" in printed
        if not subset:
            assert record["train_eval_acc"] == record["test_acc"]
            assert record["train_eval_loss"] == record["test_loss"]
    assert run(*common, "--eval-train", "--out", tmp_path / "x") == 2


def test_the_graphed_branch_trains_as_the_eager_one(cifar_root, tmp_path, monkeypatch):
    """--cuda-graph's branch of the training loop (train_cifar.py::graphed_gradients), run on the CPU
    where CudaGraphStep calls its function eagerly: the same weights, bit for bit, as the plain loop."""
    common = ["--data-dir", cifar_root, *FAST, "--epochs", 2, "--drop-path", "0.2", "--clip-grad", "1.0"]
    assert run(*common, "--out", tmp_path / "plain") == 0
    made = []
    check = train_cifar._check_args

    def graphed_on_the_cpu(args):
        check(args)
        args.cuda_graph = True                 # (refused on the CPU when typed: there are no graphs there)
    real = train_cifar.graphed_gradients
    monkeypatch.setattr(train_cifar, "_check_args", graphed_on_the_cpu)
    monkeypatch.setattr(train_cifar, "graphed_gradients", lambda args, model: made.append(1) or real(args, model))
    assert run(*common, "--out", tmp_path / "graphed") == 0
    assert made == [1]
    plain, graphed = weights(tmp_path / "plain/last.npz"), weights(tmp_path / "graphed/last.npz")
    assert plain.keys() == graphed.keys()
    for name in plain:
        np.testing.assert_array_equal(plain[name], graphed[name], err_msg=name)
