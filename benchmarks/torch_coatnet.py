"""A PyTorch port of tinycoat's CoAtNet, for benchmarks/vs_pytorch.py only (PyTorch is never a
run-time or test dependency of tinycoat: pip install -e ".[bench-torch]").

The modules and parameter names are tinycoat's, one for one, so a tinycoat state_dict loads
as it is (``load_tinycoat_state``) and both frameworks compute the same logits from the same
weights — vs_pytorch.py checks that before it times anything.
"""
from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F


class DropPath(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = torch.rand((x.shape[0],) + (1,) * (x.ndim - 1), device=x.device, dtype=x.dtype) >= self.p
        return x * keep / (1 - self.p)


class SqueezeExcite(nn.Module):
    def __init__(self, channels, squeeze):
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.expand = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x):
        s = x.mean(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(F.silu(self.reduce(s))))


class MBConv(nn.Module):
    def __init__(self, cin, cout, stride, drop_path, expand_ratio=4, se_ratio=0.25):
        super().__init__()
        hidden = cout * expand_ratio
        self.norm = nn.BatchNorm2d(cin)
        self.expand = nn.Conv2d(cin, hidden, 1, bias=False)
        self.expand_norm = nn.BatchNorm2d(hidden)
        self.depthwise = nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False)
        self.depthwise_norm = nn.BatchNorm2d(hidden)
        self.act = nn.GELU()
        self.se = SqueezeExcite(hidden, max(1, round(se_ratio * cout)))
        self.project = nn.Conv2d(hidden, cout, 1)
        self.drop_path = DropPath(drop_path)
        shortcut = ([nn.MaxPool2d(2, 2)] if stride == 2 else []) + ([nn.Conv2d(cin, cout, 1)] if cin != cout else [])
        self.shortcut = nn.Sequential(*shortcut) if shortcut else nn.Identity()

    def forward(self, x):
        h = self.act(self.expand_norm(self.expand(self.norm(x))))
        h = self.act(self.depthwise_norm(self.depthwise(h)))
        return self.shortcut(x) + self.drop_path(self.project(self.se(h)))


def relative_index(H, W):
    n = torch.arange(H * W)
    rows, cols = n // W, n % W
    return (rows[:, None] - rows[None, :] + H - 1) * (2 * W - 1) + (cols[:, None] - cols[None, :] + W - 1)


class RelativeAttention2d(nn.Module):
    def __init__(self, dim, size, out_dim, head_dim=32):
        super().__init__()
        self.heads = max(1, out_dim // head_dim)
        self.head_dim, self.out_dim = out_dim // self.heads, out_dim
        H, W = size
        self.query, self.key, self.value = (nn.Linear(dim, out_dim) for _ in range(3))
        self.proj = nn.Linear(out_dim, out_dim)
        self.relative_bias_table = nn.Parameter(torch.randn(self.heads, 2 * H - 1, 2 * W - 1) * 0.02)
        self.register_buffer("index", relative_index(H, W), persistent=False)

    def forward(self, tokens):
        B, N, C = tokens.shape
        flat = tokens.reshape(B * N, C)
        q, k, v = (layer(flat).reshape(B, N, self.heads, self.head_dim).transpose(1, 2)
                   for layer in (self.query, self.key, self.value))
        bias = self.relative_bias_table.reshape(self.heads, -1)[:, self.index]
        logits = (q * (1.0 / math.sqrt(self.head_dim))) @ k.transpose(-1, -2) + bias
        y = torch.softmax(logits, dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(B, N, self.out_dim))


class TransformerBlock(nn.Module):
    def __init__(self, cin, cout, size, stride, drop_path, mlp_ratio=4):
        super().__init__()
        self.size = size
        self.norm1 = nn.LayerNorm(cin)
        self.pool = nn.MaxPool2d(2, 2) if stride == 2 else None
        self.proj = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.attention = RelativeAttention2d(cin, size, cout)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(cout)
        self.mlp = nn.Sequential(nn.Linear(cout, mlp_ratio * cout), nn.GELU(), nn.Linear(mlp_ratio * cout, cout))

    def forward(self, x):
        B, C, H, W = x.shape
        normed = self.norm1(x.reshape(B, C, H * W).transpose(1, 2))
        if self.pool is not None:
            normed = self.pool(normed.transpose(1, 2).reshape(B, C, H, W))
            normed = normed.reshape(B, C, -1).transpose(1, 2)
            x = self.pool(x)
        shortcut = self.proj(x) if self.proj is not None else x
        t = shortcut.reshape(B, shortcut.shape[1], -1).transpose(1, 2) + self.drop_path(self.attention(normed))
        t = t + self.drop_path(self.mlp(self.norm2(t)))
        return t.transpose(1, 2).reshape(B, -1, *self.size)


class CoAtNet(nn.Module):
    """Built from a tinycoat CoAtNetConfig (its fields are plain numbers and strings)."""

    def __init__(self, config):
        super().__init__()
        d0 = config.dims[0]
        self.stem = nn.Sequential(nn.Conv2d(config.in_chans, d0, 3, stride=config.strides[0], padding=1, bias=False),
                                  nn.BatchNorm2d(d0), nn.GELU(), nn.Conv2d(d0, d0, 3, padding=1))
        n_blocks = sum(config.depths[1:])
        rates = [config.drop_path_rate * i / max(1, n_blocks - 1) for i in range(n_blocks)]
        height, width = (side // config.strides[0] for side in config.image_size)
        self.stages = nn.ModuleList()
        for s in range(1, 5):
            height, width = height // config.strides[s], width // config.strides[s]
            blocks = []
            for b in range(config.depths[s]):
                cin = config.dims[s - 1] if b == 0 else config.dims[s]
                stride = config.strides[s] if b == 0 else 1
                if config.layout[s - 1] == "C":
                    blocks.append(MBConv(cin, config.dims[s], stride, rates.pop(0)))
                else:
                    blocks.append(TransformerBlock(cin, config.dims[s], (height, width), stride, rates.pop(0)))
            self.stages.append(nn.Sequential(*blocks))
        self.norm = nn.LayerNorm(config.dims[4])
        self.head = nn.Linear(config.dims[4], config.num_classes)

    def forward(self, x):
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return self.head(self.norm(x.mean(dim=(2, 3))))


def load_tinycoat_state(model, state):
    """Copy a tinycoat state_dict (name → NumPy array) into the port; every name must match."""
    own = model.state_dict()
    missing, unexpected = set(own) - set(state), set(state) - set(own)
    if missing or unexpected:
        raise KeyError(f"state names differ: missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}")
    model.load_state_dict({k: torch.as_tensor(v.copy()).to(own[k].dtype) for k, v in state.items()})
    return model
