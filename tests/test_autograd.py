"""The engine's contract, as in PyTorch: accumulation, no_grad, freeing the graph."""
import gc
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinycoat as tc
from tinycoat.autograd import Function
from tinycoat.nn import functional as F
from strategies import arrays, shapes


def test_readme_example_gradient_is_2x():
    x = tc.tensor([[1.0, -2.0, 3.0]], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, -4.0, 6.0]])
    assert isinstance(x.grad, tc.Tensor) and x.grad.dtype == tc.float32


def test_gradients_accumulate_until_zeroed():
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_a_tensor_used_twice_gets_both_gradients():
    x = tc.tensor(2.0, requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1 = 5 (two paths meet at x)
    y.backward()
    assert x.grad.item() == 5.0


def test_backward_on_non_scalar_needs_grad():
    x = tc.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"needs a scalar output, but this tensor has shape \(2, 3\)"):
        y.backward()
    y.backward(np.full((2, 3), 0.5, dtype=np.float32))
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))
    with pytest.raises(ValueError, match="grad has shape"):
        (x * 2).backward(np.ones(3))


def test_no_grad_records_nothing():
    x = tc.ones(3, requires_grad=True)
    with tc.no_grad():
        y = x * 2
    assert not y.requires_grad and y.is_leaf
    assert tc.is_grad_enabled()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_forward_under_no_grad_is_told_no_input_needs_a_gradient():
    """So that forwards skip what only a backward would use (GELU's slope, BatchNorm's x̂)."""
    seen = []

    class Spy(tc.Function):
        def forward(self, a):
            seen.append(self.needs_input_grad)
            return a * 1.0
    x = tc.ones(3, requires_grad=True)
    with tc.no_grad():
        Spy.apply(x)
    Spy.apply(x)
    assert seen == [(False,), (True,)]


def test_graph_is_freed_after_backward_unless_retained():
    x = tc.ones(3, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()  # allowed: the graph was retained
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * np.e * np.ones(3), rtol=1e-6)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_detach_cuts_the_graph():
    x = tc.ones(2, requires_grad=True)
    y = (x * 2).detach() * x
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_float32_stays_float32_with_python_scalars():
    x = tc.randn(4, requires_grad=True)
    y = (x * 2.5 + 1) / 3 - 0.5 ** x
    assert y.dtype == tc.float32
    y.sum().backward()
    assert x.grad.dtype == tc.float32


def test_constructors_and_conversions(device):
    tc.manual_seed(3)
    a = tc.randn(2, 3, device=device)
    tc.manual_seed(3)
    b = tc.randn(2, 3, device=device)
    np.testing.assert_array_equal(a.numpy(), b.numpy())  # seeded
    assert a.device == device and a.dtype == tc.float32
    assert tc.zeros(2, 2, device=device).numpy().sum() == 0
    assert tc.ones((3,), dtype="float64", device=device).dtype == tc.float64
    np.testing.assert_array_equal(tc.arange(5, device=device).numpy(), np.arange(5))
    assert tc.arange(0, 1, 0.25).dtype == tc.float32
    assert tc.tensor([1, 2]).dtype == tc.int64
    assert tc.tensor(np.zeros(2, dtype=np.float64)).dtype == tc.float64
    assert tc.tensor([[1.5]]).item() == 1.5
    assert a.to("cpu").device == "cpu" and isinstance(a.to("cpu").data, np.ndarray)
    with pytest.raises(ValueError, match="item\\(\\) needs a tensor with one element"):
        a.item()
    with pytest.raises(TypeError, match="only floating-point"):
        tc.tensor([1, 2], requires_grad=True)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tc.zeros(2, device="tpu")


def test_deep_graph_needs_no_recursion():
    x = tc.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):  # deeper than Python's default recursion limit
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_training_loop_memory_stays_flat():
    """300 forward+backward iterations of a small network: no graph survives a step."""
    tc.manual_seed(0)
    w1 = tc.randn(32, 64, requires_grad=True)
    w2 = tc.randn(64, 10, requires_grad=True)
    x = tc.randn(16, 32)

    def step():
        loss = ((x @ w1).relu() @ w2).tanh().mean()
        loss.backward()
        with tc.no_grad():
            for w in (w1, w2):
                w.data -= 0.01 * w.grad.data
                w.grad = None

    def live_functions():
        return sum(isinstance(o, Function) for o in gc.get_objects())

    gc.collect()
    before = live_functions()
    tracemalloc.start()
    try:
        for i in range(300):
            step()
            if i == 99:
                current_at_100, _ = tracemalloc.get_traced_memory()
                tracemalloc.reset_peak()
        current_at_300, peak_after_100 = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert live_functions() == before  # every graph node of every step was freed
    # One step's activations are ~30 KB, so a leaked graph would add ~6 MB over 200
    # steps. The small allowance covers Python's and NumPy's internal free lists,
    # which fill up during the first few hundred steps and then stay put.
    assert current_at_300 - current_at_100 < 256 * 1024
    assert peak_after_100 < current_at_100 + 512 * 1024


