"""Checkpoints (and tc.save/tc.load) round-trip exactly, are written atomically, and never unpickle."""
import os

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinycoat as tc
from tinycoat import optim
from tinycoat.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tinycoat.nn.module import Module, Parameter


class Net(Module):
    def __init__(self):
        super().__init__()
        self.weight = Parameter(tc.randn(3, 2).data)
        self.bias = Parameter(tc.zeros(2).data)
        self.register_buffer("running_var", tc.ones(2))

    def forward(self, x):
        return x @ self.weight + self.bias


def trained():
    net = Net()
    opt = optim.AdamW(optim.weight_decay_groups(net.named_parameters(), 0.05), lr=0.01)
    sched = optim.WarmupCosine(opt, total_steps=10, warmup_steps=2)
    for _ in range(3):
        net(tc.randn(4, 3)).tanh().mean().backward()
        opt.step()
        sched.step()
        opt.zero_grad()
    return net, opt, sched


def test_round_trip_restores_model_optimizer_and_schedule(tmp_path):
    net, opt, sched = trained()
    path = save_checkpoint(tmp_path / "last.npz", net, opt, sched, meta={"epoch": 3, "config": {"lr": 0.01}},
                           arrays={"loader/order": np.arange(5)})
    ck = load_checkpoint(path)
    assert ck["meta"] == {"epoch": 3, "config": {"lr": 0.01}}
    np.testing.assert_array_equal(ck["arrays"]["loader/order"], np.arange(5))
    net2 = Net()
    net2.load_state_dict(ck["model"])
    opt2 = optim.AdamW(optim.weight_decay_groups(net2.named_parameters(), 0.05), lr=0.5)
    opt2.load_state_dict(ck["optimizer"])
    sched2 = optim.WarmupCosine(opt2, total_steps=1)
    sched2.load_state_dict(ck["scheduler"])
    # One more identical step on both: the weights must stay bit-identical.
    x = tc.randn(4, 3)
    for n, o, s in ((net, opt, sched), (net2, opt2, sched2)):
        n(x).tanh().mean().backward()
        o.step()
        s.step()
    for (name, a), (_, b) in zip(net.state_dict().items(), net2.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_written_atomically_and_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    net, opt, sched = trained()
    path = tmp_path / "last.npz"
    save_checkpoint(path, net, meta={"epoch": 1})
    before = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, net, meta={"epoch": 2})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["last.npz"]  # no temporary file left behind


