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
# # Problem set 2: KL divergence and cross-entropy
#
# Chapters 3, 4 and 5 of the book. You will implement the KL divergence and the
# cross-entropy in NumPy, build label-smoothed targets, write a cross-entropy for soft
# targets in PyTorch, reproduce the "soft cross-entropy" of a blog post, and train a small
# digits classifier with three losses, and a multi-label model of three digit attributes.
#
# * Replace every `raise NotImplementedError()` with your code. Do not rename the functions.
# * The test cells under each task check your work as you go; more tests, hidden here,
#   grade it (edge cases, dtypes, batches, gradients). Passing the visible tests is a good
#   sign, not a guarantee.
# * A graded call that warns fails its check: the hidden checks run your functions with
#   warnings turned into errors (a `RuntimeWarning` from `np.log(0)`, for instance), so
#   handle zeros explicitly.
# * Restart the kernel and run all cells before you submit. The whole notebook runs in
#   well under a minute on a laptop CPU; it uses a GPU when PyTorch sees one.
#
# Points: 36 in all (33 autograded, 3 graded by hand).

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from infoloss.device import digits_tensors, pick_device, seed_everything, use_one_cpu_thread
from infoloss.testing import check_close, check_raises

use_one_cpu_thread()  # tiny models: one CPU thread is the fastest setting
device = pick_device()
print(f"torch {torch.__version__}, running on {device}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task1", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. KL divergence and cross-entropy in NumPy (8 points)
#
# Implement, **in nats** and over the **last axis** (so that an array of shape `(N, K)`
# holds `N` distributions and gives `N` results):
#
# * `kl_divergence(p, q)` $= \sum_i p_i \log \frac{p_i}{q_i}$,
# * `cross_entropy(p, q)` $= -\sum_i p_i \log q_i$.
#
# Requirements for both:
#
# * `p` and `q` may be lists or arrays of any float dtype; compute and return float64.
#   Their shapes must be equal, or broadcast against each other with the same last axis.
# * Zeros are handled exactly, without `nan` and without a warning: a term with $p_i = 0$
#   contributes 0 (whatever $q_i$ is); a term with $q_i = 0 < p_i$ makes the result `inf`.
# * Raise `ValueError` with a message that says what is wrong when an entry is negative
#   or NaN, when a distribution does not sum to 1 (within `1e-6`), when there is no last
#   axis (a single number) or it is empty, or when the last axes of `p` and `q` differ.

# %% nbgrader={"grade": false, "grade_id": "kl_and_ce", "locked": false, "schema_version": 3, "solution": true, "task": false}
def kl_divergence(p, q):
    """KL(p || q) in nats over the last axis, with exact handling of zeros, as float64."""
    ### BEGIN SOLUTION
    p, q = _check_pair(p, q)
    positive = p > 0
    ratio = np.where(positive, p, 1.0) / np.where(positive & (q > 0), q, 1.0)
    terms = np.where(positive, p * np.log(ratio), 0.0)
    terms = np.where(positive & (q == 0), np.inf, terms)
    return terms.sum(axis=-1)
    ### END SOLUTION


def cross_entropy(p, q):
    """H(p, q) = -sum p log q in nats over the last axis, with exact zeros, as float64."""
    ### BEGIN SOLUTION
    p, q = _check_pair(p, q)
    positive = p > 0
    logs = np.log(np.where(positive & (q > 0), q, 1.0))
    terms = np.where(positive, -p * logs, 0.0)
    terms = np.where(positive & (q == 0), np.inf, terms)
    return terms.sum(axis=-1)


def _check_pair(p, q):
    """Validate two (batches of) distributions; return them as float64 arrays."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    for name, a in (("p", p), ("q", q)):
        if a.ndim == 0 or a.shape[-1] == 0:
            raise ValueError(f"{name} needs at least one probability on its last axis")
        if np.any(np.isnan(a)):
            raise ValueError(f"{name} contains NaN")
        if np.any(a < 0):
            raise ValueError(f"{name} has negative entries; probabilities must be >= 0")
        if np.any(np.abs(a.sum(axis=-1) - 1.0) > 1e-6):
            raise ValueError(f"each distribution in {name} must sum to 1 over the last axis")
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p and q must have the same number of outcomes (last axis); "
                         f"got {p.shape[-1]} and {q.shape[-1]}")
    try:
        p, q = np.broadcast_arrays(p, q)
    except ValueError:
        raise ValueError(f"shapes {p.shape} and {q.shape} do not broadcast") from None
    return p, q
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_kl_and_ce", "locked": true, "points": 8, "schema_version": 3, "solution": false, "task": false}
p = np.array([0.5, 0.25, 0.25])
q = np.array([0.25, 0.25, 0.5])
check_close(kl_divergence(p, q), 0.25 * np.log(2), rtol=1e-12, what="KL(p || q)")
check_close(kl_divergence(p, p), 0.0, atol=1e-15, what="KL(p || p)")
check_close(cross_entropy(p, q), 1.75 * np.log(2), rtol=1e-12, what="H(p, q)")
# H(p, q) = H(p) + KL(p || q)
check_close(cross_entropy(p, q), 1.5 * np.log(2) + kl_divergence(p, q), rtol=1e-12,
            what="H(p, q) - KL(p || q)")
# zeros: p_i = 0 contributes nothing; q_i = 0 where p_i > 0 gives inf
check_close(kl_divergence([1.0, 0.0], [0.5, 0.5]), np.log(2), rtol=1e-12, what="KL with p = 0")
check_close(kl_divergence([0.5, 0.5], [1.0, 0.0]), np.inf, what="KL with q = 0 < p")
check_raises(ValueError, kl_divergence, [0.5, 0.6], [0.5, 0.5], match="sum")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task2", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. Label-smoothed targets (4 points)
#
# Implement `smoothed_targets(y, num_classes, eps)`: for integer labels `y` of any shape,
# the float64 array of shape `y.shape + (num_classes,)` holding
# $(1 - \varepsilon)\,\mathbf{e}_y + \varepsilon / C$ (with $C$ = `num_classes`). Each row
# is a distribution: `eps = 0` gives one-hot rows, `eps = 1` uniform rows.
#
# Raise `ValueError` (saying what is wrong) when `eps` is not in $[0, 1]$, when
# `num_classes` is not a positive integer, or when a label is not an integer in
# `[0, num_classes)`. Float labels that hold whole numbers (`2.0` is the label 2) must be
# accepted.

# %% nbgrader={"grade": false, "grade_id": "smoothed_targets", "locked": false, "schema_version": 3, "solution": true, "task": false}
def smoothed_targets(y, num_classes, eps):
    """(1 - eps) * onehot(y) + eps / num_classes, shape y.shape + (num_classes,), float64."""
    ### BEGIN SOLUTION
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    eps = float(eps)
    if not 0.0 <= eps <= 1.0:  # also rejects NaN
        raise ValueError(f"eps must lie in [0, 1], got {eps!r}")
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if np.any(~np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError("labels must be integers")
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got dtype {y.dtype}")
    if np.any(y < 0) or np.any(y >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}); got {y.min()}..{y.max()}")
    out = np.full(y.shape + (num_classes,), eps / num_classes, dtype=np.float64)
    np.put_along_axis(out, y[..., None].astype(np.int64),
                      1.0 - eps + eps / num_classes, axis=-1)
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_smoothed_targets", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check_close(smoothed_targets([2, 0], 3, 0.0), [[0, 0, 1], [1, 0, 0]], what="eps = 0: one-hot")
check_close(smoothed_targets([1], 4, 0.2), [[0.05, 0.85, 0.05, 0.05]], rtol=1e-12,
            what="eps = 0.2, C = 4")
check_raises(ValueError, smoothed_targets, [0, 1], 3, 1.5, match="eps")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task3", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. Cross-entropy with probability targets in PyTorch (6 points)
#
# Implement `soft_cross_entropy(logits, target_probs)`: for logits of shape `(N, C)` and
# target distributions of the same shape, the mean over the batch of
# $-\sum_i t_i \log \mathrm{softmax}(\mathbf{z})_i$, as a 0-d tensor of the logits' dtype.
#
# * It must agree with `F.cross_entropy(logits, target_probs)`, gradients included, but
#   **must not call** `F.cross_entropy`, `nn.CrossEntropyLoss` or `F.nll_loss`: build it
#   from tensor operations (`torch.log_softmax` is allowed, and a good idea).
# * It must stay finite for logits as large as $\pm 10^4$ and for targets with zeros.
# * Raise `ValueError` when `logits` is not 2-D or when the shapes differ.

# %% nbgrader={"grade": false, "grade_id": "soft_cross_entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def soft_cross_entropy(logits, target_probs):
    """Mean over the batch of -sum_i t_i log softmax(z)_i, for (N, C) logits and targets."""
    ### BEGIN SOLUTION
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, C); got {tuple(logits.shape)}")
    if target_probs.shape != logits.shape:
        raise ValueError(f"target_probs must have the logits' shape {tuple(logits.shape)}; "
                         f"got {tuple(target_probs.shape)}")
    log_q = torch.log_softmax(logits, dim=1)
    return -(target_probs.to(log_q.dtype) * log_q).sum(dim=1).mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_soft_cross_entropy", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
_z = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
_t = torch.tensor([[0.7, 0.2, 0.1], [0.0, 0.0, 1.0]])
check_close(soft_cross_entropy(_z, _t), F.cross_entropy(_z, _t), rtol=1e-6,
            what="soft_cross_entropy vs F.cross_entropy")
check_close(soft_cross_entropy(torch.zeros(4, 10), torch.full((4, 10), 0.1)), math.log(10),
            rtol=1e-6, what="uniform logits: ln C")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task4", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. The "soft cross-entropy" of seed 003 (4 points)
#
# A blog post adds to the usual cross-entropy the mean over classes of
# $-\log \mathrm{softmax}(\mathbf{z})_i$, averaged over the batch:
#
# $$\ell(\mathbf{z}, y) = \mathrm{CE}(\mathbf{z}, y) + \frac{1}{N}\sum_{n=1}^{N}
#   \frac{1}{C}\sum_{i=1}^{C} -\log \mathrm{softmax}(\mathbf{z}_n)_i .$$
#
# Implement `seed_soft_loss(logits, y)` for logits `(N, C)` and class indices `y` `(N,)`
# (you may call `F.cross_entropy` here). Raise `ValueError` when `logits` is not 2-D or
# `y` does not hold one label per row. Chapter 5 shows what this loss really is.

# %% nbgrader={"grade": false, "grade_id": "seed_soft_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def seed_soft_loss(logits, y):
    """Seed 003's loss: CE(logits, y) + batch mean of the class mean of -log_softmax."""
    ### BEGIN SOLUTION
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, C); got {tuple(logits.shape)}")
    if y.shape != logits.shape[:1]:
        raise ValueError(f"y must hold one label per row: shape ({logits.shape[0]},); "
                         f"got {tuple(y.shape)}")
    log_q = torch.log_softmax(logits, dim=1)
    return F.cross_entropy(logits, y) + (-log_q).mean(dim=1).mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_seed_soft_loss", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
