"""What the data-parallel tests run under ``mpiexec -n N python tests/mpi_worker.py TASK OUT``, and
(with one process, no MPI) the same training steps for the tests to compare against.

Tasks (rank 0 writes OUT, an .npz):
  steps      a few AdamW steps of coatnet_cifar_nano in float64, data parallel, SyncBatchNorm if
             SYNC_BN=1: the global loss per step, the first step's gradients, the final weights
  shards     every rank's shard of every batch of an epoch (uneven last batch), gathered
"""
import hashlib
import os
import sys

import numpy as np

import tinycoat as tc
from tinycoat import distributed, optim
from tinycoat.data import ArrayDataset, DataLoader
from tinycoat.models import create_model
from tinycoat.nn import functional as F

BATCH, STEPS = 8, 3


def batches(steps=STEPS, batch=BATCH, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((batch, 3, 32, 32)), rng.integers(0, 10, batch)) for _ in range(steps)]


def train_steps(comm, sync_bn, data):
    """AdamW steps with clipping and label smoothing on ``data``; each rank trains on its shard.
    Returns (global loss per step, first step's gradients, final weights), as NumPy arrays."""
    tc.manual_seed(0)
    model = create_model("coatnet_cifar_nano", num_classes=10, in_chans=3, drop_path_rate=0.0).double()
    if sync_bn:
        distributed.convert_sync_batchnorm(model, comm)
    distributed.broadcast_module(model, comm)
    opt = optim.AdamW(optim.weight_decay_groups(model.named_parameters(), 0.05), lr=1e-3)
    losses, first_grads = [], None
    for images, labels in data:
        (x, y), share = distributed.shard(comm, images, labels)
        loss = F.cross_entropy(model(tc.tensor(x)), tc.tensor(y), label_smoothing=0.1)
        opt.zero_grad()
        (loss * share if comm.size > 1 else loss).backward()
        distributed.all_reduce_gradients(model.parameters(), comm)
        losses.append(float(comm.allreduce_sum(np.array([float(loss.data) * share]))[0]))
        if first_grads is None:
            first_grads = {n: p.grad.data.copy() for n, p in model.named_parameters()}
        optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    weights = {n: p.data.copy() for n, p in model.named_parameters()}
    return np.array(losses), first_grads, weights


def gathered_shards(comm, n=23, batch=5):
    data = ArrayDataset(np.zeros((n, 1, 2, 2), np.uint8), np.arange(n) % 10, [str(i) for i in range(10)])
    loader = DataLoader(data, batch, shuffle=True, seed=3, mean=[0.0], std=[1.0])
    mine = [distributed.shard(comm, labels)[0][0].tolist() for _, labels in loader]
    return comm.gather_object(mine)


def main(task, out):
    comm = distributed.init("cpu", timeout=120)
    if task == "steps":
        losses, grads, weights = train_steps(comm, os.environ.get("SYNC_BN") == "1", batches())
        if comm.rank == 0:
            np.savez(out, losses=losses, **{f"grad/{k}": v for k, v in grads.items()},
                     **{f"weight/{k}": v for k, v in weights.items()})
        # The weights are identical on every rank: every rank's digest of them is rank 0's.
        digest = hashlib.blake2b(b"".join(weights[k].tobytes() for k in sorted(weights))).hexdigest()
        digests = comm.gather_object(digest)
        if comm.rank == 0:
            np.save(out + ".digests.npy", np.array(digests))
    elif task == "shards":
        per_rank = gathered_shards(comm)
        if comm.rank == 0:
            np.save(out, np.array(repr(per_rank)))
    else:
        sys.exit(f"unknown task {task!r}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
