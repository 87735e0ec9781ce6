#!/usr/bin/env bash
# Issue 18's GPU figures in one run, for a machine with CuPy, a CUDA device and (optionally) PyTorch:
#   1. the GPU tests of the launch-saving work: CUDA graphs (tests/test_cuda_graph.py: graphed steps
#      train as eager ones, drop-path masks change per replay, the direct cuBLAS product), the GPU
#      twins (the multi-tensor AdamW and clipping among them), the kernels, the optimizers;
#   2. benchmarks/train_step.py, eager and --cuda-graph in turn (nano at batch 128 twice round,
#      tiny at 128, nano at 512): images/s, host time per step, and the graph's kernel count;
#      with BASE=<another checkout> (the commit before a change: `git worktree add`, carried along),
#      nano's eager step on this checkout and on that one in turn, twice: the change A/B-measured;
#   3. with Nsight Compute (ncu): the GPU time of one nano step by kind of kernel, matrix products
#      against the rest (benchmarks/kernel_times.py), eager and as a graph;
#   4. where PyTorch imports: benchmarks/vs_pytorch.py on the GPU (tinycoat eager and graphed,
#      PyTorch eager, torch.compile, torch.compile with CUDA graphs), batch 128 and 512;
#   5. with FASHION_MNIST=<folder of its four .gz files>: 2 epochs of train_cifar.py --cuda-graph,
#      end to end (loading, augmentation, host→GPU copies, evaluation included).
# Each step has its own time limit, so one that hangs still leaves the others' figures. Everything
# it prints is also written under $OUT (default: ./gpu_graph_check). About 14 minutes on an H200 in
# all; STEPS picks some (default "tests bench ncu torch train"), e.g. in two 10-minute slots:
#
#     STEPS="tests bench ncu" bash benchmarks/gpu_graph_check.sh
#     STEPS="torch train" FASHION_MNIST=data/fashion-mnist bash benchmarks/gpu_graph_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu_graph_check}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 CI=true
python3 benchmarks/device_info.py 2>&1 | tee "$out/device.txt" || exit 1
steps=" ${STEPS:-tests bench ncu torch train} "
want() { [[ "$steps" == *" $1 "* ]]; }

if want tests; then
    parallel=""
    python3 -c "import xdist" 2>/dev/null && parallel="-n ${TEST_WORKERS:-8}"
    start=$(date +%s)
    timeout "${TEST_TIMEOUT:-180}" python3 -m pytest -q -p no:cacheprovider $parallel -rfE tests/test_cuda_graph.py \
        tests/test_fast_twins.py tests/test_cuda_kernels.py tests/test_optim.py 2>&1 | tee "$out/tests.txt"
    # the GPU cases of the general tests (versions, in-place operators, cross-entropy's weights, clone)
    timeout "${TEST_TIMEOUT:-180}" python3 -m pytest -q -p no:cacheprovider $parallel -rfE -k gpu \
        tests/test_autograd.py tests/test_functional_activations.py tests/test_ops_grad.py 2>&1 | tee -a "$out/tests.txt"
    echo "tests: $(( $(date +%s) - start )) s" | tee -a "$out/tests.txt"
fi

bench() {
    # the script puts its own checkout first on sys.path: TREE=<checkout> picks which one runs
    timeout "${BENCH_TIMEOUT:-90}" python3 "${TREE:-$PWD}/benchmarks/train_step.py" --device gpu --repeats 10 \
        --no-breakdown "$@" 2>&1 | tee -a "$out/benchmark.txt"
}
if want bench; then
    for round in 1 2; do
        echo "round $round" | tee -a "$out/benchmark.txt"
        bench --model coatnet_cifar_nano --batch-size 128
        bench --model coatnet_cifar_nano --batch-size 128 --cuda-graph
    done
    bench --model coatnet_cifar_tiny --batch-size 128
    bench --model coatnet_cifar_tiny --batch-size 128 --cuda-graph
    bench --model coatnet_cifar_nano --batch-size 512
    bench --model coatnet_cifar_nano --batch-size 512 --cuda-graph
    if [ -n "${BASE:-}" ]; then   # A/B in one run: nano's eager step on this checkout and on $BASE, in turn
        for round in 1 2; do
            for tree in "$PWD" "$BASE"; do
                echo "A/B round $round: $tree" | tee -a "$out/benchmark.txt"
                TREE="$tree" bench --model coatnet_cifar_nano --batch-size 128
            done
        done
    fi
fi

if want ncu && command -v ncu >/dev/null; then   # GPU time by kind of kernel (matrix products or not), one step under ncu
    for graph in "" "--cuda-graph"; do
        timeout "${NCU_TIMEOUT:-150}" python3 benchmarks/kernel_times.py --model coatnet_cifar_nano --batch-size 128 \
            $graph 2>&1 | tee -a "$out/kernel_times.txt"
    done
fi

if want torch && python3 -c "import torch" 2>/dev/null; then
    timeout "${TORCH_TIMEOUT:-240}" python3 benchmarks/vs_pytorch.py --device gpu --batch-sizes 128 512 \
        --compile --steps 10 --rounds 2 2>&1 | tee "$out/vs_pytorch.txt"
fi

if want train && [ -n "${FASHION_MNIST:-}" ]; then
    timeout "${TRAIN_TIMEOUT:-150}" python3 train_cifar.py --dataset fashion-mnist --data-dir "$FASHION_MNIST" \
        --no-download --device gpu --cuda-graph --epochs 2 --warmup 0.5 --batch-size 128 --no-progress \
        --out "${TMPDIR:-/tmp}/tinycoat-graph-run" --overwrite 2>&1 | tee "$out/train.txt"
fi
