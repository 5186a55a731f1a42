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
# * No warnings: use `np.errstate` where an intermediate step may overflow or divide by
#   zero on purpose.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

from infoloss.testing import check_close, check_dtype, check_raises

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
### BEGIN HIDDEN TESTS
import scipy.special

rng = np.random.default_rng(2024)
with np.errstate(all="ignore"):
    # agreement with SciPy on random batches, along each axis of a 3-D array
    x = rng.normal(scale=30.0, size=(4, 5, 6))
    for ax in (-1, 0, 1):
        check_close(logsumexp(x, axis=ax), scipy.special.logsumexp(x, axis=ax), rtol=1e-13,
                    what=f"logsumexp along axis {ax}")
    # per-row maximum: rows on wildly different scales
    rows = np.array([[1000.0, 999.0], [0.0, 1.0], [-1000.0, -1001.0]])
    check_close(logsumexp(rows), scipy.special.logsumexp(rows, axis=-1), rtol=1e-13,
                what="logsumexp with a different max in every row")
    # huge logits
    check_close(logsumexp([1e308, 1e308]), 1e308, rtol=1e-15, what="logsumexp([1e308, 1e308])")
    check_close(logsumexp([1e308, -1e308]), 1e308, rtol=1e-15, what="logsumexp([1e308, -1e308])")
    check_close(logsumexp([-1e308, -1e308]), -1e308, rtol=1e-15,
                what="logsumexp([-1e308, -1e308])")
    check_close(logsumexp([1e4, -1e4, 0.0]), 1e4, rtol=1e-15, what="logsumexp([1e4, -1e4, 0])")
    check_close(logsumexp([-1e4, -1e4]), -1e4 + np.log(2), rtol=1e-15,
                what="logsumexp([-1e4, -1e4]) (the naive formula underflows to -inf)")
    # infinities and nan
    check_close(logsumexp([-np.inf, 0.0, np.log(3)]), np.log(4), rtol=1e-14,
                what="logsumexp with a -inf entry")
    check_close(logsumexp(np.array([[-np.inf, -np.inf], [0.0, 0.0]])), [-np.inf, np.log(2)],
                rtol=1e-14, what="logsumexp with an all -inf row")
    check_close(logsumexp([np.inf, 1.0]), np.inf, what="logsumexp([inf, 1])")
    check_close(logsumexp([np.nan, 1.0]), np.nan, what="logsumexp([nan, 1])")
    check_close(logsumexp(np.zeros((3, 0))), np.full(3, -np.inf), what="logsumexp of empty rows")
    # the edge cases of the chapter's rule, one by one and along a batch axis
    check_close(logsumexp([-np.inf, -np.inf]), -np.inf, what="logsumexp([-inf, -inf])")
    check_close(logsumexp([np.inf]), np.inf, what="logsumexp([inf])")
    check_close(logsumexp([np.inf, np.inf]), np.inf, what="logsumexp([inf, inf])")
    check_close(logsumexp([np.inf, -np.inf]), np.inf, what="logsumexp([inf, -inf])")
    check_close(logsumexp(np.zeros(0)), -np.inf, what="logsumexp([])")
    assert np.shape(logsumexp(np.zeros(0))) == (), "logsumexp([]) is a single value"
    check_close(logsumexp([np.nan, np.inf]), np.nan, what="logsumexp([nan, inf])")
    check_close(logsumexp([-np.inf, np.nan]), np.nan, what="logsumexp([-inf, nan])")
    cols = np.array([[-np.inf, np.inf, np.nan, 1.0], [-np.inf, 0.0, 0.0, 1.0]])
    check_close(logsumexp(cols, axis=0), [-np.inf, np.inf, np.nan, 1.0 + np.log(2)],
                rtol=1e-14, what="logsumexp along axis 0 with -inf, inf and nan columns")
    check_close(logsumexp(cols, axis=0), scipy.special.logsumexp(cols, axis=0), rtol=1e-14,
                what="logsumexp edge cases vs scipy")
    # the identity logsumexp(z - b) = logsumexp(z) - b (not invariance)
    check_close(logsumexp(x[0] - 7.5), logsumexp(x[0]) - 7.5, rtol=1e-13,
                what="logsumexp(z - b) = logsumexp(z) - b")
    # dtypes
    for dt, tol in ((np.float16, 2e-3), (np.float32, 2e-6), (np.float64, 1e-13)):
        z = (rng.normal(scale=3.0, size=(3, 7))).astype(dt)
        got = logsumexp(z)
        check_dtype(got, dt, what=f"logsumexp of {np.dtype(dt).name} logits")
        check_close(got, scipy.special.logsumexp(z.astype(np.float64), axis=-1), rtol=tol,
                    what=f"logsumexp of {np.dtype(dt).name} logits")
    got = logsumexp(np.array([1e4, 1e4], dtype=np.float16))
    check_dtype(got, np.float16, what="logsumexp of float16 [1e4, 1e4]")
    check_close(got, 1e4, rtol=1e-3, what="logsumexp of float16 [1e4, 1e4] (exp overflows at 11.09)")
    got = logsumexp([3, 4])
    check_dtype(got, np.float64, what="logsumexp of integers")
    check_close(got, np.log(np.exp(3.0) + np.exp(4.0)), rtol=1e-14, what="logsumexp([3, 4])")
