"""DataLoader: batching, determinism, exact resume (also through .npz without pickle), prefetch;
TensorDataset's batches."""

import threading

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import tinycoat as tc
from tinycoat.data import ArrayDataset, DataLoader, TensorDataset, normalize

MEAN, STD = (0.5, 0.25, 0.1), (0.5, 0.5, 0.5)


def make_dataset(n=23, size=6):
    # Image i is filled with value i (plus a gradient so flips and crops change it) and has
    # label i, so every yielded sample can be traced back to its source.
    ramp = np.arange(size, dtype=np.uint8)[None, None, :] * 3
    images = (np.arange(n, dtype=np.uint8)[:, None, None, None] + ramp + 1).repeat(3, 1).repeat(size, 2)
    return ArrayDataset(images.astype(np.uint8), np.arange(n), [f"c{k}" for k in range(n)], "toy")


def run(loader, epochs):
    return [[(x.copy(), y.copy()) for x, y in loader] for _ in range(epochs)]


def assert_same(a, b):
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_len_and_batch_shapes():
    data = make_dataset(23)
    loader = DataLoader(data, 5, mean=MEAN, std=STD)
    assert len(loader) == 5
    sizes = [len(y) for _, y in loader]
    assert sizes == [5, 5, 5, 5, 3]
    x, y = next(iter(DataLoader(data, 5, drop_last=True, mean=MEAN, std=STD)))
    assert x.shape == (5, 3, 6, 6) and x.dtype == np.float32 and y.dtype == np.int64
    assert len(DataLoader(data, 5, drop_last=True, mean=MEAN, std=STD)) == 4
    with pytest.raises(ValueError, match="no batches"):
        DataLoader(data, 50, drop_last=True, mean=MEAN, std=STD)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(data, 0, mean=MEAN, std=STD)


def test_epoch_is_a_permutation_and_eval_is_plain_normalize():
    data = make_dataset(23)
    loader = DataLoader(data, 4, shuffle=True, seed=3, train_transforms=False, mean=MEAN, std=STD)
    first, second = run(loader, 2)
    order1 = np.concatenate([y for _, y in first])
    order2 = np.concatenate([y for _, y in second])
    assert sorted(order1.tolist()) == list(range(23)) and sorted(order2.tolist()) == list(range(23))
    assert order1.tolist() != order2.tolist()  # reshuffled each epoch
    for x, y in first:
        np.testing.assert_array_equal(x, normalize(data.images[y], MEAN, STD))
    in_order = DataLoader(data, 4, mean=MEAN, std=STD)                  # shuffle=False: the default, as PyTorch's
    assert np.concatenate([y for _, y in in_order]).tolist() == list(range(23))


def test_default_normalisation_comes_from_dataset_name():
    data = make_dataset(4)
    data.name = "cifar10"
    loader = DataLoader(data, 4)
    assert loader.mean[0] == pytest.approx(0.4914)
    with pytest.raises(KeyError, match="mean= and std="):
        DataLoader(make_dataset(4), 4)  # "toy" has no constants


def test_same_seed_same_batches_different_seed_different():
    data = make_dataset()
    kwargs = dict(shuffle=True, batch_size=4, train_transforms=True, padding=2, mean=MEAN, std=STD)
    a = run(DataLoader(data, seed=7, **kwargs), 2)
    b = run(DataLoader(data, seed=7, **kwargs), 2)
    c = run(DataLoader(data, seed=8, **kwargs), 2)
    for ea, eb in zip(a, b):
        assert_same(ea, eb)
    assert not all(np.array_equal(xa, xc) for (xa, _), (xc, _) in zip(a[0], c[0]))
    # Augmentation really happens: some train images differ from the plain normalised ones.
    assert any(not np.array_equal(x, normalize(data.images[y], MEAN, STD)) for x, y in a[0])


def test_resume_after_epoch_through_npz_without_pickle(tmp_path):
    data = make_dataset()
    kwargs = dict(shuffle=True, batch_size=4, train_transforms=True, padding=2, seed=11, mean=MEAN, std=STD)
    original = DataLoader(data, **kwargs)
    run(original, 1)
    np.savez(tmp_path / "loader.npz", **original.state_dict())
    expected = run(original, 2)

    restored = DataLoader(data, **{**kwargs, "seed": 999})  # seed is overridden by the state
    with np.load(tmp_path / "loader.npz", allow_pickle=False) as f:
        restored.load_state_dict(dict(f))
    assert restored.epoch == 1
    got = run(restored, 2)
    for e, g in zip(expected, got):
        assert_same(e, g)


@pytest.mark.parametrize("prefetch", [False, True])
def test_resume_mid_epoch(prefetch):
    data = make_dataset()
    kwargs = dict(shuffle=True, batch_size=4, train_transforms=True, seed=5, mean=MEAN, std=STD, prefetch=prefetch)
    original = DataLoader(data, **kwargs)
    run(original, 1)
    rest, state = [], None
    for i, (x, y) in enumerate(original):  # epoch 2: save while training on batch 2
        if i == 2:
            state = original.state_dict()
        if i > 2:
            rest.append((x, y))
    expected = rest + run(original, 1)[0]

    restored = DataLoader(data, **kwargs)
    restored.load_state_dict(state)
    assert int(state["batch"]) == 3 and int(state["epoch"]) == 1
    got = run(restored, 1)[0] + run(restored, 1)[0]
    assert_same(expected, got)


