"""Benchmark data-parallel training steps: images/s of the global batch, and the all-reduce's share.

    python benchmarks/data_parallel.py --threads 2                       # 1 process × 2 threads
    mpiexec -n 2 python benchmarks/data_parallel.py --threads 1          # 2 ranks × 1 thread each
    mpiexec -n 2 python benchmarks/data_parallel.py --threads 1 --sync-bn
    mpiexec -n 1 python benchmarks/data_parallel.py --device gpu --communicator mpi   # one NCCL rank

The same training step as train_cifar.py's (forward, label-smoothed cross-entropy, backward,
the gradient all-reduce, clipping, AdamW) on a global batch of --batch-size images, each rank
taking its shard. Rank 0 prints a line for people and one JSON line for the record: the median
step's time and images/s, and the time spent inside collectives (the gradient all-reduce, and
SyncBatchNorm's sums with --sync-bn) as a share of the step. Run the variants one after another,
on an otherwise idle machine, and compare their ratios.
"""
from __future__ import annotations

import argparse
import os
import time

from common import emit_json, machine_description, synchronize

import tinycoat as tc
from tinycoat import distributed, optim
from tinycoat.fast import host
from tinycoat.models import create_model
from tinycoat.nn import functional as F


class TimedCollectives:
    """Wraps a communicator's allreduce_sum to add up the seconds spent in it."""

    def __init__(self, comm, device):
        self.comm, self.device, self.seconds = comm, device, 0.0
        inner = comm.allreduce_sum

        def timed(array):
            synchronize(self.device)             # (on a GPU: the work before it is not the collective's)
            start = time.perf_counter()
            result = inner(array)
            synchronize(self.device)
            self.seconds += time.perf_counter() - start
            return result
        comm.allreduce_sum = timed


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="coatnet_cifar_nano")
    p.add_argument("--batch-size", type=int, default=128, help="the global batch (all ranks together)")
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    p.add_argument("--steps", type=int, default=6, help="timed steps (after 2 untimed ones)")
    p.add_argument("--threads", type=int, default=None, help="threads per rank (fast wing and OpenBLAS)")
    p.add_argument("--sync-bn", action="store_true")
    p.add_argument("--communicator", default="auto", choices=["auto", "mpi"],
                   help="mpi: MPI (+ NCCL on a GPU) even for one process, to measure one NCCL rank against "
                        "a plain run (auto: MPI only under mpiexec -n N, N > 1)")
    args = p.parse_args()
    comm = distributed.init(args.device, force=args.communicator == "mpi")
    tc.fast.enable()
    threads = args.threads or max(1, (os.cpu_count() or 1) // comm.local_size)
    tc.set_num_threads(threads)
    host.set_blas_threads(threads)

    tc.manual_seed(0)
    model = create_model(args.model, num_classes=10, drop_path_rate=0.1).to(args.device)
    if args.sync_bn:
        distributed.convert_sync_batchnorm(model, comm)
    distributed.broadcast_module(model, comm)
    opt = optim.AdamW(optim.weight_decay_groups(model.named_parameters(), 0.05), lr=1e-3)
    x = tc.randn(args.batch_size, 3, 32, 32, device="cpu").data
    y = tc.backend.generator("cpu").integers(0, 10, args.batch_size)
    (x, y), share = distributed.shard(comm, x, y)
    x, y = tc.tensor(x, device=args.device), tc.tensor(y, device=args.device)
    timer = TimedCollectives(comm, args.device)

    def step():
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        opt.zero_grad()
        (loss * share if comm.size > 1 else loss).backward()
        distributed.all_reduce_gradients(model.parameters(), comm)
        optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        synchronize(args.device)

    for _ in range(2):
        step()
    times, collective = [], []
    for _ in range(args.steps):
        comm.barrier()
        before, start = timer.seconds, time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
        collective.append(timer.seconds - before)
    slowest = comm.gather_object(times)            # a step lasts as long as its slowest rank
    if comm.rank != 0:
        return
    per_step = sorted(max(ts) for ts in zip(*slowest))
    median = per_step[len(per_step) // 2]
    share_collective = sorted(collective)[len(collective) // 2] / median
    print(f"{comm.size} rank(s) × {threads} thread(s), global batch {args.batch_size}"
          f"{', SyncBatchNorm' if args.sync_bn else ''}: {args.batch_size / median:.1f} images/s "
          f"(step {median * 1e3:.0f} ms; collectives {100 * share_collective:.1f} % of it, rank 0)")
    emit_json({"benchmark": "data_parallel", "model": args.model, "device": args.device, "ranks": comm.size,
               "communicator": type(comm).__name__,
               "threads_per_rank": threads, "batch_size": args.batch_size, "sync_bn": args.sync_bn,
               "step_s": median, "images_per_s": args.batch_size / median,
               "collective_share": share_collective, "machine": machine_description(args.device)})


if __name__ == "__main__":
    main()
