"""Module, Parameter, Sequential, ModuleList: how a network keeps its weights.

A network is a tree of ``Module`` objects. Each one owns

* parameters — trainable tensors (``Parameter``), e.g. a conv's weight;
* buffers    — state that is saved but not trained, e.g. BatchNorm's running mean;
* children   — sub-modules, e.g. the convs inside an MBConv block.

As in PyTorch, you never list them by hand: *assigning* an attribute registers it.

    self.weight = Parameter(...)        # -> self._parameters["weight"]
    self.conv = Conv2d(...)             # -> self._modules["conv"]
    self.register_buffer("mean", t)     # -> self._buffers["mean"]

Walking that tree gives dotted names ("stages.0.conv.weight") for everything, which
is all ``parameters()`` (for the optimizer), ``state_dict()`` (for checkpoints),
``to(device)`` and ``train()/eval()`` need.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import MutableMapping

from tinycoat import backend
from tinycoat.autograd import is_grad_enabled
from tinycoat.checks import is_int
from tinycoat.nn.backward_hooks import HookedCall
from tinycoat.nn.init import normal_values, uniform_values
from tinycoat.tensor import RemovableHandle, Tensor


class Parameter(Tensor):
    """A Tensor that is a trainable weight: it requires grad, and a Module registers it."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        given = data
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad)
        if isinstance(given, Tensor) and self.data is given.data:
            self._version_counter = given._version_counter    # the same memory: one count of its changes

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def uniform_parameter(shape, bound, dtype=None, device="cpu") -> Parameter:
    """A Parameter with entries ~ Uniform(−bound, bound), drawn from the seeded generator.

    PyTorch's default init for conv and linear layers is kaiming_uniform(a=√5), whose
    bound is gain·√(3/fan_in) with gain = √(2/(1+a²)) = √(1/3): that is exactly
    1/√fan_in, the same bound PyTorch uses for their biases. The draw is made on the
    CPU generator in float64 and then cast and moved, so a given ``tc.manual_seed``
    gives the same initial weights on every device and in every dtype.
    """
    values = uniform_values(shape, -bound, bound)
    return Parameter(backend.as_array(values, dtype=dtype or backend.default_float, device=device))


def normal_parameter(shape, std, dtype=None, device="cpu") -> Parameter:
    """A Parameter ~ Normal(0, std²), drawn on the CPU generator in float64 (same values on every device)."""
    values = normal_values(shape, 0.0, std)
    return Parameter(backend.as_array(values, dtype=dtype or backend.default_float, device=device))


def _replace_data(t: Tensor, array) -> None:
    """Swap the array behind ``t`` in place, so optimizers holding ``t`` see the move."""
    t.data = array


