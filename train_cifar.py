#!/usr/bin/env python
"""Train a CoAtNet on CIFAR-10/100, Fashion-MNIST or an ImageNet-style image folder.

    python train_cifar.py                               # coatnet_cifar_nano on CIFAR-10, CPU
    python train_cifar.py --device gpu --epochs 100     # the same on a GPU (needs CuPy)
    python train_cifar.py --dataset fashion-mnist --epochs 3 --subset 10000
    python train_cifar.py --resume runs/cifar10/last.npz    # continue exactly where it stopped

Every epoch appends a line to OUT/metrics.jsonl and writes OUT/last.npz atomically
(model, optimizer, schedule, data-loader position and RNG state), so a run can be
stopped with Ctrl-C at any time and resumed bit for bit. The recipe is the paper's
(AdamW, warm-up + cosine, label smoothing, stochastic depth, gradient clipping),
cut down to small data; see lessons/10 for why each piece is there.

It runs with tinycoat's fast wing switched on (``tc.fast.enable()``: blocks on every core,
CUDA kernels, ...; lesson 11); ``--reference`` trains on the readable reference ops alone.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time

import numpy as np

import tinycoat as tc
from tinycoat import backend, optim
from tinycoat.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tinycoat.data import DATASETS, DataLoader, DatasetError, load_dataset, mixup
from tinycoat.models import LAYOUTS, MODEL_CONFIGS, create_model
from tinycoat.nn import functional as F


class TrainingError(RuntimeError):
    """A problem the user can act on: reported as one clear message, no traceback."""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train a CoAtNet (tinycoat) on an image classification dataset.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", default="cifar10", choices=list(DATASETS),
                   help="cifar100-coarse: CIFAR-100 with its 20 superclasses as the labels")
    p.add_argument("--data-dir", default=None,
                   help="dataset root (default: $TINYCOAT_DATA or ~/.cache/tinycoat; required for folder)")
    p.add_argument("--image-size", type=int, default=None, help="image side for --dataset folder (default 64)")
    p.add_argument("--model", default="coatnet_cifar_nano", help=f"one of {', '.join(MODEL_CONFIGS)}")
    p.add_argument("--layout", default="CCTT", help=f"block types of S1..S4: one of {', '.join(LAYOUTS)}")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (AdamW)")
    p.add_argument("--min-lr", type=float, default=1e-5)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup", type=float, default=5.0, help="linear warm-up length in epochs")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--mixup", type=float, default=0.0, help="mixup alpha (0 = off)")
    p.add_argument("--drop-path", type=float, default=0.1, help="stochastic depth rate of the last block")
    p.add_argument("--clip-grad", type=float, default=1.0, help="max global gradient norm (0 = off)")
    p.add_argument("--ema", type=float, default=0.0, help="EMA decay of the weights for evaluation (0 = off)")
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--subset", type=int, default=None, help="train on a random subset of N images")
    p.add_argument("--test-subset", type=int, default=None, help="evaluate on a random subset of N images")
    p.add_argument("--out", default=None, help="output folder (default: runs/<dataset>-<model>)")
    p.add_argument("--resume", default=None, help="checkpoint to continue from (e.g. OUT/last.npz)")
    p.add_argument("--stop-after", type=int, default=None,
                   help="stop after N epochs in this session (the schedule still spans --epochs; resume later)")
    p.add_argument("--eval-only", action="store_true", help="only evaluate the --resume checkpoint")
    p.add_argument("--plot", action="store_true", help="write loss/accuracy curves as PNG (needs matplotlib)")
    p.add_argument("--log-every", type=int, default=20,
                   help="read the loss back from the device every N steps (each read synchronizes)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading a missing dataset")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    p.add_argument("--tf32", action="store_true",
                   help="GPU only: float32 matrix products on TensorFloat-32 tensor cores (faster, ~1e-3 "
                        "relative error per product; see backend.use_tf32)")
    p.add_argument("--amp", action="store_true",
                   help="mixed precision: float16 matrix products with loss scaling (tinycoat.amp, "
                        "optim.GradScaler); meant for the GPU, emulated (slower) on the CPU")
    p.add_argument("--reference", action="store_true",
                   help="train on the reference ops alone, the code the lessons cite (the fast wing, "
                        "tinycoat.fast, stays off: several times slower)")
    p.add_argument("--threads", type=int, default=None,
                   help="host threads for the fast wing's blocked ops (default: every core this process may use)")
    p.add_argument("--no-malloc-tuning", action="store_true",
                   help="leave glibc's malloc as it is (by default freed activations are kept for reuse "
                        "instead of being unmapped and faulted in again every step; see tinycoat/fast/host.py)")
    args = p.parse_args(argv)
    _check_args(args)
    return args


def _check_args(args):
    if args.model not in MODEL_CONFIGS:
        raise TrainingError(f"unknown model {args.model!r}: expected one of {', '.join(MODEL_CONFIGS)}")
    if args.layout not in LAYOUTS:
        raise TrainingError(f"unknown layout {args.layout!r}: expected one of {', '.join(LAYOUTS)}")
    for name in ("epochs", "batch_size", "log_every"):
        value = getattr(args, name)
        if value < (0 if name == "epochs" else 1):
            raise TrainingError(f"--{name.replace('_', '-')} must be {'>= 0' if name == 'epochs' else '>= 1'}, "
                                f"got {value}")
    for name in ("lr", "weight_decay", "warmup", "label_smoothing", "mixup", "clip_grad", "min_lr"):
        if getattr(args, name) < 0:
            raise TrainingError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(args, name)}")
    if not 0 <= args.drop_path < 1 or not 0 <= args.ema < 1 or not 0 <= args.label_smoothing < 1:
        raise TrainingError("--drop-path, --ema and --label-smoothing must be in [0, 1)")
    if args.eval_only and not args.resume:
        raise TrainingError("--eval-only needs --resume PATH (the checkpoint to evaluate)")
    if args.dataset == "folder" and not args.data_dir:
        raise TrainingError("--dataset folder needs --data-dir ROOT (with ROOT/train/<class>/*.jpg and ROOT/val/...)")
    for name in ("subset", "test_subset", "stop_after"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise TrainingError(f"--{name.replace('_', '-')} must be >= 1")
    args.out = args.out or os.path.join("runs", f"{args.dataset}-{args.model}")


# ----------------------------------------------------------------------------- set-up

def load_data(args):
    kwargs = dict(root=args.data_dir, download=not args.no_download)
    if args.dataset == "folder":
        kwargs["image_size"] = args.image_size
    try:
        train = load_dataset(args.dataset, train=True, **kwargs)
        test = load_dataset(args.dataset, train=False, **kwargs)
    except DatasetError as exc:
        raise TrainingError(str(exc)) from None
    if train.classes != test.classes:
        raise TrainingError(f"train and test sets have different classes: {train.classes} vs {test.classes}")
    if args.subset:
        train = train.subset(min(args.subset, len(train)), seed=args.seed)
    if args.test_subset:
        test = test.subset(min(args.test_subset, len(test)), seed=args.seed)
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
    train_loader = DataLoader(train, args.batch_size, shuffle=True, drop_last=len(train) >= args.batch_size,
                              seed=args.seed, train_transforms=True, prefetch=True)
    test_loader = DataLoader(test, max(args.batch_size, 256), shuffle=False)
    return train_loader, test_loader


def make_schedule(args, optimizer, steps_per_epoch):
    total = max(1, args.epochs * steps_per_epoch)
    warmup = int(round(args.warmup * steps_per_epoch))
    if warmup >= total and args.epochs:
        # A warm-up as long as the run would leave the learning rate rising to the end.
        warmup = total // 5
        print(f"note: --warmup {args.warmup:g} epochs is not shorter than --epochs {args.epochs}; "
              f"warming up over the first fifth of the run ({warmup} steps) instead", file=sys.stderr)
    return optim.WarmupCosine(optimizer, total_steps=total, warmup_steps=warmup, min_lr=args.min_lr)


# ----------------------------------------------------------------------------- checkpoints

def checkpoint_meta(args, epoch, global_step, scaler=None):
    config = {k: getattr(args, k) for k in ("dataset", "model", "layout", "seed", "batch_size", "epochs")}
    meta = {"epoch": epoch, "global_step": global_step, "config": config,
            "rng": backend.get_rng_state(), "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    if scaler is not None and scaler.enabled:
        meta["grad_scaler"] = scaler.state_dict()
    return meta


def save(args, model, optimizer, scheduler, ema, train_loader, epoch, global_step, name="last.npz", scaler=None):
    loader_state = {f"loader/{k}": v for k, v in train_loader.state_dict().items()}
    return save_checkpoint(os.path.join(args.out, name), model, optimizer, scheduler, ema,
                           meta=checkpoint_meta(args, epoch, global_step, scaler), arrays=loader_state)


def resume(args, model, optimizer, scheduler, ema, train_loader, scaler=None):
    """Restore everything from --resume; returns (epoch, global_step) to continue from."""
    try:
        ck = load_checkpoint(args.resume)
    except CheckpointError as exc:
        raise TrainingError(str(exc)) from None
    saved = ck["meta"].get("config", {})
    for key in ("model", "layout", "dataset"):
        if key in saved and saved[key] != getattr(args, key):
            raise TrainingError(f"checkpoint {args.resume!r} is from {key} {saved[key]!r}, but this run uses "
                                f"--{key} {getattr(args, key)!r}: pass the same --{key} to resume it")
    try:
        model.load_state_dict(ck["model"])
    except (KeyError, ValueError) as exc:
        raise TrainingError(f"checkpoint {args.resume!r} does not fit model {args.model}: {exc}") from None
    if optimizer is not None and ck["optimizer"] is not None:
        optimizer.load_state_dict(ck["optimizer"])
    if scheduler is not None and ck["scheduler"] is not None:
        scheduler.load_state_dict(ck["scheduler"])
    if ema is not None and ck["ema"] is not None:
        ema.load_state_dict(ck["ema"])
    if train_loader is not None:
        loader_state = {k[len("loader/"):]: v for k, v in ck["arrays"].items() if k.startswith("loader/")}
        if loader_state:
            try:
                train_loader.load_state_dict(loader_state)
            except ValueError as exc:
                raise TrainingError(f"cannot resume the data order from {args.resume!r}: {exc} "
                                    "(use the same --batch-size and --subset as the original run)") from None
    if scaler is not None and "grad_scaler" in ck["meta"]:
        scaler.load_state_dict(ck["meta"]["grad_scaler"])
    if "rng" in ck["meta"]:
        backend.set_rng_state(ck["meta"]["rng"])
    return int(ck["meta"].get("epoch", 0)), int(ck["meta"].get("global_step", 0))


# ----------------------------------------------------------------------------- training

class StopRequested:
    """Ctrl-C asks the loop to stop after the current step (a second Ctrl-C stops at once)."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nCtrl-C: finishing this step, saving a checkpoint, then stopping "
              "(press Ctrl-C again to stop at once)", file=sys.stderr)

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self.previous)


