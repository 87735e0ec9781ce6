"""The CUDA kernels of the fast wing (tinycoat/fast/cuda_kernels.py) against the reference tier.

Without a GPU: the kernel sources are compiled on the host by a C++ compiler (T = double,
and T = float, a plain loop for the GPU's grid-stride loop) and run through ctypes, so
their arithmetic and indexing are compared with the reference ops (the wing is off in the
tests unless a test switches it on) on Hypothesis-drawn shapes; and where nvcc is
installed, the same sources must compile for the device. On a GPU: a chain of the GPU
twins against the CPU reference, and a training step that never waits for the GPU.
(tests/test_fast_twins.py compares every GPU twin with its reference on the GPU itself.)
"""
import ctypes
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat.nn import functional as F
from tinycoat.fast import cuda_kernels as K
from test_functional_conv import conv_case

HOST_PRELUDE = """
#include <cmath>
using std::erfc; using std::exp; using std::fabs; using std::fmin; using std::isfinite; using std::sqrt; using std::tanh;
#define __global__
#define __device__
#define KERNEL_LOOP(i, n) for (long long i = 0; i < (n); ++i)
"""


C_TYPES = {"float64": "double", "float32": "float"}   # declared types besides the placeholder T


def typed_params(spec):
    """'T x, float64 count' -> [('T', 'x'), ('float64', 'count')]"""
    return [tuple(p.split()) for p in spec.split(",")]


def params(spec):
    """'T x, T mean' -> ['x', 'mean']"""
    return [name for _, name in typed_params(spec)]


def elementwise_as_function(name, prelude_loop):
    """An ElementwiseKernel body wrapped in a function over n entries of full-size arrays."""
    inputs, outputs, body = K.ELEMENTWISE[name]
    ins, outs = typed_params(inputs), typed_params(outputs)
    ctype = lambda t: C_TYPES.get(t, t)  # noqa: E731
    args = ", ".join([f"const {ctype(t)}* {p}_in" for t, p in ins] + [f"{ctype(t)}* {p}_out" for t, p in outs])
    load = " ".join(f"const {ctype(t)} {p} = {p}_in[i];" for t, p in ins)
    declare = " ".join(f"{ctype(t)} {p} = {p}_out[i];" for t, p in outs)  # CuPy's outputs are references
    store = " ".join(f"{p}_out[i] = {p};" for _, p in outs)
    return (f'extern "C" __global__ void {name}(long long n, {args}) {{\n'
            f"    {prelude_loop} {{ {load} {declare}\n{body}\n    {store} }}\n}}\n")


def source(ctype, device):
    loop = "KERNEL_LOOP(i, n)"
    text = f"typedef {ctype} T;\n" + (K.GPU_PRELUDE if device else HOST_PRELUDE) + K.WINDOWS + K.ROWS + K.MULTI_TENSOR
    return text + "".join(elementwise_as_function(name, loop) for name in K.ELEMENTWISE)


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """{dtype: ctypes library} of the kernels compiled for the host."""
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        pytest.skip("no C++ compiler (g++) to build the kernels on the host")
    libs = {}
    for dtype, ctype in (("float64", "double"), ("float32", "float")):
        folder = tmp_path_factory.mktemp(ctype)
        (folder / "kernels.cpp").write_text(source(ctype, device=False))
        subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-o", str(folder / "kernels.so"),
                        str(folder / "kernels.cpp")], check=True, capture_output=True)
        libs[dtype] = ctypes.CDLL(str(folder / "kernels.so"))
    return libs


def pointer(a):
    return a.ctypes.data_as(ctypes.c_void_p)


def run_elementwise(host, name, *inputs, outs=None):
    """Call the host build of an ElementwiseKernel: inputs broadcast to one shape, as CuPy does;
    T is the dtype of the first T input, other declared types are taken as declared.
    ``outs``: arrays the kernel updates in place (read, then written), else fresh ones."""
    spec_in, spec_out = (typed_params(s) for s in K.ELEMENTWISE[name][:2])
    t = next(np.asarray(a).dtype for a, (kind, _) in zip(inputs, spec_in) if kind == "T")
    inputs = [np.ascontiguousarray(a, dtype=t if kind == "T" else kind)
              for a, (kind, _) in zip(np.broadcast_arrays(*inputs), spec_in)]
    if outs is None:
        outs = [np.zeros(inputs[0].shape, dtype=t if kind == "T" else kind) for kind, _ in spec_out]
    getattr(host[str(t)], name)(ctypes.c_longlong(inputs[0].size), *map(pointer, inputs + outs))
    return outs