_z = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
_y = torch.tensor([0, 2])
_expected = F.cross_entropy(_z, _y) - torch.log_softmax(_z, dim=1).mean()
check_close(seed_soft_loss(_z, _y), _expected, rtol=1e-6, what="seed_soft_loss")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task5", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5. Train a digits classifier with three losses (5 points + 3 by hand)
#
# (a) Implement `train_classifier(loss_fn, X, y, *, epochs=15, batch_size=64, lr=0.01,
# seed=0)`: train `make_model(seed)` (below) on the images `X` (float, `(N, 64)`) and
# labels `y` (`(N,)`) with `torch.optim.Adam(model.parameters(), lr=lr)` and mini-batches
# of `batch_size` examples, in a fresh random order each epoch (use a
# `torch.Generator` seeded with `seed`, so that runs repeat). `loss_fn(logits, y_batch)`
# returns the mean loss of a batch (chapter 5, "The training loop", explains each step of
# such a loop). Train on the device `X` lives on. Return the trained
# model and a list with the **training accuracy of every mini-batch** (the fraction of the
# batch that the model classified correctly in that step's forward pass), as floats.
#
# (b) Implement `evaluate(model, X, y)`: the accuracy of `model` on `(X, y)` and its
# *confidence*, the mean over the examples of the largest softmax probability, as two
# Python floats. Put the model in evaluation mode and do not track gradients.

