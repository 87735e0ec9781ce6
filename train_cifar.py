#!/usr/bin/env python
"""Train a CoAtNet on CIFAR-10/100, Fashion-MNIST or an ImageNet-style image folder.

    python train_cifar.py                               # coatnet_cifar_nano on CIFAR-10, CPU
    python train_cifar.py --device gpu --epochs 100     # the same on a GPU (needs CuPy)
    python train_cifar.py --dataset fashion-mnist --epochs 3 --subset 10000
    python train_cifar.py --resume runs/cifar10-coatnet_cifar_nano/last.npz   # continue where it stopped

Every epoch writes OUT/last.npz atomically (model, optimizer, schedule, data-loader position,
RNG state and the metrics so far), then OUT/metrics.jsonl from it, so the two always agree; a
run can be stopped with Ctrl-C or SIGTERM at any time and resumed bit for bit. A new run never
writes over another: a folder that holds one needs --resume (to continue it) or --overwrite. The recipe is the paper's
(AdamW, warm-up + cosine, label smoothing, stochastic depth, gradient clipping),
cut down to small data; see lessons/10 for why each piece is there.

It runs with tinycoat's fast wing switched on (``tc.fast.enable()``: blocks on every core,
CUDA kernels, ...; lesson 11); ``--reference`` trains on the readable reference ops alone.

Started by ``mpiexec -n N python train_cifar.py ...`` it trains data-parallel (lesson 13): each
of the N processes takes its shard of every global batch (``--batch-size`` stays the global
batch), the gradients are summed with one all-reduce per step (MPI; NCCL between GPUs), and
rank 0 alone prints and writes. ``--sync-bn`` makes BatchNorm use the global batch's statistics.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import signal
import sys
import time

import numpy as np

import tinycoat as tc
from tinycoat import backend, distributed, optim
from tinycoat.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tinycoat.data import DATASETS, DataLoader, DatasetError, RandAugment, load_dataset, mixup
from tinycoat.distributed import (all_reduce_gradients, broadcast_module, convert_sync_batchnorm, shard,
                                  shard_bounds)
from tinycoat.files import atomic_write, remove_stale_temporaries
from tinycoat.models import LAYOUTS, MODEL_CONFIGS, count_parameters, create_model
from tinycoat.nn import functional as F


class TrainingError(RuntimeError):
    """A problem the user can act on: reported as one clear message, no traceback."""


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (a TrainingError, exit code 2), not a usage block."""

    def error(self, message):
        raise TrainingError(f"{message} (python train_cifar.py --help lists every option)")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """'(default: X)' after an option's help, unless there is no default to show or the help says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if any(action.default is nothing for nothing in (None, False, argparse.SUPPRESS)) or "default" in text:
            return text
        return text + " (default: %(default)s)"


def settle_min_lr(args):
    """The schedule decays from --lr down to --min-lr: an untyped floor follows a lower peak; a typed
    one above the peak is refused. (Again after a resume has taken the checkpoint's settings.)"""
    if args.min_lr > args.lr and "min_lr" not in args.typed:
        args.min_lr = args.lr                    # the default floor, for a peak below it
    if args.min_lr > args.lr:
        raise TrainingError(f"--min-lr ({args.min_lr:g}) must not be above --lr ({args.lr:g}): the schedule "
                            "decays from --lr down to --min-lr")


def parse_args(argv=None):
    p = make_parser()
    args = p.parse_args(argv)
    args.typed = _typed(p, argv)
    _check_args(args)
    args.comm = distributed.SingleProcess()     # main() joins the other ranks if mpiexec started us
    return args


def make_parser():
    p = _Parser(description="Train a CoAtNet (tinycoat) on an image classification dataset.",
                epilog="Data parallel: started as `mpiexec -n N python train_cifar.py ...` (pip install "
                       "'tinycoat[dist]'), it finds its N ranks by itself: --batch-size is the global batch, "
                       "each rank trains on its shard, gradients are all-reduced (MPI; NCCL between GPUs, one "
                       "GPU per rank), rank 0 alone prints and writes, and a checkpoint resumes with any N.",
                formatter_class=_HelpFormatter)
    p.add_argument("--dataset", default="cifar10", choices=list(DATASETS),
                   help="cifar100-coarse: CIFAR-100 with its 20 superclasses as the labels")
    p.add_argument("--data-dir", default=None,
                   help="dataset root (default: $TINYCOAT_DATA or ~/.cache/tinycoat; required for folder)")
    p.add_argument("--image-size", type=int, default=None, help="image side for --dataset folder (default: 64)")
    p.add_argument("--model", default="coatnet_cifar_nano", help=f"one of {', '.join(MODEL_CONFIGS)}")
    p.add_argument("--layout", default="CCTT", help=f"block types of S1..S4: one of {', '.join(LAYOUTS)}")
    p.add_argument("--epochs", type=int, default=100, help="epochs to train (the schedule spans them all)")
    p.add_argument("--batch-size", type=int, default=128, help="images per step (under mpiexec: the global batch)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (AdamW)")
    p.add_argument("--min-lr", type=float, default=1e-5, help="the floor of the cosine decay (at most --lr)")
    p.add_argument("--weight-decay", type=float, default=0.05,
                   help="AdamW's decoupled weight decay (not on biases, norms or the relative-position tables)")
    p.add_argument("--warmup", type=float, default=5.0, help="linear warm-up length in epochs")
    p.add_argument("--label-smoothing", type=float, default=0.1, help="label smoothing of the cross-entropy")
    p.add_argument("--mixup", type=float, default=0.0, help="mixup alpha (0 = off)")
    p.add_argument("--drop-path", type=float, default=0.1, help="stochastic depth rate of the last block")
    p.add_argument("--clip-grad", type=float, default=1.0, help="max global gradient norm (0 = off)")
    p.add_argument("--no-augment", action="store_true",
                   help="train on the images as they are (by default: random crops after 4-pixel padding and "
                        "random horizontal flips)")
    p.add_argument("--augment", dest="no_augment", action="store_false",
                   help="augment the images (the default; turns it back on when resuming a --no-augment run)")
    p.add_argument("--randaugment", default=None, metavar="N,M",
                   help="also RandAugment: N operations per image at magnitude M of 0..30 (the paper's ImageNet "
                        "recipe: 2,15; 'off' turns it off when resuming)")
    p.add_argument("--ema", type=float, default=0.0, help="EMA decay of the weights for evaluation (0 = off)")
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu"], help="gpu needs CuPy (pip install -e '.[gpu]')")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the weights, the data order, the augmentation and stochastic depth")
    p.add_argument("--subset", type=int, default=None, help="train on a random subset of N images")
    p.add_argument("--test-subset", type=int, default=None,
                   help="evaluate on a random subset of N images (0: the whole test set, e.g. to resume or "
                        "evaluate a --test-subset run on all of it)")
    p.add_argument("--out", default=None,
                   help="output folder (default: the --resume checkpoint's folder, else runs/<dataset>-<model>)")
    p.add_argument("--overwrite", action="store_true",
                   help="start a new run in an --out folder that holds another: its checkpoint and metrics "
                        "are deleted first (without this, such a folder is refused)")
    p.add_argument("--resume", default=None,
                   help="checkpoint to continue from (e.g. OUT/last.npz). The run keeps the checkpoint's settings "
                        "unless typed again: a different --model, --layout, --dataset, --image-size, --batch-size, "
                        "--subset or --seed is refused (they fix the model and the data order); a different "
                        "--epochs, --lr, --min-lr, --warmup or --weight-decay re-plans the schedule from the "
                        "resumed step on; other settings apply from the resumed step on")
    p.add_argument("--stop-after", type=int, default=None,
                   help="stop after N epochs in this session (the schedule still spans --epochs; resume later)")
    p.add_argument("--eval-only", action="store_true", help="only evaluate the --resume checkpoint")
    p.add_argument("--eval-train", action="store_true",
                   help="with --eval-only: evaluate the training set too (eval mode, no augmentation), so the "
                        "gap between training and test metrics is measured on equal terms")
    p.add_argument("--plot", action="store_true", help="write loss/accuracy curves as PNG (needs matplotlib)")
    p.add_argument("--log-every", type=int, default=20,
                   help="read the loss back from the device every N steps (each read synchronizes)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading a missing dataset")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    p.add_argument("--tf32", action="store_true",
                   help="GPU only: float32 matrix products on TensorFloat-32 tensor cores (faster, ~1e-3 "
                        "relative error per product; see backend.use_tf32)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=False,
                   help="mixed precision: float16 matrix products with loss scaling (tinycoat.amp, "
                        "optim.GradScaler); meant for the GPU, emulated (slower) on the CPU. --no-amp turns it "
                        "off when resuming an --amp run")
    p.add_argument("--cuda-graph", action="store_true",
                   help="GPU only: record forward, backward and clipping once as a CUDA graph and replay it every "
                        "step (tinycoat/fast/cuda_graph.py): one launch a step instead of about a thousand. Not "
                        "with --amp, --reference or data-parallel runs")
    p.add_argument("--reference", action="store_true",
                   help="train on the reference ops alone, the code the lessons cite (the fast wing, "
                        "tinycoat.fast, stays off: several times slower)")
    p.add_argument("--threads", type=int, default=None,
                   help="host threads for the fast wing's blocked ops and for OpenBLAS (default: every core this "
                        "process may use; in a data-parallel run, the machine's cores shared among its ranks)")
    p.add_argument("--sync-bn", action="store_true",
                   help="data-parallel runs (mpiexec -n N, found by itself): BatchNorm statistics over the global "
                        "batch (all ranks), so N ranks compute what one process would; by default each rank "
                        "normalizes with its own shard's statistics, as PyTorch's DDP does")
    p.add_argument("--dist-timeout", type=float, default=600.0,
                   help="data-parallel runs: seconds a rank waits for the others in a collective before it "
                        "decides one has died and stops every rank")
    p.add_argument("--no-malloc-tuning", action="store_true",
                   help="leave glibc's malloc as it is (by default freed activations are kept for reuse "
                        "instead of being unmapped and faulted in again every step; see tinycoat/fast/host.py)")
    return p