def run_window_kernel(host, name, arrays, out_shape, total, geometry):
    out = np.empty(out_shape, dtype=arrays[0].dtype)
    ints = [ctypes.c_int(v) for v in geometry]
    getattr(host[str(out.dtype)], name)(*[pointer(np.ascontiguousarray(a)) for a in arrays], pointer(out),
                                         ctypes.c_longlong(total), *ints)
    return out


@given(x=st.lists(st.floats(-12, 12), min_size=1, max_size=50), dtype=st.sampled_from(["float64", "float32"]))
def test_gelu_kernel_matches_numpy(host, x, dtype):
    x = np.array(x, dtype=dtype)
    xt = tc.tensor(x, requires_grad=True)
    y = F.gelu(xt)
    y.backward(tc.ones_like(y))
    y_k, slope_k = run_elementwise(host, "gelu_forward", x)
    (y_plain,) = run_elementwise(host, "gelu_forward_no_slope", x)
    # The kernel evaluates the reference's own erfc fit (erf.py), so only round-off separates
    # them: a fused multiply-add here, another order of operations there.
    tol = dict(rtol=1e-12, atol=1e-300) if dtype == "float64" else dict(rtol=1e-5, atol=1e-30)
    np.testing.assert_allclose(y_k, y.numpy(), **tol)
    np.testing.assert_allclose(y_plain, y.numpy(), **tol)
    # the slope Φ + xφ cancels near x ≈ −0.75: compare it to the size of its terms (|Φ| <= 1)
    np.testing.assert_allclose(slope_k, xt.grad.numpy(), rtol=tol["rtol"], atol=1e-14 if dtype == "float64" else 1e-6)


@given(x=st.lists(st.floats(-80, 30), min_size=1, max_size=50), dtype=st.sampled_from(["float64", "float32"]))
def test_silu_kernels_match_numpy(host, x, dtype):
    """Relative agreement also far below 0, where σ(x) ≈ e^x is tiny but not 0."""
    x = np.array(x, dtype=dtype)
    xt = tc.tensor(x, requires_grad=True)
    y = F.silu(xt)
    g = np.linspace(-1, 1, x.size).astype(dtype)
    y.backward(tc.tensor(g))
    y_k, s_k = run_elementwise(host, "silu_forward", x)
    (gx_k,) = run_elementwise(host, "silu_backward", g, x, s_k)
    tol = dict(rtol=1e-12, atol=1e-300) if dtype == "float64" else dict(rtol=1e-5, atol=1e-37)
    np.testing.assert_allclose(y_k, y.numpy(), **tol)
    np.testing.assert_allclose(gx_k, xt.grad.numpy(), **tol)


