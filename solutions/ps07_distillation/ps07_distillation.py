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
# # Problem set 7: distillation
#
# Chapter 10 of the book. You will compute a teacher's soft targets at a temperature, and
# distil a small student network from a larger teacher on the digits.
#
# * Replace every `raise NotImplementedError()` with your code. Do not rename the functions.
# * The test cells under each task check your work as you go; more tests, hidden here,
#   grade it (edge cases, other seeds, other temperatures, a teacher that is wrong on
#   purpose). Passing the visible tests is a good sign, not a guarantee.
# * A graded call that warns fails its check: the hidden checks run your functions with
#   warnings turned into errors.
# * Training runs on the GPU when there is one and on the CPU otherwise
#   (`infoloss.device.pick_device()`); the whole notebook runs in well under a minute on a CPU.
# * Restart the kernel and run all cells before you submit.
#
# Points: 14 in all (12 autograded, 2 graded by hand).

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from infoloss.device import digits_tensors, pick_device, seed_everything, use_one_cpu_thread
from infoloss.progress import progress
from infoloss.testing import check_close, check_raises

use_one_cpu_thread()  # tiny models: one CPU thread is the fastest setting

# %% [markdown] nbgrader={"grade": false, "grade_id": "task1", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. Soft targets (4 points)
#
# Implement `soft_targets(teacher_logits, T)`: the teacher's probabilities at temperature
# $T$, $\mathrm{softmax}(\mathbf{z}^{\mathrm{t}} / T)$, row by row.
#
# * `teacher_logits`: a floating-point tensor of shape `(N, C)`; `T`: a positive number.
# * Return a tensor of the same shape, dtype and device whose rows sum to 1. The targets
#   are fixed: the result must not carry a gradient back to `teacher_logits`.
# * Stay finite and exact for logits as large as $\pm 10^4$ (subtract each row's maximum,
#   or use `torch.softmax`, which does).
# * Raise `ValueError` (saying what is wrong) for `T <= 0` (the message names `T`), for
#   logits that are not 2-D (the message says `shape`) and for logits holding NaN (`NaN`).

# %% nbgrader={"grade": false, "grade_id": "soft_targets", "locked": false, "schema_version": 3, "solution": true, "task": false}
def soft_targets(teacher_logits, T):
    """softmax(teacher_logits / T) along the classes, detached from the teacher."""
    ### BEGIN SOLUTION
    if not T > 0:
        raise ValueError(f"temperature T must be positive; got {T!r}")
    if teacher_logits.ndim != 2:
        raise ValueError(f"teacher_logits must have shape (N, C); got {tuple(teacher_logits.shape)}")
    if torch.isnan(teacher_logits).any():
        raise ValueError("teacher_logits must not hold NaN")
    z = teacher_logits.detach() / T
    e = torch.exp(z - z.max(dim=1, keepdim=True).values)
    return e / e.sum(dim=1, keepdim=True)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_soft_targets", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