def _label_hint(args, num_classes):
    """On the GPU, cross_entropy does not stop to check the labels: a bad one shows as NaN."""
    if args.device != "gpu":
        return ""
    return f" (On the GPU a class label outside [0, {num_classes}) also makes the loss NaN.)"


def train_one_epoch(args, epoch, model, optimizer, scheduler, ema, loader, num_classes, global_step, stop,
                    progress, scaler):
    model.train()
    xp = backend.array_module(args.device)
    loss_sum, correct, seen, steps = xp.zeros((), dtype=xp.float64), xp.zeros((), dtype=xp.int64), 0, 0
    start = time.perf_counter()
    for images, labels in loader:
        if args.mixup:
            images, targets = mixup(images, labels, args.mixup, np.random.default_rng((args.seed, global_step)),
                                    num_classes)
            target = tc.tensor(targets, device=args.device)
        else:
            target = tc.tensor(labels, device=args.device)
        x = tc.tensor(images, device=args.device)
        y = tc.tensor(labels, device=args.device)

        with tc.amp.autocast(enabled=args.amp):          # float16 matrix products with --amp
            logits = model(x)
            loss = F.cross_entropy(logits, target, label_smoothing=args.label_smoothing)
        optimizer.zero_grad()
        scaler.scale(loss).backward()                     # without --amp the scaler passes through
        if args.clip_grad:
            scaler.unscale_(optimizer)                    # clip the true gradients
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
        if steps % args.log_every == 0 or stop.requested:
            mean_loss = float(loss_sum) / seen
            if not math.isfinite(mean_loss):
                raise TrainingError(
                    f"the training loss became {mean_loss} at epoch {epoch + 1}, step {global_step}. "
                    f"The last good checkpoint in {args.out} was left untouched. Try a lower --lr "
                    "(or --clip-grad 1.0)." + _label_hint(args, num_classes))
            progress.set_postfix(loss=f"{mean_loss:.3f}", acc=f"{float(correct) / seen:.3f}",
                                 lr=f"{optimizer.param_groups[0]['lr']:.2e}",
                                 img_s=f"{seen / (time.perf_counter() - start):.0f}")
        if stop.requested:
            break
    elapsed = time.perf_counter() - start
    mean_loss = float(loss_sum) / max(seen, 1)
    if seen and not math.isfinite(mean_loss):
        raise TrainingError(f"the training loss became {mean_loss} at epoch {epoch + 1}. The last good "
                            f"checkpoint in {args.out} was left untouched. Try a lower --lr." + _label_hint(args, num_classes))
    return {"train_loss": mean_loss, "train_acc": float(correct) / max(seen, 1),
            "train_images_per_s": seen / elapsed if elapsed else 0.0}, global_step


