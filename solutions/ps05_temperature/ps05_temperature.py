# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Problem set 5: temperature
#
# Chapter 8 of the book. You will fit a temperature for calibration, measure calibration
# with the expected calibration error, write the distillation loss in PyTorch, and train a
# classifier with bounded logits with and without a temperature. Task 5 adds a proper
# scoring rule, the Brier score, and an ECE with equal-mass bins.
#
# * Replace every `raise NotImplementedError()` with your code. Do not rename the functions.
# * The test cells under each task check your work as you go; more tests, hidden here,
#   grade it (edge cases, bin edges, gradients, other seeds). Passing the visible tests is
#   a good sign, not a guarantee.
# * Training runs on the GPU when there is one and on the CPU otherwise
#   (`infoloss.device.pick_device()`); the whole notebook runs in well under a minute on a CPU.
# * Restart the kernel and run all cells before you submit.
#
# Points: 40 in all (38 autograded, 2 graded by hand).

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from infoloss.device import digits_tensors, pick_device, seed_everything, use_one_cpu_thread
from infoloss.testing import check_close, check_raises

use_one_cpu_thread()  # tiny models: one CPU thread is the fastest setting

# %% [markdown] nbgrader={"grade": false, "grade_id": "task1", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. Temperature scaling (6 points)
#
# Implement `fit_temperature(logits, labels)`: the temperature $T$ that minimises the mean
# negative log-likelihood of the labels under $\mathrm{softmax}(\mathbf{z} / T)$,
#
# $$\mathrm{NLL}(T) = -\frac1N \sum_{n=1}^N \log \mathrm{softmax}(\mathbf{z}_n / T)_{y_n}.$$
#
# * `logits`: array-like of shape `(N, C)`; `labels`: integers of shape `(N,)` in `0..C-1`.
# * Search $T$ in $[0.01, 100]$ and return it as a Python `float`, accurate to a relative
#   `1e-3`. If the NLL keeps falling towards one end of the range, return that end.
# * Hint: as a function of $\log T$ the NLL has a single minimum, so a bounded scalar
#   search on $\log T$ works (`scipy.optimize.minimize_scalar(..., method="bounded")`, or
#   your own golden-section search). Compute log-probabilities stably
#   (`scipy.special.log_softmax`).
# * Raise `ValueError` (saying what is wrong) when `logits` is not 2-D or empty, holds
#   NaN or infinity, or when `labels` has the wrong shape or a value outside `0..C-1`.

# %% nbgrader={"grade": false, "grade_id": "fit_temperature", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fit_temperature(logits, labels):
    """Temperature in [0.01, 100] minimising the mean NLL of softmax(logits / T)."""
    ### BEGIN SOLUTION
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(f"logits must have shape (N, C) with N, C >= 1; got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite (no NaN or infinity)")
    if y.shape != (z.shape[0],):
        raise ValueError(f"labels must have shape ({z.shape[0]},) to match logits; got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or np.any(y < 0) or np.any(y >= z.shape[1]):
        raise ValueError(f"labels must be integers in 0..{z.shape[1] - 1}")
    rows = np.arange(len(y))

    def nll(log_t):
        return -log_softmax(z / math.exp(log_t), axis=1)[rows, y].mean()

    lo, hi = math.log(0.01), math.log(100.0)
    best = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-7})
    log_t = best.x
    for end in (lo, hi):  # the bounded search never returns an end exactly
        if nll(end) <= nll(log_t):
            log_t = end
    return float(math.exp(log_t))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fit_temperature", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
# An over-confident model: the right class wins 80% of the time, but with huge margins.
_rng = np.random.default_rng(0)
_y = _rng.integers(0, 5, size=2000)
_z = _rng.normal(size=(2000, 5))
_z[np.arange(2000), np.where(_rng.random(2000) < 0.8, _y, (_y + 1) % 5)] += 4.0
_T = fit_temperature(5 * _z, _y)  # the same logits made 5 times too sharp
assert isinstance(_T, float), f"fit_temperature should return a float, got {type(_T)}"
assert 2.0 < _T < 10.0, f"logits 5x too sharp should need T well above 1; got T = {_T}"
_Tz = fit_temperature(_z, _y)
check_close(_T, 5 * _Tz, rtol=3e-3, what="T of 5 * logits vs 5 * T of logits")
check_raises(ValueError, fit_temperature, np.zeros(5), np.zeros(5, dtype=int), match="shape")
### BEGIN HIDDEN TESTS
from scipy.special import log_softmax as _log_softmax


def _ref_temperature(z, y):
    """Brute force: a dense grid on log T, then a fine grid around the best point."""
    z = np.asarray(z, dtype=np.float64)
    rows = np.arange(len(y))
    grid = np.linspace(np.log(0.01), np.log(100.0), 4001)
    nlls = [-_log_softmax(z / np.exp(g), axis=1)[rows, y].mean() for g in grid]
    i = int(np.argmin(nlls))
    fine = np.linspace(grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)], 2001)
    nlls = [-_log_softmax(z / np.exp(g), axis=1)[rows, y].mean() for g in fine]
    return float(np.exp(fine[int(np.argmin(nlls))]))


for _scale, _seed in [(1.0, 1), (7.0, 2), (0.3, 3)]:
    _r = np.random.default_rng(_seed)
    _yy = _r.integers(0, 10, size=500)
    _zz = _r.normal(size=(500, 10)) * 2
    _zz[np.arange(500), _yy] += _r.normal(3.0, 2.0, size=500)
    _zz *= _scale
    check_close(fit_temperature(_zz, _yy), _ref_temperature(_zz, _yy), rtol=2e-3,
                what=f"T vs brute force (scale {_scale})")
# Under-confident logits need T < 1.
_zu = _z / 10
check_close(fit_temperature(_zu, _y), _ref_temperature(_zu, _y), rtol=2e-3, what="T < 1 case")
assert fit_temperature(_zu, _y) < 1.0
# Every prediction right: the NLL falls as T -> 0, so the lower end 0.01 is returned.
_zs = np.eye(4)[[0, 1, 2, 3, 1]] * 3.0
check_close(fit_temperature(_zs, np.array([0, 1, 2, 3, 1])), 0.01, rtol=1e-3,
            what="T when every prediction is right (lower end)")
# Every prediction wrong (label = smallest logit): NLL falls as T -> infinity.
_zw = _rng.normal(size=(50, 3))
check_close(fit_temperature(_zw, np.argmin(_zw, axis=1)), 100.0, rtol=1e-3,
            what="T when every label has the smallest logit (upper end)")
# float32 input and lists are accepted.
check_close(fit_temperature(_z.astype(np.float32), _y), _Tz, rtol=2e-3, what="float32 logits")
check_close(fit_temperature(_z[:3].tolist(), _y[:3].tolist()), _ref_temperature(_z[:3], _y[:3]),
            rtol=2e-3, what="lists")
