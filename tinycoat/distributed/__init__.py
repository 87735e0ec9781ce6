"""Data-parallel training over processes: MPI (mpi4py) between them, NCCL between GPUs.

    mpiexec -n 4 python train_cifar.py ...     # train_cifar finds its ranks by itself

    comm = tc.distributed.init(device)         # SingleProcess, or MPI (+ NCCL on GPUs)
    broadcast_module(model, comm)              # every rank starts from rank 0's weights
    (images, labels), share = shard(comm, images, labels)    # this rank's slice, n_r / B
    (share * loss_of(images, labels)).backward()
    all_reduce_gradients(model.parameters(), comm)   # now every rank holds the full-batch gradient
    optimizer.step()

Lesson 13 explains why this is the single-process gradient, and where BatchNorm breaks it.
"""
from .communicator import (DistributedError, MPICommunicator, NCCLCommunicator, SingleProcess, init,
                           launched_by_mpi, launcher_rank)
from .data_parallel import all_reduce_gradients, broadcast_module, shard, shard_bounds
from .sync_batchnorm import SyncBatchNorm, SyncBatchNorm2d, convert_sync_batchnorm

__all__ = ["DistributedError", "MPICommunicator", "NCCLCommunicator", "SingleProcess", "init", "launched_by_mpi",
           "launcher_rank",
           "all_reduce_gradients", "broadcast_module", "shard", "shard_bounds", "SyncBatchNorm", "SyncBatchNorm2d",
           "convert_sync_batchnorm"]
