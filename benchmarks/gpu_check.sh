#!/usr/bin/env bash
# Issue 7's GPU checks in one run, for a machine with CuPy and a CUDA device: the whole test
# suite (its GPU variants run there: kernels against the CPU path, a step that never waits for
# the GPU, TF32), then the training-step benchmark of both CIFAR models, float32 and --tf32.
# Nothing is installed: it expects CuPy, NumPy, pytest, Hypothesis, Pillow and tqdm in python3.
# Everything it prints is also written under $OUT (default: ./gpu_check).
#
#     bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu_check}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 CI=true
python3 - <<'PY' 2>&1 | tee "$out/device.txt" || exit 1
import cupy
name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
name = name.decode() if isinstance(name, bytes) else name
print("CuPy", cupy.__version__, "on", name, "CUDA runtime", cupy.cuda.runtime.runtimeGetVersion())
PY
timeout "${TEST_TIMEOUT:-300}" python3 -m pytest -q -p no:cacheprovider tests 2>&1 | tee "$out/tests.txt"
for model in coatnet_cifar_nano coatnet_cifar_tiny; do
    for flags in "" "--tf32"; do
        timeout 180 python3 benchmarks/train_step.py --device gpu --model "$model" --batch-size 128 \
            --repeats 10 $flags 2>&1 | tee -a "$out/benchmark.txt"
    done
done
