"""tinycoat.nn: layers (Modules with parameters) built on tinycoat.nn.functional.

    module.py          Module, Parameter, Sequential, ModuleList, ModuleDict, ParameterList, Identity, Flatten
    linear.py          Linear
    embedding.py       Embedding (a learned vector per index)
    conv.py            Conv2d, DepthwiseConv2d, ConvTranspose2d
    one_dimensional.py Conv1d, ConvTranspose1d, MaxPool1d, AvgPool1d, AdaptiveAvgPool1d, AdaptiveMaxPool1d
    norm.py            BatchNorm2d, BatchNorm1d, InstanceNorm2d, InstanceNorm1d, LayerNorm, GroupNorm
    pooling.py         MaxPool2d, MaxUnpool2d, AvgPool2d, GlobalAvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d
    activation.py      GELU, SiLU, ReLU, LeakyReLU, ELU, Hardsigmoid, Hardswish, Sigmoid, Tanh, Softplus, Softmax,
                       LogSoftmax, Dropout, DropPath, Hardtanh, ReLU6, PReLU (a learned slope), CELU, SELU, Mish,
                       LogSigmoid, Softsign, GLU, Threshold, Tanhshrink, Hardshrink, Softshrink
    loss.py            CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, HuberLoss, SmoothL1Loss, KLDivLoss,
                       BCEWithLogitsLoss, BCELoss
    resize.py          Upsample, PixelShuffle, PixelUnshuffle
    padding.py         ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d, CircularPad2d (and 1d)
    unfold.py          Unfold, Fold (im2col and its adjoint as layers)
    squeeze_excite.py  SqueezeExcite
    mbconv.py          MBConv (the convolution block of CoAtNet's S1, S2)
    attention.py       RelativeAttention2d (relative self-attention over an H×W map)
    multihead_attention.py  MultiheadAttention (PyTorch's: plain attention, its names and masks)
    transformer.py     TransformerBlock (the attention block of CoAtNet's S3, S4)
    init.py            nn.init: uniform_, normal_, trunc_normal_, xavier_*, kaiming_* (and why those scales)
"""
from tinycoat.nn.module import (  # noqa: F401
    Module, Parameter, Sequential, ModuleList, ModuleDict, ParameterList, Identity, Flatten, uniform_parameter)
from tinycoat.nn.linear import Linear  # noqa: F401
from tinycoat.nn.embedding import Embedding  # noqa: F401
from tinycoat.nn.conv import Conv2d, ConvTranspose2d, DepthwiseConv2d  # noqa: F401
from tinycoat.nn.one_dimensional import (  # noqa: F401
    Conv1d, ConvTranspose1d, MaxPool1d, AvgPool1d, AdaptiveAvgPool1d, AdaptiveMaxPool1d)
from tinycoat.nn.norm import (  # noqa: F401
    BatchNorm2d, BatchNorm1d, InstanceNorm2d, InstanceNorm1d, LayerNorm, GroupNorm)
from tinycoat.nn.pooling import (MaxPool2d, MaxUnpool2d, AvgPool2d, GlobalAvgPool2d, AdaptiveAvgPool2d,  # noqa: F401
                                 AdaptiveMaxPool2d)
from tinycoat.nn.activation import (  # noqa: F401
    GELU, SiLU, ReLU, LeakyReLU, ELU, Hardsigmoid, Hardswish, Sigmoid, Tanh, Softplus, Softmax, LogSoftmax,
    Dropout, DropPath, Hardtanh, ReLU6, PReLU, CELU, SELU, Mish, LogSigmoid, Softsign, GLU, Threshold, Tanhshrink,
    Hardshrink, Softshrink)
from tinycoat.nn.loss import (  # noqa: F401
    CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, HuberLoss, SmoothL1Loss, KLDivLoss, BCEWithLogitsLoss, BCELoss)
from tinycoat.nn.resize import Upsample, PixelShuffle, PixelUnshuffle  # noqa: F401
from tinycoat.nn.padding import (  # noqa: F401
    ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d, CircularPad2d, ZeroPad1d, ConstantPad1d,
    ReflectionPad1d, ReplicationPad1d, CircularPad1d)
from tinycoat.nn.unfold import Unfold, Fold  # noqa: F401
from tinycoat.nn.squeeze_excite import SqueezeExcite  # noqa: F401
from tinycoat.nn.mbconv import MBConv  # noqa: F401
from tinycoat.nn.attention import RelativeAttention2d  # noqa: F401
from tinycoat.nn.multihead_attention import MultiheadAttention  # noqa: F401
from tinycoat.nn.transformer import TransformerBlock  # noqa: F401
from tinycoat.nn import functional, init  # noqa: F401