def _typed(parser, argv):
    """The options the user typed, by destination (argparse fills in defaults indistinguishably)."""
    missing = object()
    namespace = argparse.Namespace(**{a.dest: missing for a in parser._actions if a.dest != "help"})
    parser.parse_args(argv, namespace=namespace)       # (argparse leaves attributes a namespace has)
    return {k for k, v in vars(namespace).items() if v is not missing}


# The valid values of every numeric option: (low, high), or (low, high, low included?, high included?).
RANGES = {
    "epochs": (1, 10 ** 6), "batch_size": (1, 65536), "log_every": (1, 10 ** 9), "seed": (0, 2 ** 32 - 1),
    "lr": (0, 10, False, True), "min_lr": (0, 10), "weight_decay": (0, 10), "warmup": (0, 10 ** 6),
    "label_smoothing": (0, 1, True, False), "mixup": (0, 100), "drop_path": (0, 1, True, False),
    "clip_grad": (0, 10 ** 6), "ema": (0, 1, True, False), "subset": (1, 10 ** 9), "test_subset": (0, 10 ** 9),
    "stop_after": (1, 10 ** 6), "image_size": (8, 1024), "threads": (1, 1024), "dist_timeout": (1, 10 ** 6),
}


def _check_range(name, value, low, high, low_in=True, high_in=True):
    inside = (low <= value if low_in else low < value) and (value <= high if high_in else value < high)
    if not (math.isfinite(value) and inside):
        option = "--" + name.replace("_", "-")
        interval = f"{'[' if low_in else '('}{low}, {high}{']' if high_in else ')'}"
        raise TrainingError(f"{option} must be a number in {interval}, got {value}")


def _randaugment_setting(value):
    """--randaugment N,M as the string "N,M" (N operations, magnitude M in 0..30), or None for off."""
    if value is None or value == "off":
        return None
    parts = value.split(",")
    if not (len(parts) == 2 and all(p.strip().isdigit() for p in parts) and int(parts[1]) <= 30):
        raise TrainingError(f"--randaugment must be N,M (N operations per image, magnitude M from 0 to 30, e.g. "
                            f"2,15) or off, got {value!r}")
    return f"{int(parts[0])},{int(parts[1])}"


def _check_args(args):
    if args.model not in MODEL_CONFIGS:
        raise TrainingError(f"unknown model {args.model!r}: expected one of {', '.join(MODEL_CONFIGS)}")
    if args.layout not in LAYOUTS:
        raise TrainingError(f"unknown layout {args.layout!r}: expected one of {', '.join(LAYOUTS)}")
    for name, bounds in RANGES.items():
        if getattr(args, name) is not None:
            _check_range(name, getattr(args, name), *bounds)
    settle_min_lr(args)
    args.randaugment = _randaugment_setting(args.randaugment)
    if args.randaugment and args.no_augment and {"randaugment", "no_augment"} <= args.typed:
        raise TrainingError("--randaugment is an augmentation: it does not go with --no-augment")
    if args.eval_train and not args.eval_only:
        raise TrainingError("--eval-train goes with --eval-only (training reports its running training loss)")
    if args.eval_only and not args.resume:
        raise TrainingError("--eval-only needs --resume PATH (the checkpoint to evaluate)")
    if args.dataset == "folder" and not args.data_dir:
        raise TrainingError("--dataset folder needs --data-dir ROOT (with ROOT/train/<class>/*.jpg and ROOT/val/...)")
    if args.image_size is not None and args.dataset != "folder":
        raise TrainingError(f"--image-size is for --dataset folder; {args.dataset} images are 32×32")
    stride = math.prod(MODEL_CONFIGS[args.model].strides)    # (said now, before a folder is decoded)
    if args.image_size is not None and args.image_size % stride:
        raise TrainingError(f"--image-size {args.image_size} does not divide by {args.model}'s total stride "
                            f"{stride}: use a multiple of {stride}")
    if args.cuda_graph:
        for flag, why in ((args.device != "gpu", "--device gpu (CUDA graphs are a GPU feature)"),
                          (args.amp, "no --amp (its float16 products and overflow checks are not captured)"),
                          (args.reference, "the fast wing (its matrix products and kernels are the capturable "
                                           "ones): drop --reference")):
            if flag:
                raise TrainingError(f"--cuda-graph needs {why}")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise TrainingError("--plot needs matplotlib: pip install 'tinycoat[plot]' (or leave --plot out)")
    if args.resume is not None and os.path.isdir(args.resume):
        raise TrainingError(f"--resume {args.resume!r} is a folder: pass its checkpoint, "
                            f"--resume {os.path.join(args.resume, 'last.npz')}")
    if args.resume is not None and not os.path.isfile(args.resume):
        raise TrainingError(f"--resume {args.resume!r}: no such checkpoint file")
    if args.out is None:
        args.out = (os.path.dirname(args.resume) or "." if args.resume
                    else os.path.join("runs", f"{args.dataset}-{args.model}"))


