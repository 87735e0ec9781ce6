"""Module: registration, traversal, modes, devices and dtypes, state_dict round trips and errors."""
import numpy as np
import pytest

import tinycoat as tc
from tinycoat import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(3)
        self.scale = nn.Parameter(tc.ones(3))
        self.note = "not registered"

    def forward(self, x):
        return self.norm(self.conv(x)) * self.scale.reshape(1, 3, 1, 1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Block(), Block()])
        self.blocks[1].conv = nn.Conv2d(2, 3, 3, padding=1, bias=False)
        self.head = nn.Sequential(nn.GlobalAvgPool2d(), nn.Linear(3, 4))

    def forward(self, x):
        return self.head(self.blocks[0](x) + self.blocks[1](x))


def test_registration_and_traversal():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["blocks.0.scale", "blocks.0.conv.weight", "blocks.0.norm.weight", "blocks.0.norm.bias",
                     "blocks.1.scale", "blocks.1.conv.weight", "blocks.1.norm.weight", "blocks.1.norm.bias",
                     "head.1.weight", "head.1.bias"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert [n for n, _ in net.named_buffers()] == [
        f"blocks.{i}.norm.{b}" for i in (0, 1) for b in ("running_mean", "running_var", "num_batches_tracked")]
    assert [n for n, _ in net.named_modules()][:4] == ["", "blocks", "blocks.0", "blocks.0.conv"]
    assert [type(m).__name__ for m in net.children()] == ["ModuleList", "Sequential"]
    assert net.blocks[0].note == "not registered" and "note" not in dict(net.named_parameters())
    assert len(net.blocks) == 2 and len(net.head) == 2 and isinstance(net.head[1], nn.Linear)


def test_reassigning_and_deleting_attributes():
    b = Block()
    b.scale = None                        # a plain attribute now, no longer a parameter
    assert "scale" not in dict(b.named_parameters()) and b.scale is None
    b.norm.running_mean = tc.full((3,), 2.0)   # a registered buffer takes a new tensor
    assert b.norm.state_dict()["running_mean"].tolist() == [2.0, 2.0, 2.0]
    del b.conv
    assert not hasattr(b, "conv") and "conv.weight" not in b.state_dict()


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2


def test_train_eval_and_zero_grad():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    net(tc.randn(2, 2, 4, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_round_trip_is_exact_and_includes_buffers():
    tc.manual_seed(1)
    a = Net()
    a(tc.randn(2, 2, 4, 4))  # a training step moves the running statistics
    sd = a.state_dict()
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    assert sd["blocks.0.norm.num_batches_tracked"] == 1 and sd["blocks.0.norm.running_mean"].any()
    tc.manual_seed(2)
    b = Net()
    params_before = list(b.parameters())
    assert b.load_state_dict(sd) == ([], [])
    for (ka, va), (kb, vb) in zip(sd.items(), b.state_dict().items()):
        assert ka == kb and va.dtype == vb.dtype
        np.testing.assert_array_equal(va, vb)
    assert all(p is q for p, q in zip(params_before, b.parameters()))  # loaded in place
    sd["head.1.bias"][:] = 99                                           # the state_dict is a copy
    assert not (b.state_dict()["head.1.bias"] == 99).any()
    a.eval(), b.eval()
    x = tc.randn(2, 2, 4, 4)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_state_dict_round_trip_across_devices(device):
    tc.manual_seed(3)
    cpu_net = Net()
    moved = Net().to(device)
    moved.load_state_dict(cpu_net.state_dict())
    assert all(p.device == device for p in moved.parameters())
    assert all(t.device == device for t in moved.buffers())
    for (k, v), (_, w) in zip(cpu_net.state_dict().items(), moved.state_dict().items()):
        np.testing.assert_array_equal(v, w)
    back = moved.to("cpu")
    x = tc.randn(2, 2, 4, 4)
    cpu_net.eval(), back.eval()
    np.testing.assert_array_equal(cpu_net(x).numpy(), back(x).numpy())


def test_load_state_dict_errors_name_the_keys():
    net, sd = Net(), Net().state_dict()
    missing = dict(sd)
    del missing["head.1.weight"]
    with pytest.raises(ValueError, match=r"missing keys: head\.1\.weight"):
        net.load_state_dict(missing)
    with pytest.raises(ValueError, match=r"unexpected keys: extra\.weight"):
        net.load_state_dict({**sd, "extra.weight": np.zeros(2)})
    bad = {**sd, "head.1.weight": np.zeros((5, 3))}
    with pytest.raises(ValueError, match=r"mis-shaped keys: head\.1\.weight: checkpoint \(5, 3\), model \(4, 3\)"):
        net.load_state_dict(bad)
    before = net.state_dict()
    with pytest.raises(ValueError):
        net.load_state_dict({**bad, "head.1.bias": np.full(4, 7.0)})
    np.testing.assert_array_equal(net.state_dict()["head.1.bias"], before["head.1.bias"])  # all or nothing
    first, last = list(sd)[0], list(sd)[-1]                  # a value that is no number, after a good one:
    words = {**sd, first: sd[first] + 1, last: np.full(sd[last].shape, "x")}
    with pytest.raises(ValueError, match=rf"not arrays of numbers: {last}: .*dtype <U1"):
        net.load_state_dict(words)
    np.testing.assert_array_equal(net.state_dict()[first], before[first])                  # still nothing
    result = net.load_state_dict({**missing, "extra.weight": np.zeros(2)}, strict=False)
    assert result.missing_keys == ["head.1.weight"] and result.unexpected_keys == ["extra.weight"]


def test_state_dict_takes_pytorchs_destination_prefix_and_keep_vars():
    """state_dict(*, destination, prefix, keep_vars) as PyTorch's: the prefix goes before each key as
    given (no dot added), a destination is filled and returned, keep_vars=True gives the Parameter and
    buffer objects themselves (each tied or shared one under every name) and keep_vars=False the
    default's detached copies, still host arrays."""
    net = Net()
    net(tc.randn(2, 2, 4, 4)).sum().backward()                  # grads and a graph the copies must not carry
    plain = net.state_dict()
    assert list(net.state_dict(prefix="model.")) == [f"model.{k}" for k in plain]
    assert list(nn.Linear(2, 2).state_dict(prefix="net")) == ["netweight", "netbias"]     # (PyTorch's too)
    detached = net.state_dict(keep_vars=False)
    assert list(detached) == list(plain) and all(isinstance(v, np.ndarray) for v in detached.values())
    net.head[1].bias.data[...] = 5                              # the copies stay as they were
    assert not (detached["head.1.bias"] == 5).any()
    objects = net.state_dict(keep_vars=True)
    assert list(objects) == list(plain)
    assert objects["blocks.1.conv.weight"] is net.blocks[1].conv.weight and objects["blocks.1.scale"].grad is not None
    assert type(objects["blocks.0.norm.running_mean"]) is tc.Tensor
    assert objects["blocks.0.norm.num_batches_tracked"] is net.blocks[0].norm.num_batches_tracked
    destination = {"step": 7}
    filled = net.blocks[0].state_dict(destination=destination, prefix="blocks.0.", keep_vars=True)
    assert filled is destination and list(filled)[0] == "step"
    assert list(filled)[1:] == [k for k in objects if k.startswith("blocks.0.")]
    assert all(filled[k] is objects[k] for k in list(filled)[1:])
    block = Block()
    block.register_buffer("table", tc.arange(3.0), persistent=False)
    assert "table" not in block.state_dict(keep_vars=True)                        # not saved, in any form
    enc, dec = nn.Linear(3, 3), nn.Linear(3, 3)
    dec.weight = enc.weight
    lin = nn.Linear(2, 2)
    tied = nn.Sequential(enc, dec).state_dict(keep_vars=True)
    shared = nn.Sequential(lin, lin).state_dict(keep_vars=True)
    assert list(tied) == ["0.weight", "0.bias", "1.weight", "1.bias"] and tied["0.weight"] is tied["1.weight"]
    assert list(shared) == ["0.weight", "0.bias", "1.weight", "1.bias"] and shared["1.bias"] is lin.bias
    with pytest.raises(TypeError, match="state_dict: destination must be a dict to fill .* got list"):
        net.state_dict(destination=[])
    with pytest.raises(TypeError, match="state_dict: prefix must be a string, got int 1"):
        net.state_dict(prefix=1)


def test_load_state_dict_with_assign_makes_the_given_tensors_the_modules_own():
    """PyTorch's assign=True: no copy into the old tensors; a parameter becomes a Parameter over the
    given memory (a given Parameter is itself used), in the given dtype, with the module's
    requires_grad; a buffer becomes the given tensor. The default still copies in place."""
    tc.manual_seed(4)
    source = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    source(tc.randn(4, 2))                                                # running statistics that differ
    wide = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in source.state_dict().items()}
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    model[0].bias.requires_grad_(False)                                   # frozen: it stays frozen
    old = list(model.parameters())
    result = model.load_state_dict(wide, assign=True)
    assert result == ([], []) and result.missing_keys == [] and result.unexpected_keys == []
    weight, bias, mean = model[0].weight, model[0].bias, model[1].running_mean
    assert isinstance(weight, nn.Parameter) and weight.dtype == tc.float64 and weight.data is wide["0.weight"]
    assert weight.requires_grad and not bias.requires_grad and not any(p is q for p, q in zip(old, model.parameters()))
    assert type(mean) is tc.Tensor and mean.data is wide["1.running_mean"]
    assert "1.running_mean" in dict(model.named_buffers())
    assert model[1].num_batches_tracked.item() == 1
    model(tc.randn(4, 2, dtype="float64")).sum().backward()                # the new Parameters train
    assert weight.grad is not None and bias.grad is None
    given, kept, buffer = tc.ones(3, 2), nn.Parameter(tc.zeros(3)), tc.full((3,), 2.0)
    layer, norm = nn.Linear(2, 3), nn.BatchNorm1d(3)
    layer.bias.requires_grad_(False)
    layer.load_state_dict({"weight": given, "bias": kept}, assign=True)
    assert layer.bias is kept and not kept.requires_grad                   # the module's flag, as PyTorch's
    assert isinstance(layer.weight, nn.Parameter) and layer.weight is not given and layer.weight.data is given.data
    loaded = {**norm.state_dict(), "running_mean": buffer, "running_var": nn.Parameter(tc.ones(3))}
    norm.load_state_dict(loaded, assign=True)
    assert norm.running_mean is buffer
    assert type(norm.running_var) is tc.Tensor and "running_var" in dict(norm.named_buffers())   # still a buffer
    # (PyTorch's setattr would turn a Parameter given for a buffer into a parameter of the module)
    in_place = nn.Linear(2, 3)
    weight = in_place.weight
    in_place.load_state_dict({"weight": given, "bias": kept})                  # assign=False: copied in
    assert in_place.weight is weight and in_place.weight.data is not given.data


def test_assign_with_tied_and_shared_entries_partial_loads_and_errors():
    """Tied weights stay tied when both names get one Parameter (keep_vars=True) and come apart when
    given two arrays (as PyTorch's); a module under two names takes the last; strict=False reports
    missing and unexpected keys (a non-persistent buffer's key is unexpected); a mis-shaped or
    unusable value is a ValueError naming the key, and nothing is assigned."""
    enc, dec = nn.Linear(3, 3), nn.Linear(3, 3)
    dec.weight = enc.weight

    def tied_model():
        model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
        model[1].weight = model[0].weight
        return model
    kept = tied_model()
    kept.load_state_dict(nn.Sequential(enc, dec).state_dict(keep_vars=True), assign=True)
    assert kept[0].weight is kept[1].weight is enc.weight and len(list(kept.parameters())) == 3
    untied = tied_model()
    untied.load_state_dict(nn.Sequential(enc, dec).state_dict(), assign=True)
    assert untied[0].weight is not untied[1].weight and len(list(untied.parameters())) == 4
    lin = nn.Linear(2, 2)
    shared = nn.Sequential(lin, lin)
    shared.load_state_dict({"0.weight": np.zeros((2, 2), np.float32), "0.bias": np.zeros(2, np.float32),
                            "1.weight": np.ones((2, 2), np.float32), "1.bias": np.ones(2, np.float32)}, assign=True)
    assert shared[0] is shared[1] and lin.weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    block = Block()
    block.register_buffer("table", tc.arange(3.0), persistent=False)
    table, conv_weight = block.table, block.conv.weight
    partial = {k: v for k, v in Block().state_dict().items() if k != "conv.weight"}
    result = block.load_state_dict({**partial, "table": np.zeros(3), "extra.bias": np.zeros(1)}, strict=False,
                                   assign=True)
    assert result.missing_keys == ["conv.weight"] and result.unexpected_keys == ["table", "extra.bias"]
    assert block.table is table and block.conv.weight is conv_weight and block.norm.bias.data is partial["norm.bias"]
    with pytest.raises(ValueError, match=r"missing keys: conv\.weight \| unexpected keys: table"):
        block.load_state_dict({**partial, "table": np.zeros(3)}, assign=True)
    layer = nn.Linear(2, 3)
    before = dict(layer.state_dict(keep_vars=True))
    with pytest.raises(ValueError, match=r"mis-shaped keys: weight: checkpoint \(5, 2\), model \(3, 2\)"):
        layer.load_state_dict({"weight": tc.zeros(5, 2), "bias": tc.ones(3)}, assign=True)
    with pytest.raises(ValueError, match=r"not floating-point for parameters that require grad .*: weight: int64"):
        layer.load_state_dict({"weight": np.zeros((3, 2), np.int64), "bias": tc.ones(3)}, assign=True)
    with pytest.raises(ValueError, match=r"not arrays of numbers: bias: .*dtype <U1"):
        layer.load_state_dict({"weight": tc.zeros(3, 2), "bias": np.full(3, "x")}, assign=True)
    assert all(t is before[k] for k, t in layer.state_dict(keep_vars=True).items())   # not even the bias, which fit


def test_to_dtype_keeps_parameter_objects_and_integer_buffers():
    net = Net()
    params = list(net.parameters())
    net.double()
    assert all(p is q and p.dtype == tc.float64 for p, q in zip(params, net.parameters()))
    assert net.blocks[0].norm.running_var.dtype == tc.float64
    assert net.blocks[0].norm.num_batches_tracked.dtype == tc.int64
    assert net(tc.randn(1, 2, 3, 3, dtype="float64")).dtype == tc.float64
    assert net.float().blocks[0].conv.weight.dtype == tc.float32


def test_repr_shows_the_tree():
    text = repr(Net())
    assert "(blocks): ModuleList(" in text and "(conv): Conv2d(2→3, k=3, p=1, bias=False)" in text
    assert "(1): Linear(3→4, bias=True)" in text and "(norm): BatchNorm2d(3, eps=1e-05, momentum=0.1)" in text
    assert repr(nn.Parameter(tc.zeros(1))).startswith("Parameter containing:")


def test_misuse_is_reported():
    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tc.zeros(1))
    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Forgot()
    with pytest.raises(TypeError, match="register_buffer"):
        nn.Module().register_buffer("b", np.zeros(2))
    with pytest.raises(TypeError, match="not a layer"):
        nn.ModuleList([nn.ReLU()])(tc.zeros(1))
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        nn.Linear(1, 1).missing


def test_pytorchs_spellings_work():
    """What a PyTorch user writes first: to(dtype), 'cuda:0', backward(gradient=), dim= in softmax,
    cat/view/clamp/std, ReLU(inplace=True), Flatten, Softmax, CrossEntropyLoss, parameters(recurse=),
    requires_grad_ and apply on a model."""
    import tinycoat.nn.functional as F
    from tinycoat import backend
    x = tc.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert x.to(tc.float64).dtype == tc.float64 and backend.canonical_device("cuda:0") == "gpu"
    with pytest.raises(ValueError, match="one GPU per process"):
        backend.canonical_device("cuda:1")
    (x * x).sum().backward(gradient=tc.tensor(1.0))
    assert x.grad.tolist() == [[2.0, 4.0], [6.0, 8.0]]
    np.testing.assert_allclose(F.softmax(x, dim=0).numpy(), F.softmax(x, axis=0).numpy())
    assert tc.cat([x, x], dim=1).shape == (2, 4) and x.view(4).shape == (4,)
    assert x.clamp(2, 3).tolist() == [[2, 2], [3, 3]] and x.std().item() == pytest.approx(np.std(x.numpy(), ddof=1))
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.Softmax(dim=1))
    assert model(x).shape == (2, 3) and np.allclose(model(x).numpy().sum(axis=1), 1.0)
    assert list(model.parameters(recurse=False)) == [] and len(list(model.parameters())) == 2
    visited = []
    assert model.apply(lambda m: visited.append(type(m).__name__)) is model
    assert visited == ["Linear", "ReLU", "Flatten", "Softmax", "Sequential"]      # children first, as PyTorch
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    assert next(model.to(tc.float64).parameters()).dtype == tc.float64
    logits, labels = tc.randn(3, 4), tc.tensor(np.array([0, 1, 2]))
    assert nn.CrossEntropyLoss(label_smoothing=0.1)(logits, labels).item() == pytest.approx(
        F.cross_entropy(logits, labels, label_smoothing=0.1).item())


