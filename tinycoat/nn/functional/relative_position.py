"""Relative position bias: one learned scalar per head for every 2-D offset (Δrow, Δcol).

On an H×W map the tokens are numbered row-major, n = r·W + c. Query i and key j
are Δr = r_i − r_j ∈ [−(H−1), H−1] rows and Δc = c_i − c_j ∈ [−(W−1), W−1] columns
apart, so a head needs a table w of shape (2H−1, 2W−1), read at

    w_{i−j} = table[Δr + H − 1, Δc + W − 1].

``relative_position_index(H, W)`` precomputes, for every pair (i, j), where that
entry sits in the *flattened* table (length (2H−1)(2W−1)):

    index[i, j] = (Δr + H − 1) · (2W − 1) + (Δc + W − 1)          shape (N, N), N = H·W

so the whole bias is one gather, ``table.reshape(heads, -1)[:, index]`` — shape
(heads, N, N) — with no loop over tokens. Many pairs share an offset (all pairs one
step apart horizontally read the same entry), so the backward of the gather is a
*scatter-add*: every pair's gradient is added into the entry it read.

``resize_bias_table`` rescales a table to another map size by bilinear interpolation
(the paper's recipe for fine-tuning at another resolution).
"""
from __future__ import annotations

import functools

from tinycoat import backend
from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.tensor import Tensor


@functools.cache     # never evicted: a recorded CUDA graph (fast/cuda_graph.py) keeps reading it
def _index(H, W, device):
    xp = backend.array_module(device)
    n = xp.arange(H * W)
    rows, cols = n // W, n % W                        # token n sits at (r, c) = divmod(n, W)
    d_row = rows[:, None] - rows[None, :] + (H - 1)   # Δr + H − 1 ∈ [0, 2H−2], shape (N, N)
    d_col = cols[:, None] - cols[None, :] + (W - 1)   # Δc + W − 1 ∈ [0, 2W−2]
    index = d_row * (2 * W - 1) + d_col
    if device == "cpu":
        index.flags.writeable = False  # cached and shared by every caller: keep it read-only
    return index


def relative_position_index(H: int, W: int, device="cpu"):
    """(N, N) integer array: index[i, j] is where w_{i−j} sits in the flattened (2H−1)(2W−1) table."""
    if int(H) < 1 or int(W) < 1:
        raise ValueError(f"relative_position_index: the map must be at least 1×1, got {H}×{W}")
    return _index(int(H), int(W), backend.canonical_device(device))


def table_size(bias_table_shape):
    """(H, W) of the map a bias table of shape (heads, 2H−1, 2W−1) belongs to."""
    if len(bias_table_shape) != 3 or bias_table_shape[1] % 2 == 0 or bias_table_shape[2] % 2 == 0:
        raise ValueError(f"a relative bias table has shape (heads, 2H−1, 2W−1) (odd last two sides), "
                         f"got {tuple(bias_table_shape)}")
    return (bias_table_shape[1] + 1) // 2, (bias_table_shape[2] + 1) // 2


class RelativeBias(Function):
    """Gather: table (heads, 2H−1, 2W−1)  ->  bias (heads, N, N), bias[h, i, j] = w^h_{i−j}.

    Backward: g (heads, N, N) is scatter-added into a zero table, because many
    (i, j) pairs read the same entry (its gradient is the sum over those pairs).
    """

    def forward(self, table, index=None):
        self.table_shape = table.shape
        self.index = index
        heads = table.shape[0]
        return table.reshape(heads, -1)[:, index]

    def backward(self, g):
        xp = get_array_module(g)
        heads = self.table_shape[0]
        entries = self.table_shape[1] * self.table_shape[2]
        grad = xp.zeros(heads * entries, dtype=g.dtype)
        # Flat position of (h, index[i, j]) in the (heads · entries) table: h·entries + index.
        flat = xp.arange(heads)[:, None, None] * entries + self.index[None]
        backend.scatter_add(grad, flat.reshape(-1), g.reshape(-1))
        return grad.reshape(self.table_shape)


def relative_bias(bias_table: Tensor) -> Tensor:
    """The (heads, N, N) bias w_{i−j} of every head, query i and key j, from its table."""
    H, W = table_size(bias_table.shape)
    return RelativeBias.apply(bias_table, index=relative_position_index(H, W, bias_table.device))


# ---------------------------------------------------------------------------- resizing

def _interpolation_matrix(xp, old, new, dtype):
    """(2·new−1, 2·old−1) matrix M with M @ column = the column resampled linearly.

    Offsets are aligned at the centre and at both ends ("align corners" on the
    offsets): new offset Δ' ∈ [−(new−1), new−1] reads old offset Δ = Δ'·(old−1)/(new−1),
    so offset 0 stays 0 and the largest offset maps to the largest. A 1-long table
    (old = 1) is spread as a constant; new = 1 keeps only offset 0.
    """
    ratio = (old - 1) / (new - 1) if new > 1 else 0.0
    position = xp.arange(-(new - 1), new, dtype=xp.float64) * ratio + (old - 1)  # in [0, 2·old−2]
    low = xp.clip(xp.floor(position).astype(xp.int64), 0, 2 * old - 2)
    high = xp.clip(low + 1, 0, 2 * old - 2)
    frac = position - low
    rows = xp.arange(2 * new - 1)
    matrix = xp.zeros((2 * new - 1, 2 * old - 1), dtype=xp.float64)
    matrix[rows, low] += 1 - frac
    matrix[rows, high] += frac  # (separate statements, so low == high still adds up to 1)
    return matrix.astype(dtype)


def resize_bias_table(table, new_size):
    """Bilinear resize of a (heads, 2H−1, 2W−1) table (array or Tensor's data) to new_size = (H', W').

    Returns an array of shape (heads, 2H'−1, 2W'−1): rows and columns are interpolated
    separately, new = M_rows · table · M_colsᵀ for every head.
    """
    xp = get_array_module(table)
    H, W = table_size(table.shape)
    new_H, new_W = int(new_size[0]), int(new_size[1])
    if new_H < 1 or new_W < 1:
        raise ValueError(f"resize_bias_table: the new map must be at least 1×1, got {new_size}")
    m_rows = _interpolation_matrix(xp, H, new_H, table.dtype)
    m_cols = _interpolation_matrix(xp, W, new_W, table.dtype)
    return m_rows @ table @ m_cols.T