def test_size_numel_and_dim_are_pytorchs():
    """x.size() and x.size(0) as in PyTorch (the shape, an axis's length); numel() counts entries."""
    t = tc.ones(2, 3, 4)
    assert t.size() == (2, 3, 4) == t.shape and t.size(1) == 3 and t.size(-1) == 4
    assert t.numel() == 24 and t.dim() == 3 and tc.tensor(5.0).numel() == 1


def test_in_place_operators_change_the_tensor_itself_as_in_pytorch():
    """`p -= lr * p.grad` over a model's parameters must change them (Python would otherwise bind
    the loop's name to a new tensor and leave every parameter as it was)."""
    layer = tc.nn.Linear(3, 2)
    before = [p.numpy().copy() for p in layer.parameters()]
    layer(tc.randn(4, 3)).sum().backward()
    with tc.no_grad():
        for p in layer.parameters():
            p -= 0.1 * p.grad
    for p, old in zip(layer.parameters(), before):
        np.testing.assert_allclose(p.numpy(), old - 0.1 * p.grad.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match=r"-= in place on a leaf tensor that requires grad.*tc\.no_grad"):
        layer.weight -= 1.0                                          # while the graph is recorded
    count = tc.tensor([1, 2])
    alias = count
    count += 3                                                       # no gradient wanted: in place
    count *= 2
    assert alias is count and alias.tolist() == [8, 10] and count.dtype == tc.int64
    half = tc.tensor([1.0, 2.0])
    half /= tc.tensor([2.0, 4.0])
    assert half.tolist() == [0.5, 0.5]


def test_in_place_methods_change_the_tensor_or_refuse(device):
    """p.add_(g, alpha=-lr) is SGD written PyTorch's way: it changes p itself. Where `+=` would bind
    a new tensor in the graph, the methods refuse instead (their result is usually not kept)."""
    layer = tc.nn.Linear(3, 2).to(device)
    before = [p.numpy().copy() for p in layer.parameters()]
    layer(tc.randn(4, 3, device=device)).sum().backward()
    with tc.no_grad():
        for p in layer.parameters():
            assert p.add_(p.grad, alpha=-0.1) is p
    for p, old in zip(layer.parameters(), before):
        np.testing.assert_allclose(p.numpy(), old - 0.1 * p.grad.numpy(), rtol=1e-6)
    t = tc.tensor([1.0, -2.0, 3.0], device=device)
    t.mul_(2).sub_(1, alpha=2).div_(tc.tensor([1.0, 2.0, 4.0], device=device)).pow_(2).clamp_(max=3.0)
    assert t.tolist() == [0.0, 3.0, 1.0]                              # ((2, −4, 6) − 2) / (1, 2, 4), squared
    count = tc.tensor([1, 2], device=device)
    assert count.add_(3).tolist() == [4, 5] and count.dtype == tc.int64
    with pytest.raises(TypeError, match="clamp_: this int64 tensor cannot hold a float bound"):
        count.clamp_(0.5)
    with pytest.raises(TypeError, match="div_: this int64 tensor cannot hold the float result"):
        count.div_(2)
    hidden = layer(tc.randn(1, 3, device=device))
    for change in (lambda: layer.weight.add_(1.0), lambda: hidden.mul_(2), lambda: t.add_(hidden[0, :1]),
                   lambda: layer.bias.clamp_(0)):
        with pytest.raises(RuntimeError, match=r"_: in place while the graph is recorded.*tc\.no_grad"):
            change()
    assert t.tolist() == [0.0, 3.0, 1.0]


@given(x=arrays(shapes(max_dims=2), -2, 2), scale=st.floats(-3, 3))
def test_retain_grad_and_hooks_show_and_change_the_gradient_on_its_way(x, scale, device):
    """y = Σ w·tanh(x): the gradient reaching h = tanh(x) is w, the one reaching x is w·(1 − h²).
    A hook sees the first, and one that returns a tensor replaces it; retain_grad keeps what the
    hooks leave."""
    w = np.random.default_rng(0).standard_normal(x.shape)
    xt = tc.tensor(x, requires_grad=True, device=device)
    h = xt.tanh()
    h.retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    h.register_hook(lambda g: g * scale)                            # runs after the first, in order
    (h * tc.tensor(w, device=device)).sum().backward()
    np.testing.assert_allclose(seen[0], w, rtol=1e-12)
    np.testing.assert_allclose(h.grad.numpy(), scale * w, rtol=1e-12)   # kept after the hooks, as PyTorch's
    np.testing.assert_allclose(xt.grad.numpy(), scale * w * (1 - np.tanh(x) ** 2), rtol=1e-12, atol=1e-300)
    assert h.retains_grad and not xt.retains_grad


