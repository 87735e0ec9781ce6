"""tinycoat: a small, readable deep-learning library that teaches how CoAtNet works.

    import tinycoat as tc
    x = tc.tensor([[1.0, 2.0]], requires_grad=True)
    (x * x).sum().backward()      # x.grad == 2x

Layers, from the bottom up (each imports only from the ones below it):
    backend.py      NumPy (CPU) or CuPy (GPU): the only module that knows which
    tensor.py       Tensor: data + grad + the Function that made it
    autograd.py     Function, backward(), no_grad()
    twins.py        where the fast wing plugs in: the table of twins and its switch
    checks.py       argument checks of layers and optimizers (a bad setting fails when built)
    amp.py          autocast: float16 matrix products (mixed precision)
    ops/            differentiable primitives, forward and backward side by side
    gradcheck.py    finite-difference check of any backward
    nn/, optim/     functional ops, layers, optimizers;  models/  CoAtNet
    fast/           the fast wing: twins of the ops above, ``tc.fast.enable()`` switches them on
    distributed/    data parallelism over MPI processes (and NCCL between GPUs), SyncBatchNorm
"""
from tinycoat.backend import (  # noqa: F401
    DeviceError, float16, float32, float64, int32, int64, uint8, bool_,
    manual_seed, gpu_available)
from tinycoat.tensor import (  # noqa: F401
    Tensor, tensor, zeros, ones, full, empty, eye, linspace, zeros_like, ones_like, full_like, randn, rand, randint,
    randn_like, rand_like, arange, from_numpy, is_tensor, argmax, argmin, allclose, equal)
from tinycoat.tensor import (  # noqa: F401,A001
    sum_of as sum, mean_of as mean, max_of as max, min_of as min, var_of as var, std_of as std)
from tinycoat.autograd import Function, no_grad, enable_grad, inference_mode, is_grad_enabled  # noqa: F401
from tinycoat.ops import (  # noqa: F401
    add, sub, mul, div, floor_divide, remainder, neg, pow, matmul, bmm, einsum, maximum, minimum, exp, log, log1p, expm1, sqrt, rsqrt, sin, cos, tanh,
    sigmoid, relu, abs, clip, norm, cumsum,
    reshape, clone, flatten, permute, transpose, split, chunk, concatenate, cat, stack, pad, where,
    flip, roll, gather, diagonal, sort, topk, argsort)
from tinycoat.ops import (  # noqa: F401
    asin, acos, atan, atan2, sinh, cosh, asinh, acosh, atanh, erf, erfc, erfinv, exp2, log2, log10, hypot, lerp, frac,
    fmod, nan_to_num, xlogy, sinc)
from tinycoat.ops import (  # noqa: F401
    scatter, scatter_add, scatter_reduce, index_add, index_copy, index_fill, index_reduce, take_along_dim,
    masked_scatter, movedim, moveaxis, swapaxes, swapdims, unflatten, atleast_1d, atleast_2d, atleast_3d, tile,
    repeat_interleave, broadcast_shapes, broadcast_to, broadcast_tensors, meshgrid, diag, diag_embed, diagflat,
    trace, kron, tensordot, cross, rot90)
from tinycoat.ops import linalg  # noqa: F401  (tc.linalg.inv, ..., as torch.linalg)
from tinycoat.ops.linalg import inv as inverse, det, logdet, slogdet, matrix_power, pinverse  # noqa: F401
from tinycoat.gradcheck import gradcheck, GradcheckError  # noqa: F401
from tinycoat.tensor import function_of as _function_of, randperm  # noqa: F401
from tinycoat.autograd import set_grad_enabled  # noqa: F401

# Methods that PyTorch also spells as functions: tc.floor(x) is x.floor(), tc.tril(m) is m.tril().
floor, ceil, trunc, round, isinf, isnan, isfinite, isclose, prod, tril, triu, unsqueeze, squeeze, numel, \
    logical_and, logical_or, logical_xor, logical_not, count_nonzero, outer, dot, mm, clamp, \
    eq, ne, lt, le, gt, ge, all, any, amax, amin, clamp_min, clamp_max, index_select, is_floating_point, \
    logsumexp, masked_fill, narrow, nonzero, reciprocal, sign, square, t, unbind = map(_function_of, (  # noqa: A001
        "floor", "ceil", "trunc", "round", "isinf", "isnan", "isfinite", "isclose", "prod", "tril", "triu",
        "unsqueeze", "squeeze", "numel", "logical_and", "logical_or", "logical_xor", "logical_not",
        "count_nonzero", "outer", "dot", "mm", "clamp", "eq", "ne", "lt", "le", "gt", "ge", "all", "any",
        "amax", "amin", "clamp_min", "clamp_max", "index_select", "is_floating_point", "logsumexp",
        "masked_fill", "narrow", "nonzero", "reciprocal", "sign", "square", "t", "unbind"))

__version__ = "0.1.0"

# Layers, optimizers, models, data loading and checkpoints come with the package, as torch.nn and
# torch.optim do; so does the fast wing, switched off until ``tc.fast.enable()``.
from tinycoat import amp, nn, optim, fast, distributed, models, data, checkpoint  # noqa: E402,F401
from tinycoat.checkpoint import save, load  # noqa: E402,F401
from tinycoat.fast import get_num_threads, set_num_threads  # noqa: E402,F401
from tinycoat.nn.functional import softmax, log_softmax  # noqa: E402,F401  (torch.softmax: tc.softmax(x, dim))
