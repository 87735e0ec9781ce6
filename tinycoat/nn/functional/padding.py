"""F.pad: PyTorch's spelling of padding: constant padding by the core op ``ops.pad``, and the modes
that fill the border with the input's own entries (reflect, replicate, circular) as a gather.

PyTorch lists the pads from the *last* axis backwards, two numbers per axis:
``(left, right)`` pads W, ``(left, right, top, bottom)`` pads W then H, and so on; the axes
it does not reach are left alone. ``ops.pad`` takes NumPy's form, one (before, after) pair per
axis from the first; for a constant this file only translates (the op's backward crops the
border away). The other modes read every padded place from an entry of the input
(``border_sources``), so their backward adds each place's gradient into that entry.
"""
from __future__ import annotations

from tinycoat.checks import is_int
from tinycoat.ops import pad as pad_axes
from tinycoat.tensor import Tensor


def pad(input, pad, mode="constant", value=None):  # noqa: A002 - PyTorch's argument names
    """``input`` padded around its last len(pad)/2 axes (see the top of this file): with ``value`` (0
    unless given), or, by ``mode``, with the input's own entries (``border_sources``)."""
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim or not all(is_int(p) for p in pad):
        raise ValueError(f"pad: expected an even number of ints, two per axis from the last, for at most "
                         f"{input.ndim} axes (shape {tuple(input.shape)}), got {pad}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative pads (cropping) are not supported here; slice the tensor instead, got {pad}")
    pairs = [(pad[i], pad[i + 1]) for i in range(0, len(pad), 2)]            # last axis first
    if mode == "constant":
        widths = [(0, 0)] * (input.ndim - len(pairs)) + pairs[::-1]
        return pad_axes(input, widths, 0 if value is None else value)
    if value is not None:
        raise ValueError(f"pad: mode={mode!r} pads with the input's own entries and takes no value, got value={value!r}")
    out = input
    for k, (before, after) in enumerate(pairs):               # one axis at a time, the last first
        axis = input.ndim - 1 - k
        out = out.index_select(axis, Tensor(border_sources(input.xp, out.shape[axis], before, after, mode, axis)))
    return out


def border_sources(xp, n, before, after, mode, axis):
    """Which entry of an axis of n fills each place of the padded axis, places −before … n + after − 1:

        replicate  the nearest end:                   clip(p, 0, n − 1)
        reflect    mirrored about the end, not repeating it: −p before, 2(n − 1) − p after
        circular   wrapped round:                     p mod n

    A gather (index_select), so the backward adds each padded place's gradient into its source."""
    longest = max(before, after)
    if n == 0:
        raise ValueError(f"pad: mode={mode!r} copies the input's own entries, and axis {axis} has none")
    if (mode == "reflect" and longest >= n) or (mode == "circular" and longest > n):
        most = "less than" if mode == "reflect" else "at most"
        raise ValueError(f"pad: mode={mode!r} needs pads {most} the axis' size; axis {axis} has {n} entries, "
                         f"pads ({before}, {after})")
    p = xp.arange(-before, n + after)
    if mode == "replicate":
        return xp.clip(p, 0, n - 1)
    if mode == "circular":
        return p % n
    return xp.where(p < 0, -p, xp.where(p >= n, 2 * (n - 1) - p, p))
