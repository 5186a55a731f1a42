"""Training on a CUDA device: the course's training code must give the CPU's results there.

Skipped, with the reason, on machines without a GPU (CI has none); run it on one with
``.venv/bin/python -m pytest -m gpu``.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from infoloss.device import digits_tensors, pick_device, seed_everything  # noqa: E402
from infoloss.mnistlike import mnist_like_tensors  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(),
                       reason="needs a CUDA device; torch sees none on this machine"),
]


def _train_mlp(device: torch.device) -> tuple[float, str]:
    """The digits MLP the chapters train, full-batch Adam; test accuracy and data device."""
    seed_everything(0)
    X, y, Xt, yt = digits_tensors(device)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                torch.nn.Linear(64, 10)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(200):
        loss = torch.nn.functional.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = (model(Xt).argmax(1) == yt).float().mean().item()
    return acc, X.device.type


def test_pick_device_chooses_cuda_when_present(monkeypatch):
    monkeypatch.delenv("INFOLOSS_DEVICE", raising=False)
    assert pick_device().type == "cuda"


def test_digits_training_on_cuda_matches_the_cpu():
    gpu_acc, where = _train_mlp(torch.device("cuda"))
    cpu_acc, _ = _train_mlp(torch.device("cpu"))
    assert where == "cuda"
    assert gpu_acc > 0.93, f"CUDA run reached only {gpu_acc:.3f}"
    assert abs(gpu_acc - cpu_acc) <= 0.02, (gpu_acc, cpu_acc)


def test_lenet_shaped_data_and_convolutions_run_on_cuda():
    X, y, Xt, yt = mnist_like_tensors(torch.device("cuda"))
    assert X.is_cuda and X.shape[1:] == (1, 28, 28)
    conv = torch.nn.Conv2d(1, 6, 5, padding=2).cuda()
    out = conv(X[:64])
    assert out.shape == (64, 6, 28, 28) and torch.isfinite(out).all()