check_raises(ValueError, logsumexp, np.array(["a", "b"]))
### END HIDDEN TESTS

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
### BEGIN HIDDEN TESTS
import scipy.special
import torch

rng = np.random.default_rng(7)
with np.errstate(all="ignore"):
    x = rng.normal(scale=20.0, size=(6, 9))
    check_close(softmax(x), scipy.special.softmax(x, axis=-1), rtol=1e-12, atol=1e-300,
                what="softmax vs scipy")
    # entries near 0 carry an absolute rounding error of about eps * |z|: hence atol
    check_close(log_softmax(x), scipy.special.log_softmax(x, axis=-1), rtol=1e-13, atol=1e-12,
                what="log_softmax vs scipy")
    xt = torch.from_numpy(x)
    check_close(softmax(x), torch.softmax(xt, dim=-1).numpy(), rtol=1e-12, atol=1e-300,
                what="softmax vs torch")
    check_close(log_softmax(x), torch.log_softmax(xt, dim=-1).numpy(), rtol=1e-13, atol=1e-12,
                what="log_softmax vs torch")
    x3 = rng.normal(scale=5.0, size=(3, 4, 5))
    for ax in (0, 1, 2):
        check_close(softmax(x3, axis=ax), scipy.special.softmax(x3, axis=ax), rtol=1e-12,
                    what=f"softmax along axis {ax}")
        check_close(log_softmax(x3, axis=ax), scipy.special.log_softmax(x3, axis=ax),
                    rtol=1e-12, atol=1e-13, what=f"log_softmax along axis {ax}")
    # per-row max: a global max would turn the second and third rows into 0/0
    rows = np.array([[1000.0, 999.0], [0.0, 1.0], [-1000.0, -1001.0]])
    a, b = 1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(1.0))
    expected = np.array([[a, b], [b, a], [a, b]])
    check_close(softmax(rows), expected, rtol=1e-13, what="softmax with a max per row")
    check_close(log_softmax(rows), np.log(expected), rtol=1e-13,
                what="log_softmax with a max per row")
    # huge logits: +-1e4 and +-1e308
    check_close(softmax([1e4, -1e4]), [1.0, 0.0], what="softmax([1e4, -1e4])")
    check_close(log_softmax([1e4, -1e4]), [0.0, -2e4], rtol=1e-15, what="log_softmax([1e4, -1e4])")
    check_close(softmax([-1e4, -1e4, -1e4, -1e4]), [0.25] * 4, rtol=1e-15,
                what="softmax of four logits -1e4 (naive: 0/0)")
    check_close(softmax([1e308, 1e308]), [0.5, 0.5], rtol=1e-15, what="softmax([1e308, 1e308])")
    check_close(softmax([1e308, -1e308]), [1.0, 0.0], what="softmax([1e308, -1e308])")
    check_close(log_softmax([1e308, 1e308]), [-np.log(2)] * 2, rtol=1e-15,
                what="log_softmax([1e308, 1e308])")
    check_close(log_softmax([1e308, 0.0]), [0.0, -1e308], rtol=1e-15,
                what="log_softmax([1e308, 0])")
    check_close(log_softmax([-1e308, -1e308]), [-np.log(2)] * 2, rtol=1e-15,
                what="log_softmax([-1e308, -1e308])")
    # -inf entries and all -inf rows (nan, like scipy and torch)
    check_close(softmax([-np.inf, 0.0, 0.0]), [0.0, 0.5, 0.5], rtol=1e-15,
                what="softmax with a -inf entry")
    check_close(log_softmax([-np.inf, 0.0, 0.0]), [-np.inf, -np.log(2), -np.log(2)], rtol=1e-15,
                what="log_softmax with a -inf entry")
    batch = np.array([[-np.inf, -np.inf, -np.inf], [1.0, -np.inf, 1.0]])
    check_close(softmax(batch), [[np.nan] * 3, [0.5, 0.0, 0.5]], rtol=1e-15,
                what="softmax with an all -inf row (nan row)")
    check_close(log_softmax(batch), [[np.nan] * 3, [-np.log(2), -np.inf, -np.log(2)]],
                rtol=1e-15, what="log_softmax with an all -inf row (nan row)")
    check_close(softmax(batch), torch.softmax(torch.from_numpy(batch), dim=-1).numpy(),
                rtol=1e-15, what="softmax with -inf rows vs torch")
    check_close(log_softmax(batch), torch.log_softmax(torch.from_numpy(batch), dim=-1).numpy(),
                rtol=1e-15, what="log_softmax with -inf rows vs torch")
    # shift invariance, and the naive log(softmax) is not what is asked for
    check_close(softmax(x[0] + 1e7), softmax(x[0]), rtol=1e-6, atol=1e-300,
                what="softmax(z + 1e7) = softmax(z)")
    check_close(log_softmax(np.array([0.0, -800.0])), [0.0, -800.0], rtol=1e-15,
                what="log_softmax([0, -800]) (exp(-800) underflows)")
    # dtypes: float16, float32, float64 in, the same out
    for dt, rtol, atol in ((np.float16, 2e-3, 1e-4), (np.float32, 1e-5, 1e-7),
                           (np.float64, 1e-12, 1e-300)):
        z = np.array([[1000.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0], [-3.0, 0.5, 0.25, 2.0]],
                     dtype=dt)
        name = np.dtype(dt).name
        got = softmax(z)
        check_dtype(got, dt, what=f"softmax of {name} logits")
        check_close(got, scipy.special.softmax(z.astype(np.float64), axis=-1), rtol=rtol,
                    atol=atol, what=f"softmax of {name} logits")
        got = log_softmax(z)
        check_dtype(got, dt, what=f"log_softmax of {name} logits")
        check_close(got, scipy.special.log_softmax(z.astype(np.float64), axis=-1), rtol=rtol,
                    atol=atol, what=f"log_softmax of {name} logits")
        big = np.array([1e4, -1e4, 0.0], dtype=dt)
        check_dtype(softmax(big), dt, what=f"softmax of {name} [1e4, -1e4, 0]")
        check_close(softmax(big), [1.0, 0.0, 0.0], what=f"softmax of {name} [1e4, -1e4, 0]")
        check_close(log_softmax(big), [0.0, -2e4, -1e4], rtol=1e-3,
                    what=f"log_softmax of {name} [1e4, -1e4, 0]")
    check_dtype(softmax([1, 2]), np.float64, what="softmax of integers")
    check_close(log_softmax(np.array([1000.0, 1.0], dtype=np.float32)), [0.0, -999.0],
                rtol=1e-7, what="float32 log_softmax([1000, 1])")
