"""The CUDA kernels of the fast wing's GPU twins: GELU, SiLU, BatchNorm's passes and per-channel
arithmetic, LayerNorm, softmax, the depthwise convolution, im2col/col2im, Σ a ⊙ b, and AdamW and clipping
over a whole list of parameters at once.

On a GPU, CuPy runs every array operation as its own kernel, one full pass over GPU
memory each: exact GELU written with arrays is about thirty passes, the depthwise
convolution two per kernel tap. The kernels here do each chain in one pass, one thread per
output element. The twins that launch them (activations.py, normalization.py, depthwise.py,
conv.py, channel_scale.py and multi_tensor.py beside this file) have the reference tier's array code
as their meaning (tinycoat/nn/functional/, optim/), and tests/test_fast_twins.py
compares each with it on a GPU.

Every source is plain CUDA C++ written against a type ``T`` and a loop macro
``KERNEL_LOOP(i, n)`` (a grid-stride loop on the GPU). So the very same text also
compiles on the host, with ``T`` = float or double and a plain ``for`` loop, and
``tests/test_cuda_kernels.py`` runs it there against the references: the kernels'
arithmetic and indexing are checked on machines without a GPU, and, where the CUDA compiler
``nvcc`` is installed, that the sources compile for the device.

Elementwise kernels (``ELEMENTWISE``) are CuPy ``ElementwiseKernel`` bodies: CuPy declares
the named inputs and outputs, broadcasts them (a (1, C, 1, 1) per-channel vector meets an
(N, C, H, W) activation), and wraps the body in the loop. An output is a reference to the
array passed for it, so a body may read it before writing it (BatchNorm's running statistics, in place).
"""
from __future__ import annotations

from tinycoat.backend import array_module, device_of
from tinycoat.nn.functional.activations import INV_SQRT2, INV_SQRT_2PI
from tinycoat.nn.functional.erf import ERFC_COEFFS


def _horner(coeffs, t):
    """C text of c0 + c1·t + ... + cn·tⁿ in erf.py's order (the top coefficient first), in type T."""
    text = f"(T){coeffs[-1]!r}"
    for c in reversed(coeffs[:-1]):
        text = f"({text} * {t} + (T){c!r})"
    return text


# Φ(x) = ½ erfc(−x/√2) with erf.py's fit, as the reference computes it (not CUDA's erfc, which
# is closer to the true erfc than the fit's 1.2e-7, and so not equal to the reference):
# z = |x|/√2, e = t·exp(−z² + P(t)) with t = 1/(1 + z/2), and erfc(−x/√2) = 2 − e for x > 0.
_GELU_CDF = f"""
        const T z = fabs(x) * (T){INV_SQRT2!r};
        const T t = (T)1 / ((T)1 + (T)0.5 * z);
        const T e = t * exp(-z * z + {_horner(ERFC_COEFFS, "t")});
        const T cdf = (T)0.5 * (x > 0 ? (T)2 - e : e);
"""

