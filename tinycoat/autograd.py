"""The autograd engine: Function, the graph it records, and backward().

Every differentiable operation is a subclass of ``Function`` with two methods
written next to each other:

    forward(self, *arrays)   -> array       the value, from raw NumPy/CuPy arrays;
                                            saves on ``self`` what backward needs
    backward(self, grad_out) -> grads       d(loss)/d(input) for each input, given
                                            d(loss)/d(output) (the chain rule, one link)

``Function.apply(*inputs)`` runs ``forward`` and, when any input requires a
gradient (and grad mode is on), remembers the inputs on the Function and the
Function on the output tensor (``out._ctx``).  That chain of ``_ctx`` links *is*
the graph: it is built as the Python code runs ("define-by-run").

``backward(root)`` visits the graph in reverse topological order, calls each
Function's ``backward`` once, sums the gradients that reach a tensor along
different paths, and stores the result in ``.grad`` of the leaves.

Which code runs for an op is asked of ``twins.pick``: the Function itself, or, while
the fast wing is switched on (``tinycoat.fast``), its registered fast twin (twins.py).
"""
from __future__ import annotations

import contextlib
import functools
import inspect

from tinycoat import backend, twins
from tinycoat.tensor import Tensor

_grad_enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


class _GradMode:
    """Graph recording on or off inside a ``with`` (restored after, also on an error), or for every
    call of a decorated function; a generator function has each of its steps run in the mode. One
    object may be entered again and again, as PyTorch's."""

    def __init__(self, flag: bool):
        self.flag, self.previous = flag, []

    def __enter__(self):
        global _grad_enabled
        self.previous.append(_grad_enabled)
        _grad_enabled = self.flag

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous.pop()

    def __call__(self, function):
        if inspect.isgeneratorfunction(function):
            @functools.wraps(function)
            def each_step_in_mode(*args, **kwargs):
                with self:
                    steps = function(*args, **kwargs)
                sent = None
                while True:
                    try:
                        with self:
                            value = steps.send(sent)
                    except StopIteration as end:
                        return end.value
                    sent = yield value
            return each_step_in_mode

        @functools.wraps(function)
        def in_mode(*args, **kwargs):
            with self:
                return function(*args, **kwargs)
        return in_mode


class set_grad_enabled:
    """Graph recording on (True) or off (False) from this call on, as PyTorch's: as a statement it
    sets the mode; as ``with tc.set_grad_enabled(training):`` it puts the old one back at the end."""

    def __init__(self, mode: bool):
        global _grad_enabled
        self.previous, self.flag = _grad_enabled, bool(mode)
        _grad_enabled = self.flag

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous

    def __call__(self, function):
        """As a decorator: the mode holds inside each call only (so building this changed nothing)."""
        global _grad_enabled
        _grad_enabled = self.previous
        return _GradMode(self.flag)(function)


def no_grad(function=None):
    """``with tc.no_grad():`` — run ops without recording a graph (evaluation, updates); also a
    decorator, ``@tc.no_grad()`` or ``@tc.no_grad``, as in PyTorch."""
    return _GradMode(False)(function) if callable(function) else _GradMode(False)


def inference_mode(mode: bool = True):
    """PyTorch's faster no_grad; here the two are the same: no graph is recorded while ``mode``.
    ``@tc.inference_mode`` (no parentheses) decorates a function, as in PyTorch."""
    return no_grad(mode) if callable(mode) else _GradMode(not mode)


def enable_grad():
    return _GradMode(True)


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """Wrap Python numbers and arrays as constant tensors.

    A Python scalar takes the dtype and device of ``like``, so ``x * 2.0`` keeps a
    float32 ``x`` in float32 instead of promoting it to float64.
    """
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, (int, float, bool)) and like.dtype.kind == "f":
        # A fill, not asarray: on a GPU asarray copies the number from the host, a copy that a
        # CUDA graph (fast/cuda_graph.py) cannot record.
        return Tensor(like.xp.full((), value, dtype=like.dtype))
    device = like.device if like is not None else "cpu"
    return Tensor(value, device=device if backend.device_of(value) == "cpu" else None)


def unbroadcast(grad, shape):
    """Sum ``grad`` back to ``shape``: the adjoint of NumPy broadcasting.

    If x of shape (3, 1) was broadcast to (2, 3, 4), every x element was used
    2·4 times, so its gradient is the sum over the broadcast axes.
    """
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