@given(x=arrays(shapes(max_dims=2), -2, 2))
def test_autograd_grad_returns_the_gradient_and_leaves_dot_grad_alone(x, device):
    """tc.autograd.grad(y, [x, h]) of y = Σ w·h², h = tanh(x): ∂y/∂h = 2wh and ∂y/∂x = 2wh(1 − h²)
    (by hand), compared with central differences too; no .grad is written. Two outputs add up,
    each weighed by its grad_output."""
    w = np.random.default_rng(1).standard_normal(x.shape)
    xt = tc.tensor(x, requires_grad=True, device=device)
    h = xt.tanh()
    y = (tc.tensor(w, device=device) * h * h).sum()
    gx, gh = tc.autograd.grad(y, [xt, h], retain_graph=True)
    t = np.tanh(x)
    np.testing.assert_allclose(gh.numpy(), 2 * w * t, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(gx.numpy(), 2 * w * t * (1 - t * t), rtol=1e-12, atol=1e-300)
    step, f = 1e-6, lambda a: (w * np.tanh(a) ** 2).sum()
    numeric = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[i] = step
        numeric[i] = (f(x + e) - f(x - e)) / (2 * step)
    np.testing.assert_allclose(gx.numpy(), numeric, rtol=1e-5, atol=1e-8)
    assert xt.grad is None
    (both,) = tc.autograd.grad([y, h.sum()], xt, grad_outputs=[tc.tensor(2.0, dtype="float64", device=device), None])
    np.testing.assert_allclose(both.numpy(), 2 * gx.numpy() + (1 - t * t), rtol=1e-12, atol=1e-300)


def test_autograd_grad_names_inputs_it_cannot_reach():
    x, unused = tc.ones(2, requires_grad=True), tc.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"do not depend on the input\(s\) of shape \(3,\); pass allow_unused=True"):
        tc.autograd.grad((x * 2).sum(), [x, unused])
    assert tc.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)[1] is None
    with pytest.raises(RuntimeError, match="an input of shape \\(2,\\) does not require grad"):
        tc.autograd.grad((x * 2).sum(), tc.ones(2))
    with pytest.raises(ValueError, match=r"2 output\(s\) but 1 grad_outputs; give one per output"):
        tc.autograd.grad([(x * 2).sum(), (x * 3).sum()], x, grad_outputs=[tc.tensor(1.0)])
    assert tc.autograd.grad(x * 2, x, grad_outputs=tc.ones(2))[0].tolist() == [2.0, 2.0]   # (a lone tensor too)


def test_hooks_on_leaves_are_removable_and_checked(device):
    w = tc.tensor([1.0, -2.0], requires_grad=True, device=device)
    handle = w.register_hook(lambda g: g.clip(-1, 1))              # clip this parameter's gradient
    (w * tc.tensor([3.0, -0.5], device=device)).sum().backward()
    assert w.grad.tolist() == [1.0, -0.5]
    handle.remove()
    handle.remove()                                                 # (twice is harmless)
    w.grad = None
    (w * 3).sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="retain_grad: this tensor does not require grad"):
        tc.ones(2).retain_grad()
    w.register_hook(lambda g: tc.ones(3))
    with pytest.raises(RuntimeError, match=r"hook of register_hook returned float32 of shape \(3,\).*shape \(2,\)"):
        (w * 1).sum().backward()
    v = tc.ones(2, requires_grad=True, device=device)
    v.register_hook(lambda g: g.double())                              # another dtype: refused, as PyTorch does
    with pytest.raises(RuntimeError, match=r"returned float64 of shape \(2,\).*must return None or a float32"):
        (v * 1).sum().backward()


def test_equality_and_truth_are_element_wise_as_in_pytorch():
    x = tc.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y = tc.tensor([0.0, 1.0, 1.0])
    assert (y == 1).tolist() == [False, True, True] and (y != 1).tolist() == [True, False, False]
    assert x[(y != 0).numpy()].tolist() == [[3.0, 4.0], [5.0, 6.0]]               # a boolean mask
    params = {x: "kept by identity"}                                 # still a dict key, as in PyTorch
    assert params[x] == "kept by identity"
    assert bool(tc.tensor([0.0])) is False and bool(tc.tensor(3.0) > 2)     # one element: its value
    with pytest.raises(RuntimeError, match="truth value of a tensor of 6 elements is ambiguous"):
        bool(x > 0)
    assert (x > 0).all().item() and not (x > 5).all().item() and (x > 5).any().item()