def evaluate(args, model, loader, num_classes):
    """Loss, accuracy, per-class accuracy and images/s of ``model`` on ``loader``."""
    model.eval()
    losses, predictions, labels_all = [], [], []
    start = time.perf_counter()
    with tc.no_grad():
        for images, labels in loader:
            logits = model(tc.tensor(images, device=args.device))
            losses.append(F.cross_entropy(logits, tc.tensor(labels, device=args.device)).data * len(labels))
            predictions.append(backend.to_numpy(logits.data.argmax(axis=1)))
            labels_all.append(labels)
    elapsed = time.perf_counter() - start
    pred, true = np.concatenate(predictions), np.concatenate(labels_all)
    per_class = [float((pred[true == c] == c).mean()) if (true == c).any() else float("nan")
                 for c in range(num_classes)]
    return {"test_loss": float(sum(float(v) for v in losses)) / len(true),
            "test_acc": float((pred == true).mean()), "per_class_acc": per_class,
            "test_images_per_s": len(true) / elapsed if elapsed else 0.0}


def report(args, classes, metrics, wall_time, train_images_per_s):
    lines = [f"test accuracy {metrics['test_acc'] * 100:.2f}%  (loss {metrics['test_loss']:.4f})",
             f"wall time {wall_time:.1f} s; training {train_images_per_s:.1f} images/s, "
             f"inference {metrics['test_images_per_s']:.1f} images/s on {args.device}",
             "per-class accuracy:"]
    lines += [f"  {name:<14s} {acc * 100:6.2f}%" for name, acc in zip(classes, metrics["per_class_acc"])]
    print("\n".join(lines))
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump({**metrics, "classes": classes, "wall_time_s": wall_time,
                   "train_images_per_s": train_images_per_s, "device": args.device, "model": args.model,
                   "layout": args.layout, "dataset": args.dataset}, f, indent=1)


