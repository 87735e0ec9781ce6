"""Optimizers and everything around an update step.

    optimizer.py  Optimizer (param groups, hyper-parameter checks, state, checkpoints), weight_decay_groups
    sgd.py        SGD with momentum / Nesterov
    adamw.py      AdamW (decoupled weight decay), Adam (coupled); AMSGrad for both
    rmsprop.py    RMSprop (centered, momentum) and Adagrad: Adam's ancestors
    clip.py       clip_grad_norm_, clip_grad_value_
    schedule.py   linear warm-up + cosine learning-rate schedule
    lr_scheduler.py  PyTorch's schedulers (StepLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR,
                     OneCycleLR, ChainedScheduler, ReduceLROnPlateau, ...: the list atop the file)
    ema.py        exponential moving average of the weights
    grad_scaler.py  GradScaler: loss scaling for float16 products (tinycoat.amp)
"""
from tinycoat.optim.optimizer import Optimizer, weight_decay_groups  # noqa: F401
from tinycoat.optim.sgd import SGD  # noqa: F401
from tinycoat.optim.adamw import AdamW, Adam  # noqa: F401
from tinycoat.optim.rmsprop import RMSprop, Adagrad  # noqa: F401
from tinycoat.optim.clip import clip_grad_norm_, clip_grad_value_  # noqa: F401
from tinycoat.optim.schedule import WarmupCosine, warmup_cosine  # noqa: F401
from tinycoat.optim import lr_scheduler  # noqa: F401
from tinycoat.optim.ema import ModelEMA  # noqa: F401
from tinycoat.optim.grad_scaler import GradScaler  # noqa: F401
