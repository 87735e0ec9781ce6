"""Optimizer: the bookkeeping every update rule shares.

Parameters are held in *groups* (``param_groups``), each a dict with its own
hyper-parameters, so one optimizer can apply weight decay to weights but not to
biases or norms (see ``weight_decay_groups``). Per-parameter state (momentum,
Adam moments) lives in ``self.state[param]``. Updates change ``param.data`` in
place, outside the autograd graph: an update is not part of the model. Each
update counts as an in-place change (``param._bump_version()``), so a graph
recorded before ``step()`` refuses to backward instead of using the new weights.
"""
from __future__ import annotations

from tinycoat import backend
from tinycoat.tensor import Tensor


class Optimizer:
    STATE_KEYS = ()     # the names of a parameter's state, all of them or none (each update rule's own;
    #                     a rule that names none is not checked; state_keys adds those a setting keeps)

    def __init__(self, params, defaults: dict):
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict):
        """Optimize more parameters, with their own settings (the defaults fill the rest), as PyTorch's:
        e.g. a layer unfrozen part-way through training."""
        group = {**self.defaults, **group, "params": [group["params"]] if isinstance(group["params"], Tensor)
                 else list(group["params"])}
        self.check_group(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in group["params"]:
            # (A frozen parameter, requires_grad=False, is welcome: it gets no gradient, and every
            # update rule skips a parameter without one, as in PyTorch.)
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: every parameter must be a Tensor, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: a non-leaf tensor (the result of an operation) cannot "
                                 "be optimized: pass the leaf tensors it was computed from")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: a parameter appears in two groups")
            seen.add(id(p))
        self.param_groups.append(group)

    def check_group(self, group: dict):
        """Raise a clear error for a bad hyper-parameter of ``group`` (each update rule checks its own)."""

    def state_keys(self, group: dict) -> tuple:
        """The names of the state of a parameter in ``group``: STATE_KEYS, and any that one of the
        group's settings keeps besides (AdamW's ``amsgrad``: its running maximum)."""
        return self.STATE_KEYS

    def zero_grad(self, set_to_none: bool = True):
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def stepped(self, group):
        """(parameter, its state dict) for each parameter of ``group`` that has a gradient, in order —
        the ones an update rule moves — each counted as changed in place (``_bump_version``: a graph
        that kept it now refuses to backward)."""
        for p in group["params"]:
            if p.grad is not None:
                p._bump_version()
                yield p, self.state.setdefault(p, {})

    # ----------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        """{'state': {index: {name: array or number}}, 'param_groups': [hyper-parameters]}.

        Parameters are named by their position across the groups, as in PyTorch,
        so the state can be loaded into an optimizer built the same way.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index[id(p)] = len(index)
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {index[id(p)]: dict(s) for p, s in ((p, self.state[p]) for g in self.param_groups
                                                     for p in g["params"] if p in self.state)}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict):
        if not (isinstance(state_dict, dict) and isinstance(state_dict.get("state"), dict)
                and isinstance(state_dict.get("param_groups"), (list, tuple))
                and all(isinstance(g, dict) and "params" in g for g in state_dict["param_groups"])):
            got = f"keys {list(state_dict)}" if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{type(self).__name__}.load_state_dict: expected a dict made by state_dict(), with "
                             f"'state' (a dict) and 'param_groups' (a list of dicts, each with 'params'), got {got}")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(g["params"]) != len(mine["params"]) for g, mine in zip(groups, self.param_groups)):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved optimizer has groups of sizes "
                             f"{[len(g['params']) for g in groups]}, this one "
                             f"{[len(g['params']) for g in self.param_groups]}")
        name = f"{type(self).__name__}.load_state_dict"
        merged = [{**mine, **{k: v for k, v in saved.items() if k != "params"}}
                  for mine, saved in zip(self.param_groups, groups)]
        for group in merged:                # the saved settings meet the same checks as typed ones
            self.check_group(group)
        # Each parameter's state is checked against its group's settings as loaded: a group saved with
        # amsgrad=True keeps one more array per parameter than one without.
        params = [(p, group) for group in merged for p in group["params"]]
        state = {}
        for i, s in state_dict["state"].items():
            if not (str(i).isdigit() and int(i) < len(params)):
                raise ValueError(f"{name}: state for parameter {i!r}, but parameters are numbered 0 to "
                                 f"{len(params) - 1}")
            p, group = params[int(i)]
            keys = self.state_keys(group)
            if not isinstance(s, dict) or (s and keys and set(s) != set(keys)):
                raise ValueError(f"{name}: parameter {i}'s state holds {sorted(s) if isinstance(s, dict) else s!r}, "
                                 f"but {type(self).__name__} keeps {list(keys)} (a state saved by another "
                                 "optimizer, or with other settings?)")
            for key, v in s.items():
                if hasattr(v, "shape") and v.shape not in ((), p.shape):
                    raise ValueError(f"{name}: {key!r} of parameter {i} has shape "
                                     f"{tuple(v.shape)}, the parameter {tuple(p.shape)}")
            state[p] = {k: (_like(v, p) if hasattr(v, "shape") and v.shape == p.shape else v) for k, v in s.items()}
        for mine, group in zip(self.param_groups, merged):     # all checked: now change this optimizer
            mine.update(group)
        self.state = state


def _like(array, param):
    """A copy of a saved array (NumPy or CuPy) on the parameter's device, in its dtype."""
    return backend.as_array(array, dtype=param.dtype, device=param.device).copy()


def weight_decay_groups(named_parameters, weight_decay: float, no_decay=("relative_bias",)):
    """Split parameters into a decayed group and an undecayed one.

    Weight decay shrinks weights towards 0, a prior that suits matrices and
    kernels. Biases, normalization scales and the relative-position bias table
    are not weights in that sense (shrinking a LayerNorm scale to 0 silences the
    layer), so they get none: every 0-d/1-d parameter, and any whose name holds
    one of ``no_decay``.
    """
    decay, skip = [], []
    for name, p in named_parameters:
        if not p.requires_grad:
            continue
        (skip if p.ndim <= 1 or any(key in name for key in no_decay) else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if skip:
        groups.append({"params": skip, "weight_decay": 0.0})
    return [g for g in groups if g["params"]]