def test_reductions_take_pytorchs_names_and_max_gives_values_and_indices():
    """x.max(dim) is PyTorch's (values, indices), so `logits.max(1)[1]` is the predicted classes;
    NumPy's x.max(axis=...) gives the values; var is unbiased by default, as torch.var."""
    x = tc.tensor([[1.0, 5.0, 3.0], [7.0, 2.0, 0.0]], requires_grad=True)
    values, indices = x.max(1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0] and x.max(1)[1].tolist() == [1, 0]
    assert x.max(1).values.tolist() == [5.0, 7.0] and x.max(1, keepdim=True).indices.shape == (2, 1)
    assert x.max(axis=1).tolist() == [5.0, 7.0] and x.max().item() == 7.0 and x.argmax().item() == 3
    x.max(1).values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    assert x.sum(dim=1, keepdim=True).tolist() == [[9.0], [9.0]] and x.mean(dim=0).tolist() == [4.0, 3.5, 1.5]
    assert x.var().item() == pytest.approx(np.var(x.numpy(), ddof=1)) and x.var(ddof=0).item() == pytest.approx(
        np.var(x.numpy()))
    with pytest.raises(TypeError, match="not both"):
        x.sum(axis=0, dim=1)


def test_var_and_std_take_pytorchs_positional_order():
    """x.var(dim, unbiased, keepdim) as torch.var reads it (a NumPy order, (axis, keepdims, ddof),
    would make x.var(1, False) the unbiased variance: a silent wrong answer); correction= or ddof=."""
    x = tc.tensor([[1.0, 2.0, 4.0], [0.0, 3.0, 3.0]], dtype="float64")
    a = x.numpy()
    np.testing.assert_allclose(x.var(1, False).numpy(), a.var(1))                    # population
    np.testing.assert_allclose(x.var(1).numpy(), a.var(1, ddof=1))                   # unbiased by default
    assert x.var(1, True).shape == (2,) and x.var(1, True, True).shape == (2, 1)
    np.testing.assert_allclose(x.std(1, False, True).numpy(), a.std(1, keepdims=True))
    np.testing.assert_allclose(x.var(dim=0, correction=0).numpy(), a.var(0))
    np.testing.assert_allclose(x.var(axis=0, keepdims=True, ddof=0).numpy(), a.var(0, keepdims=True))
    assert tc.std(x, unbiased=False).item() == pytest.approx(a.std()) and tc.var(x, 0).shape == (3,)
    with pytest.raises(TypeError, match="var/std: unbiased must be a bool, got 0"):
        x.var(1, 0)
    with pytest.raises(TypeError, match="correction= .* or ddof= .*, not both"):
        x.var(correction=0, ddof=1)


def test_in_place_with_an_operand_in_the_graph_keeps_the_gradient():
    """`total += loss` (total made by tc.zeros): the sum must stay in the graph; it cannot be done
    in place here, so `total` becomes the new tensor, and the gradient is whole."""
    layer, x = tc.nn.Linear(3, 2), tc.randn(4, 3)
    total = tc.zeros(4, 2)
    total += layer(x)
    total += layer(x)
    total.sum().backward()
    accumulated = layer.weight.grad.numpy().copy()
    layer.weight.grad = None
    (layer(x) + layer(x)).sum().backward()
    np.testing.assert_allclose(accumulated, layer.weight.grad.numpy(), rtol=1e-6)
    t = tc.tensor([1.0, 2.0])
    t **= 2
    assert t.tolist() == [1.0, 4.0] and (t == None) is False and (t != None) is True   # noqa: E711
    source = np.zeros(3)
    copied = tc.tensor(source)
    copied += 1                                                      # tc.tensor copies, as torch.tensor
    assert source.tolist() == [0.0, 0.0, 0.0]
    values, indices = tc.max(tc.tensor([[1.0, 5.0], [7.0, 2.0]]), 1)      # torch.max(x, 1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert tc.sum(tc.ones(2, 3), dim=1).tolist() == [3.0, 3.0]
    assert tc.ones(2, 3).max(1, keepdims=True).values.shape == (2, 1)


def test_in_place_on_each_device(device):
    """Host scalars are numbers on any device; a host array on a GPU tensor is a DeviceError."""
    t = tc.tensor([1.0, 2.0], device=device)
    t *= np.float32(0.5)
    t += tc.tensor([1.0, 1.0], device=device)
    assert t.tolist() == [1.5, 2.0] and t.dtype == tc.float32 and t.device == device
    if device == "gpu":
        with pytest.raises(tc.DeviceError, match="the value on 'cpu'"):
            t += np.ones(2)


