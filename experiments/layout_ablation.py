"""The paper's layout ablation (CoAtNet §2.3), at small scale, with train_cifar.py.

    python experiments/layout_ablation.py                  # the whole sweep (hours on a 2-core CPU)
    python experiments/layout_ablation.py --stop-after 3   # train 3 epochs of it, then stop; rerun to go on
    python experiments/layout_ablation.py --table          # the table of what has finished
    python experiments/layout_ablation.py --fit            # the runs that fit alike (FIT_RUNS), for equal fit
    python experiments/layout_ablation.py --write-lesson   # the tables, put into lesson 09 (after a new record)
    python experiments/layout_ablation.py --threads 1 & python experiments/layout_ablation.py --threads 1 --reverse
                                                           # two sweeps, one per core, sharing the runs

coatnet_cifar_nano in the five layouts C-C-C-C … T-T-T-T, trained on the same 10,000 Fashion-MNIST
images with the same seed and budget, as the paper trains its ablation: no augmentation, no label
smoothing, no stochastic depth, no mixup (AdamW's weight decay stays). Two seeds for the extremes,
so the reader sees the noise. The paper's claims (shared/coatnet.md):

  generalization (the gap between training and test metrics; more convolution, smaller gap):
      C-C-C-C ≈ C-C-C-T ≥ C-C-T-T > C-T-T-T ≫ ViT_REL
  capacity (final training loss on large data; lower is more capacity):
      C-C-T-T ≈ C-T-T-T > ViT_REL > C-C-C-T > C-C-C-C

Each run is an ordinary train_cifar.py run in its own folder under --runs; a stopped sweep (Ctrl-C,
SIGTERM, --stop-after, a killed machine) resumes every run from its last checkpoint when started
again. A finished run is evaluated once more on the whole test set and, in eval mode, on its
training images (``--eval-only --eval-train``): the gap is measured on equal terms, not against the
running training loss of an epoch. Its small record (metrics.jsonl and run.json) is kept
in lessons/figures/layout_runs/<layout>-seed<seed>/, which lesson 09's table and figure read.

The attention-heavy layouts do not fit their training images in 10 epochs, and the paper reads
generalization at equal training loss. --fit trains the convolution-heavy layouts again with whole
schedules short enough that their training loss ends near the attention-heavy layouts' (FIT_RUNS),
recorded in lessons/figures/layout_fit/<layout>-seed<seed>-<epochs>ep/.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import signal
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import train_cifar  # noqa: E402
from tinycoat import backend  # noqa: E402
from tinycoat.checkpoint import load_checkpoint  # noqa: E402
from tinycoat.models import create_model, summary  # noqa: E402

RECORD = ROOT / "lessons" / "figures" / "layout_runs"
# The paper's order of layouts by convolution stages; the extremes get a second seed.
RUNS = [("CCCC", 0), ("CCCT", 0), ("CCTT", 0), ("CTTT", 0), ("TTTT", 0), ("CCCC", 1), ("TTTT", 1)]
# --fit: the convolution-heavy layouts again, each with a whole schedule (warm-up and cosine decay)
# short enough that its training loss ends near the attention-heavy layouts' after 10 epochs, so
# that the layouts are compared at equal fit, as the paper reads generalization: (layout, seed, epochs).
FIT_RUNS = [("CCCC", 0, 1), ("CCCC", 0, 2), ("CCCT", 0, 2), ("CCTT", 0, 4)]
FIT_RECORD = ROOT / "lessons" / "figures" / "layout_fit"
# What the ablation switches off (the paper: "without augmentation or regularization").
PLAIN = ["--no-augment", "--label-smoothing", "0", "--drop-path", "0", "--mixup", "0", "--ema", "0"]


def training_argv(layout, seed, opts, out):
    return ["--dataset", "fashion-mnist", "--model", "coatnet_cifar_nano", "--layout", layout,
            "--seed", str(seed), "--subset", str(opts.subset), "--test-subset", str(opts.test_subset),
            "--epochs", str(opts.epochs), "--batch-size", str(opts.batch_size), "--warmup", str(opts.warmup),
            *PLAIN, "--out", str(out)]


def run_name(layout, seed, opts):
    """The run's folder name: LAYOUT-seedS, and -Nep for a --fit run (one layout, several lengths)."""
    return f"{layout}-seed{seed}" + (f"-{opts.epochs}ep" if getattr(opts, "fit", False) else "")


