#!/usr/bin/env bash
# Issue 7's GPU checks in one run, for a machine with CuPy and a CUDA device:
#   1. the whole test suite (its GPU variants run there: every GPU twin against its reference, a
#      step that never waits for the GPU, TF32), in parallel when pytest-xdist is installed;
#   2. the training-step benchmark of both CIFAR models, float32, --tf32 and --amp, at batch 128,
#      and nano at batch 512 (a GPU at batch 128 waits on Python's kernel launches), with the
#      fast wing; and nano on the reference ops alone (--reference);
#      With BASE=<another checkout> (an older commit, say), nano's benchmark runs on this
#      checkout and on that one in turn, twice: a speed comparison on one machine in one run.
#   3. with FASHION_MNIST=<folder of its four .gz files>: TRAIN_EPOCHS (2) of train_cifar.py on it,
#      the whole path (loader, augmentation, host→GPU copies, evaluation) end to end.
#   4. data parallel on the GPU (issue 16), where mpi4py and mpiexec are there (WHEELS=<folder of
#      mpi4py and mpich wheels> installs them offline; `pip download mpi4py mpich -d wheelhouse`
#      here, then carry wheelhouse/): one NCCL rank against the plain GPU step
#      (benchmarks/data_parallel.py), twice in turn. (NCCL refuses two ranks on one GPU, so a
#      multi-rank GPU run needs a machine with several.)
# Nothing is installed: it expects CuPy, NumPy, pytest, Hypothesis, Pillow and tqdm in python3.
# Each step has its own time limit, so one that hangs still leaves the others' figures.
# Everything it prints is also written under $OUT (default: ./gpu_check).
#
#     bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu_check}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 CI=true
python3 benchmarks/device_info.py 2>&1 | tee "$out/device.txt" || exit 1

parallel=""
python3 -c "import xdist" 2>/dev/null && parallel="-n ${TEST_WORKERS:-12}"
start=$(date +%s)
timeout "${TEST_TIMEOUT:-240}" python3 -m pytest -q -p no:cacheprovider $parallel -rfE --durations=15 tests \
    2>&1 | tee "$out/tests.txt"
echo "tests: $(( $(date +%s) - start )) s" | tee -a "$out/tests.txt"

run_bench() {
    # the script puts its own checkout first on sys.path: TREE=<checkout> picks which one runs
    timeout "${BENCH_TIMEOUT:-90}" python3 "${TREE:-$PWD}/benchmarks/train_step.py" --device gpu --repeats 10 "$@" \
        2>&1 | tee -a "$out/benchmark.txt"
}
run_bench --model coatnet_cifar_nano --batch-size 128 --cprofile 25   # where the host's time goes
run_bench --model coatnet_cifar_nano --batch-size 128 --tf32 --no-breakdown
run_bench --model coatnet_cifar_nano --batch-size 128 --amp
run_bench --model coatnet_cifar_tiny --batch-size 128
run_bench --model coatnet_cifar_tiny --batch-size 128 --tf32 --no-breakdown
run_bench --model coatnet_cifar_tiny --batch-size 128 --amp --no-breakdown
run_bench --model coatnet_cifar_nano --batch-size 512 --no-breakdown
run_bench --model coatnet_cifar_nano --batch-size 512 --amp --no-breakdown
run_bench --model coatnet_cifar_nano --batch-size 128 --reference --no-breakdown   # the reference tier alone
if [ -n "${BASE:-}" ]; then   # A/B in one run: the same benchmark on this checkout and on $BASE, in turn
    for round in 1 2; do
        for tree in "$PWD" "$BASE"; do
            echo "A/B round $round: $tree" | tee -a "$out/benchmark.txt"
            TREE="$tree" run_bench --model coatnet_cifar_nano --batch-size 128 --no-breakdown
        done
    done
fi

if [ -n "${FASHION_MNIST:-}" ]; then
    timeout "${TRAIN_TIMEOUT:-150}" python3 train_cifar.py --dataset fashion-mnist --data-dir "$FASHION_MNIST" \
        --no-download --device gpu --epochs "${TRAIN_EPOCHS:-2}" --warmup 0.5 --batch-size 128 --no-progress \
        --out "${TMPDIR:-/tmp}/tinycoat-gpu-run" 2>&1 | tee "$out/train.txt"
fi

# 4. Data parallel on the GPU: NCCL with one rank against the plain step.
if [ -n "${WHEELS:-}" ]; then
    python3 -m pip install -q --no-index --find-links "$WHEELS" mpi4py mpich 2>&1 | tail -2 | tee "$out/dist.txt"
fi
mpiexec="$(dirname "$(python3 -c 'import sys; print(sys.executable)')")/mpiexec"
[ -x "$mpiexec" ] || mpiexec="$(command -v mpiexec || true)"
if python3 -c "import mpi4py" 2>/dev/null && [ -n "$mpiexec" ]; then
    for round in 1 2; do
        timeout 90 python3 benchmarks/data_parallel.py --device gpu --steps 20 2>&1 | tail -2 | tee -a "$out/dist.txt"
        timeout 90 "$mpiexec" -n 1 python3 benchmarks/data_parallel.py --device gpu --steps 20 --communicator mpi \
            2>&1 | tail -2 | tee -a "$out/dist.txt"
    done
else
    echo "data parallel: mpi4py or mpiexec missing (WHEELS=<folder> installs them offline)" | tee -a "$out/dist.txt"
fi
