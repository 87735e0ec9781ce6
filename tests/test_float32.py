"""Training stays in float32: no op of a whole CoAtNet step may quietly promote to float64.

NumPy promotes silently (a float64 constant array, ``np.float64`` scalars in old code, a
``np.arange`` without dtype...), and one promoted array doubles the memory traffic of
everything after it. Every Function's forward and backward is watched during a full
training step of a small CoAtNet: what it returns and what it saves for the backward must
be float32; so must the gradients, the updated weights and AdamW's moments.
"""
import numpy as np

import tinycoat as tc
from tinycoat import optim
from tinycoat.autograd import instrumented
from tinycoat.models import create_model
from tinycoat.nn import functional as F


def _float64_arrays(value):
    """The float64 arrays in a returned value or a saved attribute (tuples and lists looked into)."""
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _float64_arrays(v)]
    dtype = getattr(value, "dtype", None)
    return [value] if dtype is not None and getattr(value, "shape", None) is not None and dtype == np.float64 else []


def watch_float64(found):
    """Record 'Class.method' (and what was float64) for every op that produces or saves float64."""
    def wrap(cls, method, original):
        def watched(self, *args, **kwargs):
            out = original(self, *args, **kwargs)
            if _float64_arrays(out):
                found.append(f"{cls.__name__}.{method} returned float64")
            for name, value in vars(self).items():
                if _float64_arrays(value):
                    found.append(f"{cls.__name__}.{method} saved float64 self.{name}")
            return out
        return watched
    return instrumented(wrap)


def test_the_watch_catches_a_promotion():
    found = []
    x = tc.randn(3, requires_grad=True)
    with watch_float64(found):
        (x * tc.tensor(np.ones(3))).sum().backward()     # a float64 constant promotes x * c
    assert any(f.startswith("Mul.forward returned float64") for f in found), found


def test_a_coatnet_training_step_stays_float32(device):
    tc.manual_seed(0)
    model = create_model("coatnet_cifar_nano", drop_path_rate=0.2).to(device)
    opt = optim.AdamW(optim.weight_decay_groups(model.named_parameters(), 0.05), lr=1e-3)
    x = tc.randn(4, 3, 32, 32, device=device)
    y = tc.tensor(np.array([0, 3, 9, 3]), device=device)
    found = []
    with watch_float64(found):
        for _ in range(2):                                # the second step runs with AdamW state
            model.train()
            loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            optim.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        model.eval()
        with tc.no_grad():
            logits = model(x)
    assert not found, "float64 crept into a float32 step:\n" + "\n".join(sorted(set(found)))
    assert loss.dtype == logits.dtype == tc.float32
    for name, p in model.named_parameters():
        assert p.dtype == p.grad.dtype == tc.float32, name
        assert all(v.dtype == tc.float32 for v in opt.state[p].values() if hasattr(v, "dtype")), name
    for name, b in model.named_buffers():
        assert b.dtype in (tc.float32, tc.backend.int64), name