@given(data=st.data(), dtype=st.sampled_from(["float64", "float32"]))
def test_layer_norm_kernels_match_the_reference(host, data, dtype):
    """One thread per row: y, x̂ and 1/√(σ² + ε) forward, dL/dx backward, as F.layer_norm."""
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=0, max_size=2))) + (data.draw(st.integers(1, 9)),)
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    x = (rng.standard_normal(shape) * 3 + rng.standard_normal()).astype(dtype)
    w, b = rng.standard_normal((2, shape[-1])).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    xt, wt, bt = (tc.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.layer_norm(xt, (shape[-1],), wt, bt, eps=1e-5)
    y.backward(tc.tensor(g))
    rows, c = x.size // shape[-1], shape[-1]
    y_k, x_hat, inv_std, gx = (np.zeros(shape, dtype) for _ in range(4))
    inv_std = np.zeros(shape[:-1] + (1,), dtype)
    lib = host[dtype]
    lib.layer_norm_forward(pointer(x), pointer(w), pointer(b), pointer(y_k), pointer(x_hat), pointer(inv_std),
                           ctypes.c_longlong(rows), ctypes.c_int(c), ctypes.c_double(1e-5))
    lib.layer_norm_input_grad(pointer(g), pointer(x_hat), pointer(inv_std), pointer(w), pointer(gx),
                              ctypes.c_longlong(rows), ctypes.c_int(c))
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == "float64" else dict(rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(y_k, y.numpy(), **tol)
    np.testing.assert_allclose(x_hat / inv_std, x - x.mean(axis=-1, keepdims=True), **tol)   # x̂ = (x − μ)·inv_std
    np.testing.assert_allclose(gx, xt.grad.numpy(), **tol)


@given(data=st.data(), dtype=st.sampled_from(["float64", "float32"]))
def test_softmax_kernels_match_the_reference(host, data, dtype):
    """A thread per row: softmax forward and backward over the last axis, as F.softmax (big
    logits, which would overflow exp without the row's maximum taken off, among them)."""
    shape = tuple(data.draw(st.lists(st.integers(1, 3), min_size=0, max_size=2))) + (data.draw(st.integers(1, 9)),)
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    x = (rng.standard_normal(shape) * data.draw(st.sampled_from([1.0, 50.0, 1e3]))).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    xt = tc.tensor(x, requires_grad=True)
    y = F.softmax(xt, axis=-1)
    y.backward(tc.tensor(g))
    rows, n = x.size // shape[-1], shape[-1]
    y_k, gx = np.zeros(shape, dtype), np.zeros(shape, dtype)
    lib = host[dtype]
    lib.softmax_rows(pointer(x), pointer(y_k), ctypes.c_longlong(rows), ctypes.c_int(n))
    lib.softmax_rows_backward(pointer(g), pointer(y_k), pointer(gx), ctypes.c_longlong(rows), ctypes.c_int(n))
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y_k, y.numpy(), **tol)
    np.testing.assert_allclose(gx, xt.grad.numpy(), **tol)


def parameter_list(data, dtype):
    """1-5 arrays of Hypothesis-drawn shapes (empty ones and single entries among them)."""
    shapes = data.draw(st.lists(st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple), min_size=1, max_size=5))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes], rng


def host_table(lists, coefficients=()):
    """fast/multi_tensor.py's table for arrays in host memory: its parts, the entries' total and count."""
    from tinycoat.fast import multi_tensor
    values = multi_tensor.table(lists, coefficients, lambda a: a.ctypes.data)
    table = np.array(values, dtype=np.int64)
    count = len(lists[0])
    return int(values[count]), count, table, multi_tensor.table_parts(table, count, len(lists))


@given(data=st.data(), dtype=st.sampled_from(["float64", "float32"]))
def test_multi_tensor_adamw_kernel_matches_the_array_code(host, data, dtype):
    """One launch of adamw_each updates every parameter of a list as the reference loop does."""
    from tinycoat.fast import multi_tensor
    from tinycoat.optim.adamw import adamw_update_each
    params, rng = parameter_list(data, dtype)
    lr, wd = data.draw(st.sampled_from([1e-3, 0.1])), data.draw(st.sampled_from([0.0, 0.05]))
    ref = [[a.copy() for a in params], [np.zeros_like(a) for a in params], [np.zeros_like(a) for a in params]]
    kern = [[a.copy() for a in group] for group in ref]
    for _ in range(data.draw(st.integers(1, 3))):
        steps = data.draw(st.lists(st.integers(1, 6), min_size=len(params), max_size=len(params)))
        grads = [rng.standard_normal(a.shape).astype(dtype) for a in params]
        adamw_update_each(ref[0], grads, ref[1], ref[2], lr=lr, beta1=0.9, beta2=0.99, eps=1e-8,
                          weight_decay=wd, steps=steps)
        coefficients = multi_tensor.adamw_coefficients(lr, 0.9, 0.99, wd, steps)
        lists = [kern[0], grads, kern[1], kern[2]]
        total, count, table, parts = host_table(lists, coefficients)
        host[dtype].adamw_each(ctypes.c_longlong(total), *map(pointer, parts[:1]), ctypes.c_int(count),
                               *map(pointer, parts[1:]), ctypes.c_double(0.9), ctypes.c_double(0.99),
                               ctypes.c_double(1e-8))
    tol = dict(rtol=1e-12, atol=1e-15) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    for got_group, want_group, name in zip(kern, ref, ("p", "m", "v")):
        for got, want in zip(got_group, want_group):
            np.testing.assert_allclose(got, want, err_msg=name, **tol)