def test_a_graph_refuses_to_backward_after_a_tensor_it_kept_was_changed_in_place():
    """As PyTorch's version counter: the gradient would otherwise be computed from the new values,
    silently. Only what the op kept counts: x·w keeps w for x's gradient, x + w keeps nothing."""
    x, w = tc.randn(3, requires_grad=True), tc.randn(3, requires_grad=True)
    y = (x * w).sum()
    with tc.no_grad():
        w -= 1.0
    assert w._version == 1
    with pytest.raises(RuntimeError, match=r"Mul kept a tensor of shape \(3,\).*version 1.*saw version 0.*clone"):
        y.backward()
    z = (x + w).sum()
    with tc.no_grad():
        w *= 2.0
    z.backward()                                                     # Add kept nothing: fine
    assert w.grad.tolist() == [1.0, 1.0, 1.0]
    kept = tc.randn(2, 3)
    y = (tc.randn(2, 3, requires_grad=True) @ kept.reshape(3, 2)).sum()
    with tc.no_grad():
        view = kept.detach().reshape(6)
        view += 1.0                                                  # changes `kept` through two views
    assert kept._version == 1
    with pytest.raises(RuntimeError, match="MatMul kept a tensor of shape"):
        y.backward()
    copy = w.clone()
    y = (x * copy).sum()
    with tc.no_grad():
        w += 1.0                                                     # the original, not the copy
    y.backward()
    np.testing.assert_allclose(x.grad.numpy() - 1.0, copy.numpy(), rtol=1e-6)     # (1.0: z's gradient)


@pytest.mark.parametrize("make_optimizer", [lambda p: tc.optim.SGD(p, lr=0.1, momentum=0.9),
                                            lambda p: tc.optim.AdamW(p, lr=0.1)])
def test_an_optimizer_step_between_forward_and_backward_is_refused(make_optimizer):
    """The GAN mistake: a loss recorded before step() must not be differentiated with the new
    weights (the second layer's weight carries the first layer's gradient). After backward(),
    step(), a new forward: all well."""
    model = tc.nn.Sequential(tc.nn.Linear(3, 4), tc.nn.Linear(4, 2))
    optimizer = make_optimizer(model.parameters())
    x = tc.randn(5, 3)
    model(x).sum().backward()
    loss = model(x).sum()
    optimizer.step()
    with pytest.raises(RuntimeError, match=r"kept a tensor of shape \(2, 4\).*changed in place after the forward"):
        loss.backward()
    optimizer.zero_grad()
    model(x).sum().backward()
    optimizer.step()
    assert model[0].weight._version == 2


def test_loading_weights_counts_as_an_in_place_change():
    layer, source = tc.nn.Linear(2, 2), tc.nn.Linear(2, 2)
    x = tc.randn(1, 2, requires_grad=True)
    y = layer(x).sum()
    layer.load_state_dict(source.state_dict())
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()
    average = tc.optim.ModelEMA(source)
    y = layer(x).sum()
    average.copy_to(layer)
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


def test_an_output_that_is_its_input_shares_its_version():
    """contiguous() of a contiguous tensor returns the same memory: a change through it is a change
    of the input, and a graph that kept the input sees it."""
    x, w = tc.randn(3, requires_grad=True), tc.randn(3)
    y = (x * w).sum()
    with tc.no_grad():
        same = w.contiguous()
        same += 1.0
    assert w._version == 1
    with pytest.raises(RuntimeError, match="Mul kept a tensor of shape"):
        y.backward()



def image(t):
    return t.reshape(1, 1, 3, 3)


# One op each (a and b are 3×3 leaves; views of them — a.T, b[0], reshapes — count as them)
KEPT_OR_NOT = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b, "matmul": lambda a, b: a @ b, "linear": lambda a, b: F.linear(a, b, b[0]),
    "exp": lambda a, b: a.exp(), "log": lambda a, b: a.log(), "sqrt": lambda a, b: a.sqrt(),
    "tanh": lambda a, b: a.tanh(), "sigmoid": lambda a, b: a.sigmoid(), "relu": lambda a, b: a.relu(),
    "gelu": lambda a, b: F.gelu(a), "silu": lambda a, b: F.silu(a), "softmax": lambda a, b: F.softmax(a, axis=-1),
    "layer_norm": lambda a, b: F.layer_norm(a, (3,), b[0], b[1]),
    "batch_norm": lambda a, b: F.batch_norm(a.reshape(1, 3, 3, 1), tc.zeros(3, dtype="float64"),
                                            tc.ones(3, dtype="float64"), b[0], b[1], training=True),
    "conv2d": lambda a, b: F.conv2d(image(a), image(b), padding=1),
    "depthwise": lambda a, b: F.depthwise_conv2d(image(a), image(b), padding=1),
    "max_pool": lambda a, b: F.max_pool2d(image(a), 2, 1), "avg_pool": lambda a, b: F.avg_pool2d(image(a), 2, 1),
    "view_times": lambda a, b: a.T * b, "slices": lambda a, b: a[1:] * b[:2],
    "cross_entropy": lambda a, b: F.cross_entropy(a * b, np.array([0, 2, 1])),
}


ONE_OPERAND = {"exp", "log", "sqrt", "tanh", "sigmoid", "relu", "gelu", "silu", "softmax", "max_pool", "avg_pool"}


