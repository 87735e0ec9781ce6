"""The CoAtNet family: sizes against the paper, layouts, shapes and clear errors."""
import time

import numpy as np
import pytest

import tinycoat as tc
from tinycoat.models import LAYOUTS, create_model, summary
from tinycoat.nn import MBConv, TransformerBlock

# The paper's Table 3 (parameters) for ImageNet-1K, 1000 classes.
PAPER_PARAMS = {"coatnet_0": 25e6, "coatnet_1": 42e6, "coatnet_2": 75e6, "coatnet_3": 168e6, "coatnet_4": 275e6}


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_paper_parameter_counts_within_3_percent(name):
    start = time.perf_counter()
    model = create_model(name)
    built_in = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    assert abs(params - PAPER_PARAMS[name]) / PAPER_PARAMS[name] < 0.03, f"{name}: {params:,} parameters"
    assert built_in < 60, f"building {name} took {built_in:.0f} s"


@pytest.mark.parametrize("stride_at,paper_macs", [("depthwise", 4.6e9), ("expand", 4.2e9)])
def test_coatnet_0_multiply_adds_match_the_paper(stride_at, paper_macs):
    """4.2 G with the stride in the expansion conv (Eq. 5), 4.6 G in the depthwise conv (Table 9)."""
    model = create_model("coatnet_0", stride_at=stride_at)
    info = summary(model, (3, 224, 224), print_table=False)
    assert abs(info["macs"] - paper_macs) / paper_macs < 0.05, f"{info['macs'] / 1e9:.3f} G"


@pytest.mark.parametrize("name,macs", [("coatnet_cifar_nano", 84e6), ("coatnet_cifar_tiny", 322e6)])
def test_cifar_models(name, macs, capsys):
    model = create_model(name)
    info = summary(model, (3, 32, 32))
    assert "total:" in capsys.readouterr().out
    assert abs(info["macs"] - macs) / macs < 0.05
    out = model(tc.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)
    # stage outputs: 32×32 → S3 attends over 8×8 tokens, S4 over 4×4
    assert model.stages[2][0].size == (8, 8) and model.stages[3][0].size == (4, 4)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_builds_and_runs(layout):
    model = create_model("coatnet_cifar_nano", layout=layout, num_classes=7, image_size=16,
                         strides=(1, 2, 2, 2, 1))
    kinds = ["C" if isinstance(stage[0], MBConv) else "T" for stage in model.stages]
    assert "".join(kinds) == layout
    assert isinstance(model.stages[3][0], TransformerBlock if layout[3] == "T" else MBConv)
    assert model(tc.randn(1, 3, 16, 16)).shape == (1, 7)


def test_a_model_can_ask_for_the_tanh_gelu():
    """Every GELU of the model (stem, MBConv, the Transformer's MLP) takes the config's form."""
    from tinycoat.nn import GELU
    model = create_model("coatnet_cifar_nano", image_size=16, strides=(1, 2, 2, 2, 1), gelu_approximate="tanh")
    forms = {m.approximate for m in model.modules() if isinstance(m, GELU)}
    assert forms == {"tanh"} and len([m for m in model.modules() if isinstance(m, GELU)]) > 3
    assert {m.approximate for m in create_model("coatnet_cifar_nano").modules() if isinstance(m, GELU)} == {"none"}
    with pytest.raises(ValueError, match="gelu_approximate must be 'none'"):
        create_model("coatnet_cifar_nano", gelu_approximate="fast")


def test_backward_through_the_whole_model_reaches_every_parameter():
    model = create_model("coatnet_cifar_nano", image_size=16, strides=(1, 2, 2, 2, 1), drop_path_rate=0.1)
    logits = model(tc.randn(2, 3, 16, 16))
    logits.sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing
    assert all(p.grad.dtype == tc.float32 for p in model.parameters())


def test_clear_errors():
    with pytest.raises(ValueError, match="unknown model 'coatnet_9'"):
        create_model("coatnet_9")
    with pytest.raises(ValueError, match="unknown layout 'CTCT'"):
        create_model("coatnet_cifar_nano", layout="CTCT")
    with pytest.raises(ValueError, match="does not divide by the total stride 8"):
        create_model("coatnet_cifar_nano", image_size=36)
    model = create_model("coatnet_cifar_nano")
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3, 32, 32\)"):
        model(tc.randn(1, 3, 64, 64))
    with pytest.raises(TypeError, match=r"^CoAtNet: expected a floating-point input \(float32\), got uint8"):
        model(tc.tensor(np.full((1, 3, 32, 32), 255, dtype=np.uint8)))       # raw bytes, not scaled


@pytest.mark.parametrize("kwargs,message", [
    (dict(num_classes=-3), r"^CoAtNetConfig: num_classes must be a positive int, got -3$"),
    (dict(num_classes=0), r"^CoAtNetConfig: num_classes must be a positive int, got 0$"),
    (dict(in_chans=0), r"^CoAtNetConfig: in_chans must be a positive int, got 0$"),
    (dict(image_size=(32,)), r"^CoAtNetConfig: image_size must be 2 positive ints \(H, W\), got \(32,\)$"),
    (dict(image_size=(32, -32)), r"^CoAtNetConfig: image_size\[1\] must be a positive int, got -32$"),
    (dict(strides=(0, 1, 2, 2, 2)), r"^CoAtNetConfig: strides\[0\] must be a positive int, got 0$"),
    (dict(dims=(16, 24, 0, 96, 192)), r"^CoAtNetConfig: dims\[2\] must be a positive int, got 0$"),
    (dict(depths=(2, 2, 3, 5)),
     r"^CoAtNetConfig: depths must be 5 positive ints \(one per stage S0\.\.S4\), got \(2, 2, 3, 5\)$"),
])
def test_bad_sizes_are_refused_before_building(kwargs, message):
    with pytest.raises(ValueError, match=message):
        create_model("coatnet_cifar_nano", **kwargs)


def test_in_chans_and_classes():
    model = create_model("coatnet_cifar_nano", in_chans=1, num_classes=100)
    assert model(tc.randn(1, 1, 32, 32)).shape == (1, 100)
    assert np.isfinite(model(tc.randn(1, 1, 32, 32)).numpy()).all()
