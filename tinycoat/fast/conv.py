"""Twin of conv2d (nn/functional/conv.py): 1×1 convolutions without patches, CUDA im2col/col2im.

The reference builds the patch matrix ``cols`` for every kernel. Two cases need none:

* A 1×1 convolution with stride 1 and no padding of an ordinary (N, C, H, W) map: each output
  pixel is W₂ @ (the pixel's channel vector), so y = W₂ @ x.reshape(N, C, H·W), a batched
  product on the image itself (no copy), and its result is a plain (N, O, H, W) array.
* The same convolution of a *channel-major* map (layout.py: laid out (C, N, H, W), as the
  reference's own Y reshaped and transposed is): seen as (C, N·H·W) it already *is* cols, so
  Y = W₂ @ x is one large product (1.3–2× faster than N small ones here), and its result is
  channel-major again — so an MBConv stage stays channel-major from the stem on.

On a GPU, im2col and col2im are one CUDA kernel each (cuda_kernels.py) where the array code
pads, copies and adds kh·kw strided slices (undilated kernels: a dilated one takes the array
code). The bias is added in place.
"""
from __future__ import annotations

from tinycoat.amp import autocast_dtype, autocast_matmul
from tinycoat.fast import cuda_kernels
from tinycoat.fast.layout import add_channel_bias, channel_major, channel_rows
from tinycoat.nn.functional import conv
from tinycoat.nn.functional.im2col import col2im, im2col, output_size


def accepts(*arrays, groups=1, **params):
    """The twin takes one group; a grouped convolution runs the reference (twins.register)."""
    return groups == 1


class Conv2d(conv.Conv2d):
    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
        # (groups is always 1 here: ``accepts`` leaves grouped convolutions to the reference)
        o, c, kh, kw = weight.shape
        n, _, h, w = x.shape
        self.x_shape, self.w_shape, self.stride, self.padding = x.shape, weight.shape, stride, padding
        self.dilation, self.has_bias = dilation, bias is not None
        self.cuda_columns = dilation == (1, 1)                      # (the CUDA im2col/col2im have no dilation)
        self.precision = autocast_dtype()
        mm = self._matmul
        pointwise = (kh, kw) == (1, 1) and stride == (1, 1) and padding == (0, 0)
        self.own_columns = own_columns = pointwise and channel_major(x)
        self.pointwise = pointwise and not own_columns
        w2 = weight.reshape(o, c * kh * kw)
        self.w2 = w2 if self.needs_input_grad[0] else None
        if self.pointwise:
            x3 = x.reshape(n, c, h * w)
            self.x3 = x3 if self.needs_input_grad[1] else None
            y = mm(w2, x3).reshape(n, o, h, w)                      # (O, C) @ (N, C, HW) -> (N, O, HW)
        else:
            ho, wo = output_size(h, w, (kh, kw), stride, padding, dilation)
            if own_columns:
                cols = channel_rows(x).reshape(c, n * h * w)         # a view: (C, N·H·W)
            elif self.cuda_columns and cuda_kernels.available(x):   # on a GPU: one kernel
                cols = cuda_kernels.im2col(x, (kh, kw), stride, padding, (ho, wo))
            else:
                cols = im2col(x, (kh, kw), stride, padding, dilation)   # (C·kh·kw, N·Ho·Wo)
            self.cols = cols if self.needs_input_grad[1] else None
            y = mm(w2, cols).reshape(o, n, ho, wo).transpose(1, 0, 2, 3)
        return y if bias is None else add_channel_bias(y, bias)

    def _matmul(self, a, b):
        return autocast_matmul(a, b, self.precision)

    def backward(self, g):
        o, c, kh, kw = self.w_shape
        n, mm = g.shape[0], self._matmul
        gx = gw = gb = None
        if self.pointwise:
            g3 = g.reshape(n, o, -1)                                # (N, O, HW)
            if self.needs_input_grad[0]:
                gx = mm(self.w2.T, g3).reshape(self.x_shape)        # (C, O) @ (N, O, HW)
            if self.needs_input_grad[1]:                            # Σ_n G_n @ x_nᵀ
                gw = mm(g3, self.x3.transpose(0, 2, 1)).sum(axis=0).reshape(self.w_shape)
        else:
            g2 = g.transpose(1, 0, 2, 3).reshape(o, -1)             # (O, N·Ho·Wo)
            if self.needs_input_grad[1]:
                gw = mm(g2, self.cols.T).reshape(self.w_shape)
            if self.needs_input_grad[0]:
                ho, wo = g.shape[2:]
                dcols = mm(self.w2.T, g2).reshape(c, kh, kw, n, ho, wo)
                if self.own_columns:
                    gx = dcols.reshape(c, n, ho, wo).transpose(1, 0, 2, 3)     # col2im of a 1×1 is itself
                elif self.cuda_columns and cuda_kernels.available(dcols):
                    gx = cuda_kernels.col2im(dcols, self.x_shape, (kh, kw), self.stride, self.padding)
                else:
                    gx = col2im(lambda i, j: dcols[:, i, j].transpose(1, 0, 2, 3),
                                self.x_shape, (kh, kw), self.stride, self.padding, like=g, dilation=self.dilation)
        if self.has_bias and self.needs_input_grad[2]:
            gb = g.sum(axis=(0, 2, 3))
        return (gx, gw, gb) if self.has_bias else (gx, gw)
