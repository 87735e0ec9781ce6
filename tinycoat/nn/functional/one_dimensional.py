"""1-D convolution and pooling over sequences (N, C, L): the 2-D ops on an image one row high.

A sequence of length L is an (N, C, 1, L) image, and a kernel of k taps a 1×k kernel, so

    conv1d(x, W)[n, o, t] = conv2d(x[:, :, None, :], W[:, :, None, :])[n, o, 0, t]

and likewise for the transposed convolution and the poolings: stride, padding and dilation act on
the row alone (the height's are 1, 0 and 1). The 2-D ops' forward and backward do all the work
(conv.py, conv_transpose.py, pooling.py); here are only the reshapes — which autograd
differentiates too — and PyTorch's 1-D spellings of the arguments. One unbatched sequence (C, L)
is one unbatched image (C, 1, L).
"""
from __future__ import annotations

from tinycoat.checks import check_float_input, check_int, is_int
from tinycoat.nn.functional.conv import conv2d
from tinycoat.nn.functional.conv_transpose import conv_transpose2d, transposed_size
from tinycoat.nn.functional.pooling import (adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d,
                                            pool_output_size)


def single(owner, name, value, positive=True):
    """A 1-D setting as an int > 0 (>= 0 unless ``positive``); PyTorch takes an int or a 1-tuple."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not (is_int(value) and value >= (1 if positive else 0)):
        kind = "a positive int" if positive else "a non-negative int"
        raise (TypeError if not is_int(value) and not isinstance(value, (tuple, list)) else ValueError)(
            f"{owner}: {name} must be {kind} (or a 1-tuple of one) for a 1-D op, got {value!r}")
    return int(value)


def as_rows(owner, x, channels=None):
    """x (N, C, L) or (C, L) as an image one row high, (N, C, 1, L) or (C, 1, L)."""
    check_float_input(owner, x)
    if x.ndim not in (2, 3) or (channels is not None and x.shape[-2] != channels):
        c = "C" if channels is None else channels
        raise ValueError(f"{owner}: expected input (N, {c}, L) or ({c}, L), got {tuple(x.shape)}")
    return x.unsqueeze(-2)


def _too_short(owner, x, kernel, padding, dilation, least):
    span = dilation * (kernel - 1) + 1
    spans = f"spanning {span} steps with dilation {dilation}" if dilation > 1 else f"of {kernel} steps"
    raise ValueError(f"{owner}: input {tuple(x.shape)} is too short for a window {spans} with padding {padding}: "
                     f"expected a length L >= {least}")


def check_length(owner, x, kernel, padding, dilation=1):
    """A clear error, in 1-D words, unless the window (its span, when dilated) fits the padded
    sequence: L + 2·padding >= span."""
    least = max(1, dilation * (kernel - 1) + 1 - 2 * padding)
    if x.shape[-1] < least:
        _too_short(owner, x, kernel, padding, dilation, least)


def check_pool_length(owner, x, kernel, stride, padding, ceil_mode, dilation=1):
    """check_length for a pooling: its padding at most half the kernel (PyTorch's rule), and room for
    one window — in ceil mode, one that starts in the sequence may run past its end (pooling.py)."""
    if padding > kernel // 2:
        raise ValueError(f"{owner}: padding must be at most half the kernel_size {kernel} (PyTorch's rule: more "
                         f"would let a window hold nothing but padding), got {padding}")
    if pool_output_size(1, x.shape[-1], (1, kernel), (1, stride), (0, padding), ceil_mode, (1, dilation))[1] < 1:
        span = dilation * (kernel - 1) + 1
        _too_short(owner, x, kernel, padding, dilation, max(1, span - 2 * padding - (stride - 1 if ceil_mode else 0)))


def _row(y):
    """An op's (…, 1, L') result back as (…, L'), and each of a tuple's (values and indices)."""
    return tuple(t.squeeze(-2) for t in y) if isinstance(y, tuple) else y.squeeze(-2)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of x (N, C, L) or (C, L) with weight (O, C/groups, k): conv2d of one row."""
    if weight.ndim != 3:
        raise ValueError(f"conv1d: weight must be (out, in/groups, k), got {tuple(weight.shape)}")
    groups = check_int("conv1d", "groups", groups)
    c_in = weight.shape[1] * groups
    name = f"conv1d({c_in}→{weight.shape[0]}, k={weight.shape[2]})"
    rows = as_rows(name, x, c_in)
    stride, dilation = single("conv1d", "stride", stride), single("conv1d", "dilation", dilation)
    if isinstance(padding, str):
        if padding == "same" and stride != 1:
            raise ValueError(f"conv1d: padding='same' needs stride 1 (as in PyTorch), got stride {stride}")
    else:
        padding = single("conv1d", "padding", padding, positive=False)
        check_length(name, x, weight.shape[2], padding, dilation)
        padding = (0, padding)
    return _row(conv2d(rows, weight.unsqueeze(2), bias, (1, stride), padding, (1, dilation), groups))


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed 1-D convolution (conv1d's adjoint) of x (N, C_in, L) or (C_in, L) with weight
    (C_in, C_out/groups, k): conv_transpose2d of one row; its output is
    (L − 1)·stride − 2·padding + dilation·(k − 1) + 1 + output_padding long."""
    if weight.ndim != 3:
        raise ValueError(f"conv_transpose1d: weight must be (in, out/groups, k), got {tuple(weight.shape)}")
    owner = "conv_transpose1d"
    groups = check_int(owner, "groups", groups)
    name = f"conv_transpose1d({weight.shape[0]}→{weight.shape[1] * groups}, k={weight.shape[2]})"
    rows = as_rows(name, x, weight.shape[0])
    stride, dilation = single(owner, "stride", stride), single(owner, "dilation", dilation)
    padding = single(owner, "padding", padding, positive=False)
    output_padding = single(owner, "output_padding", output_padding, positive=False)
    if output_padding >= max(stride, dilation):
        raise ValueError(f"{owner}: output_padding must be smaller than the stride or the dilation, got "
                         f"output_padding {output_padding} with stride {stride} and dilation {dilation}")
    covered = transposed_size(1, x.shape[-1], (1, weight.shape[2]), (1, stride), (0, 0), (0, output_padding),
                              (1, dilation))[1]
    if x.shape[-1] < 1 or covered - 2 * padding < 1:
        raise ValueError(f"{name}: input {tuple(x.shape)} gives an output of length {covered - 2 * padding}: "
                         f"padding {padding} crops 2·padding off the {covered} steps the kernel's stamps cover; "
                         "expected 2·padding < that and L >= 1")
    return _row(conv_transpose2d(rows, weight.unsqueeze(2), bias, (1, stride), (0, padding), (0, output_padding),
                                 groups, (1, dilation)))


def pool_settings(owner, kernel_size, stride, padding, dilation=1):
    """A 1-D pooling's kernel, stride (the kernel unless given), padding and dilation, checked."""
    k = single(owner, "kernel_size", kernel_size)
    return (k, k if stride is None else single(owner, "stride", stride),
            single(owner, "padding", padding, positive=False), single(owner, "dilation", dilation))


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Maximum over each window of x (N, C, L) or (C, L) (with return_indices, also where, as an index
    along L): max_pool2d of one row."""
    owner = f"max_pool1d(k={kernel_size})"
    k, s, p, d = pool_settings(owner, kernel_size, stride, padding, dilation)
    rows = as_rows(owner, x)
    check_pool_length(owner, x, k, s, p, ceil_mode, d)
    return _row(max_pool2d(rows, (1, k), (1, s), (0, p), (1, d), ceil_mode, return_indices))


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over each window of x (N, C, L) or (C, L): avg_pool2d of one row."""
    owner = f"avg_pool1d(k={kernel_size})"
    k, s, p, _ = pool_settings(owner, kernel_size, stride, padding)
    rows = as_rows(owner, x)
    check_pool_length(owner, x, k, s, p, ceil_mode)
    return _row(avg_pool2d(rows, (1, k), (1, s), (0, p), ceil_mode, count_include_pad))


def adaptive_avg_pool1d(x, output_size):
    """Mean over windows sized so that the output has ``output_size`` steps: adaptive_avg_pool2d of one row."""
    size = single("adaptive_avg_pool1d", "output_size", output_size)
    return _row(adaptive_avg_pool2d(as_rows("adaptive_avg_pool1d", x), (1, size)))


def adaptive_max_pool1d(x, output_size, return_indices=False):
    """Maximum over windows sized so that the output has ``output_size`` steps (and where, with
    return_indices): adaptive_max_pool2d of one row."""
    size = single("adaptive_max_pool1d", "output_size", output_size)
    return _row(adaptive_max_pool2d(as_rows("adaptive_max_pool1d", x), (1, size), return_indices))