# name -> (inputs, outputs, body) of a cupy.ElementwiseKernel
ELEMENTWISE = {
    # y = x Φ(x) and slope = gelu'(x) = Φ(x) + x φ(x), φ the normal density
    "gelu_forward": ("T x", "T y, T slope", _GELU_CDF + f"""
        y = x * cdf;
        slope = cdf + x * (exp((T)-0.5 * x * x) * (T){INV_SQRT_2PI!r});
    """),
    "gelu_forward_no_slope": ("T x", "T y", _GELU_CDF + """
        y = x * cdf;
    """),
    # SiLU (squeeze-excitation's activation): y = x σ(x), and its gradient. σ as the reference's
    # logistic (ops/elementwise.py): with e = e^−|x| ≤ 1, σ = 1/(1 + e) for x ≥ 0 and e/(1 + e)
    # below, which keeps σ's digits far below 0 (½(1 + tanh(x/2)) rounds σ(−40) to 0).
    "silu_forward": ("T x", "T y, T s", """
        T e = exp(-fabs(x));
        s = (x >= (T)0 ? (T)1 : e) / ((T)1 + e);
        y = x * s;
    """),
    "silu_backward": ("T g, T x, T s", "T gx", """
        gx = g * s * ((T)1 + x * ((T)1 - s));
    """),
    # BatchNorm, training: y = (x − μ)·scale + shift, and the input gradient a·g + b·(x − μ) + c
    "batch_norm_apply": ("T x, T mean, T scale, T shift", "T y", """
        y = (x - mean) * scale + shift;
    """),
    "batch_norm_input_grad": ("T g, T x, T mean, T a, T b, T c", "T gx", """
        gx = g * a + (x - mean) * b + c;
    """),
    # BatchNorm's per-channel arithmetic, (1, C, 1, 1) arrays, one launch where the array code
    # makes about twenty tiny ones (fast/normalization.py::BatchNorm launches them).
    # Statistics from the shifted sums Σd, Σd² (float64) of d = x − k over count entries:
    "batch_norm_statistics": ("float64 sum_d, float64 sum_d2, T k, T weight, float64 count, float64 eps",
                              "T mean, T var, T inv_std, T scale", """
        const double mean_d = sum_d / count, v = sum_d2 / count - mean_d * mean_d;
        mean = (T)(k + mean_d);
        var = (T)(v > 0 ? v : 0);
        inv_std = (T)1 / sqrt(var + (T)eps);
        scale = weight * inv_std;
    """),
    # the running statistics, in place: r ← keep·r + w·value
    "batch_norm_running": ("T mean, T var, float64 keep, float64 mean_weight, float64 var_weight",
                           "T running_mean, T running_var", """
        running_mean = running_mean * (T)keep + (T)mean_weight * mean;
        running_var = running_var * (T)keep + (T)var_weight * var;
    """),
    # the backward's per-channel coefficients of dL/dx = a·g + b·(x − μ) + c, and Σ g ⊙ x̂
    "batch_norm_grad_coefficients": ("T sum_g, T sum_g_centered, T inv_std, T weight, float64 count",
                                     "T sum_g_xhat, T a, T b, T c", """
        sum_g_xhat = sum_g_centered * inv_std;
        a = weight * inv_std;
        b = a * inv_std * (sum_g_xhat / (T)(-count));
        c = a * (sum_g / (T)(-count));
    """),
}

# name -> (inputs, output, map, reduce, post-map, identity) of a cupy.ReductionKernel.
# dot_sum is Σ a ⊙ b over chosen axes in one pass. (CuPy's einsum, the CPU twins' tool, turns it
# into a batched matrix product: transposed copies of a and b, one 1×1 product per channel, and
# TF32's rounding of its inputs when TF32 is on; ``fast/normalization.py::_sum`` chooses.)
REDUCTIONS = {
    "dot_sum": ("T a, T b", "T total", "a * b", "a + b", "total = a", "0"),
}