check_raises(ValueError, softmax, np.array(["a", "b"]))
check_raises(ValueError, log_softmax, np.array(["a", "b"]))
### END HIDDEN TESTS

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
### BEGIN HIDDEN TESTS
import scipy.special
import torch
import torch.nn.functional as F

rng = np.random.default_rng(99)
with np.errstate(all="ignore"):
    for scale in (1.0, 30.0, 1e4):
        z = rng.normal(scale=scale, size=(32, 7))
        y = rng.integers(0, 7, size=32)
        ref = F.cross_entropy(torch.from_numpy(z), torch.from_numpy(y)).item()
        check_close(cross_entropy_with_logits(z, y), ref, rtol=1e-12,
                    what=f"CE vs torch (logit scale {scale:g})")
        t = rng.uniform(size=(8, 5))
        zb = rng.normal(scale=scale, size=(8, 5))
        ref = F.binary_cross_entropy_with_logits(torch.from_numpy(zb), torch.from_numpy(t)).item()
        check_close(bce_with_logits(zb, t), ref, rtol=1e-10,
                    what=f"BCE vs torch (logit scale {scale:g})")
    # labels are indices: equal to one-hot probability targets, per example
    z = rng.normal(size=(5, 4))
    y = np.array([3, 0, 1, 3, 2])
    check_close(cross_entropy_with_logits(z, y),
                -np.mean(np.sum(np.eye(4)[y] * scipy.special.log_softmax(z, axis=-1), axis=-1)),
                rtol=1e-12, what="CE with index labels = CE with one-hot targets")
    # huge logits
    check_close(cross_entropy_with_logits(np.array([[1e308, -1e308]]), np.array([0])), 0.0,
                atol=1e-300, what="CE([[1e308, -1e308]], [0])")
    check_close(cross_entropy_with_logits(np.array([[1e308, 0.0]]), np.array([1])), 1e308,
                rtol=1e-15, what="CE([[1e308, 0]], [1])")
    check_close(cross_entropy_with_logits(np.array([[1e4, -1e4, 0.0]]), np.array([2])), 1e4,
                rtol=1e-15, what="CE([[1e4, -1e4, 0]], [2])")
    # -inf logits: impossible wrong class is fine, impossible true class costs inf
    check_close(cross_entropy_with_logits(np.array([[0.0, -np.inf, 0.0]]), np.array([0])),
                np.log(2), rtol=1e-14, what="CE with a -inf logit on a wrong class")
    check_close(cross_entropy_with_logits(np.array([[0.0, -np.inf]]), np.array([1])), np.inf,
                what="CE with a -inf logit on the true class")
    # per-row max in a batch of different scales
    z = np.array([[1000.0, 999.0], [0.0, 1.0], [-1000.0, -1001.0]])
    check_close(cross_entropy_with_logits(z, np.array([1, 0, 0])),
                F.cross_entropy(torch.from_numpy(z), torch.tensor([1, 0, 0])).item(),
                rtol=1e-13, what="CE with a different max in every row")
    # BCE at extreme logits stays finite and exact
    check_close(bce_with_logits(np.array([1e9, -1e9]), np.array([1.0, 0.0])), 0.0, atol=1e-300,
                what="BCE at +-1e9, right side")
    check_close(bce_with_logits(np.array([1e9, -1e9]), np.array([0.0, 1.0])), 1e9, rtol=1e-15,
                what="BCE at +-1e9, wrong side")
    check_close(bce_with_logits(np.array([1e308]), np.array([0.0])), 1e308, rtol=1e-15,
                what="BCE(1e308, 0)")
    check_close(bce_with_logits(np.array([-1e308]), np.array([0.0])), 0.0, atol=1e-300,
                what="BCE(-1e308, 0)")
    check_close(bce_with_logits(np.array([-40.0]), np.array([0.0])), np.log1p(np.exp(-40.0)),
                rtol=1e-12, what="BCE(-40, 0) = log1p(exp(-40)) (tiny, not 0)")
    check_close(bce_with_logits(np.array([[2.0, -3.0], [0.5, 7.0]]),
                                np.array([[1.0, 0.0], [0.25, 1.0]])),
                F.binary_cross_entropy_with_logits(torch.tensor([[2.0, -3.0], [0.5, 7.0]],
                                                                dtype=torch.float64),
                                                   torch.tensor([[1.0, 0.0], [0.25, 1.0]],
                                                                dtype=torch.float64)).item(),
                rtol=1e-13, what="BCE of a 2x2 batch (mean over all elements)")
    # dtypes
    for dt, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        z = rng.normal(scale=4.0, size=(6, 3)).astype(dt)
        y = rng.integers(0, 3, size=6)
        got = cross_entropy_with_logits(z, y)
        check_dtype(got, dt, what=f"CE of {np.dtype(dt).name} logits")
        check_close(got, F.cross_entropy(torch.from_numpy(z.astype(np.float64)),
                                         torch.from_numpy(y)).item(), rtol=tol,
                    what=f"CE of {np.dtype(dt).name} logits")
        t = rng.uniform(size=(6, 3)).astype(dt)
        got = bce_with_logits(z, t)
        check_dtype(got, dt, what=f"BCE of {np.dtype(dt).name} logits")
        check_close(got, F.binary_cross_entropy_with_logits(
            torch.from_numpy(z.astype(np.float64)), torch.from_numpy(t.astype(np.float64))).item(),
            rtol=tol, what=f"BCE of {np.dtype(dt).name} logits")
