"""Depthwise convolution, written the way the CoAtNet paper writes it.

    y_i = Σ_{j ∈ L(i)} w_{i−j} ⊙ x_j

Every channel has its own small kernel and is filtered on its own (no mixing across
channels: that is the 1×1 convolutions' job in MBConv). Output pixel i is a weighted
sum of the input pixels j in the k_h×k_w window L(i) around it, and the weight
depends only on the *offset* i − j — a static, translation-equivariant kernel. (Self-
attention has the same form, y_i = Σ_j softmax_j(x_iᵀx_j) x_j, with a weight that
depends on the input instead: the paper's first insight.)

Turn the sum inside out: instead of visiting every output pixel and summing over its
window, visit every kernel offset (a, b) and add, for *all* output pixels at once,
the weight w[a, b] times the input shifted by (a, b):

    y = Σ_{a, b} w[:, a, b] ⊙ shift_{a,b}(x_pad)        (k_h·k_w array operations)

Making each term one long operation. On the padded image laid out row after row
(the array's own memory order), moving down one row is moving W_p entries along, so the
shift by (a, b) is the single flat offset a·W_p + b, and stride s is a step of s:

    shift_{a,b}(x_pad)[r, q] = x_flat[s·(r·M + q) + a·W_p + b],      M = W_p (a "wide" row)

Each term is then one contiguous-ish pass over the whole slice instead of Ho short rows
of Wo pixels (NumPy pays a fixed cost per row: measured 3× slower at 32×32). The wide row
computes M ≥ Wo outputs; the M − Wo extra ones read across the row's end and are simply
cropped away (``_FlatGrid`` below). Shapes: x (N, C, H, W), w (C, 1, kh, kw),
y (N, C, Ho, Wo). Like every deep-learning "convolution" (PyTorch's too) this is a
cross-correlation: the weight stored at kernel position (a, b) is the paper's w_{i−j} for
the offset i − j = (pad − a, pad − b), i.e. the paper's kernel flipped in both axes.

The k_h·k_w terms, each a multiply and an add over the whole slice, cost 2·k_h·k_w
array operations. ``_filter`` does the same sum with fewer: it copies the k_h·k_w shifted
views side by side, (C, k_h·k_w, M·Ho) per sample (im2col of lesson 04, channel by
channel), and multiplies each channel's (1, k_h·k_w) kernel row into its patch matrix:
one batched matrix product (measured 1.9× faster than the term-by-term sum).

Backward: the same sum read in the other direction. With g = dL/dy,

    dL/dw[c, a, b] = Σ_{n, r, q} g ⊙ shift_{a,b}(x_pad)     the input each weight met
    dL/dx_pad      = Σ_{a, b} shift_{a,b}⁻¹(w[:, a, b] ⊙ g)  each weight sends g back
                                                              to where its pixel came from

(the second line is col2im of lesson 04 with slot gradient w[:, a, b] ⊙ g; g is zero on
the cropped wide outputs, so they send nothing back). With a column step of 1 each
shift is a plain flat offset, so its inverse is the opposite offset and the second line
is again a ``_filter``: of g, padded in front, with the offsets reversed. A column step
s > 1 reads every s-th entry; split the flat input into its s phases (entries φ, φ + s,
φ + 2s, ...) and each tap reads one phase at a plain offset, so each phase's gradient is
again a ``_filter``, of the taps that read it (stride 2: input gradient 1.15× faster than adding
the taps one by one, and one code path for every stride).
It equals ``conv2d`` with a block-diagonal dense weight (a test checks this), at
1/C of the work.
"""
from __future__ import annotations

from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.blockwise import map_blocks, sum_in_order
from tinycoat.nn.functional.conv import check_conv_arguments, check_conv_input
from tinycoat.nn.functional.im2col import output_size, pair


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

    def tap(self, flat, offset):
        """shift_{a,b}: the (n, C, Ho·M) strided view of the flat input that one tap meets."""
        return _strided(flat, offset, self.length, self.step)

    def crop(self, wide):
        """Wide outputs (n, C, Ho·M) -> the real ones, (n, C, Ho, Wo) (a view)."""
        return wide.reshape(wide.shape[:2] + (self.ho, self.row))[..., :self.wo]

    def widen(self, g):
        """The adjoint of ``crop``: (n, C, Ho, Wo) -> (n, C, Ho·M), zeros on the extra outputs."""
        wide = get_array_module(g).zeros(g.shape[:2] + (self.ho, self.row), dtype=g.dtype)
        wide[..., :self.wo] = g
        return wide.reshape(g.shape[:2] + (self.length,))


def _filter(source, offsets, kernel, length, step):
    """Σ_t kernel[:, 0, t] ⊙ source[..., step·p + offsets[t]] for p < length, as a matrix product.

    source (n, C, P) flat images; kernel (C, 1, T), T = len(offsets). The T shifted views
    are copied side by side into patches (n, C, T, length) — im2col, channel by channel —
    and each channel's kernel row multiplies its patch matrix. Result (n, C, length).
    """
    xp = get_array_module(source)
    patches = xp.empty(source.shape[:2] + (len(offsets), length), dtype=source.dtype)
    for t, offset in enumerate(offsets):
        patches[:, :, t] = _strided(source, offset, length, step)
    return xp.matmul(kernel, patches)[:, :, 0]            # (C, 1, T) @ (n, C, T, length)