check_raises(ValueError, fit_temperature, _z, _y[:-1], match="shape")
check_raises(ValueError, fit_temperature, _z, _y + 5, match="label")
check_raises(ValueError, fit_temperature, np.full((2, 3), np.nan), np.array([0, 1]), match="finite")
check_raises(ValueError, fit_temperature, np.zeros((0, 3)), np.zeros(0, dtype=int))
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task2", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. Expected calibration error (6 points)
#
# Implement `expected_calibration_error(probs, labels, n_bins=15)`. For each row the
# *confidence* is the largest probability and the *prediction* its index (ties: the lowest
# index, as `np.argmax`). Split $[0, 1]$ into $M$ = `n_bins` equal-width bins
# $B_1, \dots, B_M$; bin $B_m$ holds the confidences $c$ with $\frac{m-1}{M} < c \le \frac{m}{M}$
# (open on the left, closed on the right; use the edges `np.linspace(0, 1, n_bins + 1)`). Then
#
# $$\mathrm{ECE} = \sum_{m=1}^{M} \frac{|B_m|}{N}\,\bigl|\mathrm{acc}(B_m) - \mathrm{conf}(B_m)\bigr|,$$
#
# where $\mathrm{acc}(B_m)$ and $\mathrm{conf}(B_m)$ are the fraction of correct predictions
# and the mean confidence in bin $B_m$; empty bins add nothing.
#
# * Return a Python `float` in $[0, 1]$.
# * Every row must be a probability distribution: entries in $[0, 1]$, summing to 1 within
#   `1e-6`. So a confidence is never below $1/C$, and every sample lands in exactly one bin.
# * Raise `ValueError` for a `probs` that is not 2-D or empty, a row that is not a
#   distribution (an all-zero row included), labels of the wrong shape or out of range,
#   or an `n_bins` that is not a positive integer.

