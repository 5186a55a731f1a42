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
# # Problem set 4: softmax numerical stability
#
# Chapter 7 of the book. You will write the five functions that sit at the end of every
# classifier, in NumPy, so that they never overflow, never lose the small
# log-probabilities, and agree with SciPy and PyTorch to many digits; then, in PyTorch, a
# cross-entropy and a loss-scaled gradient that are safe for 16-bit logits.
#
# * Replace every `raise NotImplementedError()` with your code. Do not rename the functions.
# * The test cells under each task check your work as you go; more tests, hidden here,
#   grade it (huge and infinite logits, batches, dtypes). Passing the visible tests is a
#   good sign, not a guarantee.
# * A graded call that warns fails its check: the hidden checks run your functions with
#   warnings turned into errors.
# * Do not call SciPy or PyTorch in tasks 1-4: the hidden tests compare against them.
#   Tasks 5 and 6 (16-bit logits, chapter 7's mixed-precision section) are in PyTorch.
# * Restart the kernel and run all cells before you submit.
#
# Points: 29 in all (27 autograded, 2 graded by hand).
#
# ## Rules that hold for all four array functions
#
# * `z` is anything `np.asarray` accepts. Floating inputs **keep their dtype**
#   (float16 in, float16 out; likewise float32 and float64) and are computed in that
#   dtype; integer inputs are treated as float64.
# * `axis` (default `-1`, the class axis) says which axis holds the logits of one
#   example; every other axis is a batch axis, and each example is handled on its own.
# * A logit of `-inf` means "this class is impossible": it gets probability 0 and
#   log-probability `-inf`, and the other classes behave as if it were not there.
# * **A row whose logits are all `-inf`** has no possible class. We follow SciPy and
#   PyTorch: `logsumexp` of it is `-inf` (the log of an empty sum of zeros), while
#   `softmax` and `log_softmax` are undefined and return `nan` for every entry of that row
#   (a `0 / 0`). The same holds for an empty axis: `logsumexp` gives `-inf` (the log of
#   an empty sum).
# * A `+inf` logit makes `logsumexp` `+inf`, and a `nan` logit makes the result `nan`.
# * In `softmax` and `log_softmax`, a row with a `+inf` logit must give its other classes
#   probability 0 (log-probability `-inf`) and each `+inf` class `nan` (`inf / inf`): shift
#   that row by 0, as the hint of task 1 says.
# * No warnings: use `np.errstate` where an intermediate step may overflow or divide by
#   zero on purpose.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

from infoloss.testing import check_close, check_raises

# %% [markdown] nbgrader={"grade": false, "grade_id": "task1", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. `logsumexp` (5 points)
#
# Implement `logsumexp(z, axis=-1)` $= \log \sum_j e^{z_j}$ along `axis` (the axis is
# removed from the result's shape), with the **per-example** maximum subtracted before
# the exponential:
# $\operatorname{logsumexp}(\mathbf z) = m + \log \sum_j e^{z_j - m}$, $m = \max_j z_j$.
#
# * It must be exact for huge logits: `logsumexp([1e308, 1e308])` is `1e308` (plus
#   $\ln 2$, which does not show at that size), not `inf`.
# * The edge cases, as in SciPy and PyTorch (chapter 7): `[-inf, -inf]` gives `-inf`,
#   `[inf]` gives `inf`, `[]` gives `-inf`, and a `nan` anywhere in an example makes that
#   example's result `nan`; every example of a batch is handled on its own.
# * Hint: when $m$ is not finite, subtracting it gives `nan`; shift by 0 instead.

# %% nbgrader={"grade": false, "grade_id": "logsumexp", "locked": false, "schema_version": 3, "solution": true, "task": false}
def logsumexp(z, axis=-1):
    """log(sum(exp(z))) along axis, overflow-free, in the dtype of z (float64 for ints)."""
    ### BEGIN SOLUTION
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)  # ints and bools; strings raise ValueError here
    if z.shape[axis] == 0:
        return np.full(np.delete(z.shape, axis % z.ndim), -np.inf, dtype=z.dtype)
    m = np.max(z, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(m), m, np.zeros_like(m))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        s = np.sum(np.exp(z - shift), axis=axis, keepdims=True)
        out = np.log(s) + shift
    return np.squeeze(out, axis=axis)

    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_logsumexp", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
