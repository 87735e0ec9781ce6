"""Embedding: a learned vector per index, y = W[idx] (a lookup table, PyTorch's nn.Embedding).

The lookup is indexing, so its backward is indexing's: each row of W receives the sum of the
gradients of the positions that read it (rows nobody read get 0). Equal to one_hot(idx) @ W,
without building the one-hot matrix.

With ``padding_idx`` (PyTorch's), one row is the "nothing here" vector of padded positions: it
starts at zeros and gets no gradient, so training never moves it (it is read as it is set).
"""
from __future__ import annotations

from tinycoat.autograd import no_grad
from tinycoat.checks import all_in_range, check_int, is_int
from tinycoat.nn.module import Module, normal_parameter
from tinycoat.ops import where
from tinycoat.tensor import Tensor


class Embedding(Module):
    """``num_embeddings`` vectors of ``embedding_dim``, W ~ Normal(0, 1) as PyTorch's; input: integer
    indices of any shape (…), output (…, embedding_dim)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, *, dtype=None, device="cpu"):
        super().__init__()
        self.num_embeddings = check_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = check_int("Embedding", "embedding_dim", embedding_dim)
        self.weight = normal_parameter((num_embeddings, embedding_dim), 1.0, dtype, device)
        self.padding_idx = padding_idx
        if padding_idx is not None:
            if not is_int(padding_idx) or not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be an index into the {num_embeddings} rows "
                                 f"(in [-{num_embeddings}, {num_embeddings})), got {padding_idx!r}")
            self.padding_idx = int(padding_idx) % num_embeddings
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, indices):
        if not isinstance(indices, Tensor) or indices.dtype.kind not in "iu":
            raise TypeError(f"Embedding: expected a tensor of integer indices, got "
                            f"{indices.dtype if isinstance(indices, Tensor) else type(indices).__name__}")
        if not all_in_range(indices.data, self.num_embeddings):
            raise IndexError(f"Embedding({self.num_embeddings}, {self.embedding_dim}): indices must lie in "
                             f"[0, {self.num_embeddings}), got values in [{int(indices.data.min())}, "
                             f"{int(indices.data.max())}]")
        rows = self.weight[indices]
        if self.padding_idx is not None:       # the padding row's value, without its gradient
            rows = where((indices != self.padding_idx).unsqueeze(-1), rows, rows.detach())
        return rows

    def extra_repr(self):
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
