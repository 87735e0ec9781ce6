"""unfold and fold: im2col and its adjoint as differentiable ops, under PyTorch's names.

``unfold`` lays every k_h×k_w patch of an (N, C, H, W) image out as a column:

    cols[n, (c, i, j), (r, q)] = x_pad[n, c, r·s + d·i, q·s + d·j],     cols (N, C·k_h·k_w, Ho·Wo)

(d: the dilation, the taps' spacing; 1 by default: im2col.py.)

so that a convolution is one matrix product, y = W.reshape(O, C·k_h·k_w) @ cols (lesson 04).
``fold`` goes the other way: each column entry is added back at the pixel it came from, so
where windows overlap the entries *sum*. The two are adjoint, ⟨unfold(x), c⟩ = ⟨x, fold(c)⟩,
hence each one's backward is the other's forward. fold(unfold(x)) is not x but x times the
number of windows that cover each pixel.

Both are ``im2col.py``'s functions (the patches' layout there is (C·k_h·k_w, N·Ho·Wo); here
each image keeps its own matrix, PyTorch's layout).
"""
from __future__ import annotations

from tinycoat.autograd import Function
from tinycoat.checks import check_pair
from tinycoat.nn.functional.im2col import col2im, im2col, pair, span
from tinycoat.nn.functional.im2col import output_size as window_positions   # (fold's argument has its name)


def _columns(x, kernel, stride, padding, dilation):
    """im2col's (C·kh·kw, N·Ho·Wo) as (N, C·kh·kw, Ho·Wo)."""
    ho, wo = window_positions(*x.shape[2:], kernel, stride, padding, dilation)
    cols = im2col(x, kernel, stride, padding, dilation)
    return cols.reshape(cols.shape[0], x.shape[0], ho * wo).transpose(1, 0, 2)


def _summed_back(cols, image_shape, kernel, stride, padding, dilation):
    """The (N, C, H, W) image whose pixels are the sums of the column entries taken from them."""
    n, c, h, w = image_shape
    (kh, kw), out_hw = pair(kernel), window_positions(h, w, kernel, stride, padding, dilation)
    slots = cols.reshape(n, c, kh, kw, *out_hw)
    return col2im(lambda i, j: slots[:, :, i, j], image_shape, kernel, stride, padding, like=cols, dilation=dilation)


class Unfold(Function):
    def forward(self, x, kernel=(1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
        self.x_shape, self.where = x.shape, (kernel, stride, padding, dilation)
        return _columns(x, *self.where)

    def backward(self, g):
        return _summed_back(g, self.x_shape, *self.where)


class Fold(Function):
    def forward(self, cols, image_shape=(1, 1, 1, 1), kernel=(1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
        self.where = (kernel, stride, padding, dilation)
        return _summed_back(cols, image_shape, *self.where)

    def backward(self, g):
        return _columns(g, *self.where)


def window_arguments(name, kernel_size, dilation, padding, stride):
    """(kernel, stride, padding, dilation) as pairs, checked (``name`` says who asks)."""
    return (check_pair(name, "kernel_size", kernel_size), check_pair(name, "stride", stride),
            check_pair(name, "padding", padding, positive=False), check_pair(name, "dilation", dilation))


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002 - PyTorch's names
    """(N, C, H, W) -> (N, C·kh·kw, L): each column one patch, L = Ho·Wo of them (torch's F.unfold)."""
    kernel, stride, padding, dilation = window_arguments("unfold", kernel_size, dilation, padding, stride)
    if input.ndim != 4:
        raise ValueError(f"unfold: expected input (N, C, H, W), got shape {tuple(input.shape)}")
    ho, wo = window_positions(*input.shape[2:], kernel, stride, padding, dilation)
    if ho < 1 or wo < 1:
        spread = f" (dilation {dilation}: it spans {span(kernel, dilation)})" if dilation != (1, 1) else ""
        raise ValueError(f"unfold: the {kernel} kernel{spread} does not fit the input {tuple(input.shape)} "
                         f"padded by {padding}")
    return Unfold.apply(input, kernel=kernel, stride=stride, padding=padding, dilation=dilation)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """(N, C·kh·kw, L) -> (N, C, H, W) with H, W = ``output_size``: each column entry added back at
    its pixel, overlaps summed (torch's F.fold; unfold's adjoint)."""
    kernel, stride, padding, dilation = window_arguments("fold", kernel_size, dilation, padding, stride)
    (h, w), (kh, kw) = pair(output_size), kernel
    ho, wo = window_positions(h, w, kernel, stride, padding, dilation)
    if input.ndim != 3 or input.shape[1] % (kh * kw) or input.shape[2] != ho * wo or ho < 1 or wo < 1:
        spread = f", dilation {dilation}" if dilation != (1, 1) else ""
        raise ValueError(f"fold: for a {(h, w)} image and kernel {kernel} (stride {stride}, padding {padding}{spread}), "
                         f"expected input (N, C·{kh * kw}, {max(ho, 0) * max(wo, 0)}), got {tuple(input.shape)}")
    image_shape = (input.shape[0], input.shape[1] // (kh * kw), h, w)
    return Fold.apply(input, image_shape=image_shape, kernel=kernel, stride=stride, padding=padding,
                      dilation=dilation)
