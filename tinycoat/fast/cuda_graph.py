"""A training step's gradients as one CUDA graph: recorded once, then replayed every step.

On a GPU a small model's step is launch-bound: the host spends 10–60 µs issuing each of about a
thousand kernels while the GPU waits. A CUDA graph records the kernels of one step as the GPU
would run them (stream capture) and replays them all with a single call, so the host's cost per
step falls from a thousand launches to one. What a graph needs, and how this module gives it:

* **Fixed addresses.** A replay repeats the recorded kernels on the recorded memory. The inputs
  are copied into static buffers before each replay; every array the step allocates comes from a
  memory pool of the graph's own (nothing else allocates from it, so nothing else can overwrite
  what a replay writes); the parameters' gradients are the arrays the capture made, put back on
  the parameters after each replay.
* **No host work inside.** Whatever the host decides is frozen at capture: the step must not read
  values back (tinycoat's step never does: tests/test_cuda_kernels.py) and must not change from
  step to step. The optimizer's update does change (learning rate, bias corrections), so it is
  *not* captured: run ``optimizer.step()`` after each call (one launch with the fast wing).
* **Capturable calls only.** CuPy refuses cuBLAS during capture, so while capturing the fast
  wing's matrix products go to cuBLAS directly (gemm.py), and the multi-tensor kernels' address
  tables are copied from pinned host memory that lives as long as the graph (multi_tensor.py).

    step = CudaGraphStep(compute_gradients, model)   # compute_gradients(x, y) -> (loss, logits)
    for x, y in batches:
        loss, logits = step(x, y)                    # forward, backward, clipping: one launch
        optimizer.step()

The first ``warmup`` calls run eagerly (kernels compile, the optimizer's state appears); the next
one captures, and replays from then on. A call whose inputs have other shapes (the last, smaller
batch of an epoch), or made while a module's train()/eval() mode differs from the recorded one,
runs eagerly; one after the model's arrays were replaced (.to(), .double()) or the GPU's
generator was (manual_seed, backend.reseed) records anew (load_state_dict copies into the
arrays: a replay sees the new values). Where capture fails, the step
runs eagerly from then on and ``reason`` says why. On the CPU there are no graphs: every call
runs the function.
"""
from __future__ import annotations

import collections
import contextlib
import ctypes

from tinycoat import backend, twins
from tinycoat.backend import array_module
from tinycoat.tensor import Tensor

_capturing = False     # True while CudaGraphStep records: the twins that can be captured apply
_direct_products = False   # True from the last warm-up call on: products by gemm.py's own cuBLAS handle
_held = None           # host buffers the graph being captured reads at every replay


def capturing() -> bool:
    """True while a CudaGraphStep is recording a step."""
    return _capturing


def direct_products() -> bool:
    """True while matrix products go to cuBLAS directly (gemm.py): during a recording, and during the
    eager call before it, so that the handle's first use (and its numbers) is not inside the capture."""
    return _direct_products


def hold(buffer) -> None:
    """Keep ``buffer`` (pinned host memory a captured copy reads) alive as long as the graph."""
    if _held is None:
        raise RuntimeError("cuda_graph.hold: no CUDA graph is being captured")
    _held.append(buffer)


@contextlib.contextmanager
def _products_direct(stream):
    """Matrix products by gemm.py's handle, bound to ``stream``, inside the with."""
    global _direct_products
    from tinycoat.fast import gemm               # (loads cuBLAS through ctypes: only for graphs)
    gemm.bind_stream(stream)
    _direct_products = True
    try:
        yield
    finally:
        _direct_products = False