# Windows of a convolution: x (N, C, H, W), a kh×kw kernel, stride (sh, sw), padding (ph, pw),
# output (Ho, Wo); output pixel (r, q) reads, through kernel tap (a, b), the input pixel
#     (r·sh − ph + a, q·sw − pw + b)        (zero where that falls in the padding).
# The depthwise convolution, y[n, c, r, q] = Σ_{a, b} w[c, a·kw + b] · x[n, c, row, col], is
# read three ways, and im2col / col2im (the dense conv2d's patches) two; every thread writes
# one entry, so no two threads ever add into the same place.
_GEOMETRY = "int C, int H, int W, int Ho, int Wo, int kh, int kw, int sh, int sw, int ph, int pw"
WINDOWS = """
// The outputs that read input pixel (row, col): visit(tap, r·Wo + q) for every kernel tap
// (a, b) and output (r, q) with r·sh − ph + a = row and q·sw − pw + b = col.
template <typename Visit>
__device__ inline void for_each_reader(int row, int col, int Ho, int Wo, int kh, int kw,
                                       int sh, int sw, int ph, int pw, Visit visit) {
    for (int a = 0; a < kh; ++a) {
        const int rs = row + ph - a;                          // = r·sh
        if (rs < 0 || rs % sh != 0 || rs / sh >= Ho) continue;
        for (int b = 0; b < kw; ++b) {
            const int qs = col + pw - b;                      // = q·sw
            if (qs < 0 || qs % sw != 0 || qs / sw >= Wo) continue;
            visit(a * kw + b, (rs / sh) * Wo + qs / sw);
        }
    }
}

// depthwise, one thread per output entry (n, c, r, q): the forward sum
extern "C" __global__ void depthwise_forward(const T* x, const T* w, T* y, long long total, GEOMETRY) {
    KERNEL_LOOP(i, total) {
        const int q = i % Wo, r = (i / Wo) % Ho;
        const long long nc = i / ((long long)Ho * Wo);
        const T* xc = x + nc * H * W;
        const T* wc = w + (nc % C) * kh * kw;
        T acc = 0;
        for (int a = 0; a < kh; ++a) {
            const int row = r * sh - ph + a;
            if (row < 0 || row >= H) continue;
            for (int b = 0; b < kw; ++b) {
                const int col = q * sw - pw + b;
                if (col >= 0 && col < W) acc += wc[a * kw + b] * xc[row * W + col];
            }
        }
        y[i] = acc;
    }
}

// depthwise, one thread per input entry (n, c, row, col): dL/dx gathers w · g over its readers
extern "C" __global__ void depthwise_input_grad(const T* g, const T* w, T* gx, long long total, GEOMETRY) {
    KERNEL_LOOP(i, total) {
        const int col = i % W, row = (i / W) % H;
        const long long nc = i / ((long long)H * W);
        const T* gc = g + nc * Ho * Wo;
        const T* wc = w + (nc % C) * kh * kw;
        T acc = 0;
        for_each_reader(row, col, Ho, Wo, kh, kw, sh, sw, ph, pw,
                        [&](int tap, int out) { acc += wc[tap] * gc[out]; });
        gx[i] = acc;
    }
}

// depthwise, one thread per (n, c, tap): that sample's share of dL/dw[c, tap] = Σ_{r, q} g · (the
// x it met); the shares are summed over n afterwards
extern "C" __global__ void depthwise_weight_grad(const T* g, const T* x, T* partial, long long total, GEOMETRY) {
    KERNEL_LOOP(i, total) {
        const int tap = i % (kh * kw), a = tap / kw, b = tap % kw;
        const long long nc = i / (kh * kw);
        const T* gc = g + nc * Ho * Wo;
        const T* xc = x + nc * H * W;
        T acc = 0;
        for (int r = 0; r < Ho; ++r) {
            const int row = r * sh - ph + a;
            if (row < 0 || row >= H) continue;
            for (int q = 0; q < Wo; ++q) {
                const int col = q * sw - pw + b;
                if (col >= 0 && col < W) acc += gc[r * Wo + q] * xc[row * W + col];
            }
        }
        partial[i] = acc;
    }
}

// im2col, one thread per entry of cols (C·kh·kw, N·Ho·Wo): row (c, a, b), column (n, r, q)
extern "C" __global__ void im2col(const T* x, T* cols, long long total, int N, GEOMETRY) {
    KERNEL_LOOP(i, total) {
        const int q = i % Wo, r = (i / Wo) % Ho;
        const long long column_block = i / ((long long)Ho * Wo);     // = (c·kh·kw + tap)·N + n
        const int n = column_block % N;
        const int tap = (column_block / N) % (kh * kw), c = column_block / N / (kh * kw);
        const int row = r * sh - ph + tap / kw, col = q * sw - pw + tap % kw;
        const bool inside = row >= 0 && row < H && col >= 0 && col < W;
        cols[i] = inside ? x[(((long long)n * C + c) * H + row) * W + col] : (T)0;
    }
}

// col2im, one thread per input entry (n, c, row, col): the sum of its slots' gradients,
// dcols laid out (C, kh·kw, N, Ho·Wo) as cols
extern "C" __global__ void col2im(const T* dcols, T* gx, long long total, int N, GEOMETRY) {
    KERNEL_LOOP(i, total) {
        const int col = i % W, row = (i / W) % H;
        const int c = (i / ((long long)H * W)) % C, n = i / ((long long)C * H * W);
        const long long plane = (long long)Ho * Wo;
        T acc = 0;
        for_each_reader(row, col, Ho, Wo, kh, kw, sh, sw, ph, pw,
                        [&](int tap, int out) { acc += dcols[(((long long)c * kh * kw + tap) * N + n) * plane + out]; });
        gx[i] = acc;
    }
}
""".replace("GEOMETRY", _GEOMETRY)