# log(e^0 + e^0) = log 2, and shifting every logit by b shifts the result by b.
check_close(logsumexp(np.array([0.0, 0.0])), np.log(2), what="logsumexp([0, 0])")
check_close(logsumexp(np.array([1000.0, 1000.0])), 1000 + np.log(2), rtol=1e-12,
            what="logsumexp([1000, 1000]) (the naive formula overflows)")
check_close(logsumexp(np.array([[1.0, 2.0, 3.0], [-5.0, 0.0, 5.0]])),
            [3.40760596444438, 5.006760443547122], rtol=1e-12, what="logsumexp of a batch")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task2", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. `softmax` and `log_softmax` (7 points)
#
# Implement `softmax(z, axis=-1)` and `log_softmax(z, axis=-1)`, both with the shape of
# `z`.
#
# * `log_softmax` must **not** be `np.log(softmax(z))`: that returns `-inf` as soon as a
#   probability underflows, while the true log-probability is an ordinary number. For
#   example `log_softmax([1000, 1])` is `[0, -999]`.
# * Compute it as $(z_i - m) - \log \sum_j e^{z_j - m}$ and not as
#   `z - logsumexp(z)`: for huge logits the second form subtracts two nearly equal huge
#   numbers and loses every digit. `log_softmax([1e308, 1e308])` is
#   $[-\ln 2, -\ln 2]$, not `[0, 0]`.
# * `softmax([1000, 0, 0, 0])` is `[1, 0, 0, 0]`, not `nan`.
# * Subtract the maximum of **each example** (each slice along `axis`), not the maximum of
#   the whole batch.
# * `-inf` entries and all-`-inf` rows: see the rules at the top.

# %% nbgrader={"grade": false, "grade_id": "softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
def softmax(z, axis=-1):
    """Probabilities exp(z) / sum(exp(z)) along axis, overflow-free, in the dtype of z."""
    ### BEGIN SOLUTION
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)  # ints and bools; strings raise ValueError here
    m = np.max(z, axis=axis, keepdims=True) if z.shape[axis] else np.zeros_like(z)
    shift = np.where(np.isfinite(m), m, np.zeros_like(m))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        e = np.exp(z - shift)
        return e / np.sum(e, axis=axis, keepdims=True)
    ### END SOLUTION


def log_softmax(z, axis=-1):
    """Log-probabilities (z - m) - log(sum(exp(z - m))) along axis, in the dtype of z."""
    ### BEGIN SOLUTION
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)  # ints and bools; strings raise ValueError here
    m = np.max(z, axis=axis, keepdims=True) if z.shape[axis] else np.zeros_like(z)
    shift = np.where(np.isfinite(m), m, np.zeros_like(m))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        shifted = z - shift
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_softmax", "locked": true, "points": 7, "schema_version": 3, "solution": false, "task": false}
check_close(softmax(np.array([0.0, 0.0])), [0.5, 0.5], what="softmax([0, 0])")
check_close(softmax(np.array([1.0, 2.0, 3.0])), [0.09003057317038046, 0.24472847105479764,
            0.6652409557748219], rtol=1e-12, what="softmax([1, 2, 3])")
check_close(softmax(np.array([1000.0, 0.0, 0.0, 0.0])), [1.0, 0.0, 0.0, 0.0],
            what="softmax([1000, 0, 0, 0])")
check_close(log_softmax(np.array([1000.0, 1.0])), [0.0, -999.0], rtol=1e-15,
            what="log_softmax([1000, 1])")
check_close(np.exp(log_softmax(np.array([0.5, -1.0, 2.0]))).sum(), 1.0, rtol=1e-12,
            what="exp(log_softmax(z)).sum()")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task3", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. Fused losses (8 points)
