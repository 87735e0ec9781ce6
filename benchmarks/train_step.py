"""Benchmark a full CoAtNet training step: forward, loss, backward, AdamW.

    python benchmarks/train_step.py --model coatnet_cifar_nano --batch-size 128 --device cpu

Prints a short table for people and one JSON line for the record:
  * median images/s of a training step and of inference (eval mode, no graph);
  * the model's multiply-adds per image (forward), and the achieved GFLOP/s
    counting 2 FLOPs per multiply-add and a backward pass of twice the forward;
  * that as a fraction of this machine's float32 matmul speed ("model FLOP utilization");
  * a time breakdown by op type from one profiled step (conv, depthwise, attention,
    norm, elementwise, optimizer, ...); on a GPU each op is synchronized there, which
    slows that step, so the breakdown is a share, not a speed;
  * peak host memory of a step: the most memory held at once by the arrays the step itself
    allocates (tracemalloc, to which NumPy reports its buffers; it sees only allocations made
    after it starts, so weights, optimizer state and the batch are not counted), and the
    process's resident high-water mark (getrusage), which counts everything.

It runs with tinycoat's fast wing on (``tc.fast.enable()``, lesson 11): twins of the hot ops,
glibc's malloc tuned (``--no-malloc-tuning`` measures without) and OpenBLAS's idle spin
limited (``OPENBLAS_THREAD_TIMEOUT=28`` in the environment measures with OpenBLAS's own
default). ``--reference`` measures the reference ops alone, the code the lessons cite, with
no host settings changed: the price of reading.
"""
from __future__ import annotations

import argparse
import collections
import resource
import time
import tracemalloc

from common import (compute_gradients, emit_json, machine_description, matmul_ceiling_gflops, median_time,
                    synchronize)

import tinycoat as tc
from tinycoat import optim
from tinycoat.fast import blocks, host
from tinycoat.autograd import instrumented
from tinycoat.models import create_model, summary
from tinycoat.nn import functional as F