def plot_curves(out_dir):
    """Loss and accuracy per epoch from metrics.jsonl, as OUT/curves.png."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib: pip install 'tinycoat[plot]'", file=sys.stderr)
        return None
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
    tc.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    train, test = load_data(args)
    model, optimizer = build(args, train)
    train_loader, test_loader = make_loaders(args, train, test)
    scheduler = make_schedule(args, optimizer, len(train_loader))
    ema = optim.ModelEMA(model, args.ema) if args.ema else None
    scaler = optim.GradScaler(enabled=args.amp)
    print(f"{args.model} ({args.layout}): {sum(p.size for p in model.parameters()) / 1e6:.2f} M parameters; "
          f"{args.dataset}: {len(train)} train / {len(test)} test images, {len(train.classes)} classes; "
          f"device {args.device}, {'reference ops only' if args.reference else 'fast wing on'}")

    epoch, global_step = 0, 0
    if args.resume:
        epoch, global_step = resume(args, model, optimizer, scheduler, ema, train_loader, scaler)
        print(f"resumed from {args.resume} at epoch {epoch} (step {global_step})")

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
        report(args, train.classes, metrics, time.perf_counter() - start, 0.0)
        return metrics

    wall_start = time.perf_counter()
    speeds, metrics, first_epoch = [], None, epoch
    with StopRequested() as stop:
        while epoch < args.epochs:
            steps_left = len(train_loader) - train_loader.state_dict()["batch"].item()
            with _progress(args, steps_left, f"epoch {epoch + 1}/{args.epochs}") as bar:
                train_metrics, global_step = train_one_epoch(
                    args, epoch, model, optimizer, scheduler, ema, train_loader, len(train.classes),
                    global_step, stop, bar, scaler)
            if stop.requested and train_loader.state_dict()["batch"].item() != 0:
                path = save(args, model, optimizer, scheduler, ema, train_loader, epoch, global_step, scaler=scaler)
                print(f"stopped in epoch {epoch + 1}; checkpoint saved to {path}. "
                      f"Continue with: --resume {path}")
                return None
            epoch += 1
            speeds.append(train_metrics["train_images_per_s"])
            metrics = evaluate(args, eval_model(), test_loader, len(train.classes))
            row = {"epoch": epoch, **train_metrics, **{k: v for k, v in metrics.items() if k != "per_class_acc"},
                   "lr": optimizer.param_groups[0]["lr"], "global_step": global_step}
            with open(os.path.join(args.out, "metrics.jsonl"), "a") as f:
                f.write(json.dumps(row) + "\n")
            path = save(args, model, optimizer, scheduler, ema, train_loader, epoch, global_step, scaler=scaler)
            print(f"epoch {epoch}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f} | "
                  f"test loss {row['test_loss']:.4f} acc {row['test_acc']:.4f} | "
                  f"{row['train_images_per_s']:.1f} img/s | saved {path}")
            if stop.requested or (args.stop_after and epoch - first_epoch >= args.stop_after
                                  and epoch < args.epochs):
                print(f"stopped after epoch {epoch}; continue with: --resume {path}")
                return metrics
    if metrics is None:  # nothing left to train (e.g. --epochs 0, or resumed at the end)
        metrics = evaluate(args, eval_model(), test_loader, len(train.classes))
    report(args, train.classes, metrics, time.perf_counter() - wall_start,
           sum(speeds) / len(speeds) if speeds else 0.0)
    if args.plot and os.path.exists(os.path.join(args.out, "metrics.jsonl")):
        path = plot_curves(args.out)
        if path:
            print(f"curves written to {path}")
    return metrics


def _progress(args, total, desc):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, disable=args.no_progress, dynamic_ncols=True, leave=False)


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
        if args.reference:
            tc.fast.disable()
        else:
            tc.fast.enable(malloc=not args.no_malloc_tuning)
        if args.threads is not None:
            if args.threads < 1:
                raise TrainingError(f"--threads must be a positive number of threads, got {args.threads}")
            tc.set_num_threads(args.threads)
        if args.tf32:
            if args.device != "gpu":
                raise TrainingError("--tf32 is for --device gpu (TensorFloat-32 is a GPU tensor-core mode)")
            backend.use_tf32()
        run(args)
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
