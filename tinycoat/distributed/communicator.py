"""Who the other processes are, and the few collectives data parallelism needs.

tinycoat does not move bytes between processes itself: MPI does (through mpi4py), as it does
for ChainerMN, Horovod and most of scientific computing, and on GPUs NCCL does (through CuPy),
as it does for PyTorch's DDP. ``mpiexec -n N python script.py`` starts N copies of the same
program; each learns its **rank** (0 … N−1) and the **world size** N from MPI.

Everything data parallelism needs is a few collectives:

* ``allreduce_sum(a)``: every rank ends with Σ_r a_r (the gradient sum, BatchNorm's sums);
* ``broadcast(a)``:     every rank ends with rank 0's a (the initial weights);
* ``gather_object`` / ``broadcast_object``: small Python values (random states, NCCL's id);
* ``allreduce_max_int`` / ``allreduce_sum_ints``: a few host integers (has any rank been asked
  to stop? which parameters got a gradient?), never a GPU round trip.

A collective waits for every rank. If one rank has died, the others would wait for ever, so
each wait here has a deadline (``timeout`` seconds): past it, the rank says which collective
hung and MPI aborts the whole job. A rank that raises calls ``abort`` for the same reason.
"""
from __future__ import annotations

import array as pyarray        # host integer buffers without NumPy (this layer may not import it)
import os
import sys
import time

from tinycoat import backend

# Environment variables that MPI launchers set in each process they start (MPICH/Hydra and
# Intel MPI: PMI_*; Open MPI: OMPI_*; PMIx-based launchers: PMIX_*). Their presence means
# "started by mpiexec", without importing MPI in every single-process run.
LAUNCHER_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "PMIX_SIZE")
LAUNCHER_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")


class DistributedError(RuntimeError):
    """A collective failed or timed out, or MPI/NCCL is missing or misconfigured."""


def launched_by_mpi() -> bool:
    """True in a process that ``mpiexec -n N`` (N > 1) started."""
    for name in LAUNCHER_SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 1:
            return True
    return False


def launcher_size():
    """The number of processes the launcher says it started (None outside mpiexec)."""
    for name in LAUNCHER_SIZE_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return None


def launcher_rank() -> int:
    """This process's rank as its launcher says (0 outside mpiexec), known before MPI starts: so
    that an error every rank finds (a bad option) is printed once."""
    for name in LAUNCHER_RANK_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


class SingleProcess:
    """The world of one process: every collective is the identity. Lets one code path serve
    both a plain run and a data-parallel one."""

    rank, size, local_rank, local_size = 0, 1, 0, 1

    def allreduce_sum(self, array):
        return array

    def broadcast(self, array, root=0):
        return array

    def gather_object(self, value, root=0):
        return [value]

    def broadcast_object(self, value, root=0):
        return value

    def allreduce_max_int(self, value: int) -> int:
        return int(value)

    def allreduce_sum_ints(self, values):
        return [int(v) for v in values]

    def barrier(self):
        pass

    def abort(self, code=1):
        sys.exit(code)


class MPICommunicator:
    """The processes of ``mpiexec``, through mpi4py's COMM_WORLD. Arrays may live on the host
    (NumPy) or on a GPU (CuPy); GPU arrays go through the host here (an MPI from PyPI is not
    CUDA-aware), and NCCLCommunicator below keeps them on the device instead."""

    def __init__(self, timeout: float = 600.0):
        try:
            from mpi4py import MPI
        except ImportError as exc:
            raise DistributedError("this process was started by mpiexec, but mpi4py is not installed: "
                                   "pip install 'tinycoat[dist]' (mpi4py and an MPI such as mpich)") from exc
        self.MPI, self.comm = MPI, MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        launched = launcher_size()
        if launched not in (None, self.size) or (launched and launcher_rank() != self.rank):
            # mpiexec of one MPI, mpi4py built on another: every process would think itself alone
            # and train the whole job, all writing to one folder.
            raise DistributedError(
                f"mpiexec started {launched} processes, but MPI ({MPI.Get_library_version().splitlines()[0]}) "
                f"sees a world of {self.size}: this mpiexec belongs to another MPI than mpi4py's. Use the "
                "mpiexec that comes with the MPI mpi4py was built for (pip's mpich: the one in the same bin/)")
        # Ranks on the same machine, numbered from 0: which GPU this rank drives.
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = node.Get_rank(), node.Get_size()
        self.timeout = float(timeout)

    def _wait(self, request, what):
        """Wait for a non-blocking collective, but not for ever (a dead or stuck rank)."""
        deadline, pause = time.monotonic() + self.timeout, 1e-5
        while not request.Test():
            if time.monotonic() > deadline:
                print(f"rank {self.rank}: no answer from the other ranks within {self.timeout:g} s in {what}; "
                      "one of them has died or is stuck. Aborting every rank.", file=sys.stderr, flush=True)
                self.abort(3)
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)   # quick answers stay quick; long waits do not burn a core

    def _host_buffer(self, array):
        """The array itself if it is a contiguous host array, else a contiguous host copy."""
        host = backend.to_numpy(array)             # a GPU array's host copy; a host array itself
        return host if host.flags.c_contiguous else host.copy()

    def _write_back(self, array, buffer):
        if buffer is not array:
            array[...] = backend.to_device(buffer, backend.device_of(array))

    def allreduce_sum(self, array):
        """Σ over ranks of ``array``, in place (and returned)."""
        buffer = self._host_buffer(array)
        self._wait(self.comm.Iallreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM), "all-reduce")
        self._write_back(array, buffer)
        return array

    def broadcast(self, array, root=0):
        """Rank ``root``'s ``array`` on every rank, in place (and returned)."""
        buffer = self._host_buffer(array)
        self._wait(self.comm.Ibcast(buffer, root=root), "broadcast")
        self._write_back(array, buffer)
        return array

    def gather_object(self, value, root=0):
        self.barrier()              # (the object collectives block: meet under a deadline first)
        return self.comm.gather(value, root=root)

    def broadcast_object(self, value, root=0):
        self.barrier()
        return self.comm.bcast(value, root=root)

    def _host_ints(self, values, op):
        buffer = pyarray.array("q", [int(v) for v in values])   # a host buffer, never the GPU's
        self._wait(self.comm.Iallreduce(self.MPI.IN_PLACE, buffer, op=op), "all-reduce")
        return list(buffer)

    def allreduce_max_int(self, value: int) -> int:
        """The largest of the ranks' integers (e.g. "has any rank been asked to stop?")."""
        return self._host_ints([value], self.MPI.MAX)[0]

    def allreduce_sum_ints(self, values):
        """Σ over ranks of a short list of host integers (e.g. which parameters got a gradient)."""
        return self._host_ints(values, self.MPI.SUM)

    def barrier(self):
        self._wait(self.comm.Ibarrier(), "barrier")

    def abort(self, code=1):
        abort_world(code)