check_raises(ValueError, cross_entropy_with_logits, np.zeros(3), np.array([0]))
check_raises(ValueError, cross_entropy_with_logits, np.zeros((2, 3)), np.array([0.0, 1.0]))
check_raises(ValueError, cross_entropy_with_logits, np.zeros((2, 3)), np.array([0, -1]))
check_raises(ValueError, cross_entropy_with_logits, np.zeros((2, 3)), np.array([0, 1, 2]))
check_raises(ValueError, cross_entropy_with_logits, np.zeros((0, 3)), np.zeros(0, dtype=int))
check_raises(ValueError, bce_with_logits, np.zeros((2, 2)), np.zeros(3))
check_raises(ValueError, bce_with_logits, np.zeros(2), np.array([0.5, 1.5]))
check_raises(ValueError, bce_with_logits, np.zeros(0), np.zeros(0))
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task4", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. Where the naive formula breaks (2 points, graded by hand)
#
# Run the cell below. It evaluates the naive $-\log\big(e^{z_y} / \sum_j e^{z_j}\big)$ and
# your `cross_entropy_with_logits` on one example whose logits are `scale * [1, 0, -1]`
# with label 2, in float32. In the answer cell, say (i) at which scale the naive loss stops
# being finite and why exactly there (which operation fails first, and at what number), and
# (ii) why the frameworks offer `CrossEntropyLoss` on logits and
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
### BEGIN HIDDEN TESTS
def _lp_ref(z, y):
    """float64 mean CE of the (already rounded) logits."""
    return F.cross_entropy(z.double(), y.long()).item()

