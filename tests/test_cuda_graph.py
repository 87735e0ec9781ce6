"""CUDA graphs of a training step (tinycoat/fast/cuda_graph.py) and the matrix products they can
capture (tinycoat/fast/gemm.py).

Without a GPU: gemm.py's plan — which operand cuBLAS reads first, transposed or not, with which
leading dimensions and batch strides — is carried out here as cuBLAS would carry it out, reading
the operands' memory by columns, and must give a @ b for Hypothesis-drawn shapes, transposed and
strided operands and broadcast batch axes; CudaGraphStep's bookkeeping (warm-up, recording,
replays, the eager steps between them, recording anew, giving up with a reason) runs against a
simulated graph; CudaGraphStep runs its function on the CPU; and train_cifar.py refuses
--cuda-graph where it cannot apply. On a GPU: graphed steps train exactly
as eager ones, a batch of another shape runs eagerly, drop-path draws new masks at every replay,
and the direct cuBLAS product equals CuPy's.
"""
import contextlib
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat import optim
from tinycoat.fast import gemm
from tinycoat.fast.cuda_graph import CudaGraphStep
from tinycoat.models import create_model
from tinycoat.nn import functional as F

ROOT = pathlib.Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ the product's plan, as cuBLAS reads it

def column_major(flat, base, rows, cols, ld):
    """The rows×cols matrix stored by columns at flat[base:] with leading dimension ld, as cuBLAS reads it."""
    assert ld >= max(1, rows), f"leading dimension {ld} below the {rows} rows"
    assert base + (rows - 1) + (cols - 1) * ld < flat.size, "the matrix would reach past its array"
    return np.lib.stride_tricks.as_strided(flat[base:], (rows, cols), (flat.itemsize, ld * flat.itemsize))


def like_cublas(p: gemm.Plan):
    """What cublas<t>gemmStridedBatched computes with plan p: for every matrix i of the batch,
    C_i = op(first_i) op(second_i), m×n, stored by columns with leading dimension ldc."""
    first, second = p.first.storage.ravel(), p.second.storage.ravel()
    assert p.first.storage.flags.c_contiguous and p.second.storage.flags.c_contiguous
    out = np.zeros(p.batch * p.m * p.n)
    for i in range(p.batch):
        stored = (p.k, p.m) if p.first.transposed else (p.m, p.k)
        a = column_major(first, i * p.first.batch_stride, *stored, p.ld_first)
        stored = (p.n, p.k) if p.second.transposed else (p.k, p.n)
        b = column_major(second, i * p.second.batch_stride, *stored, p.ld_second)
        c = (a.T if p.first.transposed else a) @ (b.T if p.second.transposed else b)
        assert c.shape == (p.m, p.n)
        column_major(out, i * p.m * p.n, p.m, p.n, p.ldc)[...] = c   # (a writable view of out)
    return out.reshape(p.out_shape)


@st.composite
def operands(draw):
    """a (..., m, k) and b (..., k, n): batch axes that broadcast, each operand plain, the transpose
    of a stored array, or a strided slice of one."""
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(st.lists(st.integers(1, 3), min_size=0, max_size=2))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))

    def one(rows, cols):
        own = [draw(st.sampled_from([size, 1])) for size in batch][draw(st.integers(0, len(batch))):]
        shape = tuple(own) + (rows, cols)
        kind = draw(st.sampled_from(["plain", "transposed", "strided"]))
        if kind == "transposed":
            return np.swapaxes(rng.standard_normal(shape[:-2] + (cols, rows)), -1, -2)
        if kind == "strided":
            return rng.standard_normal(shape[:-1] + (2 * cols,))[..., ::2]
        return rng.standard_normal(shape)
    return one(m, k), one(k, n)


@given(pair=operands())
def test_the_plan_read_by_columns_is_the_product(pair):
    a, b = pair
    p = gemm.plan(a, b, np)
    np.testing.assert_allclose(like_cublas(p), a @ b, rtol=1e-12, atol=1e-12)


def test_the_plan_copies_nothing_it_can_read_in_place():
    """A row-major operand and the transpose of one are read where they lie; one matrix for a
    whole batch is read with batch stride 0."""
    w = np.ones((6, 4))
    cols = np.ones((4, 10))
    p = gemm.plan(w.T, np.ones((3, 6, 5)), np)          # Wᵀ @ a batch: Wᵀ read with the transpose flag
    assert p.second.transposed and np.shares_memory(p.second.storage, w) and p.second.batch_stride == 0
    assert p.first.batch_stride == 30 and p.batch == 3 and p.out_shape == (3, 4, 5)
    p = gemm.plan(np.ones((2, 10)), cols.T, np)
    assert p.first.transposed and np.shares_memory(p.first.storage, cols)