# (op, the one operand that requires grad) where that operand's own gradient needs only the other
# operand: changing it must not be refused (PyTorch keeps an operand only for the other's gradient)
ACCEPTED_WHEN_ALONE = {(name, which) for name in ("mul", "matmul", "linear", "conv2d", "depthwise", "view_times",
                                                  "slices") for which in "ab"} | {("div", "a")}


@pytest.mark.parametrize("fast", [False, True], ids=["reference", "fast wing"])
@pytest.mark.parametrize("requires", ["ab", "a", "b"])
@pytest.mark.parametrize("changed", ["a", "b", "output"])
@pytest.mark.parametrize("name", sorted(KEPT_OR_NOT))
@settings(max_examples=4)                   # (every op, change and tier is a case of its own; values matter less)
@given(a=arrays((3, 3), 0.5, 2.0), b=arrays((3, 3), 0.5, 2.0))
def test_after_an_in_place_change_backward_refuses_or_is_exact(fast, requires, changed, name, a, b, device):
    """The version counter's promise, for every op of both tiers: after a tensor of the graph is
    changed in place, backward() either refuses, or gives exactly the gradients of the unchanged
    graph (the op had not kept what changed). Never a silently different gradient; and no refusal
    where nothing the gradients need was changed."""
    op = KEPT_OR_NOT[name]
    if requires == "b" and name in ONE_OPERAND:
        pytest.skip(f"{name} reads a alone: with only b requiring grad there is no graph to check")

    def leaves():
        return (tc.tensor(a, requires_grad="a" in requires, device=device),
                tc.tensor(b, requires_grad="b" in requires, device=device))
    with tc.fast.enabled(fast):
        expected_a, expected_b = leaves()
        out = op(expected_a, expected_b)
        assert out.requires_grad
        upstream = tc.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(out.shape), device=device)
        out.backward(upstream)
        leaf_a, leaf_b = leaves()
        out = op(leaf_a, leaf_b)
        with tc.no_grad():
            changed_tensor = {"a": leaf_a, "b": leaf_b, "output": out}[changed]
            changed_tensor += 1.0
        assert changed_tensor._version == 1
        try:
            out.backward(upstream)
        except RuntimeError as refused:
            assert "changed in place after the forward pass" in str(refused)
            assert name != "add", "a + b keeps nothing for its gradient: a refusal there is a false alarm"
            assert (name, changed) not in ACCEPTED_WHEN_ALONE or requires != changed, (
                f"{name} with only {changed} requiring grad needs only the other operand: a false alarm")
            return
    for leaf, expected in ((leaf_a, expected_a), (leaf_b, expected_b)):
        if expected.grad is None:
            assert leaf.grad is None
        else:
            np.testing.assert_allclose(leaf.grad.numpy(), expected.grad.numpy(), rtol=1e-12, atol=0)


def test_a_changed_condition_or_index_does_not_change_a_kept_gradient():
    """where's condition and an index array are kept by value: changing them after the forward
    cannot move the gradient (PyTorch keeps them as tensors, with their versions)."""
    a = tc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = tc.tensor(np.array([True, False, True]))
    y = tc.where(mask, a, tc.zeros(3)).sum()
    with tc.no_grad():
        mask[...] = False
    y.backward()
    assert a.grad.tolist() == [1.0, 0.0, 1.0]
    x, index, host_index = tc.tensor([1.0, 2.0, 3.0], requires_grad=True), tc.tensor(np.array([0, 0])), np.array([1])
    y = x[index].sum() + x[host_index].sum()
    with tc.no_grad():
        index += 2
    host_index[0] = 2
    y.backward()
    assert x.grad.tolist() == [2.0, 1.0, 0.0]


def test_item_assignment_writes_in_place_as_in_pytorch(device):
    """x[mask] = 0, x[0] = row, x[:, 1] = 7: in place (a change of version); refused while the graph
    is recorded for a tensor or value in it, which the assignment could not carry."""
    x = tc.zeros(2, 3, device=device)
    x[0] = tc.tensor([1.0, 2.0, 3.0], device=device)
    x[x > 2] = -1.0
    x[:, 1] = np.float32(7.0)                                         # a host scalar is a number anywhere
    x[tc.tensor(np.array([1]), device=device), 2] = 4.0
    assert x.tolist() == [[1.0, 7.0, -1.0], [0.0, 7.0, 4.0]] and x._version == 4
    with pytest.raises(ValueError, match=r"value of shape \(4,\): it does not fit the indexed part of a tensor "
                                         r"of shape \(2, 3\)"):
        x[0] = tc.ones(4, device=device)
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        x[5] = 1.0
    w = tc.ones(3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="this tensor requires grad.*tc.no_grad"):
        w[0] = 5.0
    with pytest.raises(RuntimeError, match="the value is in the graph.*tc.where"):
        x[0] = w * 2
    assert x.tolist()[0] == [1.0, 7.0, -1.0]                           # refused: nothing written
    y = (w * x[1]).sum()                                               # Mul keeps x[1], a view of x
    with tc.no_grad():
        w[0] = 5.0
        x[1, 0] = 9.0
    with pytest.raises(RuntimeError, match="changed in place after the forward pass"):
        y.backward()
    if device == "gpu":
        with pytest.raises(tc.DeviceError, match="the value on 'cpu'"):
            x[0] = np.ones(3, dtype=np.float32)


