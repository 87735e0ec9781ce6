"""SyncBatchNorm: BatchNorm whose statistics are those of the global batch, not the shard.

BatchNorm (nn/functional/normalization.py) standardizes each channel over the m values of
(N, H, W). Split the batch over ranks and each rank sees only its m_r values: its μ and σ²
differ from the global ones, so N ranks no longer compute what one process would. The fix
needs only sums, and sums add across ranks:

    forward    m = Σ_r m_r,   μ = Σ_r Σx / m,   σ² = Σ_r Σ(x − μ)² / m      (two all-reduces)
    backward   mean(ĝ) = Σ_r Σĝ / m,   mean(ĝ ⊙ x̂) = Σ_r Σ(ĝ ⊙ x̂) / m      (one all-reduce)

and then every formula of BatchNorm holds unchanged, with the global means in place of the
local ones: dL/dx = (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂)) / √(σ² + ε). The gradients of γ and β
stay local sums; the gradient all-reduce of data_parallel.py adds them up with the others.
(σ² in two passes, as BatchNorm does, rather than E[x²] − μ² in one: that difference of two
large numbers loses the digits that float32 has.)
"""
from __future__ import annotations

from tinycoat.autograd import Function
from tinycoat.backend import get_array_module
from tinycoat.nn import BatchNorm1d, BatchNorm2d
from tinycoat.nn.functional.normalization import scale_shift_grads


class SyncBatchNorm(Function):
    """Training mode over all ranks of ``comm``: per-channel statistics of the global batch."""

    def forward(self, x, weight, bias, comm=None, eps=1e-5, running_mean=None, running_var=None, momentum=0.1):
        xp = get_array_module(x)
        self.comm, self.axes = comm, (0,) + tuple(range(2, x.ndim))             # (N, H, W)
        shape = (1, -1) + (1,) * (x.ndim - 2)                                    # (C,) -> (1, C, 1, 1)
        local_m = x.size // x.shape[1]
        # The count travels with the sums, in float64: exact up to 2^53 values (float32 stops at 2^24).
        sums = comm.allreduce_sum(xp.concatenate([x.sum(axis=self.axes, dtype=xp.float64),
                                                  xp.asarray([local_m], dtype=xp.float64)]))
        self.m = m = int(round(float(sums[-1])))
        if m < 2:
            raise ValueError(f"SyncBatchNorm: training needs more than one value per channel over all ranks, got {m}")
        mean = (sums[:-1] / m).astype(x.dtype).reshape(shape)
        var = comm.allreduce_sum(((x - mean) ** 2).sum(axis=self.axes)) / m
        self.inv_std = 1 / xp.sqrt(var.reshape(shape) + eps)
        self.x_hat = (x - mean) * self.inv_std
        self.gamma = weight.reshape(shape)
        if running_mean is not None:     # as BatchNorm: the unbiased variance (× m/(m−1)), global m
            running_mean.data[...] = (1 - momentum) * running_mean.data + momentum * mean.reshape(-1)
            running_var.data[...] = (1 - momentum) * running_var.data + momentum * m / (m - 1) * var
        return self.gamma * self.x_hat + bias.reshape(shape)

    def backward(self, g):
        gx = None
        if self.needs_input_grad[0]:
            xp, c = get_array_module(g), g.shape[1]
            g_hat = self.gamma * g
            sums = self.comm.allreduce_sum(xp.concatenate([g_hat.sum(axis=self.axes),
                                                           (g_hat * self.x_hat).sum(axis=self.axes)]))
            shape = (1, -1) + (1,) * (g.ndim - 2)
            mean_g, mean_gx = (sums[:c] / self.m).reshape(shape), (sums[c:] / self.m).reshape(shape)
            gx = (g_hat - mean_g - self.x_hat * mean_gx) * self.inv_std
        return (gx,) + scale_shift_grads(g, self.x_hat, self.axes, self.needs_input_grad)


class SyncBatchNorm2d(BatchNorm2d):
    """BatchNorm2d whose training-mode statistics span every rank of ``comm`` (evaluation, which
    uses the running statistics, is BatchNorm2d's own)."""

    def __init__(self, num_features, comm, eps=1e-5, momentum=0.1, *, dtype=None, device="cpu"):
        super().__init__(num_features, eps=eps, momentum=momentum, dtype=dtype, device=device)
        self.comm = comm

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm2d({self.num_features}): expected input (N, {self.num_features}, H, W), "
                             f"got {tuple(x.shape)}")
        return SyncBatchNorm.apply(x, self.weight, self.bias, comm=self.comm, eps=self.eps,
                                   running_mean=self.running_mean, running_var=self.running_var,
                                   momentum=self._count_batch())


def convert_sync_batchnorm(module, comm):
    """Replace every BatchNorm2d in ``module`` by a SyncBatchNorm2d that shares its parameters and
    buffers (as PyTorch's ``nn.SyncBatchNorm.convert_sync_batchnorm``). Returns ``module``."""
    for name, child in list(module._modules.items()):
        if type(child) is BatchNorm2d:
            if not (child.affine and child.track_running_stats):
                raise ValueError(f"convert_sync_batchnorm: {name} is {child!r}; SyncBatchNorm2d has γ, β and running "
                                 "statistics (affine=False or track_running_stats=False is not implemented)")
            sync = SyncBatchNorm2d(child.num_features, comm, eps=child.eps, momentum=child.momentum)
            for key in ("weight", "bias"):
                setattr(sync, key, getattr(child, key))
            for key in ("running_mean", "running_var", "num_batches_tracked"):
                setattr(sync, key, getattr(child, key))
            sync.train(child.training)
            module._modules[name] = sync
        elif isinstance(child, BatchNorm1d):
            raise ValueError(f"convert_sync_batchnorm: {name} is {child!r}; only BatchNorm2d has a synchronized "
                             "twin here (SyncBatchNorm2d), so it would silently stay per-rank")
        elif child is not None:
            convert_sync_batchnorm(child, comm)
    return module