#
# (a) `cross_entropy_with_logits(z, y)`: the mean over the batch of
# $-\log \operatorname{softmax}(\mathbf z_i)_{y_i}$, for logits `z` of shape `(N, C)`
# and integer labels `y` of shape `(N,)` with values in `0 .. C-1` (what
# `torch.nn.functional.cross_entropy` computes). Work with `log_softmax`, never
# `log(softmax)`.
#
# (b) `bce_with_logits(z, y)`: the mean over **all elements** of the binary cross-entropy
# $-[y \log \sigma(z) + (1 - y) \log(1 - \sigma(z))]$, for logits `z` and targets `y` in
# $[0, 1]$ of the same shape (soft targets allowed). Rewrite it so that it stays finite
# and accurate for logits of any size: it equals
# $\max(z, 0) - z y + \log(1 + e^{-|z|})$ (check it!), and `np.log1p` helps.
# The logits of (b) are finite: what it returns for an infinite logit is not graded.
#
# Both return a 0-d NumPy value in the dtype of `z` (float64 for integer `z`). Raise
# `ValueError` with a helpful message for: `z` not 2-D or with no rows (a), labels that are
# not integers or are out of range or whose length is not `N` (a); shapes that differ,
# targets outside $[0, 1]$ or an empty input (b).

# %% nbgrader={"grade": false, "grade_id": "fused_losses", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cross_entropy_with_logits(z, y):
    """Mean over the batch of -log softmax(z)[i, y[i]] (integer labels y)."""
    ### BEGIN SOLUTION
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)  # ints and bools; strings raise ValueError here
    y = np.asarray(y)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(f"logits must have shape (N, C) with N, C >= 1; got shape {z.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices; got dtype {y.dtype}")
    if y.shape != (z.shape[0],):
        raise ValueError(f"labels must have shape ({z.shape[0]},) to match the logits; "
                         f"got {y.shape}")
    if np.any(y < 0) or np.any(y >= z.shape[1]):
        raise ValueError(f"labels must lie in 0 .. {z.shape[1] - 1}")
    picked = log_softmax(z, axis=-1)[np.arange(z.shape[0]), y]
    return -np.mean(picked, dtype=z.dtype)
    ### END SOLUTION


def bce_with_logits(z, y):
    """Mean over all elements of the binary cross-entropy of sigmoid(z) against y."""
    ### BEGIN SOLUTION
    z = np.atleast_1d(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)  # ints and bools; strings raise ValueError here
    y = np.asarray(y)
    if y.shape != z.shape and np.atleast_1d(y).shape != z.shape:
        raise ValueError(f"targets must have the shape of the logits {z.shape}; got {y.shape}")
    y = np.atleast_1d(y).astype(z.dtype)
    if z.size == 0:
        raise ValueError("bce_with_logits needs at least one logit")
    if np.any(np.isnan(y)) or np.any(y < 0) or np.any(y > 1):
        raise ValueError("targets must be probabilities in [0, 1]")
    with np.errstate(over="ignore", invalid="ignore"):
        loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return np.mean(loss, dtype=z.dtype)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fused_losses", "locked": true, "points": 8, "schema_version": 3, "solution": false, "task": false}
# A uniform prediction over C classes costs ln C; sigmoid(0) = 1/2 costs ln 2 either way.
check_close(cross_entropy_with_logits(np.zeros((4, 10)), np.array([0, 3, 9, 5])), np.log(10),
            rtol=1e-12, what="CE of uniform logits")
check_close(cross_entropy_with_logits(np.array([[1000.0, 0.0], [0.0, 1000.0]]),
                                      np.array([1, 1])), 500.0, rtol=1e-12,
            what="CE with logits 1000 (one example wrong by 1000)")
check_close(bce_with_logits(np.zeros(3), np.array([0.0, 1.0, 0.5])), np.log(2), rtol=1e-12,
            what="BCE of logit 0")
