"""The gradient checker must be able to fail: wrong backwards are caught, reported
precisely, and the classic vacuous check (a plain sum over softmax) is not used."""
import re

import numpy as np
import pytest

import tinycoat as tc
from tinycoat.autograd import Function


class WrongSquare(Function):
    """x² with a backward that is off by a factor of 2 (returns x instead of 2x)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return g * self.x


class ZeroGradSoftmax(Function):
    """A softmax whose backward returns zeros. Under a plain-sum upstream gradient its
    true gradient is zero too (Σ softmax = 1), so only a random upstream catches it."""

    def forward(self, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def backward(self, g):
        return g * 0


class Mutating(Function):
    def forward(self, x):
        x *= 1.0 + 1e-3  # modifies the caller's array: forbidden
        return x.copy()

    def backward(self, g):
        return g


def x64(*shape):
    return tc.randn(*shape, dtype="float64", requires_grad=True)


def test_wrong_backward_is_reported_with_index_and_values(device):
    x = tc.tensor([[0.5, -1.0, 0.25], [2.0, 0.0, -0.75]], dtype="float64", device=device, requires_grad=True)
    with pytest.raises(tc.GradcheckError) as info:
        tc.gradcheck(WrongSquare.apply, x)
    message = str(info.value)
    assert "input 0" in message and "worst element (" in message
    # the backward gives x, the truth 2x: at the element named, analytic is half of numeric
    found = re.search(r"worst element \((\d), (\d)\): analytic (\S+), numeric (\S+) ", message)
    assert found and 0 <= int(found[1]) < 2 and 0 <= int(found[2]) < 3
    assert float(found[3]) == pytest.approx(float(found[4]) / 2, rel=1e-6)
    assert "analytic" in message and "numeric" in message


def test_zero_backward_of_a_normalized_output_is_caught():
    x = x64(3, 4)
    # The vacuous check a plain sum would do: the sum of softmax is constant, so a
    # "gradient of the sum" is zero and a zero backward would look right.
    s = ZeroGradSoftmax.apply(x).sum()
    assert abs(s.item() - 3.0) < 1e-12
    with pytest.raises(tc.GradcheckError):
        tc.gradcheck(ZeroGradSoftmax.apply, x)


def test_mutation_of_an_input_is_caught():
    with pytest.raises(tc.GradcheckError, match="modified input 0 in place"):
        tc.gradcheck(Mutating.apply, x64(4))


def test_float32_inputs_are_refused():
    with pytest.raises(tc.GradcheckError, match="float64"):
        tc.gradcheck(lambda x: x * 2, tc.randn(3, requires_grad=True))


def test_nothing_to_check_is_an_error():
    with pytest.raises(tc.GradcheckError, match="no input has requires_grad"):
        tc.gradcheck(lambda x: x * 2, tc.randn(3, dtype="float64"))


def test_multiple_outputs_and_non_tensor_arguments():
    a, b = x64(2, 2), x64(2, 2)
    assert tc.gradcheck(lambda x, y, k: (x * y * k, (x - y).exp()), a, b, 3.0)


def test_previous_grads_are_left_untouched():
    a = x64(3)
    a.grad = tc.ones(3, dtype="float64")
    tc.gradcheck(lambda x: x * x, a)
    np.testing.assert_array_equal(a.grad.numpy(), np.ones(3))
