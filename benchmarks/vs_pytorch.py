"""tinycoat beside PyTorch: the same CoAtNet, the same training step, the same machine, one run.

    pip install -e ".[bench-torch]"                  # PyTorch, for this benchmark only
    python benchmarks/vs_pytorch.py                  # CPU: nano and tiny at batch 128
    python benchmarks/vs_pytorch.py --device gpu --batch-sizes 128 512 --compile

The step is train_cifar.py's: forward, cross-entropy with label smoothing 0.1, backward, global
gradient-norm clipping at 1.0, AdamW (weight decay 0.05 on matrices and kernels, none on biases,
norms and the relative-position tables). PyTorch runs benchmarks/torch_coatnet.py, a port whose
parameters carry tinycoat's names: before timing, the port is loaded with tinycoat's weights and
must give the same logits (the difference is printed; tinycoat's erf is a fit good to ~1e-7).

Contenders: tinycoat with its fast wing; tinycoat's reference tier (--reference); PyTorch eager;
with --compile, PyTorch's torch.compile (and on a GPU, torch.compile's "reduce-overhead" mode,
which replays CUDA graphs). The contenders take turns, --rounds times, and each figure is the
median of its rounds' median step times: ratios come from one run on one machine. One JSON line
per contender and configuration, then a table.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import compute_gradients, emit_json, machine_description, synchronize  # noqa: E402

import tinycoat as tc  # noqa: E402
from tinycoat import optim  # noqa: E402
from tinycoat.fast import host  # noqa: E402
from tinycoat.models import create_model  # noqa: E402

try:
    import torch
    from torch_coatnet import CoAtNet as TorchCoAtNet, load_tinycoat_state
except ImportError as exc:   # the benchmark's own extra
    sys.exit(f"benchmarks/vs_pytorch.py needs PyTorch: pip install -e '.[bench-torch]' ({exc})")


def tinycoat_step(model_name, batch, device, reference, graph=False):
    """One training step of tinycoat; ``graph``: forward, backward and clipping replayed as one CUDA graph
    (tinycoat/fast/cuda_graph.py), the optimizer after it, as train_cifar.py --cuda-graph does."""
    (tc.fast.disable if reference else tc.fast.enable)()
    tc.manual_seed(0)
    model = create_model(model_name, drop_path_rate=0.1).to(device)
    opt = optim.AdamW(optim.weight_decay_groups(model.named_parameters(), 0.05), lr=1e-3)
    rng = np.random.default_rng(0)
    x = tc.tensor(rng.standard_normal((batch, 3, 32, 32)).astype(np.float32), device=device)
    y = tc.tensor(rng.integers(0, 10, batch), device=device)

    def gradients(x, y):
        return compute_gradients(model, x, y)
    compute = tc.fast.CudaGraphStep(gradients, model) if graph else gradients

    def step():
        opt.zero_grad()
        compute(x, y)
        opt.step()
        synchronize(device)
    step.graph = compute if graph else None
    return step


def torch_model(model_name, device):
    tc.manual_seed(0)
    reference = create_model(model_name, drop_path_rate=0.1)
    model = TorchCoAtNet(reference.config)
    load_tinycoat_state(model, {k: tc.backend.to_numpy(v.data) for k, v in reference.state_dict().items()})
    return reference, model.to("cuda" if device == "gpu" else "cpu")


def check_same_logits(model_name, device):
    reference, model = torch_model(model_name, "cpu")
    x = np.random.default_rng(1).standard_normal((4, 3, 32, 32)).astype(np.float32)
    reference.eval()
    model.eval()
    with tc.no_grad(), torch.no_grad():
        a = reference(tc.tensor(x)).data
        b = model(torch.as_tensor(x)).numpy()
    difference = float(np.abs(a - b).max())
    if difference > 1e-3 * max(1.0, float(np.abs(a).max())):
        sys.exit(f"{model_name}: the PyTorch port's logits differ from tinycoat's by {difference:g}; fix the port")
    return difference


def torch_step(model_name, batch, device, mode):
    _, model = torch_model(model_name, device)
    dev = model.head.weight.device
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "relative_bias" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1 or "relative_bias" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3)
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.standard_normal((batch, 3, 32, 32)).astype(np.float32), device=dev)
    y = torch.as_tensor(rng.integers(0, 10, batch), device=dev)
    forward = model
    if mode == "compile":
        forward = torch.compile(model)
    elif mode == "compile-graphs":
        forward = torch.compile(model, mode="reduce-overhead")

    def step():
        loss = torch.nn.functional.cross_entropy(forward(x), y, label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
    return step


def median_step(step, steps):
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["coatnet_cifar_nano", "coatnet_cifar_tiny"])
    p.add_argument("--batch-sizes", nargs="+", type=int, default=[128])
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    p.add_argument("--steps", type=int, default=5, help="timed steps per round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=None, help="host threads for both (default: every core)")
    p.add_argument("--compile", action="store_true", help="also torch.compile (and CUDA graphs on a GPU)")
    p.add_argument("--reference", action="store_true", help="also tinycoat's reference tier")
    args = p.parse_args()
    threads = args.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    tc.set_num_threads(threads)
    host.set_blas_threads(threads)

    contenders = (["tinycoat"] + (["tinycoat-graph"] if args.device == "gpu" else [])
                  + (["tinycoat-reference"] if args.reference else []) + ["torch-eager"])
    if args.compile:
        contenders += ["torch-compile"] + (["torch-compile-graphs"] if args.device == "gpu" else [])
    rows = []
    for model_name in args.models:
        difference = check_same_logits(model_name, args.device)
        print(f"{model_name}: PyTorch port's logits within {difference:.1e} of tinycoat's")
        for batch in args.batch_sizes:
            steps = {}
            for name in contenders:
                if name.startswith("tinycoat"):
                    steps[name] = tinycoat_step(model_name, batch, args.device, name.endswith("reference"),
                                                graph=name.endswith("graph"))
                else:
                    steps[name] = torch_step(model_name, batch, args.device, name[len("torch-"):])
            # Warm up once all are built: building the PyTorch port seeds tinycoat anew (torch_model),
            # and a CUDA graph recorded before that would be recorded again inside the timed steps.
            for name in contenders:
                for _ in range(4):            # warm up (compile; record the graph at the 3rd)
                    steps[name]()
                graph = getattr(steps[name], "graph", None)
                if graph is not None:
                    print(f"{name}: " + (f"{graph.replays} replays of its CUDA graph" if graph.reason is None
                                         else f"no CUDA graph, eager steps ({graph.reason})"))
            per_round = {name: [] for name in contenders}
            for _ in range(args.rounds):      # take turns: A B C, A B C, ...
                for name in contenders:
                    (tc.fast.disable if name == "tinycoat-reference" else tc.fast.enable)()
                    per_round[name].append(median_step(steps[name], args.steps))
            for name in contenders:
                seconds = statistics.median(per_round[name])
                row = {"benchmark": "vs_pytorch", "model": model_name, "batch_size": batch, "device": args.device,
                       "contender": name, "step_s": seconds,
                       "graph_replayed": (steps[name].graph.reason is None) if getattr(steps[name], "graph", None)
                       else None, "images_per_s": batch / seconds,
                       "rounds_s": per_round[name], "threads": threads, "torch": torch.__version__,
                       "machine": machine_description(args.device)}
                rows.append(row)
                emit_json(row)
    print("\n| model | batch | " + " | ".join(contenders) + " | tinycoat / torch eager |")
    print("|---|---|" + "---|" * (len(contenders) + 1))
    for model_name in args.models:
        for batch in args.batch_sizes:
            got = {r["contender"]: r["images_per_s"] for r in rows if r["model"] == model_name
                   and r["batch_size"] == batch}
            print(f"| {model_name} | {batch} | " + " | ".join(f"{got[c]:.1f}" for c in contenders)
                  + f" | {got['tinycoat'] / got['torch-eager']:.2f} |")


if __name__ == "__main__":
    main()