gen = torch.Generator().manual_seed(2025)
for dt, scales in ((torch.bfloat16, (1.0, 30.0, 1e4)), (torch.float16, (1.0, 30.0, 2e4)),
                   (torch.float32, (1.0, 30.0, 1e4))):
    for scale in scales:
        z = (scale * torch.randn(16, 7, generator=gen)).clamp(-6e4, 6e4).to(dt)
        y = torch.randint(0, 7, (16,), generator=gen)
        out = cross_entropy_low_precision(z, y)
        assert out.dtype == torch.float32 and out.shape == (), (
            f"{dt} logits: expected a 0-d float32 tensor, got dtype {out.dtype}, "
            f"shape {tuple(out.shape)}")
        check_close(out, _lp_ref(z, y), rtol=1e-5, atol=1e-6,
                    what=f"CE of {dt} logits at scale {scale:g}")
# near float16's largest number: every logit is finite, the loss is not representable
z = torch.tensor([[65504.0, -65504.0], [-65504.0, 65504.0], [0.0, 0.0]], dtype=torch.float16)
check_close(cross_entropy_low_precision(z, torch.tensor([1, 1, 0])), (131008 + 0 + np.log(2)) / 3,
            rtol=1e-6, what="CE of float16 logits +-65504")
z = torch.tensor([[1e4, -1e4, 0.0], [3e3, 3e3, -3e3]]).to(torch.bfloat16)
check_close(cross_entropy_low_precision(z, torch.tensor([2, 1])), _lp_ref(z, torch.tensor([2, 1])),
            rtol=1e-6, what="CE of bfloat16 logits of +-1e4 (log-softmax in float32)")
