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
# # Problem set 3: cross-entropy vs squared error
#
# Chapter 6 of the book. You will derive and implement the gradients of the two losses
# with respect to the logits, then train the same classifier with each of them and watch
# one of them stall.
# Tasks 5 and 6 read the losses as likelihoods (chapter 4) and check convexity along a
# line in weight space (chapter 6).
#
# * Replace every `raise NotImplementedError()` with your code. Do not rename the functions.
# * The test cells under each task check your work as you go; more tests, hidden here,
#   grade it (other shapes, huge logits, dtypes, the training run). Passing the visible
#   tests is a good sign, not a guarantee.
# * Tasks 1 and 2 are NumPy only: do not use PyTorch there (its autograd would do the
#   derivation for you).
# * A graded call that warns fails its check: the hidden checks run your functions with
#   warnings turned into errors.
# * Training runs on the GPU when there is one and on the CPU otherwise; the whole notebook
#   takes well under a minute on a CPU.
# * Restart the kernel and run all cells before you submit.
#
# Points: 47 in all (44 autograded, 3 graded by hand).

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import torch
import torch.nn.functional as F

from infoloss.device import digits_tensors, pick_device, seed_everything, use_one_cpu_thread
from infoloss.testing import check_close, check_raises

use_one_cpu_thread()  # tiny models: one CPU thread is the fastest setting

# %% [markdown] nbgrader={"grade": false, "grade_id": "task1", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. The cross-entropy gradient (5 points)
#
# For one example with logits $\mathbf z \in \mathbb R^C$, label $y$ and
# $\mathbf q = \operatorname{softmax}(\mathbf z)$, the cross-entropy loss is
# $\ell_{\mathrm{CE}} = -\log q_y$. Implement `softmax_ce_grad(z, y)`: the gradients
# $\partial \ell_{\mathrm{CE}} / \partial \mathbf z$ of **each example** of a batch, stacked.
#
# * `z` has shape `(N, C)`, `y` holds `N` integer labels in `0 .. C-1`; return a float64
#   array of shape `(N, C)` (row `i` is the gradient of example `i`'s loss, not divided
#   by `N`), computed in float64 even for float32 logits.
# * It must work for logits of any size (thousands): compute the softmax stably, by
#   subtracting each row's maximum before `np.exp` (chapter 7 explains why).
# * Raise `ValueError` with a helpful message when `z` is not 2-D or not real numbers
#   (complex logits, say), when the labels are not integers, out of range, or not `N` of
#   them.

# %% nbgrader={"grade": false, "grade_id": "softmax_ce_grad", "locked": false, "schema_version": 3, "solution": true, "task": false}
def softmax_ce_grad(z, y):
    """Per-example gradient of -log softmax(z)[y] with respect to the logits z, (N, C)."""
    ### BEGIN SOLUTION
    z = np.asarray(z)
    y = np.asarray(y)
    if z.ndim != 2 or 0 in z.shape:
        raise ValueError(f"logits must have shape (N, C) with N, C >= 1; got {z.shape}")
    if not (np.issubdtype(z.dtype, np.floating) or np.issubdtype(z.dtype, np.integer)):
        raise ValueError(f"logits must be real numbers; got dtype {z.dtype}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices; got dtype {y.dtype}")
    if y.shape != (z.shape[0],):
        raise ValueError(f"need one label per row of the logits: shape ({z.shape[0]},), "
                         f"got {y.shape}")
    if np.any(y < 0) or np.any(y >= z.shape[1]):
        raise ValueError(f"labels must lie in 0 .. {z.shape[1] - 1}")
    z = z.astype(np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))  # per-row max: no overflow
    p = e / e.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_softmax_ce_grad", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
# Uniform logits over 4 classes: p = 1/4 everywhere, so the gradient is p - onehot.
check_close(softmax_ce_grad(np.zeros((1, 4)), np.array([2])), [[0.25, 0.25, -0.75, 0.25]],
            what="CE gradient at uniform logits")
g = softmax_ce_grad(np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 3.0]]), np.array([0, 1]))
check_close(g.sum(axis=1), [0.0, 0.0], atol=1e-12, what="each gradient row sums to 0")
check_close(g[0, 0], 1 / (1 + np.exp(-3.0) + np.exp(-1.5)) - 1, rtol=1e-12,
            what="p_y - 1 at the label")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task2", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. The squared-error gradient (6 points)
#
# The squared error of the probabilities is
# $\ell_{\mathrm{MSE}} = \tfrac12 \lVert \mathbf e_y - \mathbf q \rVert^2
# = \tfrac12 \sum_k (q_k - [k = y])^2$. Implement `softmax_mse_grad(z, y)`, its per-example
# gradient with respect to the logits, with the same input rules, output shape and dtype as
# `softmax_ce_grad`.
#
# Derive it with the chain rule: $\partial \ell_{\mathrm{MSE}} / \partial \mathbf q = \mathbf q - \mathbf e_y$,
# and the softmax Jacobian is $\partial q_j / \partial z_k = q_j([j = k] - q_k)$. Write the
# result in vector form (no loop over examples or classes needed). You may call your
# `softmax_ce_grad`: it already holds $\mathbf q - \mathbf e_y$.

