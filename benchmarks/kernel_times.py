"""Where a training step's GPU time goes, kernel by kernel: matrix products against everything else.

    python benchmarks/kernel_times.py --model coatnet_cifar_nano --batch-size 128
    python benchmarks/kernel_times.py --cuda-graph         # the step as one CUDA graph

A step's wall time on a GPU mixes two things: the host issuing kernels and the GPU running
them. This measures the second alone. It runs itself under NVIDIA's Nsight Compute (``ncu``),
which times every kernel of one training step (after warm-up steps; only the step between
cudaProfilerStart and cudaProfilerStop is profiled, ``gpu__time_duration``), and sums the times
by kind: cuBLAS's matrix products, tinycoat's own kernels (tinycoat/fast/cuda_kernels.py), and
CuPy's elementwise, reduction and copy kernels. Prints a table and one JSON line. Needs a GPU,
CuPy and ncu; the parser of ncu's CSV is tested without them (tests/test_benchmarks.py).
"""
from __future__ import annotations

import argparse
import collections
import csv
import io
import os
import shutil
import subprocess
import sys

from common import compute_gradients, emit_json, machine_description

# Kernel names by kind, first match wins: cuBLAS's GEMMs carry these in their (mangled) names.
KINDS = (
    ("matrix products", ("gemm", "cutlass", "xmma", "sm90_", "sm80_", "ampere_", "hopper_", "cublas")),
    ("tinycoat kernels", ("tinycoat_", "depthwise_", "im2col", "col2im", "adamw_each", "sum_squares_each",
                          "clip_each")),
    ("reductions", ("reduce", "cub::", "cupy_sum", "cupy_max", "argmax")),
    ("copies and fills", ("copy", "fill", "memset", "concatenate", "scatter", "take")),
)


def kind_of(name: str) -> str:
    lowered = name.lower()
    for kind, marks in KINDS:
        if any(mark in lowered for mark in marks):
            return kind
    return "other elementwise"


def parse_ncu_csv(text: str):
    """[(kernel name, nanoseconds)] from ``ncu --csv --print-units base --metrics gpu__time_duration.sum``
    output (lines before the CSV header, ncu's own messages, are skipped)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith('"ID"')), None)
    if start is None:
        raise ValueError("no ncu CSV table in the output (did ncu profile any kernel?)")
    rows = []
    for row in csv.DictReader(io.StringIO("\n".join(lines[start:]))):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        value, unit = float(row["Metric Value"].replace(",", "")), row.get("Metric Unit", "nsecond")
        scale = {"nsecond": 1, "ns": 1, "usecond": 1e3, "us": 1e3, "msecond": 1e6, "ms": 1e6, "second": 1e9}[unit]
        rows.append((row["Kernel Name"], value * scale))
    return rows


def summarize(rows):
    """{kind: (kernels, nanoseconds)} and the total nanoseconds."""
    by_kind = collections.defaultdict(lambda: [0, 0.0])
    for name, ns in rows:
        entry = by_kind[kind_of(name)]
        entry[0] += 1
        entry[1] += ns
    return {k: tuple(v) for k, v in by_kind.items()}, sum(ns for _, ns in rows)


def one_profiled_step(args):
    """The child under ncu: warm up, then one step between cudaProfilerStart and Stop."""
    import tinycoat as tc
    from tinycoat import optim
    from tinycoat.models import create_model
    cupy = tc.backend.array_module("gpu")
    tc.fast.enable()
    if args.tf32:
        tc.backend.use_tf32()
    tc.manual_seed(0)
    model = create_model(args.model, drop_path_rate=0.1).to("gpu")
    opt = optim.AdamW(optim.weight_decay_groups(model.named_parameters(), 0.05), lr=1e-3)
    x = tc.randn(args.batch_size, 3, 32, 32, device="gpu")
    y = tc.tensor(tc.backend.generator("cpu").integers(0, 10, args.batch_size), device="gpu")
    gradients = lambda x, y: compute_gradients(model, x, y)  # noqa: E731
    compute = tc.fast.CudaGraphStep(gradients, model) if args.cuda_graph else gradients

    def step():
        opt.zero_grad()
        compute(x, y)
        opt.step()
    for _ in range(4):                       # compile, and record the graph at the third
        step()
    cupy.cuda.Device().synchronize()
    cupy.cuda.profiler.start()
    step()
    cupy.cuda.Device().synchronize()
    cupy.cuda.profiler.stop()
    if args.cuda_graph and compute.reason is not None:
        print(f"note: no CUDA graph ({compute.reason})", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="coatnet_cifar_nano")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--cuda-graph", action="store_true")
    p.add_argument("--tf32", action="store_true")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return one_profiled_step(args)
    ncu = shutil.which("ncu")
    if ncu is None:
        sys.exit("benchmarks/kernel_times.py needs NVIDIA Nsight Compute's ncu on the PATH (and a GPU)")
    command = [ncu, "--profile-from-start", "off", "--metrics", "gpu__time_duration.sum", "--csv",
               "--print-units", "base", sys.executable, os.path.abspath(__file__), "--child",
               "--model", args.model, "--batch-size", str(args.batch_size)] + \
        (["--cuda-graph"] if args.cuda_graph else []) + (["--tf32"] if args.tf32 else [])
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"ncu failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    rows = parse_ncu_csv(done.stdout)
    by_kind, total = summarize(rows)
    print(f"{args.model}, batch {args.batch_size}{', CUDA graph' if args.cuda_graph else ''}: {len(rows)} kernels, "
          f"{total / 1e6:.2f} ms of GPU time in one training step")
    for kind, (count, ns) in sorted(by_kind.items(), key=lambda kv: -kv[1][1]):
        print(f"  {kind:18s} {count:5d} kernels  {ns / 1e6:7.2f} ms  {100 * ns / total:5.1f} %")
    slowest = collections.Counter()
    for name, ns in rows:
        slowest[name[:60]] += ns
    print("  slowest: " + "; ".join(f"{n} {ns / 1e3:.0f} µs" for n, ns in slowest.most_common(6)))
    emit_json({"benchmark": "kernel_times", "model": args.model, "batch_size": args.batch_size,
               "cuda_graph": args.cuda_graph, "tf32": args.tf32, "kernels": len(rows), "gpu_ms": total / 1e6,
               "by_kind": {k: {"kernels": c, "ms": ns / 1e6, "share": ns / total} for k, (c, ns) in by_kind.items()},
               "machine": machine_description("gpu")})


if __name__ == "__main__":
    main()