@pytest.mark.skipif(os.name != "posix", reason="file modes and the umask are POSIX's")
def test_a_checkpoint_has_the_mode_of_a_new_file_or_of_the_one_it_replaces(tmp_path):
    """Not mkstemp's private 0600: others who may read new files (the umask says) may read it."""
    net = Net()
    old = os.umask(0o022)
    try:
        path = save_checkpoint(tmp_path / "last.npz", net)
        assert os.stat(path).st_mode & 0o777 == 0o644
        os.chmod(path, 0o640)                        # a mode the user chose is kept across saves
        save_checkpoint(path, net)
        assert os.stat(path).st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_numpy_scalars_in_settings_are_saved_and_other_objects_refused(tmp_path):
    net = Net()
    opt = optim.AdamW(net.parameters(), lr=np.float32(1e-3))        # accepted by the optimizer: so saved
    path = save_checkpoint(tmp_path / "a.npz", net, opt, meta={"best": np.float64(0.5), "epoch": np.int64(3)})
    ck = load_checkpoint(path)
    assert ck["meta"] == {"best": 0.5, "epoch": 3}
    assert ck["optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-3)
    with pytest.raises(CheckpointError, match=r"\{1, 2\} \(set\) in the optimizer's settings, the scheduler's"):
        save_checkpoint(tmp_path / "b.npz", net, meta={"seen": {1, 2}})
    assert not (tmp_path / "b.npz").exists()


def test_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.npz")
    with pytest.raises(CheckpointError, match="is a folder; a checkpoint is a file such as .*last.npz"):
        load_checkpoint(tmp_path)
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(CheckpointError, match="not a readable .npz"):
        load_checkpoint(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(CheckpointError, match="not a tinycoat checkpoint"):
        load_checkpoint(tmp_path / "other.npz")
    np.savez(tmp_path / "pickled.npz", __meta__=np.array([{"format": 1}], dtype=object))
    with pytest.raises(CheckpointError):  # object arrays would need pickle: refused
        load_checkpoint(tmp_path / "pickled.npz")


def test_malformed_contents_are_clear_errors(tmp_path):
    """Random bytes named .npz, metadata that is not the expected JSON, an optimizer state that
    does not parse: one CheckpointError naming the file, never NumPy's allow_pickle hint."""
    (tmp_path / "random.npz").write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(CheckpointError, match="random.npz.*not a zip archive"):
        load_checkpoint(tmp_path / "random.npz")
    np.savez(tmp_path / "text.npz", __meta__=np.array("{not json"))
    with pytest.raises(CheckpointError, match="text.npz.*not JSON"):
        load_checkpoint(tmp_path / "text.npz")
    np.savez(tmp_path / "list.npz", __meta__=np.array("[1, 2]"))
    with pytest.raises(CheckpointError, match="list.npz.*format 'list'"):
        load_checkpoint(tmp_path / "list.npz")
    np.savez(tmp_path / "opt.npz", __meta__=np.array('{"format": "tinycoat-checkpoint-1", "optimizer": {"scalars": 3}}'))
    with pytest.raises(CheckpointError, match="opt.npz.*optimizer state is malformed"):
        load_checkpoint(tmp_path / "opt.npz")


def test_an_optimizer_state_of_the_wrong_shape_is_refused_before_anything_changes():
    net, opt, _ = trained()
    state = opt.state_dict()
    state["state"][0]["exp_avg"] = np.zeros((5, 5))
    before = {k: dict(v) for k, v in opt.state_dict()["state"].items()}
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(5, 5\), the parameter \(3, 2\)"):
        opt.load_state_dict(state)
    assert opt.state_dict()["state"].keys() == before.keys()
    state["state"] = {9: {"step": 1}}
    with pytest.raises(ValueError, match="state for parameter 9, but parameters are numbered 0 to 1"):
        opt.load_state_dict(state)


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    """On this machine a process id tells a dead writer; in a folder shared between machines (NFS)
    another machine's temporary may be a live write: kept unless untouched for a week."""
    import subprocess
    import sys
    import time
    from tinycoat.files import STALE_ELSEWHERE_S, TEMP_PREFIX, _host, remove_stale_temporaries
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    here = _host()
    names = [f"{TEMP_PREFIX}{dead}@{here}-abc.tmp",                  # its writer is gone
             f"{TEMP_PREFIX}{os.getpid()}@{here}-def.tmp",           # this process is still writing it
             ".checkpoint-xyz.npz.tmp",                              # an earlier release's leftover
             f"{TEMP_PREFIX}{dead}@another.machine-ghi.tmp",         # another machine's, written just now
             f"{TEMP_PREFIX}{dead}@another.machine-jkl.tmp",         # another machine's, a week old
             f"{TEMP_PREFIX}{dead}-mno.tmp",                         # no machine named, just now
             f"{TEMP_PREFIX}{os.getpid()}@{here}-pqr.tmp",           # a running process id, a week old (reused)
             "last.npz", "notes.tmp"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    week_ago = time.time() - STALE_ELSEWHERE_S - 60
    for old in (names[4], names[6]):
        os.utime(tmp_path / old, (week_ago, week_ago))
    assert remove_stale_temporaries(tmp_path) == sorted([names[0], names[2], names[4], names[6]])
    assert sorted(os.listdir(tmp_path)) == sorted([names[1], names[3], names[5], *names[7:]])
    from tinycoat.files import atomic_write
    seen = []
    atomic_write(tmp_path / "new.json", lambda f: seen.extend(os.listdir(tmp_path)))
    assert [n for n in seen if n.startswith(f"{TEMP_PREFIX}{os.getpid()}@{here}-")]     # how a write names itself


# ------------------------------------------------------------------ tc.save / tc.load

ARRAYS = hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_]),
                    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
LEAVES = (st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(max_size=5)
          | ARRAYS | st.tuples(ARRAYS, st.booleans()).map(lambda p: tc.tensor(p[0], requires_grad=p[1] and
                                                                             p[0].dtype.kind == "f")))
TREES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
                     | st.dictionaries(st.text(max_size=4) | st.integers(0, 9), inner, max_size=3), max_leaves=8)


def same(a, b):
    """Equal in structure, types and values (arrays: dtype and shape too)."""
    if isinstance(a, tc.Tensor):
        return (isinstance(b, tc.Tensor) and a.requires_grad == b.requires_grad and a.device == b.device
                and same(a.numpy(), b.numpy()))
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))          # (a NaN saved is a NaN loaded)
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


@given(tree=TREES)
def test_save_and_load_give_back_what_was_saved(tree, tmp_path_factory):
    path = tmp_path_factory.mktemp("save") / "tree.npz"
    tc.save(tree, path)
    assert same(tree, tc.load(path))