def test_a_refused_backward_changes_no_gradient():
    """The refusal comes before any gradient is summed: a retry after the fix does not double one."""
    w1, w2, x = (tc.ones(3, requires_grad=True) for _ in range(3))
    loss = (w1 * 2.0).sum() + (x * w2).sum()
    with tc.no_grad():
        w2 -= 0.1
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()
    assert w1.grad is None and w2.grad is None and x.grad is None


def test_a_parameter_made_from_a_tensor_shares_its_version():
    t = tc.tensor([1.0, 2.0, 3.0])
    w, x = tc.nn.Parameter(t), tc.ones(3, requires_grad=True)
    y = (x * w).sum()
    with tc.no_grad():
        t += 10.0                                                      # the same memory as w
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


@given(data=st.data())
def test_min_squeeze_and_unsqueeze_are_pytorchs_and_differentiable(data):
    a = data.draw(arrays(shapes(min_dims=1, max_dims=3), -3.0, 3.0))
    a = a + np.arange(a.size).reshape(a.shape) * 1e-3                 # (a unique smallest entry per row)
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    x = tc.tensor(a, requires_grad=True)
    values, indices = x.min(dim)
    np.testing.assert_array_equal(values.numpy(), a.min(axis=dim))
    np.testing.assert_array_equal(indices.numpy(), a.argmin(axis=dim))
    assert tc.min(x).item() == a.min() and x.argmin().item() == a.argmin()
    assert tc.gradcheck(lambda t: t.min(dim).values * 2, x)
    new = data.draw(st.integers(-a.ndim - 1, a.ndim))
    expected = np.expand_dims(a, new)
    assert x.unsqueeze(new).shape == expected.shape and x.unsqueeze(new).squeeze().shape == np.squeeze(a).shape
    assert x.unsqueeze(new).squeeze(new).shape == a.shape
    assert tc.gradcheck(lambda t: t.unsqueeze(new).squeeze() * 3, x)


def test_pytorchs_short_spellings():
    x = tc.tensor([[1.0, 2.0]])
    assert x.squeeze(1).shape == (1, 2) and x.squeeze(0).shape == (2,)             # a dim not of length 1: kept
    with pytest.raises(IndexError, match="unsqueeze: dim 3 is out of range for a tensor of 2 axes"):
        x.unsqueeze(3)
    assert (x.long().dtype, x.int().dtype, x.half().dtype, x.bool().dtype) == (tc.int64, tc.int32, tc.float16,
                                                                                 tc.bool_)
    assert x.cpu() is x and tc.is_tensor(x) and not tc.is_tensor(x.numpy())
    source = np.zeros(3, dtype=np.float32)
    shared = tc.from_numpy(source)
    shared += 1.0                                                      # torch.from_numpy shares the memory
    assert source.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match="from_numpy: expected a NumPy array, got list"):
        tc.from_numpy([1.0])
    w = tc.ones(3, requires_grad=True)
    (w * 2).sum().backward()
    w.grad.zero_()                                                     # the PyTorch way to clear a gradient
    assert w.grad.tolist() == [0.0, 0.0, 0.0] and w.grad.fill_(2.0).tolist() == [2.0, 2.0, 2.0]
    counts = tc.zeros(3).copy_(tc.tensor([1, 2, 3]))                   # cast to this dtype, as PyTorch
    assert counts.tolist() == [1.0, 2.0, 3.0] and counts.dtype == tc.float32 and counts._version == 1
    with pytest.raises(RuntimeError, match="this tensor requires grad"):
        w.zero_()                                                      # a parameter, while recording
    assert tc.ones(1, 3, 1).squeeze((0, 2)).shape == (3,) and tc.ones(1, 3, 1).squeeze((1, 2)).shape == (1, 3)
    with pytest.raises(ValueError, match=r"fill_: the value must be a number or a 0-d tensor, got shape \(3,\)"):
        tc.zeros(3).fill_(tc.ones(3))
    assert tc.zeros(2).copy_(tc.ones(2), non_blocking=True).tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="from_numpy: expected a NumPy array, got float32"):
        tc.from_numpy(np.float32(1.0))                                  # a scalar would be a copy
    with pytest.raises(TypeError, match="other byte order"):
        tc.from_numpy(np.zeros(2, dtype=">f4"))
    frozen = np.zeros(2)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="memory is read-only.*clone"):
        tc.from_numpy(frozen)[0] = 1.0
    with pytest.raises(ValueError, match=r"\+= in place: this tensor's memory is read-only"):
        tensor_over_frozen = tc.from_numpy(frozen)
        tensor_over_frozen += 1.0


