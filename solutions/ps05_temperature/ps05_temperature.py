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
# * A graded call that warns fails its check: the hidden checks run your functions with
#   warnings turned into errors.
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
