"""Lesson 09, exercise 1 (reference answer): each stage's block type and output shape, from the config."""


def stage_plan(config):
    height, width = (side // config.strides[0] for side in config.image_size)     # after the stem
    plan = []
    for s in range(1, 5):
        height, width = height // config.strides[s], width // config.strides[s]
        plan.append((config.layout[s - 1], config.dims[s], height, width))
    return plan