def test_the_plan_refuses_what_does_not_multiply():
    with pytest.raises(ValueError, match="do not align"):
        gemm.plan(np.ones((2, 3)), np.ones((4, 2)), np)
    with pytest.raises(ValueError, match="do not broadcast"):
        gemm.plan(np.ones((2, 2, 3)), np.ones((3, 3, 2)), np)


def test_the_product_twin_waits_for_a_capture():
    """Outside a capture the twin declines: CuPy's own product runs (and on the CPU NumPy's)."""
    a = np.ones((2, 3), dtype=np.float32)
    assert not gemm.accepts(a, a.T)
    with tc.fast.enabled():
        assert tc.twins.pick(tc.amp.matrix_product, "cpu", a, a.T) is tc.amp.matrix_product


# ------------------------------------------------------------------ CudaGraphStep on the CPU

def small_model(seed=0, drop_path=0.0):
    tc.manual_seed(seed)
    return create_model("coatnet_cifar_nano", num_classes=3, drop_path_rate=drop_path, layout="CCTT")


def test_on_the_cpu_every_call_runs_the_function_and_sets_the_gradients_anew():
    model = small_model()
    calls = []

    def gradients(x, y):
        calls.append(x.shape)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss, loss * 2
    step = CudaGraphStep(gradients, model, warmup=1)
    x = tc.randn(2, 3, 32, 32)
    y = tc.tensor(np.array([0, 2]))
    first = step(x, y)
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    second = step(x, y)                                   # not accumulated onto the first call's gradients
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-6, atol=1e-7)
    assert calls == [(2, 3, 32, 32)] * 2 and step.graph is None and step.replays == 0
    assert float(second[1].item()) == pytest.approx(2 * float(first[0].item()), rel=1e-6)


def test_graph_step_says_what_it_needs():
    model = small_model()
    with pytest.raises(ValueError, match="warmup"):
        CudaGraphStep(lambda x: x, model, warmup=0)
    with pytest.raises(TypeError, match="Tensors"):
        CudaGraphStep(lambda x: x, model)(np.ones(3))


class _Stream:
    ptr = 0

    def synchronize(self):
        pass


class _FakeCupy:
    """What CudaGraphStep asks of CuPy outside a recording: the current stream."""
    class cuda:
        @staticmethod
        def get_current_stream():
            return _Stream()


class _LooksOnGpu(tc.Tensor):
    """An input that says it is on the GPU, so that CudaGraphStep takes its graph path."""
    @property
    def device(self):
        return "gpu"


class _SimulatedGraph(CudaGraphStep):
    """CudaGraphStep's bookkeeping on the CPU: "recording" runs fn once on the static inputs and
    keeps its arrays; a "replay" computes the same step again into those very arrays, as a real
    replay does."""
    recorded = 0

    def _capture(self, inputs):
        if getattr(self, "fail", None):
            raise RuntimeError(self.fail)
        self.static_inputs = [tc.Tensor(x.data.copy()) for x in inputs]
        self.arrays, self.modes = self._model_arrays(), self._modes()
        self.generator = tc.backend.generator("gpu")
        self._eager(self.static_inputs)
        outputs = self.fn(*self.static_inputs)
        grads = [(p, p.grad) for p in self.model.parameters() if p.grad is not None]

        def replay(stream=None):
            fresh = self._eager(self.static_inputs)
            for (p, g), q in zip(grads, [p.grad for p, _ in grads]):
                g.data[...] = q.data
            outputs.data[...] = fresh.data
        self.outputs, self.grads = outputs, grads
        self.graph = type("Graph", (), {"launch": staticmethod(replay)})()
        _SimulatedGraph.recorded += 1