# %% nbgrader={"grade": false, "grade_id": "softmax_mse_grad", "locked": false, "schema_version": 3, "solution": true, "task": false}
def softmax_mse_grad(z, y):
    """Per-example gradient of 0.5 * ||onehot(y) - softmax(z)||^2 w.r.t. z, shape (N, C)."""
    ### BEGIN SOLUTION
    r = softmax_ce_grad(z, y)  # p - e_y, and the input checks
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return p * r - p * np.sum(r * p, axis=1, keepdims=True)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_softmax_mse_grad", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
g = softmax_mse_grad(np.zeros((1, 4)), np.array([2]))
# p = 1/4: r = p - e_y = (1/4, 1/4, -3/4, 1/4), r.p = 0, so the gradient is p * r.
check_close(g, [[1 / 16, 1 / 16, -3 / 16, 1 / 16]], rtol=1e-12,
            what="MSE gradient at uniform logits")
check_close(softmax_mse_grad(np.array([[0.3, -0.2, 1.0]]), np.array([1])).sum(), 0.0,
            atol=1e-12, what="the MSE gradient row sums to 0")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task3", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. Training with each loss (8 points)
#
# The model is the last layer of every classifier: a linear map from the 64 pixels of a
# digits image to 10 logits (softmax regression). `make_classifier(init_scale)` builds it
# with PyTorch's default initialisation, then multiplies its weights and bias by
# `init_scale`. With `init_scale=1` the first predictions are nearly uniform; with
# `init_scale=20` the logits are large, the softmax saturates, and most examples start
# *confidently wrong* (the true class gets a probability of about $10^{-5}$).
#
# (a) Implement `softmax_mse_loss(logits, y)` in PyTorch: the mean over the batch of
# $\tfrac12 \lVert \mathbf e_y - \operatorname{softmax}(\mathbf z) \rVert^2$, for
# logits of shape `(N, C)` and integer labels `(N,)`. It must be differentiable by
# autograd (use `torch.softmax`, `F.one_hot`).
#
# (b) Implement `train(model, loss_fn, epochs=150, lr=0.5)`: full-batch gradient descent on
# the course's digits training split.
#
# * Data: `X_train, y_train, X_test, y_test = digits_tensors(device)` where `device` is
#   the device of the model's parameters.
# * Optimiser: `torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)`; one step per
#   epoch on the whole training set: `zero_grad`, forward, `loss_fn(logits, y_train)`,
#   `backward`, `step`.
# * Return a dict of two lists of length `epochs`: `"loss"`, the value of `loss_fn` on
#   the training set at each step (before the step, as a Python float), and `"test_acc"`,
#   the test accuracy after each step (a float in [0, 1]; compute it under
#   `torch.no_grad()`).

# %% nbgrader={"grade": false, "grade_id": "make_classifier", "locked": true, "schema_version": 3, "solution": false, "task": false}
def make_classifier(init_scale=1.0, seed=0, device=None):
    """Softmax regression 64 -> 10, default init scaled by init_scale, on device."""
    seed_everything(seed)
    model = torch.nn.Linear(64, 10)
    with torch.no_grad():
        model.weight.mul_(init_scale)
        model.bias.mul_(init_scale)
    return model.to(device if device is not None else pick_device())


# %% nbgrader={"grade": false, "grade_id": "training", "locked": false, "schema_version": 3, "solution": true, "task": false}
def softmax_mse_loss(logits, y):
    """Mean over the batch of 0.5 * ||onehot(y) - softmax(logits)||^2 (differentiable)."""
    ### BEGIN SOLUTION
    p = torch.softmax(logits, dim=1)
    target = F.one_hot(y, num_classes=logits.shape[1]).to(p.dtype)
    return 0.5 * ((p - target) ** 2).sum(dim=1).mean()
    ### END SOLUTION