# %% nbgrader={"grade": false, "grade_id": "expected_calibration_error", "locked": false, "schema_version": 3, "solution": true, "task": false}
def expected_calibration_error(probs, labels, n_bins=15):
    """ECE with n_bins equal-width bins (lo, hi] over the top-class confidence."""
    ### BEGIN SOLUTION
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels)
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}")
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"probs must have shape (N, C) with N, C >= 1; got shape {p.shape}")
    if np.any(np.isnan(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("probabilities must lie in [0, 1] (no NaN)")
    if np.any(np.abs(p.sum(axis=1) - 1.0) > 1e-6):
        raise ValueError("each row of probs must sum to 1 (a distribution over the classes)")
    if y.shape != (p.shape[0],):
        raise ValueError(f"labels must have shape ({p.shape[0]},); got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or np.any(y < 0) or np.any(y >= p.shape[1]):
        raise ValueError(f"labels must be integers in 0..{p.shape[1] - 1}")
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        in_bin = (conf > lo) & (conf <= hi)
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
    return float(total)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_expected_calibration_error", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
# Always 100% sure, right 7 times out of 10: the gap is 0.3.
_p = np.eye(3)[[0, 1, 2, 0, 1, 2, 0, 1, 2, 0]]
_labels = np.array([0, 1, 2, 0, 1, 2, 0, 2, 0, 1])
_e = expected_calibration_error(_p, _labels)
assert isinstance(_e, float), f"ECE should be a float, got {type(_e)}"
check_close(_e, 0.3, rtol=1e-12, what="ECE of a sure model right 70% of the time")
# One bin, 60% confident and right 3 times out of 5: calibrated.
_p2 = np.tile([0.6, 0.4], (5, 1))
check_close(expected_calibration_error(_p2, np.array([0, 0, 0, 1, 1]), n_bins=1), 0.0,
            atol=1e-12, what="ECE of a calibrated single bin")
check_raises(ValueError, expected_calibration_error, [[0.5, 0.6]], [0], match="sum")
### BEGIN HIDDEN TESTS
def _ref_ece(p, y, n):
    conf, pred = p.max(1), p.argmax(1)
    edges = np.linspace(0, 1, n + 1)
    out = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            out += m.sum() / len(p) * abs((pred[m] == y[m]).mean() - conf[m].mean())
    return out


# Bin edges are (lo, hi]: confidences exactly on an edge belong to the lower bin.
# Four bins of width 1/4; confidences 0.25 (uniform over 4 classes), 0.5, 0.75 and 1.
_pe = np.array([[0.25] * 4, [0.5, 0.5, 0, 0], [0.75, 0.25, 0, 0], [0.5, 0.25, 0.25, 0],
                [1.0, 0, 0, 0], [0, 0.75, 0.25, 0], [0.3, 0.7, 0, 0]])
_ye = np.array([0, 0, 1, 0, 0, 1, 1])
check_close(expected_calibration_error(_pe, _ye, n_bins=4), _ref_ece(_pe, _ye, 4), rtol=1e-12,
            what="ECE with confidences on the bin edges (n_bins=4)")
check_close(expected_calibration_error(_pe, _ye, n_bins=2), _ref_ece(_pe, _ye, 2), rtol=1e-12,
            what="ECE with confidences on the bin edges (n_bins=2)")
# Ties go to the lowest index: [0.5, 0.5] with label 1 is a wrong prediction.
check_close(expected_calibration_error(np.array([[0.5, 0.5]]), np.array([1]), n_bins=2), 0.5,
            rtol=1e-12, what="a tie predicts the lowest index")
# A row of zeros has confidence 0 but is not a distribution: reject, do not drop it.
check_raises(ValueError, expected_calibration_error, np.array([[0.0, 0.0], [1.0, 0.0]]),
             np.array([0, 0]), match="sum")
# Random model outputs against the reference, default 15 bins and others.
_r = np.random.default_rng(5)
_pr = _r.dirichlet(np.full(10, 0.2), size=3000)
_yr = np.where(_r.random(3000) < 0.7, _pr.argmax(1), _r.integers(0, 10, 3000))
for _n in (15, 10, 7, 1, 40):
    check_close(expected_calibration_error(_pr, _yr, n_bins=_n), _ref_ece(_pr, _yr, _n),
                rtol=1e-10, what=f"ECE with {_n} bins")
check_close(expected_calibration_error(_pr, _yr), _ref_ece(_pr, _yr, 15), rtol=1e-10,
            what="ECE with the default n_bins")
# Labels drawn from the model's own probabilities: calibrated, so the ECE is small.
_pc = _r.dirichlet(np.ones(3), size=100_000)
_yc = (_r.random(100_000)[:, None] > np.cumsum(_pc, axis=1)).sum(axis=1)
assert expected_calibration_error(_pc, _yc) < 0.01, "a calibrated model should have ECE < 0.01"
check_close(expected_calibration_error(_pr.astype(np.float32), _yr), _ref_ece(
    _pr.astype(np.float32).astype(np.float64), _yr, 15), rtol=1e-6, what="float32 probs")
check_raises(ValueError, expected_calibration_error, _pr, _yr[:-1], match="shape")
check_raises(ValueError, expected_calibration_error, _pr, _yr + 10, match="label")
check_raises(ValueError, expected_calibration_error, [[1.2, -0.2]], [0])
check_raises(ValueError, expected_calibration_error, _pr, _yr, n_bins=0, match="n_bins")
check_raises(ValueError, expected_calibration_error, _pr, _yr, n_bins=2.5, match="n_bins")
check_raises(ValueError, expected_calibration_error, np.ones(3) / 3, [0], match="shape")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task3", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. The distillation loss (6 points)
#
# Implement, in PyTorch, `distillation_loss(student_logits, teacher_logits, labels, T, alpha)`:
#
# $$\alpha\, T^2\, \frac1N\sum_{n} \mathrm{KL}\bigl(\mathrm{softmax}(\mathbf{t}_n/T)\,\Vert\,
# \mathrm{softmax}(\mathbf{s}_n/T)\bigr) + (1 - \alpha)\, \mathrm{CE}(\mathbf{s}, y),$$
#
# with $\mathbf{s}$ the student's and $\mathbf{t}$ the teacher's logits (shape `(N, C)`),
# the KL (the divergence of the student's softened distribution from the teacher's) summed
# over classes and averaged over the batch, and CE the usual mean
# cross-entropy of the student's logits at temperature 1.
#
# * Return a 0-d tensor with the dtype and device of `student_logits`, differentiable with
#   respect to `student_logits`. The teacher is fixed: no gradient may flow into
#   `teacher_logits`.
# * Stay finite for logits as large as $\pm 10^4$ (work with `log_softmax`).
# * Raise `ValueError` for `T <= 0`, `alpha` outside $[0, 1]$, or logits of different shapes
#   (or not 2-D), or labels that do not match.

# %% nbgrader={"grade": false, "grade_id": "distillation_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def distillation_loss(student_logits, teacher_logits, labels, T, alpha):
    """alpha * T^2 * KL(teacher_T || student_T) (batch mean) + (1 - alpha) * CE(student)."""
    ### BEGIN SOLUTION
    if not T > 0:
        raise ValueError(f"temperature T must be positive; got {T!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1]; got {alpha!r}")
    if student_logits.ndim != 2 or student_logits.shape != teacher_logits.shape:
        raise ValueError("student and teacher logits must both have shape (N, C); got "
                         f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}")
    if labels.shape != (student_logits.shape[0],):
        raise ValueError(f"labels must have shape ({student_logits.shape[0]},); "
                         f"got {tuple(labels.shape)}")
    log_q = F.log_softmax(student_logits / T, dim=1)
    log_p = F.log_softmax(teacher_logits.detach().to(student_logits.dtype) / T, dim=1)
    kl = (log_p.exp() * (log_p - log_q)).sum(dim=1).mean()
    ce = F.cross_entropy(student_logits, labels)
    return alpha * T**2 * kl + (1 - alpha) * ce
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_distillation_loss", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
_s = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]], dtype=torch.float64, requires_grad=True)
_t = torch.tensor([[3.0, 1.0, -2.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
_lab = torch.tensor([0, 1])
_loss = distillation_loss(_s, _t, _lab, T=1.0, alpha=0.0)
check_close(_loss, F.cross_entropy(_s, _lab), rtol=1e-12, what="alpha = 0 is plain CE")
_loss = distillation_loss(_s, _t, _lab, T=2.0, alpha=1.0)
_kl = F.kl_div(F.log_softmax(_s / 2, 1), F.log_softmax(_t / 2, 1), reduction="batchmean",
               log_target=True)
check_close(_loss, 4 * _kl, rtol=1e-12, what="alpha = 1, T = 2: 4 * KL")
assert _loss.ndim == 0, f"the loss should be a 0-d tensor, got shape {tuple(_loss.shape)}"
### BEGIN HIDDEN TESTS
def _ref_kd(s, t, y, T, a):
    s64, t64 = s.double(), t.double()
    p = torch.softmax(t64 / T, 1)
    kl = (p * (torch.log_softmax(t64 / T, 1) - torch.log_softmax(s64 / T, 1))).sum(1).mean()
    return a * T * T * kl + (1 - a) * F.cross_entropy(s64, y)


_g = torch.Generator().manual_seed(7)
for _T, _a, _n, _c in [(1.0, 0.5, 16, 10), (4.0, 0.9, 8, 5), (20.0, 0.3, 32, 10), (0.5, 0.7, 4, 3)]:
    _ss = (3 * torch.randn(_n, _c, generator=_g, dtype=torch.float64)).requires_grad_(True)
    _tt = 3 * torch.randn(_n, _c, generator=_g, dtype=torch.float64)
    _yy = torch.randint(0, _c, (_n,), generator=_g)
    _got = distillation_loss(_ss, _tt, _yy, T=_T, alpha=_a)
    _want = _ref_kd(_ss, _tt, _yy, _T, _a)
    assert _got.dtype == torch.float64, f"float64 logits should give a float64 loss, got {_got.dtype}"
    check_close(_got, _want, rtol=1e-10, what=f"loss at T={_T}, alpha={_a}")
    (_g_got,) = torch.autograd.grad(_got, _ss)
    (_g_want,) = torch.autograd.grad(_want, _ss)
    check_close(_g_got, _g_want, rtol=1e-8, atol=1e-14, what=f"gradient at T={_T}, alpha={_a}")
# alpha = 1 ignores the labels; alpha = 0 ignores the teacher.
_s2 = torch.randn(6, 4, generator=_g)
_t2 = torch.randn(6, 4, generator=_g)
_y2 = torch.randint(0, 4, (6,), generator=_g)
check_close(distillation_loss(_s2, _t2, _y2, 3.0, 1.0), distillation_loss(_s2, _t2, (_y2 + 1) % 4,
            3.0, 1.0), rtol=1e-6, what="alpha = 1 does not depend on the labels")
check_close(distillation_loss(_s2, _t2, _y2, 3.0, 0.0), distillation_loss(_s2, -_t2, _y2, 3.0, 0.0),
            rtol=1e-6, what="alpha = 0 does not depend on the teacher")
check_close(distillation_loss(_s2, _s2.clone(), _y2, 5.0, 1.0), 0.0, atol=1e-6,
            what="student = teacher gives zero soft loss")
assert distillation_loss(_s2, _t2, _y2, 3.0, 0.5).dtype == torch.float32, "float32 logits, float32 loss"
# The teacher is fixed: no gradient flows into it.
_tg = _t2.clone().requires_grad_(True)
_sg = _s2.clone().requires_grad_(True)
distillation_loss(_sg, _tg, _y2, 2.0, 0.5).backward()
assert _tg.grad is None or torch.all(_tg.grad == 0), "no gradient may flow into teacher_logits"
assert _sg.grad is not None and torch.isfinite(_sg.grad).all()
# Huge logits stay finite.
_big = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], requires_grad=True)
_lb = distillation_loss(_big, torch.tensor([[-1e4, 1e4, 0.0], [0.0, 1e4, -1e4]]),
                        torch.tensor([1, 0]), 2.0, 0.5)
assert torch.isfinite(_lb), f"loss with logits of 1e4 should be finite, got {_lb}"
check_close(_lb, _ref_kd(_big, torch.tensor([[-1e4, 1e4, 0.0], [0.0, 1e4, -1e4]]),
                         torch.tensor([1, 0]), 2.0, 0.5), rtol=1e-5, what="loss at logits 1e4")
check_raises(ValueError, distillation_loss, _s2, _t2, _y2, 0.0, 0.5, match="T")
check_raises(ValueError, distillation_loss, _s2, _t2, _y2, -1.0, 0.5, match="T")
check_raises(ValueError, distillation_loss, _s2, _t2, _y2, 2.0, 1.5, match="alpha")
check_raises(ValueError, distillation_loss, _s2, _t2[:, :3], _y2, 2.0, 0.5, match="shape")
check_raises(ValueError, distillation_loss, _s2, _t2, _y2[:3], 2.0, 0.5, match="label")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task4", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. A classifier with bounded logits (6 autograded points + 2 by hand)
#
# A cosine classifier scores class $c$ by the cosine of the angle between the feature
# vector $\mathbf{f}$ and a learned class vector $\mathbf{w}_c$:
# $z_c = \frac{\mathbf{f}\cdot\mathbf{w}_c}{\lVert\mathbf{f}\rVert\,\lVert\mathbf{w}_c\rVert}
# \in [-1, 1]$. Its logits are bounded, and so is how low its cross-entropy can go.
#
# (a) Implement `cosine_logits(features, class_weights)`: features of shape `(N, d)`,
# class vectors of shape `(C, d)`, result of shape `(N, C)` with the dtype of `features`.
# Normalise each row to unit length, dividing by `max(norm, 1e-12)` (so a zero row gives
# cosines of 0, not NaN), as `F.normalize` does. Raise `ValueError` when the inputs are not
# 2-D or their last dimensions differ.
#
# (b) Implement `train_bounded_classifier(T, steps=300, lr=0.01, seed=0)`:
# `seed_everything(seed)`, then build `BoundedNet()` (given below) on `pick_device()`, load
# the digits with `digits_tensors(device)`, and take `steps` full-batch Adam steps (learning
# rate `lr`) on `F.cross_entropy(model(X_train) / T, y_train)`. Return a dict with
#
# * `"losses"`: the training loss before each step, a list of `steps` Python floats;
# * `"test_accuracy"`: the accuracy of the trained model on the test split (a float);
# * `"test_confidence"`: the mean over the test split of the largest probability of
#   `softmax(model(X_test) / T)` (a float).
#
# Raise `ValueError` for `T <= 0`.

# %% nbgrader={"grade": false, "grade_id": "bounded_classifier", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cosine_logits(features, class_weights):
    """Cosine similarity of every feature row with every class vector: shape (N, C)."""
    ### BEGIN SOLUTION
    if features.ndim != 2 or class_weights.ndim != 2:
        raise ValueError("features and class_weights must be 2-D: (N, d) and (C, d)")
    if features.shape[1] != class_weights.shape[1]:
        raise ValueError(f"feature size {features.shape[1]} does not match the class vectors' "
                         f"{class_weights.shape[1]}")
    f = features / features.norm(dim=1, keepdim=True).clamp_min(1e-12)
    w = class_weights.to(features.dtype)
    w = w / w.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return f @ w.T
    ### END SOLUTION


def train_bounded_classifier(T, steps=300, lr=0.01, seed=0):
    """Train BoundedNet on the digits with CE on logits / T; losses and test metrics."""
    ### BEGIN SOLUTION
    if not T > 0:
        raise ValueError(f"temperature T must be positive; got {T!r}")
    seed_everything(seed)
    device = pick_device()
    X_train, y_train, X_test, y_test = digits_tensors(device)
    model = BoundedNet().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(X_train) / T, y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        z = model(X_test) / T
        acc = (z.argmax(dim=1) == y_test).float().mean().item()
        conf = torch.softmax(z, dim=1).max(dim=1).values.mean().item()
    return {"losses": losses, "test_accuracy": acc, "test_confidence": conf}
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "bounded_net", "locked": true, "schema_version": 3, "solution": false, "task": false}
class BoundedNet(nn.Module):
    """A small MLP feature extractor followed by a cosine classifier (logits in [-1, 1])."""

    def __init__(self, hidden=64, dim=32, num_classes=10):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.class_weights = nn.Parameter(torch.randn(num_classes, dim))

    def forward(self, x):
        return cosine_logits(self.body(x), self.class_weights)


