"""Argument checks for constructors: a bad setting fails at once, naming its owner and itself.
(And one check of a layer's input, ``check_float_input``.)

Layers and optimizers check what they are given with these, so that ``Conv2d(3, 8, 0)`` or
``AdamW(params, lr=float("nan"))`` is one clear error when it is built, not a ZeroDivisionError,
a NumPy message or NaN weights later. A value of the wrong type is a TypeError, one out of range
a ValueError. (NumPy's integer and float scalars are numbers here too.)
"""
from __future__ import annotations

import math
import numbers


def is_int(value) -> bool:
    """An int (Python's or NumPy's), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(owner: str, name: str, value, positive: bool = True) -> int:
    """``value`` if it is an int > 0 (>= 0 unless ``positive``)."""
    if not (is_int(value) and value >= (1 if positive else 0)):
        kind = "a positive int" if positive else "a non-negative int"
        raise (ValueError if is_int(value) else TypeError)(f"{owner}: {name} must be {kind}, got {value!r}")
    return int(value)


def check_pair(owner: str, name: str, value, positive: bool = True) -> tuple:
    """(a, b) from an int or a pair of ints (or one int in a list, as PyTorch takes it), each checked
    as by ``check_int`` (kernel, stride, padding)."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    pair = pair * 2 if len(pair) == 1 else pair
    if not (len(pair) == 2 and all(is_int(v) and v >= (1 if positive else 0) for v in pair)):
        kind = "a positive int" if positive else "a non-negative int"
        raise (ValueError if all(map(is_int, pair)) else TypeError)(
            f"{owner}: {name} must be {kind} or a pair of them, got {value!r}")
    return tuple(int(v) for v in pair)


def check_number(owner: str, name: str, value, high=math.inf, low_open=False, high_open=False):
    """``value`` if it is a finite number from 0 to ``high``; ``low_open``/``high_open`` leave out
    that end ((0, high] for an eps, [0, 1) for Adam's betas)."""
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (real and math.isfinite(value) and (0 < value if low_open else 0 <= value)
            and (value < high if high_open else value <= high)):
        if high == math.inf:
            where = "> 0" if low_open else ">= 0"
        else:
            where = f"in {'(' if low_open else '['}0, {high:g}{')' if high_open else ']'}"
        raise (ValueError if real else TypeError)(f"{owner}: {name} must be a finite number {where}, got {value!r}")
    return value


def check_bool(owner: str, name: str, value) -> bool:
    """``value`` if it is True or False: a switch given as a string ("False") or a number would
    otherwise count as on or off by its truth, silently."""
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
    return value


def check_float_input(owner: str, x) -> None:
    """Refuse an input that is not floating point (a TypeError naming its dtype), as PyTorch's layers
    do: NumPy would quietly compute uint8 images with float weights, unscaled and unnormalized."""
    if x.dtype.kind != "f":
        raise TypeError(f"{owner}: expected a floating-point input (float32), got {x.dtype}: convert it "
                        "first (x.float()); images of bytes also want scaling and normalizing, which "
                        "tinycoat.data.DataLoader does")


def all_in_range(indices, n) -> bool:
    """Whether every entry of the integer array ``indices`` lies in [0, n) (an empty one: yes).
    (On a GPU, reading the answer back waits for the device.)"""
    return not indices.size or bool(((indices >= 0) & (indices < n)).all())
