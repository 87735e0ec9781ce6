"""einsum (tinycoat/ops/einsum.py) on equations Hypothesis writes: random indices and sizes, one to
three operands, indices summed away or kept, some only in one operand, some named twice in one
(a diagonal), '...' and size-1 axes that broadcast. Values against numpy.einsum (on the equation
with every axis named and the arrays broadcast beforehand), gradients by tc.gradcheck (float64
central differences)."""
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
    for k, part in enumerate(inputs):          # sometimes an index named twice in one operand: its diagonal
        if part and draw(st.integers(0, 3)) == 0:
            at = draw(st.integers(0, len(part)))
            inputs[k] = part[:at] + draw(st.sampled_from(part)) + part[at:]
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


@st.composite
def equations_with_dots(draw):
    """(equation with '...', the same equation with every axis named, arrays, the arrays broadcast).
    The letters "XY" play the axes '...' stands for: an operand with '...' has the last 0-2 of them
    (broadcasting aligns shapes from the right), where its '...' stands; any axis may be drawn as 1."""
    named, _ = draw(equations())
    inputs = named.split("->")[0].split(",")
    dots = "XY"[:draw(st.integers(0, 2))]
    sizes = {c: draw(st.integers(1, 3)) for c in "ijkabXY"}
    short, full = [], []
    for part in inputs:
        if draw(st.booleans()):
            at = draw(st.integers(0, len(part)))
            mine = dots[draw(st.integers(0, len(dots))):]
            short.append(part[:at] + "..." + part[at:])
            part = part[:at] + mine + part[at:]
        else:
            short.append(part)
        full.append(part)
    letters = "".join(full)
    singles = "".join(sorted(c for c in set(letters) - set(dots) if letters.count(c) == 1))
    dotted = any("..." in part for part in short)
    used = [c for c in sorted(set(letters)) if c not in dots]
    kept = "".join(draw(st.permutations(used))[:draw(st.integers(0, len(used)))])
    present = "".join(c for c in dots if c in letters)        # what '...' stands for: the widest operand's
    form = draw(st.sampled_from(["implicit", "keep", "sum"] if dotted else ["implicit", "sum"]))
    if form == "implicit":           # no arrow: the '...' axes in front, then the letters met once, sorted
        out_short, out_full = None, present + singles
    elif form == "keep":
        at = draw(st.integers(0, len(kept)))
        out_short, out_full = kept[:at] + "..." + kept[at:], kept[:at] + present + kept[at:]
    else:                            # an arrow without '...': PyTorch sums those axes away
        out_short, out_full = kept, kept
    shapes = []
    for part in full:                # (an index named twice in one operand has one size in it: its diagonal's)
        size = {c: draw(st.sampled_from([1, sizes[c]])) for c in dict.fromkeys(part)}
        shapes.append(tuple(size[c] for c in part))
    arrays = [draw(hnp.arrays(FLOAT, shape, elements=values(-2, 2))) for shape in shapes]
    widest = {c: max(n for part, shape in zip(full, shapes) for d, n in zip(part, shape) if d == c) for c in letters}
    broadcast = [np.broadcast_to(a, tuple(widest[c] for c in part)) for a, part in zip(arrays, full)]
    equation = ",".join(short) + ("" if out_short is None else "->" + out_short)
    return equation, ",".join(full) + "->" + out_full, arrays, broadcast


@given(case=equations_with_dots())
def test_einsum_dots_and_size_one_axes_broadcast_as_in_pytorch(case, device):
    equation, named, arrays, broadcast = case
    out = tc.einsum(equation, *[tc.tensor(a, device=device) for a in arrays])
    np.testing.assert_allclose(out.numpy(), np.einsum(named, *broadcast), rtol=1e-12, atol=1e-12)
    leaves = [tc.tensor(a, dtype="float64", requires_grad=True, device=device) for a in arrays]
    assert tc.gradcheck(lambda *xs: tc.einsum(equation, *xs), *leaves)


def test_einsum_with_dots_examples():
    x, w = tc.ones(2, 5, 3), tc.arange(12.0).reshape(3, 4)
    assert tc.einsum("...i,ij->...j", x, w).shape == (2, 5, 4)            # a linear layer on any leading axes
    assert tc.einsum("...i->i", x).tolist() == [10.0] * 3                  # no '...' after the arrow: summed
    assert tc.einsum("i...j,j...->i...", tc.ones(2, 3, 4), tc.ones(4, 5, 1)).shape == (2, 5, 3)
    assert tc.einsum("ij,jk->ik", tc.ones(2, 1), w).tolist() == [[12.0, 15.0, 18.0, 21.0]] * 2  # j: 1 meets 3
    assert tc.einsum("ij,jk->ik", tc.ones(2, 0), tc.ones(1, 3)).tolist() == [[0.0] * 3] * 2     # j: 1 meets 0
    assert tc.einsum("ij->...", w).item() == 66.0                      # '...' standing for no axes at all


@pytest.mark.parametrize("equation, shapes, message", [
    ("......i->i", [(2, 3)], "at most one '...'"),
    ("...ijk->i", [(2, 3)], "operand 0 has 2 axes, but '...ijk' names 3 .* fewer than 0"),
    ("ii->ii", [(2, 2)], "the output's none twice"),
    ("ij,jj->i", [(2, 3), (3, 4)], "operand 1 names index 'j' twice, for axes of sizes 3 and 4: a diagonal needs"),
    ("ij,jk->ik", [(2, 3), (4, 5)], "index 'j' has size 3 in one operand and 4 in operand 1, and neither is 1"),
    ("ij,jk->ik", [(2, 3)], "subscripts for 2 operands, got 1"),
    ("ij->iz", [(2, 3)], "names z, which no operand has"),
    ("ijk->i", [(2, 3)], "operand 0 has 2 axes, but 'ijk' names 3"),
    ("i->i", [(2, 3)], "operand 0 has 2 axes, but 'i' names 1"),
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


def test_an_index_named_twice_reads_the_diagonal(device):
    m = tc.arange(9.0, device=device).reshape(3, 3)
    assert tc.einsum("ii->i", m).tolist() == [0.0, 4.0, 8.0]
    assert tc.einsum("ii", m).item() == 12.0                             # implicit output: the trace
    assert tc.einsum("bii->b", tc.stack([m, 2 * m])).tolist() == [12.0, 24.0]
