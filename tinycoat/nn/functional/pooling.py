"""Pooling: summarize each k_h×k_w window of every channel by its maximum or its mean.

Both are written with lesson 04's views of the windows (im2col.py). For kernel offset
(a, b), ``shift_{a,b}(x_pad)`` is the view of the input that every window sees there:

    max:  y = max_{a,b} shift_{a,b}(x_pad)      dL/dx: g goes to the one pixel that won
    mean: y = Σ_{a,b} shift_{a,b}(x_pad) / d    dL/dx: g/d to every pixel of the window

The max lays the k_h·k_w slots of every window side by side (``windows``) and takes the
maximum and the winning slot along them; the mean adds the k_h·k_w shifted views. Both
backward passes are col2im: each slot's gradient goes back to the pixel it read.

Shapes: (N, C, H, W) -> (N, C, Ho, Wo), stride defaulting to the kernel size
(non-overlapping windows); one image (C, H, W) -> (C, Ho, Wo), as a batch of one (conv.py's
``batched``). Max pooling pads with −∞ so a pad never wins; average pooling pads with 0.
PyTorch's settings, with PyTorch's defaults:

* ``ceil_mode``: Ho = ⌈(H + 2p − k)/s⌉ + 1 windows instead of ⌊·⌋ + 1, so that the last rows
  are not left out: the last window may reach past the bottom (right) padding. Here the input
  is padded that much further (``overhang``), and floor-mode windows over it are ceil mode's.
* ``count_include_pad`` (True): the mean's divisor d counts the padding in the window (k_h·k_w
  unless ceil_mode's last window overhangs; the overhang past the padding never counts);
  False counts only the input's own pixels, so a window at the border is the mean of its
  pixels. ``divisor_override``: d is that number, for every window.
* ``dilation`` (max pooling only, as in PyTorch): the window's k taps lie d pixels apart
  (im2col.py), so each counts as a window of span d·(k − 1) + 1 in the sizes below.
"""
from __future__ import annotations

from tinycoat.autograd import Function
from tinycoat.backend import DeviceError, get_array_module
from tinycoat.checks import check_bool, check_float_input, check_pair, is_int
from tinycoat.nn.functional.conv import batched
from tinycoat.nn.functional.im2col import col2im, output_size, shifted, span, windows
from tinycoat.tensor import Tensor


def pool_output_size(h, w, kernel, stride, padding, ceil_mode=False, dilation=(1, 1)):
    """(Ho, Wo): how many windows there are along each axis, counted as PyTorch counts them.

    Floor mode: Ho = ⌊(H + 2p − k)/s⌋ + 1, the windows inside the padded input (im2col.py's
    ``output_size``). Ceil mode: Ho = ⌈(H + 2p − k)/s⌉ + 1, one more where rows would be left
    over — but not a window that would start in the bottom padding, (Ho − 1)·s >= H + p, as it
    would hold padding alone (PyTorch's rule). So every undilated window, in either mode, holds a
    pixel of the input (its start is below H, and the top padding is at most k/2). A dilated one
    can step over the input's pixels from padding to padding: its maximum is −∞, as in PyTorch.
    """
    if not ceil_mode:
        return output_size(h, w, kernel, stride, padding, dilation)

    def count(n, k, s, p):
        out = -(-(n + 2 * p - k) // s) + 1                          # ⌈(n + 2p − k)/s⌉ + 1
        return out - 1 if (out - 1) * s >= n + p else out
    (kh, kw), (sh, sw), (ph, pw) = span(kernel, dilation), stride, padding
    return count(h, kh, sh, ph), count(w, kw, sw, pw)


def overhang(h, w, kernel, stride, padding, out_hw, dilation=(1, 1)):
    """(rows, columns) that the last windows reach past the padded input: the end of the last
    window, (Ho − 1)·s + k (k: the span, if dilated), less H + 2p. 0 but for ceil mode's extra window."""
    return tuple(max(0, (o - 1) * s + k - (n + 2 * p))
                 for n, k, s, p, o in zip((h, w), span(kernel, dilation), stride, padding, out_hw))


def pad_pool(x, padding, extra, value):
    """x padded by ``padding`` on every side and by the overhang ``extra`` more at the bottom and
    right, all with ``value``: floor-mode windows over that are ceil mode's windows over x."""
    (ph, pw), (eh, ew) = padding, extra
    if not (ph or pw or eh or ew):
        return x
    xp = get_array_module(x)
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), mode="constant", constant_values=value)