def train(model, loss_fn, epochs=150, lr=0.5):
    """Full-batch SGD (momentum 0.9) on the digits training split; per-epoch history."""
    ### BEGIN SOLUTION
    device = next(model.parameters()).device
    X_train, y_train, X_test, y_test = digits_tensors(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    history = {"loss": [], "test_acc": []}
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(model(X_train), y_train)
        loss.backward()
        opt.step()
        history["loss"].append(loss.item())
        with torch.no_grad():
            acc = (model(X_test).argmax(dim=1) == y_test).float().mean().item()
        history["test_acc"].append(acc)
    return history
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_training", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_z = torch.tensor([[0.0, 0.0], [2.0, -1.0]], requires_grad=True)
_loss = softmax_mse_loss(_z, torch.tensor([0, 1]))
_p = 1 / (1 + np.exp(-3.0))
# example 1: p = (1/2, 1/2), loss 1/4; example 2: p = (P, 1 - P) with P = sigmoid(3), loss P^2
check_close(_loss.item(), (0.25 + _p ** 2) / 2, rtol=1e-6,
            what="softmax_mse_loss of two examples (mean over the batch)")
_hist = train(make_classifier(1.0), F.cross_entropy, epochs=5)
assert set(_hist) >= {"loss", "test_acc"}, f"train should return loss and test_acc, got {set(_hist)}"
assert len(_hist["loss"]) == 5 and len(_hist["test_acc"]) == 5, "one entry per epoch"
check_close(_hist["loss"][0], np.log(10), rtol=0.05,
            what="first CE loss of a nearly uniform classifier (about ln 10)")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task3c", "locked": true, "schema_version": 3, "solution": false, "task": false}
# (c) The cell below trains four classifiers, each for 150 epochs: both losses from the
# nearly uniform start (`init_scale=1`) and from the saturated start (`init_scale=20`),
# each pair from the same initial weights, and plots the test accuracy.

# %% nbgrader={"grade": false, "grade_id": "compare", "locked": true, "schema_version": 3, "solution": false, "task": false}
import time

import matplotlib.pyplot as plt

runs = {}
for scale in (1.0, 20.0):
    for name, fn in (("CE", F.cross_entropy), ("MSE", softmax_mse_loss)):
        start = time.perf_counter()
        runs[name, scale] = train(make_classifier(scale), fn)
        print(f"{name:3s} init_scale {scale:4.0f}: final test accuracy "
              f"{runs[name, scale]['test_acc'][-1]:.3f} ({time.perf_counter() - start:.2f} s "
              f"on {pick_device()})")

fig, ax = plt.subplots(figsize=(6.4, 3.8))
for (name, scale), h in runs.items():
    ax.plot(h["test_acc"], label=f"{name}, init_scale {scale:g}",
            color="C0" if name == "CE" else "C3", linestyle="-" if scale == 1 else "--")
ax.set_xlabel("epoch (full-batch SGD step)")
ax.set_ylabel("test accuracy")
ax.legend()
plt.show()

# %% nbgrader={"grade": true, "grade_id": "test_ce_beats_mse", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
# From the saturated start, the cross-entropy run must end well ahead of the squared error.
_ce = train(make_classifier(20.0, seed=0), F.cross_entropy)
_mse = train(make_classifier(20.0, seed=0), softmax_mse_loss)
print(f"saturated start: CE {_ce['test_acc'][-1]:.3f}, MSE {_mse['test_acc'][-1]:.3f}")
assert _ce["test_acc"][-1] > _mse["test_acc"][-1], "CE should beat MSE from a saturated start"

# %% [markdown] nbgrader={"grade": false, "grade_id": "question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# (d) Explain the four curves in three to five sentences, using your gradients from tasks 1
# and 2: why does the squared error learn almost as well as cross-entropy from the nearly
# uniform start (if more slowly) but stall from the saturated one? Evaluate both gradients
# at the label logit for an example whose true class has probability $6 \cdot 10^{-6}$ and
# one wrong class has almost all the rest, and compare the two gradients at exactly equal
# logits (chapter 6, "At the uniform start"; this answer is graded by hand). Write your
# answer in the cell below (3 points).

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_curves", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# At the label logit the CE gradient is $q_y - 1 \approx -1$ however wrong the example
# is, so a confidently wrong example pushes hard. The MSE gradient is
# $q_y(q_y - 1) - q_y\,(\mathbf q - \mathbf e_y)\cdot\mathbf q \approx -2q_y
# \approx -1.2\cdot 10^{-5}$: every term carries a factor $q_y$ (or $q_k(1-q_k)$ for the
# winning wrong class), so saturated examples contribute almost nothing and only the few
# examples that are not saturated drive learning. At exactly equal logits
# $\mathbf q = \mathbf 1/C$, the Jacobian is $\tfrac1C(I - \mathbf 1\mathbf 1^{\top}/C)$
# and the residual sums to 0, so the MSE gradient is exactly $1/C$ (a tenth) of the CE
# gradient: from the nearly uniform start no example is saturated, both losses learn, and
# MSE is slower only by that constant factor (a ten times larger learning rate would make
# up for it). From init_scale 20 CE recovers within a few dozen steps while MSE creeps:
# there its gradients are thousands of times smaller, which no constant factor fixes.
#
# Mark scheme: 1 point for the two gradient values (about -1 and about -1e-5, with the
# reason: the factor q_y); 1 point for linking saturation to the flat MSE curve;
# 1 point for explaining why the uniform start is fine for both (the MSE gradient is
# exactly 1/C of the CE gradient there: slower by a constant factor, not stalled).

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_focal", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. A numerically stable focal loss (6 points)
#
# Chapter 6, "Focal loss", derives the loss $\ell_{\mathrm{FL}} = -\alpha_t (1 - q_t)^{\gamma}
# \log q_t$, where $q_t$ is the probability the model gives the true outcome. Implement
# `focal_loss_with_logits(logits, targets, gamma=2.0, alpha=None, reduction="mean")`
# **in PyTorch** (differentiable by autograd). It has two modes, chosen by the shape of
# `logits`:
#
# * **Binary**: `logits` has shape `(N,)` (one logit $z$ per example) and `targets` is a
#   float tensor of the same shape with values in $[0, 1]$: hard labels 0 and 1, or
#   probabilities $t$. The per-example loss is
#   $-\big[\,\alpha\, t\,(1 - \sigma(z))^{\gamma} \log \sigma(z)
#   + (1 - \alpha)(1 - t)\,\sigma(z)^{\gamma} \log(1 - \sigma(z))\big]$, with
#   $\alpha$ = `alpha`, a float in $[0, 1]$; `alpha=None` means no weights (both factors
#   are 1, not $\tfrac12$). For a hard label this is $-\alpha_t (1 - q_t)^{\gamma} \log q_t$.
# * **Multi-class**: `logits` has shape `(N, C)` with $C \ge 2$ and `targets` holds `N`
#   integer class indices $y$ in `0 .. C-1` (any integer dtype). The per-example loss is
#   $-\alpha_{y} (1 - q_y)^{\gamma} \log q_y$ with $\mathbf q = \mathrm{softmax}(\mathbf z)$;
#   `alpha` is `None` or a 1-D tensor of `C` non-negative class weights.
#
# `reduction`: `"none"` returns the `N` per-example losses, `"sum"` their sum, `"mean"`
# their plain mean (divided by `N`, **not** by the sum of the weights as in
# `CrossEntropyLoss(weight=...)`). The result has the logits' dtype (float32 or float64).
#
# Numerics (the heart of the task): compute everything from `F.logsigmoid` or
# `torch.log_softmax`, never the log of a probability. Use $1 - \sigma(z) = \sigma(-z)$,
# so $(1 - \sigma(z))^{\gamma} = \exp(\gamma \log\sigma(-z))$, and with $C$ classes
# $\log(1 - q_y) = \operatorname{logsumexp}_{k \ne y} z_k - \operatorname{logsumexp}_k z_k$.
# Then the loss and its gradient are finite and correct for logits as large as
# $\pm 10^{30}$ in float32 and float64, and `gamma=0` gives exactly the binary
# cross-entropy with logits (multi-class: the cross-entropy; with `alpha`, the weighted
# *sum* divided by `N`).
#
# Raise `ValueError` with a message that names the problem when: `logits` is not 1-D or
# 2-D or not a floating tensor; `gamma` is negative or NaN; `reduction` is not one of the
# three; in binary mode the shapes differ, or a target is outside $[0, 1]$ or NaN, or
# `alpha` is not in $[0, 1]$; in multi-class mode $C < 2$, the targets are not integers,
# not `N` of them, or out of range, or `alpha` is not `C` non-negative numbers.
# (Empty batches, `N = 0`, are not graded.)

# %% nbgrader={"grade": false, "grade_id": "focal_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def focal_loss_with_logits(logits, targets, gamma=2.0, alpha=None, reduction="mean"):
    """Focal loss -alpha_t (1 - q_t)^gamma log q_t from logits, binary (N,) or multi-class (N, C)."""
    ### BEGIN SOLUTION
    if not torch.is_tensor(logits) or not logits.is_floating_point():
        raise ValueError("logits must be a floating-point torch tensor")
    gamma = float(gamma)
    if not gamma >= 0.0:  # also rejects NaN
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    if logits.ndim == 1:
        t = torch.as_tensor(targets)
        if t.shape != logits.shape:
            raise ValueError(f"binary targets must have the logits' shape {tuple(logits.shape)}, "
                             f"got {tuple(t.shape)}")
        t = t.to(logits.dtype)
        if torch.any(torch.isnan(t)) or torch.any((t < 0) | (t > 1)):
            raise ValueError("binary targets must be probabilities in [0, 1]")
        if alpha is None:
            a_pos = a_neg = 1.0
        else:
            a_pos = float(alpha)
            if not 0.0 <= a_pos <= 1.0:
                raise ValueError(f"binary alpha must be a number in [0, 1], got {alpha}")
            a_neg = 1.0 - a_pos
        log_p, log_not_p = F.logsigmoid(logits), F.logsigmoid(-logits)
        loss = -(a_pos * t * torch.exp(gamma * log_not_p) * log_p
                 + a_neg * (1 - t) * torch.exp(gamma * log_p) * log_not_p)
    elif logits.ndim == 2:
        n, c = logits.shape
        if c < 2:
            raise ValueError(f"multi-class logits need C >= 2 classes, got {c}")
        y = torch.as_tensor(targets)
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise ValueError(f"multi-class targets must be integer class indices, got {y.dtype}")
        if y.shape != (n,):
            raise ValueError(f"need one class index per row of the logits: shape ({n},), "
                             f"got {tuple(y.shape)}")
        if n and (y.min() < 0 or y.max() >= c):
            raise ValueError(f"class indices must lie in 0 .. {c - 1}")
        y = y.to(device=logits.device, dtype=torch.long)
        rows = torch.arange(n, device=logits.device)
        log_q_y = torch.log_softmax(logits, dim=1)[rows, y]
        others = logits.masked_fill(F.one_hot(y, c).bool(), float("-inf"))
        log_not_q = torch.logsumexp(others, dim=1) - torch.logsumexp(logits, dim=1)
        loss = -torch.exp(gamma * log_not_q) * log_q_y
        if alpha is not None:
            a = torch.as_tensor(alpha, dtype=logits.dtype, device=logits.device)
            if a.shape != (c,) or torch.any(torch.isnan(a)) or torch.any(a < 0):
                raise ValueError(f"multi-class alpha must be {c} non-negative class weights")
            loss = a[y] * loss
    else:
        raise ValueError(f"logits must have shape (N,) or (N, C); got {tuple(logits.shape)}")
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_focal_loss", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
# gamma = 0 is the binary cross-entropy with logits
_fz = torch.tensor([-2.0, 0.0, 1.5, 3.0])
_ft = torch.tensor([0.0, 1.0, 1.0, 0.0])
check_close(focal_loss_with_logits(_fz, _ft, gamma=0.0),
            F.binary_cross_entropy_with_logits(_fz, _ft), rtol=1e-6, what="gamma = 0 is BCE")
# one easy example (q_t = sigmoid(3)) and gamma = 2: the loss is (1 - q_t)^2 times its BCE
_fq = 1 / (1 + np.exp(-3.0))
check_close(focal_loss_with_logits(torch.tensor([3.0]), torch.tensor([1.0]), reduction="none"),
            [(1 - _fq) ** 2 * -np.log(_fq)], rtol=1e-5, what="focal loss of an easy example")
# multi-class, gamma = 0: the cross-entropy
_fzc = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.5, 0.5]])
check_close(focal_loss_with_logits(_fzc, torch.tensor([0, 2]), gamma=0.0),
            F.cross_entropy(_fzc, torch.tensor([0, 2])), rtol=1e-6, what="gamma = 0 is CE")
