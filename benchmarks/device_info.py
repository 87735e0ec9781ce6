"""One line on the GPU the checks run on (CuPy's version, the device, CUDA's runtime), and PyTorch's
version if it is installed: the head of what benchmarks/gpu_check.sh and gpu_graph_check.sh write."""
import cupy

from tinycoat import backend

print("CuPy", cupy.__version__, "on", backend.gpu_name(), "CUDA runtime", cupy.cuda.runtime.runtimeGetVersion())
try:
    import torch
    print("PyTorch", torch.__version__)
except ImportError:
    print("no PyTorch")