def pool_col2im(slot_grad, x_shape, kernel, stride, padding, extra, like, dilation=(1, 1)):
    """col2im over the input extended by the overhang ``extra``, cropped back to x: the gradient
    of the overhang, like that of the padding, goes nowhere."""
    n, c, h, w = x_shape
    grad = col2im(slot_grad, (n, c, h + extra[0], w + extra[1]), kernel, stride, padding, like=like,
                  dilation=dilation)
    return grad[:, :, :h, :w]


def window_divisors(h, w, kernel, stride, padding, out_hw, count_include_pad):
    """(rows, cols): the pixels that each window of the mean counts, per axis; window (r, q)
    divides by d[r, q] = rows[r]·cols[q]. Along an axis, window r covers rows r·s − p to
    r·s − p + k − 1 of the input; it counts those inside the padded input, [−p, H + p), with
    count_include_pad, else the input's own, [0, H). (Only ceil mode's extra window reaches past
    H + p, and that part is never counted, as in PyTorch.)"""
    def counts(n, k, s, p, o):
        low, high = (-p, n + p) if count_include_pad else (0, n)
        return [min(r * s - p + k, high) - max(r * s - p, low) for r in range(o)]
    return tuple(counts(*axis) for axis in zip((h, w), kernel, stride, padding, out_hw))


def window_maxima(x, kernel, stride, padding, ceil_mode=False, dilation=(1, 1)):
    """(y, winner, overhang): the maximum of every window of x (N, C, H, W), the slot a·kw + b of
    the window that holds it (the first one on ties, as in PyTorch), and ceil mode's overhang."""
    xp = get_array_module(x)
    (kh, kw), (h, w) = kernel, x.shape[2:]
    out_hw = pool_output_size(h, w, kernel, stride, padding, ceil_mode, dilation)
    extra = overhang(h, w, kernel, stride, padding, out_hw, dilation)
    x_pad = pad_pool(x, padding, extra, value=-float("inf"))
    patches = windows(x_pad, kernel, stride, dilation)              # (N, C, kh, kw, Ho, Wo)
    n, c, _, _, ho, wo = patches.shape
    patches = patches.reshape(n, c, kh * kw, ho, wo)                # window slot a·kw + b (a copy)
    y, winner = patches.max(axis=2), patches.argmax(axis=2)
    # Pixels that are all −∞ tie with the padding, and argmax may name a padding slot: name the
    # window's first pixel instead, as PyTorch does (a window with none keeps its slot 0).
    first = first_pixel_slots((h, w), kernel, stride, padding, dilation, out_hw, xp)
    return y, xp.where((y == -float("inf")) & (first >= 0), first, winner), extra


def first_pixel_slots(hw, kernel, stride, padding, dilation, out_hw, xp):
    """(Ho, Wo): the slot a·kw + b of each window's first pixel of the input, −1 for a window with
    none (a dilated one that steps over the input). Along an axis, window r starts at r·s − p and
    tap a lies at r·s − p + d·a: the first tap at or past 0 is a = ⌈max(0, p − r·s)/d⌉, a pixel if
    a < k and it lies before the end of the input."""
    def first(n, k, s, p, d, o):
        start = xp.arange(o) * s - p
        a = (xp.maximum(0, -start) + d - 1) // d
        return xp.where((a < k) & (start + d * a < n), a, -1)
    rows, cols = (first(*axis) for axis in zip(hw, kernel, stride, padding, dilation, out_hw))
    return xp.where((rows[:, None] >= 0) & (cols[None, :] >= 0), rows[:, None] * kernel[1] + cols[None, :], -1)


