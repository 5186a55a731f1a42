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
# # Problem set 6: the LeNet-5 sign bug
#
# Chapter 9. You will port the C program's output delta to NumPy, write the
# cross-entropy delta that a `+=` update needs, fix the C program yourself, and train
# the same network in PyTorch.
#
# * Replace every `raise NotImplementedError()` with your code. Do not rename the functions.
# * The test cells under each task check your work as you go; more tests, hidden here,
#   grade it. Passing the visible tests is a good sign, not a guarantee.
# * A graded call that warns fails its check: the hidden checks run your functions with
#   warnings turned into errors.
# * Task 3 compiles C code: it needs a C compiler (`cc`), which the course machines have.
# * Training runs on the GPU when there is one and on the CPU otherwise; the whole
#   notebook grades in about a minute on a laptop CPU.
# * Restart the kernel and run all cells before you submit.
#
# Points: 24 in all (21 autograded, 3 graded by hand).

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import torch
from torch import nn

from infoloss import clenet
from infoloss.device import pick_device, seed_everything
from infoloss.mnistlike import mnist_like_tensors
from infoloss.testing import check_close, check_dtype, check_raises


def numeric_gradient(f, z, h=1e-6):
    """Central finite differences of a scalar function f at the vector z."""
    z = np.asarray(z, dtype=np.float64)
    grad = np.zeros_like(z)
    for i in range(z.size):
        step = np.zeros_like(z)
        step[i] = h
        grad[i] = (f(z + step) - f(z - step)) / (2 * h)
    return grad


def softmax_ref(z):
    e = np.exp(z - np.max(z))
    return e / e.sum()

# %% [markdown] nbgrader={"grade": false, "grade_id": "task1", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. The C program's delta, in NumPy (5 points)
#
# The C function `softmax(input, loss, label, count)` of the case study writes, for the
# model's probabilities $q = \mathrm{softmax}(z)$ and the true class $y$,
#
# $$\delta_i = q_i\left([i = y] - q_i - \left(q_y - \textstyle\sum_k q_k^2\right)\right).$$
#
# Implement `c_softmax_delta(z, label)` that returns this vector for a 1-D array of
# logits `z` and an integer class `label`.
#
# * Compute the softmax stably (subtract the maximum): `z = [1000, 0, 0]` must work.
# * Return float64, shape like `z`.
# * Raise `ValueError` when `z` is not a non-empty 1-D array of finite numbers, or when
#   `label` is not an integer in `0 .. len(z) - 1`.
#
# The test checks that your delta is the **negative** gradient of
# $\tfrac12\lVert \mathrm{onehot}(y) - \mathrm{softmax}(z)\rVert^2$, using finite differences.

# %% nbgrader={"grade": false, "grade_id": "c_softmax_delta", "locked": false, "schema_version": 3, "solution": true, "task": false}
def _check_logits(z, label):
    """Shared input checks: z a finite non-empty 1-D array, label a valid class index."""
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 1 or z.size == 0:
        raise ValueError(f"z must be a non-empty 1-D array of logits, got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("z must hold finite numbers (no NaN or inf)")
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)):
        raise ValueError(f"label must be an integer class index, got {label!r}")
    if not 0 <= label < z.size:
        raise ValueError(f"label must be in 0..{z.size - 1}, got {label}")
    return z, int(label)
    ### END SOLUTION


