"""Data parallelism: N processes, one model each, one batch split N ways, one gradient.

Each rank holds the same weights and takes a disjoint slice (a *shard*) of every global batch
of B images: rank r takes images [r·B/N, (r+1)·B/N) of it, so the N shards together are
exactly the batch one process would take. Rank r has n_r images and computes the gradient of
its share of the global mean loss,

    J_r = (n_r / B) · L_r,   L_r = (1/n_r) Σ_{i in shard r} ℓ_i,   so   Σ_r J_r = (1/B) Σ_i ℓ_i = L,

and one all-reduce (a sum over ranks) of ∇J_r gives every rank ∇L, the full-batch gradient —
the weight n_r/B makes uneven shards (the last batch of an epoch) exact too; for equal shards
it is the familiar "average the gradients". With the same gradient and the same optimizer
state, every rank takes the same step, so the weights stay identical without being sent again.

Where this breaks: anything that mixes images *within* a batch sees only the shard. BatchNorm
does (its statistics are over the batch): per-rank statistics are what DDP does by default,
and SyncBatchNorm (sync_batchnorm.py) restores the single-process result.
"""
from __future__ import annotations

from tinycoat.backend import get_array_module
from tinycoat.tensor import Tensor


def shard_bounds(n: int, rank: int, size: int):
    """[lo, hi): the images of a batch of ``n`` that rank ``rank`` of ``size`` takes."""
    if not 0 <= rank < size:
        raise ValueError(f"shard_bounds: rank {rank} is not in [0, {size})")
    return n * rank // size, n * (rank + 1) // size


def shard(comm, *arrays):
    """This rank's slice of each of ``arrays`` (a global batch: images, labels, ...), and its share
    n_r/B of the global mean loss. One process: the arrays themselves, share 1."""
    n = len(arrays[0])
    lo, hi = shard_bounds(n, comm.rank, comm.size)
    return [a[lo:hi] for a in arrays], (hi - lo) / n


def all_reduce_gradients(parameters, comm):
    """Sum every parameter's gradient over the ranks, in place: one all-reduce per dtype over
    one flat buffer (a call per parameter would pay the collective's latency ~100 times).
    A parameter no rank's graph reached keeps no gradient (so the optimizer skips it, as it would
    in one process); one that only some reached counts zeros on the others."""
    params = [p for p in parameters if p.requires_grad]
    if comm.size == 1 or not params:
        return
    reached = comm.allreduce_sum_ints([p.grad is not None for p in params])
    params = [p for p, n in zip(params, reached) if n > 0]
    for p in params:
        if p.grad is None:
            p.grad = Tensor(get_array_module(p.data).zeros_like(p.data))
    buckets = {}
    for p in params:
        buckets.setdefault(p.grad.data.dtype, []).append(p)
    for group in buckets.values():
        flat = get_array_module(group[0].grad.data).concatenate([p.grad.data.ravel() for p in group])
        comm.allreduce_sum(flat)
        offset = 0
        for p in group:
            g = p.grad.data
            g[...] = flat[offset:offset + g.size].reshape(g.shape)
            offset += g.size


def broadcast_module(module, comm, root=0, parameters=True):
    """Rank ``root``'s parameters and buffers on every rank: at start-up, and (``parameters=False``:
    the weights are identical already) before evaluation, so that every rank holds rank 0's
    BatchNorm running statistics."""
    if comm.size == 1:
        return
    tensors = list(module.parameters()) if parameters else []
    for t in tensors + [b for b in module.buffers() if b is not None]:
        comm.broadcast(t.data, root)