# huge logits stay finite
assert torch.isfinite(focal_loss_with_logits(torch.tensor([1e4, -1e4]), torch.tensor([0.0, 1.0]))), \
    "the focal loss must stay finite at logits of +-1e4"
_ = check_raises(ValueError, focal_loss_with_logits, _fz, _ft, gamma=-1.0)

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_likelihood", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5. Losses as likelihoods, and the objective (8 points)
#
# Chapter 4 ("Losses are likelihoods, and a regulariser is a prior") reads the squared
# error as the negative log-likelihood of Gaussian noise, and the training objective as
# the cost plus a regulariser.
#
# (a) Implement `gaussian_nll(t, mu, sigma)`: the negative log-density of the observations
# `t` under a Gaussian with mean `mu` and standard deviation `sigma`, **element by
# element** (no sum, no mean):
# $-\log \mathcal N(t;\, \mu, \sigma^2) = (t - \mu)^2 / (2\sigma^2) + \log(\sigma\sqrt{2\pi})$.
#
# * `t`, `mu` and `sigma` are numbers or arrays that NumPy can broadcast together; return a
#   float64 array of the broadcast shape (shape `()` for three numbers), computed in
#   float64 whatever the input dtype.
# * Raise `ValueError` when a `sigma` is not positive (the message must mention `sigma`),
#   when an input is not finite (NaN or infinite: mention `finite`), and when the shapes do
#   not broadcast (mention `broadcast`).

