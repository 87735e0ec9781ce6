"""conv_transpose2d: conv2d run backwards. Each input pixel stamps the kernel, scaled by its value,
onto the output, and overlapping stamps add up:

    y[n, o, r·s + d·i − p, q·s + d·j − p] += Σ_c x[n, c, r, q] · W[c, o, i, j]        (then + b[o])

(s: stride, p: padding, d: dilation). It is the *adjoint* of conv2d with the same weight: for all x
and y of matching shapes ⟨conv2d(x, W), y⟩ = ⟨x, conv_transpose2d(y, W)⟩ (a test checks it), which
is conv2d's input gradient (conv.py's col2im(W₂ᵀ @ G)) used as a forward pass. A stride s > 1 makes
the map s times larger: the learnable upsampling of decoders (lesson 04).

Shapes: x (N, C_in, H, W); W (C_in, C_out, kh, kw) — conv2d's (out, in) order read backwards, as in
PyTorch: the conv2d this one transposes maps C_out channels to C_in; b (C_out,); y (N, C_out, Ho, Wo),

    Ho = (H − 1)·s − 2p + d·(kh − 1) + 1 + output_padding        (likewise Wo)

Without p, the stamps cover Hf = (H − 1)·s + d·(kh − 1) + 1 rows (the "full" output); p crops p rows
off each side (the inverse of conv2d's padding), and ``output_padding`` keeps that many more rows at
the end, to pick among the sizes a stride-s conv2d maps to the same H.

Forward, the stamps as one product, then col2im (im2col.py) to add them up at their places:

    cols = W₂ᵀ @ X,       W₂ = W.reshape(C_in, C_out·kh·kw),  X = x as (C_in, N·H·W)
    y    = crop(col2im(cols)),                  cols (C_out·kh·kw, N·H·W): one stamp per column

Backward, with G = dL/dy: each stamp entry landed on one pixel of the full output, so its gradient is
that pixel's, all of them at once the im2col of G put back in the full output:

    dcols = im2col(G in the full output),   dX = W₂ @ dcols,   dW₂ = X @ dcolsᵀ,   db = Σ_{n, r, q} G

*Groups* g split C_in and C_out as in conv2d: W (C_in, C_out/g, kh, kw), one product per group.
"""
from __future__ import annotations

from tinycoat.amp import autocast_dtype, autocast_matmul
from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.checks import check_float_input, check_int, check_pair
from tinycoat.nn.functional.conv import batched, check_conv_arguments
from tinycoat.nn.functional.im2col import col2im, im2col, pad2d, span


def transposed_size(h, w, kernel, stride, padding, output_padding=(0, 0), dilation=(1, 1)):
    """(Ho, Wo) of conv_transpose2d on an h×w map: (H − 1)·s − 2p + d·(k − 1) + 1 + output_padding."""
    return tuple((n - 1) * s - 2 * p + k + op
                 for n, s, p, k, op in zip((h, w), stride, padding, span(kernel, dilation), output_padding))