def test_a_forward_hook_sees_each_output_may_replace_it_and_can_be_removed():
    net = Net()
    seen = []
    handle = net.blocks[0].conv.register_forward_hook(lambda module, inputs, output: seen.append(
        (module, inputs[0].shape, output.shape)))
    x = tc.randn(2, 2, 3, 3)
    y = net(x)
    assert seen == [(net.blocks[0].conv, (2, 2, 3, 3), (2, 3, 3, 3))]
    zeroed = net.blocks[0].register_forward_hook(lambda module, inputs, output: output * 0)
    assert tc.allclose(net(x), net.head(net.blocks[1](x)))                # block 0's output replaced by zeros
    zeroed.remove()
    handle.remove()
    handle.remove()                                                        # twice: harmless
    assert tc.allclose(net(x), y) and len(seen) == 2                      # both hooks off (2: the call above)


def test_a_forward_pre_hook_sees_the_inputs_and_may_replace_them():
    net = Net()
    x = tc.randn(2, 2, 3, 3)
    y = net(x)
    seen = []
    look = net.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].shape))
    doubled = net.blocks[0].register_forward_pre_hook(lambda module, inputs: inputs[0] * 2)
    hooked = net(x)
    assert seen == [(2, 2, 3, 3)]
    doubled.remove()
    look.remove()
    assert tc.allclose(hooked, net.head(net.blocks[0](x * 2) + net.blocks[1](x)))   # block 0 saw 2x
    assert tc.allclose(net(x), y) and len(seen) == 1