# ----------------------------------------------------------------------------- set-up

def load_data(args):
    kwargs = dict(root=args.data_dir, download=not args.no_download)
    if args.dataset == "folder":
        kwargs.update(image_size=args.image_size, progress=not args.no_progress)
    try:
        train = load_dataset(args.dataset, train=True, **kwargs)
        test = load_dataset(args.dataset, train=False, **kwargs)
    except DatasetError as exc:       # the loaders name their argument; here the user typed an option
        raise TrainingError(str(exc).replace("and download=False", "and --no-download was given")
                            .replace("or pass download=True", "or leave out --no-download")) from None
    if train.classes != test.classes:
        raise TrainingError(f"train and test sets have different classes: {train.classes} vs {test.classes}")
    for name, dataset, split in (("subset", train, "training"), ("test_subset", test, "test")):
        wanted = getattr(args, name)
        if wanted and wanted > len(dataset):
            print(f"note: --{name.replace('_', '-')} {wanted} is more than the {len(dataset)} images of the "
                  f"{split} set: using all of them", file=sys.stderr)
    if args.subset:
        train = train.subset(min(args.subset, len(train)), seed=args.seed)
    if args.test_subset:
        test = test.subset(min(args.test_subset, len(test)), seed=args.seed)
    for dataset, split in ((train, "training"), (test, "test")):
        if len(dataset) == 0:
            raise TrainingError(f"the {split} set of {args.dataset} is empty"
                                + (f" (in {args.data_dir})" if args.data_dir else "") + ": nothing to train on"
                                if split == "training" else ": nothing to evaluate on")
    return train, test


def build(args, train):
    channels, height, width = train.images.shape[1:]
    if height != width:
        raise TrainingError(f"images are {height}×{width}; tinycoat's CoAtNets expect square images")
    try:
        model = create_model(args.model, num_classes=len(train.classes), in_chans=channels,
                             layout=args.layout, drop_path_rate=args.drop_path, image_size=height)
    except ValueError as exc:
        raise TrainingError(f"cannot build {args.model} for {height}×{width} images: {exc}") from None
    model.to(args.device)
    groups = optim.weight_decay_groups(model.named_parameters(), args.weight_decay)
    optimizer = optim.AdamW(groups, lr=args.lr)
    return model, optimizer


def make_loaders(args, train, test):
    """Every rank draws the same global training batches (same seed: one shared permutation) and
    trains on its shard of each; the test set is split once, each rank evaluating its part."""
    randaugment = RandAugment(*map(int, args.randaugment.split(","))) if args.randaugment and not args.no_augment \
        else None
    train_loader = DataLoader(train, args.batch_size, shuffle=True, drop_last=len(train) >= args.batch_size,
                              seed=args.seed, train_transforms=not args.no_augment, prefetch=True,
                              randaugment=randaugment)
    test_loader = DataLoader(rank_part(test, args.comm), max(args.batch_size, 256), shuffle=False)
    return train_loader, test_loader


def rank_part(dataset, comm):
    """This rank's contiguous part of an evaluation set (the whole set in one process)."""
    if comm.size == 1:
        return dataset
    lo, hi = shard_bounds(len(dataset), comm.rank, comm.size)
    return dataset.part(slice(lo, hi))


def make_schedule(args, optimizer, steps_per_epoch, say=True):
    total = max(1, args.epochs * steps_per_epoch)
    warmup = int(round(args.warmup * steps_per_epoch))
    if warmup >= total and args.epochs:
        # A warm-up as long as the run would leave the learning rate rising to the end.
        warmup = total // 5
        if say:
            over = ("no warm-up (a fifth of the run is not one step)" if warmup == 0 else
                    f"warming up over the first fifth of the run ({warmup} step{'s' if warmup > 1 else ''}) instead")
            print(f"note: --warmup {args.warmup:g} epochs is not shorter than --epochs {args.epochs}: {over}",
                  file=sys.stderr)
    return optim.WarmupCosine(optimizer, total_steps=total, warmup_steps=warmup, min_lr=args.min_lr)


# ----------------------------------------------------------------------------- checkpoints

RUN_FILES = ("last.npz", "metrics.jsonl", "report.json", "curves.png")   # what a run writes into --out


def prepare_out(args):
    """Check --out before anything is loaded or trained: a folder this process can write to, and
    one that holds no other run (unless this run continues it, or --overwrite says to start over:
    then clear_previous_run deletes it, once this run has loaded everything it needs)."""
    out = args.out
    if os.path.exists(out) and not os.path.isdir(out):
        raise TrainingError(f"--out {out!r} is a file, not a folder: name a folder for the run's checkpoint and "
                            "metrics")
    # The folders this run makes (--out and any missing parents, e.g. runs/): a run that fails
    # before writing anything removes them again.
    made, folder = [], os.path.abspath(out)
    while not os.path.exists(folder):
        made.append(folder)
        folder = os.path.dirname(folder)
    try:
        os.makedirs(out, exist_ok=True)
        args.made_out = made
        atomic_write(os.path.join(out, ".write-test"), lambda f: f.write(b"ok"))
        os.remove(os.path.join(out, ".write-test"))
    except OSError as exc:
        raise TrainingError(f"cannot write to --out {out!r} ({exc.strerror or exc}): choose a folder you can "
                            "write to") from None
    for name in remove_stale_temporaries(out):
        print(f"note: removed {name} from {out}, left by a writer that was stopped mid-write", file=sys.stderr)
    args.previous_run = []
    if args.eval_only:
        return
    existing = [name for name in RUN_FILES if os.path.exists(os.path.join(out, name))]
    own = os.path.join(out, "last.npz")
    continuing = (args.resume and os.path.exists(args.resume) and os.path.exists(own)
                  and os.path.samefile(args.resume, own))
    if not existing or continuing:
        return
    if not args.overwrite:
        raise TrainingError(f"{out} already holds a run ({', '.join(existing)}). Continue it with --resume {own}, "
                            "start it over with --overwrite, or choose another --out")
    args.previous_run = existing


def clear_previous_run(args):
    """--overwrite: delete the previous run's files, only now that this run has its data, model and
    checkpoint in hand (a start that fails leaves the previous run as it was)."""
    for name in args.previous_run:
        os.remove(os.path.join(args.out, name))
    if args.previous_run:
        print(f"--overwrite: deleted the previous run's {', '.join(args.previous_run)} in {args.out}",
              file=sys.stderr)


# A checkpoint records the settings of its run, and resuming keeps those the user does not type
# again. Typed anew, those that fix the model and the data order are refused; the schedule's are
# honoured by re-planning it for the rest of the run (the learning rate follows the new curve from
# the resumed step on); the others act step by step and simply apply from the resumed step on.
FIXED_BY_CHECKPOINT = ("model", "layout", "dataset", "image_size", "batch_size", "subset", "seed")
SCHEDULE = ("epochs", "lr", "min_lr", "warmup", "weight_decay")
CARRIED_BY_CHECKPOINT = ("label_smoothing", "mixup", "drop_path", "clip_grad", "ema", "amp", "test_subset",
                         "no_augment", "randaugment")
NEEDED_FOR_EVALUATION = ("model", "layout", "dataset", "image_size")