@given(data=st.data(), dtype=st.sampled_from(["float64", "float32"]),
       max_norm=st.sampled_from([1e-3, 0.5, 1e6]), bad=st.sampled_from([None, np.inf, np.nan]))
def test_multi_tensor_clipping_kernels_match_the_array_code(host, data, dtype, max_norm, bad):
    """sum_squares_each, the sum of its partials and clip_each rescale a list of gradients as
    optim/clip.py::clip_gradients_ does: by the global norm, and not at all where it is inf or NaN."""
    from tinycoat.fast import multi_tensor
    from tinycoat.optim.clip import clip_gradients_
    grads, _ = parameter_list(data, dtype)
    if bad is not None and grads[-1].size:
        grads[-1].flat[0] = bad
    want = [g.copy() for g in grads]
    want_norm = clip_gradients_(want, max_norm=max_norm, eps=1e-6)
    total, count, table, (starts, g_at, _) = host_table([grads])
    threads = multi_tensor._PARTIALS
    partial = np.empty(threads)
    lib = host[dtype]
    lib.sum_squares_each(ctypes.c_longlong(total), pointer(starts), ctypes.c_int(count), pointer(g_at),
                         pointer(partial), ctypes.c_longlong(threads))
    sum_squares = np.array(partial.sum())
    lib.clip_each(ctypes.c_longlong(total), pointer(starts), ctypes.c_int(count), pointer(g_at),
                  pointer(sum_squares), ctypes.c_double(max_norm), ctypes.c_double(1e-6))
    np.testing.assert_allclose(np.sqrt(sum_squares), want_norm, rtol=1e-12)
    tol = dict(rtol=1e-12, atol=0) if dtype == "float64" else dict(rtol=1e-6, atol=0)
    for got, ref in zip(grads, want):
        np.testing.assert_allclose(got, ref, **tol)
    if bad is None:                        # and the norm after is at most max_norm
        assert np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads)) <= max_norm * (1 + 1e-5)


@given(data=st.data())
def test_batch_norm_kernels_match_numpy(host, data):
    n, c, h, w = (data.draw(st.integers(1, 3)) for _ in range(4))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    x, g = rng.standard_normal((2, n, c, h, w))
    mean, scale, shift, a, b, cc = rng.standard_normal((6, 1, c, 1, 1))
    (y,) = run_elementwise(host, "batch_norm_apply", x, mean, scale, shift)
    np.testing.assert_allclose(y, (x - mean) * scale + shift, rtol=1e-14, atol=1e-14)
    (gx,) = run_elementwise(host, "batch_norm_input_grad", g, x, mean, a, b, cc)
    np.testing.assert_allclose(gx, g * a + (x - mean) * b + cc, rtol=1e-14, atol=1e-14)


