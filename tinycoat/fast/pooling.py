"""Twin of max pooling (nn/functional/pooling.py): a running maximum in blocks, no patch copy.

The reference copies every window into a (N, C, kh·kw, Ho, Wo) array and takes its max and
argmax. Here the maximum is kept running over the kh·kw shifted views, the winning slot
tracked branch-free (winner + [better]·(a − winner): a masked write is ~20× slower), on
cache-sized blocks of the batch on every core (blocks.py), in the input's layout (layout.py).
"""
from __future__ import annotations

from tinycoat.backend import get_array_module
from tinycoat.fast.blocks import map_blocks
from tinycoat.fast.layout import empty_like_layout
from tinycoat.nn.functional import pooling
from tinycoat.nn.functional.im2col import shifted
from tinycoat.nn.functional.pooling import first_pixel_slots, overhang, pad_pool, pool_col2im, pool_output_size


class MaxPool2d(pooling.MaxPool2d):
    # Block by block over the batch, on every core (blocks.py). ceil_mode as in the reference: the
    # input padded further by the overhang, where the last windows reach past the padding.
    def forward(self, x, kernel=(2, 2), stride=(2, 2), padding=(0, 0), ceil_mode=False, dilation=(1, 1)):
        xp = get_array_module(x)
        (kh, kw), (h, w), (dh, dw) = kernel, x.shape[2:], dilation
        out_hw = pool_output_size(h, w, kernel, stride, padding, ceil_mode, dilation)
        self.extra = overhang(h, w, kernel, stride, padding, out_hw, dilation)
        self.x_shape, self.kernel, self.stride, self.padding = x.shape, kernel, stride, padding
        self.dilation = dilation
        y = empty_like_layout(x, x.shape[:2] + out_hw)
        # winner[n, c, r, q] = the offset number a·kw + b whose pixel is the maximum
        # (the first one on ties, as in PyTorch): the backward routes g through it.
        self.winner = xp.zeros(y.shape, dtype="uint8" if kh * kw < 256 else "int32")
        # (as the reference: a window whose pixels are all −∞ names its first pixel, not its padding)
        first = first_pixel_slots((h, w), kernel, stride, padding, dilation, out_hw, xp)
        first_ok = first >= 0

        def pool_block(x_block, y_block, winner):
            x_pad = pad_pool(x_block, padding, self.extra, value=-float("inf"))
            y_block[...] = shifted(x_pad, 0, 0, stride, out_hw)
            for a in range(1, kh * kw):
                candidate = shifted(x_pad, dh * (a // kw), dw * (a % kw), stride, out_hw)
                # winner = a where the candidate is larger, written branch-free: winner + [better]·(a − winner)
                # (wraps around in unsigned integers and still lands on a); a masked write is ~20× slower.
                step = xp.subtract(a, winner, dtype=winner.dtype)
                step *= candidate > y_block
                winner += step
                xp.maximum(y_block, candidate, out=y_block)
            masked = y_block == -float("inf")
            if masked.any():                                  # (rare: one pass to find none)
                xp.copyto(winner, first, where=masked & first_ok, casting="unsafe")
        map_blocks(pool_block, x, y, self.winner)
        return y

    def backward(self, g):
        kw = self.kernel[1]

        def unpool_block(g_block, winner, gx_block):        # g goes to the pixel that won
            gx_block[...] = pool_col2im(lambda a, b: g_block * (winner == a * kw + b), gx_block.shape,
                                        self.kernel, self.stride, self.padding, self.extra, like=g_block,
                                        dilation=self.dilation)
        gx = empty_like_layout(g, self.x_shape)
        map_blocks(unpool_block, g, self.winner, gx)
        return gx