check_close(bce_with_logits(np.array([100.0]), np.array([0.0])), 100.0, rtol=1e-12,
            what="BCE(100, 0) (the naive formula gives inf)")
check_raises(ValueError, cross_entropy_with_logits, np.zeros((2, 3)), np.array([0, 3]),
             match="label")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task4", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. Where the naive formula breaks (2 points, graded by hand)
#
# Run the cell below. It evaluates the naive $-\log\big(e^{z_y} / \sum_j e^{z_j}\big)$ and
# your `cross_entropy_with_logits` on one example whose logits are `scale * [1, 0, -1]`
# with label 2, in float32. In the answer cell (graded by hand), say (i) at which scale the
# naive loss stops being finite and why exactly there (which operation fails first, and at
# what number), and (ii) why the frameworks offer `CrossEntropyLoss` on logits and
# `BCEWithLogitsLoss` instead of asking you to apply softmax or sigmoid yourself.

# %% nbgrader={"grade": false, "grade_id": "show_naive", "locked": true, "schema_version": 3, "solution": false, "task": false}
def naive_ce(z, y):
    with np.errstate(all="ignore"):
        e = np.exp(z)
        return -np.log(e[y] / e.sum())

for scale in (1, 10, 40, 44, 48, 50, 51, 52, 89, 1000):
    z = np.float32(scale) * np.array([1.0, 0.0, -1.0], dtype=np.float32)
    print(f"scale {scale:5d}: naive {naive_ce(z, 2):>10.4f}   "
          f"stable {cross_entropy_with_logits(z[None, :], np.array([2])):>10.4f}")

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_naive", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# (i) The true loss is `2 * scale`. The naive loss is right up to scale 44, drifts from
# scale 48 on (96.0003, 99.98, 101.89 instead of 96, 100, 102) and is `inf` from scale 52
# on. The exponentials themselves are fine there ($e^{52}$ is far below the float32
# overflow threshold 88.72); the ratio $e^{-s} / (e^{s} + 1 + e^{-s}) \approx e^{-2s}$ is
# what fails: below $1.18 \cdot 10^{-38}$ (about $e^{-87.3}$) it is subnormal and loses
# digits, and below half the smallest subnormal, $0.7 \cdot 10^{-45}$ ($e^{-103.97}$), it
# rounds to 0, so $-\log 0 = \infty$ once $2s > 103.97$. (With the label on the largest logit,
# the overflow of $e^{s}$ above 88.72 would give `inf / inf = nan` instead.) The stable
# version works with $z_y - \max_j z_j - \log\sum_j e^{z_j - \max}$ and never forms
# those numbers.
#
# (ii) Because the fused form can be computed stably in log space
# ($z_y - \operatorname{logsumexp}(\mathbf z)$, $\max(z,0) - zy + \log(1+e^{-|z|})$) and its
# gradient is the simple $p - y$; applying softmax or sigmoid first throws the small
# probabilities away (they round to 0 or 1) before the log can see them.
#
# Mark scheme: 1 point for locating the failure with the right mechanism (underflow of
# the probability ratio to 0 near scale 52, not overflow of exp); 1 point for the
# fused-loss argument (stability in log space, simple gradient).