class MaxPool2d(Function):
    def forward(self, x, kernel=(2, 2), stride=(2, 2), padding=(0, 0), ceil_mode=False, dilation=(1, 1)):
        # which slot won is kept for the backward
        y, self.winner, self.extra = window_maxima(x, kernel, stride, padding, ceil_mode, dilation)
        self.x_shape, self.kernel, self.stride, self.padding = x.shape, kernel, stride, padding
        self.dilation = dilation
        return y

    def backward(self, g):
        kw = self.kernel[1]
        # slot (a, b) of each window receives g where it won, and col2im adds the slots up
        return pool_col2im(lambda a, b: g * (self.winner == a * kw + b),
                           self.x_shape, self.kernel, self.stride, self.padding, self.extra, like=g,
                           dilation=self.dilation)


class AvgPool2d(Function):
    def forward(self, x, kernel=(2, 2), stride=(2, 2), padding=(0, 0), ceil_mode=False, count_include_pad=True,
                divisor_override=None):
        xp = get_array_module(x)
        (kh, kw), (h, w) = kernel, x.shape[2:]
        out_hw = pool_output_size(h, w, kernel, stride, padding, ceil_mode)
        self.extra = overhang(h, w, kernel, stride, padding, out_hw)
        self.x_shape, self.kernel, self.stride, self.padding = x.shape, kernel, stride, padding
        # 1/d: a number where every window has the same d (the override; k_h·k_w by default), else
        # one per window, an (Ho, Wo) array that broadcasts over (N, C)
        rows, cols = window_divisors(h, w, kernel, stride, padding, out_hw, count_include_pad)
        if divisor_override is not None:
            self.scale = 1.0 / divisor_override
        elif len(set(rows)) == 1 and len(set(cols)) == 1:
            self.scale = 1.0 / (rows[0] * cols[0])
        else:
            self.scale = 1.0 / (xp.asarray(rows, dtype=x.dtype)[:, None] * xp.asarray(cols, dtype=x.dtype))
        x_pad = pad_pool(x, padding, self.extra, value=0.0)
        y = xp.zeros(x.shape[:2] + out_hw, dtype=x.dtype)
        for a in range(kh):
            for b in range(kw):
                y += shifted(x_pad, a, b, stride, out_hw)
        y *= self.scale
        return y

    def backward(self, g):
        share = g * self.scale        # every pixel of a window gets an equal share, 1/d of its g
        return pool_col2im(lambda a, b: share, self.x_shape, self.kernel, self.stride, self.padding, self.extra,
                           like=g)


def pool_arguments(name, kernel_size, stride, padding, ceil_mode):
    """(kernel, stride, padding) as pairs, stride defaulting to the kernel, each checked, and
    ceil_mode a bool: a clear error naming the argument and the form it takes."""
    kernel = check_pair(name, "kernel_size", kernel_size)
    stride = kernel if stride is None else check_pair(name, "stride", stride)
    pads = check_pair(name, "padding", padding, positive=False)
    if pads[0] > kernel[0] // 2 or pads[1] > kernel[1] // 2:
        raise ValueError(f"{name}: padding must be at most half the kernel_size {kernel} (PyTorch's rule: "
                         f"more would let a window hold nothing but padding), got {padding!r}")
    check_bool(name, "ceil_mode", ceil_mode)
    return kernel, stride, pads


def check_divisor(name, divisor_override):
    """None, or a nonzero int (negative too, as PyTorch takes it)."""
    if divisor_override is not None and not (is_int(divisor_override) and divisor_override != 0):
        raise (ValueError if is_int(divisor_override) else TypeError)(
            f"{name}: divisor_override must be None or a nonzero int, got {divisor_override!r}")
    return divisor_override


