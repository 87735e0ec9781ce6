"""Checkpoints: everything needed to resume training, in one ``.npz`` file.

An ``.npz`` is a zip of ``.npy`` arrays: portable, and loadable with
``allow_pickle=False`` — a checkpoint from someone else cannot run code when you
open it (a pickle can). Non-array facts (epoch, config, hyper-parameters, RNG
states) are stored as one JSON string under ``__meta__``.

Files are written atomically: to a temporary file in the same folder, flushed
to disk, then renamed over the old one (``os.replace`` is atomic on POSIX and
Windows), so a crash or Ctrl-C mid-write never leaves a half-written
checkpoint where the last good one was.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy

from tinycoat import backend

FORMAT = "tinycoat-checkpoint-1"


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, corrupt, or does not fit what it is loaded into."""


def _host(value):
    return backend.to_numpy(value) if hasattr(value, "shape") else value


def save_checkpoint(path, model, optimizer=None, scheduler=None, ema=None, meta=None, arrays=None) -> str:
    """Write model/optimizer/scheduler/EMA state, a JSON-able ``meta`` dict and any
    other named ``arrays`` (e.g. a data loader's state) to ``path``."""
    extra = arrays or {}
    arrays = {f"model/{k}": _host(v) for k, v in model.state_dict().items()}
    arrays.update({f"extra/{k}": _host(v) for k, v in extra.items()})
    info = {"format": FORMAT, "meta": meta or {}}
    if optimizer is not None:
        opt = optimizer.state_dict()
        info["optimizer"] = {"param_groups": opt["param_groups"], "scalars": {}}
        for i, state in opt["state"].items():
            for name, value in state.items():
                if hasattr(value, "shape"):
                    arrays[f"optimizer/{i}/{name}"] = _host(value)
                else:
                    info["optimizer"]["scalars"][f"{i}/{name}"] = value
    if scheduler is not None:
        info["scheduler"] = scheduler.state_dict()
    if ema is not None:
        arrays.update({f"ema/{k}": _host(v) for k, v in ema.state_dict().items()})
    arrays["__meta__"] = numpy.array(json.dumps(info))

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".checkpoint-", suffix=".npz.tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            numpy.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # also KeyboardInterrupt: never leave the temporary file behind
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load_checkpoint(path) -> dict:
    """Read a checkpoint: {'model', 'optimizer', 'scheduler', 'ema', 'meta', 'arrays'} (absent parts are None)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist")
    try:
        with numpy.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise CheckpointError(f"checkpoint {path!r} is not a readable .npz file ({exc})") from exc
    if "__meta__" not in arrays:
        raise CheckpointError(f"{path!r} is an .npz file but not a tinycoat checkpoint (no __meta__ entry)")
    info = json.loads(str(arrays.pop("__meta__")))
    if info.get("format") != FORMAT:
        raise CheckpointError(f"{path!r} has format {info.get('format')!r}, expected {FORMAT!r}")

    def section(prefix):
        return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

    optimizer = None
    if "optimizer" in info:
        state = {}
        for key, value in section("optimizer/").items():
            i, name = key.split("/", 1)
            state.setdefault(int(i), {})[name] = value
        for key, value in info["optimizer"]["scalars"].items():
            i, name = key.split("/", 1)
            state.setdefault(int(i), {})[name] = value
        groups = info["optimizer"]["param_groups"]
        for g in groups:  # JSON turned tuples (Adam's betas) into lists
            g.update({k: tuple(v) for k, v in g.items() if k != "params" and isinstance(v, list)})
        optimizer = {"state": state, "param_groups": groups}
    return {"model": section("model/"), "optimizer": optimizer, "scheduler": info.get("scheduler"),
            "ema": section("ema/") or None, "meta": info["meta"], "arrays": section("extra/")}
