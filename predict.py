"""Classify image files with a model that train_cifar.py trained:

    python predict.py checkpoints/fashion_full.npz boot.png bag.jpg --top 3

The checkpoint says which model, layout and dataset it was trained on. Each image is made
into what that dataset's images are (tinycoat/data/datasets.py::read_image_as: size, colour,
Fashion-MNIST's black border), normalized by the dataset's mean and std as in training, and
the model's softmax over the classes is printed, most likely first. A checkpoint trained with
--ema is read with its averaged weights, as train_cifar.py evaluates it (predict.py --no-ema: the
raw ones).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

import tinycoat as tc
from tinycoat.checkpoint import CheckpointError, load_checkpoint
from tinycoat.data import DatasetError, normalize, stats_for
from tinycoat.data.datasets import PUBLISHED_CLASSES, image_size_of, read_image_as
from tinycoat.models import create_model
from tinycoat.nn import functional as F
from tinycoat.optim import ModelEMA


class PredictError(Exception):
    """A problem with what the user gave (checkpoint, images, options), said in one line."""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Classify image files with a checkpoint written by train_cifar.py.")
    p.add_argument("checkpoint",
                   help="a checkpoint of train_cifar.py (e.g. runs/fashion-mnist-coatnet_cifar_nano/last.npz)")
    p.add_argument("images", nargs="+", help="image files (PNG, JPEG, ... anything Pillow reads)")
    p.add_argument("--top", type=int, default=3, help="how many classes to list per image (default 3)")
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    p.add_argument("--invert", action="store_true",
                   help="255 − pixel before classifying: for dark things photographed on a light background "
                        "given to a Fashion-MNIST model (its garments are light on black)")
    p.add_argument("--no-ema", action="store_true", help="use the raw weights even if the checkpoint holds an EMA")
    args = p.parse_args(argv)
    if args.top < 1:
        p.error(f"--top must be at least 1, got {args.top}")
    return args


def load_model(path, device="cpu", use_ema=True):
    """(model in eval mode, its training config, its class names) from a train_cifar.py checkpoint."""
    ck = load_checkpoint(path)
    config = ck["meta"].get("config")
    if not isinstance(config, dict) or "model" not in config or "dataset" not in config:
        raise PredictError(f"{path}: no training config in the checkpoint; predict.py reads the checkpoints "
                           "that train_cifar.py writes")
    weights = ck["model"]
    if "head.weight" not in weights or "stem.0.weight" not in weights:
        raise PredictError(f"{path}: its weights are not a CoAtNet's (no head.weight / stem.0.weight)")
    num_classes, in_chans = weights["head.weight"].shape[0], weights["stem.0.weight"].shape[1]
    size = image_size(config)
    model = create_model(config["model"], num_classes=num_classes, in_chans=in_chans,
                         layout=config.get("layout", "CCTT"), image_size=size)
    model.load_state_dict(weights)
    if use_ema and ck["ema"] is not None:                  # what train_cifar.py evaluated
        ema = ModelEMA(model)
        ema.load_state_dict(ck["ema"])
        ema.copy_to(model)
    classes = ck["meta"].get("classes") or PUBLISHED_CLASSES.get(config["dataset"]) or []
    if len(classes) != num_classes:                        # (an image folder's names, from an older checkpoint)
        classes = [f"class {k}" for k in range(num_classes)]
    return model.to(device).eval(), config, list(classes)


def image_size(config):
    return image_size_of(config["dataset"], config.get("image_size"))


def read_batch(paths, config, invert=False):
    """The images as one normalized float32 batch (N, C, S, S), as the training loader made them."""
    images = np.stack([read_image_as(config["dataset"], path, image_size(config), invert) for path in paths])
    mean, std = stats_for(config["dataset"])
    return normalize(images, mean, std)


def classify(model, batch, device="cpu"):
    """Class probabilities (N, K): the softmax of the model's logits."""
    with tc.no_grad():
        return F.softmax(model(tc.tensor(batch, device=device)), dim=-1)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        model, config, classes = load_model(args.checkpoint, args.device, use_ema=not args.no_ema)
        probabilities = classify(model, read_batch(args.images, config, args.invert), args.device)
    except (PredictError, CheckpointError, DatasetError, tc.DeviceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    top = probabilities.topk(min(args.top, len(classes)), dim=1)
    for path, values, indices in zip(args.images, top.values.tolist(), top.indices.tolist()):
        guesses = ", ".join(f"{classes[k]} {100 * p:.1f} %" for p, k in zip(values, indices))
        print(f"{path}: {guesses}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
