"""Where the fast wing plugs in: a table of twins, and the one switch that turns them on.

tinycoat writes every operation once for reading — the *reference tier*: forward beside
backward, the formula as array code that runs on NumPy and CuPy alike. That is the code the
lessons cite. Every speed technique (cache blocks on every core, memory layouts, CUDA kernels)
lives apart, in the package ``tinycoat.fast``, as a *twin*: a Function, or a plain function,
with the same arguments and the same results as a reference one, registered here for one
device. The reference tier only ever asks this table ("what runs for GELU on the CPU?");
it never imports the wing, which fills the table when it is imported.

    twins.pick(GELU, "cpu")      # GELU itself, or its registered twin while the wing is on

``Function.apply`` (autograd.py) asks that for every op it runs; so do the engine's gradient
sum and AdamW's update. ``tinycoat.fast.enable()`` / ``disable()`` / ``enabled(...)`` are the
public switch; tests/test_fast_twins.py proves every registered twin equal to its reference.
"""
from __future__ import annotations

_twins = {}          # (reference, device) -> (twin, accepts)
_on = False


def register(reference, twin, device: str, accepts=None) -> None:
    """Make ``twin`` run in place of ``reference`` on ``device`` ('cpu' or 'gpu') while the wing is on.

    A twin that handles only some inputs (CUDA kernels: float32 and float64) comes with
    ``accepts(*arrays, **params) -> bool``, asked at every call; for other inputs the reference runs.
    """
    if device not in ("cpu", "gpu"):
        raise ValueError(f"twins.register: device must be 'cpu' or 'gpu', got {device!r}")
    _twins[(reference, device)] = (twin, accepts)


def registered() -> dict:
    """{(reference, device): twin} of every twin there is."""
    return {key: twin for key, (twin, _) in _twins.items()}


def set_enabled(flag: bool) -> bool:
    """Turn the twins on or off; returns the previous setting."""
    global _on
    previous, _on = _on, bool(flag)
    return previous


def is_enabled() -> bool:
    return _on


def pick(reference, device, /, *args, **params):
    """What runs for ``reference`` on ``device``: its twin while the wing is on and the twin
    accepts these arguments, else ``reference`` itself."""
    if not _on or (reference, device) not in _twins:
        return reference
    twin, accepts = _twins[(reference, device)]
    return twin if accepts is None or accepts(*args, **params) else reference
