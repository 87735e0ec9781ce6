"""Checkpoints: everything needed to resume training, in one ``.npz`` file.

An ``.npz`` is a zip of ``.npy`` arrays: portable, and loadable with
``allow_pickle=False`` — a checkpoint from someone else cannot run code when you
open it (a pickle can). Non-array facts (epoch, config, hyper-parameters, RNG
states) are stored as one JSON string under ``__meta__``.

Files are written atomically (``tinycoat/files.py``: a temporary file in the same folder,
flushed to disk, then renamed over the old one), so a crash or Ctrl-C mid-write never
leaves a half-written checkpoint where the last good one was.
"""
from __future__ import annotations

import json
import os
import zipfile

import numpy

from tinycoat import backend
from tinycoat.files import atomic_write

FORMAT = "tinycoat-checkpoint-1"


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, corrupt, or does not fit what it is loaded into."""


def _host(value):
    return backend.to_numpy(value) if hasattr(value, "shape") else value


def _json_number(value):
    """JSON for the NumPy scalars that settings may hold (an ``lr`` of numpy.float32(1e-3))."""
    if isinstance(value, numpy.generic) and value.ndim == 0:
        return value.item()
    raise CheckpointError(f"save_checkpoint: {value!r} ({type(value).__name__}) in the optimizer's settings, "
                          "the scheduler's state or meta is not a number, string, list or dict; it cannot be "
                          "written as JSON")


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
    arrays["__meta__"] = numpy.array(json.dumps(info, default=_json_number))
    return atomic_write(path, lambda f: numpy.savez(f, **arrays))


def load_checkpoint(path) -> dict:
    """Read a checkpoint: {'model', 'optimizer', 'scheduler', 'ema', 'meta', 'arrays'} (absent parts are None)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise CheckpointError(f"checkpoint {path!r} is a folder; a checkpoint is a file such as "
                              f"{os.path.join(path, 'last.npz')!r}")
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist")
    if not zipfile.is_zipfile(path):          # (NumPy would read it as a pickle and talk about allow_pickle)
        raise CheckpointError(f"checkpoint {path!r} is not a readable .npz file: it is not a zip archive "
                              "(a tinycoat checkpoint is an .npz, which is one)")
    try:
        with numpy.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise CheckpointError(f"checkpoint {path!r} is not a readable .npz file ({exc})") from exc
    if "__meta__" not in arrays:
        raise CheckpointError(f"{path!r} is an .npz file but not a tinycoat checkpoint (no __meta__ entry)")
    try:
        info = json.loads(str(arrays.pop("__meta__")))
    except ValueError as exc:
        raise CheckpointError(f"checkpoint {path!r}: its __meta__ entry is not JSON ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        found = info.get("format") if isinstance(info, dict) else type(info).__name__
        raise CheckpointError(f"{path!r} has format {found!r}, expected {FORMAT!r}")
    if not isinstance(info.get("meta", {}), dict):
        raise CheckpointError(f"checkpoint {path!r}: its meta is not a JSON object")

    def section(prefix):
        return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

    optimizer = None
    if "optimizer" in info:
        try:
            optimizer = _optimizer_state(info["optimizer"], section("optimizer/"))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise CheckpointError(f"checkpoint {path!r}: its optimizer state is malformed "
                                  f"({type(exc).__name__}: {exc})") from None
    return {"model": section("model/"), "optimizer": optimizer, "scheduler": info.get("scheduler"),
            "ema": section("ema/") or None, "meta": info.get("meta", {}), "arrays": section("extra/")}


def _optimizer_state(saved, arrays):
    """The optimizer's state_dict from its JSON part (param groups, scalars) and its arrays."""
    state = {}
    for key, value in list(arrays.items()) + list(saved["scalars"].items()):
        i, name = key.split("/", 1)
        state.setdefault(int(i), {})[name] = value
    groups = saved["param_groups"]
    for g in groups:  # JSON turned tuples (Adam's betas) into lists
        g.update({k: tuple(v) for k, v in g.items() if k != "params" and isinstance(v, list)})
    return {"state": state, "param_groups": groups}
