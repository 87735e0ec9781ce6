"""Data parallelism (tinycoat.distributed, lesson 13): N ranks compute what one process computes.

The MPI tests start real processes with ``mpiexec -n 2`` (mpi4py + an MPI from PyPI:
pip install -e ".[dist]"); where there is none they skip and say so. The sharding arithmetic and
SyncBatchNorm's math are checked in one process too."""
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinycoat as tc
from tinycoat import distributed

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import mpi_worker  # noqa: E402


def find_mpiexec():
    beside = pathlib.Path(sys.executable).parent / "mpiexec"       # pip's mpich installs it in the venv
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def mpi_missing():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install -e '.[dist]')"
    return None if find_mpiexec() else "no mpiexec on PATH (pip install -e '.[dist]' brings mpich's)"


needs_mpi = pytest.mark.skipif(mpi_missing() is not None, reason=f"data-parallel tests need MPI: {mpi_missing()}")


def mpirun(n, *argv, env=None, timeout=300):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([find_mpiexec(), "-n", str(n), sys.executable, *map(str, argv)], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------------------------------ sharding, in one process

class FakeRank:
    def __init__(self, rank, size):
        self.rank, self.size = rank, size


@given(n=st.integers(1, 300), size=st.integers(1, 9))
def test_the_shards_of_a_batch_are_the_batch(n, size):
    batch = np.arange(n) * 7
    pieces, shares = [], []
    for rank in range(size):
        (piece,), share = distributed.shard(FakeRank(rank, size), batch)
        pieces.append(piece)
        shares.append(share)
        assert share == len(piece) / n
    np.testing.assert_array_equal(np.concatenate(pieces), batch)     # disjoint, in order, complete
    assert sum(shares) == pytest.approx(1.0)
    assert max(map(len, pieces)) - min(map(len, pieces)) <= 1          # as even as can be


def test_shard_bounds_refuses_a_rank_outside_the_world():
    with pytest.raises(ValueError, match=r"rank 2 is not in \[0, 2\)"):
        distributed.shard_bounds(10, 2, 2)


def test_one_process_is_a_world_of_one():
    comm = distributed.init()
    assert isinstance(comm, distributed.SingleProcess) and (comm.rank, comm.size) == (0, 1)
    a = np.arange(3.0)
    assert comm.allreduce_sum(a) is a and comm.gather_object(5) == [5] and comm.allreduce_max_int(1) == 1


def test_launched_by_mpi_reads_the_launchers_variables(monkeypatch):
    for name in distributed.communicator.LAUNCHER_SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not distributed.launched_by_mpi()
    monkeypatch.setenv("PMI_SIZE", "1")
    assert not distributed.launched_by_mpi()           # mpiexec -n 1 is one process
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert distributed.launched_by_mpi()
    monkeypatch.setenv("PMI_RANK", "3")
    assert distributed.launcher_rank() == 3


# ------------------------------------------------------------------------ SyncBatchNorm's math, one process

@settings(deadline=None, max_examples=25)
@given(n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(1, 3), w=st.integers(1, 4), seed=st.integers(0, 99))
def test_sync_batchnorm_gradients_match_finite_differences(n, c, h, w, seed):
    """In a world of one, SyncBatchNorm is BatchNorm: its backward against a numerical derivative."""
    if n * h * w < 2:
        return
    rng = np.random.default_rng(seed)
    x = tc.tensor(rng.standard_normal((n, c, h, w)), requires_grad=True)
    gamma = tc.tensor(rng.standard_normal(c), requires_grad=True)
    beta = tc.tensor(rng.standard_normal(c), requires_grad=True)
    comm = distributed.SingleProcess()
    assert tc.gradcheck(lambda x, g, b: distributed.SyncBatchNorm.apply(x, g, b, comm=comm), x, gamma, beta)


class SimulatedWorld:
    """N ranks in one process, taking turns: each collective waits until every rank has called it,
    then answers each with the sum. Threads stand in for processes, so SyncBatchNorm's forward
    and backward run exactly as they would under MPI."""

    def __init__(self, size):
        import threading
        self.size, self.barrier, self.lock, self.parts = size, threading.Barrier(size), threading.Lock(), []

    def rank(self, r):
        world = self

        class Rank:
            rank, size = r, world.size

            def allreduce_sum(self, array):
                with world.lock:
                    world.parts.append(array.copy())
                world.barrier.wait()
                total = sum(world.parts)
                world.barrier.wait()
                if r == 0:
                    world.parts.clear()
                world.barrier.wait()
                array[...] = total
                return array
        return Rank()


@settings(deadline=None, max_examples=15)
@given(sizes=st.lists(st.integers(1, 3), min_size=2, max_size=3), c=st.integers(1, 3), seed=st.integers(0, 99))
def test_sync_batchnorm_over_shards_is_batchnorm_over_the_batch(sizes, c, seed):
    """Shards of uneven sizes: SyncBatchNorm's outputs, input gradients and running statistics
    equal BatchNorm's on the whole batch."""
    import threading
    from tinycoat.nn import BatchNorm2d
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((sum(sizes), c, 2, 3))
    upstream = rng.standard_normal(x.shape)
    whole = BatchNorm2d(c).double()
    xt = tc.tensor(x, requires_grad=True)
    (whole(xt) * tc.tensor(upstream)).sum().backward()
    world, results = SimulatedWorld(len(sizes)), {}
    bounds = np.cumsum([0] + sizes)

    def run(r):
        layer = distributed.SyncBatchNorm2d(c, world.rank(r)).double()
        part = tc.tensor(x[bounds[r]:bounds[r + 1]], requires_grad=True)
        (layer(part) * tc.tensor(upstream[bounds[r]:bounds[r + 1]])).sum().backward()
        results[r] = part.grad.data, layer.weight.grad.data, layer.running_var.data

    threads = [threading.Thread(target=run, args=(r,)) for r in range(len(sizes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_allclose(np.concatenate([results[r][0] for r in range(len(sizes))]), xt.grad.data,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sum(results[r][1] for r in range(len(sizes))), whole.weight.grad.data, rtol=1e-10)
    for r in range(len(sizes)):
        np.testing.assert_allclose(results[r][2], whole.running_var.data, rtol=1e-12)


def test_convert_sync_batchnorm_keeps_parameters_and_buffers():
    from tinycoat.models import create_model
    model = create_model("coatnet_cifar_nano", num_classes=10, in_chans=3)
    before = dict(model.named_parameters()), dict(model.named_buffers())
    distributed.convert_sync_batchnorm(model, distributed.SingleProcess())
    kinds = {type(m).__name__ for m in model.modules()}
    assert "SyncBatchNorm2d" in kinds and "BatchNorm2d" not in kinds
    after = dict(model.named_parameters()), dict(model.named_buffers())
    for old, new in zip(before, after):          # the same tensors, under the same names, in the same order
        assert list(new) == list(old) and all(new[k] is old[k] for k in old)
    plain = tc.nn.Sequential(tc.nn.Conv2d(3, 4, 1), tc.nn.BatchNorm2d(4, affine=False))
    with pytest.raises(ValueError, match=r"convert_sync_batchnorm: 1 is BatchNorm2d\(4, .*affine=False\); "
                                         r"SyncBatchNorm2d has γ, β and running statistics"):
        distributed.convert_sync_batchnorm(plain, distributed.SingleProcess())
    features = tc.nn.Sequential(tc.nn.Linear(3, 4), tc.nn.BatchNorm1d(4))
    with pytest.raises(ValueError, match=r"1 is BatchNorm1d\(4, .*only BatchNorm2d has a synchronized twin"):
        distributed.convert_sync_batchnorm(features, distributed.SingleProcess())


# ------------------------------------------------------------------------ real ranks (MPI)

@needs_mpi
def test_two_ranks_with_sync_bn_equal_one_process_with_the_whole_batch(tmp_path):
    out = tmp_path / "steps.npz"
    done = mpirun(2, ROOT / "tests" / "mpi_worker.py", "steps", out, env={"SYNC_BN": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    losses, grads, weights = mpi_worker.train_steps(distributed.SingleProcess(), False, mpi_worker.batches())
    ranks = np.load(out)
    np.testing.assert_allclose(ranks["losses"], losses, rtol=1e-12)
    for k in grads:
        np.testing.assert_allclose(ranks[f"grad/{k}"], grads[k], rtol=1e-9, atol=1e-13, err_msg=k)
    for k in weights:
        np.testing.assert_allclose(ranks[f"weight/{k}"], weights[k], rtol=1e-9, atol=1e-12, err_msg=k)
    digests = np.load(str(out) + ".digests.npy")
    assert len(digests) == 2 and digests[0] == digests[1]              # identical weights on every rank


@needs_mpi
def test_without_sync_the_gradient_is_the_mean_of_the_shards_gradients(tmp_path):
    out = tmp_path / "steps.npz"
    done = mpirun(2, ROOT / "tests" / "mpi_worker.py", "steps", out, env={"SYNC_BN": "0"})
    assert done.returncode == 0, done.stderr[-3000:]
    images, labels = mpi_worker.batches()[0]
    half = len(labels) // 2
    per_shard = [mpi_worker.train_steps(distributed.SingleProcess(), False, [(images[s], labels[s])])[1]
                 for s in (slice(0, half), slice(half, None))]
    ranks = np.load(out)
    for k in per_shard[0]:
        np.testing.assert_allclose(ranks[f"grad/{k}"], (per_shard[0][k] + per_shard[1][k]) / 2,
                                   rtol=1e-9, atol=1e-13, err_msg=k)
    # ... and it is not the whole batch's gradient: per-rank BatchNorm statistics differ from it
    whole = mpi_worker.train_steps(distributed.SingleProcess(), False, [(images, labels)])[1]
    assert max(np.abs(ranks[f"grad/{k}"] - whole[k]).max() for k in whole) > 1e-6


@needs_mpi
def test_the_shards_of_every_batch_of_an_epoch_are_the_single_process_batches(tmp_path):
    out = tmp_path / "shards.npy"
    done = mpirun(3, ROOT / "tests" / "mpi_worker.py", "shards", out)
    assert done.returncode == 0, done.stderr[-3000:]
    per_rank = eval(str(np.load(out)))                                   # a repr of lists of ints, ours
    single = mpi_worker.gathered_shards(distributed.SingleProcess())[0]
    assert len(single) == 5 and len(single[-1]) == 3                      # 23 = 4 × 5 + 3: uneven last batch
    for step, batch in enumerate(single):
        assert sum((rank[step] for rank in per_rank), []) == batch


# ------------------------------------------------------------------------ train_cifar.py under mpiexec

from test_train_cifar import FAST, cifar_root, weights  # noqa: E402,F401  (cifar_root: a fixture)

DRIVER = ROOT / "tests" / "mpi_train_driver.py"


def train(n, *argv, env=None, timeout=300):
    return mpirun(n, DRIVER, *argv, env=env, timeout=timeout)


def metrics_of(out):
    import json
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


@needs_mpi
def test_a_two_rank_run_stopped_and_resumed_equals_the_uninterrupted_one(cifar_root, tmp_path):
    common = ["--data-dir", cifar_root, "--epochs", 2, *FAST]         # stochastic depth on: per-rank draws
    straight = train(2, *common, "--out", tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr[-3000:]
    assert straight.stdout.count("epoch 1:") == 1                     # rank 0 alone prints
    assert "data parallel over 2 ranks" in straight.stdout
    stopped = train(2, *common, "--stop-after", 1, "--out", tmp_path / "run")
    assert stopped.returncode == 0, stopped.stderr[-3000:]
    resumed = train(2, *common, "--resume", tmp_path / "run" / "last.npz")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = weights(tmp_path / "straight" / "last.npz"), weights(tmp_path / "run" / "last.npz")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    strip = lambda rows: [{k: v for k, v in r.items() if "per_s" not in k} for r in rows]  # noqa: E731
    assert strip(metrics_of(tmp_path / "straight")) == strip(metrics_of(tmp_path / "run"))
    # The two ranks evaluated parts of the test set; one process evaluating the same weights names
    # the same wrong answers at the same test-set indices (rank 1's part numbered after rank 0's)
    import json
    import train_cifar
    assert train_cifar.main([str(a) for a in ["--eval-only", "--resume", tmp_path / "straight" / "last.npz",
                                              "--out", tmp_path / "eval", "--data-dir", cifar_root, *FAST]]) == 0
    two_ranks = json.loads((tmp_path / "straight" / "report.json").read_text())
    one = json.loads((tmp_path / "eval" / "eval.json").read_text())
    assert two_ranks["test_images"] == one["test_images"] == 3
    assert [m["index"] for m in one["mistakes"]] == [0, 1, 2]          # (2 epochs on 15 images: all wrong)
    assert [(m["index"], m["true"], m["predicted"]) for m in two_ranks["mistakes"]] == [
        (m["index"], m["true"], m["predicted"]) for m in one["mistakes"]]
    assert [m["confidence"] for m in two_ranks["mistakes"]] == pytest.approx([m["confidence"] for m in one["mistakes"]])
    assert not [p for p in (tmp_path / "run").iterdir() if p.suffix == ".tmp"]


@needs_mpi
def test_a_run_resumes_with_another_number_of_ranks(cifar_root, tmp_path):
    import train_cifar
    common = ["--data-dir", cifar_root, "--epochs", 3, *FAST]
    assert train(2, *common, "--stop-after", 1, "--out", tmp_path / "run").returncode == 0
    assert train_cifar.main([str(a) for a in [*common, "--stop-after", 1, "--resume", tmp_path / "run" / "last.npz"]]) == 0
    done = train(3, *common, "--resume", tmp_path / "run" / "last.npz")
    assert done.returncode == 0, done.stderr[-3000:]
    assert [r["epoch"] for r in metrics_of(tmp_path / "run")] == [1, 2, 3]


@needs_mpi
def test_sync_bn_trains_and_a_bad_option_is_said_once(cifar_root, tmp_path):
    done = train(2, "--data-dir", cifar_root, "--epochs", 1, "--sync-bn", *FAST, "--out", tmp_path / "run")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SyncBatchNorm" in done.stdout
    bad = train(2, "--data-dir", cifar_root, "--epochs", "-1")
    assert bad.returncode != 0 and bad.stderr.count("--epochs") == 1 and "Traceback" not in bad.stderr


@needs_mpi
@pytest.mark.parametrize("fault", ["raise", "kill", "hang"])
def test_a_rank_that_fails_stops_every_rank_with_a_message(cifar_root, tmp_path, fault):
    import time
    start = time.monotonic()
    done = train(2, "--data-dir", cifar_root, "--epochs", 3, *FAST, "--dist-timeout", 5, "--out", tmp_path / "run",
                 env={"TEST_FAULT": f"{fault}:1:2"}, timeout=120)
    assert done.returncode != 0
    assert time.monotonic() - start < 90                               # no hang
    if fault == "raise":
        assert "rank 1: stopping every rank after the error above" in done.stderr
        assert "planted fault at step 2" in done.stderr
    if fault == "hang":
        assert "no answer from the other ranks within 5 s in all-reduce" in done.stderr
    assert not (tmp_path / "run" / "last.npz").exists() or not [
        p for p in (tmp_path / "run").iterdir() if p.suffix == ".tmp"]


def test_nccl_dtypes_are_named_and_others_refused():
    from types import SimpleNamespace
    fake = SimpleNamespace(NCCL_FLOAT32=7, NCCL_FLOAT64=8, NCCL_FLOAT16=6, NCCL_INT32=2, NCCL_INT64=4, NCCL_UINT8=1)
    assert distributed.communicator.nccl_dtype(fake, np.dtype("float32")) == 7
    assert distributed.communicator.nccl_dtype(fake, np.dtype("int64")) == 4
    with pytest.raises(distributed.DistributedError, match="NCCL cannot reduce complex128"):
        distributed.communicator.nccl_dtype(fake, np.dtype("complex128"))


@needs_mpi
@pytest.mark.skipif(tc.gpu_available(), reason="checks the message on a machine without a GPU")
def test_gpu_ranks_without_a_gpu_say_so_once(cifar_root, tmp_path):
    done = train(2, "--data-dir", cifar_root, "--device", "gpu", "--out", tmp_path / "run", *FAST)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    said, by_rank_1 = done.stderr.count("error: the GPU"), done.stderr.count("rank 1: error: the GPU")
    # each rank says it before it stops the job, so at least one says it, and none twice (the first
    # to stop the job may stop the other before it speaks)
    assert said >= 1 and said - by_rank_1 <= 1 and by_rank_1 <= 1


@needs_mpi
@pytest.mark.parametrize("where", ["pause:1:3", "pause-eval:1:1"])
def test_a_signal_to_one_rank_stops_every_rank_cleanly(cifar_root, tmp_path, where):
    """SIGTERM reaching rank 1 alone (mid-step, or while the ranks evaluate) stops both ranks at the
    same step, with a checkpoint to resume from; no rank waits for the other."""
    import signal
    import time
    marker, out = tmp_path / "marker", tmp_path / "run"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "TEST_FAULT": where,
                   "TEST_MARKER": str(marker)}
    job = subprocess.Popen([find_mpiexec(), "-n", "2", sys.executable, str(DRIVER), "--data-dir", str(cifar_root),
                            "--epochs", "3", *map(str, FAST), "--dist-timeout", "30", "--out", str(out)],
                           cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "the paused rank never wrote its marker"
    os.kill(int(marker.read_text()), signal.SIGTERM)
    stdout, stderr = job.communicate(timeout=120)
    assert job.returncode == 128 + signal.SIGTERM, stderr[-3000:]     # every rank: saved, but not done
    assert "no answer from the other ranks" not in stderr
    assert "stopped" in stdout and (out / "last.npz").exists()
    done = train(2, "--data-dir", cifar_root, "--epochs", 3, *FAST, "--resume", out / "last.npz")
    assert done.returncode == 0, done.stderr[-3000:]
    assert [r["epoch"] for r in metrics_of(out)] == [1, 2, 3]


@needs_mpi
def test_an_mpiexec_of_another_mpi_is_refused():
    """A launcher that started 2 processes while MPI sees a world of 1 (another MPI's mpiexec):
    refused, instead of every process training the whole job alone."""
    done = subprocess.run([sys.executable, "-c", "from tinycoat import distributed; distributed.init()"],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "OMPI_COMM_WORLD_SIZE": "2"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "this mpiexec belongs to another MPI than mpi4py's" in done.stderr


class TwoIdenticalRanks:
    """A world of two ranks that hold the same values: every sum doubles."""
    rank, size = 0, 2

    def allreduce_sum(self, array):
        array *= 2
        return array

    def allreduce_sum_ints(self, values):
        return [2 * int(v) for v in values]


def test_a_parameter_no_rank_reached_keeps_no_gradient():
    from tinycoat.nn import Linear
    used, unused = Linear(3, 2).double(), Linear(3, 2).double()
    used(tc.tensor(np.ones((1, 3)))).sum().backward()
    before = used.weight.grad.data.copy()
    distributed.all_reduce_gradients(list(used.parameters()) + list(unused.parameters()), TwoIdenticalRanks())
    np.testing.assert_array_equal(used.weight.grad.data, 2 * before)
    assert unused.weight.grad is None and unused.bias.grad is None     # AdamW skips it, as in one process