def test_module_dict_and_parameter_list_register_what_they_hold():
    class Heads(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "box": nn.Linear(4, 2)})
            self.scales = nn.ParameterList([nn.Parameter(tc.ones(3)), nn.Parameter(tc.ones(2))])

        def forward(self, x):
            return [self.heads[k](x) * s for k, s in zip(self.heads, self.scales)]

    model = Heads()
    assert sorted(name for name, _ in model.named_parameters()) == [
        "heads.box.bias", "heads.box.weight", "heads.cls.bias", "heads.cls.weight", "scales.0", "scales.1"]
    outputs = model(tc.ones(5, 4))
    assert [o.shape for o in outputs] == [(5, 3), (5, 2)]
    sum(o.sum() for o in outputs).backward()
    assert all(p.grad is not None for p in model.parameters())
    copy = Heads()
    copy.load_state_dict(model.state_dict())
    assert np.array_equal(copy.heads["box"].weight.numpy(), model.heads["box"].weight.numpy())
    model.heads["extra"] = nn.Identity()
    assert "extra" in model.heads and list(model.heads.keys()) == ["cls", "box", "extra"] and len(model.heads) == 3
    del model.heads["extra"]
    assert len(model.heads) == 2 and len(model.scales) == 2 and model.scales[-1].shape == (2,)
    with pytest.raises(KeyError, match="without '.'"):
        nn.ModuleDict({"a.b": nn.ReLU()})
    with pytest.raises(TypeError, match="expected a Module"):
        nn.ModuleDict({"a": tc.zeros(1)})
    with pytest.raises(TypeError, match="name must be a string"):
        nn.ModuleDict({1: nn.ReLU()})
    assert isinstance(model.heads.pop("box"), nn.Linear) and list(model.heads) == ["cls"]
    model.heads.clear()
    assert len(model.heads) == 0