class Function:
    """One node of the graph. Subclasses define ``forward`` and ``backward``."""

    def forward(self, *arrays):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_out):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        """Run ``forward`` on the inputs' arrays and record the node if needed.

        Positional ``inputs`` are tensors (or numbers, wrapped as constants);
        keyword ``params`` are non-differentiable settings (axis, stride, ...).
        """
        first = next((t for t in inputs if isinstance(t, Tensor)), None)
        tensors = [as_tensor(t, like=first) for t in inputs]
        device = _check_same_device(cls.__name__, tensors)
        arrays = [t.data for t in tensors]
        fn = twins.pick(cls, device, *arrays, **params)()    # cls, or its fast twin (twins.py)
        # Under no_grad nothing will be differentiated: forward need not save anything.
        fn.needs_input_grad = tuple(_grad_enabled and t.requires_grad for t in tensors)
        out = Tensor(fn.forward(*arrays, **params))
        _share_version_with_viewed_input(out, tensors)
        # (an integer result, e.g. x.long(), has no gradient: rounding is not differentiable)
        if _grad_enabled and any(fn.needs_input_grad) and out.dtype.kind == "f":
            out.requires_grad = True
            out._ctx = fn
            fn.saved_versions = _saved_versions(fn, (*tensors, out))
            fn.inputs = tensors
        return out

    def release(self):
        """Drop saved arrays and inputs so their memory can be freed."""
        self.__dict__.clear()
        self.released = True


def _check_same_device(name, tensors):
    """The one device all ``tensors`` are on (a clear error if they are not)."""
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        where = ", ".join(f"input {i} on '{t.device}'" for i, t in enumerate(tensors))
        raise backend.DeviceError(
            f"{name}: expected all tensors on the same device, but got {where}. "
            "Move them with .to('cpu') or .to('gpu') first.")
    return devices.pop() if devices else "cpu"


# ---------------------------------------------------------------- in-place changes (versions)
# A Function keeps arrays for its backward (Mul keeps both factors). If one of them is changed in
# place before backward() (``w -= lr * w.grad`` under no_grad, an optimizer.step() before
# backward), the gradient would be computed from the new values: wrong, silently. So, as in
# PyTorch, every tensor counts its in-place changes (tensor.py::VersionCounter); a Function
# records the counts of the tensors whose memory it kept, and backward() refuses a changed one.

def _owner(array):
    """The array that owns the memory ``array`` views (itself if it owns it)."""
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


def _share_version_with_viewed_input(out, tensors):
    """An output that views an input's memory (reshape, transpose, slicing, or the input itself, as
    ``contiguous()`` of a contiguous tensor) is changed by a change of that input, and the other way
    around: they count their changes together."""
    owner = _owner(out.data)
    for t in tensors:
        if _owner(t.data) is owner:
            out._version_counter = t._version_counter
            return


def _saved_versions(fn, tensors):
    """(counter, count now, shape) of each of ``tensors`` whose memory ``fn`` kept for backward."""
    kept = set()
    for value in vars(fn).values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if hasattr(item, "shape") and hasattr(item, "dtype"):
                kept.add(id(_owner(item)))
    return [(t._version_counter, t._version, t.shape) for t in tensors if id(_owner(t.data)) in kept]


def _check_saved_unchanged(fn):
    for counter, version, shape in fn.saved_versions:
        if counter.value != version:
            raise RuntimeError(
                f"backward(): {type(fn).__name__} kept a tensor of shape {shape} for its gradient, and that tensor "
                f"was changed in place after the forward pass (it is at version {counter.value}, the graph saw "
                f"version {version}), so the gradient would be computed from the new values. Change a copy "
                "(t.clone()) instead, or run the forward pass again after the change (optimizer.step() goes "
                "after backward()).")


def accumulate(total, grad):
    """total + grad: a tensor used on several paths receives the sum of their gradients
    (the chain rule's sum over paths), and a leaf sums them over backward() calls."""
    return total + grad


