"""Count the array operations one training step issues: on a GPU, each is (at least) one kernel
launch and 5–50 µs of host time, so their number bounds a launch-bound step's speed.

    python benchmarks/launch_count.py --model coatnet_cifar_nano --batch-size 8
    python benchmarks/launch_count.py --fast          # with the fast wing's (CPU) twins on
    python benchmarks/launch_count.py --gpu           # the path a GPU takes: the wing's GPU twins

The count runs on the CPU, through a NumPy stand-in for CuPy: while ``counting()`` is active,
arrays are a NumPy subclass, ``CountingArray``, that counts every call that would be a kernel
on a GPU — every ufunc (elementwise, reductions, matmul, ``add.at``), every NumPy function
given such an array (concatenate, where, pad, ...), the methods that move data (copy, astype,
argmax, gathers and scatters by index arrays), and the creation functions that fill memory
(zeros, ones, full, arange). Views (reshape of a contiguous array, transpose, basic slicing)
and ``empty`` are free, as on a GPU. It needs no GPU, so the tests keep it honest
(tests/test_benchmarks.py), and it shows the count falling as operations are fused.

With --fast it counts the CPU twins. With --gpu it follows the GPU twins instead: each of their
CUDA kernels (tinycoat/fast/cuda_kernels.py) counts as one launch, made by a stand-in that gives
outputs of the right shapes without computing them (``gpu_twins``). What it cannot see: a CuPy
call that launches more than one kernel (some reductions do) counts once; on a GPU,
benchmarks/train_step.py --cuda-graph reports the true number, the kernels of a recorded step.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import sys

import numpy as np

# What a GPU would do as a kernel, for the calls that are not ufuncs or array functions.
DATA_METHODS = ("copy", "astype", "argmax", "argmin", "fill", "take", "repeat", "cumsum", "clip")
FILLING_CREATORS = ("zeros", "ones", "full", "arange", "eye")
FREE_CREATORS = ("empty",)
WRAPPING = ("asarray", "ascontiguousarray", "array")   # a kernel only when they copy
# NumPy functions that make views or read metadata, or only allocate: no kernel on a GPU.
FREE_FUNCTIONS = {"empty_like", "shape", "ndim", "result_type", "broadcast_to", "broadcast_arrays", "transpose",
                  "moveaxis", "swapaxes", "expand_dims", "squeeze", "shares_memory", "may_share_memory",
                  "sliding_window_view", "iscomplexobj", "atleast_1d", "atleast_2d"}


class CountingArray(np.ndarray):
    """An ndarray that counts the operations done on it (see the module docstring)."""

    counts = collections.Counter()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        CountingArray.counts[f"{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")] += 1
        inputs = tuple(_plain(i) for i in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(o) for o in kwargs["out"])
        return _counted(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        if func.__name__ not in FREE_FUNCTIONS:
            CountingArray.counts[func.__name__] += 1
        return _counted(func(*_plain_tree(args), **{k: _plain_tree(v) for k, v in kwargs.items()}))

    def __getitem__(self, key):
        if _is_advanced(key):
            CountingArray.counts["gather"] += 1
        return _counted(np.ndarray.__getitem__(self.view(np.ndarray), _plain_tree(key)))

    def __setitem__(self, key, value):
        CountingArray.counts["scatter" if _is_advanced(key) else "copy into"] += 1
        np.ndarray.__setitem__(self.view(np.ndarray), _plain_tree(key), _plain(value))

    def reshape(self, *shape, **kwargs):
        result = np.ndarray.reshape(self.view(np.ndarray), *shape, **kwargs)
        if not np.shares_memory(result, self.view(np.ndarray)):
            CountingArray.counts["copy (reshape)"] += 1
        return _counted(result)


def _data_method(name):
    def method(self, *args, **kwargs):
        result = getattr(self.view(np.ndarray), name)(*_plain_tree(args), **kwargs)
        if not (name == "astype" and np.shares_memory(result, self.view(np.ndarray))):
            CountingArray.counts[name] += 1              # (astype(same dtype, copy=False) is free)
        return _counted(result)
    method.__name__ = name
    return method


for _name in DATA_METHODS:
    setattr(CountingArray, _name, _data_method(_name))


def _plain(x):
    return x.view(np.ndarray) if isinstance(x, CountingArray) else x


def _plain_tree(x):
    if isinstance(x, (list, tuple)):
        return type(x)(_plain_tree(v) for v in x)
    return _plain(x)


def _counted(x):
    if isinstance(x, np.ndarray) and not isinstance(x, CountingArray):
        return x.view(CountingArray)
    if isinstance(x, tuple):
        return tuple(_counted(v) for v in x)
    return x


def _is_advanced(key):
    keys = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, (np.ndarray, list)) for k in keys)


@contextlib.contextmanager
def counting():
    """Inside: NumPy's array-making functions return CountingArrays (filling ones counted), so
    every array an operation makes is counted in turn. Yields the Counter (reset on entry)."""
    originals = {name: getattr(np, name) for name in FILLING_CREATORS + FREE_CREATORS + WRAPPING}

    def creator(name, counted):
        original = originals[name]

        def make(*args, **kwargs):
            if counted:
                CountingArray.counts[name] += 1
            return _counted(original(*_plain_tree(args), **kwargs))
        return make

    def wrapper(name):
        original = originals[name]

        def wrap(obj, *args, **kwargs):
            result = original(_plain(obj), *args, **kwargs)
            if not (isinstance(obj, np.ndarray) and np.shares_memory(result, _plain(obj))):
                CountingArray.counts[f"copy ({name})"] += 1
            return _counted(result)
        return wrap

    for name in FILLING_CREATORS:
        setattr(np, name, creator(name, True))
    for name in FREE_CREATORS:
        setattr(np, name, creator(name, False))
    for name in WRAPPING:
        setattr(np, name, wrapper(name))
    CountingArray.counts.clear()
    try:
        yield CountingArray.counts
    finally:
        for name, original in originals.items():
            setattr(np, name, original)


@contextlib.contextmanager
def gpu_twins():
    """Inside: the fast wing's *GPU* twins run on the stand-in. The wing's table is asked for the GPU's
    twins; each CUDA kernel of tinycoat/fast/cuda_kernels.py is replaced by a stand-in that counts one
    launch ("kernel <name>") and makes its outputs at the right shapes, without computing them — a
    count needs the twins' path, not their values, and no twin chooses its path by a value; the
    multi-tensor twins' address table counts as one host-to-device copy. CuPy's own calls in those
    twins are NumPy's here, counted like any other."""
    from tinycoat import twins
    from tinycoat.fast import blocks, cuda_kernels
    counts = CountingArray.counts
    saved = []

    def patch(owner, name, value):
        saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def available(*arrays):
        return all(getattr(a, "dtype", None) is not None and a.dtype.char in "fd" for a in arrays)

    def elementwise(name):
        inputs, outputs = ([p.split()[0] for p in spec.split(",")] for spec in cuda_kernels.ELEMENTWISE[name][:2])
        n_in, n_out = len(inputs), len(outputs)

        def launch(*args):
            counts[f"kernel {name}"] += 1
            if len(args) > n_in:                             # outputs given: updated in place
                return args[n_in:] if n_out > 1 else args[n_in]
            arrays = [a for a in args if isinstance(a, np.ndarray)]
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
            # an output's dtype as CuPy gives it: T is the dtype of the arrays declared T, others as declared
            t = next(a.dtype for a, kind in zip(args, inputs) if kind == "T")
            outs = tuple(np.empty(shape, t if kind == "T" else kind) for kind in outputs)
            return outs if n_out > 1 else outs[0]
        return launch

    def reduction(name):
        def launch(a, b, axis, keepdims=True):
            counts[f"kernel {name}"] += 1
            return np.empty(np.sum(np.empty(a.shape, np.int8), axis=axis, keepdims=keepdims).shape, a.dtype)
        return launch

    def on_gpu(lists, coefficients=()):
        counts["host-to-device copy"] += 1
        count = len(lists[0])
        parts = [np.empty(count + 1, np.int64)] + [np.empty(count, np.int64) for _ in lists]
        return sum(a.size for a in lists[0]), count, parts + [np.empty(len(coefficients))]

    original_available, pick = cuda_kernels.available, twins.pick
    patch(cuda_kernels, "available", available)
    patch(cuda_kernels, "elementwise", elementwise)
    patch(cuda_kernels, "reduction", reduction)
    patch(cuda_kernels, "launch", lambda name, dtype, total, args: counts.update([f"kernel {name}"]))
    patch(cuda_kernels, "array_module", lambda device: np)
    try:                                  # (absent from older releases, which this can count too)
        from tinycoat.fast import multi_tensor
        patch(multi_tensor, "array_module", lambda device: np)
        patch(multi_tensor, "_on_gpu", on_gpu)
    except ImportError:
        pass
    patch(blocks, "device_of", lambda array: "gpu")       # on a GPU the wing's blocked ops make one call
    patch(twins, "pick", lambda reference, device, *args, **params: pick(reference, "gpu", *args, **params))
    table = twins._twins      # twins whose test of the inputs is `available` get the stand-in's
    for key, (twin, accepts) in list(table.items()):
        if accepts is original_available:
            saved.append((table, key, (twin, accepts)))
            table[key] = (twin, available)
    try:
        with counting(), np.errstate(all="ignore"):       # (the stand-in's outputs hold no real values)
            yield counts
    finally:
        for owner, name, value in reversed(saved):
            if isinstance(owner, dict):
                owner[name] = value
            else:
                setattr(owner, name, value)