# Row by row over the last axis, one thread per row: LayerNorm (nn/functional/normalization.py has
# the math; the statistics in two passes over the row, sums in double, x̂ and y in a third) and
# softmax, where the array code makes about a dozen and five launches, each a pass over the whole
# activation.
ROWS = """
extern "C" __global__ void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, T* x_hat,
                                              T* inv_std, long long rows, int C, double eps) {
    KERNEL_LOOP(r, rows) {
        const T* xr = x + r * C;
        double sum = 0;
        for (int c = 0; c < C; ++c) sum += (double)xr[c];
        const double mean = sum / C;
        double squares = 0;
        for (int c = 0; c < C; ++c) { const double d = (double)xr[c] - mean; squares += d * d; }
        const double inv = 1.0 / sqrt(squares / C + eps);
        inv_std[r] = (T)inv;
        for (int c = 0; c < C; ++c) {
            const T h = (T)(((double)xr[c] - mean) * inv);
            x_hat[r * C + c] = h;
            y[r * C + c] = h * weight[c] + bias[c];
        }
    }
}

// softmax over the last axis (nn/functional/softmax.py), a thread per row of n: the maximum, the
// exponentials and their sum, the division; and its backward y ⊙ (g − Σ g ⊙ y)
extern "C" __global__ void softmax_rows(const T* x, T* y, long long rows, int n) {
    KERNEL_LOOP(r, rows) {
        const T* xr = x + r * n;
        T* yr = y + r * n;
        T top = xr[0];
        for (int j = 1; j < n; ++j) top = xr[j] > top ? xr[j] : top;
        double sum = 0;
        for (int j = 0; j < n; ++j) { const T e = exp(xr[j] - top); yr[j] = e; sum += e; }
        for (int j = 0; j < n; ++j) yr[j] = (T)(yr[j] / sum);
    }
}

extern "C" __global__ void softmax_rows_backward(const T* g, const T* y, T* gx, long long rows, int n) {
    KERNEL_LOOP(r, rows) {
        const T* gr = g + r * n;
        const T* yr = y + r * n;
        double dot = 0;
        for (int j = 0; j < n; ++j) dot += (double)gr[j] * yr[j];
        for (int j = 0; j < n; ++j) gx[r * n + j] = (T)(yr[j] * (gr[j] - dot));
    }
}

// dL/dx = inv_std · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)),  ĝ = γ ⊙ g, the means over the row
extern "C" __global__ void layer_norm_input_grad(const T* g, const T* x_hat, const T* inv_std, const T* weight,
                                                 T* gx, long long rows, int C) {
    KERNEL_LOOP(r, rows) {
        const T* gr = g + r * C;
        const T* hr = x_hat + r * C;
        double s = 0, sh = 0;
        for (int c = 0; c < C; ++c) { const double gh = (double)weight[c] * gr[c]; s += gh; sh += gh * hr[c]; }
        const double m = s / C, mh = sh / C, inv = (double)inv_std[r];
        for (int c = 0; c < C; ++c) gx[r * C + c] = (T)(inv * ((double)weight[c] * gr[c] - m - hr[c] * mh));
    }
}
"""


