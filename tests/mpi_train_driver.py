"""train_cifar.main(argv) under mpiexec, with one planted fault chosen by TEST_FAULT:
  raise:R:K   rank R raises at its K-th training step
  kill:R:K    rank R SIGKILLs itself at its K-th training step (a crashed machine)
  hang:R:K    rank R sleeps for an hour at its K-th training step (a stuck rank)
  pause:R:K   rank R writes its pid to TEST_MARKER at its K-th training step and sleeps 3 s (the
              test signals that rank alone meanwhile)
  pause-eval:R:K   the same at rank R's K-th evaluation
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

def pause_here():
    with open(os.environ["TEST_MARKER"] + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(os.environ["TEST_MARKER"] + ".tmp", os.environ["TEST_MARKER"])
    time.sleep(3)


if os.environ.get("TEST_FAULT", "").startswith("pause-eval"):
    _, rank, nth = os.environ["TEST_FAULT"].split(":")
    evaluations, evaluate = [0], train_cifar.evaluate

    def pausing_evaluate(*args, **kwargs):
        evaluations[0] += 1
        from tinycoat import distributed
        if evaluations[0] == int(nth) and distributed.launcher_rank() == int(rank):
            pause_here()
        return evaluate(*args, **kwargs)
    train_cifar.evaluate = pausing_evaluate
elif os.environ.get("TEST_FAULT"):
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
            if kind == "pause":
                pause_here()
                return cross_entropy(*args, **kwargs)
            raise RuntimeError(f"planted fault at step {step}")
        return cross_entropy(*args, **kwargs)
    train_cifar.F.cross_entropy = faulty

sys.exit(train_cifar.main(sys.argv[1:]))