# small differences: the bfloat16 log-softmax alone would be off by about 4e-3
z = (0.5 * torch.randn(64, 10, generator=gen)).to(torch.bfloat16)
y = torch.randint(0, 10, (64,), generator=gen)
check_close(cross_entropy_low_precision(z, y), _lp_ref(z, y), rtol=1e-6,
            what="CE of small bfloat16 logits (2-3 digits would not do)")
# -inf logits
z = torch.tensor([[0.0, -np.inf, 0.0]], dtype=torch.bfloat16)
check_close(cross_entropy_low_precision(z, torch.tensor([0])), np.log(2), rtol=1e-6,
            what="CE with a -inf logit on a wrong class")
check_close(cross_entropy_low_precision(z, torch.tensor([1])), np.inf,
            what="CE with a -inf logit on the true class")
# integer targets of other dtypes, one example, one class
z = torch.tensor([[2.0, 1.0, 0.5], [0.0, 0.25, 4.0]], dtype=torch.float16)
check_close(cross_entropy_low_precision(z, torch.tensor([0, 2], dtype=torch.int32)),
            _lp_ref(z, torch.tensor([0, 2])), rtol=1e-6, what="int32 targets")
check_close(cross_entropy_low_precision(torch.zeros(1, 1, dtype=torch.bfloat16),
                                        torch.tensor([0])), 0.0, atol=1e-7,
            what="one example, one class")
# autograd reaches the logits, in their dtype
for dt in (torch.bfloat16, torch.float16):
    z = (3 * torch.randn(6, 4, generator=gen)).to(dt).requires_grad_()
    y = torch.randint(0, 4, (6,), generator=gen)
    (grad,) = torch.autograd.grad(cross_entropy_low_precision(z, y), z)
    assert grad.dtype == dt, f"the gradient for {dt} logits should be {dt}, got {grad.dtype}"
    expected = (torch.softmax(z.detach().double(), 1) - F.one_hot(y, 4)) / 6
    check_close(grad.float(), expected, rtol=1e-2, atol=1e-4, what=f"gradient for {dt} logits")
# invalid input
z, y = torch.zeros(3, 4, dtype=torch.bfloat16), torch.tensor([0, 1, 2])
check_raises(ValueError, cross_entropy_low_precision, z.double(), y)
check_raises(ValueError, cross_entropy_low_precision, torch.zeros(3, 4, dtype=torch.int64), y)
check_raises(ValueError, cross_entropy_low_precision, np.zeros((3, 4)), y)
check_raises(ValueError, cross_entropy_low_precision, z, np.array([0, 1, 2]))
check_raises(ValueError, cross_entropy_low_precision, torch.zeros(4, dtype=torch.float16),
             torch.tensor([0]))
check_raises(ValueError, cross_entropy_low_precision, torch.zeros(2, 3, 4, dtype=torch.float16),
             torch.zeros(2, dtype=torch.long))
check_raises(ValueError, cross_entropy_low_precision, torch.zeros(0, 4, dtype=torch.float16),
             torch.zeros(0, dtype=torch.long))
check_raises(ValueError, cross_entropy_low_precision, torch.zeros(2, 0, dtype=torch.float16),
             torch.zeros(2, dtype=torch.long))
