"""Lesson 09, exercise 1: plan CoAtNet's stages (write solutions/ex09_plan.py)."""
from dataclasses import replace

import pytest

import tinycoat as tc
from tinycoat.models import LAYOUTS, MODEL_CONFIGS, CoAtNet
from tinycoat.nn import MBConv
from exercise_tools import exercise

solution = exercise("ex09_plan")

SMALL = replace(MODEL_CONFIGS["coatnet_cifar_nano"], dims=(8, 8, 16, 32, 32), depths=(2, 1, 1, 1, 1), num_classes=3)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("image_size,strides", [((32, 32), (1, 1, 2, 2, 2)), ((16, 32), (2, 1, 1, 2, 2)),
                                                ((64, 64), (2, 2, 2, 2, 2))])
def test_plan_matches_the_model(solution, layout, image_size, strides):
    config = replace(SMALL, layout=layout, image_size=image_size, strides=strides)
    model = CoAtNet(config).eval()
    x = tc.zeros(1, 3, *image_size)
    shapes = []
    with tc.no_grad():
        x = model.stem(x)
        for stage in model.stages:
            x = stage(x)
            kind = "C" if isinstance(stage[0], MBConv) else "T"
            shapes.append((kind, x.shape[1], x.shape[2], x.shape[3]))
    assert [tuple(p) for p in solution.stage_plan(config)] == shapes
