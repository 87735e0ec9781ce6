"""F.pad: PyTorch's spelling of constant padding, for the core op ``ops.pad``.

PyTorch lists the pads from the *last* axis backwards, two numbers per axis:
``(left, right)`` pads W, ``(left, right, top, bottom)`` pads W then H, and so on; the axes
it does not reach are left alone. ``ops.pad`` takes NumPy's form, one (before, after) pair per
axis from the first; this file only translates (the op's backward crops the border away).
"""
from __future__ import annotations

from tinycoat.checks import is_int
from tinycoat.ops import pad as pad_axes


def pad(input, pad, mode="constant", value=None):  # noqa: A002 - PyTorch's argument names
    """``input`` with ``value`` (0 unless given) added around its last len(pad)/2 axes (see the top of this file)."""
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is implemented, got mode={mode!r}")
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim or not all(is_int(p) for p in pad):
        raise ValueError(f"pad: expected an even number of ints, two per axis from the last, for at most "
                         f"{input.ndim} axes (shape {tuple(input.shape)}), got {pad}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative pads (cropping) are not supported here; slice the tensor instead, got {pad}")
    pairs = [(pad[i], pad[i + 1]) for i in range(0, len(pad), 2)]            # last axis first
    widths = [(0, 0)] * (input.ndim - len(pairs)) + pairs[::-1]
    return pad_axes(input, widths, 0 if value is None else value)