def adopt_settings(args, ck):
    """Take the checkpoint's settings for what the user did not type; refuse a typed change that the
    resumed run cannot follow (for --eval-only, only the model and the data matter); note the rest.
    Sets ``args.replan``: the schedule settings typed anew."""
    saved = ck["meta"].get("config", {})
    fixed = NEEDED_FOR_EVALUATION if args.eval_only else FIXED_BY_CHECKPOINT
    args.replan = []
    for key in FIXED_BY_CHECKPOINT + SCHEDULE + CARRIED_BY_CHECKPOINT:
        if key not in saved or getattr(args, key) == saved[key]:
            continue
        option, value = "--" + key.replace("_", "-"), getattr(args, key)
        if key not in args.typed:
            setattr(args, key, saved[key])
        elif key in fixed:
            raise TrainingError(f"checkpoint {args.resume!r} is from {option} {saved[key]!r}, but this run asks for "
                                f"{option} {value!r}: a resumed run keeps its model and its data order. Leave "
                                f"{option} out to continue it, or start a new run with another --out")
        elif not args.eval_only:
            args.replan += [key] if key in SCHEDULE else []
            how = "the schedule is re-planned with it from the resumed step on" if key in SCHEDULE else \
                "it applies from the resumed step on"
            shown = (lambda v: "off" if v is None else repr(v)) if key == "randaugment" else repr
            now, then = ((_as_typed(key, value), _as_typed(key, saved[key])) if key in SWITCHES
                         else (f"{option} {shown(value)}", shown(saved[key])))
            print(f"note: resuming with {now} (the checkpoint's run used {then}): {how}", file=sys.stderr)
    settle_min_lr(args)                                  # a typed --lr under the checkpoint's --min-lr
    if args.cuda_graph and args.amp:                     # (_check_args saw only what was typed)
        raise TrainingError(f"checkpoint {args.resume!r} was trained with --amp, and --cuda-graph needs no --amp: "
                            "add --no-amp to resume it graphed")
    done = ck["meta"].get("epoch", 0)
    if not args.eval_only and done >= args.epochs:       # (its report and metrics stay as they are)
        what = (f"--epochs {args.epochs} leaves nothing to train" if "epochs" in args.typed
                else f"its run of {args.epochs} epochs is finished")
        raise TrainingError(f"checkpoint {args.resume!r} has {done} epochs done: {what}. Pass --epochs above "
                            f"{done} to train it longer, or --eval-only to evaluate it")


SWITCHES = {"amp": ("--amp", "--no-amp"), "no_augment": ("--no-augment", "--augment")}   # (on, off)


def _as_typed(key, value):
    """A switch as the user would type it (``--no-amp``, not ``--amp False``)."""
    return SWITCHES[key][0] if value else SWITCHES[key][1]


def replan_schedule(args, optimizer, scheduler, steps_per_epoch, built_groups):
    """The typed --epochs/--lr/--min-lr/--warmup/--weight-decay for the rest of a resumed run: the
    groups' peak and decay as built from this run's settings, the cosine re-planned over --epochs,
    continuing from the checkpoint's step."""
    for group, built in zip(optimizer.param_groups, built_groups):
        group["initial_lr"], group["weight_decay"] = built["initial_lr"], built["weight_decay"]
    planned = make_schedule(args, optimizer, steps_per_epoch, say=False)   # (run() said it already)
    scheduler.load_state_dict({**planned.state_dict(), "last_step": scheduler.last_step})


def checkpoint_meta(args, epoch, global_step, history, epoch_sums=None, scaler=None, rng_ranks=None, classes=None):
    config = {k: getattr(args, k) for k in FIXED_BY_CHECKPOINT + SCHEDULE + CARRIED_BY_CHECKPOINT}
    meta = {"epoch": epoch, "global_step": global_step, "config": config, "history": history,
            "rng": backend.get_rng_state(), "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    if classes is not None:             # the names of the outputs, for predict.py (an image folder's own)
        meta["classes"] = list(classes)
    if rng_ranks is not None and len(rng_ranks) > 1:   # data-parallel: each rank's own (drop-path draws)
        meta["rng_ranks"] = rng_ranks
    if epoch_sums is not None:          # stopped inside an epoch: its running sums, for its metrics
        meta["epoch_sums"] = epoch_sums
    if scaler is not None and scaler.enabled:
        meta["grad_scaler"] = scaler.state_dict()
    return meta


def _last_good(args):
    """What a failed or stopped run leaves behind, in words."""
    path = os.path.join(args.out, "last.npz")
    if not os.path.exists(path):
        return f"No checkpoint had been written to {args.out} yet."
    return f"The last good checkpoint, {path}, and {os.path.join(args.out, 'metrics.jsonl')} were left as they were."


def save(args, model, optimizer, scheduler, ema, train_loader, epoch, global_step, history, epoch_sums=None,
         scaler=None):
    """Write OUT/last.npz, then OUT/metrics.jsonl from the history it holds: the metrics never run
    ahead of the checkpoint (a kill between the two leaves them one epoch behind, and resuming
    rewrites them from the checkpoint)."""
    path = os.path.join(args.out, "last.npz")
    rng_ranks = args.comm.gather_object(backend.get_rng_state())     # every rank takes part; rank 0 writes
    if args.comm.rank != 0:
        return path
    loader_state = {f"loader/{k}": v for k, v in train_loader.state_dict().items()}
    meta = checkpoint_meta(args, epoch, global_step, history, epoch_sums, scaler, rng_ranks,
                           classes=train_loader.dataset.classes)
    try:
        save_checkpoint(path, model, optimizer, scheduler, ema, meta=meta, arrays=loader_state)
    except OSError as exc:
        raise TrainingError(f"could not write the checkpoint {path} ({exc.strerror or exc}). "
                            + _last_good(args)) from None
    write_metrics(args.out, history)
    return path


def write_metrics(out, history):
    """OUT/metrics.jsonl, one JSON line per finished epoch, written whole and atomically."""
    path = os.path.join(out, "metrics.jsonl")
    if not history and not os.path.exists(path):      # no epoch finished yet: no file
        return
    text = "".join(json.dumps(row) + "\n" for row in history)
    try:
        atomic_write(path, lambda f: f.write(text), binary=False)
    except OSError as exc:
        raise TrainingError(f"the checkpoint was saved, but {path} could not be written ({exc.strerror or exc}); "
                            "resuming from the checkpoint writes it again") from None


def _history(ck, args):
    """The finished epochs' metrics: from the checkpoint, or (an earlier release's checkpoint) from
    the metrics.jsonl beside it, cut to the checkpoint's epoch with one line per epoch."""
    if "history" in ck["meta"]:
        return list(ck["meta"]["history"])
    epoch = int(ck["meta"].get("epoch", 0))
    path = os.path.join(os.path.dirname(os.path.abspath(args.resume)), "metrics.jsonl")
    rows = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                row = json.loads(line) if line.strip() else None
                if row and row.get("epoch", 0) <= epoch:
                    rows[row["epoch"]] = row
    return [rows[e] for e in sorted(rows)]


def read_checkpoint(args):
    try:
        return load_checkpoint(args.resume)
    except CheckpointError as exc:
        raise TrainingError(str(exc)) from None


def resume(args, ck, model, optimizer, scheduler, ema, train_loader, scaler=None):
    """Restore everything from the --resume checkpoint ``ck``; returns (epoch, global_step, history,
    epoch_sums) to continue from. (For --eval-only: the weights alone; optimizer and the rest None.)"""
    try:
        model.load_state_dict(ck["model"])
    except (KeyError, ValueError) as exc:
        raise TrainingError(f"checkpoint {args.resume!r} does not fit model {args.model}: {exc}") from None
    try:
        if optimizer is not None and ck["optimizer"] is not None:
            optimizer.load_state_dict(ck["optimizer"])
        if scheduler is not None and ck["scheduler"] is not None:
            scheduler.load_state_dict(ck["scheduler"])
        if ema is not None and ck["ema"] is not None:
            ema.load_state_dict(ck["ema"])
        elif ema is not None and args.eval_only:
            raise TrainingError(f"checkpoint {args.resume!r} was trained without --ema: it holds no weight "
                                "average to evaluate (leave --ema out to evaluate its weights)")
        elif ema is not None:       # --ema turned on at this resume: the average begins at these weights
            ema.start_from(model)
        if scaler is not None and "grad_scaler" in ck["meta"]:
            scaler.load_state_dict(ck["meta"]["grad_scaler"])
        ranks = ck["meta"].get("rng_ranks", [ck["meta"]["rng"]] if "rng" in ck["meta"] else [])
        if len(ranks) == args.comm.size:
            backend.set_rng_state(ranks[args.comm.rank])
        elif args.comm.rank == 0 and "rng" in ck["meta"]:
            backend.set_rng_state(ck["meta"]["rng"])
        else:                       # another number of ranks: fresh, distinct draws for ranks 1..N-1
            seed_rank(args, ck["meta"].get("global_step", 0), devices=("cpu",))
        if args.device == "gpu":    # (GPU generators are not checkpointed: fresh draws, never a replay)
            backend.reseed("gpu", args.seed, args.comm.rank, ck["meta"].get("global_step", 0))
    except (KeyError, ValueError, TypeError) as exc:
        raise TrainingError(f"checkpoint {args.resume!r}: its training state does not fit this run "
                            f"({type(exc).__name__}: {exc})") from None
    if train_loader is not None:
        loader_state = {k[len("loader/"):]: v for k, v in ck["arrays"].items() if k.startswith("loader/")}
        if loader_state:
            try:
                train_loader.load_state_dict(loader_state)
            except ValueError as exc:
                raise TrainingError(f"cannot resume the data order from {args.resume!r}: {exc}") from None
    return (int(ck["meta"].get("epoch", 0)), int(ck["meta"].get("global_step", 0)), _history(ck, args),
            ck["meta"].get("epoch_sums"))


# ----------------------------------------------------------------------------- training

class StopRequested:
    """Ctrl-C or SIGTERM (what schedulers and ``kill`` send) asks the loop to stop after the current
    step, save and exit with status 128 + the signal's number, as a process the signal ended would (so
    ``train && evaluate`` does not go on with an unfinished model); a second one stops at once (main()
    says what was kept)."""

    SIGNALS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}

    def __init__(self):
        self.requested = 0              # the signal this process was sent (set by the handler), 0: none
        self.signum = 0                 # the signal the ranks agreed to stop on (set by agree), 0: none
        self.finishing = False          # the last training step is taken: a signal waits for the report

    @property
    def decided(self):
        return self.signum != 0

    def agree(self, comm):
        """Has any rank been asked to stop? Every rank calls this at the same points, so all of them
        act on one answer (a signal reaches the ranks at different moments), and exit with one status.
        One process: its own."""
        self.signum = comm.allreduce_max_int(self.requested) if comm.size > 1 else self.requested
        return self.decided

    def __enter__(self):
        self.previous = {sig: signal.signal(sig, self._handler) for sig in self.SIGNALS}
        return self

    def _handler(self, signum, frame):
        if self.requested:
            raise Interrupted(signum, "the run's end (evaluation, checkpoint, report) was cut short" if self.finishing
                              else "the step in progress is lost")
        self.requested = int(signum)
        print(f"\n{self.SIGNALS[signum]}: " + ("the training is done: finishing its evaluation, checkpoint and "
                                               "report, then exiting"
                                               if self.finishing else
                                               "finishing this step, saving a checkpoint, then stopping")
              + " (send it again to stop at once)", file=sys.stderr)

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