# %% nbgrader={"grade": false, "grade_id": "make_model", "locked": true, "schema_version": 3, "solution": false, "task": false}
def make_model(seed=0):
    """A small MLP for 8x8 digits: 64 pixels -> 64 hidden units -> 10 logits."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


# %% nbgrader={"grade": false, "grade_id": "training", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_classifier(loss_fn, X, y, *, epochs=15, batch_size=64, lr=0.01, seed=0):
    """Train make_model(seed) on (X, y) with Adam; return (model, per-mini-batch accuracy)."""
    ### BEGIN SOLUTION
    seed_everything(seed)
    model = make_model(seed).to(device=X.device, dtype=X.dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order_gen = torch.Generator().manual_seed(seed)
    batch_acc = []
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=order_gen).to(X.device)
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            logits = model(X[idx])
            loss = loss_fn(logits, y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            batch_acc.append((logits.argmax(dim=1) == y[idx]).float().mean().item())
    return model, batch_acc
    ### END SOLUTION


def evaluate(model, X, y):
    """(accuracy, mean largest softmax probability) of model on (X, y), as floats."""
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(X), dim=1)
    accuracy = (probs.argmax(dim=1) == y).float().mean().item()
    confidence = probs.max(dim=1).values.mean().item()
    return accuracy, confidence
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_evaluate", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# A linear "model" whose logits are the inputs themselves.
_identity = nn.Linear(3, 3, bias=False)
with torch.no_grad():
    _identity.weight.copy_(torch.eye(3))
_X = torch.tensor([[1.0, 0.0, 0.0], [5.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
_acc, _conf = evaluate(_identity, _X, torch.tensor([0, 0, 1]))
check_close(_acc, 2 / 3, rtol=1e-6, what="accuracy")
_p1, _p5 = math.e / (math.e + 2), math.exp(5) / (math.exp(5) + 2)
check_close(_conf, (_p1 + 2 * _p5) / 3, rtol=1e-6, what="confidence")
assert isinstance(_acc, float) and isinstance(_conf, float), "return two Python floats"

# %% nbgrader={"grade": false, "grade_id": "losses", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The three losses to compare. Label smoothing uses torch's built-in option.
LOSSES = {
    "cross-entropy": F.cross_entropy,
    "label smoothing 0.1": partial(F.cross_entropy, label_smoothing=0.1),
    "seed 003 soft loss": seed_soft_loss,
}
X_train, y_train, X_test, y_test = digits_tensors(device=device)
print(f"{len(X_train)} training and {len(X_test)} test images on {device}")

# %% nbgrader={"grade": true, "grade_id": "test_training", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
_model, _batch_acc = train_classifier(F.cross_entropy, X_train, y_train, epochs=2)
assert len(_batch_acc) == 2 * math.ceil(len(X_train) / 64), (
    f"expected one accuracy per mini-batch ({2 * math.ceil(len(X_train) / 64)} for two "
    f"epochs), got {len(_batch_acc)}")
assert all(0.0 <= a <= 1.0 for a in _batch_acc), "accuracies must lie in [0, 1]"
print(f"after 2 epochs: last batch accuracy {_batch_acc[-1]:.2f}, "
      f"test accuracy {evaluate(_model, X_test, y_test)[0]:.3f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "compare_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The cell below trains one model per loss and plots the accuracy of every mini-batch,
# like the seed post does, and prints the held-out accuracy and confidence of each.

# %% nbgrader={"grade": false, "grade_id": "compare", "locked": true, "schema_version": 3, "solution": false, "task": false}
results = {}
fig, ax = plt.subplots(figsize=(7, 3.5))
for name, loss_fn in LOSSES.items():
    model, batch_acc = train_classifier(loss_fn, X_train, y_train)
    acc, conf = evaluate(model, X_test, y_test)
    results[name] = (acc, conf)
    ax.plot(batch_acc, label=name, alpha=0.8)
    print(f"{name:22s} test accuracy {acc:.3f}, confidence {conf:.3f}")
ax.set_xlabel("mini-batch")
ax.set_ylabel("training accuracy of the mini-batch")
ax.set_ylim(0, 1.02)
ax.legend()
plt.show()

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_seed", "locked": true, "schema_version": 3, "solution": false, "task": false}
# (c) The post describes its target as "1/C on the other classes and 1 on the true one".
# What target distribution does `seed_soft_loss` really train towards, and which
# label-smoothing $\varepsilon$ does that correspond to? Use your results above to explain
# why the seed loss barely changes the accuracy but lowers the confidence so much. At
# which confidence is the loss of one example smallest, and is that value a limit on the
# confidence of single test images? (3 points, graded by hand.)

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_seed", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# The added term is the cross-entropy against the uniform distribution u, so the loss is
# H(e_y, q) + H(u, q) = 2 H((e_y + u)/2, q): cross-entropy against the target
# (1/2) e_y + (1/2) u, i.e. label smoothing with eps = 1/2 (scaled by 2). The true class
# gets 1/2 + 1/(2C) = 0.55 for C = 10, every other class 0.05 (and the post's "1 on the
# true class" is really 1 + 1/C before normalising). The arg max of the target is still
# the true class, so the decision rule, and the accuracy, hardly change; but the loss of
# one example is smallest when q matches the target, so the largest probability is pulled
# towards this per-example optimum 0.55, far below the near-1 confidence of plain
# cross-entropy, with label smoothing 0.1 (optimum 0.91) in between. The optimum is not a
# cap: the network shares its weights across images, so single images scatter on both
# sides of it (the mean confidence ends a little below it, many images above it).
#
# Mark scheme: 1 point for eps = 1/2 with the target (1/2) e_y + (1/2) u, 1 point for the
# accuracy argument (same arg max), 1 point for the per-example optimum 0.55 (against CE
# and eps = 0.1) and for saying that it is an optimum single images can exceed, not a cap.

# %% [markdown] nbgrader={"grade": false, "grade_id": "task6", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6. Multi-label attributes of the digits (6 points)
#
# Chapter 4, "Several yes/no questions at once", trains one sigmoid per label with
# `BCEWithLogitsLoss`. Here each digit gets three yes/no **attributes**: *even*,
# *greater than 4*, and *has a closed loop*. The loop digits are 0, 6, 8 and 9; a 4 counts
# as **open** (many people write it open, and the digits data set has both kinds, so one
# convention has to be chosen). A 6 is even, greater than 4 and has a loop: one image can
# carry several labels at once, which a softmax over three classes cannot express.
#
# (a) Implement `digit_attributes(y)`: for an integer tensor of digit labels `y` of shape
# `(N,)`, the float32 tensor of shape `(N, 3)` whose columns are 1.0 or 0.0 for *even*,
# *greater than 4* and *closed loop*, on `y`'s device. Raise `ValueError` (saying what is
# wrong) when `y` is not a 1-D integer tensor or holds a label outside `0 .. 9`.
#
# (b) Implement `train_multilabel(X, A, *, epochs=20, batch_size=64, lr=0.01, seed=0)`:
# train `make_attribute_model(seed)` (below: 64 pixels, 64 hidden units, 3 logits) on
# images `X` `(N, 64)` and multi-hot targets `A` `(N, 3)` with `nn.BCEWithLogitsLoss()`
# (one independent sigmoid per attribute, the mean over examples and attributes),
# `torch.optim.Adam(model.parameters(), lr=lr)` and mini-batches of `batch_size`
# examples in a fresh random order each epoch, drawn from a `torch.Generator` seeded with
# `seed` (as in task 5). Train on `X`'s device; return the trained model.
#
# (c) Implement `predict_attributes(model, X)`: the model's yes/no answers, an int64
# tensor `(N, 3)` of 0s and 1s, where 1 means $\sigma(z) > \tfrac12$, that is a logit
# $z > 0$. Put the model in evaluation mode and do not track gradients.
#
# Graded: the held-out accuracy **of each attribute** after the default 20 epochs must be
# at least 0.93 for every seed the grader tries (the reference solution's worst attribute
# over 20 seeds is well above that, see the hidden tests), and the rules of (a)-(c) above.

# %% nbgrader={"grade": false, "grade_id": "digit_attributes", "locked": false, "schema_version": 3, "solution": true, "task": false}
def digit_attributes(y):
    """Multi-hot float32 (N, 3): even, greater than 4, closed loop (0, 6, 8, 9; 4 is open)."""
    ### BEGIN SOLUTION
    if not torch.is_tensor(y) or y.ndim != 1 or y.is_floating_point() or y.is_complex() \
            or y.dtype == torch.bool:
        raise ValueError("y must be a 1-D tensor of integer digit labels")
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise ValueError("digit labels must lie in 0 .. 9")
    loop = (y == 0) | (y == 6) | (y == 8) | (y == 9)
    return torch.stack([y % 2 == 0, y > 4, loop], dim=1).to(torch.float32)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_digit_attributes", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_close(digit_attributes(torch.tensor([6, 3])), [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]],
            what="a 6 is even, > 4 and has a loop; a 3 is none of them")
assert digit_attributes(torch.tensor([4])).tolist() == [[1.0, 0.0, 0.0]], "a 4 counts as open"
check_raises(ValueError, digit_attributes, torch.tensor([10]))

# %% nbgrader={"grade": false, "grade_id": "make_attribute_model", "locked": true, "schema_version": 3, "solution": false, "task": false}
def make_attribute_model(seed=0):
    """A small MLP for 8x8 digits: 64 pixels -> 64 hidden units -> 3 attribute logits."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))