def epochs_done(out):
    path = out / "last.npz"
    return load_checkpoint(path)["meta"].get("epoch", 0) if path.exists() else 0


def claim(out):
    """Take the run in folder ``out`` for this process (several sweeps may share the machine's cores,
    each taking the runs no other live sweep holds). False if another live process holds it."""
    lock = out.parent / (out.name + ".lock")
    out.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                text = lock.read_text()
                if not text:                # being written this instant by another sweep
                    return False
                os.kill(int(text), 0)       # alive: the run is taken
                return False
            except (ValueError, ProcessLookupError, FileNotFoundError):
                lock.unlink(missing_ok=True)   # its holder died: take it over
                continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def release(out):
    (out.parent / (out.name + ".lock")).unlink(missing_ok=True)


def train(layout, seed, opts, budget):
    """Train (or go on training) one run for at most ``budget`` epochs; returns the epochs trained,
    0 if it is done or another sweep holds it, or None if the run was stopped by a signal (the
    sweep stops too)."""
    out = pathlib.Path(opts.runs) / run_name(layout, seed, opts)
    done = epochs_done(out)
    if done >= opts.epochs:
        return 0
    if not claim(out):
        print(f"== {layout} seed {seed}: another sweep is training it; next", flush=True)
        return 0
    try:
        return _train(layout, seed, opts, budget, out, done)
    finally:
        release(out)


def _train(layout, seed, opts, budget, out, done):
    argv = training_argv(layout, seed, opts, out) + ["--no-progress", *opts.passthrough]
    if done or (out / "last.npz").exists():
        argv += ["--resume", str(out / "last.npz")]
    step = min(budget, opts.epochs - done)
    if step < opts.epochs - done:
        argv += ["--stop-after", str(step)]
    print(f"== {layout} seed {seed}: epochs {done + 1}–{done + step} of {opts.epochs}", flush=True)
    code = train_cifar.main(argv)
    if code not in (0, 128 + signal.SIGINT, 128 + signal.SIGTERM):   # (128 + signal: stopped and saved)
        sys.exit(f"{layout} seed {seed}: train_cifar.py exited with {code}")
    if code != 0:
        print(f"{layout} seed {seed} stopped before its epochs were done; run the same command again to go on")
        return None
    return epochs_done(out) - done


def record(layout, seed, opts):
    """Evaluate a finished run on the whole test set and its training images; keep the small record."""
    out = pathlib.Path(opts.runs) / run_name(layout, seed, opts)
    keep = pathlib.Path(opts.record) / run_name(layout, seed, opts)
    if (keep / "run.json").exists() or epochs_done(out) < opts.epochs or not claim(out):
        return
    try:
        _record(layout, seed, opts, out, keep)
    finally:
        release(out)