# Kernels over a whole *list* of tensors (the parameters or gradients of a model), one launch
# where a loop over the list makes one or more per tensor: the optimizer's tail of a step is
# hundreds of tensors of a few hundred numbers each, so its cost on a GPU is the launches.
# Entry i of the list's concatenation lies in tensor t with starts[t] <= i < starts[t + 1]; the
# tensors are reached through tables of their addresses (``long long``: CuPy's data pointers),
# which fast/multi_tensor.py builds and copies to the GPU in one transfer.
MULTI_TENSOR = """
// The tensor holding entry i: the last t with starts[t] <= i (binary search; an empty tensor has
// starts[t] == starts[t + 1], so the last such t is the one whose range holds i).
__device__ inline int tensor_of(long long i, const long long* starts, int count) {
    int lo = 0, hi = count - 1;
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        if (starts[mid] <= i) lo = mid; else hi = mid - 1;
    }
    return lo;
}

// AdamW (optim/adamw.py::adamw_update has the math) of every parameter in a list, in place:
//     m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
//     p <- p decay - step_size m / (sqrt(v) / bias2_root + eps)
// with, per tensor t (coef, float64, laid out (count, 3)): decay = 1 - lr wd,
// step_size = lr / (1 - b1^step), bias2_root = sqrt(1 - b2^step): the bias corrections folded
// into two scalars (the last bits of p may differ from the array code's).
extern "C" __global__ void adamw_each(long long total, const long long* starts, int count,
                                      const long long* p_at, const long long* g_at, const long long* m_at,
                                      const long long* v_at, const double* coef, double beta1, double beta2,
                                      double eps) {
    KERNEL_LOOP(i, total) {
        const int t = tensor_of(i, starts, count);
        const long long j = i - starts[t];
        T* p = (T*)p_at[t]; const T* g = (const T*)g_at[t]; T* m = (T*)m_at[t]; T* v = (T*)v_at[t];
        const T b1 = (T)beta1, b2 = (T)beta2, gj = g[j];
        const T mj = b1 * m[j] + ((T)1 - b1) * gj;
        const T vj = b2 * v[j] + ((T)1 - b2) * (gj * gj);
        m[j] = mj;
        v[j] = vj;
        p[j] = p[j] * (T)coef[3 * t] - (T)coef[3 * t + 1] * (mj / (sqrt(vj) / (T)coef[3 * t + 2] + (T)eps));
    }
}

// The sum of squares of every entry of a list, in float64, in two stages with a fixed order:
// thread k of `threads` sums entries k, k + threads, k + 2 threads, ... (neighbouring threads
// read neighbouring entries) into partial[k]; CuPy sums the partials.
extern "C" __global__ void sum_squares_each(long long total, const long long* starts, int count,
                                            const long long* x_at, double* partial, long long threads) {
    KERNEL_LOOP(k, threads) {
        double acc = 0;
        for (long long i = k; i < total; i += threads) {
            const int t = tensor_of(i, starts, count);
            const double x = (double)((const T*)x_at[t])[i - starts[t]];
            acc += x * x;
        }
        partial[k] = acc;
    }
}

// Clipping's rescale of every gradient of a list, in place, by the scale that
// optim/clip.py::clip_gradients_ computes from the sum of squares (a one-entry array on the
// GPU, never read by the host): min(1, max_norm / (sqrt(sum) + eps)), or 1 where the norm is
// inf or NaN.
extern "C" __global__ void clip_each(long long total, const long long* starts, int count, const long long* x_at,
                                     const double* sum_squares, double max_norm, double eps) {
    const double norm = sqrt(*sum_squares);
    const T scale = (T)(isfinite(norm) ? fmin(1.0, max_norm / (norm + eps)) : 1.0);
    KERNEL_LOOP(i, total) {
        const int t = tensor_of(i, starts, count);
        ((T*)x_at[t])[i - starts[t]] *= scale;
    }
}
"""

# How the sources above are completed for the GPU (tests complete them for the host instead).
GPU_PRELUDE = """
#define KERNEL_LOOP(i, n) \\
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \\
         i += (long long)blockDim.x * gridDim.x)
"""
_TYPES = {"f": "float", "d": "double"}   # by dtype.char: float32, float64 (str(dtype) costs µs per call)
_THREADS = 256
_cache = {}