def test_parameter_list_takes_tensors_as_parameters_and_slices_into_a_list():
    params = nn.ParameterList([tc.zeros(2)])
    params.extend([tc.ones(3)])
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params)
    params[0] = nn.Parameter(tc.ones(1))
    assert [tuple(p.shape) for p in params] == [(1,), (3,)]
    assert isinstance(params[0:1], nn.ParameterList) and len(params[0:1]) == 1
    assert repr(params) == "ParameterList(\n  (0): Parameter of shape (1,), float32\n  (1): Parameter of shape (3,), float32\n)"
    with pytest.raises(IndexError, match="out of range"):
        params[5] = nn.Parameter(tc.ones(1))
    with pytest.raises(TypeError, match="expected a Parameter"):
        nn.ParameterList([[1.0]])
    with pytest.raises(TypeError, match="not a layer"):
        nn.ModuleDict()(tc.zeros(1))


def test_zero_grad_get_submodule_and_buffers_left_out_of_the_state_dict():
    net = Net()
    net(tc.ones(1, 2, 4, 4)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.get_submodule("blocks.1.conv") is net.blocks[1].conv and net.get_submodule("") is net
    with pytest.raises(AttributeError, match="no submodule 'nothing'"):
        net.get_submodule("blocks.nothing")
    block = Block()
    block.register_buffer("table", tc.arange(3.0), persistent=False)
    assert "table" not in block.state_dict() and "table" in dict(block.named_buffers())
    block.load_state_dict(Block().state_dict())                # (nothing expected for it, nothing missing)
    block.register_buffer("table", tc.arange(3.0))             # registered again, persistent: saved
    assert "table" in block.state_dict()
    with pytest.raises(KeyError, match="'conv' is already a module of Block"):
        block.register_buffer("conv", tc.zeros(1))
    with pytest.raises(KeyError, match="without '.'"):
        block.register_buffer("a.b", tc.zeros(1))
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)" and repr(nn.LogSoftmax(1)) == "LogSoftmax(dim=1)"