def normface_bound(scale, num_classes=10):
    """NormFace's floor on the mean CE of a balanced data set when logits = scale * cosine."""
    c = num_classes
    return math.log1p((c - 1) * math.exp(-c / (c - 1) * scale))


# %% nbgrader={"grade": false, "grade_id": "show_bounded", "locked": true, "schema_version": 3, "solution": false, "task": false}
for _temp in (1.0, 0.1):
    _res = train_bounded_classifier(_temp)
    print(f"T = {_temp}: final loss {_res['losses'][-1]:.4f} (floor {normface_bound(1 / _temp):.2e}), "
          f"test accuracy {_res['test_accuracy']:.3f}, mean confidence {_res['test_confidence']:.3f}")

# %% nbgrader={"grade": true, "grade_id": "test_bounded_classifier", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
_f = torch.tensor([[3.0, 4.0], [0.0, -2.0]])
_w = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
check_close(cosine_logits(_f, _w), [[0.6, 0.8, -0.7 * 2**0.5], [0.0, -1.0, 2**-0.5]], rtol=1e-6,
            what="cosine_logits of a small example")
_r1 = train_bounded_classifier(1.0, steps=50)
assert len(_r1["losses"]) == 50, "one loss per step"
assert min(_r1["losses"]) > 1.3, "with T = 1 the cosine classifier's loss cannot fall below ~1.38"
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(11)
_ff = torch.randn(20, 7, generator=_gen, dtype=torch.float64) * 1e3
_ww = torch.randn(4, 7, generator=_gen, dtype=torch.float64)
_ref = (_ff / _ff.norm(dim=1, keepdim=True)) @ (_ww / _ww.norm(dim=1, keepdim=True)).T
_got = cosine_logits(_ff, _ww)
assert _got.dtype == torch.float64, f"cosine_logits should keep float64, got {_got.dtype}"
check_close(_got, _ref, rtol=1e-10, atol=1e-14, what="cosine_logits vs reference")
check_close(cosine_logits(_ff * 1e-6, _ww * 50), _ref, rtol=1e-8, atol=1e-12,
            what="cosine_logits is scale invariant")
assert _got.abs().max() <= 1 + 1e-12
_z0 = cosine_logits(torch.zeros(2, 7, dtype=torch.float64), _ww)
check_close(_z0, np.zeros((2, 4)), atol=0, what="a zero feature row gives cosines of 0")
_fg = torch.randn(3, 7, generator=_gen, dtype=torch.float64, requires_grad=True)
cosine_logits(_fg, _ww).sum().backward()
assert _fg.grad is not None and torch.isfinite(_fg.grad).all(), "cosine_logits must be differentiable"
check_raises(ValueError, cosine_logits, _ff, _ww[:, :5])
check_raises(ValueError, train_bounded_classifier, 0.0, match="T")
# Another seed than the visible run: T = 0.1 reaches what T = 1 cannot.
_hot = train_bounded_classifier(1.0, seed=3)
_cold = train_bounded_classifier(0.1, seed=3)
_floor = normface_bound(1.0)
assert len(_hot["losses"]) == 300 and all(isinstance(v, float) for v in _hot["losses"])
assert min(_hot["losses"]) > _floor - 0.02, (
    f"with T = 1 the loss went to {min(_hot['losses']):.3f}, below the floor {_floor:.3f}: "
    "are the logits really cosines?")