def test_break_then_iterate_again_continues_the_epoch():
    data = make_dataset()
    kwargs = dict(shuffle=True, batch_size=4, train_transforms=True, seed=2, mean=MEAN, std=STD)
    full = run(DataLoader(data, **kwargs), 1)[0]
    loader = DataLoader(data, **kwargs)
    head = []
    for x, y in loader:
        head.append((x, y))
        if len(head) == 2:
            break
    assert_same(full, head + run(loader, 1)[0])
    assert loader.epoch == 1


def test_prefetch_gives_identical_batches_and_stops_its_thread():
    data = make_dataset(40)
    kwargs = dict(shuffle=True, batch_size=3, train_transforms=True, seed=4, mean=MEAN, std=STD)
    plain = run(DataLoader(data, **kwargs), 2)
    fetched = run(DataLoader(data, prefetch=True, **kwargs), 2)
    for a, b in zip(plain, fetched):
        assert_same(a, b)
    loader = DataLoader(data, prefetch=True, **kwargs)
    for i, _ in enumerate(loader):
        if i == 1:
            break
    assert not [t for t in threading.enumerate() if t.name == "tinycoat-prefetch"]


def test_prefetch_reraises_errors_from_the_worker():
    loader = DataLoader(make_dataset(), 4, mean=(0.5,), std=(0.5,), prefetch=True)  # 1 != 3 channels
    with pytest.raises(ValueError, match="one value per channel"):
        run(loader, 1)


def test_state_dict_is_plain_arrays_and_mismatches_are_refused():
    data = make_dataset()
    state = DataLoader(data, 4, mean=MEAN, std=STD).state_dict()
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in state.values())
    assert state["rng_state"].dtype.kind == "U"
    with pytest.raises(ValueError, match="batch_size=4"):
        DataLoader(data, 5, mean=MEAN, std=STD).load_state_dict(state)
    with pytest.raises(ValueError, match="num_samples=23"):
        DataLoader(make_dataset(24), 4, mean=MEAN, std=STD).load_state_dict(state)
    with pytest.raises(ValueError, match="missing"):
        DataLoader(data, 4, mean=MEAN, std=STD).load_state_dict({"epoch": 0})


@given(n=st.integers(1, 30), batch_size=st.integers(1, 8), shuffle=st.booleans(), drop_last=st.booleans(),
       features=st.integers(0, 3))
def test_a_tensor_dataset_is_batched_as_it_is_and_resumes(n, batch_size, shuffle, drop_last, features):
    """PyTorch's TensorDataset: any arrays sharing their first axis (a tensor too), each sample in
    exactly one batch per epoch, its values and dtypes untouched; a state_dict resumes mid-epoch."""
    assume(not drop_last or n >= batch_size)
    x = tc.arange(n * features * 2, dtype="float64").reshape(n, features, 2)
    y = np.arange(n) * 10
    data = TensorDataset(x, y)
    assert len(data) == n and data[n - 1][1] == 10 * (n - 1)
    loader = DataLoader(data, batch_size, shuffle=shuffle, drop_last=drop_last, seed=3)
    batches = [(a.copy(), b.copy()) for a, b in loader]
    seen = np.concatenate([b for _, b in batches])
    assert len(batches) == len(loader) and len(seen) == (n // batch_size * batch_size if drop_last else n)
    assert len(set(seen.tolist())) == len(seen)                     # no sample twice
    if not shuffle:
        assert (seen == 10 * np.arange(len(seen))).all()               # in order
    for a, b in batches:
        assert a.dtype == np.float64 and b.dtype == y.dtype
        np.testing.assert_array_equal(a, x.numpy()[b // 10])
    if len(loader) > 1:
        it = iter(loader)
        next(it)
        state = loader.state_dict()
        restored = DataLoader(data, batch_size, shuffle=shuffle, drop_last=drop_last, seed=3)
        restored.load_state_dict(state)
        assert_same(list(it), list(restored))


def test_a_tensor_dataset_takes_lists_and_strided_arrays():
    data = TensorDataset(np.arange(6)[::2], [10, 20, 30], tc.ones(3, 2))
    assert [a.tolist() for a in data[np.array([2, 0])]] == [[4, 0], [30, 10], [[1.0, 1.0], [1.0, 1.0]]]


def test_a_tensor_dataset_refuses_unmatched_arrays_and_image_transforms():
    with pytest.raises(ValueError, match=r"same first axis .* got shapes \(3, 2\), \(4,\)"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one array"):
        TensorDataset()
    with pytest.raises(ValueError, match="TensorDataset's batches are handed out as they are"):
        DataLoader(TensorDataset(np.zeros(4)), 2, train_transforms=True)
