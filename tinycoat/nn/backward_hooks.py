"""A Module's backward hooks (PyTorch's ``register_full_backward_hook`` and
``register_full_backward_pre_hook``): functions called with the gradients of a module's outputs,
and of its inputs, while ``backward()`` passes through the module.

    pre-hook(module, grad_output)             before the gradient enters the module; may return a
                                              replacement for grad_output
    hook(module, grad_input, grad_output)     once the gradient has left it, w.r.t. its inputs; may
                                              return a replacement for grad_input

The engine's Functions have one output each, but a hook wants all of a module's input gradients at
once (to see them together and to replace them). So the inputs that require a gradient are
*bundled*: one Function, ``Bundle``, concatenates them (flattened) into one tensor, and the module
receives slices of it, reshaped. Every gradient that reaches a slice sums into the bundle (a copy's
backward is a sum, lesson 02), so the bundle's backward is called once, with all of them, after
everything inside the module: there it hands them to the hooks, and returns them split, one per
input. The outputs are bundled the same way, for grad_output and the pre-hooks.
"""
from __future__ import annotations

import math

from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.tensor import Tensor


class Bundle(Function):
    """The identity on a list of tensors, stored as one flat array; its backward splits the gradient
    and passes the pieces through ``on_backward`` (which may replace them)."""

    def forward(self, *arrays, on_backward=None):
        self.shapes, self.on_backward = [a.shape for a in arrays], on_backward
        return get_array_module(arrays[0]).concatenate([a.reshape(-1) for a in arrays])

    def backward(self, g):
        return tuple(self.on_backward(pieces(g, self.shapes)))


def pieces(flat, shapes):
    """A flat array or tensor cut into consecutive pieces of ``shapes`` (Bundle's layout)."""
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(flat[start:start + size].reshape(shape))
        start += size
    return out


def bundled(tensors, on_backward, owner):
    """``tensors`` (all requiring a gradient) as slices of one Bundle: the same values, whose
    gradients reach ``on_backward`` together (a list of arrays, None for a slice that no gradient
    reached: a hook on each slice notes which did)."""
    dtypes = {str(t.dtype) for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"{owner}: a module with backward hooks needs the tensors it takes (and returns) that "
                        f"require a gradient to share one dtype, got {', '.join(sorted(dtypes))}")
    reached = set()

    def on_backward_of_reached(grads):
        grads = [g if k in reached else None for k, g in enumerate(grads)]
        reached.clear()                                     # (for the next backward of a retained graph)
        return on_backward(grads)

    slices = pieces(Bundle.apply(*tensors, on_backward=on_backward_of_reached), [t.shape for t in tensors])
    for k, piece in enumerate(slices):
        piece.register_hook(lambda g, k=k: reached.add(k))
    return slices


def _as_arrays(replacement, expected, what, owner):
    """A hook's returned tuple of gradients as arrays (None kept), checked against ``expected``."""
    if not (isinstance(replacement, (tuple, list)) and len(replacement) == len(expected)):
        raise TypeError(f"{owner}: a backward hook returned {type(replacement).__name__}, expected None or a tuple "
                        f"of {len(expected)} gradient(s), one per {what}")
    out = []
    for i, (new, old) in enumerate(zip(replacement, expected)):
        new = new.data if isinstance(new, Tensor) else new
        if new is not None and old is None:
            raise ValueError(f"{owner}: a backward hook returned a gradient for {what} {i}, which has none (not a "
                             "tensor, or one that requires no gradient): return None there")
        if new is not None and (getattr(new, "shape", None) != old.shape or getattr(new, "dtype", None) != old.dtype):
            got = f"{new.dtype} of shape {new.shape}" if hasattr(new, "shape") else repr(new)
            raise ValueError(f"{owner}: a backward hook returned a gradient ({got}) for {what} {i}, a {old.dtype} "
                             f"of shape {old.shape}")
        out.append(new)
    return out


def _tensors(arrays):
    return tuple(None if a is None else Tensor(a) for a in arrays)


class HookedCall:
    """One call of a module that has backward hooks: ``inputs`` bundles the positional arguments
    before its forward, ``output`` its result after; backward() then calls the hooks through them."""

    def __init__(self, module, hooks, pre_hooks):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.owner = type(module).__name__
        self.n_inputs, self.in_positions, self.grad_output = 0, [], ()

    def inputs(self, args):
        self.n_inputs = len(args)
        self.in_positions = [k for k, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if not self.in_positions:
            return args
        args = list(args)
        for k, piece in zip(self.in_positions, bundled([args[k] for k in self.in_positions], self._inputs_back,
                                                        self.owner)):
            args[k] = piece
        return tuple(args)

    def output(self, output):
        """The output (a tensor, or a tuple holding tensors) with its tensors that require a gradient
        bundled; any other output (a dict, ...) is passed on as it is, unhooked (as in PyTorch)."""
        self.out_positions = []
        if not isinstance(output, (Tensor, tuple)):
            return output
        outs = [output] if isinstance(output, Tensor) else list(output)
        self.n_outputs = len(outs)
        self.out_positions = [k for k, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not self.out_positions:
            return output                   # nothing to differentiate: backward() never comes here
        for k, piece in zip(self.out_positions, bundled([outs[k] for k in self.out_positions], self._outputs_back,
                                                         self.owner)):
            outs[k] = piece
        if isinstance(output, Tensor):
            return outs[0]
        return type(output)(*outs) if hasattr(output, "_fields") else tuple(outs)     # (a namedtuple stays one)

    def _spread(self, grads, positions, n):
        by_position = [None] * n
        for k, g in zip(positions, grads):
            by_position[k] = g
        return by_position

    def _outputs_back(self, grads):         # first (the outputs come after the inputs in the graph)
        grad_output = self._spread(grads, self.out_positions, self.n_outputs)
        for pre in self.pre_hooks:
            replaced = pre(self.module, _tensors(grad_output))
            if replaced is not None:
                grad_output = _as_arrays(replaced, grad_output, "output", self.owner)
        self.grad_output = grad_output
        if not self.in_positions:           # no input needs a gradient: the hooks are called now (PyTorch's)
            for hook in self.hooks:
                if hook(self.module, (None,) * self.n_inputs, _tensors(grad_output)) is not None:
                    raise TypeError(f"{self.owner}: a backward hook returned gradients, but none of this call's "
                                    "inputs requires one: there is nothing to replace (return None)")
        return [grad_output[k] for k in self.out_positions]

    def _inputs_back(self, grads):          # then, once the gradient has passed through the module
        grad_input = self._spread(grads, self.in_positions, self.n_inputs)
        for hook in self.hooks:
            replaced = hook(self.module, _tensors(grad_input), _tensors(self.grad_output))
            if replaced is not None:
                grad_input = _as_arrays(replaced, grad_input, "input", self.owner)
        return [grad_input[k] for k in self.in_positions]