# %% nbgrader={"grade": false, "grade_id": "gaussian_nll", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gaussian_nll(t, mu, sigma):
    """Element-wise -log N(t; mu, sigma^2), float64, of the broadcast shape."""
    ### BEGIN SOLUTION
    t, mu, sigma = (np.asarray(a, dtype=np.float64) for a in (t, mu, sigma))
    try:
        shape = np.broadcast_shapes(t.shape, mu.shape, sigma.shape)
    except ValueError:
        raise ValueError(f"t, mu and sigma do not broadcast: shapes {t.shape}, {mu.shape}, "
                         f"{sigma.shape}") from None
    for name, a in (("t", t), ("mu", mu), ("sigma", sigma)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite (no NaN or infinity)")
    if np.any(sigma <= 0):
        raise ValueError("sigma must be positive")
    out = (t - mu) ** 2 / (2 * sigma**2) + np.log(sigma * np.sqrt(2 * np.pi))
    return np.broadcast_to(out, shape).astype(np.float64)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_gaussian_nll", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# At t = mu only the constant is left: log(sigma sqrt(2 pi)).
check_close(gaussian_nll(0.0, 0.0, 1.0), np.log(np.sqrt(2 * np.pi)), rtol=1e-12,
            what="Gaussian NLL at t = mu, sigma = 1")
# With sigma fixed, NLL differences are squared-error differences divided by 2 sigma^2.
_gn_nll = gaussian_nll(np.array([0.0, 1.0, 3.0]), 1.0, 2.0)
check_close(_gn_nll - _gn_nll[1], [1 / 8, 0.0, 4 / 8], rtol=1e-12,
            what="NLL minus its value at t = mu, sigma = 2")
check_raises(ValueError, gaussian_nll, 0.0, 0.0, 0.0, match="sigma")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_objective", "locked": true, "schema_version": 3, "solution": false, "task": false}
# (b) Implement `softmax_regression_objective(W, b, X, y, lam)`: the L2-regularised
# objective of softmax regression and its gradients, in NumPy (the hidden tests compare
# them with PyTorch's autograd). The logits of
# example $n$ are $\mathbf z_n = W \mathbf x_n + \mathbf b$ and
#
# $$J(W, \mathbf b) = \frac1N \sum_{n=1}^{N} -\log \operatorname{softmax}(\mathbf z_n)_{y_n}
# + \frac{\lambda}{2} \lVert W \rVert^2 ,$$
#
# the mean cross-entropy (the cost) plus $\frac{\lambda}{2}$ times the sum of the squared
# weights. The bias is **not** regularised.
#
# * `W` has shape `(C, D)`, `b` shape `(C,)`, `X` shape `(N, D)` with `N >= 1`, `y` holds `N`
#   integer labels in `0 .. C-1`, `lam` is a number `>= 0`.
# * Return a tuple `(J, grad_W, grad_b)`: `J` a float, `grad_W` and `grad_b` float64 arrays
#   of the shapes of `W` and `b` (the gradients of `J`). Compute in float64, and stably:
#   logits in the thousands must give finite results (subtract each row's maximum, as in
#   task 1; you may call `softmax_ce_grad`).
# * Raise `ValueError` when a shape does not fit (mention `shape`), when the labels are not
#   integers or out of range (mention `label`), and when `lam` is negative or not finite
#   (mention `lam`).

# %% nbgrader={"grade": false, "grade_id": "softmax_regression_objective", "locked": false, "schema_version": 3, "solution": true, "task": false}
def softmax_regression_objective(W, b, X, y, lam):
    """(J, grad_W, grad_b) of mean CE of softmax(X W^T + b) plus lam/2 ||W||^2."""
    ### BEGIN SOLUTION
    W, b, X = (np.asarray(a, dtype=np.float64) for a in (W, b, X))
    y = np.asarray(y)
    if W.ndim != 2 or b.shape != (W.shape[0],) or X.ndim != 2 or X.shape[1] != W.shape[1] \
            or X.shape[0] == 0:
        raise ValueError(f"need W (C, D), b (C,), X (N, D) with N >= 1; got the shapes "
                         f"{W.shape}, {b.shape}, {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"need one label per row of X: shape ({X.shape[0]},), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or np.any(y < 0) or np.any(y >= W.shape[0]):
        raise ValueError(f"labels must be integers in 0 .. {W.shape[0] - 1}")
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be a finite number >= 0, got {lam}")
    z = X @ W.T + b
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    n = len(y)
    J = float(np.mean(lse - z[np.arange(n), y]) + lam / 2 * np.sum(W**2))
    r = np.exp(z - lse[:, None])                    # softmax, then minus the one-hot
    r[np.arange(n), y] -= 1.0
    return J, r.T @ X / n + lam * W, r.mean(axis=0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_objective", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
# Zero weights predict uniformly: J = ln C, and the gradient is the mean of (1/C - e_y) x^T.
_ob_X = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
_ob_y = np.array([0, 2, 2])
_ob_J, _ob_gW, _ob_gb = softmax_regression_objective(np.zeros((3, 2)), np.zeros(3), _ob_X, _ob_y, 0.0)
check_close(_ob_J, np.log(3), rtol=1e-12, what="objective at zero weights, C = 3")
check_close(_ob_gW, (1 / 3 - np.eye(3)[_ob_y]).T @ _ob_X / 3, rtol=1e-12, what="grad_W at zero weights")
check_close(_ob_gb, [1 / 3 - 1 / 3, 1 / 3, 1 / 3 - 2 / 3], atol=1e-12, what="grad_b at zero weights")
# The regulariser adds lam/2 ||W||^2 to J and lam W to grad_W; the bias is not regularised.
_ob_W, _ob_b = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]]), np.array([5.0, 0.0, -5.0])
_ob_J0, _ob_gW0, _ob_gb0 = softmax_regression_objective(_ob_W, _ob_b, _ob_X, _ob_y, 0.0)
_ob_J1, _ob_gW1, _ob_gb1 = softmax_regression_objective(_ob_W, _ob_b, _ob_X, _ob_y, 0.5)
check_close(_ob_J1 - _ob_J0, 0.5 / 2 * 7.0, rtol=1e-12, what="lam/2 ||W||^2 with ||W||^2 = 7")
check_close(_ob_gW1 - _ob_gW0, 0.5 * _ob_W, rtol=1e-12, what="the regulariser's gradient lam W")
check_close(_ob_gb1, _ob_gb0, rtol=1e-12, what="grad_b does not depend on lam")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_convexity", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6. Convexity along a line (6 points)
#
# Chapter 6 ("Convexity: one bowl for cross-entropy, none for squared error") walks along a
# line in weight space, $(W_0 + \tau\,\Delta W, \mathbf b_0 + \tau\,\Delta\mathbf b)$, and
# checks the sign of the second differences of the cost.
#
# (a) Implement `second_differences(values, h)`: for the values $f_i = f(\tau_i)$ of a
# function on an evenly spaced grid with step `h`, return the float64 array
# $(f_{i+2} - 2 f_{i+1} + f_i) / h^2$ for $i = 0, \dots, n - 3$ (length $n - 2$).
#
# * Raise `ValueError` when `values` is not 1-D or has fewer than 3 entries (mention
#   `values`), when a value is not finite (mention `finite`), and when `h` is not a
#   positive finite number (mention `h`).

