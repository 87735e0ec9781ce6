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
