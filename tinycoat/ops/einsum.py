"""einsum: a sum of products over named indices, y[out] = Σ_{the other indices} Π_k x_k[s_k].

"ij,jk->ik" is the matrix product, "bhid,bhjd->bhij" the attention scores of every head at once,
"bchw,c->bhw" a weighted sum of channels. The gradient with respect to one factor is again an
einsum: y is linear in x_k, with the other factors as its coefficients, so

    x̄_k[s_k] = Σ_{indices not in s_k} ȳ[out] · Π_{j≠k} x_j[s_j]   =  einsum("out,s_j…->s_k", ȳ, x_j…)

An index that only x_k has was summed away in the forward: every entry along it met ȳ the same
way, so its gradient is the same all along it (the einsum leaves the index out, then broadcasts).

An index that one operand names twice ("ii->i", "ii" the trace) reads its diagonal: x[i, i]. That
is taken first, by ``diagonal`` (reorder.py, with its own backward), so that the einsum itself only
ever meets each index once per operand.
"""
from __future__ import annotations

import string

from tinycoat.autograd import Function
from tinycoat.backend import DeviceError, get_array_module
from tinycoat.ops.reorder import diagonal
from tinycoat.ops.shape import _joined


def _own(result, *arrays):
    """``result`` in memory of its own: einsum returns a view of its operand for "ij->ji" or "i->i",
    and an output sharing memory with an input would change with it."""
    xp = get_array_module(result)
    return result.copy() if any(xp.may_share_memory(result, a) for a in arrays) else result


class Einsum(Function):
    def forward(self, *operands, subscripts=(), output=""):
        self.operands, self.subscripts, self.output = operands, subscripts, output
        return _own(get_array_module(operands[0]).einsum(",".join(subscripts) + "->" + output, *operands), *operands)

    def backward(self, g):
        xp = get_array_module(g)
        grads = []
        for k, (x, mine) in enumerate(zip(self.operands, self.subscripts)):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [(o, s) for j, (o, s) in enumerate(zip(self.operands, self.subscripts)) if j != k]
            known = set(self.output).union(*(s for _, s in others))
            kept = "".join(c for c in mine if c in known)
            gx = xp.einsum(",".join([self.output] + [s for _, s in others]) + "->" + kept, g, *(o for o, _ in others))
            spread = [n if c in known else 1 for c, n in zip(mine, x.shape)]     # size 1 where x alone had it
            grads.append(xp.broadcast_to(gx.reshape(spread), x.shape).astype(x.dtype, order="C"))   # (a copy)
        return tuple(grads)


def _parse(equation, ndims):
    """(input subscripts, output subscripts) of an equation such as "ij,jk->ik" or "ij,jk", for operands
    of ``ndims`` axes. Without an arrow the output is every index that appears once, in alphabetical
    order, as in NumPy and PyTorch. '...' stands for the axes no letter names: it becomes letters of
    its own, the same for every operand, counted from the right (as broadcasting aligns shapes); an
    output without '...' sums those axes away (PyTorch's rule), one without an arrow keeps them in front."""
    equation = equation.replace(" ", "")
    left, arrow, output = equation.partition("->")
    inputs = left.split(",")
    if len(inputs) != len(ndims):
        raise ValueError(f"einsum: {equation!r} has subscripts for {len(inputs)} operands, got {len(ndims)} operands")
    for part, once in [(part, False) for part in inputs] + [(output, True)]:     # (inputs may repeat an index)
        named = part.replace("...", "", 1)
        if not all(c in string.ascii_letters for c in named) or (once and len(set(named)) != len(named)):
            raise ValueError(f"einsum: in {equation!r}, {part!r} must be letters a-z, A-Z (the output's none "
                             "twice), and at most one '...'")
    dots = []                                  # how many axes each operand's '...' stands for
    for i, (part, ndim) in enumerate(zip(inputs, ndims)):
        named = len(part) - 3 * ("..." in part)
        if ndim < named or (ndim > named and "..." not in part):
            raise ValueError(f"einsum: operand {i} has {ndim} axes, but {part!r} names {named}"
                             + (" (and '...' cannot stand for fewer than 0)" if "..." in part else ""))
        dots.append(ndim - named)
    spare = [c for c in string.ascii_letters if c not in equation]
    widest = max(dots, default=0)
    if widest > len(spare):
        raise ValueError(f"einsum: '...' stands for {widest} axes, more than the {len(spare)} letters left unused")
    broadcast = "".join(spare[:widest])
    inputs = [part.replace("...", broadcast[widest - n:]) for part, n in zip(inputs, dots)]
    letters = "".join(inputs)
    if not arrow:
        output = broadcast + "".join(sorted(c for c in set(letters) - set(broadcast) if letters.count(c) == 1))
    output = output.replace("...", broadcast)
    if set(output) - set(letters):
        raise ValueError(f"einsum: the output of {equation!r} names {''.join(sorted(set(output) - set(letters)))}, "
                         "which no operand has")
    return tuple(inputs), output


def _diagonals(x, subscripts, i):
    """x with every index it names twice taken along its diagonal ("iij" -> "ji": x[i, i, j], the
    diagonal as the last axis, where ``diagonal`` puts it), and its subscripts to match."""
    while len(set(subscripts)) < len(subscripts):
        c = next(c for c in subscripts if subscripts.count(c) > 1)
        first = subscripts.index(c)
        second = subscripts.index(c, first + 1)
        if x.shape[first] != x.shape[second]:
            raise ValueError(f"einsum: operand {i} names index {c!r} twice, for axes of sizes {x.shape[first]} and "
                             f"{x.shape[second]}: a diagonal needs them equal")
        x = diagonal(x, 0, first, second)
        subscripts = subscripts[:first] + subscripts[first + 1:second] + subscripts[second + 1:] + c
    return x, subscripts


def einsum(equation, *operands):
    """Sum of products over named indices (torch.einsum / numpy.einsum): ``einsum("ij,jk->ik", a, b)``
    (or the operands as one list), with '...' for unnamed leading or trailing axes. Differentiable in
    every operand. An index of size 1 in one operand and n in another is broadcast (as in PyTorch); one
    that an operand names twice reads its diagonal ("ii->i", "ii" the trace)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    operands = _joined(operands)                # (integers meeting floats take the floats' dtype, as in cat)
    devices = {x.device for x in operands}
    if len(devices) > 1:
        raise DeviceError(f"einsum: the operands are on different devices {sorted(devices)}")
    inputs, output = _parse(equation, [x.ndim for x in operands])
    operands, inputs = zip(*(_diagonals(x, s, i) for i, (x, s) in enumerate(zip(operands, inputs))))
    sizes = {}
    for i, (x, subscripts) in enumerate(zip(operands, inputs)):
        for c, n in zip(subscripts, x.shape):
            if n != sizes.setdefault(c, n) and 1 not in (n, sizes[c]):
                raise ValueError(f"einsum: index {c!r} has size {sizes[c]} in one operand and {n} in operand {i}, "
                                 f"and neither is 1 (shapes {[tuple(o.shape) for o in operands]})")
            sizes[c] = n if sizes[c] == 1 else sizes[c]                # (1 meets n: n, also n = 0)
    # A size-1 axis meeting a longer one is repeated to its length first: expand's backward sums it back.
    operands = [x if x.shape == tuple(sizes[c] for c in s) else x.expand(*(sizes[c] for c in s))
                for x, s in zip(operands, inputs)]
    return Einsum.apply(*operands, subscripts=inputs, output=output)