def test_the_graph_steps_bookkeeping(monkeypatch):
    """Warm-up calls, then one recording, then replays that match eager steps; a batch of another
    shape or a module in eval() runs eagerly between replays; replaced arrays and a reseeded GPU
    generator record anew; a failed recording leaves eager steps for good, with the reason."""
    import tinycoat.fast.cuda_graph as cg
    monkeypatch.setattr(cg, "array_module", lambda device: _FakeCupy)
    generators = {"gpu": object(), "cpu": tc.backend.generator("cpu")}   # a stand-in for the GPU's
    monkeypatch.setattr(tc.backend, "generator", lambda device="cpu": generators[device])
    monkeypatch.setattr(cg, "_products_direct", lambda stream: contextlib.nullcontext())
    model = tc.nn.Linear(3, 2)

    def loss_of(x):
        loss = (model(tc.Tensor(x.data)) ** 2).mean()       # (the CPU's Tensor under the disguise)
        loss.backward()
        return loss
    step = _SimulatedGraph(loss_of, model)
    batch = lambda n, v: _LooksOnGpu(np.full((n, 3), v, dtype=np.float32))  # noqa: E731
    with tc.fast.enabled():
        for i in range(2):                                 # two eager warm-up steps
            step(batch(4, i))
        assert step.graph is None and _SimulatedGraph.recorded == 0
        loss = step(batch(4, 5.0))                         # recorded, then replayed
        assert step.graph is not None and step.replays == 1
        eager = loss_of(tc.Tensor(np.full((4, 3), 5.0, dtype=np.float32)))
        assert loss.item() == pytest.approx(eager.item())
        assert loss.data is not step.outputs.data          # a copy: the next replay overwrites the graph's
        step(batch(3, 1.0))                                # another shape: eagerly
        model.eval()
        step(batch(4, 1.0))                                # another mode: eagerly
        model.train()
        assert step.replays == 1
        step(batch(4, 2.0))
        assert step.replays == 2 and all(p.grad is g for p, g in step.grads)   # the recorded gradients back
        model.weight.data = model.weight.data.copy()       # replaced arrays: forget, warm up, record anew
        for i in range(3):
            step(batch(4, i))
        assert _SimulatedGraph.recorded == 2 and step.replays == 3
        step(batch(4, 3.0))
        assert step.replays == 4
        generators["gpu"] = object()                       # reseeded: forget, warm up, record anew
        for i in range(3):
            step(batch(4, i))
        assert _SimulatedGraph.recorded == 3 and step.replays == 5
        broken = _SimulatedGraph(loss_of, model)
        broken.fail = "cudaErrorStreamCaptureUnsupported"
        for i in range(4):
            broken(batch(4, i))
        assert broken.reason == "RuntimeError: cudaErrorStreamCaptureUnsupported" and broken.replays == 0
    with tc.fast.enabled(False):
        off = _SimulatedGraph(loss_of, model)
        off(batch(4, 1.0))
        assert "fast wing is off" in off.reason


@pytest.mark.parametrize("extra, message", [([], "--device gpu"), (["--device", "gpu", "--amp"], None),
                                            (["--reference"], "--device gpu")])
def test_train_cifar_refuses_cuda_graph_where_it_cannot_apply(tmp_path, extra, message):
    done = subprocess.run([sys.executable, str(ROOT / "train_cifar.py"), "--cuda-graph", "--epochs", "1",
                           "--out", str(tmp_path / "run"), *extra], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "--cuda-graph" in done.stderr and "Traceback" not in done.stderr
    if message:
        assert message in done.stderr


# ------------------------------------------------------------------ on a GPU

def _need_gpu(device):
    if device != "gpu":
        pytest.skip("CUDA graphs need a GPU; the plan and the CPU path are checked above")


def graphed_and_eager(steps, batches, drop_path=0.0):
    """Train two identical models for ``steps`` steps, one with CudaGraphStep:
    [(graph step or None, model, losses, each step's gradients)] for the graphed run, then the eager."""
    runs = []
    for graphed in (True, False):
        model = small_model(drop_path=drop_path).to("gpu")
        # SGD, not AdamW: Adam divides each gradient entry by its own running size, so an entry
        # near zero moves its weight by up to lr whatever its size, and the round-off by which a
        # graphed step's gradients may differ from an eager step's (cuBLAS may choose other
        # algorithms under capture) grows into weight differences of a few percent of lr. SGD moves
        # a weight by lr·g: equal gradients up to round-off give equal weights up to round-off.
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

        def gradients(x, y, model=model):
            loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
            loss.backward()
            optim.clip_grad_norm_(model.parameters(), 0.5)
            return loss
        step = CudaGraphStep(gradients, model) if graphed else None
        losses, grads = [], []
        with tc.fast.enabled():
            for i in range(steps):
                x, y = batches(i)
                loss = step(x, y) if graphed else _eager(model, gradients, x, y)
                losses.append(float(loss.item()))
                grads.append([p.grad.numpy() for p in model.parameters()])   # host copies: replays reuse the buffers
                opt.step()
        runs.append((step, model, losses, grads))
    return runs


def assert_same_training(graphed_run, eager_run):
    """Losses, every step's gradients (to round-off) and the weights agree."""
    (_, graphed, g_losses, g_grads), (_, eager, e_losses, e_grads) = graphed_run, eager_run
    np.testing.assert_allclose(g_losses, e_losses, rtol=1e-4, atol=1e-5)
    names = [name for name, _ in eager.named_parameters()]
    for i, (gs, es) in enumerate(zip(g_grads, e_grads)):
        # Round-off is measured against the step's largest gradient as well as each tensor's own:
        # some gradients are zero in exact arithmetic (a BatchNorm's β before a training-mode
        # BatchNorm, attention's key bias under the softmax) and hold only round-off (~1e-9),
        # which the graph's products (cuBLAS directly) and the eager ones (CuPy) make differently.
        floor = 1e-6 * max(float(np.abs(e).max()) for e in es)
        for name, g, e in zip(names, gs, es):
            np.testing.assert_allclose(g, e, rtol=1e-3, atol=max(1e-3 * float(np.abs(e).max()), floor),
                                       err_msg=f"step {i}, gradient of {name}")
    for a, b in zip(graphed.parameters(), eager.parameters()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-3, atol=1e-4)
    for a, b in zip(graphed.buffers(), eager.buffers()):     # BatchNorm's running statistics too
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-3, atol=1e-4)


