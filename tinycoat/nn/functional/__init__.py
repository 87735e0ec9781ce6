"""tinycoat.nn.functional (import as F): differentiable functions on NCHW tensors.

Every file here is the reference tier: each op as its lesson writes the math, forward beside
backward. The fast twins of some of them are in tinycoat/fast/, in files of the same names.

    im2col.py         patches as strided views; im2col / col2im (the one in the code base)
    linear.py         linear: x Wᵀ + b (the fully connected layer)
    conv.py           conv2d: im2col + one matrix product
    conv_transpose.py conv_transpose2d: conv2d's adjoint, col2im of one product (learnable upsampling)
    one_dimensional.py  conv1d, conv_transpose1d, max/avg_pool1d, adaptive_avg/max_pool1d: the 2-D ops
                      on an image one row high
    depthwise.py      depthwise_conv2d: y_i = Σ_j w_{i−j} ⊙ x_j, a sum of shifted maps
    pooling.py        max_pool2d, max_unpool2d, avg_pool2d, global_avg_pool2d, adaptive_avg/max_pool2d
    padding.py        pad: PyTorch's order of pads (last axis first) for the core op
    resize.py         interpolate: y = R_h x R_wᵀ (nearest, bilinear)
    pixel_shuffle.py  pixel_shuffle / pixel_unshuffle: r² channels traded for an r×r block of pixels
    normalization.py  batch_norm, layer_norm, group_norm, instance_norm: standardize, with the closed-form
                      backward
    erf.py            erf / erfc for arrays (NumPy has none)
    activations.py    gelu (exact or tanh), silu, leaky_relu, elu, celu, selu, prelu, hardtanh, relu6,
                      hardsigmoid, hardswish, softplus, mish, logsigmoid, softsign, glu, threshold,
                      tanhshrink, hardshrink, softshrink, normalize; relu, sigmoid, tanh are core ops
    softmax.py        softmax, log_softmax (numerically stable)
    channel_scale.py  scale_channels: x ⊙ s per channel (squeeze-excitation's gate)
    loss.py           cross_entropy (integer or soft targets, label smoothing), nll_loss, one_hot
    regression_loss.py  mse_loss, l1_loss, huber_loss, smooth_l1_loss, kl_div
    binary_cross_entropy.py  binary_cross_entropy(_with_logits): independent yes/no labels
    dropout.py        dropout, drop_path (stochastic depth)
    relative_position.py  relative_position_index, the bias gather, bias-table resizing
    attention.py      relative_attention: softmax(q·kᵀ/√d + w_{i−j}) v; scaled_dot_product_attention
    unfold.py         unfold / fold: im2col and its adjoint as ops (PyTorch's names)
"""
from tinycoat.ops import relu, sigmoid, tanh  # noqa: F401  (core primitives, re-exported)
from tinycoat.nn.functional.linear import linear  # noqa: F401
from tinycoat.nn.functional.conv import conv2d  # noqa: F401
from tinycoat.nn.functional.conv_transpose import conv_transpose2d  # noqa: F401
from tinycoat.nn.functional.one_dimensional import (  # noqa: F401
    conv1d, conv_transpose1d, max_pool1d, avg_pool1d, adaptive_avg_pool1d, adaptive_max_pool1d)
from tinycoat.nn.functional.depthwise import depthwise_conv2d  # noqa: F401
from tinycoat.nn.functional.pooling import (  # noqa: F401
    max_pool2d, max_unpool2d, avg_pool2d, global_avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d)
from tinycoat.nn.functional.padding import pad  # noqa: F401
from tinycoat.nn.functional.resize import interpolate  # noqa: F401
from tinycoat.nn.functional.pixel_shuffle import pixel_shuffle, pixel_unshuffle  # noqa: F401
from tinycoat.nn.functional.normalization import batch_norm, layer_norm, group_norm, instance_norm  # noqa: F401
from tinycoat.nn.functional.activations import (  # noqa: F401
    gelu, silu, leaky_relu, elu, celu, selu, prelu, hardtanh, relu6, hardsigmoid, hardswish, softplus, mish,
    logsigmoid, softsign, glu, threshold, tanhshrink, hardshrink, softshrink, normalize)
from tinycoat.nn.functional.softmax import softmax, log_softmax  # noqa: F401
from tinycoat.nn.functional.channel_scale import scale_channels  # noqa: F401
from tinycoat.nn.functional.loss import cross_entropy, nll_loss, one_hot  # noqa: F401
from tinycoat.nn.functional.regression_loss import mse_loss, l1_loss, huber_loss, smooth_l1_loss, kl_div  # noqa: F401
from tinycoat.nn.functional.binary_cross_entropy import (  # noqa: F401
    binary_cross_entropy, binary_cross_entropy_with_logits)
from tinycoat.nn.functional.dropout import dropout, drop_path  # noqa: F401
from tinycoat.nn.functional.relative_position import relative_position_index, relative_bias  # noqa: F401
from tinycoat.nn.functional.attention import relative_attention, scaled_dot_product_attention  # noqa: F401
from tinycoat.nn.functional.unfold import unfold, fold  # noqa: F401
