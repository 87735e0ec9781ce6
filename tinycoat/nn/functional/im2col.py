"""im2col and col2im: a convolution is one matrix product once the patches are laid out.

A k_h×k_w window sliding over an (N, C, H, W) image with stride s visits
Ho × Wo positions, where (after padding the image by p on every side)

    Ho = (H + 2p − k_h) // s + 1,        Wo = (W + 2p − k_w) // s + 1.

``windows`` returns every patch *without copying a byte*: a strided view of shape
(N, C, k_h, k_w, Ho, Wo) whose entry [n, c, i, j, r, q] is the padded input at row
r·s + i, column q·s + j. Moving one step along i moves one image row, along r moves s
rows, so the view's strides are just the image's strides, multiplied:

    strides(view) = (sN, sC, sH, sW, s·sH, s·sW).

``im2col`` copies that view into a matrix with one column per output pixel,
(C·k_h·k_w, N·Ho·Wo); a convolution is then  W (O, C·k_h·k_w) @ columns.

``col2im`` is the adjoint (the backward) of ``windows``: each input pixel was copied
into every window slot that covers it, so its gradient is the *sum* of the gradients
of those slots. We add them slot offset by slot offset: for each of the k_h·k_w
kernel offsets (i, j), the slots form a strided slice of the image (``shifted``).
That is a loop over the (few) kernel offsets, never over pixels.

*Dilation* d spreads the kernel's taps d pixels apart (an "atrous" kernel): offset (i, j)
reads the padded input at row r·s + d·i, so a k-tap kernel spans d·(k − 1) + 1 pixels, and
that span takes k's place in Ho = (H + 2p − d·(k − 1) − 1) // s + 1. In the view, a step
along i moves d rows: strides (sN, sC, d·sH, d·sW, s·sH, s·sW). d = 1 is the ordinary kernel.
"""
from __future__ import annotations

from tinycoat.backend import get_array_module


def pair(v):
    return (int(v), int(v)) if not isinstance(v, (tuple, list)) else (int(v[0]), int(v[1]))


def output_size(h, w, kernel, stride, padding, dilation=1):
    """(Ho, Wo) of a kernel sliding over an h×w image (0 or less: the kernel does not fit)."""
    (kh, kw), (sh, sw), (ph, pw) = span(kernel, dilation), pair(stride), pair(padding)
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def span(kernel, dilation=1):
    """The pixels a kernel covers along each axis, d·(k − 1) + 1: k itself when d = 1."""
    return tuple(d * (k - 1) + 1 for k, d in zip(pair(kernel), pair(dilation)))


def pad2d(x, padding, value=0.0):
    """Pad the two trailing (spatial) axes of an array by ``padding`` on every side."""
    ph, pw = pair(padding)
    if ph == 0 and pw == 0:
        return x
    xp = get_array_module(x)
    width = ((0, 0),) * (x.ndim - 2) + ((ph, ph), (pw, pw))
    return xp.pad(x, width, mode="constant", constant_values=value)


def shifted(x_padded, i, j, stride, out_hw):
    """The input pixels that kernel offset (i, j) meets, one per output pixel: a strided slice.

    Output pixel (r, q) sees padded input pixel (r·s + i, q·s + j), so for a fixed
    offset the pixels it meets are rows i, i+s, i+2s, ... and likewise for columns.
    Shape (N, C, Ho, Wo); a view, not a copy.
    """
    (sh, sw), (ho, wo) = pair(stride), out_hw
    return x_padded[..., i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]


def windows(x_padded, kernel, stride, dilation=1):
    """All k_h×k_w patches of a padded (N, C, Hp, Wp) array: a (N, C, kh, kw, Ho, Wo) view."""
    xp = get_array_module(x_padded)
    (kh, kw), (sh, sw), (dh, dw) = pair(kernel), pair(stride), pair(dilation)
    n, c, hp, wp = x_padded.shape
    ho, wo = output_size(hp, wp, (kh, kw), (sh, sw), 0, (dh, dw))
    sn, sc, s_row, s_col = x_padded.strides
    return xp.lib.stride_tricks.as_strided(
        x_padded, shape=(n, c, kh, kw, ho, wo),
        strides=(sn, sc, dh * s_row, dw * s_col, sh * s_row, sw * s_col))


def im2col(x, kernel, stride, padding, dilation=1):
    """(N, C, H, W) -> columns (C·kh·kw, N·Ho·Wo), one column per output pixel (a copy).

    Rows are ordered (c, i, j), matching ``weight.reshape(O, C·kh·kw)``; columns are
    ordered (n, r, q). The transpose below puts (C, kh, kw) first while the innermost
    axes stay the image's (Ho, Wo), so the copy reads memory nearly in order.
    """
    (kh, kw) = pair(kernel)
    patches = windows(pad2d(x, padding), (kh, kw), stride, dilation)    # (N, C, kh, kw, Ho, Wo)
    n, c, _, _, ho, wo = patches.shape
    return patches.transpose(1, 2, 3, 0, 4, 5).reshape(c * kh * kw, n * ho * wo)


def col2im(slot_grad, x_shape, kernel, stride, padding, like, dilation=1):
    """The gradient of the input from the gradient of its window slots (adjoint of ``windows``).

    ``slot_grad(i, j)`` returns the (N, C, Ho, Wo) gradient of the slots at kernel
    offset (i, j) — a function, so that a caller never has to build all k_h·k_w of them
    at once (depthwise convolution computes each one on the fly). Overlapping windows
    send several gradients to one pixel: ``+=`` adds them. The padding is cropped at
    the end: the gradient of a pad value goes nowhere. ``like`` (an array) gives the
    array module and dtype of the result.
    """
    (kh, kw), (ph, pw), (dh, dw) = pair(kernel), pair(padding), pair(dilation)
    n, c, h, w = x_shape
    grad = get_array_module(like).zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=like.dtype)
    out_hw = output_size(h, w, (kh, kw), stride, (ph, pw), (dh, dw))
    for i in range(kh):
        for j in range(kw):                     # tap (i, j) lies (d·i, d·j) into its window
            shifted(grad, dh * i, dw * j, stride, out_hw)[...] += slot_grad(i, j)
    return grad[:, :, ph:ph + h, pw:pw + w]