def _record(layout, seed, opts, out, keep):
    code = train_cifar.main(["--eval-only", "--eval-train", "--resume", str(out / "last.npz"),
                             "--test-subset", str(opts.final_test_subset), "--no-progress", *opts.passthrough])
    if code != 0:
        sys.exit(f"{layout} seed {seed}: the final evaluation exited with {code}")
    ck = load_checkpoint(out / "last.npz")
    final = json.loads((out / "eval.json").read_text())
    device = final.get("device", "cpu")
    history = ck["meta"]["history"]
    cost = summary(create_model("coatnet_cifar_nano", num_classes=10, in_chans=1, layout=layout, image_size=32),
                   (1, 32, 32), print_table=False)
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(out / "metrics.jsonl", keep / "metrics.jsonl")
    settings = ("subset", "batch_size", "warmup") if opts.fit else ("epochs", "subset", "batch_size", "warmup")
    info = {"layout": layout, "seed": seed, "epochs": opts.epochs, "command": "python experiments/layout_ablation.py "
            + (f"--fit --only {run_name(layout, seed, opts)} " if opts.fit else "")
            + " ".join(f"--{k.replace('_', '-')} {getattr(opts, k)}" for k in settings),
            "train_argv": training_argv(layout, seed, opts, "OUT"),
            "params": cost["params"], "macs": cost["macs"],
            "final_train_loss": history[-1]["train_loss"], "final_train_acc": history[-1]["train_acc"],
            "train_eval_loss": final["train_eval_loss"], "train_eval_acc": final["train_eval_acc"],
            "test_loss": final["test_loss"], "test_acc": final["test_acc"], "test_images": opts.final_test_subset,
            "train_seconds": sum(opts.subset / r["train_images_per_s"] for r in history if r["train_images_per_s"]),
            "finished": ck["meta"].get("time"),
            "machine": backend.describe(device) + (f" ({opts.machine_note})" if opts.machine_note else "")}
    (keep / "run.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"recorded {layout} seed {seed} in {keep}")


def load_records(folder=RECORD):
    """The finished runs' records (run.json), in the paper's order of layouts, then seed and epochs."""
    rows = []
    for path in sorted(pathlib.Path(folder).glob("*/run.json")):
        row = json.loads(path.read_text())
        argv = row.get("train_argv", [])
        if "epochs" not in row and "--epochs" in argv:                # (records made before it was kept)
            row["epochs"] = int(argv[argv.index("--epochs") + 1])
        rows.append(row)
    order = {}
    for i, (layout, _) in enumerate(RUNS):
        order.setdefault(layout, i)                  # the paper's order of layouts (a second seed sorts beside)
    return sorted(rows, key=lambda r: (order.get(r["layout"], 99), r["seed"], r.get("epochs", 0)))


def table(rows):
    """Markdown: one row per finished run; the gap is test loss − training loss, both in eval mode."""
    lines = ["| layout | seed | epochs | train loss | train acc | test loss | test acc | gap (loss) | gap (acc) "
             "| params | M MACs | train time |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['layout']} | {r['seed']} | {r['epochs']} | {r['train_eval_loss']:.3f} | {100 * r['train_eval_acc']:.1f} % "
                     f"| {r['test_loss']:.3f} | {100 * r['test_acc']:.1f} % "
                     f"| {r['test_loss'] - r['train_eval_loss']:.3f} "
                     f"| {100 * (r['train_eval_acc'] - r['test_acc']):.1f} pt "
                     f"| {r['params'] / 1e6:.2f} M | {r['macs'] / 1e6:.0f} | {r['train_seconds'] / 60:.0f} min |")
    return "\n".join(lines)


def orderings(rows):
    """The measured orderings in the paper's notation, seeds averaged, better first: generalization
    (the gap, test − training loss, both in eval mode, after training; smaller first) and capacity
    (final training loss; lower first). Neighbours that differ by no more than the largest
    difference between two seeds of one layout (the noise this sweep can see) are written "≈"."""
    by_layout = {}
    for r in rows:
        by_layout.setdefault(r["layout"], []).append(r)
    measures = {"generalization": lambda r: r["test_loss"] - r["train_eval_loss"],
                "capacity": lambda r: r["train_eval_loss"]}
    lines = []
    for name, measure in measures.items():
        mean = {layout: sum(map(measure, runs)) / len(runs) for layout, runs in by_layout.items()}
        spreads = [max(map(measure, runs)) - min(map(measure, runs)) for runs in by_layout.values() if len(runs) > 1]
        noise = max(spreads, default=0.0)
        ranked = sorted(mean, key=mean.get)
        text = "-".join(ranked[0]) if ranked else ""
        for better, worse in zip(ranked, ranked[1:]):
            text += (" ≈ " if mean[worse] - mean[better] <= noise else " > ") + "-".join(worse)
        what = "test − training loss" if name == "generalization" else "final training loss"
        seeds = f"seeds differ by up to {noise:.4f}" if spreads else "one seed per layout: no noise measured yet"
        lines.append(f"{name:15s} {text}    ({what}, eval mode; {seeds})")
    return "\n".join(lines)


LESSON = ROOT / "lessons" / "09-coatnet.md"


def write_into(lesson, rows, fit_rows):
    """Replace the lesson's two measured tables with the records' own: the ablation's (``rows``, from
    its header line to the blank line after it, then the ```text block of orderings that follows)
    and the runs that fit alike (``fit_rows``, the next table)."""
    text = pathlib.Path(lesson).read_text()
    header = table([]).splitlines()[0]
    start = text.find(header)
    end = text.find("\n\n", start) if start >= 0 else -1
    fence = text.find("```text\n", end) if end >= 0 else -1
    first = fence + len("```text\n")
    last = text.find("\n```", first) if fence >= 0 else -1
    fit_start = text.find(header, last) if last >= 0 else -1
    fit_end = text.find("\n\n", fit_start) if fit_start >= 0 else -1
    if min(start, end, fence, last, fit_start, fit_end) < 0 or not text.startswith("generalization  ", first):
        raise SystemExit(f"{lesson}: expected two measured tables (lines {header[:40]!r}...), the first followed "
                         "by a ```text block of orderings (its first line starting 'generalization  ')")
    pathlib.Path(lesson).write_text(text[:start] + table(rows) + text[end:first] + orderings(rows)
                                    + text[last:fit_start] + table(fit_rows) + text[fit_end:])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--subset", type=int, default=10000, help="training images (a fixed random subset per seed)")
    p.add_argument("--test-subset", type=int, default=2000, help="test images evaluated after each epoch "
                   "(the final evaluation uses all 10,000)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--final-test-subset", type=int, default=10000, help="test images of the final evaluation")
    p.add_argument("--record", default=None, help="where the small records go (kept in the repository; default "
                   "lessons/figures/layout_runs/, with --fit layout_fit/)")
    p.add_argument("--runs", default=None, help="where the runs' folders go (default runs/layout_ablation/, "
                   "with --fit runs/layout_fit/)")
    p.add_argument("--stop-after", type=int, default=None, help="train at most N epochs in all, then stop")
    p.add_argument("--only", default=None, help="comma-separated LAYOUT-seedS names to run (default: all)")
    p.add_argument("--machine-note", default="", help="said in each run's record (e.g. 'shared with other work')")
    p.add_argument("--reverse", action="store_true",
                   help="take the runs in reverse order (a second sweep on another core meets the first midway; "
                        "a run one sweep trains, the other skips)")
    p.add_argument("--fit", action="store_true",
                   help="train the runs that fit alike instead (FIT_RUNS: C-C-C-C, C-C-C-T, C-C-T-T with shorter "
                        "schedules; their epochs replace --epochs), recorded in lessons/figures/layout_fit/")
    p.add_argument("--table", action="store_true", help="print the table of the recorded runs and stop")
    p.add_argument("--write-lesson", action="store_true",
                   help="put the tables and orderings of the recorded runs (the ablation's and --fit's) into "
                        "lessons/09-coatnet.md and stop")
    opts, opts.passthrough = p.parse_known_args(argv)    # anything else goes to train_cifar.py (--threads, --device)
    opts.record = opts.record or str(FIT_RECORD if opts.fit else RECORD)
    opts.runs = opts.runs or str(ROOT / "runs" / ("layout_fit" if opts.fit else "layout_ablation"))
    if opts.write_lesson:
        write_into(LESSON, load_records(RECORD), load_records(FIT_RECORD))
        return 0
    if opts.table:
        rows = load_records(opts.record)
        print(table(rows) + "\n\n" + orderings(rows))
        return 0
    budget = opts.stop_after if opts.stop_after is not None else float("inf")
    runs = []
    for layout, seed, *epochs in (FIT_RUNS if opts.fit else RUNS):
        run_opts = argparse.Namespace(**{**vars(opts), "epochs": epochs[0] if epochs else opts.epochs})
        if opts.only is None or run_name(layout, seed, run_opts) in opts.only.split(","):
            runs.append((layout, seed, run_opts))
    runs = runs[::-1] if opts.reverse else runs
    for layout, seed, run_opts in runs:
        trained = train(layout, seed, run_opts, budget)
        if trained is None:
            return 1
        budget -= trained
        record(layout, seed, run_opts)
        if budget <= 0:
            print("stopped: --stop-after reached; run the same command again to go on")
            return 0
    rows = load_records(opts.record)
    print(table(rows) + "\n\n" + orderings(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
