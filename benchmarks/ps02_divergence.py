"""Time ps02_divergence: stock nbgrader grading of the solution, and one training run per loss.

Run from the repository root: ``.venv/bin/python benchmarks/ps02_divergence.py``.
Set ``INFOLOSS_DEVICE=cpu`` to time the CPU on a machine with a GPU. Results go in
``benchmarks/ps02_divergence.md`` by hand, with the machine they came from.
"""

from __future__ import annotations

import os
import platform
import time
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from autograder import SOLUTIONS
from autograder.stock import autograde_stock
from infoloss.device import digits_tensors, pick_device, seed_everything


def train_once(loss_fn, X, y, epochs=15, batch_size=64, seed=0):
    """The ps02 recipe (64-64-10 MLP, Adam 0.01, 15 epochs of batches of 64)."""
    seed_everything(seed)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).to(X.device)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=gen).to(X.device)
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            loss = loss_fn(model(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def main() -> None:
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}")
    device = pick_device()
    X, y, Xt, yt = digits_tensors(device=device)
    losses = {"cross-entropy": F.cross_entropy,
              "label smoothing 0.1": partial(F.cross_entropy, label_smoothing=0.1),
              "2 x smoothing 0.5": lambda z, t: 2 * F.cross_entropy(z, t, label_smoothing=0.5)}
    for threads in (1, torch.get_num_threads()):
        torch.set_num_threads(threads)
        for name, fn in losses.items():
            t0 = time.perf_counter()
            model = train_once(fn, X, y)
            if device.type == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - t0
            with torch.no_grad():
                q = torch.softmax(model.eval()(Xt), dim=1)
            acc = (q.argmax(1) == yt).float().mean().item()
            conf = q.max(1).values.mean().item()
            print(f"{device} threads={threads} {name:20s} {seconds:6.2f} s  "
                  f"test accuracy {acc:.3f}  confidence {conf:.3f}")
    t0 = time.perf_counter()
    result = autograde_stock("ps02_divergence",
                             SOLUTIONS / "ps02_divergence" / "ps02_divergence.ipynb")
    print(f"stock autograde of the solution: {time.perf_counter() - t0:.1f} s, "
          f"score {result.score}/{result.max_score}")


if __name__ == "__main__":
    main()
