"""Twin of the depthwise convolution (nn/functional/depthwise.py): the shifted sum, in fewer passes.

The reference computes y = Σ_{a,b} w[:, a, b] ⊙ shift_{a,b}(x_pad) as k_h·k_w multiply-adds over
Ho short rows of Wo pixels each; NumPy pays a fixed cost per row (measured 3× slower at 32×32
than one long pass) and each term is two passes over the map. Here the same sum takes:

* **Flat offsets.** On the padded image laid out row after row (the array's own memory order),
  moving down one row is moving W_p entries along, so the shift by (a, b) is the single flat
  offset a·W_p + b, and stride s is a step of s:

      shift_{a,b}(x_pad)[r, q] = x_flat[s·(r·M + q) + a·W_p + b],      M = W_p (a "wide" row)

  Each term is then one long strided view instead of Ho short rows. The wide row computes
  M ≥ Wo outputs; the M − Wo extra ones read across the row's end and are cropped away
  (``_FlatGrid``).
* **One product per channel.** ``_patches`` copies the k_h·k_w shifted views side by side,
  (C, k_h·k_w, M·Ho) per sample (im2col of lesson 04, channel by channel), and each channel's
  (1, k_h·k_w) kernel row multiplies its patch matrix: one batched matrix product where the
  term-by-term sum made 2·k_h·k_w passes (measured 1.9× faster).
* **One patch matrix for both gradients.** With a column step of 1 each shift is a plain flat
  offset, so its transpose is the opposite offset: dL/dx_pad = Σ_t w_t ⊙ g_wide[k − shift_t] is
  again a patch matrix (of g, padded in front, at the reversed offsets) times the kernel, and
  dL/dw_t = Σ_k g_wide[k − shift_t] ⊙ x_flat[k] is that same patch matrix times x_pad, read off
  while it is in cache — as dW and dcols share G in conv2d. A column step s > 1 reads every
  s-th entry: split the flat input into its s phases (entries φ, φ + s, φ + 2s, ...) and each
  tap reads one phase at a plain offset, so each phase is the same computation over the taps
  that read it (one code path for every stride).
* **Blocks** of samples on every core (blocks.py), results in the input's layout (layout.py).

On a GPU, three CUDA kernels (cuda_kernels.py) instead: one thread per output pixel for y,
one per input pixel for dL/dx, one per (sample, channel, tap) for dL/dw.
"""
from __future__ import annotations

from tinycoat.backend import get_array_module
from tinycoat.fast import cuda_kernels
from tinycoat.fast.blocks import map_blocks, sum_in_order
from tinycoat.fast.layout import add_channel_bias, empty_like_layout
from tinycoat.nn.functional import depthwise
from tinycoat.nn.functional.im2col import output_size


def _strided(flat, offset, length, step):
    """flat[..., offset + step·p] for p < length: a strided view, no copy."""
    return flat[..., offset:offset + step * (length - 1) + 1:step]


