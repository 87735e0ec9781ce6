"""einsum (tinycoat/ops/einsum.py) on equations Hypothesis writes: random indices and sizes, one to
three operands, indices summed away or kept, some only in one operand. Values against numpy.einsum,
gradients by tc.gradcheck (float64 central differences)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from strategies import FLOAT, values
from hypothesis.extra import numpy as hnp


@st.composite
def equations(draw):
    letters = "ijkab"[:draw(st.integers(1, 5))]
    sizes = {c: draw(st.integers(1, 3)) for c in letters}
    count = draw(st.integers(1, 3))
    inputs = [draw(st.permutations(letters).map(lambda p: "".join(p[:draw(st.integers(0, len(p)))])))
              for _ in range(count)]
    used = sorted(set("".join(inputs)))
    output = "".join(draw(st.permutations(used))[:draw(st.integers(0, len(used)))])
    arrays = [draw(hnp.arrays(FLOAT, tuple(sizes[c] for c in s), elements=values(-2, 2))) for s in inputs]
    return ",".join(inputs) + "->" + output, arrays


@given(case=equations())
def test_einsum_matches_numpy_and_its_gradients_are_einsums(case, device):
    equation, arrays = case
    out = tc.einsum(equation, *[tc.tensor(a, device=device) for a in arrays])
    np.testing.assert_allclose(out.numpy(), np.einsum(equation, *arrays), rtol=1e-12, atol=1e-12)
    leaves = [tc.tensor(a, dtype="float64", requires_grad=True, device=device) for a in arrays]
    assert tc.gradcheck(lambda *xs: tc.einsum(equation, *xs), *leaves)


def test_einsum_spellings_and_the_batched_matrix_product(device):
    a, b = tc.randn(2, 3, 4, device=device), tc.randn(2, 4, 5, device=device)
    np.testing.assert_allclose(tc.einsum("bij,bjk->bik", a, b).numpy(), tc.bmm(a, b).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tc.bmm(a, b).numpy(), a.numpy() @ b.numpy(), rtol=1e-5, atol=1e-6)
    m = tc.arange(6.0, device=device).reshape(2, 3)
    assert tc.einsum("ij", m).tolist() == m.tolist()                     # implicit output: indices met once, sorted
    assert tc.einsum("ji", m).shape == (3, 2)                            # ... so "ji" transposes, as in NumPy
    assert tc.einsum("ij,j", [m, tc.ones(3, device=device)]).tolist() == [3.0, 12.0]   # operands as one list
    assert tc.einsum("i,i->", tc.tensor([1, 2], device=device), tc.tensor([0.5, 0.5], device=device)).dtype == tc.float32


@pytest.mark.parametrize("equation, shapes, message", [
    ("...ij,jk->...ik", [(2, 3), (3, 4)], "'...' is not supported"),
    ("ii->i", [(2, 2)], "none twice"),
    ("ij,jk->ik", [(2, 3), (4, 5)], "index 'j' has size 3 in one operand and 4"),
    ("ij,jk->ik", [(2, 3)], "subscripts for 2 operands, got 1"),
    ("ij->iz", [(2, 3)], "names z, which no operand has"),
    ("ijk->i", [(2, 3)], "operand 0 has shape \\(2, 3\\), but 'ijk' names 3 axes"),
])
def test_einsum_says_what_is_wrong_with_an_equation(equation, shapes, message):
    with pytest.raises(ValueError, match=message):
        tc.einsum(equation, *[tc.zeros(*s) for s in shapes])


def test_bmm_refuses_what_is_not_two_batches_of_matrices():
    with pytest.raises(ValueError, match=r"bmm: expected two batches .* got shapes \(3, 4\) and \(2, 4, 5\)"):
        tc.bmm(tc.zeros(3, 4), tc.zeros(2, 4, 5))
    with pytest.raises(ValueError, match="bmm"):
        tc.bmm(tc.zeros(2, 3, 4), tc.zeros(3, 4, 5))


def test_einsum_letters_are_ascii():
    with pytest.raises(ValueError, match="letters a-z, A-Z"):
        tc.einsum("éj->j", tc.zeros(2, 2))
