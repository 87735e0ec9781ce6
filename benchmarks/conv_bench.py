"""How fast are tinycoat's convolutions, next to this machine's matrix-product ceiling?

    python benchmarks/conv_bench.py [--device cpu|gpu] [--batch 128] [--repeat 5] [--threads N]

For CIFAR-sized layers of a CoAtNet at batch 128 it times forward (recording the graph,
as in training) and backward (gradients for the input and the weight) of ``F.conv2d``
and ``F.depthwise_conv2d`` in float32, each the best of ``--repeat`` runs (the minimum
is the least disturbed by other work on the machine), and prints a table and one JSON line.
``--threads N`` sets the BLAS thread count (OPENBLAS_NUM_THREADS etc.) before NumPy loads:
on a small, shared VM a multi-threaded BLAS can stall waiting for a descheduled thread,
so compare ``--threads 1`` with the default when the figures look erratic.

GFLOP/s counts 2 FLOPs per multiply-add (the convention of the matmul ceiling it is
compared with); the backward of a convolution is two products of the forward's size
(dx and dW), so it does 2× the forward's FLOPs.

The fast wing is on (``tc.fast.enable()``: the twins of tinycoat/fast/conv.py and depthwise.py);
``--reference`` times the reference ops alone.

The ceiling is a float32 2048×2048 matrix product. A dense convolution can come close
to it (it *is* a matrix product, plus the im2col copy); a depthwise convolution cannot:
it does 9 multiply-adds per value it reads, so memory bandwidth, not arithmetic, bounds it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

from common import matmul_ceiling_gflops, synchronize  # noqa: E402  (also puts the checkout on sys.path)
tc = F = backend = None  # imported in main(), after --threads has been applied

# name, kind, (C_in, H, W), C_out, kernel, stride, padding
CASES = [
    ("depthwise 3x3, 32x32x96", "depthwise", (96, 32, 32), 96, 3, 1, 1),
    ("conv 1x1, 16x16x192->192", "conv", (192, 16, 16), 192, 1, 1, 0),
    ("conv 3x3 stem, 32x32x3->32", "conv", (3, 32, 32), 32, 3, 1, 1),
    ("conv 3x3, 16x16x96->96", "conv", (96, 16, 16), 96, 3, 1, 1),
]


def best_forward_backward(op, upstream, leaves, device, repeat):
    """Best forward time (recording the graph, as in training) and best backward time."""
    forward, backward = [], []
    for i in range(repeat + 1):  # the first round is a warm-up
        for t in leaves:
            t.grad = None
        synchronize(device)
        start = time.perf_counter()
        y = op()
        synchronize(device)
        middle = time.perf_counter()
        y.backward(upstream)
        synchronize(device)
        end = time.perf_counter()
        if i:
            forward.append(middle - start)
            backward.append(end - middle)
    return min(forward), min(backward)


def bench_case(case, batch, device, repeat):
    name, kind, (c, h, w), o, k, s, p = case
    x = tc.randn(batch, c, h, w, device=device, requires_grad=True)
    if kind == "depthwise":
        weight = tc.randn(c, 1, k, k, device=device, requires_grad=True)
        op = lambda: F.depthwise_conv2d(x, weight, stride=s, padding=p)  # noqa: E731
        macs_per_out = k * k
    else:
        weight = tc.randn(o, c, k, k, device=device, requires_grad=True)
        op = lambda: F.conv2d(x, weight, stride=s, padding=p)  # noqa: E731
        macs_per_out = c * k * k
    with tc.no_grad():
        out_shape = op().shape
    macs = (out_shape[0] * out_shape[1] * out_shape[2] * out_shape[3]) * macs_per_out
    upstream = tc.randn(*out_shape, device=device)

    t_fwd, t_bwd = best_forward_backward(op, upstream, (x, weight), device, repeat)
    t_total = t_fwd + t_bwd
    return {
        "name": name, "output": list(out_shape), "gmacs": macs / 1e9,
        "forward_ms": 1e3 * t_fwd, "backward_ms": 1e3 * t_bwd, "total_ms": 1e3 * t_total,
        "forward_gflops": 2 * macs / t_fwd / 1e9, "backward_gflops": 4 * macs / t_bwd / 1e9,
        "total_gflops": 6 * macs / t_total / 1e9,
    }


def main():
    global tc, F, backend
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: the library's)")
    parser.add_argument("--reference", action="store_true", help="the reference ops alone (the fast wing off)")
    args = parser.parse_args()
    if args.threads:  # must happen before NumPy (and its BLAS) is first imported
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import tinycoat
    import tinycoat.nn.functional
    tc, F, backend = tinycoat, tinycoat.nn.functional, tinycoat.backend
    if not args.reference:
        tc.fast.enable()
    tc.manual_seed(0)

    ceiling = matmul_ceiling_gflops(args.device, repeats=args.repeat)
    rows = [bench_case(case, args.batch, args.device, args.repeat) for case in CASES]

    threads = args.threads or os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"device {args.device} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"BLAS threads: {threads}), float32, batch {args.batch}")
    print(f"matmul ceiling (2048×2048 float32): {ceiling:.1f} GFLOP/s\n")
    header = f"{'layer':<28} {'GMAC':>6} {'fwd ms':>8} {'bwd ms':>8} {'total ms':>9} " \
             f"{'fwd GF/s':>9} {'bwd GF/s':>9} {'tot GF/s':>9} {'% ceil':>7}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['name']:<28} {r['gmacs']:>6.2f} {r['forward_ms']:>8.1f} {r['backward_ms']:>8.1f} "
              f"{r['total_ms']:>9.1f} {r['forward_gflops']:>9.1f} {r['backward_gflops']:>9.1f} "
              f"{r['total_gflops']:>9.1f} {100 * r['total_gflops'] / ceiling:>6.0f}%")
    print(json.dumps({"device": args.device, "batch": args.batch, "blas_threads": threads, "fast": not args.reference,
                      "matmul_gflops": round(ceiling, 2),
                      "cases": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
                                for r in rows]}))


if __name__ == "__main__":
    main()