assert _cold["losses"][-1] < 0.05, f"T = 0.1 should drive the loss near 0; got {_cold['losses'][-1]}"
assert _cold["losses"][0] > 1.5, "the first loss is measured before any step"
assert _cold["test_accuracy"] > 0.93, f"T = 0.1 test accuracy {_cold['test_accuracy']:.3f}"
assert _hot["test_accuracy"] > 0.8, f"T = 1 test accuracy {_hot['test_accuracy']:.3f}"
_cap = math.e / (math.e + 9 / math.e)  # the largest softmax probability cosines allow at T = 1
assert _hot["test_confidence"] <= _cap + 1e-6, "T = 1 confidence cannot exceed e / (e + 9/e)"
assert _cold["test_confidence"] > 0.9, f"T = 0.1 confidence {_cold['test_confidence']:.3f}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_bounded", "locked": true, "schema_version": 3, "solution": false, "task": false}
# (c) Compare the two runs printed above: the final losses, the test accuracies and the
# mean confidences. Which of the three does the temperature change a lot, and which hardly?
# Use the NormFace floor to explain why the loss with $T = 1$ stops where it does, and say
# what a reader of the training log from $T = 1$ alone would wrongly conclude (look at where
# the loss starts and where it stops). Write your answer in the cell below (2 points, graded
# by hand).

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_bounded", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# With T = 1 the loss stops at about 1.38, the NormFace floor
# log(1 + 9 exp(-10/9)) for cosine logits of scale 1: even perfect features cannot push the
# label's probability above about 0.45, so the loss cannot fall further. With T = 0.1 the
# scale is 10, the floor is about 1e-4, and the loss falls close to 0. Accuracy on the
# digits is about the same for both, because the argmax of the cosines does not depend on
# T; the confidence changes a lot (about 0.25 against about 0.97). Someone reading only the
# T = 1 log sees the loss fall from about ln 10 = 2.30 to 1.38 and stop: it is learning,
# but not converging, and they would go looking for a bug in the data or the network, when
# it is the logit scale, not the features, that stops the loss.
#
# Mark scheme: 1 point for reading the three numbers right (loss and confidence change,
# accuracy hardly), 1 point for the floor argument and the wrong conclusion.

# %% [markdown] nbgrader={"grade": false, "grade_id": "task5", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5. A proper score and a better calibration error (8 points)
#
# (a) Implement `brier_score(probs, labels)`, the multi-class Brier score
#
# $$\mathrm{BS} = \frac1N \sum_{n=1}^{N} \sum_{k=1}^{C} \bigl(q_{n,k} - [k = y_n]\bigr)^2,$$
#
# the mean over the examples of the squared distance between the forecast $q_n$ (row $n$
# of `probs`) and the one-hot vector of its label: twice chapter 6's $\ell_{\mathrm{MSE}}$.
# It is summed over the classes and **not** divided by $C$, so it lies in $[0, 2]$.
#
# * `probs`: array-like of shape `(N, C)`, each row a distribution: entries in $[0, 1]$,
#   summing to 1 within `1e-6`. `labels`: integers of shape `(N,)` in `0..C-1` (a float or
#   boolean array is not accepted). Lists are accepted too.
# * Compute in float64 (also for float32 `probs`) and return a Python `float`.
# * Raise `ValueError` with a message that names the problem: `probs` not 2-D or empty
#   ("shape"), an entry outside $[0, 1]$ or NaN ("probabilit..."), a row that does not sum
#   to 1 ("sum"), labels of the wrong shape ("shape"), labels that are not integers or out
#   of range ("label").