# %% nbgrader={"grade": false, "grade_id": "second_differences", "locked": false, "schema_version": 3, "solution": true, "task": false}
def second_differences(values, h):
    """(f[i+2] - 2 f[i+1] + f[i]) / h^2 for an evenly spaced grid, float64, length n - 2."""
    ### BEGIN SOLUTION
    f = np.asarray(values, dtype=np.float64)
    if f.ndim != 1 or len(f) < 3:
        raise ValueError(f"values must be 1-D with at least 3 entries; got shape {f.shape}")
    if not np.all(np.isfinite(f)):
        raise ValueError("values must be finite")
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"the step h must be a positive finite number, got {h}")
    return (f[2:] - 2 * f[1:-1] + f[:-2]) / h**2
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_second_differences", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# A parabola 3 tau^2 has second derivative 6 everywhere; a straight line has 0.
_sd_tau = np.linspace(-1, 1, 21)
check_close(second_differences(3 * _sd_tau**2, 0.1), np.full(19, 6.0), rtol=1e-9,
            what="second differences of 3 tau^2")
check_close(second_differences(2 * _sd_tau + 1, 0.1), np.zeros(19), atol=1e-9,
            what="second differences of a line")
check_raises(ValueError, second_differences, [1.0, 2.0], 0.1, match="values")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_line", "locked": true, "schema_version": 3, "solution": false, "task": false}
# (b) Implement `cost_along_line(W0, b0, dW, db, X, y, taus, loss)`: for every $\tau$ in
# `taus`, the cost (mean over the examples, **no** regulariser) of softmax regression with
# weights $W_0 + \tau\,\Delta W$ (`W0 + tau * dW`) and bias
# $\mathbf b_0 + \tau\,\Delta\mathbf b$ (`b0 + tau * db`).
#
# * `loss="ce"`: the mean of $-\log \operatorname{softmax}(\mathbf z_n)_{y_n}$;
#   `loss="mse"`: the mean of $\tfrac12 \lVert \operatorname{softmax}(\mathbf z_n) - \mathbf e_{y_n}
#   \rVert^2$.
# * Shapes as in task 5(b): `W0` and `dW` `(C, D)`, `b0` and `db` `(C,)`, `X` `(N, D)` with
#   `N >= 1`, `y` `N` integer labels in `0 .. C-1`; `taus` a 1-D array of `T` numbers.
#   Return a float64 array of shape `(T,)`, finite for logits in the thousands.
# * Raise `ValueError` for an unknown `loss` (mention `loss`), shapes that do not fit
#   (mention `shape`; `taus` not 1-D counts too, and so does a `b0` or `db` of length 1,
#   which NumPy would broadcast) and bad labels (mention `label`).