def _eager(model, gradients, x, y):
    for p in model.parameters():
        p.grad = None
    return gradients(x, y)


def _batches(sizes):
    rng = np.random.default_rng(0)
    data = [(tc.tensor(rng.standard_normal((n, 3, 32, 32)).astype(np.float32), device="gpu"),
             tc.tensor(rng.integers(0, 3, n), device="gpu")) for n in sizes]
    return lambda i: data[i]


def test_graphed_steps_train_as_eager_steps(device):
    _need_gpu(device)
    graphed_run, eager_run = graphed_and_eager(6, _batches([4] * 6))
    step = graphed_run[0]
    assert step.reason is None and step.replays == 4           # 2 eager warm-up steps, then the graph
    assert step.node_counts().get("kernel", 0) > 100            # the whole step's kernels, one launch
    assert_same_training(graphed_run, eager_run)


def test_adamw_after_each_replay_applies_that_replays_gradients(device):
    """The graphed run above uses SGD (why: graphed_and_eager). AdamW, one launch over every
    parameter with the fast wing, must read the gradients each replay just wrote: its update after
    every step equals the reference rule (optim/adamw.py::adamw_update) on host copies."""
    _need_gpu(device)
    from tinycoat.optim.adamw import adamw_update
    model = small_model().to("gpu")
    opt = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)

    def gradients(x, y):
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss
    step, batches = CudaGraphStep(gradients, model), _batches([4] * 5)
    with tc.fast.enabled():
        for i in range(5):
            step(*batches(i))
            params = list(model.parameters())
            host = [[p.numpy().copy(), p.grad.numpy().copy(),
                     *(tc.backend.to_numpy(opt.state[p][k]).copy() if p in opt.state else np.zeros(p.shape, np.float32)
                       for k in ("exp_avg", "exp_avg_sq"))] for p in params]
            opt.step()
            for p, (w, g, m, v) in zip(params, host):
                adamw_update(w, g, m, v, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.05, step=i + 1)
                np.testing.assert_allclose(p.numpy(), w, rtol=1e-5, atol=1e-7, err_msg=f"step {i + 1}")
    assert step.reason is None and step.replays == 3


def test_a_batch_of_another_shape_runs_eagerly_between_replays(device):
    _need_gpu(device)
    graphed_run, eager_run = graphed_and_eager(7, _batches([4, 4, 4, 4, 3, 4, 4]))
    assert graphed_run[0].reason is None and graphed_run[0].replays == 4
    assert_same_training(graphed_run, eager_run)


def test_drop_path_draws_new_masks_at_every_replay(device):
    _need_gpu(device)
    model = small_model(drop_path=0.5).to("gpu")
    x, y = _batches([8])(0)

    def loss_of(x, y):
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss
    step = CudaGraphStep(loss_of, model)
    with tc.fast.enabled():
        losses = [float(step(x, y).item()) for _ in range(6)]   # the same batch, the same weights
    assert step.reason is None and step.replays == 4
    assert len(set(losses[2:])) > 1, f"every replay drew the same drop-path masks: {losses}"


@given(pair=operands())
def test_the_direct_cublas_product_equals_cupys(device, pair):
    _need_gpu(device)
    cupy = tc.backend.array_module("gpu")
    gemm.bind_stream(cupy.cuda.get_current_stream())
    for dtype in (np.float32, np.float64):
        a, b = (cupy.asarray(v.astype(dtype)) for v in pair)
        got = gemm.matrix_product(a, b)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(cupy.asnumpy(got), cupy.asnumpy(a @ b), rtol=tol, atol=tol)