# %% nbgrader={"grade": false, "grade_id": "multilabel", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_multilabel(X, A, *, epochs=20, batch_size=64, lr=0.01, seed=0):
    """Train make_attribute_model(seed) on (X, A) with BCEWithLogitsLoss and Adam."""
    ### BEGIN SOLUTION
    seed_everything(seed)
    model = make_attribute_model(seed).to(device=X.device, dtype=X.dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    order_gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=order_gen).to(X.device)
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            loss = loss_fn(model(X[idx]), A[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model
    ### END SOLUTION


def predict_attributes(model, X):
    """Yes/no answers of the model, int64 (N, 3): 1 where the logit is > 0."""
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        return (model(X) > 0).to(torch.int64)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_multilabel", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
_A_train, _A_test = digit_attributes(y_train), digit_attributes(y_test)
_ml_m = train_multilabel(X_train, _A_train, epochs=2)
_ml_pred = predict_attributes(_ml_m, X_test)
assert _ml_pred.shape == (len(X_test), 3) and _ml_pred.dtype == torch.int64, (
    f"predict_attributes should return an int64 tensor ({len(X_test)}, 3), got {_ml_pred.dtype} "
    f"{tuple(_ml_pred.shape)}")
assert set(_ml_pred.unique().tolist()) <= {0, 1}, "answers are 0 or 1"
print("after 2 epochs, accuracy of each attribute:",
      (_ml_pred == _A_test).float().mean(dim=0).cpu().numpy().round(3))

# %% [markdown] nbgrader={"grade": false, "grade_id": "multilabel_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The cell below trains the attribute model with five seeds and prints the held-out
# accuracy of each attribute, and how often the model says yes to an impossible
# combination (odd and with a loop and not greater than 4: no digit is all three).

# %% nbgrader={"grade": false, "grade_id": "multilabel_compare", "locked": true, "schema_version": 3, "solution": false, "task": false}
from infoloss.progress import progress

_A_train, _A_test = digit_attributes(y_train), digit_attributes(y_test)
for _ml_seed in progress(range(5), desc="attribute models", total=5):
    _ml_pred = predict_attributes(train_multilabel(X_train, _A_train, seed=_ml_seed), X_test)
    _ml_acc = (_ml_pred == _A_test).float().mean(dim=0).cpu().numpy()
    _ml_odd_loop_small = ((_ml_pred[:, 0] == 0) & (_ml_pred[:, 1] == 0) & (_ml_pred[:, 2] == 1)).float().mean()
    print(f"seed {_ml_seed}: accuracy even {_ml_acc[0]:.3f}, > 4 {_ml_acc[1]:.3f}, loop {_ml_acc[2]:.3f}; "
          f"impossible answers {100 * _ml_odd_loop_small:.1f}%")