# %% nbgrader={"grade": false, "grade_id": "cost_along_line", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cost_along_line(W0, b0, dW, db, X, y, taus, loss):
    """Mean CE or squared-error cost of softmax regression at (W0 + tau dW, b0 + tau db)."""
    ### BEGIN SOLUTION
    if loss not in ("ce", "mse"):
        raise ValueError(f"loss must be 'ce' or 'mse', got {loss!r}")
    W0, b0, dW, db, X = (np.asarray(a, dtype=np.float64) for a in (W0, b0, dW, db, X))
    y, taus = np.asarray(y), np.asarray(taus, dtype=np.float64)
    if W0.ndim != 2 or dW.shape != W0.shape or b0.shape != (W0.shape[0],) \
            or db.shape != b0.shape or X.ndim != 2 or X.shape[1] != W0.shape[1] \
            or X.shape[0] == 0 or y.shape != (X.shape[0],) or taus.ndim != 1:
        raise ValueError(f"shapes do not fit: W0 {W0.shape}, b0 {b0.shape}, dW {dW.shape}, "
                         f"db {db.shape}, X {X.shape}, y {y.shape}, taus {taus.shape}")
    if not np.issubdtype(y.dtype, np.integer) or np.any(y < 0) or np.any(y >= W0.shape[0]):
        raise ValueError(f"labels must be integers in 0 .. {W0.shape[0] - 1}")
    z0, v = X @ W0.T + b0, X @ dW.T + db
    rows = np.arange(len(y))
    out = np.empty(len(taus))
    for i, tau in enumerate(taus):
        z = z0 + tau * v
        m = z.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
        if loss == "ce":
            out[i] = np.mean(lse - z[rows, y])
        else:
            r = np.exp(z - lse[:, None])
            r[rows, y] -= 1.0
            out[i] = np.mean(0.5 * np.sum(r**2, axis=1))
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_cost_along_line", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# One example, two classes, logits tau * (1, -1): q_y = sigmoid(2 tau) for label 0.
_cl_taus = np.linspace(-4, 4, 81)
_cl_args = (np.zeros((2, 1)), np.zeros(2), np.array([[1.0], [-1.0]]), np.zeros(2),
         np.ones((1, 1)), np.array([0]), _cl_taus)
