"""Lesson 14, exercise 1: CoAtNet's parameters by formula (write solutions/ex14_params.py)."""
from dataclasses import replace

import pytest

from tinycoat.models import LAYOUTS, MODEL_CONFIGS, CoAtNet, count_parameters
from exercise_tools import exercise

solution = exercise("ex14_params")

SMALL = replace(MODEL_CONFIGS["coatnet_cifar_nano"], dims=(8, 16, 24, 64, 96), depths=(2, 1, 2, 2, 1))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("image_size,num_classes", [((32, 32), 10), ((16, 24), 7)])
def test_small_models(solution, layout, image_size, num_classes):
    config = replace(SMALL, layout=layout, image_size=image_size, num_classes=num_classes)
    assert solution.coatnet_parameters(config) == count_parameters(CoAtNet(config))


@pytest.mark.parametrize("name,paper", [("coatnet_0", 25e6), ("coatnet_1", 42e6), ("coatnet_2", 75e6),
                                        ("coatnet_3", 168e6), ("coatnet_4", 275e6)])
def test_the_paper_family(solution, name, paper):
    count = solution.coatnet_parameters(MODEL_CONFIGS[name])
    assert abs(count - paper) / paper < 0.05, f"{name}: {count / 1e6:.1f} M, paper {paper / 1e6:.0f} M"