class NCCLCommunicator(MPICommunicator):
    """MPI for the processes, NCCL for GPU arrays: all-reduce and broadcast run on the GPU, with
    no host round trip. Rank r drives GPU ``local_rank``; rank 0 makes NCCL's unique id and MPI
    hands it to the others (NCCL has no launcher of its own).

    NCCL's collectives are queued on the GPU and have no deadline of their own; the MPI
    collectives every step makes (the ranks' agreement on stopping) have one, and mpiexec stops
    every rank when one dies."""

    def __init__(self, timeout: float = 600.0):
        super().__init__(timeout)
        cupy, nccl = backend.array_module("gpu"), backend.nccl_module()
        self.cupy, self.nccl = cupy, nccl
        gpus = cupy.cuda.runtime.getDeviceCount()
        if self.local_size > gpus:      # NCCL refuses two ranks on one GPU
            raise DistributedError(f"{self.local_size} ranks on this machine but {gpus} GPU(s): start at most "
                                   f"one rank per GPU (mpiexec -n {gpus} per machine)")
        cupy.cuda.Device(self.local_rank).use()
        unique_id = self.broadcast_object(nccl.get_unique_id() if self.rank == 0 else None)
        try:
            self.nccl_comm = nccl.NcclCommunicator(self.size, unique_id, self.rank)
        except Exception as exc:        # NcclError: a driver, topology or version problem
            raise DistributedError(f"rank {self.rank}: NCCL could not start ({type(exc).__name__}: {exc})") from exc

    def _checked(self, array):
        if not array.flags.c_contiguous:
            raise DistributedError(f"NCCL collectives need a C-contiguous array, got one of shape {array.shape}")
        return array.data.ptr, array.size, nccl_dtype(self.nccl, array.dtype)

    def allreduce_sum(self, array):
        if backend.get_array_module(array) is not self.cupy:
            return super().allreduce_sum(array)
        pointer, count, dtype = self._checked(array)
        # Enqueued on CuPy's current stream, so the kernels that follow see the sum.
        self.nccl_comm.allReduce(pointer, pointer, count, dtype, self.nccl.NCCL_SUM,
                                 self.cupy.cuda.get_current_stream().ptr)
        return array

    def broadcast(self, array, root=0):
        if backend.get_array_module(array) is not self.cupy:
            return super().broadcast(array, root)
        pointer, count, dtype = self._checked(array)
        self.nccl_comm.bcast(pointer, count, dtype, root, self.cupy.cuda.get_current_stream().ptr)
        return array


def nccl_dtype(nccl, dtype):
    """NCCL's name for an array dtype (``nccl``: CuPy's binding, cupy.cuda.nccl)."""
    names = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
             "int32": "NCCL_INT32", "int64": "NCCL_INT64", "uint8": "NCCL_UINT8"}
    if str(dtype) not in names:
        raise DistributedError(f"NCCL cannot reduce {dtype} arrays: expected one of {', '.join(sorted(names))}")
    return getattr(nccl, names[str(dtype)])


def abort_world(code=1):
    """Stop every process of the job, if MPI has been started in this one (for errors met before a
    communicator exists); returns otherwise."""
    MPI = sys.modules.get("mpi4py.MPI")
    if MPI is not None and MPI.Is_initialized() and not MPI.Is_finalized():
        sys.stdout.flush()
        sys.stderr.flush()
        # mpiexec tears the job down at once and may drop output it has not forwarded yet; a
        # moment first lets it pass on why this rank stops.
        time.sleep(0.2)
        MPI.COMM_WORLD.Abort(code)


def init(device="cpu", timeout: float = 600.0, force: bool = False):
    """The world this process is part of: SingleProcess unless ``mpiexec -n N`` (N > 1) started it,
    then MPI (``device="cpu"``) or MPI + NCCL (``device="gpu"``). ``force``: MPI (+ NCCL) even for
    one process (to measure what the collectives cost a single rank)."""
    if not (force or launched_by_mpi()):
        return SingleProcess()
    return NCCLCommunicator(timeout) if device == "gpu" else MPICommunicator(timeout)