class StoppedAndSaved(Exception):
    """The loop stopped on a signal after saving a checkpoint (main() exits 128 + signum)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class Interrupted(Exception):
    """A stop that cannot wait for the step to finish (a second Ctrl-C or SIGTERM, or one outside
    the training loop)."""

    def __init__(self, signum=signal.SIGINT, lost="the step in progress is lost"):
        super().__init__(signum)
        self.signum, self.lost = signum, lost


def _not_finite_advice(args):
    """What a run whose loss became inf or NaN leaves, and what to try."""
    clip = "(or --clip-grad 1.0)" if not args.clip_grad else f"(or a --clip-grad below {args.clip_grad:g})"
    return f"{_last_good(args)} Try a lower --lr {clip}."


def _label_hint(args, num_classes):
    """On the GPU, cross_entropy does not stop to check the labels: a bad one shows as NaN."""
    if args.device != "gpu":
        return ""
    return f" (On the GPU a class label outside [0, {num_classes}) also makes the loss NaN.)"


def graphed_gradients(args, model):
    """--cuda-graph: forward, loss, backward and clipping as one CUDA graph (tinycoat/fast/cuda_graph.py);
    the optimizer's update stays outside it."""
    def gradients(x, target):
        logits = model(x)
        loss = F.cross_entropy(logits, target, label_smoothing=args.label_smoothing)
        loss.backward()
        if args.clip_grad:
            optim.clip_grad_norm_(model.parameters(), args.clip_grad)
        return loss, logits
    return tc.fast.CudaGraphStep(gradients, model)