def test_pytorchs_creation_functions(device):
    """empty, eye, linspace, full_like, randint and the *_like draws: PyTorch's names, shapes and dtypes."""
    assert tc.empty(2, 3, device=device).tolist() == [[0.0] * 3] * 2                  # zeros, never stale memory
    np.testing.assert_array_equal(tc.eye(2, 3, device=device).numpy(), np.eye(2, 3))
    assert tc.eye(3).dtype == tc.float32 and tc.eye(2, dtype="float64").dtype == tc.float64
    np.testing.assert_allclose(tc.linspace(-1, 1, 5, device=device).numpy(), [-1, -0.5, 0, 0.5, 1])
    assert tc.linspace(0, 1, 1).tolist() == [0.0]
    like = tc.zeros(2, 3, dtype="float64", device=device)
    for made in (tc.randn_like(like), tc.rand_like(like), tc.full_like(like, 7.0)):
        assert (made.shape, made.dtype, made.device) == ((2, 3), tc.float64, device)
    assert tc.full_like(like, 7.0).tolist() == [[7.0] * 3] * 2
    tc.manual_seed(0)
    draws = tc.randint(-2, 3, (4000,), device=device)
    assert draws.dtype == tc.int64 and set(draws.tolist()) == {-2, -1, 0, 1, 2}      # [low, high), every value
    assert tc.randint(5, (2, 3), device=device).shape == (2, 3) and tc.randint(5, size=4).max().item() < 5
    assert tc.randint(0, 2, (3,), dtype="uint8").dtype == tc.uint8
    tc.manual_seed(1)
    first = tc.randint(100, (8,)).tolist()
    tc.manual_seed(1)
    assert tc.randint(100, (8,)).tolist() == first                                  # the seeded generator
    with pytest.raises(ValueError, match=r"randint: the range \[low, high\) is empty: low=3, high=3"):
        tc.randint(3, 3, (2,))
    with pytest.raises(TypeError, match=r"randint: expected randint\(high, size\)"):
        tc.randint(10)


def test_a_list_of_tensors_becomes_a_tensor_of_their_values():
    losses = [tc.tensor(0.5, requires_grad=True) * 2, tc.tensor(0.25)]
    t = tc.tensor(losses)
    assert t.tolist() == [1.0, 0.25] and t.dtype == tc.float32 and t.requires_grad is False and t.is_leaf
    assert tc.tensor([[tc.tensor(1), 2], (3, tc.tensor(4))]).tolist() == [[1, 2], [3, 4]]
    assert tc.tensor([tc.tensor([1.0, 2.0]), tc.tensor([3.0, 4.0])]).shape == (2, 2)


def test_allclose_equal_and_argmax_as_functions(device):
    a = tc.tensor([[1.0, 5.0, 2.0], [0.5, -1.0, 3.0]], device=device)
    assert tc.allclose(a, a + 1e-7) and not tc.allclose(a, a + 1e-3)
    assert tc.allclose(tc.ones(2, 3, device=device), tc.ones(3, device=device))        # broadcasting
    assert tc.allclose(a, a + 0.05, atol=0.1) and tc.allclose(a * 1.01, a, rtol=0.02, atol=0)
    nan = tc.tensor([float("nan")], device=device)
    assert not tc.allclose(nan, nan) and tc.allclose(nan, nan, equal_nan=True)
    assert tc.equal(a, a.clone()) and not tc.equal(a, a[:1]) and not tc.equal(a, a + 1)
    assert tc.argmax(a, dim=1).tolist() == [1, 2] and tc.argmin(a).item() == 4
    assert tc.argmax(a, 0, keepdim=True).shape == (1, 3) and a.argmin(keepdim=True).tolist() == [[4]]
    with pytest.raises(ValueError, match="allclose: shapes .* do not broadcast"):
        tc.allclose(tc.ones(2), tc.ones(3))


def test_a_module_moves_with_pytorchs_short_spellings():
    layer = tc.nn.Linear(3, 2)
    weight = layer.weight
    assert layer.half() is layer and layer.weight is weight and weight.dtype == tc.float16
    assert layer.cpu().weight.device == "cpu" and layer.float().weight.dtype == tc.float32
    if not tc.gpu_available():
        with pytest.raises(tc.DeviceError, match="needs CuPy"):
            layer.cuda()
    else:
        assert layer.cuda().weight.device == "gpu" and layer.cuda(0).weight.device == "gpu"