def check_pool_input(name, x, kernel, stride, padding, ceil_mode, dilation=(1, 1)):
    """Raise a clear error unless x is (N, C, H, W) or one image (C, H, W) of floats, with room for
    a window: H + 2p >= k (floor mode), or H + 2p − k > −s (ceil mode: one window starting in
    the input); k the window's span where it is dilated."""
    if x.ndim not in (3, 4):
        raise ValueError(f"{name}: expected input (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")
    check_float_input(name, x)          # (a mean of integers is no integer; max pads with −inf)
    ho, wo = pool_output_size(x.shape[-2], x.shape[-1], kernel, stride, padding, ceil_mode, dilation)
    if ho < 1 or wo < 1:
        spans = span(kernel, dilation)
        least = [max(1, k - 2 * p - (s - 1 if ceil_mode else 0)) for k, s, p in zip(spans, stride, padding)]
        how = ((f"dilation {dilation}, spanning {spans}, " if dilation != (1, 1) else "") + f"padding {padding}"
               + (f", stride {stride} and ceil_mode" if ceil_mode else ""))
        raise ValueError(f"{name}: input {tuple(x.shape)} is smaller than the kernel {kernel} (with {how}): "
                         f"expected (N, C, H, W) or (C, H, W) with H, W >= {least[0]}, {least[1]}")


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Maximum over each window of x (N, C, H, W) or (C, H, W), its taps ``dilation`` pixels apart;
    stride defaults to kernel_size. PyTorch's arguments in PyTorch's order; with return_indices,
    also where each maximum lies (``max_indices``), for max_unpool2d."""
    name = f"max_pool2d(k={kernel_size})"
    kernel, stride, padding = pool_arguments(name, kernel_size, stride, padding, ceil_mode)
    dilation = check_pair(name, "dilation", dilation)
    check_bool(name, "return_indices", return_indices)
    check_pool_input(name, x, kernel, stride, padding, ceil_mode, dilation)
    y = batched(MaxPool2d.apply, x, kernel=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
                dilation=dilation)
    if not return_indices:
        return y
    images = x.data if x.ndim == 4 else x.data[None]
    _, winner, _ = window_maxima(images, kernel, stride, padding, ceil_mode, dilation)
    indices = max_indices(winner, images.shape[2:], kernel, stride, padding, dilation)
    return y, Tensor(indices if x.ndim == 4 else indices[0])


def max_indices(winner, hw, kernel, stride, padding, dilation):
    """PyTorch's pooling indices: where each window's maximum lies in its image, as the flat index
    row·W + column of its (H, W) plane. Window (r, q) starts at (r·s − p, q·s − p), and its slot
    a·kw + b lies d·(a, b) further. −1 for a window that holds no pixel of the input (a dilated
    one that steps over it)."""
    xp = get_array_module(winner)
    (h, w), kw, (sh, sw), (ph, pw), (dh, dw) = hw, kernel[1], stride, padding, dilation
    ho, wo = winner.shape[2:]
    rows = xp.arange(ho)[:, None] * sh - ph + dh * (winner // kw)
    cols = xp.arange(wo)[None, :] * sw - pw + dw * (winner % kw)
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    return xp.where(inside, rows * w + cols, -1).astype("int64")


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over each window of x (N, C, H, W) or (C, H, W) (pads count as zeros unless
    count_include_pad=False; divisor_override divides every window's sum by that number instead);
    stride defaults to kernel_size."""
    name = f"avg_pool2d(k={kernel_size})"
    kernel, stride, padding = pool_arguments(name, kernel_size, stride, padding, ceil_mode)
    check_bool(name, "count_include_pad", count_include_pad)
    check_divisor(name, divisor_override)
    check_pool_input(name, x, kernel, stride, padding, ceil_mode)
    return batched(AvgPool2d.apply, x, kernel=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
                   count_include_pad=count_include_pad, divisor_override=divisor_override)