def train_one_epoch(args, epoch, model, optimizer, scheduler, ema, loader, num_classes, global_step, stop,
                    progress, scaler, sums=None, graphed=None, steps_after=None):
    """One epoch (or its rest, continuing from ``sums``, the running sums a stop mid-epoch saved).
    Returns (this epoch's metrics, global_step, the running sums so far). With ``steps_after`` (the
    steps of the run after this epoch), says early on how long the epoch and the run will take."""
    model.train()
    xp, comm = backend.array_module(args.device), args.comm
    sums = sums or {"loss_sum": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}
    # This rank's running sums; rank 0's start from those a stop mid-epoch saved, so that the sum
    # over ranks (global_sums) is the whole epoch's, added in the same order as one process adds.
    first = comm.rank == 0
    loss_sum = xp.asarray(sums["loss_sum"] if first else 0.0, dtype=xp.float64)
    correct = xp.asarray(sums["correct"] if first else 0, dtype=xp.int64)
    seen, steps = sums["seen"] if first else 0, 0
    start = time.perf_counter() - sums["seconds"]
    steps_left = len(loader) - loader.state_dict()["batch"].item()
    # the forecast times log_every steps after the warm-up (the first step; with --cuda-graph its
    # eager steps and the capture too)
    untimed = 1 if graphed is None else graphed.warmup + 1

    def global_sums():
        totals = xp.asarray([float(loss_sum), float(correct), seen], dtype=xp.float64)
        loss_total, correct_total, seen_total = (float(v) for v in comm.allreduce_sum(totals))
        return loss_total, int(correct_total), int(seen_total)

    for images, labels in loader:
        if args.mixup:
            images, targets = mixup(images, labels, args.mixup, np.random.default_rng((args.seed, global_step)),
                                    num_classes)
        else:
            targets = labels
        # Data parallel: this rank's shard of the global batch, and its share of the global mean
        # loss, n_r/B (lesson 13); one process: the whole batch, weight 1.
        (images, targets, labels), share = shard(comm, images, targets, labels)
        x = tc.tensor(images, device=args.device)
        y = tc.tensor(labels, device=args.device)
        target = tc.tensor(targets, device=args.device)

        if graphed is not None:                           # --cuda-graph: one replay (the same steps)
            loss, logits = graphed(x, target)
        else:
            with tc.amp.autocast(enabled=args.amp):      # float16 matrix products with --amp
                logits = model(x)
                loss = F.cross_entropy(logits, target, label_smoothing=args.label_smoothing)
            optimizer.zero_grad()
            scaler.scale(loss * share if comm.size > 1 else loss).backward()   # without --amp: passes through
            all_reduce_gradients(model.parameters(), comm)    # Σ_r ∇(share_r · L_r) = the full-batch gradient
            if args.clip_grad:
                scaler.unscale_(optimizer)                # clip the true gradients
                optim.clip_grad_norm_(model.parameters(), args.clip_grad)
        scaler.step(optimizer)                            # skipped if a float16 gradient overflowed
        scaler.update()
        scheduler.step()
        if ema is not None:
            ema.update(model)

        # Accumulate on the device; read back only every --log-every steps.
        loss_sum += loss.data * len(labels)
        correct += (logits.data.argmax(axis=1) == y.data).sum()
        seen += len(labels)
        steps += 1
        global_step += 1
        progress.update(1)
        if steps_after is not None and steps in (untimed, untimed + args.log_every):
            if steps == untimed:
                clock = time.perf_counter()
            else:
                progress.write(forecast(args, (time.perf_counter() - clock) / args.log_every,
                                        steps_left - steps, len(loader), steps_after))
        stopping = stop.agree(comm)
        if steps % args.log_every == 0 or stopping:
            loss_total, correct_total, seen_total = global_sums()
            mean_loss = loss_total / seen_total
            if not math.isfinite(mean_loss):
                raise TrainingError(f"the training loss became {mean_loss} at epoch {epoch + 1}, step {global_step}. "
                                    + _not_finite_advice(args) + _label_hint(args, num_classes))
            progress.set_postfix(loss=f"{mean_loss:.3f}", acc=f"{correct_total / seen_total:.3f}",
                                 lr=f"{optimizer.param_groups[0]['lr']:.2e}",
                                 img_s=f"{seen_total / (time.perf_counter() - start):.0f}")
        if stopping:
            break
    elapsed = time.perf_counter() - start
    loss_total, correct_total, seen_total = global_sums()
    mean_loss = loss_total / max(seen_total, 1)
    if seen_total and not math.isfinite(mean_loss):
        raise TrainingError(f"the training loss became {mean_loss} at epoch {epoch + 1}. "
                            + _not_finite_advice(args) + _label_hint(args, num_classes))
    sums = {"loss_sum": loss_total, "correct": correct_total, "seen": seen_total, "seconds": elapsed}
    return ({"train_loss": mean_loss, "train_acc": correct_total / max(seen_total, 1),
             "train_images_per_s": seen_total / elapsed if elapsed else 0.0}, global_step, sums)


SHOWN_MISTAKES = 12    # the first test images a report names with their wrong answers (lesson 10 draws them)


def evaluate(args, model, loader, num_classes):
    """Loss, accuracy, per-class accuracy, the class each class is most often taken for, the first
    SHOWN_MISTAKES wrong answers (by index in the whole test set), and images/s of ``model`` on
    ``loader`` (data parallel: on this rank's contiguous part of the set; the sums of all parts are
    added up, so the result is exact)."""
    model.eval()
    broadcast_module(model, args.comm, parameters=False)   # rank 0's BatchNorm running statistics
    k, comm, shown = num_classes, args.comm, SHOWN_MISTAKES
    loss_sum, confusion = 0.0, np.zeros(k * k)     # confusion[t, p]: images of class t predicted as p
    mistakes = np.zeros((shown, 4))                # rows (index in the whole set + 1, true, predicted, confidence)
    source, found, seen = loader.dataset.source_indices(), 0, 0
    start = time.perf_counter()
    with tc.no_grad():
        for images, labels in loader:
            logits = model(tc.tensor(images, device=args.device))
            loss_sum += float(F.cross_entropy(logits, tc.tensor(labels, device=args.device)).data * len(labels))
            predicted = backend.to_numpy(logits.data.argmax(axis=1))
            confusion += np.bincount(labels * k + predicted, minlength=k * k)[:k * k]
            wrong = np.flatnonzero(predicted != labels)[:shown - found]
            if wrong.size:                         # (the softmax's confidence in its wrong answer)
                confidence = backend.to_numpy(F.softmax(logits, axis=-1).data.max(axis=1))
                mistakes[found:found + wrong.size] = np.stack(
                    [source[seen + wrong] + 1, labels[wrong], predicted[wrong], confidence[wrong]], axis=1)
                found += wrong.size
            seen += len(labels)
    elapsed = time.perf_counter() - start
    # All ranks' sums in one all-reduce; each rank's mistakes in a slot of its own (the others add
    # zeros there): rank by rank they are the first wrong answers of the whole set, in its order.
    slots = np.zeros((comm.size, shown, 4))
    slots[comm.rank] = mistakes
    totals = comm.allreduce_sum(np.concatenate([[loss_sum], confusion, slots.reshape(-1)]))
    loss_sum, confusion = totals[0], totals[1:1 + k * k].reshape(k, k)
    rows = [row for row in totals[1 + k * k:].reshape(-1, 4) if row[0]][:shown]
    correct, count = np.diag(confusion), confusion.sum(axis=1)
    per_class = [float(correct[c] / count[c]) if count[c] else None for c in range(k)]   # None: no images
    return {"test_loss": float(loss_sum / count.sum()), "test_acc": float(correct.sum() / count.sum()),
            "test_images": int(count.sum()), "per_class_acc": per_class,
            "mistaken_for": most_often_taken_for(confusion),
            "mistakes": [{"index": int(i) - 1, "true": int(t), "predicted": int(p), "confidence": float(c)}
                         for i, t, p, c in rows],
            "test_images_per_s": count.sum() / elapsed if elapsed else 0.0}


def most_often_taken_for(confusion):
    """For each true class t, the other class p its images are most often predicted as, and how many:
    [p, confusion[t, p]] with the diagonal (the right answers) left out; [None, 0] for a class
    none of whose images was mistaken."""
    wrong = np.array(confusion, dtype=np.int64)
    np.fill_diagonal(wrong, 0)
    return [[int(row.argmax()), int(row.max())] if row.any() else [None, 0] for row in wrong]