class CudaGraphStep:
    """``fn(*inputs)`` (Tensors in, a Tensor or a tuple of Tensors out; it computes the gradients
    of ``model``'s parameters) run as a CUDA graph on a GPU. Each call sets the gradients anew and
    returns fresh copies of fn's outputs."""

    def __init__(self, fn, model, warmup: int = 2):
        if warmup < 1:
            raise ValueError(f"CudaGraphStep: warmup must be >= 1 (one eager call at least), got {warmup}")
        self.fn, self.model, self.warmup = fn, model, warmup
        self.calls, self.shapes = 0, None
        self.graph = self.pool = self.stream = None
        self.reason = None             # why the step runs eagerly, once it is known that it must
        self.replays = 0

    # ------------------------------------------------------------------ the step
    def __call__(self, *inputs):
        if not all(isinstance(x, Tensor) for x in inputs):
            raise TypeError("CudaGraphStep: call it with Tensors, got "
                            + ", ".join(type(x).__name__ for x in inputs))
        if (inputs and inputs[0].device != "gpu") or self.reason is not None:
            return self._eager(inputs)
        if not twins.is_enabled():         # CuPy's products cannot be recorded; the wing's can
            self.reason = "the fast wing is off (tc.fast.enable()): its products and kernels are the recordable ones"
            return self._eager(inputs)
        if self.graph is not None and not self._same_state():
            self._forget()                 # the model's arrays were replaced (.to(), .double()), or the
                                           # GPU reseeded (manual_seed, reseed): record anew
        if self.graph is None:
            shapes = [(x.shape, x.dtype) for x in inputs]
            self.calls = self.calls + 1 if shapes == self.shapes else 1
            self.shapes = shapes
            if self.calls < self.warmup:   # record after `warmup` eager calls with these shapes
                return self._eager(inputs)
            if self.calls == self.warmup:  # the last one through the products a recording uses
                from tinycoat.fast.gemm import GemmError
                try:
                    with _products_direct(array_module("gpu").cuda.get_current_stream()):
                        return self._eager(inputs)
                except GemmError as error:  # cuBLAS could not be reached directly: no graphs, eager steps
                    self.reason = f"GemmError: {error}"
                return self._eager(inputs)
            failure = None
            try:
                self._capture(inputs)
            except Exception as error:     # noqa: BLE001 - any failure means: run eagerly, and say why
                failure = f"{type(error).__name__}: {error}"
            if failure is not None:        # (outside the except: its traceback holds the capture's arrays)
                self.reason = failure
                self._forget()
                return self._eager(inputs)
        if not self._fits(inputs) or self._modes() != self.modes:
            return self._eager(inputs)     # another shape (the last batch of an epoch), or eval(): eagerly
        for static, x in zip(self.static_inputs, inputs):
            static.data[...] = x.data
        self.graph.launch(stream=array_module("gpu").cuda.get_current_stream())
        self.replays += 1
        for p, g in self.grads:
            p.grad = g
        return self._copies(self.outputs)

    def _eager(self, inputs):
        for p in self.model.parameters():
            p.grad = None
        return self.fn(*inputs)

    # ------------------------------------------------------------------ recording
    def _capture(self, inputs):
        global _capturing, _held
        cupy = array_module("gpu")
        self.static_inputs = [Tensor(x.data.copy(), requires_grad=x.requires_grad) for x in inputs]
        self.arrays = self._model_arrays()
        self.modes = self._modes()                   # train() or eval(), module by module, as recorded
        self.generator = backend.generator("gpu")    # its state is on the GPU, read by the graph
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self.pool = cupy.cuda.MemoryPool()           # the graph's own: no one else allocates from it
        self.held = []
        self.stream.wait_event(cupy.cuda.get_current_stream().record())
        for p in self.model.parameters():
            p.grad = None
        with self.stream, cupy.cuda.using_allocator(self.pool.malloc), _products_direct(self.stream):
            self.stream.begin_capture()
            failure = None
            try:
                _capturing, _held = True, self.held
                outputs = self.fn(*self.static_inputs)
            except BaseException as error:           # noqa: BLE001 - the capture must end whatever happens
                failure = error
            finally:
                _capturing, _held = False, None
            try:
                graph = self.stream.end_capture()
            except Exception:
                if failure is None:
                    raise
            if failure is not None:                  # what broke the capture says more than end_capture
                raise failure
        self.outputs = outputs
        self.grads = [(p, p.grad) for p in self.model.parameters() if p.grad is not None]
        self.graph = graph
        cupy.get_default_memory_pool().free_all_blocks()   # the warm-up steps' arrays: the graph has its own

    def _forget(self):
        """Drop the graph and give its memory back, once no replay of it is still running."""
        if self.graph is not None or self.pool is not None:
            array_module("gpu").cuda.get_current_stream().synchronize()
            if self.stream is not None:
                self.stream.synchronize()
        for p in self.model.parameters():
            p.grad = None
        self.graph = self.outputs = self.grads = self.static_inputs = self.held = None
        if self.pool is not None:
            self.pool.free_all_blocks()              # (CuPy keeps a dropped pool's blocks otherwise)
        self.pool = self.stream = None
        self.calls, self.shapes = 0, None

    def node_counts(self) -> dict:
        """What the recorded step holds, by kind of node: {'kernel': launches, 'memcpy': ..., 'memset': ...}
        — the kernels an eager step issues one by one (CUDA driver: cuGraphGetNodes, cuGraphNodeGetType)."""
        if self.graph is None:
            return {}
        driver = ctypes.CDLL("libcuda.so.1")
        handle, count = ctypes.c_void_p(self.graph.graph), ctypes.c_size_t(0)
        if driver.cuGraphGetNodes(handle, None, ctypes.byref(count)) != 0:
            raise RuntimeError("cuGraphGetNodes failed")
        nodes = (ctypes.c_void_p * count.value)()
        if driver.cuGraphGetNodes(handle, nodes, ctypes.byref(count)) != 0:
            raise RuntimeError("cuGraphGetNodes failed")
        kinds = collections.Counter()
        names = {0: "kernel", 1: "memcpy", 2: "memset"}
        for node in nodes:
            kind = ctypes.c_int(-1)
            driver.cuGraphNodeGetType(ctypes.c_void_p(node), ctypes.byref(kind))
            kinds[names.get(kind.value, "other")] += 1
        return dict(kinds)

    # ------------------------------------------------------------------ checks and copies
    def _fits(self, inputs):
        return len(inputs) == len(self.static_inputs) and all(
            x.shape == s.shape and x.dtype == s.dtype for x, s in zip(inputs, self.static_inputs))

    def _model_arrays(self):
        return [t.data for t in (*self.model.parameters(), *self.model.buffers())]

    def _modes(self):
        return [m.training for m in self.model.modules()]

    def _same_state(self):
        # The recorded kernels read and write these very arrays, and the state of the generator
        # that was current when they were recorded: a new one would never be drawn from.
        return (all(a is b for a, b in zip(self._model_arrays(), self.arrays))
                and backend.generator("gpu") is self.generator)

    @staticmethod
    def _copies(outputs):
        """Fresh copies: the graph's own outputs are overwritten by the next replay."""
        if isinstance(outputs, Tensor):
            return Tensor(outputs.data.copy())
        return tuple(Tensor(o.data.copy()) if isinstance(o, Tensor) else o for o in outputs)