# Function class name → op type. Unlisted classes count as "other".
CATEGORIES = {
    "conv": ("Conv2d", "Conv2dFunction", "Conv", "Im2Col", "Conv1x1", "Unfold", "Fold", "ConvTranspose2d"),
    "depthwise": ("DepthwiseConv2d", "Depthwise"),
    "attention": ("Softmax", "RelativeBias", "RelativeAttention"),
    "matmul": ("MatMul", "Linear", "Einsum", "Inv", "Det", "SlogDet", "Solve", "Cholesky", "Eigh", "QR", "SVD", "SvdVals",
               "Pinv"),
    "norm": ("BatchNorm", "BatchNormEval", "LayerNorm", "BatchNorm2d", "SyncBatchNorm"),
    "pool": ("MaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "MaxPool", "AvgPool", "AdaptiveMaxPool2d", "MaxUnpool2d"),
    "elementwise": ("Add", "Sub", "Mul", "Div", "Neg", "Pow", "Exp", "Log", "Sqrt", "Tanh", "Sigmoid", "Log1p", "Expm1", "Remainder", "Sin", "Cos", "Softplus", "BinaryCrossEntropy",
                    "ReLU", "GELU", "GELUTanh", "SiLU", "Hardtanh", "Abs", "Clip", "Where", "Maximum", "Minimum", "DropPath",
                    "Dropout", "ScaleChannels", "Asin", "Acos", "Atan", "Atan2", "Sinh", "Cosh", "Asinh", "Acosh",
                    "Atanh", "Erf", "Erfc", "Erfinv", "Exp2", "Log2", "Log10", "Hypot", "Lerp", "Fmod", "NanToNum",
                    "Xlogy", "Sinc"),
    "loss": ("LogSoftmax", "CrossEntropy"),
    "shape": ("Reshape", "Permute", "Contiguous", "Clone", "GetItem", "Expand", "Concatenate", "Stack", "Pad", "To",
              "Flip", "Roll", "Gather", "Diagonal", "Bundle", "Scatter", "ScatterAdd", "ScatterReduce"),
    "reduction": ("Sum", "Mean", "Max", "Min", "Var", "Norm", "Cumsum", "Prod"),
}


def category(name):
    for cat, names in CATEGORIES.items():
        if name in names:
            return cat
    return "other"


def describe_spin(timeout):
    """blas_thread_timeout() in words."""
    if timeout is None:
        return "not an OpenBLAS that can be asked"
    return "OpenBLAS's default, 2^28 cycles" if timeout == 0 else f"2^{timeout} cycles"


def profile_functions(device, totals):
    """Time every Function's forward and backward by class (synchronizing on GPU)."""
    def wrap(cls, method, original):
        def timed(self, *args, **kwargs):
            start = time.perf_counter()
            out = original(self, *args, **kwargs)
            synchronize(device)
            totals[cls.__name__] += time.perf_counter() - start
            return out
        return timed
    return instrumented(wrap)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="coatnet_cifar_nano")
    p.add_argument("--layout", default="CCTT")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--reference", action="store_true",
                   help="the reference ops alone (the fast wing off, no host settings): the price of reading")
    p.add_argument("--no-malloc-tuning", action="store_true",
                   help="leave glibc's malloc as it is (see tinycoat/fast/host.py)")
    p.add_argument("--no-breakdown", action="store_true", help="skip the per-op breakdown (faster)")
    p.add_argument("--threads", type=int, default=None,
                   help="host threads for blocked ops (default: every core; see tinycoat/fast/blocks.py)")
    p.add_argument("--tf32", action="store_true", help="GPU: float32 matmuls on TF32 tensor cores")
    p.add_argument("--amp", action="store_true",
                   help="float16 matrix products with loss scaling (tinycoat.amp; emulated, slower, on the CPU)")
    p.add_argument("--cprofile", type=int, default=0, metavar="K",
                   help="also print the K Python functions with the most own time in 5 training steps "
                        "(where the host's time goes: on a GPU, mostly launching kernels)")
    p.add_argument("--cuda-graph", action="store_true",
                   help="GPU: forward, backward and clipping replayed as one CUDA graph (tinycoat/fast/cuda_graph.py), "
                        "AdamW after it; no per-op breakdown then")
    p.add_argument("--no-blocks", action="store_true",
                   help="run blocked ops on the whole batch at once, on one thread (to measure what blocks buy)")
    args = p.parse_args()
    if args.reference and (args.no_blocks or args.threads is not None):
        p.error("--no-blocks and --threads are settings of the fast wing; --reference turns it off")
    if not args.reference:
        tc.fast.enable(malloc=not args.no_malloc_tuning)
    malloc_tuned = not (args.reference or args.no_malloc_tuning)
    if args.threads is not None:
        tc.set_num_threads(args.threads)
    if args.tf32:
        if args.device != "gpu":
            p.error("--tf32 is for --device gpu")
        tc.backend.use_tf32()
    if args.cuda_graph and (args.device != "gpu" or args.amp or args.reference):
        p.error("--cuda-graph needs --device gpu, the fast wing (no --reference) and no --amp")
    if args.no_blocks:
        tc.set_num_threads(1)
        blocks.BLOCK_BYTES = 1 << 62

    tc.manual_seed(0)
    model = create_model(args.model, num_classes=args.num_classes, layout=args.layout,
                         image_size=args.image_size, drop_path_rate=0.1)
    c, h, w = model.config.in_chans, *model.config.image_size
    info = summary(model, (c, h, w), print_table=False)
    model.to(args.device)
    opt = optim.AdamW(optim.weight_decay_groups(model.named_parameters(), 0.05), lr=1e-3)
    x = tc.randn(args.batch_size, c, h, w, device=args.device)
    y = tc.tensor(tc.backend.generator("cpu").integers(0, args.num_classes, args.batch_size), device=args.device)

    scaler = optim.GradScaler(enabled=args.amp)

    def forward_backward():
        with tc.amp.autocast(enabled=args.amp):
            loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        opt.zero_grad()
        scaler.scale(loss).backward()
        return loss

    def update():
        scaler.unscale_(opt)
        optim.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()

    def train_step():
        loss = forward_backward()
        update()
        return loss

    graph = None
    if args.cuda_graph:
        graph = tc.fast.CudaGraphStep(lambda x, y: compute_gradients(model, x, y), model)

        def train_step():  # noqa: F811 - the graphed variant of the step above
            loss = graph(x, y)
            opt.step()
            return loss
        for _ in range(3):                     # two eager steps, then the one that records the graph
            train_step()
        args.no_breakdown = True

    def infer():
        with tc.no_grad(), tc.amp.autocast(enabled=args.amp):
            return model(x)

    model.train()
    t_train = median_time(train_step, args.device, args.repeats, warmup=2)
    host_issue = []       # the host's own time per step: issuing it, not waiting for the GPU to finish it
    for _ in range(args.repeats):
        synchronize(args.device)
        start = time.perf_counter()
        train_step()
        host_issue.append(time.perf_counter() - start)
    synchronize(args.device)
    t_host = sorted(host_issue)[len(host_issue) // 2]
    model.eval()
    t_infer = median_time(infer, args.device, args.repeats, warmup=1)
    model.train()

    # Breakdown: one profiled step; the optimizer is timed as a whole.
    totals = collections.Counter()
    by_cat = collections.Counter()
    if not args.no_breakdown:
        with profile_functions(args.device, totals):
            forward_backward()
        start = time.perf_counter()
        update()
        synchronize(args.device)
        totals["AdamW+clip"] += time.perf_counter() - start
        for name, t in totals.items():
            by_cat["optimizer" if name == "AdamW+clip" else category(name)] += t
    profiled = sum(by_cat.values()) or 1.0

    # Memory: NumPy reports its buffers to tracemalloc, which traces what is allocated after
    # start(): the peak is the step's own activations, gradients and temporaries at its worst.
    tracemalloc.start()
    loss = train_step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    gpu_pool = None
    if args.device == "gpu":  # CuPy keeps freed blocks in its pool: what it holds is the step's high-water mark
        synchronize(args.device)
        gpu_pool = tc.backend.array_module("gpu").get_default_memory_pool().total_bytes()
        if graph is not None and graph.pool is not None:
            gpu_pool += graph.pool.total_bytes()          # the graph's own pool holds its step's arrays
    leftover_graph = loss._ctx is not None and not getattr(loss._ctx, "released", False)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB

    if args.cprofile:
        import cProfile
        import pstats
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5):
            train_step()
        synchronize(args.device)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.cprofile)

    ceiling = matmul_ceiling_gflops(args.device)
    blas_spin = host.blas_thread_timeout()
    train_ips = args.batch_size / t_train
    infer_ips = args.batch_size / t_infer
    train_gflops = 3 * 2 * info["macs"] * train_ips / 1e9
    infer_gflops = 2 * info["macs"] * infer_ips / 1e9
    record = {
        "benchmark": "train_step", "model": args.model, "layout": args.layout, "batch_size": args.batch_size,
        "device": args.device, "machine": machine_description(args.device), "params": info["params"],
        "macs_per_image": info["macs"], "train_images_per_s": round(train_ips, 2),
        "infer_images_per_s": round(infer_ips, 2), "train_gflops": round(train_gflops, 2),
        "infer_gflops": round(infer_gflops, 2), "matmul_gflops": round(ceiling, 1),
        "train_mfu": round(train_gflops / ceiling, 4), "infer_mfu": round(infer_gflops / ceiling, 4),
        "peak_host_mb": round(peak / 2 ** 20, 1), "peak_rss_mb": round(peak_rss / 2 ** 20, 1),
        "gpu_pool_mb": None if gpu_pool is None else round(gpu_pool / 2 ** 20, 1), "malloc_tuned": malloc_tuned,
        "fast": not args.reference, "threads": tc.get_num_threads(), "blocks": not (args.no_blocks or args.reference),
        "blas_thread_timeout": blas_spin, "tf32": args.tf32, "amp": args.amp,
        "cuda_graph": None if graph is None else (graph.reason or f"{graph.replays} replays"),
        "graph_nodes": graph.node_counts() if graph is not None and graph.reason is None else None,
        "host_ms_per_step": round(1000 * t_host, 2), "step_ms": round(1000 * t_train, 2),
        "breakdown": {k: round(v / profiled, 4) for k, v in by_cat.most_common()},
        "date": time.strftime("%Y-%m-%d"),
    }
    print(f"{args.model} ({args.layout}) batch {args.batch_size} on {args.device}"
          f"{' with --tf32' if args.tf32 else ''}{' with --amp' if args.amp else ''}: "
          f"{info['params'] / 1e6:.2f} M params, {info['macs'] / 1e6:.1f} M multiply-adds/image")
    print(f"  training   {train_ips:8.1f} images/s  {train_gflops:7.1f} GFLOP/s  "
          f"({100 * train_gflops / ceiling:.1f}% of matmul {ceiling:.0f} GFLOP/s)")
    print(f"  inference  {infer_ips:8.1f} images/s  {infer_gflops:7.1f} GFLOP/s  "
          f"({100 * infer_gflops / ceiling:.1f}%)")
    print(f"  peak memory of a step's own arrays: {peak / 2 ** 20:.0f} MiB; process high-water "
          f"{peak_rss / 2 ** 20:.0f} MiB; malloc tuned: {malloc_tuned}; "
          f"{'reference ops only' if args.reference else 'fast wing on'}; blocked ops: "
          f"{'off' if args.no_blocks or args.reference else f'on, {tc.get_num_threads()} threads'}; "
          f"OpenBLAS idle spin: {describe_spin(blas_spin)}")
    print(f"  host time per step (issuing it): {1000 * t_host:.1f} ms of {1000 * t_train:.1f} ms")
    if graph is not None:
        print("  CUDA graph: " + (f"{graph.replays} replays; one step is {graph.node_counts()}"
                                  if graph.reason is None else f"not recorded, eager steps ({graph.reason})"))
    if gpu_pool is not None:
        print(f"  GPU memory held by CuPy's pool after a step: {gpu_pool / 2 ** 20:.0f} MiB")
    if leftover_graph:
        print("  WARNING: the loss still holds its graph after backward()")
    if by_cat:
        print("  time by op type (one profiled step): " + ", ".join(
            f"{k} {100 * v / profiled:.0f}%" for k, v in by_cat.most_common()))
        print("  slowest ops: " + ", ".join(f"{k} {1000 * v:.0f} ms" for k, v in totals.most_common(12)))
    emit_json(record)


if __name__ == "__main__":
    main()