def report(args, classes, metrics, wall_time, train_images_per_s, epoch, global_step):
    """Print the evaluation and write it as OUT/report.json (a finished run) or eval.json (--eval-only),
    with the epochs done and the step of the weights it measured (a checkpoint saved mid-epoch is
    past its epochs; a run resumed for more epochs outdates its report)."""
    lines = [f"test accuracy {metrics['test_acc'] * 100:.2f}%  (loss {metrics['test_loss']:.4f})",
             f"wall time {wall_time:.1f} s; "
             + ("" if args.eval_only else f"training {train_images_per_s:.1f} images/s, ")
             + f"inference {metrics['test_images_per_s']:.1f} images/s on {args.device}",
             "per-class accuracy (and the class its images are most often taken for):"]
    lines += [f"  {name:<14s} " + ("no test images" if acc is None else f"{acc * 100:6.2f}%")
              + (f"   {classes[other]} ({images})" if images else "")
              for name, acc, (other, images) in zip(classes, metrics["per_class_acc"], metrics["mistaken_for"])]
    print("\n".join(lines))
    record = {**metrics, "classes": classes, "wall_time_s": wall_time, "train_images_per_s": train_images_per_s,
              "device": args.device, "model": args.model, "layout": args.layout, "dataset": args.dataset,
              "machine": backend.describe(args.device), "epoch": epoch, "global_step": global_step,
              "mistakes": [{**m, "true": classes[m["true"]], "predicted": classes[m["predicted"]]}
                           for m in metrics["mistakes"]]}        # (test-set index, classes by name)
    if args.eval_only:
        record["checkpoint"] = os.path.abspath(args.resume)
    # An evaluation of a checkpoint goes beside the run's own report, never over it
    path = os.path.join(args.out, "eval.json" if args.eval_only else "report.json")
    try:
        atomic_write(path, lambda f: json.dump(record, f, indent=1), binary=False)
    except OSError as exc:
        raise TrainingError(f"could not write {path} ({exc.strerror or exc}); the run's checkpoint and metrics "
                            "are complete") from None


def plot_curves(out_dir):
    """Loss and accuracy per epoch from metrics.jsonl, as OUT/curves.png."""
    import matplotlib                   # (parse_args made sure it is there)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with open(os.path.join(out_dir, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    epochs = [r["epoch"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, [r["train_loss"] for r in rows], label="train")
    ax1.plot(epochs, [r["test_loss"] for r in rows], label="test")
    ax1.set(xlabel="epoch", ylabel="loss", title="loss")
    ax2.plot(epochs, [r["train_acc"] for r in rows], label="train")
    ax2.plot(epochs, [r["test_acc"] for r in rows], label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax1, ax2):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = os.path.join(out_dir, "curves.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run(args):
    if args.device == "gpu":
        try:
            backend.array_module("gpu")
        except tc.DeviceError as exc:
            raise TrainingError(str(exc)) from None
    comm = args.comm
    ck = read_checkpoint(args) if args.resume else None
    if ck is not None:
        adopt_settings(args, ck)
    tc.manual_seed(args.seed)
    if comm.rank == 0:
        prepare_out(args)
    train, test = load_data(args)
    if args.batch_size < comm.size or len(train) < comm.size:
        raise TrainingError(f"{comm.size} ranks need a global --batch-size and a training set of at least "
                            f"{comm.size} images (one per rank); got --batch-size {args.batch_size} and "
                            f"{len(train)} images")
    model, optimizer = build(args, train)
    if args.sync_bn and comm.size > 1:
        convert_sync_batchnorm(model, comm)
    elif args.sync_bn:
        print("note: --sync-bn changes nothing in a single process (its batch is the global batch)", file=sys.stderr)
    broadcast_module(model, comm)          # one set of starting weights, whatever each rank drew
    seed_rank(args, 0)
    train_loader, test_loader = make_loaders(args, train, test)
    scheduler = make_schedule(args, optimizer, len(train_loader), say=not args.eval_only)
    ema = optim.ModelEMA(model, args.ema) if args.ema else None
    scaler = optim.GradScaler(enabled=args.amp)
    if args.cuda_graph and comm.size > 1:
        raise TrainingError("--cuda-graph is for one process: a data-parallel step all-reduces the gradients "
                            "between backward and clipping")
    graphed, graph_said = (graphed_gradients(args, model) if args.cuda_graph else None), False
    print(f"{args.model} ({args.layout}): {count_parameters(model) / 1e6:.2f} M parameters; "
          f"{args.dataset}: {len(train)} train / {len(test)} test images, {len(train.classes)} classes; "
          f"device {args.device}, {'reference ops only' if args.reference else 'fast wing on'}"
          + (f"; data parallel over {comm.size} ranks ({args.batch_size // comm.size}-"
             f"{-(-args.batch_size // comm.size)} images each per step"
             f"{', SyncBatchNorm' if args.sync_bn else ''})" if comm.size > 1 else ""))

    epoch, global_step, history, epoch_sums = 0, 0, [], None
    if ck is not None:
        if args.eval_only:                          # evaluation needs the weights (and EMA), nothing else
            resume(args, ck, model, None, None, ema, None)
        else:
            built = [dict(g) for g in optimizer.param_groups]        # this run's settings, before loading
            epoch, global_step, history, epoch_sums = resume(args, ck, model, optimizer, scheduler, ema,
                                                             train_loader, scaler)
            if args.replan:
                replan_schedule(args, optimizer, scheduler, len(train_loader), built)
            within = train_loader.state_dict()["batch"].item()        # (counted as "stopped in epoch N" is)
            print(f"resumed from {args.resume} " + (f"in epoch {epoch + 1}, after step {global_step}" if within
                                                     else f"after epoch {epoch} (step {global_step})"))
    if comm.rank == 0 and not args.eval_only:
        clear_previous_run(args)
        if ck is not None:
            write_metrics(args.out, history)        # the metrics of the checkpoint, whatever the file held

    def eval_model():
        if ema is None:
            return model
        averaged = create_model(args.model, num_classes=len(train.classes), in_chans=train.images.shape[1],
                                layout=args.layout, image_size=train.images.shape[2]).to(args.device)
        ema.copy_to(averaged)
        return averaged

    if args.eval_only:
        start = time.perf_counter()
        metrics = evaluate(args, eval_model(), test_loader, len(train.classes))
        if args.eval_train:
            on_train = evaluate(args, eval_model(), DataLoader(rank_part(train, comm), test_loader.batch_size, shuffle=False), len(train.classes))
            metrics.update(train_eval_loss=on_train["test_loss"], train_eval_acc=on_train["test_acc"])
            print(f"training set ({len(train)} images, eval mode): accuracy {on_train['test_acc'] * 100:.2f}%  "
                  f"(loss {on_train['test_loss']:.4f})")
        if comm.rank == 0:
            report(args, train.classes, metrics, time.perf_counter() - start, 0.0, ck["meta"].get("epoch"),
                   ck["meta"].get("global_step"))
            draw_curves(args)
        return metrics

    wall_start = time.perf_counter()
    speeds, metrics, first_epoch = [], None, epoch
    with StopRequested() as stop:
        while epoch < args.epochs:
            steps_left = len(train_loader) - train_loader.state_dict()["batch"].item()
            with _progress(args, steps_left, f"epoch {epoch + 1}/{args.epochs}") as bar:
                train_metrics, global_step, sums = train_one_epoch(
                    args, epoch, model, optimizer, scheduler, ema, train_loader, len(train.classes),
                    global_step, stop, bar, scaler, epoch_sums, graphed,
                    steps_after=(args.epochs - epoch - 1) * len(train_loader) if epoch == first_epoch else None)
            epoch_sums = None
            if graphed is not None and not graph_said:
                graph_said = True
                print(f"CUDA graph: {graphed.replays} steps replayed" if graphed.reason is None else
                      f"note: --cuda-graph could not record the step, it ran eagerly ({graphed.reason})",
                      file=sys.stdout if graphed.reason is None else sys.stderr)
            if stop.decided and train_loader.state_dict()["batch"].item() != 0:
                path = save(args, model, optimizer, scheduler, ema, train_loader, epoch, global_step, history,
                            epoch_sums=sums, scaler=scaler)
                print(f"stopped in epoch {epoch + 1}; checkpoint saved to {path}. "
                      f"Continue with: --resume {path}")
                raise StoppedAndSaved(stop.signum)
            epoch += 1
            stop.finishing = epoch == args.epochs   # the last step is taken: a signal now lets the run end
            speeds.append(train_metrics["train_images_per_s"])
            metrics = evaluate(args, eval_model(), test_loader, len(train.classes))
            if not math.isfinite(metrics["test_loss"]):     # (the same sums on every rank: all stop here)
                raise TrainingError(f"the test loss became {metrics['test_loss']} after epoch {epoch}: the weights are "
                                    "no longer finite, and were not saved. " + _not_finite_advice(args))
            history.append({"epoch": epoch, **train_metrics,
                            **{k: v for k, v in metrics.items() if k not in ("per_class_acc", "mistaken_for",
                                                                            "mistakes", "test_images")},
                            "lr": optimizer.param_groups[0]["lr"], "global_step": global_step})
            row = history[-1]
            path = save(args, model, optimizer, scheduler, ema, train_loader, epoch, global_step, history,
                        scaler=scaler)
            print(f"epoch {epoch}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f} | "
                  f"test loss {row['test_loss']:.4f} acc {row['test_acc']:.4f} | "
                  f"{row['train_images_per_s']:.1f} img/s | saved {path}")
            # After the last epoch there is nothing left to stop: a stop asked for now ends a finished run.
            if epoch < args.epochs and (stop.agree(comm) or (args.stop_after
                                                            and epoch - first_epoch >= args.stop_after)):
                print(f"stopped after epoch {epoch}; continue with: --resume {path}")
                if stop.decided:
                    raise StoppedAndSaved(stop.signum)
                return metrics          # --stop-after: stopping here is what was asked, status 0
        if comm.rank == 0:
            report(args, train.classes, metrics, time.perf_counter() - wall_start,
                   sum(speeds) / len(speeds) if speeds else 0.0, epoch, global_step)
            draw_curves(args)
    return metrics


def draw_curves(args):
    if args.plot and os.path.exists(os.path.join(args.out, "metrics.jsonl")):
        print(f"curves written to {plot_curves(args.out)}")


def forecast(args, seconds_per_step, steps_left, steps_per_epoch, steps_after):
    """How long an epoch and the rest of the run take at the speed of the first steps (a CPU runs the
    default 100 CIFAR-10 epochs for more than a day: better said at the start than found out)."""
    def duration(seconds):
        return (f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min" if seconds < 5400
                else f"{seconds / 3600:.1f} h")
    rate = args.batch_size / seconds_per_step
    line = f"at {rate:.0f} images/s an epoch takes about {duration(seconds_per_step * steps_per_epoch)}"
    if steps_after:
        line += (f"; the training ends in about {duration(seconds_per_step * (steps_left + steps_after))} "
                 f"({args.epochs} epochs: --epochs, --subset and --stop-after shorten or split it)")
    return line


def _progress(args, total, desc):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, disable=args.no_progress, dynamic_ncols=True, leave=False)


