"""Forward+backward speed of RelativeAttention2d at the CIFAR S3/S4 shapes.

    python benchmarks/attention_bench.py [--device cpu|gpu] [--batch 128] [--repeats 5]

For each shape it times one forward and one backward pass of the layer (float32) and
converts the time to GFLOP/s from the layer's matrix-multiply work (one multiply-add
= 2 FLOPs here, the usual convention for GFLOP/s):

    forward   q, k, v, out projections   2·B·N·(3·C_in·C_out + C_out²)
              q·kᵀ and weights·v         2 · 2·B·heads·N²·d
    backward  about twice the forward (two matmuls per forward matmul)

Next to it, the same machine's plain float32 matmul GFLOP/s (a square product and one
shaped like the projections), so the layer's efficiency can be judged. Prints a table and
one JSON line. The fast wing is on (``tc.fast.enable()``); ``--reference`` measures the
reference ops alone.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics

from common import best_time, matmul_gflops, time_runs  # also puts the checkout on sys.path

import tinycoat as tc  # noqa: E402
from tinycoat.nn.attention import RelativeAttention2d  # noqa: E402

# (model, stage, tokens H = W, channels): coatnet_cifar_nano D3/D4 = 96/192, tiny = 192/384.
SHAPES = [("nano", "S3", 8, 96), ("nano", "S4", 4, 192), ("tiny", "S3", 8, 192), ("tiny", "S4", 4, 384)]


def layer_flops(B, N, C, heads, d):
    forward = 2 * B * N * (3 * C * C + C * C) + 2 * 2 * B * heads * N * N * d
    return 3 * forward  # forward + backward (≈ 2× forward)


def bench_layer(B, size, C, device, repeats):
    tc.manual_seed(0)
    layer = RelativeAttention2d(C, (size, size)).to(device)
    x = tc.randn(B, C, size, size, device=device, requires_grad=True)
    upstream = tc.randn(B, C, size, size, device=device)

    def forward():
        return layer(x)

    def step():
        layer.zero_grad()
        x.grad = None
        layer(x).backward(upstream)

    fwd = best_time(forward, device, repeats)
    times = time_runs(step, device, repeats)
    best, median = min(times), statistics.median(times)
    flops = layer_flops(B, size * size, C, layer.heads, layer.head_dim)
    return {"forward_ms": fwd * 1e3, "fwd_bwd_ms": best * 1e3, "fwd_bwd_median_ms": median * 1e3,
            "gflops": flops / best / 1e9, "heads": layer.heads, "head_dim": layer.head_dim}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reference", action="store_true", help="the reference ops alone (the fast wing off)")
    args = parser.parse_args()
    if not args.reference:
        tc.fast.enable()

    square = matmul_gflops(2048, 2048, 2048, args.device, args.repeats)
    rows = []
    for model, stage, size, C in SHAPES:
        result = bench_layer(args.batch, size, C, args.device, args.repeats)
        # A matmul shaped like one projection of this stage: (B·N, C) @ (C, C).
        result["proj_matmul_gflops"] = matmul_gflops(args.batch * size * size, C, C, args.device, args.repeats)
        rows.append({"model": model, "stage": stage, "tokens": f"{size}x{size}", "dim": C, **result})

    print(f"RelativeAttention2d forward+backward, float32, batch {args.batch}, device {args.device} "
          f"({platform.processor() or platform.machine()})")
    print(f"float32 matmul 2048×2048×2048: {square:.1f} GFLOP/s")
    header = f"{'model':<5} {'stage':<5} {'tokens':<6} {'dim':>4} {'heads':>5} {'fwd ms':>8} {'fwd+bwd ms':>11} " \
             f"{'GFLOP/s':>8} {'proj matmul GFLOP/s':>20}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['model']:<5} {r['stage']:<5} {r['tokens']:<6} {r['dim']:>4} {r['heads']:>5} "
              f"{r['forward_ms']:>8.1f} {r['fwd_bwd_ms']:>11.1f} {r['gflops']:>8.1f} {r['proj_matmul_gflops']:>20.1f}")
    print(json.dumps({"benchmark": "relative_attention2d", "device": args.device, "batch": args.batch,
                      "fast": not args.reference,
                      "matmul_2048_gflops": round(square, 1),
                      "rows": [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()}
                               for r in rows]}))


if __name__ == "__main__":
    main()
