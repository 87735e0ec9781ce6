"""The CoAtNet family and a summary tool.

    coatnet.py   CoAtNetConfig, CoAtNet, create_model, coatnet_0 … coatnet_4, coatnet_cifar_*
    summary.py   summary(model, input_shape): shapes, parameters, multiply-adds
"""
from tinycoat.models.coatnet import (  # noqa: F401
    LAYOUTS, MODEL_CONFIGS, CoAtNet, CoAtNetConfig, create_model, coatnet_0, coatnet_1, coatnet_2,
    coatnet_3, coatnet_4, coatnet_cifar_nano, coatnet_cifar_tiny)
from tinycoat.models.summary import count_parameters, summary  # noqa: F401