class DepthwiseConv2d(Function):
    # Both directions run block by block over the batch (tinycoat.blockwise): the k_h·k_w
    # passes below then sweep a slice that stays in cache, and the slices share the cores.
    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0)):
        xp = get_array_module(x)
        n, c = x.shape[:2]
        kh, kw = weight.shape[2:]
        grid = self.grid = _FlatGrid(x.shape, (kh, kw), stride, padding)
        kernel = weight.reshape(c, 1, kh * kw)              # channel c's row: w[c, a, b] at a·kw + b
        self.x = x if self.needs_input_grad[1] else None
        self.kernel = kernel if self.needs_input_grad[0] else None
        self.x_shape, self.kernel_hw, self.has_bias = x.shape, (kh, kw), bias is not None
        offsets = [offset for _, _, offset in grid.offsets]

        def filter_block(x_block, y):
            # y = Σ_{a,b} w[:, a, b] ⊙ shift_{a,b}(x_pad), on the wide grid, then cropped
            y[...] = grid.crop(_filter(grid.pad(x_block), offsets, kernel, grid.length, grid.step))
            if bias is not None:
                y += bias.reshape(c, 1, 1)
        y = xp.empty((n, c, grid.ho, grid.wo), dtype=x.dtype)
        map_blocks(filter_block, x, y)
        return y

    def backward(self, g):
        xp = get_array_module(g)
        c, (kh, kw), grid = self.x_shape[1], self.kernel_hw, self.grid
        need_x, need_w = self.needs_input_grad[0], self.needs_input_grad[1]
        flat_size = grid.padded[0] * grid.padded[1]

        def input_grad(g_wide):
            # dL/dx_flat[s·k + φ] = Σ over the taps t with offset_t = s·q_t + φ of w_t ⊙ g_wide[k − q_t]:
            # split the flat input into its s phases (every s-th entry from φ); on a phase each
            # tap is a plain shift q_t, so each phase is a _filter of g (with `last` zeros in
            # front, so that every index is inside) at the reversed shifts.
            s = grid.step
            grad_flat = xp.empty(g_wide.shape[:2] + (flat_size // s, s), dtype=g.dtype)
            for phase in range(s):
                taps = [t for t, (_, _, offset) in enumerate(grid.offsets) if offset % s == phase]
                if not taps:                            # a kernel narrower than the step skips this phase
                    grad_flat[..., phase] = 0
                    continue
                shifts = [grid.offsets[t][2] // s for t in taps]
                last = max(shifts)
                g_ext = xp.zeros(g_wide.shape[:2] + (last + flat_size // s,), dtype=g.dtype)
                g_ext[..., last:last + grid.length] = g_wide
                grad_flat[..., phase] = _filter(g_ext, [last - q for q in shifts],
                                                self.kernel[:, :, taps], flat_size // s, 1)
            return grad_flat.reshape(g_wide.shape[:2] + (flat_size,))

        def backward_block(g_block, x_block, gx_block):
            g_wide = grid.widen(g_block)                                # zeros on the cropped outputs
            gw = None
            if need_w:
                # dL/dw[c, a, b] = Σ over batch and output pixels of g ⊙ (the input this weight met)
                x_flat = grid.pad(x_block)
                gw = xp.empty((c, 1, kh, kw), dtype=g.dtype)
                for a, b, offset in grid.offsets:
                    gw[:, 0, a, b] = xp.einsum("ncp,ncp->c", g_wide, grid.tap(x_flat, offset))
            if need_x:
                gx_block[...] = grid.unpad(input_grad(g_wide))
            return gw

        gx = xp.empty(self.x_shape, dtype=g.dtype) if need_x else None
        partial_gw = map_blocks(backward_block, g, self.x, gx)
        gw = sum_in_order(partial_gw) if need_w else None
        gb = None
        if self.has_bias and self.needs_input_grad[2]:
            gb = g.sum(axis=(0, 2, 3))
        return (gx, gw, gb) if self.has_bias else (gx, gw)


def depthwise_conv2d(x, weight, bias=None, stride=1, padding=0):
    """Per-channel convolution of x (N, C, H, W) with weight (C, 1, kh, kw), bias (C,)."""
    stride, padding = pair(stride), pair(padding)
    if weight.ndim != 4 or weight.shape[1] != 1:
        raise ValueError(f"depthwise_conv2d: weight must be (channels, 1, kh, kw), got {tuple(weight.shape)}")
    c, _, kh, kw = weight.shape
    check_conv_arguments("depthwise_conv2d", stride, padding, bias, c)
    check_conv_input(f"depthwise_conv2d({c} channels, k={kh}×{kw})", x, c, (kh, kw), stride, padding)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return DepthwiseConv2d.apply(*inputs, stride=stride, padding=padding)
