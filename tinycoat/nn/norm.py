"""BatchNorm2d (and 1d), InstanceNorm2d (and 1d), LayerNorm and GroupNorm layers: γ = 1, β = 0 at
the start, plus BatchNorm's running stats (and InstanceNorm's, when asked).

The normalizations themselves (and their backward) are in functional/normalization.py.
BatchNorm2d keeps buffers (saved in the state_dict, not trained): running_mean (0 at the
start), running_var (1) and num_batches_tracked, as PyTorch does.
"""
from __future__ import annotations

from tinycoat import backend
from tinycoat.checks import check_int, check_number
from tinycoat.tensor import Tensor, ones, zeros
import tinycoat.nn.functional as F
from tinycoat.nn.module import Module, Parameter


class _BatchNorm(Module):
    """Each channel normalized by its batch mean and variance in training (which also update the
    running estimates, with ``momentum`` as in PyTorch), by the running estimates in eval mode; then
    γ ⊙ x̂ + β per channel. As PyTorch's: ``affine=False`` has no γ, β; ``track_running_stats=False``
    keeps no estimates and normalizes by the batch's own, in eval too. (The subclasses say which
    inputs they take.)"""

    input_ndims, input_form = (), ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *,
                 dtype=None, device="cpu"):
        super().__init__()
        name = type(self).__name__
        self.num_features = check_int(name, "num_features", num_features)
        self.eps = check_number(name, "eps", eps, low_open=True)      # eps <= 0 can divide by 0: NaN
        # momentum=None (PyTorch's too): the running statistics are the plain average of every batch's.
        self.momentum = None if momentum is None else check_number(name, "momentum", momentum, high=1.0)
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        self.register_parameter("weight", Parameter(ones(num_features, dtype=dtype, device=device)) if affine else None)
        self.register_parameter("bias", Parameter(zeros(num_features, dtype=dtype, device=device)) if affine else None)
        tracked = {"running_mean": zeros(num_features, dtype=dtype, device=device),
                   "running_var": ones(num_features, dtype=dtype, device=device),
                   "num_batches_tracked": Tensor(backend.array_module(device).zeros((), dtype="int64"))}
        for key, value in tracked.items():
            self.register_buffer(key, value if track_running_stats else None)

    def forward(self, x):
        if x.ndim not in self.input_ndims or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected input "
                             f"{self.input_form.format(c=self.num_features)}, got {tuple(x.shape)}")
        momentum = self._count_batch() if self.training and self.track_running_stats else 0.0   # (0: unused)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training or not self.track_running_stats, momentum=momentum, eps=self.eps)

    def _count_batch(self):
        """Count one more training batch and give the weight of its statistics in the running ones:
        ``momentum``, or 1/(batches so far) with momentum=None, which keeps them the plain average
        (after n batches: r_n = r_{n−1} + (b_n − r_{n−1})/n = (b_1 + … + b_n)/n)."""
        self.num_batches_tracked.data += 1
        return self.momentum if self.momentum is not None else 1.0 / int(self.num_batches_tracked.item())

    def extra_repr(self):
        flags = "".join(f", {k}=False" for k in ("affine", "track_running_stats") if not getattr(self, k))
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}{flags}"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) maps: each channel's statistics over (N, H, W)."""

    input_ndims, input_form = (4,), "(N, {c}, H, W)"


class BatchNorm1d(_BatchNorm):
    """Batch normalization of features (N, C) or sequences (N, C, L): each channel's statistics over
    N (and L)."""

    input_ndims, input_form = (2, 3), "(N, {c}) or (N, {c}, L)"


class _InstanceNorm(_BatchNorm):
    """Each map of each sample normalized over its own pixels (functional/normalization.py's
    instance_norm), then γ ⊙ x̂ + β per channel. PyTorch's defaults: no γ, β (``affine=False``) and no
    running statistics (``track_running_stats=False``: the input's own, in eval too); with them, eval
    mode uses the running average of the samples' statistics. One unbatched sample is a batch of one."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, *,
                 dtype=None, device="cpu"):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype=dtype, device=device)

    pixel_axes = 0          # (the subclasses': 2 for H, W; 1 for L)

    def forward(self, x):
        channel_axis = -self.pixel_axes - 1
        if x.ndim not in (self.pixel_axes + 1, self.pixel_axes + 2) or x.shape[channel_axis] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected input "
                             f"{self.input_form.format(c=self.num_features)}, got {tuple(x.shape)}")
        if x.ndim == self.pixel_axes + 1:                       # one sample: a batch of one
            return self.forward(x.unsqueeze(0)).squeeze(0)
        use_input_stats = self.training or not self.track_running_stats
        # As PyTorch's: num_batches_tracked is not counted here, and momentum=None leaves the running
        # statistics as they are (weight 0), not BatchNorm's running average.
        momentum = 0.0 if self.momentum is None else self.momentum
        return F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_input_stats,
                               momentum, self.eps)


    def extra_repr(self):               # (every setting, as PyTorch prints it: both defaults are False here)
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) maps or one (C, H, W) image: each map over its H·W pixels."""

    pixel_axes, input_form = 2, "(N, {c}, H, W) or ({c}, H, W)"


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of sequences (N, C, L) or one (C, L): each channel of each over its L steps."""

    pixel_axes, input_form = 1, "(N, {c}, L) or ({c}, L)"


class GroupNorm(Module):
    """Each sample's channels normalized in ``num_groups`` groups (functional/normalization.py's
    group_norm), then γ ⊙ x̂ + β per channel; the same in training and evaluation (no batch statistics)."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, *, dtype=None, device="cpu"):
        super().__init__()
        self.num_groups = check_int("GroupNorm", "num_groups", num_groups)
        self.num_channels = check_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.eps = check_number("GroupNorm", "eps", eps, low_open=True)
        self.affine = bool(affine)
        self.register_parameter("weight", Parameter(ones(num_channels, dtype=dtype, device=device)) if affine else None)
        self.register_parameter("bias", Parameter(zeros(num_channels, dtype=dtype, device=device)) if affine else None)

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm({self.num_groups}, {self.num_channels}): expected input "
                             f"(N, {self.num_channels}, ...), got {tuple(x.shape)}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}" + ("" if self.affine else ", affine=False")


class LayerNorm(Module):
    """Normalize over the trailing dims ``normalized_shape`` (e.g. channels of (B, N, C) tokens)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, *, dtype=None, device="cpu"):
        super().__init__()
        if isinstance(normalized_shape, (tuple, list)):
            shape = tuple(check_int("LayerNorm", f"normalized_shape[{i}]", n) for i, n in enumerate(normalized_shape))
        else:
            shape = (check_int("LayerNorm", "normalized_shape", normalized_shape),)
        self.normalized_shape = shape
        self.eps = check_number("LayerNorm", "eps", eps, low_open=True)
        if elementwise_affine:
            self.weight = Parameter(ones(shape, dtype=dtype, device=device))
            self.bias = Parameter(zeros(shape, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        n = len(self.normalized_shape)
        if x.ndim < n or tuple(x.shape[x.ndim - n:]) != self.normalized_shape:
            dims = ", ".join(map(str, self.normalized_shape))
            raise ValueError(f"LayerNorm({dims}): expected input (..., {dims}), got {tuple(x.shape)}")
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"
