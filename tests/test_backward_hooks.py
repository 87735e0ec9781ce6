"""Module backward hooks (register_full_backward_hook, register_full_backward_pre_hook): what they
see is the gradient autograd computes (checked against tc.autograd.grad), what they return replaces
it, and everything else about the module is unchanged."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycoat as tc
from tinycoat import nn
from strategies import arrays


def block(seed=0):
    tc.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4, dtype="float64"), nn.Tanh(), nn.Linear(4, 3, dtype="float64"))


@given(x=arrays(st.tuples(st.integers(1, 3), st.just(3))), g=arrays((1, 3)))
def test_the_hooks_see_the_gradients_through_the_module_alone(x, g):
    """Around a skip connection, y = x + m(x): grad_output is dL/dm(x), grad_input is m's own share of
    dL/dx (Jᵀ grad_output, without the skip's), each equal to what tc.autograd.grad computes."""
    m = block()
    seen = {}
    m.register_full_backward_pre_hook(lambda mod, go: seen.update(pre=go[0].numpy().copy()))
    m.register_full_backward_hook(lambda mod, gi, go: seen.update(gi=gi[0].numpy().copy(), go=go[0].numpy().copy()))
    xt = tc.tensor(x, requires_grad=True)
    weight = tc.tensor(np.broadcast_to(g, x.shape).copy())
    out = m(xt)
    ((xt + out) * weight).sum().backward()
    # the same gradients, from a plain module without hooks
    plain, xp = block(), tc.tensor(x, requires_grad=True)
    y = plain(xp)
    (expected_gi,) = tc.autograd.grad(y, xp, grad_outputs=weight)
    np.testing.assert_allclose(seen["go"], weight.numpy(), rtol=1e-12)
    np.testing.assert_allclose(seen["pre"], weight.numpy(), rtol=1e-12)
    np.testing.assert_allclose(seen["gi"], expected_gi.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(xt.grad.numpy(), expected_gi.numpy() + weight.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(out.numpy(), y.numpy())             # the forward is untouched


def test_returned_gradients_replace_them():
    """A hook's grad_input reaches what comes before the module; a pre-hook's grad_output reaches the
    module's own parameters."""
    x0 = np.random.default_rng(0).standard_normal((2, 3))
    m = block()
    x = tc.tensor(x0, requires_grad=True)
    m(x).sum().backward()
    plain_grad, plain_w = x.grad.numpy(), m[0].weight.grad.numpy()
    m.zero_grad()
    handle = m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 3,))
    x = tc.tensor(x0, requires_grad=True)
    m(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * plain_grad, rtol=1e-12)
    np.testing.assert_allclose(m[0].weight.grad.numpy(), plain_w, rtol=1e-12)    # inside: unchanged
    handle.remove()
    m.zero_grad()
    m[2].register_full_backward_pre_hook(lambda mod, go: (go[0] * 0.5,))
    x = tc.tensor(x0, requires_grad=True)
    m(x).sum().backward()
    np.testing.assert_allclose(m[0].weight.grad.numpy(), 0.5 * plain_w, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), 0.5 * plain_grad, rtol=1e-12)


class ThreeInputs(nn.Module):
    """Two outputs from three inputs: (a·b + c, a − c)."""

    def forward(self, a, b, c, scale=1.0):
        return (a * b + c) * scale, a - c


def test_several_inputs_and_outputs_none_where_there_is_no_gradient():
    """grad_input has one entry per positional argument: None for one that requires no gradient
    (b) and for a non-tensor (scale); grad_output None for an output the loss does not use."""
    a, b, c = (tc.tensor([1.0, 2.0], requires_grad=grad) for grad in (True, False, True))
    m, seen = ThreeInputs(), []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go)))
    first, _ = m(a, b, c, 2.0)
    first.sum().backward()
    (gi, go), = seen
    assert [g is None for g in gi] == [False, True, False, True] and [g is None for g in go] == [False, True]
    assert gi[0].tolist() == [2.0, 4.0] and gi[2].tolist() == [2.0, 2.0] and go[0].tolist() == [1.0, 1.0]
    assert a.grad.tolist() == [2.0, 4.0] and c.grad.tolist() == [2.0, 2.0]