_z = torch.tensor([[2.0, 0.0, -2.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
_p = soft_targets(_z, 2.0)
check_close(_p, [[np.e / (np.e + 1 + 1 / np.e), 1 / (np.e + 1 + 1 / np.e),
                  1 / (np.e ** 2 + np.e + 1)], [1 / 3] * 3], rtol=1e-12, what="T = 2")
assert _p.dtype == torch.float64, f"float64 logits should give float64 targets, got {_p.dtype}"
check_close(soft_targets(_z, 1e6)[0], [1 / 3] * 3, rtol=1e-5, what="a huge T is nearly uniform")
check_raises(ValueError, soft_targets, _z, 0.0, match="T")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task2", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. Distil a student (8 autograded points + 2 by hand)
#
# `train_teacher(seed)` (given below) trains a 128-unit MLP on all the training digits and
# returns it. Implement
# `train_student(teacher_logits, X, y, T, alpha, steps=300, lr=0.01, seed=0)`, which
# trains a `Student()` (given below, 16 hidden units) on the images `X` (shape `(N, 64)`),
# labels `y` (shape `(N,)`) and the teacher's logits for the same images (shape `(N, C)`):
#
# 1. `seed_everything(seed)`, then build `Student()` and move it to `pick_device()` (move
#    the three inputs there too);
# 2. take `steps` full-batch Adam steps (learning rate `lr`, otherwise Adam's defaults) on
#
# $$\mathcal{L} = \alpha\, T^2\, \frac1N \sum_n \mathrm{KL}\bigl(\mathrm{softmax}(\mathbf{z}^{\mathrm{t}}_n/T)
# \,\Vert\, \mathrm{softmax}(\mathbf{z}^{\mathrm{s}}_n/T)\bigr) + (1-\alpha)\, \mathrm{CE}(\mathbf{z}^{\mathrm{s}}, y),$$
#
#    with $\mathbf{z}^{\mathrm{s}}$ the student's logits, the KL summed over classes and
#    averaged over the images, and CE the usual mean cross-entropy at temperature 1 (your
#    `soft_targets` gives the teacher's side; use `log_softmax` for the student's);
#    a teacher probability that underflows to 0 (a very sure teacher) adds 0 to the KL
#    ($0 \log 0 = 0$): the loss must stay finite;
# 3. show progress with `progress(range(steps), desc="student", total=steps)`.
#
# Return a dict with `"student"`: the trained `Student`, in evaluation mode, and
# `"losses"`: the loss before each step, a list of `steps` Python floats. Raise
# `ValueError` for `T <= 0` (naming `T`), `alpha` outside $[0, 1]$ (naming `alpha`), or
# inputs whose shapes do not match (saying `shape`).
#
# The hidden tests check the first loss against the formula for other $T$, $\alpha$ and
# seeds, the held-out accuracy of students distilled with other seeds (the bar is set
# below the worst of thirty runs of the model solution), and that with $\alpha = 1$ a
# student follows a teacher that is wrong on purpose. Whether you call `soft_targets` is
# not graded.

# %% nbgrader={"grade": false, "grade_id": "train_student", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_student(teacher_logits, X, y, T, alpha, steps=300, lr=0.01, seed=0):
    """Distil a Student from fixed teacher logits; the trained student and the losses."""
    ### BEGIN SOLUTION
    if not T > 0:
        raise ValueError(f"temperature T must be positive; got {T!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1]; got {alpha!r}")
    if X.ndim != 2 or teacher_logits.ndim != 2 or y.shape != (X.shape[0],) \
            or teacher_logits.shape[0] != X.shape[0]:
        raise ValueError("X (N, 64), y (N,) and teacher_logits (N, C) must have matching shapes; "
                         f"got {tuple(X.shape)}, {tuple(y.shape)}, {tuple(teacher_logits.shape)}")
    seed_everything(seed)
    device = pick_device()
    student = Student().to(device)
    X, y = X.to(device), y.to(device)
    p = soft_targets(teacher_logits.to(device), T)
    log_p = torch.log(p.clamp_min(1e-45))
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    losses = []
    for _ in progress(range(steps), desc="student", total=steps):
        z = student(X)
        kl = (p * (log_p - F.log_softmax(z / T, dim=1))).sum(dim=1).mean()
        loss = alpha * T**2 * kl + (1 - alpha) * F.cross_entropy(z, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    student.eval()
    return {"student": student, "losses": losses}
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "given_models", "locked": true, "schema_version": 3, "solution": false, "task": false}
class Student(nn.Module):
    """The small network: 64 pixels -> 16 ReLU units -> 10 logits."""

    def __init__(self, hidden=16, num_classes=10):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.net(x)


def train_teacher(seed=0, steps=300):
    """A 128-unit MLP trained with cross-entropy on all the training digits (full batch)."""
    seed_everything(seed)
    device = pick_device()
    X_train, y_train, _, _ = digits_tensors(device)
    teacher = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).to(device)
    opt = torch.optim.Adam(teacher.parameters(), lr=0.01)
    for _ in progress(range(steps), desc="teacher", total=steps):
        loss = F.cross_entropy(teacher(X_train), y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return teacher.eval()


def test_accuracy(model):
    """Accuracy of a model on the test split of the digits."""
    device = next(model.parameters()).device
    _, _, X_test, y_test = digits_tensors(device)
    with torch.no_grad():
        return (model(X_test).argmax(dim=1) == y_test).float().mean().item()


# %% nbgrader={"grade": false, "grade_id": "show_students", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The transfer set: the first 200 training images, with the teacher's logits for them.
X_train, y_train, X_test, y_test = digits_tensors(pick_device())
X_few, y_few = X_train[:200], y_train[:200]
teacher = train_teacher(seed=0)
with torch.no_grad():
    z_few = teacher(X_few)
print(f"teacher: test accuracy {test_accuracy(teacher):.3f}")
for _alpha in (0.0, 0.9):
    _res = train_student(z_few, X_few, y_few, T=4.0, alpha=_alpha)
    print(f"student, alpha = {_alpha}: final loss {_res['losses'][-1]:.4f}, "
          f"test accuracy {test_accuracy(_res['student']):.3f}")

# %% nbgrader={"grade": true, "grade_id": "test_train_student", "locked": true, "points": 8, "schema_version": 3, "solution": false, "task": false}
def _first_loss(zt, X, y, T, alpha, seed):
    """The loss before any step, computed from the formula with the same initialisation."""
    seed_everything(seed)
    s = Student().to(X.device)
    with torch.no_grad():
        z = s(X)
        log_p = torch.log_softmax(zt / T, 1)
        kl = (log_p.exp() * (log_p - torch.log_softmax(z / T, 1))).sum(1).mean()
        return (alpha * T * T * kl + (1 - alpha) * F.cross_entropy(z, y)).item()


_r = train_student(z_few, X_few, y_few, T=4.0, alpha=0.9, steps=20)
assert len(_r["losses"]) == 20 and all(isinstance(v, float) for v in _r["losses"])
assert isinstance(_r["student"], Student), "return the trained Student"
check_close(_r["losses"][0], _first_loss(z_few, X_few, y_few, 4.0, 0.9, 0), rtol=1e-5,
            what="the loss before the first step (T = 4, alpha = 0.9)")
assert _r["losses"][-1] < _r["losses"][0], "the loss should fall"
check_raises(ValueError, train_student, z_few, X_few, y_few, 0.0, 0.5, match="T")

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_students", "locked": true, "schema_version": 3, "solution": false, "task": false}
# (c) Compare the two students printed above, both trained on the same 200 images: the one
# with `alpha = 0` (the labels alone) and the distilled one (`T = 4`, `alpha = 0.9`). Which is
# better on the test images, and what does a soft target tell the student that the label of
# the same image does not? Would you expect the same gap if the students were trained on
# all 1,437 training images, and why? Write your answer in the cell below (2 points, graded
# by hand).

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_students", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The distilled student is clearly better (about 0.94 against about 0.91 on the test
# images). A label says only which digit an image is; the teacher's probabilities at
# T = 4 also say which other digits it resembles and how much (a 3 that looks a little like
# a 5 or an 8), so each of the 200 images teaches the student about all ten classes, not
# one. With all 1,437 images the labels alone already pin the easy digits down and the
# small student comes close to the teacher anyway, so the gap should shrink to about
# nothing (chapter 10 measures it within the seed spread).
#
# Mark scheme: 1 point for reading the two accuracies right, 1 point for what soft targets
# add and why the gain shrinks with more labelled data.
