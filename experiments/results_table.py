"""The README's table of results, made from the records the runs left in the repository.

    python experiments/results_table.py            # print it
    python experiments/results_table.py --write    # put it into README.md (after a new record)

One row per finished run: the full training run on all of Fashion-MNIST (its record in
lessons/figures/fashion_full/, made by ``lessons/make_figures.py --record-full``; lesson 10) and
each run of the layout ablation (lessons/figures/layout_runs/, made by layout_ablation.py;
lesson 09). tests/test_readme.py checks that the README shows exactly these rows, so a figure in
it can only come from a record.
"""
from __future__ import annotations

import importlib.util
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
FULL_RUN = ROOT / "lessons" / "figures" / "fashion_full" / "run.json"
DATASET_NAMES = {"fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}
HEADER = ["| run | training data | model | layout | epochs | test accuracy | time | machine |",
          "|---|---|---|---|---|---|---|---|"]
# "plain": what the ablation switches off, as the paper's ablation does (layout_ablation.PLAIN).
LEGEND = ("plain: no augmentation, label smoothing, stochastic depth, mixup or weight averaging. Test "
          "accuracy on the whole test set ({test_images} images). Time: the training steps' own (the "
          "ablation), with the evaluation after each epoch (the full run{once}); a run split over sessions by "
          "--stop-after and --resume counts no pause. Machine: each record's run.json names it in full.")


def _layout_ablation():
    spec = importlib.util.spec_from_file_location("layout_ablation", ROOT / "experiments" / "layout_ablation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _machine(text):
    """The machine as a record names it (backend.describe: "x86_64, 2 CPU cores", and a GPU's name),
    without its architecture, and "shared" where its note in parentheses says so; the record keeps
    the rest."""
    machine, _, note = text.partition(" (")
    return machine.split(", ", 1)[-1] + (", shared with other runs" if "shar" in note else "")


def _dashed(layout):
    return "-".join(layout)


def full_run_row(record):
    config = record["config"]
    data = f"{DATASET_NAMES.get(config['dataset'], config['dataset'])}, all {record['train_images']:,} images"
    return (f"| full training run | {data} | {config['model']} | {_dashed(config['layout'])} "
            f"| {record['epochs_done']} | **{100 * record['test_acc']:.1f} %** "
            f"| {record['epochs_time_s'] / 3600:.1f} h | {_machine(record['machine'])} |")


def ablation_row(record):
    argv = record["train_argv"]
    typed = dict(zip(argv[::2], argv[1::2]))
    data = f"{DATASET_NAMES.get(typed['--dataset'], typed['--dataset'])}, {int(typed['--subset']):,} images, plain"
    run = "layout ablation" + (", fit alike" if "--fit" in record["command"] else "")     # (layout_ablation.py --fit)
    return (f"| {run}, seed {record['seed']} | {data} | {typed['--model']} | {_dashed(record['layout'])} "
            f"| {typed['--epochs']} | {100 * record['test_acc']:.1f} % "
            f"| {record['train_seconds'] / 60:.0f} min | {_machine(record['machine'])} |")


def records(full_run=FULL_RUN):
    """(full run's record or None, the ablation's records in the paper's order of layouts, then
    those of its runs that fit alike)."""
    ablation = _layout_ablation()
    full = json.loads(pathlib.Path(full_run).read_text()) if pathlib.Path(full_run).exists() else None
    return full, ablation.load_records(ablation.RECORD) + ablation.load_records(ablation.FIT_RECORD)


def markdown(full, ablation):
    """The table, the full run first, and its legend."""
    lines = HEADER + ([full_run_row(full)] if full else []) + [ablation_row(r) for r in ablation]
    test_images = sorted({r["test_images"] for r in ([full] if full else []) + ablation})
    legend = LEGEND.format(test_images=" or ".join(f"{n:,}" for n in test_images),
                           once="" if full else ", once recorded")
    return "\n".join(lines) + "\n\n" + legend


def write_into(readme):
    """Replace the table (from its header to its legend) in ``readme`` with the records' own."""
    text = pathlib.Path(readme).read_text()
    start = text.find(HEADER[0])
    end = text.find("\n\n", text.find(LEGEND[:40], start)) if start >= 0 else -1
    if start < 0 or end < 0:
        raise SystemExit(f"{readme}: no results table (a line starting {HEADER[0][:30]!r}, "
                         "then its legend) to replace")
    pathlib.Path(readme).write_text(text[:start] + markdown(*records()) + text[end:])


def main(argv=None):
    import argparse
    p = argparse.ArgumentParser(description="The README's table of results, from the records in the repository.")
    p.add_argument("--write", action="store_true", help="write it into README.md instead of printing it")
    if p.parse_args(argv).write:
        write_into(ROOT / "README.md")
    else:
        print(markdown(*records()))


if __name__ == "__main__":
    main()
