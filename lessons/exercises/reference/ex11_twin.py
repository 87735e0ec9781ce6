"""Lesson 11, exercise 1 (reference answer): tanh's twin, in cache-sized blocks on every core."""
from tinycoat.backend import get_array_module
from tinycoat.fast.blocks import map_elements
from tinycoat.ops import elementwise


class Tanh(elementwise.Tanh):
    """y = tanh(x) computed block by block; the backward, g·(1 − y²), is the reference's."""

    def forward(self, x):
        xp = get_array_module(x)
        self.y = xp.empty_like(x)
        map_elements(lambda x_block, y_block: xp.tanh(x_block, out=y_block), x, self.y)
        return self.y
