"""summary(model, input_shape): per-layer output shapes, parameters and multiply-adds.

It runs one forward pass (batch 1, no graph) and watches every layer go by.
Multiply-adds are counted where the arithmetic is, the way the paper counts
FLOPs (one multiply-add = one FLOP):

    convolution   out_elements · (in_channels / groups) · kh · kw
    linear        out_elements · in_features
    attention     2 · N² · C per image: the N×N logits q·kᵀ and the weighted sum of v
                  (the q, k, v and output projections are Linear layers, counted as such)

Normalizations, activations, pooling and the softmax are left out: they are
memory-bound, a few operations per element, and negligible next to the above.
"""
from __future__ import annotations

from dataclasses import dataclass

from tinycoat.autograd import no_grad
from tinycoat.tensor import zeros


@dataclass
class LayerRow:
    name: str
    kind: str
    output_shape: tuple
    params: int
    macs: int


def _own_params(module):
    return sum(p.numel() for p in module._parameters.values() if p is not None)


def _macs(module, inputs, output):
    weight = module._parameters.get("weight")
    if weight is not None and weight.ndim == 4:              # Conv2d, DepthwiseConv2d
        _, in_per_group, kh, kw = weight.shape
        return output.numel() * in_per_group * kh * kw
    if hasattr(module, "in_features") and weight is not None:  # Linear
        return output.numel() * module.in_features
    if "relative_bias_table" in module._parameters:           # RelativeAttention2d
        x = inputs[0]
        batch = x.shape[0]
        tokens = x.shape[2] * x.shape[3] if x.ndim == 4 else x.shape[1]
        return 2 * batch * tokens * tokens * module.out_dim
    return 0


def summary(model, input_shape, device="cpu", print_table=True):
    """Trace ``model`` on zeros of ``input_shape`` (C, H, W) or (N, C, H, W).

    Returns {'rows': [LayerRow], 'params': total parameters, 'macs': multiply-adds per
    image}; prints a table unless ``print_table=False``.
    """
    shape = tuple(input_shape)
    if len(shape) == 3:
        shape = (1,) + shape
    rows = []
    names = {id(m): n for n, m in model.named_modules()}

    def watch(module):
        original = module.forward

        def forward(*inputs, **kwargs):
            output = original(*inputs, **kwargs)
            counted = _macs(module, inputs, output)
            leaf = not module._modules
            if leaf or counted:
                rows.append(LayerRow(names[id(module)] or "(model)", type(module).__name__,
                                     tuple(output.shape), _own_params(module), counted))
            return output
        object.__setattr__(module, "forward", forward)

    modules = list(model.modules())
    was_training = model.training
    for m in modules:
        watch(m)
    try:
        model.eval()
        with no_grad():
            model(zeros(*shape, device=device))
    finally:
        for m in modules:
            del m.__dict__["forward"]
        model.train(was_training)

    total_params = sum(p.numel() for p in model.parameters())
    total_macs = sum(r.macs for r in rows) // shape[0]
    if print_table:
        width = max(len(r.name) for r in rows) + 2
        print(f"{'layer':<{width}}{'type':<22}{'output':<22}{'params':>12}{'MACs':>16}")
        for r in rows:
            print(f"{r.name:<{width}}{r.kind:<22}{str(r.output_shape):<22}{r.params:>12,}{r.macs // shape[0]:>16,}")
        print(f"total: {total_params:,} parameters, {total_macs:,} multiply-adds per image "
              f"({total_macs / 1e9:.3f} G)")
    return {"rows": rows, "params": total_params, "macs": total_macs}


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