class MaxUnpool2d(Function):
    """Each value back at the pixel its index names, zeros elsewhere: y[n, c].flat[i[n, c, r, q]] =
    x[n, c, r, q]. Backward: each value's gradient is read back from its pixel, dx = dy.flat[i].
    Where two values name one pixel, the output keeps the last of them (row by row, as PyTorch's
    CPU loop writes them) and only that one gets the gradient (``kept``): the backward is the
    forward's own derivative."""

    def forward(self, x, indices=None, out_hw=(1, 1)):
        xp = get_array_module(x)
        n, c = x.shape[:2]
        plane = out_hw[0] * out_hw[1]
        pixel = (xp.arange(n * c).reshape(n, c, 1, 1) * plane + indices).ravel()   # each value's pixel in y
        # The last value of each pixel, in an order that does not depend on how a GPU schedules
        # its writes: sort by pixel, then by the values' own order (one key, as both are unique
        # together); the last of each run of one pixel is kept.
        order = xp.argsort(pixel * x.size + xp.arange(x.size))
        last = xp.ones(x.size, dtype=bool)
        last[:-1] = pixel[order][1:] != pixel[order][:-1]
        kept = xp.empty(x.size, dtype=bool)
        kept[order] = last
        self.kept, self.pixel = kept.reshape(x.shape), pixel
        y = xp.zeros(n * c * plane, dtype=x.dtype)
        y[pixel[kept]] = x.ravel()[kept]
        return y.reshape(n, c, *out_hw)

    def backward(self, g):
        return g.ravel()[self.pixel].reshape(self.kept.shape) * self.kept


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool2d as far as it goes: each value of x (N, C, H, W) or (C, H, W) put back
    where ``indices`` (max_pool2d's, of x's shape) say it came from, zeros elsewhere. The output is
    (H − 1)·s − 2p + k high (likewise wide), or ``output_size`` ((h, w), or with N and C in front)
    where the pooling left rows out: within s of that size, as in PyTorch."""
    name = f"max_unpool2d(k={kernel_size})"
    kernel = check_pair(name, "kernel_size", kernel_size)
    stride = kernel if stride is None else check_pair(name, "stride", stride)
    padding = check_pair(name, "padding", padding, positive=False)
    if x.ndim not in (3, 4):
        raise ValueError(f"{name}: expected input (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")
    check_float_input(name, x)
    if not isinstance(indices, Tensor) or indices.dtype.kind not in "iu" or tuple(indices.shape) != tuple(x.shape):
        got = (f"{indices.dtype} {tuple(indices.shape)}" if isinstance(indices, Tensor) else type(indices).__name__)
        raise ValueError(f"{name}: indices must be an integer tensor of the input's shape {tuple(x.shape)} "
                         f"(max_pool2d(..., return_indices=True) gives it), got {got}")
    if indices.device != x.device:
        raise DeviceError(f"{name}: indices are on '{indices.device}', the input on '{x.device}': move them together")
    default = [(n - 1) * s - 2 * p + k for n, s, p, k in zip(x.shape[-2:], stride, padding, kernel)]
    size = default
    if output_size is not None:
        if not (isinstance(output_size, (tuple, list)) and len(output_size) in (2, 4)
                and all(is_int(v) for v in output_size)):
            raise TypeError(f"{name}: output_size must be (h, w) or (N, C, h, w), ints, got {output_size!r}")
        size = [int(v) for v in output_size[-2:]]
        if not all(d - s < v < d + s for v, d, s in zip(size, default, stride)):
            raise ValueError(f"{name}: output_size must have h, w within the stride {stride} of {tuple(default)} "
                             f"(exclusive), got {tuple(output_size)}")
    if min(size) < 1:
        raise ValueError(f"{name}: the output would be {tuple(size)}: expected a larger input or output_size")
    xp = get_array_module(indices.data)
    if indices.numel() and (int(indices.data.min()) < 0 or int(indices.data.max()) >= size[0] * size[1]):
        raise ValueError(f"{name}: indices must lie in [0, {size[0] * size[1]}) for the {tuple(size)} output, got "
                         f"{int(indices.data.min())} to {int(indices.data.max())}")
    index = xp.asarray(indices.data, dtype="int64")
    return batched(MaxUnpool2d.apply, x, indices=index if x.ndim == 4 else index[None], out_hw=tuple(size))


def global_avg_pool2d(x, keepdims=False):
    """Mean over all pixels: (N, C, H, W) -> (N, C), or (N, C, 1, 1) with keepdims; one image (C, H, W)
    -> (C,) or (C, 1, 1)."""
    if x.ndim not in (3, 4):
        raise ValueError(f"global_avg_pool2d: expected input (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")
    return x.mean(axis=(-2, -1), keepdims=keepdims)  # a core op: its backward spreads g / (H·W)


def adaptive_windows(n_in, n_out):
    """PyTorch's adaptive windows along an axis, as (start, stop): window i covers the inputs from
    ⌊i·n_in / n_out⌋ to ⌈(i+1)·n_in / n_out⌉ − 1, so the windows cover the axis (overlapping by
    one where n_out does not divide n_in)."""
    return [((i * n_in) // n_out, -(-(i + 1) * n_in // n_out)) for i in range(n_out)]


def _window_means(n_in, n_out, like):
    """The (n_out, n_in) matrix A whose row i averages adaptive window i."""
    a = like.xp.zeros((n_out, n_in), dtype=like.dtype)
    for i, (start, stop) in enumerate(adaptive_windows(n_in, n_out)):
        a[i, start:stop] = 1.0 / (stop - start)
    return Tensor(a)


def adaptive_output_size(name, x, output_size):
    """(h, w) from an int, a pair, or a pair with None (that side kept), checked."""
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(sizes) != 2 or not all(s is None or (is_int(s) and s >= 1) for s in sizes):
        raise ValueError(f"{name}: output_size must be a positive int or a pair of them "
                         f"(None keeps a side), got {output_size!r}")
    return tuple(int(s) if s is not None else n for s, n in zip(sizes, x.shape[-2:]))


def adaptive_maxima(x, out_hw):
    """(y, where): the maximum of every adaptive window of x (N, C, H, W), and where it lies, as the
    flat index r·W + q of its (H, W) plane (the window's first largest pixel, row by row)."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    y = xp.empty((n, c) + out_hw, dtype=x.dtype)
    where = xp.empty((n, c) + out_hw, dtype="int64")
    for i, (r0, r1) in enumerate(adaptive_windows(h, out_hw[0])):
        for j, (q0, q1) in enumerate(adaptive_windows(w, out_hw[1])):
            window = x[:, :, r0:r1, q0:q1].reshape(n, c, -1)
            k = window.argmax(axis=2)
            y[:, :, i, j] = window.max(axis=2)
            where[:, :, i, j] = (r0 + k // (q1 - q0)) * w + q0 + k % (q1 - q0)
    return y, where


class AdaptiveMaxPool2d(Function):
    """y[..., i, j] = the largest pixel of adaptive window (i, j); its gradient goes to that pixel
    (windows that overlap can pick the same one: their gradients add)."""

    def forward(self, x, out_hw=(1, 1)):
        y, self.where = adaptive_maxima(x, out_hw)
        self.x_shape = x.shape
        return y

    def backward(self, g):
        xp = get_array_module(g)
        n, c, h, w = self.x_shape
        gx = xp.zeros((n, c, h * w), dtype=g.dtype)
        at = (xp.arange(n)[:, None], xp.arange(c)[None, :])
        for i in range(g.shape[2]):
            for j in range(g.shape[3]):        # one window at a time: within it each (n, c) has one pixel
                gx[at + (self.where[:, :, i, j],)] += g[:, :, i, j]
        return gx.reshape(self.x_shape)


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """Maximum over windows sized so that the output is ``output_size`` (an int, or (h, w); None
    keeps that side) of x (N, C, H, W) or one image (C, H, W); with return_indices, also where
    each maximum lies (flat r·W + q, as max_pool2d's)."""
    name = "adaptive_max_pool2d"
    if x.ndim not in (3, 4):
        raise ValueError(f"{name}: expected input (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")
    check_float_input(name, x)
    check_bool(name, "return_indices", return_indices)
    out_hw = adaptive_output_size(name, x, output_size)
    y = batched(AdaptiveMaxPool2d.apply, x, out_hw=out_hw)
    if not return_indices:
        return y
    _, where = adaptive_maxima(x.data if x.ndim == 4 else x.data[None], out_hw)
    return y, Tensor(where if x.ndim == 4 else where[0])


def adaptive_avg_pool2d(x, output_size):
    """Mean over windows sized so that the output is ``output_size`` (an int, or (h, w); None keeps
    that side) of x (N, C, H, W) or one image (C, H, W): y = A_h · x · A_wᵀ per channel, with the
    averaging matrices above; two matrix products, so the backward is theirs (each output's
    gradient shared among its window)."""
    if x.ndim not in (3, 4):
        raise ValueError(f"adaptive_avg_pool2d: expected input (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")
    check_float_input("adaptive_avg_pool2d", x)
    (h, w), (oh, ow) = x.shape[-2:], adaptive_output_size("adaptive_avg_pool2d", x, output_size)
    if (oh, ow) == (1, 1):
        return global_avg_pool2d(x, keepdims=True)
    return _window_means(h, oh, x) @ x @ _window_means(w, ow, x).T      # (the products broadcast over N, C)