class ConvTranspose2d(Function):
    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1),
                groups=1):
        n, c_in, h, w = x.shape
        _, o_group, kh, kw = weight.shape                               # o_group = C_out / groups
        self.kernel, self.stride, self.padding, self.dilation = (kh, kw), stride, padding, dilation
        self.x_shape, self.w_shape, self.groups, self.has_bias = x.shape, weight.shape, groups, bias is not None
        self.precision = autocast_dtype()                               # float16 products inside amp.autocast
        x2 = x.transpose(1, 0, 2, 3).reshape(groups, c_in // groups, n * h * w)      # X_k
        w2 = weight.reshape(groups, c_in // groups, o_group * kh * kw)               # W₂,k
        cols = autocast_matmul(w2.swapaxes(1, 2), x2, self.precision)   # cols_k = W₂,kᵀ @ X_k: the stamps
        cols = cols.reshape(groups * o_group, kh, kw, n, h, w)
        # dx needs W₂, dW needs X: keep each only for the gradient that is wanted
        self.w2 = w2 if self.needs_input_grad[0] else None
        self.x2 = x2 if self.needs_input_grad[1] else None
        full_h, full_w = self.full_hw = transposed_size(h, w, self.kernel, stride, (0, 0), (0, 0), dilation)
        full = col2im(lambda i, j: cols[:, i, j].transpose(1, 0, 2, 3),     # stamp slot (i, j): (N, C_out, H, W)
                      (n, groups * o_group, full_h, full_w), self.kernel, stride, 0, like=cols, dilation=dilation)
        (ph, pw), (oph, opw) = padding, output_padding
        if oph or opw:                                                  # rows no stamp reaches
            full = get_array_module(full).pad(full, ((0, 0), (0, 0), (0, oph), (0, opw)))
        y = full[:, :, ph:full_h + oph - ph, pw:full_w + opw - pw]      # crop p off each side
        return y + bias.reshape(-1, 1, 1) if bias is not None else y

    def backward(self, g):
        n, c_in, h, w = self.x_shape
        _, o_group, kh, kw = self.w_shape
        groups = self.groups
        # G back in the full output (zeros where the padding cropped), less the rows no stamp reached
        g_full = pad2d(g, self.padding)[:, :, :self.full_hw[0], :self.full_hw[1]]
        dcols = im2col(g_full, self.kernel, self.stride, 0, self.dilation)    # (C_out·kh·kw, N·H·W)
        dcols = dcols.reshape(groups, o_group * kh * kw, n * h * w)
        gx = gw = gb = None
        if self.needs_input_grad[0]:                                    # dX_k = W₂,k @ dcols_k
            gx = autocast_matmul(self.w2, dcols, self.precision)
            gx = gx.reshape(c_in, n, h, w).transpose(1, 0, 2, 3)
        if self.needs_input_grad[1]:                                    # dW₂,k = X_k @ dcols_kᵀ
            gw = autocast_matmul(self.x2, dcols.swapaxes(1, 2), self.precision).reshape(self.w_shape)
        if self.has_bias and self.needs_input_grad[2]:
            gb = g.sum(axis=(0, 2, 3))
        return (gx, gw, gb) if self.has_bias else (gx, gw)


def check_output_padding(name, output_padding, stride, dilation):
    """PyTorch's rule: each output_padding below its axis's stride or dilation (more would add rows
    that no smaller input could explain)."""
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= max(s, d):
            raise ValueError(f"{name}: output_padding must be smaller than the stride or the dilation, got "
                             f"output_padding {output_padding} with stride {stride} and dilation {dilation}")


def check_transposed_input(name, x, in_channels, kernel, stride, padding, output_padding, dilation):
    """Raise a clear error unless x is (N, in_channels, H, W) or one image (in_channels, H, W), of
    floats, with an output of at least 1×1 (a padding can crop away more than the stamps cover)."""
    check_float_input(name, x)
    expected = f"expected input (N, {in_channels}, H, W) or ({in_channels}, H, W)"
    if x.ndim not in (3, 4) or x.shape[-3] != in_channels:
        raise ValueError(f"{name}: {expected}, got {tuple(x.shape)}")
    if 0 in x.shape[-2:]:
        raise ValueError(f"{name}: {expected}, H and W at least 1, got {tuple(x.shape)}")
    ho, wo = transposed_size(*x.shape[-2:], kernel, stride, padding, output_padding, dilation)
    if ho < 1 or wo < 1:
        full = transposed_size(*x.shape[-2:], kernel, stride, (0, 0), output_padding, dilation)
        raise ValueError(f"{name}: input {tuple(x.shape)} gives an output of {ho}×{wo}: padding {padding} crops "
                         f"2·padding off the {full[0]}×{full[1]} pixels the kernel's stamps cover, "
                         "(H − 1)·stride + span (+ output_padding); expected 2·padding < that")


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed convolution (conv2d's adjoint) of x (N, C_in, H, W), or one image (C_in, H, W),
    with weight (C_in, C_out/groups, kh, kw) and optional bias (C_out,); PyTorch's arguments in
    PyTorch's order (groups before dilation)."""
    name = "conv_transpose2d"
    if weight.ndim != 4:
        raise ValueError(f"{name}: weight must be (in, out/groups, kh, kw), got {tuple(weight.shape)}")
    if isinstance(padding, str):
        raise ValueError(f"{name}: padding must be an int or a pair (no 'same' or 'valid' for a transposed "
                         f"convolution, as in PyTorch), got {padding!r}")
    c_in, o_group, kh, kw = weight.shape
    stride, dilation = check_pair(name, "stride", stride), check_pair(name, "dilation", dilation)
    padding = check_pair(name, "padding", padding, positive=False)
    output_padding = check_pair(name, "output_padding", output_padding, positive=False)
    groups = check_int(name, "groups", groups)
    if c_in % groups:
        raise ValueError(f"{name}: the weight's {c_in} input channels do not split into groups={groups} "
                         f"(weight (in, out/groups, kh, kw) = {tuple(weight.shape)})")
    check_output_padding(name, output_padding, stride, dilation)
    check_conv_arguments(name, stride, padding, bias, o_group * groups)
    check_transposed_input(f"conv_transpose2d({c_in}→{o_group * groups}, k={kh}×{kw})", x, c_in, (kh, kw),
                           stride, padding, output_padding, dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return batched(ConvTranspose2d.apply, *inputs, stride=stride, padding=padding, output_padding=output_padding,
                   dilation=dilation, groups=groups)
