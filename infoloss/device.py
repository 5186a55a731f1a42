"""Choosing where torch code runs: CUDA when present, the CPU otherwise.

Set ``INFOLOSS_DEVICE=cpu`` (or ``cuda``, ``cuda:1``) to override, e.g. to grade on the
CPU on a machine that has a GPU.
"""

from __future__ import annotations

import os
import random

import numpy as np


def pick_device(prefer: str | None = None):
    """Return a ``torch.device``: ``prefer``, else $INFOLOSS_DEVICE, else cuda if available."""
    import torch

    choice = prefer or os.environ.get("INFOLOSS_DEVICE")
    if choice:
        dev = torch.device(choice)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"device {choice!r} was asked for but torch sees no CUDA device; "
                "unset INFOLOSS_DEVICE or use 'cpu'"
            )
        return dev
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def use_one_cpu_thread() -> None:
    """Run torch's CPU kernels on one thread.

    The course's models and tensors are tiny: one thread is as fast as several, and on a
    shared machine (CI, a grading batch running notebooks side by side) several threads
    per process compete for the cores and can make training many times slower. CUDA work
    is unaffected.
    """
    import torch

    torch.set_num_threads(1)


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch so that a training run repeats."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def digits_tensors(device=None, dtype=None):
    """The standard digits split as torch tensors on ``device``, pixels scaled to [0, 1].

    Returns ``(X_train, y_train, X_test, y_test)`` with images flattened to 64 features.
    """
    import torch

    from .data import load_digits_split

    split = load_digits_split()
    dev = device if device is not None else pick_device()
    dt = dtype or torch.float32

    def feats(x):
        return torch.as_tensor(x.reshape(len(x), -1) / 16.0, dtype=dt, device=dev)

    def labels(y):
        return torch.as_tensor(y, dtype=torch.long, device=dev)

    return feats(split.X_train), labels(split.y_train), feats(split.X_test), labels(split.y_test)