check_raises(ValueError, cross_entropy_low_precision, z, torch.tensor([0.0, 1.0, 2.0]))
check_raises(ValueError, cross_entropy_low_precision, z, torch.tensor([0, 1]))
check_raises(ValueError, cross_entropy_low_precision, z, torch.tensor([[0, 1, 2]]))
check_raises(ValueError, cross_entropy_low_precision, z, torch.tensor([0, 4, 1]), match="0 .. 3")
check_raises(ValueError, cross_entropy_low_precision, z, torch.tensor([0, -1, 1]))
### END HIDDEN TESTS

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
### BEGIN HIDDEN TESTS
gen = torch.Generator().manual_seed(77)
z = (6 * torch.randn(256, 10, generator=gen)).half()
y = torch.randint(0, 10, (256,), generator=gen)
z64 = z.double().requires_grad_()
exact = torch.autograd.grad(F.cross_entropy(z64, y), z64)[0]

def _ls_rounded(z, y, S, dt=torch.float16):
    """The float32 gradient of S * loss, rounded to dt, divided by S."""
    z32 = z.float().requires_grad_()
    g32 = torch.autograd.grad(F.cross_entropy(z32, y) * S, z32)[0]
    return g32.to(dt).double() / S

for k in (0, 8, 16, 20):
    S = 2.0 ** k
    got = loss_scaled_grad(z, y, S)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32 and \
        got.shape == z.shape, f"scale 2^{k}: expected a float32 tensor of shape (256, 10)"
    # every entry is the float16 rounding of S * gradient, divided by S
    rounded = _ls_rounded(z, y, S)
    check_close(got, rounded, rtol=2e-3, atol=2.0 ** -24 / S, what=f"gradient at scale 2^{k}")
    lost = int(((rounded == 0) & (exact != 0)).sum())
    got_lost = int(((got == 0) & (exact != 0)).sum())
    assert abs(got_lost - lost) <= 2, (
        f"scale 2^{k}: {got_lost} entries are 0, expected about {lost} (float16 underflow)")
# more scale, fewer lost entries
assert int((loss_scaled_grad(z, y, 1.0) == 0).sum()) > int((loss_scaled_grad(z, y, 2.0 ** 16) == 0).sum())
# overflow: None, and a non-power of two
assert loss_scaled_grad(z, y, 2.0 ** 28) is None, "the scaled gradient overflows: None"
got = loss_scaled_grad(z, y, 1000)
check_close(got, _ls_rounded(z, y, 1000), rtol=2e-3, atol=2.0 ** -24 / 1000,
            what="gradient at scale 1000 (an int)")
# bfloat16: float32's range, nothing is lost
zb = (6 * torch.randn(32, 5, generator=gen)).to(torch.bfloat16)
yb = torch.randint(0, 5, (32,), generator=gen)
check_close(loss_scaled_grad(zb, yb, 1.0), _ls_rounded(zb, yb, 1.0, torch.bfloat16), rtol=1e-2,
            atol=1e-30,
            what="bfloat16 gradient, no scaling")
# logits.grad is left alone, and the input is unchanged
zl = z[:4].clone().requires_grad_()
before = zl.detach().clone()
loss_scaled_grad(zl, y[:4], 256.0)
assert zl.grad is None, "do not accumulate into logits.grad"
assert torch.equal(zl.detach(), before), "do not modify the logits"
# invalid input
for bad in (0, -1.0, float("inf"), float("nan"), True):
    check_raises(ValueError, loss_scaled_grad, z, y, bad, what=f"scale {bad!r}")
check_raises(ValueError, loss_scaled_grad, z.float(), y, 1.0)
check_raises(ValueError, loss_scaled_grad, z.double(), y, 1.0)
check_raises(ValueError, loss_scaled_grad, z, y[:5], 1.0)
check_raises(ValueError, loss_scaled_grad, z, y.float(), 1.0)
check_raises(ValueError, loss_scaled_grad, z[0], y[:1], 1.0)
### END HIDDEN TESTS