def c_softmax_delta(z, label):
    """The C program's output delta: minus the gradient of 1/2 ||onehot - softmax(z)||^2."""
    ### BEGIN SOLUTION
    z, label = _check_logits(z, label)
    e = np.exp(z - z.max())
    p = e / e.sum()
    onehot = np.zeros_like(p)
    onehot[label] = 1.0
    return p * (onehot - p - (p[label] - np.sum(p * p)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_c_softmax_delta", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
z = np.array([0.5, -1.0, 2.0, 0.0])
got = c_softmax_delta(z, 2)
check_dtype(got, np.float64, what="c_softmax_delta(z, 2)")


def half_sq(v, label=2):
    return 0.5 * np.sum((np.eye(len(v))[label] - softmax_ref(v)) ** 2)


# a += update needs the NEGATIVE gradient
check_close(got, -numeric_gradient(half_sq, z), rtol=1e-5, atol=1e-9,
            what="c_softmax_delta vs -d/dz 1/2||onehot - softmax(z)||^2")
check_close(np.sum(got), 0.0, atol=1e-12, what="sum of the delta (softmax is shift-invariant)")
check_raises(ValueError, c_softmax_delta, z, 4, match="label")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task2", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. The cross-entropy delta for a `+=` update (4 points)
#
# The C program updates every weight with `w += (ALPHA / batch) * delta_sum`. Implement
# `ce_delta(z, label)`: the delta the program needs to train with the cross-entropy
# $-\log \mathrm{softmax}(z)_y$ instead of the squared error. Same input rules and
# errors as task 1 (you may reuse `_check_logits`).

# %% nbgrader={"grade": false, "grade_id": "ce_delta", "locked": false, "schema_version": 3, "solution": true, "task": false}
def ce_delta(z, label):
    """Minus the gradient of the cross-entropy -log softmax(z)[label] w.r.t. the logits."""
    ### BEGIN SOLUTION
    z, label = _check_logits(z, label)
    e = np.exp(z - z.max())
    p = e / e.sum()
    out = -p
    out[label] += 1.0
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_ce_delta", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
z = np.array([0.5, -1.0, 2.0, 0.0])


def ce(v, label=0):
    return -(v[label] - v.max() - np.log(np.sum(np.exp(v - v.max()))))


got = ce_delta(z, 0)
check_dtype(got, np.float64, what="ce_delta(z, 0)")
check_close(got, -numeric_gradient(ce, z), rtol=1e-5, atol=1e-9,
            what="ce_delta vs -d/dz CE")

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_sign", "locked": true, "schema_version": 3, "solution": false, "task": false}
# (a) The asker of the case study replaced the delta with `q - onehot`, the formula in
# every textbook. Explain in two or three sentences what the `+=` update then does to
# the cross-entropy, and why the parameter norm grows so fast that it overflows to
# `inf` after a few updates. (2 points, graded by hand.)

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_sign", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# `q - onehot` is the gradient of the cross-entropy, so adding it is gradient *ascent*:
# every update makes the loss larger by pushing the true-class logit down and the
# others up. The cross-entropy has no upper bound and its gradient never vanishes on
# the way up (it tends to a one-hot on a wrong class), so the steps do not shrink; with
# ReLU layers the outputs grow multiplicatively with the weights of every layer and
# the norm explodes geometrically until it overflows.
#
# Mark scheme: 1 point for "gradient ascent / climbs the loss", 1 point for the
# unbounded loss with a non-vanishing gradient (compounding through the layers).

# %% [markdown] nbgrader={"grade": false, "grade_id": "task3", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. Fix the C program (6 points)
#
# Write the **C body** of the program's output-delta function
#
# ```c
# static inline void softmax(double input[OUTPUT], double loss[OUTPUT], int label, int count)
# {
#     /* your statements here */
# }
# ```
#
# so that the network trains with the cross-entropy: `input` holds the `count` outputs
# of the network, `label` the true class, and you must fill `loss[0..count-1]` with the
# delta of a `+=` update. `exp` and `log` from `<math.h>` are available. Computing the
# softmax stably is good practice but not graded in C: the network's outputs stay far
# from `exp`'s overflow. `c_delta_body()` returns your C code as a Python string.
#
# The test compiles the course's C LeNet-5 (`csrc/lenet5/lenet5.c`) with your body,
# trains it for 10 epochs with ALPHA 0.1 and batches of 50 on the MNIST-shaped digits
# and requires at least 95% test accuracy; it also checks that the textbook sign does
# not get there.

# %% nbgrader={"grade": false, "grade_id": "c_delta_body", "locked": false, "schema_version": 3, "solution": true, "task": false}
def c_delta_body():
    """C statements for the body of softmax(input, loss, label, count)."""
    ### BEGIN SOLUTION
    return r"""
    double top = input[0], total = 0;
    for (int i = 1; i < count; ++i)
        if (input[i] > top) top = input[i];
    for (int i = 0; i < count; ++i) {
        loss[i] = exp(input[i] - top);
        total += loss[i];
    }
    for (int i = 0; i < count; ++i)
        loss[i] = (i == label) - loss[i] / total;   /* onehot - p: minus the CE gradient */
    """
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_c_delta_body", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
body = c_delta_body()
assert isinstance(body, str) and body.strip(), "c_delta_body() must return C code as a string"
run = clenet.train(body=body, alpha=0.1, seed=1, epochs=10, batch=50)
print("test accuracy per epoch:", np.round(run.test_acc, 3))
assert run.final_acc >= 0.95, f"your delta reaches {run.final_acc:.1%}, not 95%"
textbook = clenet.train("ce_textbook", alpha=0.1, seed=1, epochs=1, batch=50)
assert textbook.final_acc < 0.5, "the textbook sign should not learn with a += update"

# %% [markdown] nbgrader={"grade": false, "grade_id": "task4", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. The same network in PyTorch (6 points)
#
# Implement `LeNet5`, the network of the C program, as a `torch.nn.Module`:
# input `(N, 1, 28, 28)` padded by 2 to 32x32 -> conv 5x5 to 6 maps -> ReLU -> 2x2 max
# pool -> conv 5x5 to 16 maps -> ReLU -> 2x2 max pool -> conv 5x5 to 120 maps (1x1) ->
# ReLU -> linear 120 -> 10. `forward` returns the logits `(N, 10)` (no ReLU on the
# outputs: chapter 9 explains why the C program's output ReLU is a bug of its own).
# That is 51,902 parameters.
#
# Then implement `train_lenet(model, loader, device, epochs)`: move the model to
# `device`, train it for `epochs` passes over `loader` (batches of `(images, labels)`)
# with `nn.CrossEntropyLoss` and an optimiser of your choice, and return the list of
# mean training losses per epoch (Python floats). Raise `ValueError` if `epochs < 1`.
# Autograd and `optimizer.step()` get the sign right for you: no `+=` by hand.
#
# The hidden test trains a fresh `LeNet5` for 12 epochs with batches of 64 and requires
# at least 95% accuracy on the 360 held-out test images. (One image is 0.28% here: a good
# recipe lands at 96-98% depending on the seed, so leave yourself some margin.)

# %% nbgrader={"grade": false, "grade_id": "lenet5", "locked": false, "schema_version": 3, "solution": true, "task": false}
class LeNet5(nn.Module):
    """LeNet-5 as in the course's C program, returning logits."""

    def __init__(self):
        super().__init__()
        ### BEGIN SOLUTION
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 120, 5), nn.ReLU(),
        )
        self.classifier = nn.Linear(120, 10)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.classifier(self.features(x).flatten(1))
        ### END SOLUTION