@given(data=st.data(), dtype=st.sampled_from(["float64", "float32"]))
def test_batch_norm_per_channel_kernels_match_the_array_code(host, data, dtype):
    n, c, h, w = (data.draw(st.integers(1, 3)) for _ in range(4))
    if n * h * w == 1:
        n = 2                                    # the unbiased running variance needs 2 entries
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    x = (rng.standard_normal((n, c, h, w)) * 3 + rng.standard_normal((1, c, 1, 1)) * 5).astype(dtype)
    weight, bias = rng.standard_normal((2, c)).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    stats = [tc.tensor(rng.random(c).astype(dtype)) for _ in range(2)]
    start = [s.numpy().copy() for s in stats]
    xt, wt, bt = (tc.tensor(a, requires_grad=True) for a in (x, weight, bias))
    y = F.batch_norm(xt, *stats, wt, bt, training=True, momentum=0.1, eps=1e-5)
    y.backward(tc.tensor(g))
    # the kernels, fed with the sums the GPU path computes (shift k = the first sample's mean)
    axes, count, col = (0, 2, 3), n * h * w, lambda v: v.reshape(1, c, 1, 1)
    k = x[:1].mean(axis=axes, keepdims=True, dtype=np.float64).astype(dtype)
    d = (x - k).astype(np.float64)
    mean, var, inv_std, scale = run_elementwise(host, "batch_norm_statistics", d.sum(axes, keepdims=True),
                                                (d * d).sum(axes, keepdims=True), k, col(weight), count, 1e-5)
    running = [col(a.copy()) for a in start]
    run_elementwise(host, "batch_norm_running", mean, var, 0.9, 0.1, 0.1 * count / (count - 1), outs=running)
    sum_g = g.sum(axes, keepdims=True)
    sum_g_xhat, a, b, cc = run_elementwise(host, "batch_norm_grad_coefficients", sum_g,
                                           (g * (x - mean)).sum(axes, keepdims=True), inv_std, col(weight), count)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == "float64" else dict(rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose((x - mean) * scale + col(bias), y.numpy(), **tol)
    for got, ref in zip(running, stats):
        np.testing.assert_allclose(got.reshape(-1), ref.numpy(), **tol)
    np.testing.assert_allclose(a * g + b * (x - mean) + cc, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(sum_g_xhat.reshape(-1), wt.grad.numpy(), **tol)


@given(case=conv_case(depthwise=True, dilated=False), dtype=st.sampled_from(["float64", "float32"]))
def test_depthwise_kernels_match_numpy(host, case, dtype):
    x, w, _, stride, padding, _ = (np.asarray(v, dtype=dtype) if isinstance(v, np.ndarray) else v for v in case)
    xt, wt = tc.tensor(x, requires_grad=True), tc.tensor(w, requires_grad=True)
    y = F.depthwise_conv2d(xt, wt, stride=stride, padding=padding)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    y.backward(tc.tensor(g))
    (n, c, h, wd), (kh, kw), (ho, wo) = x.shape, w.shape[2:], y.shape[2:]
    geometry = (c, h, wd, ho, wo, kh, kw) + tuple(stride) + tuple(padding)
    assert K._geometry(x.shape, (ho, wo), (kh, kw), stride, padding) == geometry   # what the GPU passes
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == "float64" else dict(rtol=1e-4, atol=1e-4)
    y_k = run_window_kernel(host, "depthwise_forward", (x, w), y.shape, y.numpy().size, geometry)
    np.testing.assert_allclose(y_k, y.numpy(), **tol)
    gx_k = run_window_kernel(host, "depthwise_input_grad", (g, w), x.shape, x.size, geometry)
    np.testing.assert_allclose(gx_k, xt.grad.numpy(), **tol)
    partial = run_window_kernel(host, "depthwise_weight_grad", (g, x), (n, c, kh * kw), n * c * kh * kw, geometry)
    np.testing.assert_allclose(partial.sum(axis=0).reshape(w.shape), wt.grad.numpy(), **tol)


@given(case=conv_case(dilated=False), dtype=st.sampled_from(["float64", "float32"]))
def test_im2col_and_col2im_kernels_match_numpy(host, case, dtype):
    from tinycoat.nn.functional.im2col import col2im, im2col, output_size
    x, w, _, stride, padding, _ = (np.asarray(v, dtype=dtype) if isinstance(v, np.ndarray) else v for v in case)
    (n, c, h, wd), (kh, kw) = x.shape, w.shape[2:]
    ho, wo = output_size(h, wd, (kh, kw), stride, padding)
    geometry = (n, c, h, wd, ho, wo, kh, kw) + tuple(stride) + tuple(padding)
    cols = im2col(x, (kh, kw), stride, padding)
    cols_k = run_window_kernel(host, "im2col", (x,), cols.shape, cols.size, geometry)
    np.testing.assert_array_equal(cols_k, cols)                      # a copy: exactly the same
    dcols = np.random.default_rng(2).standard_normal((c, kh, kw, n, ho, wo)).astype(dtype)
    gx = col2im(lambda i, j: dcols[:, i, j].transpose(1, 0, 2, 3), x.shape, (kh, kw), stride, padding, like=dcols)
    gx_k = run_window_kernel(host, "col2im", (dcols,), x.shape, x.size, geometry)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gx_k, gx, **tol)


def test_kernels_compile_for_the_gpu(tmp_path):
    """nvcc (where installed) compiles every source, in both precisions, to device code."""
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc (the CUDA compiler) is not installed")
    for ctype in ("float", "double"):
        path = tmp_path / f"kernels_{ctype}.cu"
        path.write_text(source(ctype, device=True))
        done = subprocess.run([nvcc, "-ptx", "-arch=compute_80", str(path), "-o", str(path.with_suffix(".ptx"))],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        ptx = path.with_suffix(".ptx").read_text()
        for name in ("depthwise_forward", "depthwise_input_grad", "depthwise_weight_grad", "im2col", "col2im",
                     "layer_norm_forward", "layer_norm_input_grad", "softmax_rows", "softmax_rows_backward", "adamw_each", "sum_squares_each", "clip_each",
                     *K.ELEMENTWISE):
            assert f".entry {name}(" in ptx


# ------------------------------------------------------------------------------- on a GPU

def test_gpu_kernels_match_the_cpu_path(device):
    """The GPU twins (kernels) of conv2d, the depthwise conv, BatchNorm, GELU, SiLU, LayerNorm and
    softmax, chained, equal the reference ops on the CPU."""
    if device != "gpu":
        pytest.skip("the kernels run on a GPU only; the host build above checks them here")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 7, 6)).astype(np.float32)
    w = rng.standard_normal((4, 1, 3, 3)).astype(np.float32)
    dense = rng.standard_normal((4, 4, 3, 3)).astype(np.float32) * 0.3
    bn_w, bn_b = rng.standard_normal((2, 4)).astype(np.float32)

    def run(dev):
        xt = tc.tensor(x, requires_grad=True, device=dev)
        wt, dt = (tc.tensor(a, requires_grad=True, device=dev) for a in (w, dense))
        gw, gb = tc.tensor(bn_w, requires_grad=True, device=dev), tc.tensor(bn_b, requires_grad=True, device=dev)
        h = F.depthwise_conv2d(F.conv2d(xt, dt, padding=1), wt, stride=2, padding=1)
        h = F.silu(F.gelu(F.batch_norm(h, None, None, gw, gb, training=True)))
        h = F.softmax(F.layer_norm(h, (h.shape[-1],)), axis=-1) * tc.tensor(np.arange(h.shape[-1], dtype=np.float32),
                                                                        device=dev)
        h.backward(tc.ones_like(h))
        return [t.numpy() for t in (h, xt.grad, wt.grad, dt.grad, gw.grad, gb.grad)]
    assert K.available(tc.tensor(x, device="gpu").data)
    with tc.fast.enabled():
        on_gpu = run("gpu")
    for got, want in zip(on_gpu, run("cpu")):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("fast", [True, False], ids=["fast-wing", "reference"])
