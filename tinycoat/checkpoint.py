"""Checkpoints: everything needed to resume training, in one ``.npz`` file; and ``save``/``load``
(``tc.save``/``tc.load``), PyTorch's way to keep one state_dict or tensor, in the same kind of file.

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
from tinycoat.tensor import Tensor

FORMAT = "tinycoat-checkpoint-1"
SAVE_FORMAT = "tinycoat-save-1"


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
    arrays, info = _read(path, "checkpoint", FORMAT)
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


def _read(path, what, expected_format):
    """(arrays, the JSON of __meta__) of a tinycoat .npz of ``expected_format``, read without pickle;
    anything else is a CheckpointError saying what the file is instead."""
    if os.path.isdir(path):
        raise CheckpointError(f"{what} {path!r} is a folder; a {what} is a file such as "
                              f"{os.path.join(path, 'last.npz')!r}")
    if not os.path.isfile(path):
        raise CheckpointError(f"{what} {path!r} does not exist")
    if not zipfile.is_zipfile(path):          # (NumPy would read it as a pickle and talk about allow_pickle)
        raise CheckpointError(f"{what} {path!r} is not a readable .npz file: it is not a zip archive "
                              f"(a tinycoat {what} is an .npz, which is one)")
    try:
        with numpy.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise CheckpointError(f"{what} {path!r} is not a readable .npz file ({exc})") from exc
    if "__meta__" not in arrays:
        raise CheckpointError(f"{path!r} is an .npz file but not a tinycoat {what} (no __meta__ entry)")
    try:
        info = json.loads(str(arrays.pop("__meta__")))
    except ValueError as exc:
        raise CheckpointError(f"{what} {path!r}: its __meta__ entry is not JSON ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != expected_format:
        found = info.get("format") if isinstance(info, dict) else type(info).__name__
        hint = {FORMAT: ": a training checkpoint, read it with tinycoat.checkpoint.load_checkpoint",
                SAVE_FORMAT: ": written by tc.save, read it with tc.load"}.get(found, "")
        raise CheckpointError(f"{path!r} has format {found!r}, expected {expected_format!r}{hint}")
    return arrays, info


def save(obj, path) -> str:
    """``torch.save`` without pickle: ``obj`` is a tensor, an array, or dicts, lists and tuples of them
    with numbers, strings, bools and None (a module's or an optimizer's ``state_dict()``). The arrays
    go into an ``.npz``, the structure beside them as JSON; written atomically. ``load`` reads it."""
    arrays = {}

    def encode(value, where):
        # Every JSON object in the tree is one of these markers, so a dict is never mistaken for one.
        if isinstance(value, Tensor) or hasattr(value, "shape") and hasattr(value, "dtype"):
            data = backend.to_numpy(value.data if isinstance(value, Tensor) else value)
            if data.dtype.hasobject:
                raise TypeError(f"save: {where} is an array of Python objects; only numeric arrays are saved")
            key = str(len(arrays))
            arrays[key] = data
            if not isinstance(value, Tensor):
                return {"array": key}
            return {"tensor": key, "requires_grad": value.requires_grad, "device": value.device}
        if isinstance(value, dict):
            bad = [k for k in value if not isinstance(k, (str, int)) or isinstance(k, bool)]
            if bad:
                raise TypeError(f"save: {where} has the key {bad[0]!r}; keys must be strings or ints")
            return {"dict": [[k, encode(v, f"{where}[{k!r}]")] for k, v in value.items()]}
        if isinstance(value, (list, tuple)):
            items = [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return {"tuple": items} if isinstance(value, tuple) else items
        if isinstance(value, numpy.generic):
            return value.item()
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"save: {where} is a {type(value).__name__}; tc.save writes tensors, arrays, numbers, "
                        "strings, bools, None, and dicts, lists and tuples of them (never a pickle)")

    tree = encode(obj, "the object")
    arrays["__meta__"] = numpy.array(json.dumps({"format": SAVE_FORMAT, "tree": tree}))
    return atomic_write(path, lambda f: numpy.savez(f, **arrays))


def load(path, map_location=None):
    """What ``save`` wrote, rebuilt: tensors as tensors (on ``map_location`` if given, else the device
    they were saved from), arrays as NumPy arrays, tuples as tuples; nothing is unpickled."""
    path = os.fspath(path)
    arrays, info = _read(path, "saved file", SAVE_FORMAT)

    def decode(node):
        if isinstance(node, list):
            return [decode(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "dict" in node:
            return {k: decode(v) for k, v in node["dict"]}
        if "tuple" in node:
            return tuple(decode(v) for v in node["tuple"])
        if "array" in node:
            return arrays[node["array"]]
        device = map_location or node["device"]
        try:
            return Tensor(backend.to_device(arrays[node["tensor"]], device), requires_grad=node["requires_grad"])
        except backend.DeviceError as exc:
            raise backend.DeviceError(f"load {path!r}: a tensor was saved from '{node['device']}' ({exc}); "
                                      "load it elsewhere with map_location='cpu'") from None

    try:
        return decode(info["tree"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"saved file {path!r}: its structure is malformed ({type(exc).__name__}: {exc})") from None


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