class _FlatGrid:
    """Where every kernel tap reads, on the padded image flattened row after row.

    Wide output pixel P = r·M + q reads flat input index s·P + a·W_p + b (see the module
    docstring). The padding gets extra zero columns on the right (W_p a multiple of s_w)
    and rows at the bottom, so that the wide outputs past Wo read zeros inside the array.
    """

    def __init__(self, x_shape, kernel, stride, padding):
        (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
        h, w = x_shape[2:]
        self.ho, self.wo = output_size(h, w, kernel, stride, padding)
        wp = w + 2 * pw + (-(w + 2 * pw)) % sw
        hp = max(h + 2 * ph, sh * self.ho + kh)
        self.hw, self.padding, self.padded = (h, w), (ph, pw), (hp, wp)
        self.row = sh * wp // sw                                        # M
        self.length = self.ho * self.row                                # wide outputs per channel
        self.step = sw
        self.offsets = [(a, b, a * wp + b) for a in range(kh) for b in range(kw)]

    def pad(self, x):
        """x (n, C, H, W) -> zero-padded and flattened, (n, C, Hp·Wp)."""
        (h, w), (ph, pw), (hp, wp) = self.hw, self.padding, self.padded
        flat = get_array_module(x).zeros(x.shape[:2] + (hp, wp), dtype=x.dtype)
        flat[:, :, ph:ph + h, pw:pw + w] = x
        return flat.reshape(x.shape[:2] + (hp * wp,))

    def unpad(self, flat):
        """The adjoint of ``pad``: (n, C, Hp·Wp) -> the (n, C, H, W) part (a view)."""
        (h, w), (ph, pw) = self.hw, self.padding
        return flat.reshape(flat.shape[:2] + self.padded)[:, :, ph:ph + h, pw:pw + w]

    def crop(self, wide):
        """Wide outputs (n, C, Ho·M) -> the real ones, (n, C, Ho, Wo) (a view)."""
        return wide.reshape(wide.shape[:2] + (self.ho, self.row))[..., :self.wo]


def _patches(source, offsets, length, step):
    """The shifted views source[..., step·p + offset] for p < length, copied side by side.

    source (n, C, P) flat images, T = len(offsets) offsets; result (n, C, T, length):
    per channel, a T × length patch matrix (im2col of lesson 04, channel by channel).
    """
    xp = get_array_module(source)
    patches = xp.empty(source.shape[:2] + (len(offsets), length), dtype=source.dtype)
    for t, offset in enumerate(offsets):
        patches[:, :, t] = _strided(source, offset, length, step)
    return patches


def accepts(*arrays, dilation=(1, 1), **params):
    """The twin takes undilated kernels; for a dilated one the reference runs (twins.register)."""
    return dilation == (1, 1)


class DepthwiseConv2d(depthwise.DepthwiseConv2d):
    # Both directions run block by block over the batch (blocks.py): the passes below then
    # sweep a slice that stays in cache, and the slices share the cores.
    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
        # (dilation is always (1, 1) here: ``accepts`` leaves dilated kernels to the reference)
        xp = get_array_module(x)
        n, c = x.shape[:2]
        kh, kw = weight.shape[2:]
        grid = self.grid = _FlatGrid(x.shape, (kh, kw), stride, padding)
        kernel = weight.reshape(c, 1, kh * kw)              # channel c's row: w[c, a, b] at a·kw + b
        self.x = x if self.needs_input_grad[1] else None
        self.kernel = kernel if self.needs_input_grad[0] else None
        self.x_shape, self.kernel_shape, self.has_bias = x.shape, weight.shape, bias is not None
        self.stride, self.padding = stride, padding
        if cuda_kernels.available(x, weight):           # on a GPU: one thread per output pixel
            y = cuda_kernels.depthwise_forward(x, weight, stride, padding, (grid.ho, grid.wo))
            return y if bias is None else add_channel_bias(y, bias)
        offsets = [offset for _, _, offset in grid.offsets]

        def filter_block(x_block, y):
            # y = Σ_{a,b} w[:, a, b] ⊙ shift_{a,b}(x_pad), on the wide grid, then cropped
            patches = _patches(grid.pad(x_block), offsets, grid.length, grid.step)
            y[...] = grid.crop(xp.matmul(kernel, patches)[:, :, 0])   # (C, 1, T) @ (n, C, T, Ho·M)
            if bias is not None:
                y += bias.reshape(c, 1, 1)
        y = empty_like_layout(x, (n, c, grid.ho, grid.wo), None if bias is None else xp.result_type(x, bias))
        map_blocks(filter_block, x, y)
        return y

    def backward(self, g):
        need_x, need_w = self.needs_input_grad[0], self.needs_input_grad[1]
        if cuda_kernels.available(g):
            gx, gw = cuda_kernels.depthwise_backward(g, self.x, self.kernel, self.x_shape, self.kernel_shape,
                                                     self.stride, self.padding, need_x, need_w)
        else:
            gx, gw = self._backward_in_blocks(g, need_x, need_w)
        gb = None
        if self.has_bias and self.needs_input_grad[2]:
            gb = g.sum(axis=(0, 2, 3))
        return (gx, gw, gb) if self.has_bias else (gx, gw)

    def _backward_in_blocks(self, g, need_x, need_w):
        xp = get_array_module(g)
        grid, step = self.grid, self.grid.step
        phase_size = grid.padded[0] * grid.padded[1] // step           # flat input entries per phase
        shifts = [offset // step for _, _, offset in grid.offsets]      # tap t reads phase offset % step at shift t
        last = max(shifts)
        phases = [[t for t, (_, _, offset) in enumerate(grid.offsets) if offset % step == phase]
                  for phase in range(step)]

        def backward_block(g_block, x_block, gx_block):
            n, c = g_block.shape[:2]
            # g on the wide grid (zeros on the cropped outputs), after `last` zeros, so that
            # g_ext[last − shift + k] = g_wide[k − shift] is inside for every k and shift
            g_ext = xp.zeros((n, c, last + phase_size), dtype=g.dtype)
            grid.crop(g_ext[..., last:last + grid.length])[...] = g_block
            x_flat = grid.pad(x_block) if need_w else None
            grad_flat = xp.empty((n, c, phase_size, step), dtype=g.dtype) if need_x else None
            gw = xp.empty((c, 1, len(shifts)), dtype=g.dtype) if need_w else None
            for phase, taps in enumerate(phases):
                if not taps:                            # a kernel narrower than the step skips a phase
                    if need_x:
                        grad_flat[..., phase] = 0
                    continue
                # row t: g_wide[k − shift_t] for every input entry k of this phase, (n, C, T, phase_size)
                patches = _patches(g_ext, [last - shifts[t] for t in taps], phase_size, 1)
                if need_x:      # dL/dx_flat[step·k + phase] = Σ_t w_t ⊙ g_wide[k − shift_t]
                    grad_flat[..., phase] = xp.matmul(self.kernel[:, :, taps], patches)[:, :, 0]
                if need_w:      # dL/dw_t = Σ_{n, k} g_wide[k − shift_t] ⊙ x_flat[step·k + phase]
                    x_phase = x_flat[..., phase::step, None]                            # (n, C, phase_size, 1)
                    gw[:, 0, taps] = xp.matmul(patches, x_phase)[..., 0].sum(axis=0)
            if need_x:
                gx_block[...] = grid.unpad(grad_flat.reshape(n, c, -1))
            return gw.reshape(self.kernel_shape) if need_w else None

        gx = empty_like_layout(g, self.x_shape) if need_x else None
        partial_gw = map_blocks(backward_block, g, self.x, gx)
        return gx, (sum_in_order(partial_gw) if need_w else None)