def test_a_registered_name_keeps_its_kind():
    """PyTorch's rule, once missing: m.weight = m.weight * 2 (a plain tensor) silently unregistered
    the weight (the optimizer and the checkpoint lost it); now each wrong kind is refused."""
    m = nn.Linear(2, 2)
    for name, value, kind in [("weight", tc.zeros(2, 2), "parameter"), ("weight", nn.Identity(), "parameter")]:
        with pytest.raises(TypeError, match=f"cannot assign .* to {kind} {name!r}"):
            setattr(m, name, value)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    m.bias = None                                        # absent, as bias=False
    assert list(m.state_dict()) == ["weight"]
    outer = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="cannot assign int to submodule '0'"):
        setattr(outer, "0", 3)
    bn = nn.BatchNorm1d(3)
    with pytest.raises(TypeError, match="cannot assign int to buffer 'running_mean'"):
        bn.running_mean = 3
    bn.running_mean = tc.ones(3)                         # a new tensor for a buffer is fine
    assert bn.state_dict()["running_mean"].tolist() == [1.0, 1.0, 1.0]
    holder = nn.Module()
    holder.plain = 5
    for register in (lambda: holder.add_module("plain", nn.Identity()), lambda: holder.register_buffer("train", None),
                     lambda: nn.ModuleDict({"keys": nn.Identity()})):
        with pytest.raises(KeyError, match="is already an attribute of"):   # m.plain would not find it
            register()
    del m.weight                                         # ... and after del, anything goes
    m.weight = 5
    assert m.weight == 5 and "weight" not in dict(m.named_parameters())


