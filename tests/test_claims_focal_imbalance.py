"""Claims of chapter 4's class-weight section and chapter 6's focal-loss section (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional


def test_weighted_mean_is_the_mean_of_class_means():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(40, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 5, (40,), generator=g)
    y[:5] = torch.arange(5)                                  # every class present
    counts = torch.bincount(y, minlength=5).double()
    w = len(y) / (5 * counts)
    per = F.cross_entropy(z, y, reduction="none")
    got = F.cross_entropy(z, y, weight=w)
    assert torch.isclose(got, (w[y] * per).sum() / w[y].sum())
    assert torch.isclose(got, torch.stack([per[y == k].mean() for k in range(5)]).mean())
    assert torch.isclose(got, F.cross_entropy(z, y, weight=3 * w))


def _rho(q, gamma):
    return (1 - q) ** gamma * (1 + gamma * q * -np.log(q) / (1 - q))


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
def test_focal_gradient_is_cross_entropy_gradient_times_rho(gamma):
    z = torch.linspace(-9, 9, 37, dtype=torch.float64, requires_grad=True)
    y = (torch.arange(37) % 2).double()
    z_t = torch.where(y == 1, z, -z)
    loss = -torch.exp(gamma * F.logsigmoid(-z_t)) * F.logsigmoid(z_t)
    grad, = torch.autograd.grad(loss.sum(), z)
    q_t = torch.sigmoid(z_t).detach().numpy()
    assert np.allclose(grad.numpy(), _rho(q_t, gamma) * (torch.sigmoid(z) - y).detach().numpy(),
                       rtol=1e-10)
    zc = 3 * torch.randn(5, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    zc.requires_grad_(True)
    yc = torch.tensor([0, 6, 2, 2, 4])
    lq = torch.log_softmax(zc, 1)[torch.arange(5), yc]
    grad, = torch.autograd.grad((-(1 - lq.exp()) ** gamma * lq).sum(), zc)
    ce = (torch.softmax(zc, 1) - F.one_hot(yc, 7)).detach().numpy()
    assert np.allclose(grad.numpy(), _rho(lq.exp().detach().numpy(), gamma)[:, None] * ce,
                       rtol=1e-9, atol=1e-15)


def test_focal_limits_easy_and_hard():
    for gamma in (1.0, 2.0, 5.0):
        assert np.isclose(_rho(0.999, gamma), (1 + gamma) * 1e-3 ** gamma, rtol=0.01)
        assert abs(_rho(1e-6, gamma) - 1) < 1e-4
    assert _rho(np.linspace(1e-4, 0.9, 9001), 2.0).max() > 1.1