_cl_ce_line = cost_along_line(*_cl_args, "ce")
_cl_mse_line = cost_along_line(*_cl_args, "mse")
_cl_sig = 1 / (1 + np.exp(-2 * _cl_taus))
check_close(_cl_ce_line, -np.log(_cl_sig), rtol=1e-10, what="CE along the line")
check_close(_cl_mse_line, (1 - _cl_sig) ** 2, rtol=1e-10, atol=1e-15, what="squared error along the line")
# the convexity check of chapter 6: CE's second differences are >= 0, MSE's are not
assert second_differences(_cl_ce_line, 0.1).min() > 0, "CE is convex along the line"
assert second_differences(_cl_mse_line, 0.1).min() < 0, "squared error is concave somewhere"

# %% [markdown] nbgrader={"grade": false, "grade_id": "task7_hinge", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 7. The multiclass hinge loss (5 points)
#
# Chapter 6, "Margins": the multiclass hinge (SVM) loss of one example with logits
# $\mathbf z$ and label $y$ is
# $\ell_{\mathrm{hinge}} = \sum_{j \ne y} \max(0,\, z_j - z_y + \Delta)$, with a margin
# $\Delta \ge 0$. It is exactly zero once every wrong logit is at least $\Delta$ below the
# true one. Implement `multiclass_hinge(logits, labels, margin=1.0)` in NumPy:
#
# * `logits`: array-like of shape `(N, C)` with `N, C >= 1` (floats or integers);
#   `labels`: `N` integer class indices in `0 .. C-1`; `margin`: the $\Delta$, a real number.
# * Return the **mean over the N examples** as a Python `float`, computed in float64 (also
#   for float32 logits). The true class itself is not a wrong class: it adds nothing (not
#   $\Delta$). With `C = 1` there are no wrong classes and the loss is 0.
# * Raise `ValueError` with a message that names the problem when the logits are not 2-D
#   or are empty ("shape"), are not real numbers (complex ones, say: "real"), hold NaN or
#   infinity ("finite"), when the labels are not integers, not `N` of them, or out of
#   range ("label"), or when the margin is negative, not finite, or not a real number
#   ("margin"; `True`/`False` are not margins).
# * No loop over examples is needed; do not use PyTorch.

# %% nbgrader={"grade": false, "grade_id": "multiclass_hinge", "locked": false, "schema_version": 3, "solution": true, "task": false}
def multiclass_hinge(logits, labels, margin=1.0):
    """Mean over examples of sum_{j != y} max(0, z_j - z_y + margin)."""
    ### BEGIN SOLUTION
    z = np.asarray(logits)
    y = np.asarray(labels)
    if z.ndim != 2 or 0 in z.shape:
        raise ValueError(f"logits must have shape (N, C) with N, C >= 1; got shape {z.shape}")
    if not (np.issubdtype(z.dtype, np.floating) or np.issubdtype(z.dtype, np.integer)):
        raise ValueError(f"logits must be real numbers; got dtype {z.dtype}")
    z = z.astype(np.float64)
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite (no NaN or infinity)")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices; got dtype {y.dtype}")
    if y.shape != (z.shape[0],):
        raise ValueError(f"need one label per row of the logits: shape ({z.shape[0]},), "
                         f"got {y.shape}")
    if np.any(y < 0) or np.any(y >= z.shape[1]):
        raise ValueError(f"labels must lie in 0 .. {z.shape[1] - 1}")
    if isinstance(margin, bool) or not isinstance(margin, (int, float, np.integer, np.floating)):
        raise ValueError(f"margin must be a real number; got {margin!r}")
    if not (np.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be finite and >= 0; got {margin!r}")
    rows = np.arange(len(y))
    terms = np.maximum(0.0, z - z[rows, y][:, None] + float(margin))
    terms[rows, y] = 0.0  # j = y is not a wrong class
    return float(terms.sum(axis=1).mean())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_multiclass_hinge", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
# One example: margins 0.5 (class 1) and 3 (class 2) against the true class 0.
_hg_h = multiclass_hinge(np.array([[3.0, 2.5, 0.0]]), np.array([0]))
assert isinstance(_hg_h, float), f"multiclass_hinge should return a Python float, got {type(_hg_h)}"
check_close(_hg_h, 0.5, rtol=1e-12, what="hinge: only class 1 violates the margin 1")
# Every wrong logit at least 1 below the true one: exactly zero (cross-entropy never is).
check_close(multiclass_hinge(np.array([[2.0, 1.0, -4.0]]), np.array([0])), 0.0, atol=0,
            what="hinge of an example with margin exactly 1")
# Equal logits: every one of the C - 1 wrong classes costs the full margin.
check_close(multiclass_hinge(np.zeros((2, 4)), np.array([0, 3]), margin=2.0), 6.0,
            rtol=1e-12, what="hinge at equal logits, margin 2 (mean over 2 examples)")
check_raises(ValueError, multiclass_hinge, np.zeros(3), np.array([0]), match="shape")
