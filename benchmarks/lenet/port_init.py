"""Chapter 9's PyTorch port of the C LeNet-5: does the starting point explain the gap?

Trains the port (no output ReLU, plain SGD, learning rate 0.1 on the batch mean, batches
of 300, 15 epochs: the recipe of the fixed C program) from PyTorch's default
initialisation and from the C program's Glorot-uniform one, on five seeds, on the CPU
with one thread, and writes the test accuracy after every epoch to port_init.json.
Chapter 9 reads that file and compares it with the C program's stored runs.

    python benchmarks/lenet/port_init.py      # about a minute on one core
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from infoloss.device import seed_everything
from infoloss.mnistlike import mnist_like_tensors

SEEDS = (0, 1, 2, 3, 4)
EPOCHS = 15
OUT = Path(__file__).with_name("port_init.json")


def lenet5(glorot: bool) -> nn.Sequential:
    net = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
        nn.Linear(120, 10))
    if glorot:
        for layer in net:
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
    return net


def main() -> None:
    torch.set_num_threads(1)
    X_train, y_train, X_test, y_test = mnist_like_tensors(torch.device("cpu"))
    std = lambda x: (x - x.mean((2, 3), keepdim=True)) / x.std((2, 3), keepdim=True)  # noqa: E731
    X_train, X_test = std(X_train), std(X_test)
    results: dict[str, list[list[float]]] = {}
    for init in ("default", "glorot"):
        results[init] = []
        for seed in SEEDS:
            seed_everything(seed)
            net = lenet5(init == "glorot")
            opt = torch.optim.SGD(net.parameters(), lr=0.1)
            acc = []
            for _ in range(EPOCHS):
                perm = torch.randperm(len(X_train))
                for i in range(len(X_train) // 300):
                    idx = perm[i * 300:(i + 1) * 300]
                    opt.zero_grad()
                    nn.functional.cross_entropy(net(X_train[idx]), y_train[idx]).backward()
                    opt.step()
                with torch.no_grad():
                    acc.append((net(X_test).argmax(1) == y_test).float().mean().item())
            results[init].append(acc)
            print(init, seed, f"{acc[-1]:.3f}", flush=True)
    OUT.write_text(json.dumps({"seeds": list(SEEDS), "epochs": EPOCHS,
                               "torch": torch.__version__, "test_acc": results}, indent=1)
                   + "\n")


if __name__ == "__main__":
    main()
