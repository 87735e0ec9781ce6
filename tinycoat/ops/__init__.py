"""Differentiable primitive operations, each a Function with forward and backward.

    arithmetic.py   + − × ÷ // % ** @ (and bmm) and negation, maximum and minimum, with broadcasting
    einsum.py       einsum: any sum of products over named indices, its gradient another einsum
    elementwise.py  exp log log1p expm1 sqrt rsqrt sin cos tanh sigmoid relu abs clip
    special.py      asin acos atan atan2 sinh cosh asinh acosh atanh erf erfc erfinv exp2 log2 log10
                    hypot lerp frac fmod nan_to_num xlogy sinc
    reduction.py    sum mean max min var norm prod, and cumsum
    shape.py        reshape contiguous clone permute expand split chunk indexing concatenate (cat) stack pad
                    where tril triu, device copies
    reorder.py      flip roll gather diagonal, and sort topk argsort (gather at the sorted places)
    scatter.py      scatter scatter_add scatter_reduce index_add/copy/fill/reduce take_along_dim masked_scatter
    linalg.py       torch.linalg: inv det slogdet solve cholesky eigh qr svd pinv, norms, matrix_power (batched)
    arrange.py      movedim swapaxes unflatten atleast_nd tile repeat_interleave broadcast_to/tensors meshgrid
                    diag diag_embed diagflat trace kron tensordot cross rot90 (compositions of the ops above)
"""
from tinycoat.ops.arithmetic import (  # noqa: F401
    add, sub, mul, div, floor_divide, remainder, neg, pow, matmul, bmm, maximum, minimum)
from tinycoat.ops.einsum import einsum  # noqa: F401
from tinycoat.ops.elementwise import exp, log, log1p, expm1, sqrt, rsqrt, sin, cos, tanh, sigmoid, relu, abs, clip  # noqa: F401
from tinycoat.ops.special import (  # noqa: F401
    asin, acos, atan, atan2, sinh, cosh, asinh, acosh, atanh, erf, erfc, erfinv, exp2, log2, log10, hypot, lerp, frac,
    fmod, nan_to_num, xlogy, sinc)
from tinycoat.ops.reduction import sum, mean, max, min, var, norm, prod, cumsum  # noqa: F401
from tinycoat.ops.shape import (  # noqa: F401
    getitem, setitem, reshape, contiguous, clone, flatten, permute, transpose, expand, split, chunk, concatenate, cat,
    stack, pad, where, tril, triu, to, compare)
from tinycoat.ops.reorder import flip, roll, gather, diagonal, sort, topk, argsort  # noqa: F401
from tinycoat.ops.arrange import (  # noqa: F401
    movedim, moveaxis, swapaxes, swapdims, unflatten, atleast_1d, atleast_2d, atleast_3d, tile, repeat_interleave,
    broadcast_shapes, broadcast_to, broadcast_tensors, meshgrid, diag, diag_embed, diagflat, trace, kron, tensordot,
    cross, rot90)
from tinycoat.ops.scatter import (  # noqa: F401
    scatter, scatter_add, scatter_reduce, index_add, index_copy, index_fill, index_reduce, take_along_dim,
    masked_scatter)
from tinycoat.ops import linalg  # noqa: F401  (tc.linalg.inv, ..., as torch.linalg)