# %% [markdown] nbgrader={"grade": false, "grade_id": "task5", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5. A cross-entropy for 16-bit logits (4 points)
#
# Chapter 7's section on mixed precision: a model trained in bfloat16 or float16 outputs
# 16-bit logits, and the loss must not be computed in 16 bits. Implement
# `cross_entropy_low_precision(logits, targets)` in **PyTorch**:
#
# * `logits`: a `torch.Tensor` of shape `(N, C)` with `N, C >= 1` and dtype
#   `torch.float16`, `torch.bfloat16` or `torch.float32`; `targets`: a tensor of integer
#   class indices (any integer dtype) of shape `(N,)` with values in `0 .. C-1`.
# * Return the **mean** over the batch of $-\log \operatorname{softmax}(\mathbf z_i)_{y_i}$
#   as a 0-d tensor of dtype **`torch.float32`** (whatever the dtype of the logits), on the
#   logits' device, computed by converting the logits to float32 **before** the
#   log-softmax. For float32 logits it equals `F.cross_entropy(logits, targets)`; you may
#   call `F.cross_entropy` or `F.log_softmax` on the upcast logits.
# * It must be right where the 16-bit computation is not: bfloat16 logits up to $10^4$
#   (a bfloat16 loss keeps only 2-3 digits), float16 logits near 65504 (the float16 loss
#   overflows to `inf` once it passes 65504). A `-inf` logit on a wrong class is allowed;
#   on the true class the loss is `inf`.
# * Autograd must reach the logits: the gradient with respect to 16-bit logits is a 16-bit
#   tensor, $(\mathbf q_i - \mathbf e_{y_i}) / N$ rounded to that dtype.
# * Raise `ValueError`, with a message that names the problem, for: logits or targets that
#   are not torch tensors; logits that are not 2-D or have no rows or no columns;
#   float64 logits (they are not low precision: use `F.cross_entropy`) and non-floating
#   logits; targets that are not integers, whose shape is not `(N,)`, or with a value
#   outside `0 .. C-1`.

# %% nbgrader={"grade": false, "grade_id": "imports_torch", "locked": true, "schema_version": 3, "solution": false, "task": false}
import torch
import torch.nn.functional as F

LOW_PRECISION = (torch.float16, torch.bfloat16, torch.float32)

# %% nbgrader={"grade": false, "grade_id": "ce_low_precision", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cross_entropy_low_precision(logits, targets):
    """Mean cross-entropy of 16-bit (or float32) logits, computed in float32; float32 result."""
    ### BEGIN SOLUTION
    if not isinstance(logits, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise ValueError("logits and targets must be torch tensors")
    if logits.dtype not in LOW_PRECISION:
        raise ValueError(f"logits must be float16, bfloat16 or float32; got {logits.dtype} "
                         "(for float64 logits use F.cross_entropy)")
    if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] == 0:
        raise ValueError(f"logits must have shape (N, C) with N, C >= 1; got {tuple(logits.shape)}")
    if targets.dtype.is_floating_point or targets.dtype.is_complex or targets.dtype == torch.bool:
        raise ValueError(f"targets must be integer class indices; got dtype {targets.dtype}")
    if tuple(targets.shape) != (logits.shape[0],):
        raise ValueError(f"targets must have shape ({logits.shape[0]},) to match the logits; "
                         f"got {tuple(targets.shape)}")
    if bool((targets < 0).any()) or bool((targets >= logits.shape[1]).any()):
        raise ValueError(f"targets (class labels) must lie in 0 .. {logits.shape[1] - 1}")
    return F.cross_entropy(logits.float(), targets.long())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_ce_low_precision", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# bfloat16 rounds 1e4 to 9984, so the exact loss of these bfloat16 logits is
# (1000 + 9984) / 2 = 5492; computed in bfloat16 it would come out as 5504.
z = torch.tensor([[1000.0, 0.0], [0.0, 1e4]]).to(torch.bfloat16)
out = cross_entropy_low_precision(z, torch.tensor([1, 0]))
assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (), (
    f"expected a 0-d float32 tensor, got {out!r}")
check_close(out, 5492.0, rtol=1e-6, what="CE of bfloat16 logits [[1000, 0], [0, 1e4]]")
# float16: the loss 120000 is above float16's largest number 65504
z = torch.tensor([[6e4, 0.0, -6e4]], dtype=torch.float16)
check_close(cross_entropy_low_precision(z, torch.tensor([2])), 1.2e5, rtol=1e-6,
            what="CE of float16 logits [6e4, 0, -6e4], label 2 (inf in float16)")