def train_lenet(model, loader, device, epochs):
    """Train model with cross-entropy on device; return the mean loss of each epoch."""
    ### BEGIN SOLUTION
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    model.to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    # One-cycle schedule: warm up, then anneal; steadier final accuracy than a constant rate.
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3,
                                                total_steps=epochs * len(loader))
    loss_fn = nn.CrossEntropyLoss()
    history = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(xb)
            count += len(xb)
        history.append(total / count)
    return history
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_lenet5", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
seed_everything(0)
device = pick_device()
net = LeNet5()
assert sum(p.numel() for p in net.parameters()) == 51902, "LeNet-5 here has 51,902 parameters"
assert tuple(net(torch.zeros(3, 1, 28, 28)).shape) == (3, 10)
X_train, y_train, X_test, y_test = mnist_like_tensors(device)
gen = torch.Generator().manual_seed(0)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X_train, y_train),
                                     batch_size=64, shuffle=True, generator=gen)
losses = train_lenet(net, loader, device, 2)
assert len(losses) == 2 and all(isinstance(v, float) for v in losses)
assert losses[1] < losses[0] < np.log(10) + 0.2, f"the loss should fall from ~ln 10: {losses}"
check_raises(ValueError, train_lenet, net, loader, device, 0, match="epoch")

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_alpha", "locked": true, "schema_version": 3, "solution": false, "task": false}
# (b) With the sign fixed, the C program still fails at ALPHA 0.5 (on every seed of
# chapter 9) but the original MSE delta is happy there. Using your two deltas from tasks 1 and 2,
# explain why in two or three sentences. (1 point, graded by hand.)

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_alpha", "locked": false, "points": 1, "schema_version": 3, "solution": true, "task": false}
# Every entry of the MSE delta carries a factor $q_i$, so its steps are small and
# vanish when the softmax is unsure or confidently wrong; the CE delta `onehot - q` has
# entries of size up to 1 whatever the prediction (at the uniform start it is exactly
# $C = 10$ times longer than the MSE delta). At the same ALPHA the CE steps are therefore
# much larger, big enough at 0.5 to push ReLU units into the dead region (in chapter 9's
# runs, the maps of the second convolution stop being positive for any image), after
# which the outputs barely depend on the input and the loss stalls near ln 10. ALPHA 0.1
# gives CE a step of the size that suits it.
#
# Mark scheme: 1 point for "MSE delta scaled by q, CE delta is not, so 0.5 is too large
# for CE" (any equivalent argument).
