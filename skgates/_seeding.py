"""Seed torch from an estimator's ``random_state`` without touching the caller's RNGs."""

import threading
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.utils import check_random_state


_SEEDED = threading.RLock()


def draw_seed(random_state):
    """Draw a torch seed from ``random_state`` (None, int or ``RandomState``).

    An int always gives the same seed; ``None`` draws from numpy's global RNG,
    as scikit-learn estimators do.
    """
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


@contextmanager
def torch_seeded(seed, device="cpu"):
    """Run the body with torch's RNGs seeded by ``seed``, then restore them.

    The caller's global torch RNG state (CPU, and CUDA when ``device`` is a
    CUDA device) is the same after the block as before it.
    """
    device = torch.device(device)
    cuda_devices = []
    if device.type == "cuda":
        cuda_devices = [device.index if device.index is not None else torch.cuda.current_device()]
    # torch's global RNG is shared by the threads of a process: fits running in threads
    # (joblib's threading backend, a threaded dask worker) take turns, or their draws mix.
    with _SEEDED, torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        yield