def _topological_order(root: Tensor):
    """Tensors reachable from ``root`` through ``_ctx``, each after its inputs."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:  # iterative DFS: deep graphs must not hit Python's recursion limit
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if node._ctx is not None:
            if getattr(node._ctx, "released", False):
                raise RuntimeError(
                    "Trying to backward through the graph a second time: its saved values were "
                    "freed by the first backward(). Pass retain_graph=True to the first call.")
            for parent in node._ctx.inputs:
                if parent.requires_grad and id(parent) not in seen:
                    stack.append((parent, False))
    return order


def backward(root: Tensor, grad=None, retain_graph: bool = False, *, _collect=None):
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf requiring grad. (``_collect``,
    for ``grad`` below: tensors of the graph, leaves or not; then no ``.grad`` is touched, and the
    result is {id(t): d(root)/dt} for those of them that the root depends on.)"""
    if not root.requires_grad:
        raise RuntimeError("backward(): this tensor does not require grad and has no graph "
                           "(did you create it under no_grad(), or forget requires_grad=True?)")
    xp = root.xp
    if grad is None:
        if root.numel() != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a scalar output, but this tensor has shape "
                f"{root.shape}. Pass grad= (an array or tensor of that shape), or reduce it first, "
                "e.g. loss.sum().backward().")
        grad = xp.ones_like(root.data)
    else:
        grad = grad.data if isinstance(grad, Tensor) else xp.asarray(grad, dtype=root.dtype)
        if backend.device_of(grad) != root.device:
            raise backend.DeviceError(f"backward(): grad is on '{backend.device_of(grad)}' but the "
                                      f"output is on '{root.device}'")
        if grad.shape != root.shape:
            raise ValueError(f"backward(): grad has shape {grad.shape}, expected the output's shape "
                             f"{root.shape}")

    add = twins.pick(accumulate, root.device)
    grads = {id(root): grad}
    wanted = None if _collect is None else {id(t) for t in _collect}
    found = {}
    order = _topological_order(root)
    for node in order:          # all checked before any gradient is summed: a refusal changes nothing
        if node._ctx is not None:
            _check_saved_unchanged(node._ctx)
    for node in reversed(order):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if node._hooks:
            g = _run_hooks(node, g)
        fn = node._ctx
        if wanted is not None:               # grad(): hand the gradient back instead of keeping it
            if id(node) in wanted:
                found[id(node)] = g.astype(node.dtype, copy=True)
        elif fn is None or node.retains_grad:  # a leaf (or a retain_grad() result): accumulate, PyTorch-style,
                                               # until the user zeroes it
            g = g.astype(node.dtype, copy=False)
            if node.grad is None:
                node.grad = Tensor(g.copy())  # its own copy: g may be shared with another input
            else:
                node.grad = Tensor(add(node.grad.data, g))
        if fn is None:
            continue
        input_grads = fn.backward(g)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for parent, needs, pg in zip(fn.inputs, fn.needs_input_grad, input_grads):
            if not needs or pg is None:
                continue
            if pg.shape != parent.shape:  # a bug in an op's backward: fail loudly
                raise RuntimeError(f"{type(fn).__name__}.backward returned a gradient of shape "
                                   f"{pg.shape} for an input of shape {parent.shape}")
            previous = grads.get(id(parent))
            # a tensor used twice (a residual's input, SE's map) sums its gradients
            grads[id(parent)] = pg if previous is None else add(previous, pg)
        if not retain_graph:
            fn.release()
    return found if wanted is not None else None


def grad(outputs, inputs, grad_outputs=None, retain_graph=False, allow_unused=False):
    """d(outputs)/d(inputs) as a tuple of tensors, one per input, leaving every ``.grad`` as it is
    (torch.autograd.grad; no create_graph: the gradients are not themselves in a graph). Several
    outputs add their gradients, each weighed by its grad_output (None: a scalar output's 1)."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    grad_outputs = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"autograd.grad: {len(outputs)} output(s) but {len(grad_outputs)} grad_outputs; give one "
                         "per output (None for a scalar output's 1)")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError(f"autograd.grad: an input of shape {t.shape} does not require grad, so no gradient "
                               "reaches it (make it with requires_grad=True)")
    total = {}
    for i, (out, weight) in enumerate(zip(outputs, grad_outputs)):
        keep = retain_graph or i < len(outputs) - 1          # (the outputs may share a graph)
        for key, g in backward(out, weight, retain_graph=keep, _collect=inputs).items():
            total[key] = g if key not in total else total[key] + g
    missing = [t.shape for t in inputs if id(t) not in total]
    if missing and not allow_unused:
        raise RuntimeError(f"autograd.grad: the outputs do not depend on the input(s) of shape "
                           f"{', '.join(map(str, missing))}; pass allow_unused=True to get None for them")
    return tuple(Tensor(total[id(t)]) if id(t) in total else None for t in inputs)


def _run_hooks(node, g):
    """Each of ``node.register_hook``'s functions sees the gradient; one that returns a tensor (or
    array) replaces it for the rest of backward()."""
    for hook in list(node._hooks.values()):
        out = hook(Tensor(g))
        if out is not None:
            out = out.data if isinstance(out, Tensor) else out
            if getattr(out, "shape", None) != g.shape or out.dtype != g.dtype or backend.device_of(out) != node.device:
                what = f"{out.dtype} of shape {out.shape} on '{backend.device_of(out)}'" if hasattr(out, "shape") \
                    else repr(out)
                raise RuntimeError(f"a hook of register_hook returned {what}; it must return None or a {g.dtype} "
                                   f"gradient of the tensor's shape {g.shape} on '{node.device}'")
            g = out
    return g


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


@contextlib.contextmanager
def instrumented(wrap):
    """Temporarily replace every Function's ``forward`` and ``backward`` by
    ``wrap(cls, method_name, original)`` — the hook that profilers and checks use
    (``benchmarks/train_step.py`` times ops by class; ``tests/test_float32.py`` looks for
    float64). The originals are put back on exit.
    """
    patched = []
    for cls in set(_all_subclasses(Function)):
        for name in ("forward", "backward"):
            if name in cls.__dict__:
                original = cls.__dict__[name]
                setattr(cls, name, wrap(cls, name, original))
                patched.append((cls, name, original))
    try:
        yield
    finally:
        for cls, name, original in patched:
            setattr(cls, name, original)