class Module:
    """Base class of every layer. Subclasses set attributes in __init__ and define forward()."""

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these dicts to exist already.
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())      # buffers left out of the state_dict

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning "
                                 f"attributes (assigning {name!r})")
        if isinstance(value, Parameter):
            table = self._parameters
        elif name in self._parameters:     # a parameter is replaced by a Parameter, or None (absent, as bias=False)
            self._refuse_unless(value is None, value, "parameter", name, "a Parameter or None")
            table = self._parameters
        elif isinstance(value, Module):
            table = self._modules
        elif name in self._modules:
            self._refuse_unless(value is None, value, "submodule", name, "a Module or None")
            table = self._modules
        elif name in self._buffers:        # (a silent plain attribute would drop it from the checkpoint)
            self._refuse_unless(_is_buffer_value(value), value, "buffer", name, "a Tensor or None")
            table = self._buffers
        else:
            table = None                   # a plain attribute (a number, a string, a list...)
        for other in (self._parameters, self._buffers, self._modules):
            if other is not table:
                other.pop(name, None)      # the name changes kind: forget the old entry
        if table is None:
            object.__setattr__(self, name, value)
        else:
            self.__dict__.pop(name, None)
            table[name] = value            # an existing key keeps its place (and state_dict order)

    def _refuse_unless(self, fits, value, kind, name, expected):
        """PyTorch's rule: a registered name keeps its kind. Assigning ``m.weight = m.weight * 2`` (a
        plain tensor) would otherwise unregister the weight: the optimizer and state_dict lose it."""
        if not fits:
            raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} to {kind} {name!r} "
                            f"({expected} expected; del it first to make it something else)")

    def __getattr__(self, name):  # only called when normal lookup fails
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table, {})
            if name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def _check_name(self, kind, name, own_table):
        """A name for a parameter, buffer or submodule: a non-empty string without '.' (a dot would
        split its state_dict keys), not taken by an entry of another kind (PyTorch's rules)."""
        if not isinstance(name, str):
            raise TypeError(f"{kind}: a name must be a string, got {type(name).__name__} {name!r}")
        if not name or "." in name:
            raise KeyError(f"{kind}: a name must be a non-empty string without '.', got {name!r}")
        for table in ("_parameters", "_buffers", "_modules"):
            if table != own_table and name in getattr(self, table):
                raise KeyError(f"{kind}: {name!r} is already a {table[1:-1]} of {type(self).__name__}")
        if hasattr(type(self), name) or name in self.__dict__:     # (m.name would find that, not the entry)
            raise KeyError(f"{kind}: {name!r} is already an attribute of {type(self).__name__}")

    def register_parameter(self, name: str, param) -> None:
        """Register ``param`` (a Parameter, or None for an absent one such as bias=False)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}): expected a Parameter or None, "
                            f"got {type(param).__name__}")
        self._check_name("register_parameter", name, "_parameters")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Register non-trainable state (a Tensor, or None) that moves with the module and is saved in
        the state_dict (``persistent=False``: not saved, e.g. a table computed from the settings)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer({name!r}): expected a Tensor or None, got {type(tensor).__name__}")
        self._check_name("register_buffer", name, "_buffers")
        self._buffers[name] = tensor
        (self._non_persistent.discard if persistent else self._non_persistent.add)(name)

    def add_module(self, name: str, module) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}): expected a Module, got {type(module).__name__}")
        self._check_name("add_module", name, "_modules")
        self._modules[name] = module

    register_module = add_module        # (PyTorch's other name for it)

    # ------------------------------------------------------------------ the forward pass
    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        for hook, with_kwargs in list(self._forward_pre_hooks.values()):
            replaced = hook(self, args, kwargs) if with_kwargs else hook(self, args)
            if replaced is not None and with_kwargs:                 # new (inputs, keyword inputs)
                if not (isinstance(replaced, tuple) and len(replaced) == 2):
                    raise TypeError(f"a forward pre-hook with_kwargs must return None or (args, kwargs), "
                                    f"got {type(replaced).__name__}")
                args, kwargs = replaced
            elif replaced is not None:                                # new inputs (one, or a tuple)
                args = replaced if isinstance(replaced, tuple) else (replaced,)
        hooked = None
        if (self._backward_hooks or self._backward_pre_hooks) and is_grad_enabled():
            hooked = HookedCall(self, [h for h, _ in self._backward_hooks.values()],
                                [h for h, _ in self._backward_pre_hooks.values()])
            args = hooked.inputs(args)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(self._forward_hooks.values()):
            replaced = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            output = output if replaced is None else replaced
        return output if hooked is None else hooked.output(output)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False) -> "RemovableHandle":
        """Call ``hook(module, inputs, output)`` after every forward of this module, as PyTorch does:
        the way to look at what a layer inside a model computes (keep ``output`` somewhere) without
        changing the model's code. A hook that returns something replaces the output with it.
        ``handle.remove()`` takes the hook off again. PyTorch's options: ``prepend`` runs it before
        the hooks already there, ``with_kwargs`` calls ``hook(module, inputs, kwargs, output)``."""
        return _added_hook(self._forward_hooks, hook, prepend, with_kwargs)

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False) -> "RemovableHandle":
        """Call ``hook(module, inputs)`` before every forward of this module (PyTorch's): a hook that
        returns something replaces the inputs with it (a tuple, or one value for a single input).
        ``with_kwargs``: ``hook(module, inputs, kwargs)``, returning None or (inputs, kwargs)."""
        return _added_hook(self._forward_pre_hooks, hook, prepend, with_kwargs)

    def register_full_backward_hook(self, hook, prepend=False) -> "RemovableHandle":
        """Call ``hook(module, grad_input, grad_output)`` in every backward() through this module, once
        the gradients w.r.t. its positional inputs are known (PyTorch's): tuples, None where an input
        (an output) has none. A hook that returns a tuple replaces grad_input. (backward_hooks.py)"""
        return _added_hook(self._backward_hooks, hook, prepend, False)

    def register_full_backward_pre_hook(self, hook, prepend=False) -> "RemovableHandle":
        """Call ``hook(module, grad_output)`` in every backward() through this module, before the
        gradient enters it (PyTorch's); one that returns a tuple replaces grad_output."""
        return _added_hook(self._backward_pre_hooks, hook, prepend, False)

    # ------------------------------------------------------------------ walking the tree
    def named_modules(self, prefix: str = "", remove_duplicate: bool = True):
        """(dotted name, module) for this module and every descendant, each once (a shared module
        under its first name; every name with ``remove_duplicate=False``), parents first."""
        seen, stack = set(), [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate and id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{k}" if name else k, m) for k, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))  # reversed: pop in registration order

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:     # (a child under two names: once, as PyTorch)
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_entries(self, table: str, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, tensor) from ``table`` of this module (and, with ``recurse``, of every module
        below), each tensor once (a shared weight under its first name) unless ``remove_duplicate``
        is False; names start with ``prefix``."""
        seen = set()
        modules = self.named_modules(prefix, remove_duplicate) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """(dotted name, Parameter) for every parameter, each once (as an optimizer wants them),
        PyTorch's arguments: ``recurse=False`` this module's own only."""
        if not isinstance(prefix, str):
            raise TypeError(f"named_parameters: prefix must be a string, got {prefix!r} (recurse= by name)")
        return self._named_entries("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def requires_grad_(self, flag: bool = True) -> "Module":
        """Freeze (False) or unfreeze every parameter, as PyTorch's: optimizers skip frozen ones."""
        for p in self.parameters():
            p.requires_grad_(flag)
        return self

    def apply(self, fn) -> "Module":
        """``fn(module)`` for every submodule, then this one (PyTorch's order; e.g. a custom init)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        return self._named_entries("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------ modes and gradients
    def train(self, mode: bool = True) -> "Module":
        """Training mode (batch statistics in BatchNorm, dropout on) for the whole tree: each child's
        own train(mode) is called, so a child that overrides it (a BatchNorm kept frozen) is obeyed."""
        if not isinstance(mode, bool):
            raise ValueError(f"{type(self).__name__}.train: mode must be True or False, got {mode!r}")
        object.__setattr__(self, "training", mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: running statistics in BatchNorm, dropout and drop-path off."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``set_to_none=False``: fill it with zeros instead)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def get_submodule(self, target: str) -> "Module":
        """The module at a dotted path, such as "stages.2.blocks.0" (PyTorch's get_submodule)."""
        module = self
        for part in target.split(".") if target else []:
            if part not in module._modules or module._modules[part] is None:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} (looking for {target!r})")
            module = module._modules[part]
        return module

    # ------------------------------------------------------------------ devices and dtypes
    def to(self, device=None, dtype=None) -> "Module":
        """Move every parameter and buffer in place (same Parameter objects, new arrays).

        ``dtype`` converts floating-point entries only (an integer counter stays integer).
        """
        device, dtype = backend.device_and_dtype(device, dtype)         # (to(dtype) too, as PyTorch)

        def convert(array):
            if device is not None:
                array = backend.to_device(array, device)
            if dtype is not None and array.dtype.kind == "f" and array.dtype != dtype:
                array = array.astype(dtype)
            return array

        for t in list(self.parameters()) + list(self.buffers()):
            _replace_data(t, convert(t.data))
            if t.grad is not None:
                _replace_data(t.grad, convert(t.grad.data))
        return self

    def float(self) -> "Module":
        return self.to(dtype=backend.float32)

    def double(self) -> "Module":
        return self.to(dtype=backend.float64)

    # PyTorch's short spellings of to(...)
    def half(self) -> "Module": return self.to(dtype=backend.float16)
    def cpu(self) -> "Module": return self.to("cpu")
    def cuda(self, device=None) -> "Module": return self.to(backend.cuda_device(device))

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self, *, destination=None, prefix: str = "", keep_vars: bool = False) -> "dict[str, object]":
        """Dotted name -> value for every parameter and persistent buffer, with PyTorch's arguments.

        ``keep_vars=False`` (default): a host NumPy array, a copy; so cut from the graph, as PyTorch's
        detached tensors are, and from the model too (training on leaves a checkpoint taken before
        as it was, and ``np.savez`` writes it as it is). ``keep_vars=True``: the Parameter and buffer
        objects themselves. ``prefix`` goes before every key as given (PyTorch's: "model." for
        "model.weight"). ``destination``, a dict, is filled and returned instead of a new OrderedDict.
        """
        if not isinstance(prefix, str):
            raise TypeError(f"state_dict: prefix must be a string, got {type(prefix).__name__} {prefix!r}")
        if destination is None:
            destination = OrderedDict()
        elif not isinstance(destination, MutableMapping):
            raise TypeError(f"state_dict: destination must be a dict to fill (or None for a new OrderedDict), "
                            f"got {type(destination).__name__}")
        for key, _, _, t in self._saved_entries():
            destination[prefix + key] = t if keep_vars else backend.to_numpy(t.data).copy()
        return destination

    def _saved_entries(self):
        """(dotted name, module, its name there, tensor) for what a state_dict holds: the parameters and
        the persistent buffers, under every name they have (tied weights and a shared module under
        each, as PyTorch's). The module and name say where ``load_state_dict(assign=True)`` puts one."""
        for module_name, module in self.named_modules(remove_duplicate=False):
            entries = list(module._parameters.items()) + [(name, b) for name, b in module._buffers.items()
                                                          if name not in module._non_persistent]
            for name, value in entries:
                if value is not None:
                    yield (f"{module_name}.{name}" if module_name else name), module, name, value

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Load parameters and buffers by name; returns (missing_keys, unexpected_keys), a named tuple.

        ``strict`` (default): every key must match, both ways, or nothing is loaded and
        a ValueError lists the missing, unexpected and mis-shaped keys. With
        ``strict=False`` missing/unexpected keys are returned instead (mis-shaped
        keys are always an error: there is no sensible partial load of a weight).

        ``assign=False`` (default) copies the values into the module's own tensors, in place: they
        keep their dtype and device, and an optimizer holding them sees the new values.
        ``assign=True`` (PyTorch's) makes the given tensors the module's instead, with their dtype,
        device and memory (no copy; an array is wrapped): a parameter's becomes a Parameter (a given
        Parameter is used itself) with the module's requires_grad, a buffer's is the tensor itself.
        The old objects leave the module, so create the optimizer afterwards; and a weight tied
        under two names stays tied only if both are given one Parameter (``state_dict(keep_vars=True)``
        of a tied model gives that; the arrays of a plain state_dict untie it, as in PyTorch).
        """
        own = OrderedDict((key, (module, name, t)) for key, module, name, t in self._saved_entries())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        shape = lambda v: tuple(getattr(v, "shape", ()))  # noqa: E731 - a plain number has shape ()
        mis_shaped = [f"{k}: checkpoint {shape(state_dict[k])}, model {shape(t)}"
                      for k, (_, _, t) in own.items() if k in state_dict and shape(state_dict[k]) != shape(t)]
        # Convert every value before writing any: a bad one late in the dict must not leave the
        # earlier ones loaded ("nothing is loaded" on failure).
        converted, not_numbers, not_float = {}, [], []
        for key, (_, _, t) in own.items():
            if key in state_dict and shape(state_dict[key]) == shape(t):
                value = state_dict[key]
                try:
                    if assign:                     # (Tensor(array) is over the array's memory, on its device)
                        value = value if isinstance(value, Tensor) else Tensor(value)
                    else:
                        value = backend.as_array(value.data if isinstance(value, Tensor) else value,
                                                 dtype=t.dtype, device=t.device)
                except (TypeError, ValueError) as exc:
                    not_numbers.append(f"{key}: {exc}")
                    continue
                if assign and isinstance(t, Parameter) and t.requires_grad and value.dtype.kind != "f":
                    not_float.append(f"{key}: {value.dtype}")
                converted[key] = value
        problems = []
        if mis_shaped:
            problems.append("mis-shaped keys: " + "; ".join(mis_shaped))
        if not_numbers:
            problems.append("keys that are not arrays of numbers: " + "; ".join(not_numbers))
        if not_float:
            problems.append("keys with values that are not floating-point for parameters that require grad "
                            "(assign=True keeps the module's requires_grad): " + "; ".join(not_float))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise ValueError(f"load_state_dict into {type(self).__name__} failed: " + " | ".join(problems))
        for key, value in converted.items():
            module, name, t = own[key]
            if not assign:
                t.data[...] = value
                t._bump_version()
            elif isinstance(t, Parameter):                  # (a Parameter of a tensor is over its memory)
                module._parameters[name] = (value.requires_grad_(t.requires_grad) if isinstance(value, Parameter)
                                            else Parameter(value, requires_grad=t.requires_grad))
            else:                  # a buffer stays one (PyTorch's setattr makes a given Parameter a parameter)
                module._buffers[name] = value.detach() if isinstance(value, Parameter) else value
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The layer's settings, shown inside its parentheses (override in layers)."""
        return ""

    def __repr__(self):
        lines = []
        for name, m in self.named_children():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        if extra:  # settings first, then the children, as PyTorch prints them
            lines.insert(0, "  " + extra)
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _added_hook(hooks, hook, prepend, with_kwargs):
    """``hook`` put in the table ``hooks`` (last, or first with ``prepend``); its handle removes it."""
    handle = RemovableHandle(hooks)
    hooks[handle.id] = (hook, bool(with_kwargs))
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def _is_buffer_value(value):
    return value is None or isinstance(value, Tensor) and not isinstance(value, Parameter)


# ---------------------------------------------------------------------------- containers

class _ModuleSequence(Module):
    """What Sequential and ModuleList share: modules named 0, 1, ... in order, with a list's
    methods (an insert or a deletion renumbers them, as PyTorch's do)."""

    def _position(self, i):
        n = len(self._modules)
        if not is_int(i) or not -n <= i < n:
            raise IndexError(f"{type(self).__name__}: index {i!r} is out of range for {n} modules")
        return i % n

    def _renumber(self, modules):
        self._modules.clear()
        self.extend(modules)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)

    def pop(self, index=-1):
        modules = list(self._modules.values())
        module = modules.pop(self._position(index))
        self._renumber(modules)
        return module

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self._sliced(list(self._modules.items())[i])
        return list(self._modules.values())[self._position(i)]

    def __setitem__(self, i, module):
        self.add_module(list(self._modules)[self._position(i)], module)     # (in place: keeps its name)

    def __delitem__(self, i):
        modules = list(self._modules.values())
        del modules[i if isinstance(i, slice) else self._position(i)]
        self._renumber(modules)

    def __add__(self, other):
        return type(self)().extend(list(self) + list(other))

    def __iadd__(self, other):
        return self.extend(other)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Sequential(_ModuleSequence):
    """Modules applied one after another: Sequential(a, b, c)(x) = c(b(a(x)))."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    @staticmethod
    def _sliced(named):
        return Sequential(OrderedDict(named))   # the children keep their names (and so their state_dict keys)


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (a plain list would hide them)."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    @staticmethod
    def _sliced(named):
        return ModuleList(m for _, m in named)  # (a new list, numbered from 0, as PyTorch's)

    def forward(self, *args, **kwargs):
        raise TypeError("ModuleList is a container, not a layer: iterate over it in your forward()")


class ModuleDict(Module):
    """A dict of modules whose parameters are registered, each under its key (``heads["cls"]``)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def update(self, modules) -> None:
        """Add (or replace) modules from a dict or from (name, module) pairs."""
        for name, module in (modules.items() if hasattr(modules, "items") else modules):
            self.add_module(name, module)

    def __getitem__(self, name): return self._modules[name]
    def __setitem__(self, name, module): self.add_module(name, module)
    def __delitem__(self, name): del self._modules[name]
    def pop(self, name): return self._modules.pop(name)
    def clear(self): self._modules.clear()
    def __contains__(self, name): return name in self._modules
    def __len__(self): return len(self._modules)
    def __iter__(self): return iter(self._modules)
    def keys(self): return self._modules.keys()
    def values(self): return self._modules.values()
    def items(self): return self._modules.items()

    def forward(self, *args, **kwargs):
        raise TypeError("ModuleDict is a container, not a layer: pick its modules in your forward()")


class ParameterList(Module):
    """A list of Parameters that are registered (named 0, 1, ...), as a plain list's would not be.
    A plain tensor put in becomes a Parameter over the same memory, as in PyTorch."""

    def __init__(self, values=()):
        super().__init__()
        self.extend(values)

    def append(self, param) -> "ParameterList":
        self[len(self._parameters)] = param
        return self

    def extend(self, values) -> "ParameterList":
        for p in values:
            self.append(p)
        return self

    def __setitem__(self, i, param):
        if not 0 <= i <= len(self._parameters) and not -len(self._parameters) <= i < 0:
            raise IndexError(f"ParameterList: index {i} is out of range for {len(self._parameters)} parameters")
        param = param if isinstance(param, Parameter) or not isinstance(param, Tensor) else Parameter(param)
        self.register_parameter(str(i % max(len(self._parameters), 1) if i < 0 else i), param)

    def __getitem__(self, i):
        values = list(self._parameters.values())
        return ParameterList(values[i]) if isinstance(i, slice) else values[i]

    def __len__(self): return len(self._parameters)
    def __iter__(self): return iter(self._parameters.values())

    def __repr__(self):
        lines = [f"  ({name}): Parameter of shape {tuple(p.shape)}, {p.dtype}" for name, p in self._parameters.items()]
        return "ParameterList(\n" + "\n".join(lines) + "\n)" if lines else "ParameterList()"

    def forward(self, *args, **kwargs):
        raise TypeError("ParameterList is a container, not a layer: use its parameters in your forward()")


class Flatten(Module):
    """x.flatten(start_dim, end_dim): by default every axis but the batch's (PyTorch's nn.Flatten)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)


class Identity(Module):
    """y = x (a placeholder, e.g. the shortcut of a block that keeps its shape)."""

    def forward(self, x):
        return x
