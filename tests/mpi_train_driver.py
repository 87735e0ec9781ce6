"""train_cifar.main(argv) under mpiexec, with one planted fault chosen by TEST_FAULT:
  raise:R:K   rank R raises at its K-th training step
  kill:R:K    rank R SIGKILLs itself at its K-th training step (a crashed machine)
  hang:R:K    rank R sleeps for an hour at its K-th training step (a stuck rank)
"""
import importlib.util
import os
import pathlib
import signal
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("train_cifar", ROOT / "train_cifar.py")
train_cifar = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train_cifar)

if os.environ.get("TEST_FAULT"):
    kind, rank, step = os.environ["TEST_FAULT"].split(":")
    rank, step, calls = int(rank), int(step), [0]
    from tinycoat import distributed
    cross_entropy = train_cifar.F.cross_entropy

    def faulty(*args, **kwargs):
        calls[0] += 1
        if calls[0] == step and distributed.launcher_rank() == rank:
            if kind == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if kind == "hang":
                time.sleep(3600)
            raise RuntimeError(f"planted fault at step {step}")
        return cross_entropy(*args, **kwargs)
    train_cifar.F.cross_entropy = faulty

sys.exit(train_cifar.main(sys.argv[1:]))