def available(*arrays):
    """True where the kernels can take over: CuPy arrays of float32 or float64."""
    return all(device_of(a) == "gpu" and a.dtype.char in _TYPES for a in arrays)


def one_type(*arrays):
    """The arrays (None kept) cast to their common type, as the reference's array code promotes
    them (a float64 gradient meeting a float32 activation: float64). Every kernel here takes one
    type T for all its arrays: a raw kernel would read a float32 array as float64 without a word."""
    present = [a for a in arrays if a is not None]
    dtype = array_module("gpu").result_type(*present)
    return [None if a is None else a.astype(dtype, copy=False) for a in arrays]


def elementwise(name):
    """The cupy.ElementwiseKernel ``name`` of ``ELEMENTWISE`` (built once)."""
    if name not in _cache:
        inputs, outputs, body = ELEMENTWISE[name]
        _cache[name] = array_module("gpu").ElementwiseKernel(inputs, outputs, body, f"tinycoat_{name}")
    return _cache[name]


def reduction(name):
    """The cupy.ReductionKernel ``name`` of ``REDUCTIONS`` (built once); called as
    ``kernel(a, b, axis=axes, keepdims=True)``."""
    if name not in _cache:
        _cache[name] = array_module("gpu").ReductionKernel(*REDUCTIONS[name], name=f"tinycoat_{name}")
    return _cache[name]


def _raw(name, dtype):
    key = (name, dtype.char)
    if key not in _cache:
        source = f"typedef {_TYPES[dtype.char]} T;\n" + GPU_PRELUDE + WINDOWS + ROWS + MULTI_TENSOR
        _cache[key] = array_module("gpu").RawKernel(source, name)
    return _cache[key]