def test_a_state_dict_saved_with_tc_save_loads_into_a_fresh_model_and_optimizer(tmp_path):
    """PyTorch's habit: torch.save(model.state_dict()), later model.load_state_dict(torch.load(...))."""
    net, opt, _ = trained()
    tc.save({"model": net.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "state.npz")
    saved = tc.load(tmp_path / "state.npz")
    twin = Net()
    twin_opt = optim.AdamW(optim.weight_decay_groups(twin.named_parameters(), 0.05), lr=0.01)
    twin.load_state_dict(saved["model"])
    twin_opt.load_state_dict(saved["optimizer"])
    assert isinstance(saved["optimizer"]["param_groups"][0]["betas"], tuple)
    x = tc.randn(4, 3)
    for model, optimizer in ((net, opt), (twin, twin_opt)):     # one more step each: the same numbers
        model(x).tanh().mean().backward()
        optimizer.step()
    np.testing.assert_array_equal(net.weight.numpy(), twin.weight.numpy())


def test_save_refuses_what_it_cannot_write_without_pickle(tmp_path):
    path = tmp_path / "kept.npz"
    tc.save({"w": tc.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"save: the object\['layers'\]\[1\] is a set; tc.save writes tensors"):
        tc.save({"layers": [1, {2}]}, path)
    with pytest.raises(TypeError, match=r"save: the object has the key \(1, 2\); keys must be strings or ints"):
        tc.save({(1, 2): 0}, path)
    with pytest.raises(TypeError, match=r"save: the object\[0\] is an array of Python objects"):
        tc.save([np.array([None, 1])], path)
    assert path.read_bytes() == before                           # the old file stands


def test_load_and_load_checkpoint_say_which_one_a_file_needs(tmp_path):
    net, opt, sched = trained()
    save_checkpoint(tmp_path / "ck.npz", net, opt, sched)
    tc.save(net.state_dict(), tmp_path / "state.npz")
    with pytest.raises(CheckpointError, match="a training checkpoint, read it with tinycoat.checkpoint.load_checkpoint"):
        tc.load(tmp_path / "ck.npz")
    with pytest.raises(CheckpointError, match="written by tc.save, read it with tc.load"):
        load_checkpoint(tmp_path / "state.npz")
    with pytest.raises(CheckpointError, match="saved file .* does not exist"):
        tc.load(tmp_path / "missing.npz")
    assert tc.load(tmp_path / "state.npz", map_location="cpu")["weight"].shape == (3, 2)


@pytest.mark.parametrize("make", [
    lambda params: optim.AdamW(params, lr=0.01, amsgrad=True, maximize=True),
    lambda params: optim.Adam([{"params": params[:1], "amsgrad": True}, {"params": params[1:]}], lr=0.01,
                              weight_decay=0.01, maximize=True),
    lambda params: optim.SGD(params, lr=0.01, momentum=0.9, nesterov=True, maximize=True),
], ids=["AdamW-amsgrad", "Adam-one-group-amsgrad", "SGD-nesterov"])
@pytest.mark.parametrize("through", ["save_checkpoint", "tc.save"])
def test_amsgrad_and_maximize_resume_from_a_file_mid_training(make, through, tmp_path):
    """The running maximum (max_exp_avg_sq) and the switches travel in the file: an optimizer built
    with the defaults takes them back, and three more steps give the same weights, bit for bit."""
    net = Net()
    opt = make([net.weight, net.bias])
    x = tc.randn(4, 3)
    for _ in range(3):
        net(x).tanh().mean().backward()
        opt.step()
        opt.zero_grad()
    if through == "save_checkpoint":
        saved = load_checkpoint(save_checkpoint(tmp_path / "ck.npz", net, opt))
    else:
        tc.save({"model": net.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "state.npz")
        saved = tc.load(tmp_path / "state.npz")
    twin = Net()
    twin.load_state_dict(saved["model"])
    twin_opt = type(opt)([{"params": [twin.weight]}, {"params": [twin.bias]}] if len(opt.param_groups) == 2
                         else [twin.weight, twin.bias])
    twin_opt.load_state_dict(saved["optimizer"])
    assert [(g.get("amsgrad"), g["maximize"]) for g in twin_opt.param_groups] == \
        [(g.get("amsgrad"), g["maximize"]) for g in opt.param_groups]
    for model, optimizer in ((net, opt), (twin, twin_opt)):
        for _ in range(3):
            model(x).tanh().mean().backward()
            optimizer.step()
            optimizer.zero_grad()
    for (name, a), (_, b) in zip(net.state_dict().items(), twin.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    if isinstance(opt, optim.AdamW):                       # (Adam too: a subclass)
        np.testing.assert_array_equal(twin_opt.state[twin.weight]["max_exp_avg_sq"],
                                      opt.state[net.weight]["max_exp_avg_sq"])