# float32: the same as F.cross_entropy
g = torch.Generator().manual_seed(5)
z, y = torch.randn(8, 5, generator=g), torch.randint(0, 5, (8,), generator=g)
check_close(cross_entropy_low_precision(z, y), F.cross_entropy(z, y), rtol=1e-6,
            what="CE of float32 logits")
check_raises(ValueError, cross_entropy_low_precision, z.double(), y, match="float64")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task6", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6. Loss scaling by hand (3 points)
#
# In float16 training the gradient flows back through float16 tensors, and an entry below
# half of float16's smallest subnormal number ($2^{-25}$) becomes exactly 0. Implement
# `loss_scaled_grad(logits, targets, scale)`, the gradient of the mean cross-entropy with
# respect to 16-bit logits, with loss scaling:
#
# * `logits`: a tensor of shape `(N, C)` of dtype `torch.float16` or `torch.bfloat16`;
#   `targets` as in task 5; `scale`: a positive finite Python number, the loss scale $S$
#   (powers of two add no rounding).
# * Compute the loss in float32 from the upcast logits, as in task 5, multiply it by
#   `scale`, and take the gradient with respect to the 16-bit logits (so it **is** a 16-bit
#   tensor, in which small entries can underflow and large ones overflow). Do not touch
#   `logits.grad`: work on `logits.detach().requires_grad_()` and `torch.autograd.grad`.
# * If any entry of that 16-bit gradient is `inf` or `nan`, return `None` (a
#   `GradScaler` skips the step then). Otherwise convert it to float32 **first** and then
#   divide by `scale`: return a float32 tensor of the logits' shape.
# * Raise `ValueError` (with a message) for `scale` not a positive finite number (also
#   for `True`/`False`), and for logits that are not float16 or bfloat16; invalid logits
#   or targets otherwise raise as in task 5.

# %% nbgrader={"grade": false, "grade_id": "loss_scaled_grad", "locked": false, "schema_version": 3, "solution": true, "task": false}
def loss_scaled_grad(logits, targets, scale):
    """Gradient of the mean CE w.r.t. 16-bit logits, with the loss scaled by `scale`."""
    ### BEGIN SOLUTION
    import math

    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or \
            not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive finite number; got {scale!r}")
    if not isinstance(logits, torch.Tensor) or logits.dtype not in (torch.float16,
                                                                    torch.bfloat16):
        raise ValueError("logits must be a float16 or bfloat16 tensor; got "
                         f"{getattr(logits, 'dtype', type(logits).__name__)}")
    cross_entropy_low_precision(logits, targets)      # the same checks as task 5
    z = logits.detach().requires_grad_()
    loss = F.cross_entropy(z.float(), targets.long())
    (grad,) = torch.autograd.grad(loss * scale, z)     # a 16-bit gradient
    if not bool(torch.isfinite(grad).all()):
        return None
    return grad.float() / scale
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_loss_scaled_grad", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# The wrong class's gradient is q_1 = e^-20 / (1 + e^-20), about 2.1e-9: below 2^-25, it
# is 0 in float16 without scaling, and close to the truth with S = 2^16.
z = torch.tensor([[0.0, -20.0]], dtype=torch.float16)
q1 = np.exp(-20.0) / (1 + np.exp(-20.0))
g1 = loss_scaled_grad(z, torch.tensor([0]), 1.0)
assert isinstance(g1, torch.Tensor) and g1.dtype == torch.float32 and g1.shape == (1, 2), (
    f"expected a float32 tensor of shape (1, 2), got {g1!r}")
check_close(g1[0, 1], 0.0, what="the small entry without scaling (underflows to 0)")
check_close(loss_scaled_grad(z, torch.tensor([0]), 2.0 ** 16)[0, 1], q1, rtol=1e-3,
            what="the small entry with the loss scaled by 2^16")
assert loss_scaled_grad(z, torch.tensor([0]), 2.0 ** 50) is None, (
    "with S = 2^50 the small entry becomes about 2.3e6, above 65504: return None")
check_raises(ValueError, loss_scaled_grad, z, torch.tensor([0]), 0.0)