def count_training_step(model_name="coatnet_cifar_nano", batch_size=8, fast=False, gpu=False):
    """Counts of one training step (forward, label-smoothed loss, backward, clipping, AdamW), after
    one untimed step: {"forward": Counter, "backward": Counter, "optimizer": Counter}. ``fast``: with
    the fast wing's CPU twins; ``gpu``: with its GPU twins, their kernels counted (gpu_twins)."""
    import tinycoat as tc
    from tinycoat import optim
    from tinycoat.models import create_model
    from tinycoat.nn import functional as F
    (tc.fast.enable if fast or gpu else tc.fast.disable)()
    tc.manual_seed(0)
    model = create_model(model_name, drop_path_rate=0.1)
    for t in list(model.parameters()) + [b for b in model.buffers() if b is not None]:
        t.data = t.data.view(CountingArray)
    opt = optim.AdamW(optim.weight_decay_groups(model.named_parameters(), 0.05), lr=1e-3)
    rng = np.random.default_rng(0)
    x = tc.tensor(rng.standard_normal((batch_size, 3, 32, 32)).astype(np.float32))
    y = tc.tensor(rng.integers(0, 10, batch_size))
    x.data, y.data = x.data.view(CountingArray), y.data.view(CountingArray)
    parts = {}
    with (gpu_twins() if gpu else counting()) as counts:
        for step in range(2):                       # the first makes the optimizer's state
            counts.clear()
            loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
            parts["forward"] = collections.Counter(counts)
            counts.clear()
            opt.zero_grad()
            loss.backward()
            parts["backward"] = collections.Counter(counts)
            counts.clear()
            optim.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            parts["optimizer"] = collections.Counter(counts)
    tc.fast.disable()
    return parts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="coatnet_cifar_nano")
    p.add_argument("--batch-size", type=int, default=8, help="(the count does not depend on it)")
    p.add_argument("--fast", action="store_true", help="with the fast wing's CPU twins on")
    p.add_argument("--gpu", action="store_true",
                   help="with the fast wing's GPU twins, their CUDA kernels counted on the stand-in")
    p.add_argument("--top", type=int, default=12, help="the most frequent operations to list")
    args = p.parse_args(argv)
    parts = count_training_step(args.model, args.batch_size, args.fast, args.gpu)
    total = collections.Counter()
    for name, counts in parts.items():
        total += counts
        print(f"{name:10s} {sum(counts.values()):6d} array operations")
    what = "fast wing, GPU twins" if args.gpu else "fast wing, CPU twins" if args.fast else "reference tier"
    print(f"{'step':10s} {sum(total.values()):6d}  ({what}; on a GPU each is at least one kernel launch)")
    print("most frequent:", ", ".join(f"{k} {v}" for k, v in total.most_common(args.top)))
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from common import emit_json
    emit_json({"benchmark": "launch_count", "model": args.model, "fast": args.fast, "gpu": args.gpu,
               "operations": {k: sum(v.values()) for k, v in parts.items()}, "total": sum(total.values())})


if __name__ == "__main__":
    main()