def test_a_training_step_never_waits_for_the_gpu(device, fast):
    """Forward, loss, backward, clipping and AdamW queue work on the GPU without reading
    anything back: a step that synchronized would make the host wait every step. With the
    fast wing's kernels, and on the reference ops alone."""
    if device != "gpu":
        pytest.skip("synchronization is a GPU matter")
    cupyx = pytest.importorskip("cupyx")
    if not hasattr(cupyx, "allow_synchronize"):
        pytest.skip("this CuPy has no cupyx.allow_synchronize to detect synchronization with")
    from tinycoat import optim
    from tinycoat.models import create_model
    tc.manual_seed(0)
    model = create_model("coatnet_cifar_nano", num_classes=10, drop_path_rate=0.1).to("gpu")
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    x = tc.randn(4, 3, 32, 32, device="gpu")
    y = tc.tensor(np.array([0, 3, 9, 5]), device="gpu")

    def step():
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss
    with tc.fast.enabled(fast):
        step()                                           # compiles the kernels
        with cupyx.allow_synchronize(False):
            loss = step()
    assert np.isfinite(loss.item())


def test_bad_labels_on_the_gpu_make_the_loss_nan(device):
    """On the CPU a label outside [0, K) is a ValueError (test_functional_activations);
    on the GPU, where checking would stall every step, the loss is NaN instead."""
    if device != "gpu":
        pytest.skip("the CPU raises instead (checked elsewhere)")
    logits = tc.zeros(2, 3, device="gpu")
    assert np.isnan(F.cross_entropy(logits, tc.tensor(np.array([0, 7]), device="gpu")).item())
    assert np.isfinite(F.cross_entropy(logits, tc.tensor(np.array([0, 2]), device="gpu")).item())