def test_train_calls_each_childs_own_train():
    """A child that overrides train() (a BatchNorm kept frozen) is obeyed by its parent's train();
    once the parent set every module's flag directly."""
    class FrozenNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(3)

        def train(self, mode=True):
            super().train(mode)
            self.bn.eval()
            return self
    model = nn.Sequential(nn.Linear(3, 3), FrozenNorm())
    model.eval()
    model.train()
    assert model.training and model[0].training and model[1].training and not model[1].bn.training
    with pytest.raises(ValueError, match="train: mode must be True or False, got 'no'"):
        model.train("no")


def test_shared_and_tied_entries_in_the_state_dict_and_the_tree():
    """As PyTorch: a tied weight is saved under each of its names (and loads back); parameters()
    lists it once (one optimizer step); a buffer persistent in one module and not in another is
    saved; a child under two names is one child (apply visits it once)."""
    enc, dec = nn.Linear(3, 3), nn.Linear(3, 3)
    dec.weight = enc.weight
    tied = nn.Sequential(enc, dec)
    assert list(tied.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert len(list(tied.parameters())) == 3
    copy = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    copy[1].weight = copy[0].weight
    copy.load_state_dict(tied.state_dict())
    assert np.array_equal(copy[1].weight.numpy(), enc.weight.numpy())
    t = tc.arange(4)
    a, b, holder = nn.Module(), nn.Module(), nn.Module()
    a.register_buffer("idx", t, persistent=False)
    b.register_buffer("idx", t)
    holder.a, holder.b = a, b
    assert list(holder.state_dict()) == ["b.idx"]
    child, parent, visits = nn.Linear(2, 2), nn.Module(), []
    parent.x = parent.y = child
    parent.apply(lambda m: visits.append(type(m).__name__))
    assert visits == ["Linear", "Module"] and len(list(parent.named_children())) == 1
    own = nn.Module()
    own.p = own.q = nn.Parameter(tc.zeros(2).data)
    assert [n for n, _ in own.named_parameters(recurse=False)] == ["p"]


def test_a_slice_of_a_sequential_keeps_the_childrens_names():
    """model[1:] of Sequential(a, b, c) holds b and c as '1' and '2', as PyTorch's, so its state_dict
    keys match the full model's (they were renumbered from 0)."""
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    tail = model[1:]
    assert [name for name, _ in tail.named_children()] == ["1", "2"] and tail[1] is model[2]
    assert list(tail.state_dict()) == ["2.weight", "2.bias"]
    assert set(tail.state_dict()) <= set(model.state_dict())


def test_sequential_and_module_list_have_a_lists_methods():
    """insert, pop, del, item assignment, + and += as PyTorch's: an insert or a deletion renumbers
    the children 0, 1, ... (so state_dict keys follow the positions); a bad index is an IndexError."""
    a, b, c = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)
    seq = nn.Sequential(a, c)
    seq.insert(1, b)
    assert list(seq) == [a, b, c] and [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    assert seq.pop(0) is a and list(seq.state_dict()) == ["1.weight", "1.bias"]
    seq[0] = nn.Tanh()
    assert isinstance(seq[0], nn.Tanh) and seq[-1] is c
    del seq[0]
    assert list(seq.state_dict()) == ["0.weight", "0.bias"]
    both = seq + nn.Sequential(a)
    assert isinstance(both, nn.Sequential) and list(both) == [c, a]
    layers = nn.ModuleList([a])
    layers += [b]
    layers.insert(0, c)
    assert list(layers) == [c, a, b] and len(list(layers.parameters())) == 4
    assert list(layers[1:]) == [a, b] and [n for n, _ in layers[1:].named_children()] == ["0", "1"]
    with pytest.raises(IndexError, match="ModuleList: index 3 is out of range for 3 modules"):
        layers[3]


def test_pytorchs_arguments_of_the_tree_walks():
    """named_parameters(prefix, recurse, remove_duplicate), named_buffers(...), buffers(recurse),
    register_module; a prefix that is not a string (PyTorch's first positional) is refused, not
    taken for recurse."""
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    assert [n for n, _ in model.named_parameters(prefix="net")][:2] == ["net.0.weight", "net.0.bias"]
    assert list(dict(model.named_buffers(recurse=False))) == [] and len(list(model.buffers())) == 3
    assert [n for n, _ in model[1].named_buffers(prefix="bn")] == ["bn.running_mean", "bn.running_var",
                                                                  "bn.num_batches_tracked"]
    tied = nn.Module()
    tied.p = tied.q = nn.Parameter(tc.zeros(1).data)
    assert [n for n, _ in tied.named_parameters(remove_duplicate=False)] == ["p", "q"]
    model.register_module("head", nn.Linear(2, 1))
    assert model.head is model[2]
    with pytest.raises(TypeError, match="named_parameters: prefix must be a string, got False"):
        list(model.named_parameters(False))


def test_hooks_with_pytorchs_prepend_and_with_kwargs():
    """prepend runs a hook before those already registered; with_kwargs hands the keyword inputs
    over (a pre-hook may replace both, returning (args, kwargs))."""
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor
    layer, order = Scale(), []
    layer.register_forward_hook(lambda m, args, out: order.append("first"))
    layer.register_forward_hook(lambda m, args, out: order.append("prepended"), prepend=True)
    seen = []
    layer.register_forward_hook(lambda m, args, kwargs, out: seen.append(dict(kwargs)), with_kwargs=True)
    handle = layer.register_forward_pre_hook(lambda m, args, kwargs: (args, {"factor": 3.0}), with_kwargs=True)
    assert layer(tc.tensor([2.0]), factor=10.0).tolist() == [6.0]
    assert order == ["prepended", "first"] and seen == [{"factor": 3.0}]
    handle.remove()
    assert layer(tc.tensor([2.0]), factor=10.0).tolist() == [20.0]
    layer.register_forward_pre_hook(lambda m, args, kwargs: args, with_kwargs=True)
    with pytest.raises(TypeError, match=r"with_kwargs must return None or \(args, kwargs\)"):
        layer(tc.tensor([2.0]))