def _interrupt(signum, frame):
    raise Interrupted(signum)


def seed_rank(args, step, devices=("cpu", "gpu")):
    """Rank r > 0 of a data-parallel run draws its own random numbers (stochastic depth), from
    (seed, rank, step); rank 0 draws as one process would. Weights come from rank 0 regardless."""
    if args.comm.rank > 0:
        for device in devices:
            if device == "cpu" or device == args.device:
                backend.reseed(device, args.seed, args.comm.rank, step)


def join_ranks(args):
    """The world of this run: one process, or the ranks mpiexec started (MPI; + NCCL on GPUs)."""
    try:
        return distributed.init(args.device, timeout=args.dist_timeout)
    except (tc.DeviceError, distributed.DistributedError) as exc:
        raise TrainingError(str(exc)) from None


def share_cores(args):
    """The ranks on one machine split its cores (fast-wing threads and OpenBLAS threads alike)."""
    from tinycoat.fast import host
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = args.threads or max(1, cores // args.comm.local_size)
    tc.set_num_threads(threads)
    host.set_blas_threads(threads)


def stop_every_rank(comm, code, message, detail=""):
    """Say why this rank stops (``detail``, such as a traceback, first); in a data-parallel run,
    stop the others too (they would otherwise wait for it in their next collective)."""
    # One write: mpiexec may drop what a rank wrote in many small writes just before it aborts
    # (a traceback line by line lost its tail in 8 of 200 tries here; one write, none).
    stream, text = (sys.stderr, detail + message) if comm.rank == 0 else \
        (sys.__stderr__, f"{detail}rank {comm.rank}: {message}")      # (its own stderr was silenced)
    stream.write(text + "\n")
    stream.flush()
    if comm.size > 1:
        comm.abort(code)
    return code


def main(argv=None) -> int:
    previous = signal.signal(signal.SIGTERM, _interrupt)   # outside the training loop, SIGTERM is Ctrl-C
    comm, streams = distributed.SingleProcess(), (sys.stdout, sys.stderr)
    try:
        try:
            args = parse_args(argv)
        except TrainingError:
            if distributed.launcher_rank() != 0:      # a bad option: every rank finds it, one says it
                return 2
            raise
        try:
            comm = args.comm = join_ranks(args)
        except TrainingError as exc:                  # perhaps this rank's own: each says it, all stop
            rank = distributed.launcher_rank()
            print(f"error: {exc}" if rank == 0 else f"rank {rank}: error: {exc}", file=sys.stderr, flush=True)
            distributed.communicator.abort_world(2)
            return 2
        if comm.rank != 0:                            # rank 0 alone prints (errors aside)
            sys.stdout = sys.stderr = open(os.devnull, "w")
            args.no_progress = True
        if args.reference:
            tc.fast.disable()
        else:
            tc.fast.enable(malloc=not args.no_malloc_tuning)
        if args.threads is not None or comm.size > 1:
            share_cores(args)
        if args.tf32:
            if args.device != "gpu":
                raise TrainingError("--tf32 is for --device gpu (TensorFloat-32 is a GPU tensor-core mode)")
            backend.use_tf32()
        run(args)
    except TrainingError as exc:
        for folder in getattr(locals().get("args"), "made_out", []):    # innermost first
            if os.path.isdir(folder) and not os.listdir(folder):
                os.rmdir(folder)        # made by this run, still empty: leave no trace of a failed start
        return stop_every_rank(comm, 2, f"error: {exc}")
    except distributed.DistributedError as exc:
        return stop_every_rank(comm, 2, f"error: {exc}")
    except StoppedAndSaved as exc:      # every rank agreed to it: none needs stopping
        return 128 + exc.signum
    except (KeyboardInterrupt, Interrupted) as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        if "args" not in locals():
            said = "Nothing was written."
        elif args.eval_only:
            said = "the evaluation did not finish; the checkpoint was only read."
        else:
            said = f"{getattr(exc, 'lost', 'the step in progress is lost')}. {_last_good(args)}"
        return stop_every_rank(comm, 128 + signum, f"\nstopped at once ({StopRequested.SIGNALS.get(signum, signum)}); "
                               + said)
    except Exception:
        if comm.size == 1:
            raise
        import traceback
        return stop_every_rank(comm, 1, "stopping every rank after the error above", traceback.format_exc())
    finally:
        signal.signal(signal.SIGTERM, previous)
        if sys.stdout is not streams[0]:
            sys.stdout.close()
            sys.stdout, sys.stderr = streams
    return 0


if __name__ == "__main__":
    sys.exit(main())
