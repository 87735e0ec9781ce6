"""conv2d: a dense 2-D convolution as im2col followed by one matrix product.

    y[n, o, r, q] = b[o] + Σ_{c, i, j} W[o, c, i, j] · x_pad[n, c, r·s + d·i, q·s + d·j]

(d: the dilation, 1 unless asked; im2col.py says what it does.)

Shapes: x (N, C, H, W), W (O, C, kh, kw), b (O,), y (N, O, Ho, Wo); one image x (C, H, W)
gives y (O, Ho, Wo), computed as a batch of one (``batched`` below, as PyTorch takes it).

The sum over (c, i, j) is a dot product between the flattened kernel W[o] and the
flattened patch under it. ``im2col`` lays every patch out as a column, so all of
them at once are one matrix product (the fast, multi-threaded BLAS routine):

    Y = W₂ @ cols,    W₂ = W.reshape(O, C·kh·kw),  cols (C·kh·kw, N·Ho·Wo),  Y (O, N·Ho·Wo)

Backward, with G = dL/dY in the same (O, N·Ho·Wo) layout:

    dW₂   = G @ colsᵀ                 each weight meets the patch entries it multiplied
    dcols = W₂ᵀ @ G                   each patch entry met a column of weights
    dx    = col2im(dcols)             patch entries go back (and add up) at their pixels
    db    = Σ_{n, r, q} G

Y's columns run over (n, r, q), so Y reshaped to (O, N, Ho, Wo) and transposed is y: a view,
no copy. (The fast wing's twin, tinycoat/fast/conv.py, skips the patches of 1×1 kernels.)

*Groups* g (PyTorch's ``groups``): the C input and O output channels are cut into g groups, and
output group k sees input group k alone; W is (O, C/g, kh, kw). The rows of cols run over
(c, i, j), channel first, so group k's patches are its k-th block of rows, and the product is one
per group, a batched matmul:

    Y_k = W₂,k @ cols_k,    W₂ (g, O/g, C/g·kh·kw),  cols (g, C/g·kh·kw, N·Ho·Wo)

(the backward's products likewise, per group). g = 1 is the dense convolution above; g = C = O is
the depthwise one (depthwise.py: a test checks they agree).
"""
from __future__ import annotations

from tinycoat.amp import autocast_dtype, autocast_matmul
from tinycoat.autograd import Function
from tinycoat.checks import check_float_input, check_int, check_pair
from tinycoat.nn.functional.im2col import col2im, im2col, output_size, pair, span
from tinycoat.nn.functional.padding import pad


