"""Unfold and Fold layers: functional/unfold.py's unfold and fold (im2col and its adjoint) with
their sizes fixed when built, as PyTorch's nn.Unfold and nn.Fold."""
from __future__ import annotations

import tinycoat.nn.functional as F
from tinycoat.nn.functional.unfold import window_arguments
from tinycoat.nn.module import Module


class Unfold(Module):
    """(N, C, H, W) -> (N, C·kh·kw, L): every kernel_size patch as a column."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride
        window_arguments("Unfold", kernel_size, dilation, padding, stride)      # (a bad setting fails here)

    def forward(self, x):
        return F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, stride={self.stride}"


class Fold(Module):
    """(N, C·kh·kw, L) -> (N, C, H, W) of ``output_size``: each column entry added back at its pixel."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride
        window_arguments("Fold", kernel_size, dilation, padding, stride)

    def forward(self, x):
        return F.fold(x, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