def launch(name, dtype, total, args):
    """Launch the raw kernel ``name`` for ``total`` grid-stride iterations with ``args`` (CuPy
    arrays and scalars, in the order of its parameters)."""
    blocks = max(1, min((total + _THREADS - 1) // _THREADS, 65535))   # the loop covers the rest
    _raw(name, dtype)((blocks,), (_THREADS,), tuple(args))


def _geometry(x_shape, out_hw, kernel_hw, stride, padding):
    """The GEOMETRY arguments of the window kernels: C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw."""
    return tuple(x_shape[1:]) + tuple(out_hw) + tuple(kernel_hw) + tuple(stride) + tuple(padding)


def _launch(name, dtype, arrays, total, geometry):
    cupy = array_module("gpu")
    launch(name, dtype, total, tuple(arrays) + (cupy.int64(total),) + tuple(cupy.int32(v) for v in geometry))


def depthwise_forward(x, kernel, stride, padding, out_hw):
    """y (N, C, Ho, Wo) from x (N, C, H, W) and kernel (C, 1, kh, kw), without bias."""
    cupy = array_module("gpu")
    kernel = kernel.astype(x.dtype, copy=False)        # y in x's dtype, as the reference's (it sums into it)
    y = cupy.empty(x.shape[:2] + tuple(out_hw), dtype=x.dtype)
    _launch("depthwise_forward", x.dtype, (cupy.ascontiguousarray(x), cupy.ascontiguousarray(kernel), y),
            y.size, _geometry(x.shape, out_hw, kernel.shape[-2:], stride, padding))
    return y


def depthwise_backward(g, x, kernel, x_shape, kernel_shape, stride, padding, need_x, need_w):
    """(dL/dx or None, dL/dkernel or None) for y = depthwise_forward(x, kernel, ...), with
    x of x_shape (needed only for dL/dkernel) and kernel of kernel_shape (only for dL/dx)."""
    cupy = array_module("gpu")
    x, kernel = (None if a is None else a.astype(g.dtype, copy=False) for a in (x, kernel))   # as the reference:
    n, c = g.shape[:2]                                                                          # g's dtype
    kh, kw = kernel_shape[2:]
    geometry = _geometry(x_shape, g.shape[2:], (kh, kw), stride, padding)
    g = cupy.ascontiguousarray(g)
    gx = gw = None
    if need_x:
        gx = cupy.empty(tuple(x_shape), dtype=g.dtype)
        _launch("depthwise_input_grad", g.dtype, (g, cupy.ascontiguousarray(kernel), gx), gx.size, geometry)
    if need_w:
        partial = cupy.empty((n, c, kh * kw), dtype=g.dtype)
        _launch("depthwise_weight_grad", g.dtype, (g, cupy.ascontiguousarray(x), partial), partial.size, geometry)
        gw = partial.sum(axis=0).reshape(kernel_shape)
    return gx, gw


def layer_norm_forward(x, weight, bias, eps):
    """(y, x̂, 1/√(σ² + ε)) of LayerNorm over the last axis of x (non-empty; x, γ, β of one dtype): one kernel."""
    cupy = array_module("gpu")
    c = x.shape[-1]
    rows = x.size // c
    x, weight, bias = (cupy.ascontiguousarray(a) for a in (x, weight, bias))
    y, x_hat = cupy.empty_like(x), cupy.empty_like(x)
    inv_std = cupy.empty(x.shape[:-1] + (1,), dtype=x.dtype)
    launch("layer_norm_forward", x.dtype, rows, (x, weight, bias, y, x_hat, inv_std, cupy.int64(rows), cupy.int32(c),
                                                 cupy.float64(eps)))
    return y, x_hat, inv_std


def softmax_rows(x):
    """softmax over the last axis of x (non-empty, float32 or float64): one kernel."""
    cupy = array_module("gpu")
    n = x.shape[-1]
    x = cupy.ascontiguousarray(x)
    y = cupy.empty_like(x)
    launch("softmax_rows", x.dtype, x.size // n, (x, y, cupy.int64(x.size // n), cupy.int32(n)))
    return y


def softmax_rows_backward(g, y):
    """dL/dx of y = softmax over the last axis (g of y's dtype): one kernel."""
    cupy = array_module("gpu")
    n = y.shape[-1]
    gx = cupy.empty_like(y)
    launch("softmax_rows_backward", y.dtype, y.size // n, (cupy.ascontiguousarray(g), y, gx,
                                                         cupy.int64(y.size // n), cupy.int32(n)))
    return gx


def layer_norm_input_grad(g, x_hat, inv_std, weight):
    """dL/dx of LayerNorm over the last axis, from the forward's x̂ and 1/√(σ² + ε) (g, x̂, γ of one dtype):
    one kernel."""
    cupy = array_module("gpu")
    c = g.shape[-1]
    rows = g.size // c
    gx = cupy.empty_like(x_hat)
    launch("layer_norm_input_grad", g.dtype, rows, (cupy.ascontiguousarray(g), x_hat, inv_std,
                                                     cupy.ascontiguousarray(weight), gx,
                                                     cupy.int64(rows), cupy.int32(c)))
    return gx


def im2col(x, kernel_hw, stride, padding, out_hw):
    """cols (C·kh·kw, N·Ho·Wo) of x (N, C, H, W), as ``im2col.py::im2col``: one kernel."""
    cupy = array_module("gpu")
    n, c = x.shape[:2]
    (kh, kw), (ho, wo) = kernel_hw, out_hw
    cols = cupy.empty((c * kh * kw, n * ho * wo), dtype=x.dtype)
    _launch("im2col", x.dtype, (cupy.ascontiguousarray(x), cols), cols.size,
            (n,) + _geometry(x.shape, out_hw, kernel_hw, stride, padding))
    return cols


def col2im(dcols, x_shape, kernel_hw, stride, padding):
    """dL/dx (N, C, H, W) from the gradient of the cols, laid out (C, kh, kw, N, Ho, Wo)."""
    cupy = array_module("gpu")
    gx = cupy.empty(tuple(x_shape), dtype=dcols.dtype)
    _launch("col2im", dcols.dtype, (cupy.ascontiguousarray(dcols), gx), gx.size,
            (x_shape[0],) + _geometry(x_shape, dcols.shape[-2:], kernel_hw, stride, padding))
    return gx