class Conv2d(Function):
    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
        o, c_group, kh, kw = weight.shape                               # c_group = C / groups
        ho, wo = output_size(*x.shape[2:], (kh, kw), stride, padding, dilation)
        self.x_shape, self.w_shape, self.stride, self.padding = x.shape, weight.shape, stride, padding
        self.dilation, self.groups, self.has_bias = dilation, groups, bias is not None
        self.precision = autocast_dtype()                               # float16 products inside amp.autocast
        cols = im2col(x, (kh, kw), stride, padding, dilation)           # (C·kh·kw, N·Ho·Wo)
        cols = cols.reshape(groups, c_group * kh * kw, -1)              # cols_k: group k's rows
        w2 = weight.reshape(groups, o // groups, c_group * kh * kw)     # W₂,k
        y = autocast_matmul(w2, cols, self.precision)                   # Y_k = W₂,k @ cols_k: (g, O/g, N·Ho·Wo)
        # dx needs W₂, dW needs cols: keep each only for the gradient that is wanted
        self.w2 = w2 if self.needs_input_grad[0] else None
        self.cols = cols if self.needs_input_grad[1] else None
        y = y.reshape(o, x.shape[0], ho, wo).transpose(1, 0, 2, 3)      # (N, O, Ho, Wo)
        return y + bias.reshape(o, 1, 1) if bias is not None else y

    def backward(self, g):
        (o, c_group, kh, kw), groups = self.w_shape, self.groups
        n, _, ho, wo = g.shape
        g2 = g.transpose(1, 0, 2, 3).reshape(groups, o // groups, n * ho * wo)     # G_k: (g, O/g, N·Ho·Wo)
        gx = gw = gb = None
        if self.needs_input_grad[0]:                                    # dcols_k = W₂,kᵀ @ G_k
            dcols = autocast_matmul(self.w2.swapaxes(1, 2), g2, self.precision)
            dcols = dcols.reshape(groups * c_group, kh, kw, n, ho, wo)
            gx = col2im(lambda i, j: dcols[:, i, j].transpose(1, 0, 2, 3),     # slot (i, j): (N, C, Ho, Wo)
                        self.x_shape, (kh, kw), self.stride, self.padding, like=g, dilation=self.dilation)
        if self.needs_input_grad[1]:                                    # dW₂,k = G_k @ cols_kᵀ
            gw = autocast_matmul(g2, self.cols.swapaxes(1, 2), self.precision).reshape(self.w_shape)
        if self.has_bias and self.needs_input_grad[2]:
            gb = g.sum(axis=(0, 2, 3))
        return (gx, gw, gb) if self.has_bias else (gx, gw)


def padding_for(name, padding, kernel, stride, dilation=1):
    """PyTorch's padding words as numbers: 'valid' is none, 'same' (stride 1) the ⌊(s − 1)/2⌋ on each
    side that, for a kernel of span s = d·(k − 1) + 1, keeps H×W — with one more row (column) at the
    end where s is even (``same_extra``), as PyTorch puts it; a number or pair passes through."""
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return 0
    if padding != "same":
        raise ValueError(f"{name}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    (kh, kw), stride = span(kernel, dilation), pair(stride)
    if stride != (1, 1):
        raise ValueError(f"{name}: padding='same' needs stride 1 (as in PyTorch), got stride {stride}")
    return (kh - 1) // 2, (kw - 1) // 2


def same_extra(padding, kernel, dilation=1):
    """(rows, columns) that padding='same' adds at the bottom (right) beyond ``padding_for``'s: 1
    where the span is even, so that the padding, s − 1 in all, is odd; else 0. (0, 0) for any other
    padding."""
    if not (isinstance(padding, str) and padding == "same"):
        return (0, 0)
    return tuple(1 - s % 2 for s in span(kernel, dilation))


def pad_at_end(x, extra):
    """x with ``extra`` = (rows, columns) of zeros added below and to the right: padding='same''s odd one."""
    return x if extra == (0, 0) else pad(x, (0, extra[1], 0, extra[0]))


def check_conv_input(name, x, in_channels, kernel, stride, padding, dilation=1, extra=(0, 0)):
    """Raise a clear error unless x is (N, in_channels, H, W) or one image (in_channels, H, W), of
    floats and large enough for the kernel (its span, when dilated), once padded (``extra``:
    padding='same''s odd row and column at the end, ``same_extra``)."""
    check_float_input(name, x)
    expected = f"expected input (N, {in_channels}, H, W) or ({in_channels}, H, W)"
    if x.ndim not in (3, 4) or x.shape[-3] != in_channels:
        raise ValueError(f"{name}: {expected}, got {tuple(x.shape)}")
    ho, wo = output_size(x.shape[-2] + extra[0], x.shape[-1] + extra[1], kernel, stride, padding, dilation)
    if ho < 1 or wo < 1:
        if pair(dilation) == (1, 1):
            raise ValueError(f"{name}: input {tuple(x.shape)} is too small for kernel {pair(kernel)} with "
                             f"padding {pair(padding)}: {expected} with H + 2·padding >= kernel height "
                             f"and W + 2·padding >= kernel width")
        raise ValueError(f"{name}: input {tuple(x.shape)} is too small for kernel {pair(kernel)} with dilation "
                         f"{pair(dilation)} (spanning {span(kernel, dilation)}) and padding {pair(padding)}: "
                         f"{expected} with H + 2·padding >= the span's height and W + 2·padding >= its width")


def batched(op, x, *args, **params):
    """``op(x, *args, **params)`` of an (N, C, H, W) batch, and of one (C, H, W) image too, as
    PyTorch's unbatched input: the image becomes a batch of one and the result loses that axis
    again, (C, H, W) -> (1, C, H, W) -> op -> (1, C', H', W') -> (C', H', W'). unsqueeze and
    squeeze are reshapes in the graph, so the gradient flows back through them unchanged, and
    the ops themselves only ever see four axes."""
    if x.ndim == 3:
        return op(x.unsqueeze(0), *args, **params).squeeze(0)
    return op(x, *args, **params)


def check_conv_arguments(name, stride, padding, bias, out_channels):
    """Raise a clear error for a stride < 1, a negative padding or a bias that is not (out_channels,)."""
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{name}: stride must be >= 1 and padding >= 0, got {stride}, {padding}")
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ValueError(f"{name}: bias must have shape ({out_channels},), got {tuple(bias.shape)}")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of x (N, C, H, W), or one image (C, H, W), with weight (O, C/groups, kh, kw)
    and optional bias (O,); its taps ``dilation`` pixels apart, in ``groups`` groups of channels."""
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be (out, in/groups, kh, kw), got {tuple(weight.shape)}")
    o, c_group, kh, kw = weight.shape
    stride, dilation = check_pair("conv2d", "stride", stride), check_pair("conv2d", "dilation", dilation)
    groups = check_int("conv2d", "groups", groups)
    if o % groups:
        raise ValueError(f"conv2d: the weight's {o} output channels do not split into groups={groups} "
                         f"(weight (out, in/groups, kh, kw) = {tuple(weight.shape)})")
    extra = same_extra(padding, (kh, kw), dilation)
    padding = check_pair("conv2d", "padding", padding_for("conv2d", padding, (kh, kw), stride, dilation),
                         positive=False)
    check_conv_arguments("conv2d", stride, padding, bias, o)
    name = f"conv2d({c_group * groups}→{o}, k={kh}×{kw}" + (f", groups={groups})" if groups > 1 else ")")
    check_conv_input(name, x, c_group * groups, (kh, kw), stride, padding, dilation, extra)
    x = pad_at_end(x, extra)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return batched(Conv2d.apply, *inputs, stride=stride, padding=padding, dilation=dilation, groups=groups)