# %% nbgrader={"grade": false, "grade_id": "brier_score", "locked": false, "schema_version": 3, "solution": true, "task": false}
def brier_score(probs, labels):
    """Mean over rows of sum over classes of (q_k - [k = y])^2 (not divided by C)."""
    ### BEGIN SOLUTION
    p, y = _checked_distributions(probs, labels)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def _checked_distributions(probs, labels):
    """probs as float64 (N, C) rows of distributions and labels as integers in range."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"probs must have shape (N, C) with N, C >= 1; got shape {p.shape}")
    if np.any(np.isnan(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("probabilities must lie in [0, 1] (no NaN)")
    if np.any(np.abs(p.sum(axis=1) - 1.0) > 1e-6):
        raise ValueError("each row of probs must sum to 1 (a distribution over the classes)")
    if y.shape != (p.shape[0],):
        raise ValueError(f"labels must have shape ({p.shape[0]},) to match probs; got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or np.any(y < 0) or np.any(y >= p.shape[1]):
        raise ValueError(f"labels must be integers in 0..{p.shape[1] - 1}")
    return p, y
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_brier_score", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# A sure and right forecast costs 0; a sure and wrong one 2 (1 on the label, 1 elsewhere).
_bs = brier_score(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), np.array([0, 2]))
assert isinstance(_bs, float), f"brier_score should return a float, got {type(_bs)}"
check_close(_bs, 1.0, rtol=1e-12, what="mean of 0 (sure, right) and 2 (sure, wrong)")
# The uniform forecast over C classes scores 1 - 1/C whatever the label: summed, not averaged.
check_close(brier_score(np.full((4, 5), 0.2), np.array([0, 1, 4, 4])), 0.8, rtol=1e-12,
            what="uniform forecast over 5 classes (1 - 1/C, not divided by C)")
check_raises(ValueError, brier_score, [[0.5, 0.6]], [0], match="sum")
### BEGIN HIDDEN TESTS
def _ref_brier(p, y):
    p = np.asarray(p, dtype=np.float64)
    return float(np.mean([sum((p[n, k] - (k == y[n])) ** 2 for k in range(p.shape[1]))
                          for n in range(len(p))]))


_r = np.random.default_rng(21)
for _n, _c, _a in ((1, 2, 1.0), (7, 3, 0.3), (500, 10, 0.5), (64, 100, 0.1)):
    _pb = _r.dirichlet(np.full(_c, _a), size=_n)
    _yb = _r.integers(0, _c, size=_n)
    check_close(brier_score(_pb, _yb), _ref_brier(_pb, _yb), rtol=1e-12,
                what=f"Brier score of {_n} forecasts over {_c} classes")
# Two classes: twice the binary Brier score (q - y)^2 of class 1.
_q1 = _r.random(50)
_y1 = (_r.random(50) < 0.5).astype(int)
check_close(brier_score(np.stack([1 - _q1, _q1], 1), _y1), 2 * np.mean((_q1 - _y1) ** 2),
            rtol=1e-12, what="two classes: twice the binary Brier score")
# Proper: the expected score under the truth p is lowest at q = p, ||p - q||^2 + 1 - ||p||^2.
_pt = np.array([0.6, 0.3, 0.1])
for _qf in (np.array([0.6, 0.3, 0.1]), np.array([1.0, 0, 0]), np.array([0.5, 0.3, 0.2])):
    _exp = sum(_pt[k] * brier_score(_qf[None], np.array([k])) for k in range(3))
    check_close(_exp, ((_pt - _qf) ** 2).sum() + 1 - (_pt ** 2).sum(), rtol=1e-12,
                what="expected Brier score = ||p - q||^2 + 1 - ||p||^2")
# float32, lists, a zero probability on the label, labels of another integer dtype.
_pf = _r.dirichlet(np.ones(4), size=30).astype(np.float32)
_yf = _r.integers(0, 4, size=30)
check_close(brier_score(_pf, _yf), _ref_brier(_pf.astype(np.float64), _yf), rtol=1e-12,
            what="float32 probs, computed in float64")
check_close(brier_score(_pf.tolist(), _yf.tolist()), _ref_brier(_pf.astype(np.float64), _yf),
            rtol=1e-12, what="lists")
check_close(brier_score(np.array([[0.0, 0.25, 0.75]]), np.array([0], dtype=np.uint8)),
            1 + 0.25 ** 2 + 0.75 ** 2, rtol=1e-12, what="zero probability on the label")
check_raises(ValueError, brier_score, np.full(3, 1 / 3), [0], match="shape")
check_raises(ValueError, brier_score, np.zeros((0, 3)), np.zeros(0, dtype=int), match="shape")
check_raises(ValueError, brier_score, [[1.5, -0.5]], [0], match="probabilit")
check_raises(ValueError, brier_score, [[np.nan, 1.0]], [1], match="probabilit")
check_raises(ValueError, brier_score, [[0.0, 0.0]], [1], match="sum")
check_raises(ValueError, brier_score, _pf, _yf[:-1], match="shape")
check_raises(ValueError, brier_score, _pf, _yf + 4, match="label")
check_raises(ValueError, brier_score, _pf, -1 - _yf, match="label")
check_raises(ValueError, brier_score, _pf, _yf.astype(float), match="label")
check_raises(ValueError, brier_score, [[0.5, 0.5], [1.0, 0.0]], np.array([True, False]),
             match="label")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task5b", "locked": true, "schema_version": 3, "solution": false, "task": false}
# (b) Implement `ece_equal_mass(probs, labels, n_bins=15)`: the expected calibration error
# of task 2 with **equal-mass** bins instead of equal-width ones. Confidence and prediction
# are as in task 2 (largest probability; ties to the lowest index). With $c_1, \dots, c_N$
# the confidences and $M$ = `n_bins`, the bin edges are
#
# ```python
# edges = np.quantile(conf, np.linspace(0, 1, n_bins + 1))   # NumPy's default "linear" method
# ```
#
# $b_0 \le b_1 \le \dots \le b_M$, and the bins are $B_1 = [b_0, b_1]$ (closed on both
# sides) and $B_m = (b_{m-1}, b_m]$ for $m = 2, \dots, M$ (open on the left, closed on the
# right). So tied confidences always share a bin, some bins can be empty (when edges
# coincide), and every confidence lands in exactly one bin. The ECE is the formula of task 2,
# $\sum_m \frac{|B_m|}{N}\,|\mathrm{acc}(B_m) - \mathrm{conf}(B_m)|$, over the non-empty
# bins; empty bins add nothing.
#
# * Return a Python `float` in $[0, 1]$, computed in float64.
# * Raise `ValueError` for the same problems as task 2 (and with the same words in the
#   message: "shape", "probabilit...", "sum", "label", "n_bins").

# %% nbgrader={"grade": false, "grade_id": "ece_equal_mass", "locked": false, "schema_version": 3, "solution": true, "task": false}
def ece_equal_mass(probs, labels, n_bins=15):
    """ECE with bin edges at the quantiles of the confidences: [e0, e1], then (lo, hi]."""
    ### BEGIN SOLUTION
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}")
    p, y = _checked_distributions(probs, labels)
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.quantile(conf, np.linspace(0.0, 1.0, n_bins + 1))
    total = 0.0
    for m in range(n_bins):
        lower = conf >= edges[0] if m == 0 else conf > edges[m]
        in_bin = lower & (conf <= edges[m + 1])
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
    return float(total)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_ece_equal_mass", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Six forecasts, two bins of three: edges at the confidences' quantiles 0.6, 0.75 and 0.9.
_pm = np.array([[0.6, 0.4], [0.65, 0.35], [0.7, 0.3], [0.8, 0.2], [0.85, 0.15], [0.9, 0.1]])
_ym = np.array([1, 1, 0, 0, 0, 0])
_em = ece_equal_mass(_pm, _ym, n_bins=2)
assert isinstance(_em, float), f"ece_equal_mass should return a float, got {type(_em)}"
# B_1 = [0.6, 0.75]: confidence 0.65, accuracy 1/3; B_2 = (0.75, 0.9]: confidence 0.85, accuracy 1.
check_close(_em, 0.5 * abs(1 / 3 - 0.65) + 0.5 * abs(1.0 - 0.85), rtol=1e-12,
            what="two equal-mass bins of three forecasts")
# Two equal-width bins would put all six into (0.5, 1]: |4/6 - 0.75|, a different answer.
assert abs(_em - abs(4 / 6 - 0.75)) > 0.1, "equal-mass bins, not equal-width ones"
check_raises(ValueError, ece_equal_mass, _pm, _ym, n_bins=0, match="n_bins")
### BEGIN HIDDEN TESTS
def _ref_ece_em(p, y, n):
    p = np.asarray(p, dtype=np.float64)
    conf, pred = p.max(1), p.argmax(1)
    e = np.quantile(conf, np.linspace(0, 1, n + 1))
    out = 0.0
    for m in range(n):
        lo_ok = (conf >= e[0]) if m == 0 else (conf > e[m])
        sel = lo_ok & (conf <= e[m + 1])
        if sel.any():
            out += sel.sum() / len(p) * abs((pred[sel] == y[sel]).mean() - conf[sel].mean())
    return out


# Edges on the confidences: N = 5, M = 4 puts the edges exactly at the sorted confidences,
# so (lo, hi] decides where each one goes (a closed-open rule gives another answer).
_p5 = np.array([[0.9, 0.1], [0.55, 0.45], [0.7, 0.3], [0.6, 0.4], [0.8, 0.2]])
_y5 = np.array([0, 1, 0, 1, 1])
check_close(ece_equal_mass(_p5, _y5, n_bins=4), _ref_ece_em(_p5, _y5, 4), rtol=1e-12,
            what="edges exactly on the confidences (N = 5, 4 bins)")
# B_1 = [0.55, 0.6] holds two wrong forecasts; 0.7 (right), 0.8 (wrong), 0.9 (right) one each.
check_close(ece_equal_mass(_p5, _y5, n_bins=4), 0.4 * 0.575 + 0.2 * 0.3 + 0.2 * 0.8 + 0.2 * 0.1,
            rtol=1e-12, what="(N = 5, 4 bins) by hand")
# Ties share a bin: four equal confidences, right twice; the bins they would split are empty.
_pt4 = np.array([[0.7, 0.3]] * 4 + [[0.95, 0.05]] * 2)
_yt4 = np.array([0, 0, 1, 1, 0, 0])
check_close(ece_equal_mass(_pt4, _yt4, n_bins=3), (4 * abs(0.5 - 0.7) + 2 * abs(1 - 0.95)) / 6,
            rtol=1e-12, what="tied confidences share one bin")
# All confidences equal: one bin holds everything.
check_close(ece_equal_mass(np.full((8, 4), 0.25), np.arange(8) % 4, n_bins=5), 0.0, atol=1e-15,
            what="a constant forecast (all edges equal)")
# A tie in a row predicts the lowest index.
check_close(ece_equal_mass(np.array([[0.5, 0.5]]), np.array([1]), n_bins=2), 0.5, rtol=1e-12,
            what="a tie predicts the lowest index")
# Model outputs against the reference: several n_bins, more bins than forecasts, the default.
_r = np.random.default_rng(22)
_pr = _r.dirichlet(np.full(10, 0.2), size=1500)
_yr = np.where(_r.random(1500) < 0.7, _pr.argmax(1), _r.integers(0, 10, 1500))
for _n in (15, 10, 7, 1, 40):
    check_close(ece_equal_mass(_pr, _yr, n_bins=_n), _ref_ece_em(_pr, _yr, _n), rtol=1e-10,
                what=f"equal-mass ECE with {_n} bins")
check_close(ece_equal_mass(_pr, _yr), _ref_ece_em(_pr, _yr, 15), rtol=1e-10,
            what="equal-mass ECE with the default n_bins")
check_close(ece_equal_mass(_pr[:6], _yr[:6], n_bins=20), _ref_ece_em(_pr[:6], _yr[:6], 20),
            rtol=1e-10, what="more bins than forecasts")
# Weighted by the bins' sizes: with unequal bins an unweighted mean differs.
_pu = np.array([[0.6, 0.4]] * 5 + [[0.9, 0.1], [0.95, 0.05]])
_yu = np.array([0, 0, 0, 1, 1, 0, 0])
check_close(ece_equal_mass(_pu, _yu, n_bins=2), _ref_ece_em(_pu, _yu, 2), rtol=1e-12,
            what="bins of unequal size are weighted by |B_m| / N")
# Calibrated forecasts give a small value; float32 and lists are accepted.
_pc = _r.dirichlet(np.ones(3), size=50_000)
_yc = (_r.random(50_000)[:, None] > np.cumsum(_pc, axis=1)).sum(axis=1)
assert ece_equal_mass(_pc, _yc) < 0.01, "a calibrated model should have equal-mass ECE < 0.01"
check_close(ece_equal_mass(_pr.astype(np.float32), _yr), _ref_ece_em(
    _pr.astype(np.float32).astype(np.float64), _yr, 15), rtol=1e-6, what="float32 probs")
check_close(ece_equal_mass(_pr[:9].tolist(), _yr[:9].tolist(), n_bins=3),
            _ref_ece_em(_pr[:9], _yr[:9], 3), rtol=1e-10, what="lists")
check_raises(ValueError, ece_equal_mass, _pr, _yr[:-1], match="shape")
check_raises(ValueError, ece_equal_mass, _pr, _yr + 10, match="label")
check_raises(ValueError, ece_equal_mass, [[1.2, -0.2]], [0], match="probabilit")
check_raises(ValueError, ece_equal_mass, [[0.3, 0.3, 0.3]], [0], match="sum")
check_raises(ValueError, ece_equal_mass, np.ones(3) / 3, [0], match="shape")
check_raises(ValueError, ece_equal_mass, _pr, _yr, n_bins=-2, match="n_bins")
check_raises(ValueError, ece_equal_mass, _pr, _yr, n_bins=2.5, match="n_bins")
check_raises(ValueError, ece_equal_mass, _pr, _yr, n_bins=True, match="n_bins")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task6_margins", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6. Additive-margin logits: CosFace and ArcFace (6 points)
#
# Chapter 8, "Margins on the sphere". From the cosines $\cos\theta_c$ of a cosine
# classifier, a scale $s$ and a margin $m$, the margin-based losses build logits that are
# $s\cos\theta_j$ for every wrong class $j \ne y$ and, for the true class only,
#
# * CosFace (`kind="cosface"`): $s\,(\cos\theta_y - m)$;
# * ArcFace (`kind="arcface"`): $s\,\cos\bigl(\min(\theta_y + m,\ \pi)\bigr)$ with
#   $\theta_y = \arccos(\cos\theta_y)$, where the cosine is first **clamped to $[-1, 1]$**
#   (a computed cosine can overshoot by rounding) and $\theta_y + m$ is **clipped at $\pi$**
#   (so the true-class logit is $-s$ when $\theta_y + m \ge \pi$).
#
# Implement `additive_margin_logits(cosines, labels, scale, margin, kind="cosface")` in
# PyTorch; `F.cross_entropy` of its result is the CosFace or ArcFace loss.
#
# * `cosines`: a floating-point tensor of shape `(N, C)`; `labels`: an integer tensor of
#   `N` class indices in `0 .. C-1`. Return a tensor of shape `(N, C)` with the dtype and
#   device of `cosines`, differentiable with respect to `cosines` (the gradient is checked
#   at cosines strictly inside $(-1, 1)$, away from the clip). Do not modify `cosines` in
#   place. With `margin=0` both kinds give `scale * cosines`.
# * Raise `ValueError` with a message that names the problem when `cosines` is not a 2-D
#   floating-point tensor or is empty ("cosines"), holds NaN or infinity ("finite"), when
#   the labels are not an integer tensor of shape `(N,)` with values in range ("label"),
#   when `scale` is not a finite number > 0 ("scale"), `margin` not a finite number
#   >= 0 ("margin"), or `kind` is neither `"cosface"` nor `"arcface"` ("kind").

# %% nbgrader={"grade": false, "grade_id": "additive_margin_logits", "locked": false, "schema_version": 3, "solution": true, "task": false}
def additive_margin_logits(cosines, labels, scale, margin, kind="cosface"):
    """scale * cosines, with CosFace's or ArcFace's additive margin on the true class."""
    ### BEGIN SOLUTION
    if kind not in ("cosface", "arcface"):
        raise ValueError(f"kind must be 'cosface' or 'arcface'; got {kind!r}")
    if not isinstance(cosines, torch.Tensor) or not cosines.is_floating_point() \
            or cosines.ndim != 2 or 0 in cosines.shape:
        raise ValueError("cosines must be a non-empty 2-D floating-point tensor (N, C)")
    if not torch.isfinite(cosines).all():
        raise ValueError("cosines must be finite (no NaN or infinity)")
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() \
            or labels.dtype == torch.bool or labels.shape != (cosines.shape[0],):
        raise ValueError(f"labels must be an integer tensor of shape ({cosines.shape[0]},)")
    if labels.min() < 0 or labels.max() >= cosines.shape[1]:
        raise ValueError(f"labels must lie in 0 .. {cosines.shape[1] - 1}")
    for name, value, ok in (("scale", scale, lambda v: v > 0), ("margin", margin, lambda v: v >= 0)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not math.isfinite(value) or not ok(value):
            raise ValueError(f"{name} must be a finite number {'> 0' if name == 'scale' else '>= 0'}; "
                             f"got {value!r}")
    true = F.one_hot(labels.to(cosines.device).long(), cosines.shape[1]).bool()
    if kind == "cosface":
        target = cosines - margin
    else:
        theta = torch.acos(cosines.clamp(-1.0, 1.0))
        target = torch.cos((theta + margin).clamp(max=math.pi))
    return scale * torch.where(true, target, cosines)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_additive_margin_logits", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
_am_cos = torch.tensor([[0.8, 0.6, -0.2], [0.0, 0.5, 1.0]], dtype=torch.float64)
_am_lab = torch.tensor([0, 2])
_am_cf = additive_margin_logits(_am_cos, _am_lab, scale=10.0, margin=0.3, kind="cosface")
check_close(_am_cf, [[5.0, 6.0, -2.0], [0.0, 5.0, 7.0]], rtol=1e-12,
            what="CosFace: s (cos - m) on the true class, s cos elsewhere")
_am_af = additive_margin_logits(_am_cos, _am_lab, scale=10.0, margin=0.3, kind="arcface")
check_close(_am_af, [[10 * math.cos(math.acos(0.8) + 0.3), 6.0, -2.0], [0.0, 5.0, 10 * math.cos(0.3)]],
            rtol=1e-12, what="ArcFace: s cos(theta + m) on the true class")
check_close(additive_margin_logits(_am_cos, _am_lab, 4.0, 0.0, kind="arcface"), 4 * _am_cos, rtol=1e-12,
            what="margin 0 gives scale * cosines")
check_raises(ValueError, additive_margin_logits, _am_cos, _am_lab, 10.0, 0.3, kind="sphereface",
             match="kind")
### BEGIN HIDDEN TESTS
def _am_ref_margin(c, y, s, m, kind):
    c = c.detach().double().cpu().numpy()
    out = s * c.copy()
    for i, label in enumerate(y.tolist()):
        if kind == "cosface":
            out[i, label] = s * (c[i, label] - m)
        else:
            theta = math.acos(min(1.0, max(-1.0, c[i, label])))
            out[i, label] = s * math.cos(min(theta + m, math.pi))
    return out


_am_g = torch.Generator().manual_seed(51)
for _am_kind in ("cosface", "arcface"):
    for _am_n, _am_c, _am_s, _am_m in ((8, 10, 10.0, 0.35), (5, 3, 30.0, 0.5), (1, 2, 1.0, 0.1), (6, 7, 64.0, 1.2)):
        _am_x = (torch.rand(_am_n, _am_c, generator=_am_g, dtype=torch.float64) * 1.98 - 0.99)
        _am_y = torch.randint(0, _am_c, (_am_n,), generator=_am_g)
        _am_before = _am_x.clone()
        _am_got = additive_margin_logits(_am_x, _am_y, _am_s, _am_m, kind=_am_kind)
        assert _am_got.dtype == torch.float64 and _am_got.shape == (_am_n, _am_c), (
            f"{_am_kind}: expected float64 of shape {(_am_n, _am_c)}, got {_am_got.dtype} {tuple(_am_got.shape)}")
        check_close(_am_got, _am_ref_margin(_am_x, _am_y, _am_s, _am_m, _am_kind), rtol=1e-10, atol=1e-12,
                    what=f"{_am_kind} logits, {_am_n}x{_am_c}, s = {_am_s:g}, m = {_am_m:g}")
        assert torch.equal(_am_x, _am_before), f"{_am_kind}: cosines must not be modified in place"
    # gradient with respect to the cosines, checked against autograd of the reference formula
    _am_x = (torch.rand(4, 5, generator=_am_g, dtype=torch.float64) * 1.6 - 0.8).requires_grad_(True)
    _am_y = torch.tensor([0, 4, 2, 2])
    (_am_gg,) = torch.autograd.grad(additive_margin_logits(_am_x, _am_y, 8.0, 0.4, kind=_am_kind).pow(2).sum(), _am_x)
    _am_x2 = _am_x.detach().clone().requires_grad_(True)
    _am_t = F.one_hot(_am_y, 5).bool()
    _am_tgt = _am_x2 - 0.4 if _am_kind == "cosface" else torch.cos(torch.acos(_am_x2) + 0.4)
    (_am_gw,) = torch.autograd.grad((8.0 * torch.where(_am_t, _am_tgt, _am_x2)).pow(2).sum(), _am_x2)
    check_close(_am_gg, _am_gw, rtol=1e-9, atol=1e-12, what=f"{_am_kind}: gradient w.r.t. the cosines")
    # dtype and margin 0
    _am_x32 = torch.rand(3, 4, generator=_am_g) * 2 - 1
    _am_y32 = torch.tensor([3, 0, 1])
    _am_o32 = additive_margin_logits(_am_x32, _am_y32, 5.0, 0.2, kind=_am_kind)
    assert _am_o32.dtype == torch.float32, f"{_am_kind}: float32 cosines give float32 logits, got {_am_o32.dtype}"
    check_close(_am_o32, _am_ref_margin(_am_x32, _am_y32, 5.0, 0.2, _am_kind), rtol=1e-5, atol=1e-5,
                what=f"{_am_kind}: float32 cosines")
    check_close(additive_margin_logits(_am_x32, _am_y32, 3, 0, kind=_am_kind), 3 * _am_x32, rtol=1e-5, atol=1e-6,
                what=f"{_am_kind}: margin 0 (integers accepted as scale and margin)")
# ArcFace's clamp and clip
_am_edge = torch.tensor([[1.0 + 1e-9, 0.0], [-1.0 - 1e-9, 0.5], [-0.95, 0.1], [math.cos(2.0), 0.0]],
                     dtype=torch.float64)
_am_ye = torch.tensor([0, 0, 0, 0])
_am_ae = additive_margin_logits(_am_edge, _am_ye, 10.0, 0.5, kind="arcface")
assert torch.isfinite(_am_ae).all(), f"ArcFace must clamp the cosines before arccos, got {_am_ae}"
check_close(_am_ae[:, 0], [10 * math.cos(0.5), -10.0, -10.0, 10 * math.cos(2.5)], rtol=1e-9,
            atol=1e-12, what="ArcFace: cosine clamped to [-1, 1], theta + m clipped at pi")
check_close(additive_margin_logits(_am_edge[2:3], _am_ye[:1], 10.0, 2 * math.pi, kind="arcface")[0, 0], -10.0,
            rtol=1e-12, what="ArcFace with a margin larger than pi: the logit is -s")
# the default kind is CosFace; the margin touches the true class only
check_close(additive_margin_logits(_am_cos, _am_lab, 10.0, 0.3), _am_cf, rtol=1e-12, what="default kind")
check_close(additive_margin_logits(_am_cos, torch.tensor([1, 1]), 2.0, 0.5),
            [[1.6, 0.2, -0.4], [0.0, 0.0, 2.0]], rtol=1e-12, atol=1e-15,
            what="CosFace with other labels")
_am_bad = [((_am_cos.numpy(), _am_lab, 10.0, 0.3), "cosines"), ((_am_cos[0], _am_lab[:1], 10.0, 0.3), "cosines"),
        ((torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), 1.0, 0.1), "cosines"),
        ((torch.tensor([[0, 1]]), torch.tensor([0]), 1.0, 0.1), "cosines"),
        ((torch.tensor([[0.1, float("nan")]]), torch.tensor([0]), 1.0, 0.1), "finite"),
        ((_am_cos, torch.tensor([0, 3]), 10.0, 0.3), "label"),
        ((_am_cos, torch.tensor([0, -1]), 10.0, 0.3), "label"),
        ((_am_cos, torch.tensor([0.0, 1.0]), 10.0, 0.3), "label"),
        ((_am_cos, torch.tensor([0]), 10.0, 0.3), "label"),
        ((_am_cos, _am_lab, 0.0, 0.3), "scale"), ((_am_cos, _am_lab, -2.0, 0.3), "scale"),
        ((_am_cos, _am_lab, float("inf"), 0.3), "scale"), ((_am_cos, _am_lab, 10.0, -0.1), "margin"),
        ((_am_cos, _am_lab, 10.0, float("nan")), "margin"), ((_am_cos, _am_lab, 10.0, True), "margin")]
for _am_args, _am_match in _am_bad:
    for _am_kind in ("cosface", "arcface"):
        check_raises(ValueError, additive_margin_logits, *_am_args, kind=_am_kind, match=_am_match)
### END HIDDEN TESTS