def test_no_input_needing_a_gradient_calls_the_hook_with_none_and_refuses_replacements():
    lin = nn.Linear(3, 2)
    seen = []
    lin.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go[0].shape)))
    lin(tc.ones(4, 3)).sum().backward()
    assert seen == [((None,), (4, 2))] and lin.weight.grad is not None
    lin.register_full_backward_hook(lambda mod, gi, go: (tc.ones(4, 3),))
    with pytest.raises(TypeError, match=r"^Linear: a backward hook returned gradients, but none of this call's "
                                        r"inputs requires one"):
        lin(tc.ones(4, 3)).sum().backward()


@pytest.mark.parametrize("returned,error,message", [
    (lambda gi: gi[0], TypeError, r"^Sequential: a backward hook returned Tensor, expected None or a tuple of 1 "
                                  r"gradient\(s\), one per input"),
    (lambda gi: (gi[0], gi[0]), TypeError, r"expected None or a tuple of 1 gradient\(s\)"),
    (lambda gi: (tc.ones(5),), ValueError, r"^Sequential: a backward hook returned a gradient \(float32 of shape "
                                           r"\(5,\)\) for input 0, a float64 of shape \(2, 3\)"),
])
def test_a_bad_replacement_is_named(returned, error, message):
    m = block()
    m.register_full_backward_hook(lambda mod, gi, go: returned(gi))
    with pytest.raises(error, match=message):
        m(tc.ones(2, 3, dtype="float64", requires_grad=True)).sum().backward()


def test_removed_hooks_no_grad_and_a_retained_graph():
    m, calls = block(), []
    handle = m.register_full_backward_hook(lambda mod, gi, go: calls.append(gi[0].numpy().copy()))
    x = tc.ones(2, 3, dtype="float64", requires_grad=True)
    with tc.no_grad():
        assert not m(x).requires_grad                      # nothing recorded, nothing bundled
    y = m(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert len(calls) == 2
    np.testing.assert_array_equal(calls[0], calls[1])
    handle.remove()
    m(x).sum().backward()
    assert len(calls) == 2


def test_mixed_dtypes_are_refused_by_name():
    m = ThreeInputs()
    m.register_full_backward_pre_hook(lambda mod, go: None)
    a = tc.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match=r"^ThreeInputs: a module with backward hooks needs the tensors it takes "
                                        r"\(and returns\) that require a gradient to share one dtype, got float32, "
                                        r"float64"):
        m(a, a, tc.ones(2, dtype="float64", requires_grad=True))


def test_a_namedtuple_stays_one_and_other_outputs_pass_unhooked():
    from collections import namedtuple
    Pair = namedtuple("Pair", "a b")

    class Twice(nn.Module):
        def forward(self, x):
            return Pair(x * 2, x * 3)

    class Named(nn.Module):
        def forward(self, x):
            return {"y": x * 2}

    x, seen = tc.ones(2, requires_grad=True), []
    twice = Twice()
    twice.register_full_backward_hook(lambda mod, gi, go: seen.append(gi[0].tolist()))
    out = twice(x)
    assert isinstance(out, Pair)
    (out.a + out.b).sum().backward()
    assert seen == [[5.0, 5.0]]
    named = Named()
    named.register_full_backward_pre_hook(lambda mod, go: seen.append("pre"))
    named(x)["y"].sum().backward()                     # a dict: passed on as it is, no pre-hook call
    assert seen == [[5.0, 5.0]]


def test_a_replacement_of_another_dtype_or_for_no_gradient_is_named():
    m = ThreeInputs()
    a, b = tc.ones(2, requires_grad=True), tc.ones(2)
    handle = m.register_full_backward_hook(lambda mod, gi, go: (gi[0].double(), None, gi[2]))
    with pytest.raises(ValueError, match=r"^ThreeInputs: a backward hook returned a gradient \(float64 of shape "
                                         r"\(2,\)\) for input 0, a float32 of shape \(2,\)"):
        m(a, b, a)[0].sum().backward()
    handle.remove()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], tc.ones(2), gi[2]))
    with pytest.raises(ValueError, match=r"^ThreeInputs: a backward hook returned a gradient for input 1, which has "
                                         r"none"):
        m(a, b, a)[0].sum().backward()
