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
# # Problem set 1: self-information and entropy
#
# Chapters 1 and 2 of the book. You will implement information measures in NumPy and use them
# on real data.
#
# * Replace every `raise NotImplementedError()` with your code. Do not rename the functions.
# * The test cells under each task check your work as you go; more tests, hidden here,
#   grade it (edge cases, dtypes, batches). Passing the visible tests is a good sign, not
#   a guarantee.
# * A graded call that warns fails its check: the hidden checks run your functions with
#   warnings turned into errors.
# * Restart the kernel and run all cells before you submit.
#
# Points: 28 in all (26 autograded, 2 graded by hand).

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

from infoloss.data import SAMPLE_TEXT, char_distribution, ink_distribution, load_digits_split
from infoloss.testing import check_close, check_dtype, check_raises

# %% [markdown] nbgrader={"grade": false, "grade_id": "task1", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. Self-information (5 points)
#
# Implement `self_information(p, base=2)`: the information $-\log_b p$ of outcomes with
# probabilities `p` (a number or an array of any shape), in units of the logarithm base
# `base` (2 for bits, `np.e` for nats).
#
# * Return a float64 array of the same shape as `p` (a 0-d array or NumPy float for a
#   scalar), computed in float64 even when `p` is float32.
# * `p = 0` is allowed: an impossible event is infinitely surprising, so the result is
#   `inf` (without a warning).
# * Raise `ValueError`, with a message that says what is wrong, when any probability is
#   negative, larger than 1 or NaN, or when `base` is not a positive number other than 1.

# %% nbgrader={"grade": false, "grade_id": "self_information", "locked": false, "schema_version": 3, "solution": true, "task": false}
def self_information(p, base=2):
    """Self-information -log_base(p) of probabilities p, elementwise, as float64."""
    ### BEGIN SOLUTION
    p = np.asarray(p, dtype=np.float64)
    base = float(base)
    if not np.isfinite(base) or base <= 0 or base == 1:
        raise ValueError(f"base must be a positive number other than 1, got {base!r}")
    if np.any(np.isnan(p)):
        raise ValueError("probabilities must not be NaN")
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError("probabilities must lie in [0, 1]; got values outside that range")
    with np.errstate(divide="ignore"):
        return -np.log(p) / np.log(base)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_self_information", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
# A fair coin carries one bit, a fair die log2(6) bits, and nats use the natural log.
check_close(self_information(0.5), 1.0, what="I(1/2) in bits")
check_close(self_information(1 / 6), np.log2(6), what="I(1/6) in bits")
check_close(self_information(np.array([1.0, 0.25])), [0.0, 2.0], what="I([1, 1/4])")
check_close(self_information(0.5, base=np.e), np.log(2), what="I(1/2) in nats")
check_raises(ValueError, self_information, -0.1, match="probab")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task2", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. Entropy (6 points)
#
# Implement `entropy(p, base=2)`: the entropy $-\sum_i p_i \log_b p_i$ of the distribution
# in the **last axis** of `p`. A 1-D `p` gives one number; an array of shape `(N, K)` gives
# `N` entropies.
#
# * Use the convention $0 \log 0 = 0$ (no `nan`, no warning).
# * Compute and return float64, even for float32 input.
# * Raise `ValueError` when an entry is negative or NaN, when a distribution does not sum
#   to 1 (within `1e-6`), when the last axis is empty, or when `base` is invalid.

# %% nbgrader={"grade": false, "grade_id": "entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def entropy(p, base=2):
    """Entropy of the distribution(s) on the last axis of p, with 0 log 0 = 0, as float64."""
    ### BEGIN SOLUTION
    p = np.asarray(p, dtype=np.float64)
    base = float(base)
    if not np.isfinite(base) or base <= 0 or base == 1:
        raise ValueError(f"base must be a positive number other than 1, got {base!r}")
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError("entropy needs at least one probability on the last axis")
    if np.any(np.isnan(p)):
        raise ValueError("probabilities must not be NaN")
    if np.any(p < 0):
        raise ValueError("probabilities must be non-negative")
    totals = p.sum(axis=-1)
    if np.any(np.abs(totals - 1.0) > 1e-6):
        raise ValueError("each distribution (last axis) must sum to 1; got sums "
                         f"{np.atleast_1d(totals)[:3]} ...")
    logs = np.log(np.where(p > 0, p, 1.0))
    return -np.sum(p * logs, axis=-1) / np.log(base)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_entropy", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
check_close(entropy([0.5, 0.5]), 1.0, what="H(fair coin)")
check_close(entropy([1.0, 0.0]), 0.0, what="H(certain coin)")  # 0 log 0 = 0
check_close(entropy(np.full(8, 1 / 8)), 3.0, what="H(fair 8-sided die)")
check_close(entropy([[0.5, 0.5], [0.25, 0.75]]), [1.0, 0.8112781244591328], rtol=1e-9,
            what="H of a batch of two coins")
check_raises(ValueError, entropy, [0.5, 0.6], match="sum")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task3", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. Bernoulli entropy (4 points)
#
# Implement `bernoulli_entropy(p)`: the entropy **in nats** of a coin that shows heads with
# probability `p`, elementwise for arrays.
#
# * $H_2(0) = H_2(1) = 0$.
# * It must stay accurate for tiny `p` such as `1e-300`, where `1 - p` rounds to 1 and a
#   naive `np.log(1 - p)` returns exactly 0. (Hint: `np.log1p`.)
# * Raise `ValueError` for probabilities outside $[0, 1]$ or NaN.

# %% nbgrader={"grade": false, "grade_id": "bernoulli_entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def bernoulli_entropy(p):
    """Entropy in nats of a Bernoulli(p) variable, elementwise, as float64."""
    ### BEGIN SOLUTION
    p = np.asarray(p, dtype=np.float64)
    if np.any(np.isnan(p)):
        raise ValueError("probabilities must not be NaN")
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError("probabilities must lie in [0, 1]")
    inside = (p > 0) & (p < 1)
    q = np.where(inside, p, 0.5)
    h = -q * np.log(q) - (1 - q) * np.log1p(-q)
    return np.where(inside, h, 0.0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_bernoulli_entropy", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check_close(bernoulli_entropy(0.5), np.log(2), what="H2(1/2)")
check_close(bernoulli_entropy(np.array([0.0, 1.0])), [0.0, 0.0], what="H2 at 0 and 1")
check_close(bernoulli_entropy(0.1), bernoulli_entropy(0.9), rtol=1e-12, what="H2 symmetry")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task4", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. Entropy of real data (3 autograded points + 2 by hand)
#
# (a) Implement `text_entropy(text)`: the entropy **in bits per character** of the
# characters of a string (use `char_distribution` from the course package).
#
# (b) Implement `ink_entropies(images, labels)`: a length-10 float64 array whose entry `d`
# is the entropy **in bits** of `ink_distribution` of the images of digit `d`.
#
# Use your `entropy` function for both.

# %% nbgrader={"grade": false, "grade_id": "real_data", "locked": false, "schema_version": 3, "solution": true, "task": false}
def text_entropy(text):
    """Entropy in bits per character of the characters of text."""
    ### BEGIN SOLUTION
    return entropy(char_distribution(text)[1])
    ### END SOLUTION


def ink_entropies(images, labels):
    """Entropy in bits of the ink-position distribution of each digit class 0..9."""
    ### BEGIN SOLUTION
    labels = np.asarray(labels)
    return np.array([entropy(ink_distribution(images[labels == d])) for d in range(10)])
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "show_real_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
split = load_digits_split()
print(f"sample text: {text_entropy(SAMPLE_TEXT):.3f} bits per character")
ink = ink_entropies(split.X_train, split.y_train)
for d in range(10):
    print(f"digit {d}: {ink[d]:.3f} bits")

# %% nbgrader={"grade": true, "grade_id": "test_real_data", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_close(text_entropy("abab"), 1.0, what="text_entropy('abab')")
check_close(text_entropy("aaaa"), 0.0, what="text_entropy('aaaa')")
_ink = ink_entropies(split.X_train, split.y_train)
assert np.shape(_ink) == (10,), f"ink_entropies should return 10 numbers, got shape {np.shape(_ink)}"

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_ink", "locked": true, "schema_version": 3, "solution": false, "task": false}
# (c) Which digit has the lowest ink-position entropy, and which the highest? Explain in
# two or three sentences what that says about how the two digits are written (remember
# that `ink_distribution` is the class's *average* image, so two effects mix: how few
# pixels one image's strokes cover, and how much the placement varies between writers),
# and why an entropy of $\log_2 64 = 6$ bits is out of reach for every digit class. Write
# your answer in the cell below (2 points, graded by hand).

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_ink", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The digit printed with the lowest entropy has its average ink on the fewest positions:
# its strokes are compact, and writers place them alike. The highest-entropy digit's
# average image spreads its ink over many pixels, because its strokes are long, or their
# placement varies between writers, or both; the average image alone cannot tell these
# apart (chapter 2 compares it with the entropy of single images).
# Six bits would need all 64 pixels equally inked on average, but the outer columns of
# the 8x8 images are almost always blank, so no class gets there.
#
# Mark scheme: 1 point for the two digits with a correct reading of low vs high entropy
# (stroke extent and/or variation between writers), 1 point for the argument about blank
# border pixels (any equivalent argument).

# %% [markdown] nbgrader={"grade": false, "grade_id": "task5", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5. Conditional entropy and mutual information (8 points)
#
# Chapter 2's last section describes a pair of discrete random variables, a feature $X$
# and a label $Y$, by a **joint table**: a 2-D array `joint` whose entry `joint[x, y]`
# is $P(X = x, Y = y)$. **Rows are values of $X$, columns are values of $Y$.** The row
# sums are $p(x)$, the column sums $p(y)$.
#
# (a) Implement `conditional_entropy(joint, base=2)`: the conditional entropy of $Y$
# given $X$,
# $$H(Y \mid X) = -\sum_{x, y} p(x, y) \log_b \frac{p(x, y)}{p(x)},$$
# the label's remaining uncertainty once the feature is known (the floor of the
# cross-entropy of any classifier that sees only $X$).
#
# (b) Implement `mutual_information(joint, base=2)`: $I(X; Y) = H(Y) - H(Y \mid X)$, how
# much knowing $X$ lowers the uncertainty about $Y$.
#
# For both functions:
#
# * Use $0 \log 0 = 0$; a row with $p(x) = 0$ (a feature value that never occurs)
#   contributes nothing (no `nan`).
# * Compute in float64 (also for float32 tables) and return a float64 number (a NumPy
#   float or a 0-d array), in bits by default and in nats with `base=np.e`.
# * `mutual_information` is never negative: where rounding would make your formula give
#   a tiny negative number (for an $X$ and $Y$ that are independent), return 0.0.
# * Raise `ValueError` with a message that names the problem when `joint` is not 2-D, is
#   empty (no rows or no columns), has a negative or NaN entry, or does not sum to 1
#   (within `1e-6`), or when `base` is not a positive number other than 1.

# %% nbgrader={"grade": false, "grade_id": "conditional_entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conditional_entropy(joint, base=2):
    """H(Y | X) of the joint table joint[x, y] (rows X, columns Y), as float64."""
    ### BEGIN SOLUTION
    joint = np.asarray(joint, dtype=np.float64)
    base = float(base)
    if not np.isfinite(base) or base <= 0 or base == 1:
        raise ValueError(f"base must be a positive number other than 1, got {base!r}")
    if joint.ndim != 2:
        raise ValueError(f"the joint table must be 2-D (rows X, columns Y); got {joint.ndim}-D")
    if joint.size == 0:
        raise ValueError(f"the joint table is empty (shape {joint.shape})")
    if np.any(np.isnan(joint)):
        raise ValueError("the joint table must not contain NaN")
    if np.any(joint < 0):
        raise ValueError("the joint table must not have negative entries")
    if abs(joint.sum() - 1.0) > 1e-6:
        raise ValueError(f"the joint table must sum to 1; got a sum of {joint.sum()!r}")
    p_x = joint.sum(axis=1, keepdims=True)
    inside = joint > 0                      # then p(x) > 0 too
    ratio = np.where(inside, joint, 1.0) / np.where(inside, p_x, 1.0)
    return np.float64(-np.sum(joint * np.log(ratio)) / np.log(base) + 0.0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conditional_entropy", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Independent fair coins: knowing X says nothing, one bit of Y remains.
check_close(conditional_entropy(np.full((2, 2), 0.25)), 1.0, what="H(Y|X), independent coins")
# Y = X: nothing remains once X is known.
check_close(conditional_entropy([[0.5, 0.0], [0.0, 0.5]]), 0.0, what="H(Y|X) when Y = X")
# Rows are X: here X = 0 settles Y, X = 1 leaves a fair coin, so H(Y|X) = 1/2 * 1 bit,
# while the other way round H(X|Y) is about 0.689 bits.
example = np.array([[0.5, 0.0], [0.25, 0.25]])
check_close(conditional_entropy(example), 0.5, what="H(Y|X) of rows [0.5, 0] and [0.25, 0.25]")
check_close(conditional_entropy(example, base=np.e), 0.5 * np.log(2), what="H(Y|X) in nats")
check_dtype(conditional_entropy(example), np.float64, what="conditional_entropy(...)")
check_raises(ValueError, conditional_entropy, [0.5, 0.5], match="2-d|two|dim")

# %% nbgrader={"grade": false, "grade_id": "mutual_information", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mutual_information(joint, base=2):
    """I(X; Y) of the joint table joint[x, y] (rows X, columns Y), as float64, never negative."""
    ### BEGIN SOLUTION
    joint = np.asarray(joint, dtype=np.float64)
    base = float(base)
    if not np.isfinite(base) or base <= 0 or base == 1:
        raise ValueError(f"base must be a positive number other than 1, got {base!r}")
    if joint.ndim != 2:
        raise ValueError(f"the joint table must be 2-D (rows X, columns Y); got {joint.ndim}-D")
    if joint.size == 0:
        raise ValueError(f"the joint table is empty (shape {joint.shape})")
    if np.any(np.isnan(joint)):
        raise ValueError("the joint table must not contain NaN")
    if np.any(joint < 0):
        raise ValueError("the joint table must not have negative entries")
    if abs(joint.sum() - 1.0) > 1e-6:
        raise ValueError(f"the joint table must sum to 1; got a sum of {joint.sum()!r}")
    # I(X; Y) = sum p(x, y) log [p(x, y) / (p(x) p(y))], the KL form of chapter 3
    outer = joint.sum(axis=1, keepdims=True) * joint.sum(axis=0, keepdims=True)
    inside = joint > 0
    ratio = np.where(inside, joint, 1.0) / np.where(inside, outer, 1.0)
    mi = np.sum(joint * np.log(ratio)) / np.log(base)
    return np.float64(max(mi, 0.0))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mutual_information", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check_close(mutual_information(np.full((2, 2), 0.25)), 0.0, atol=1e-12,
            what="I(X;Y), independent coins")
check_close(mutual_information([[0.5, 0.0], [0.0, 0.5]]), 1.0, what="I(X;Y) when Y = X")
# H(Y) = H(0.75, 0.25) = 0.811 bits, and H(Y|X) = 0.5 bits (the example of part (a)).
example = np.array([[0.5, 0.0], [0.25, 0.25]])
check_close(mutual_information(example), 0.8112781244591328 - 0.5, rtol=1e-9,
            what="I(X;Y) of rows [0.5, 0] and [0.25, 0.25]")
check_close(mutual_information(example.T), mutual_information(example), rtol=1e-9,
            what="I(X;Y) = I(Y;X)")
check_dtype(mutual_information(example), np.float64, what="mutual_information(...)")
check_raises(ValueError, mutual_information, [[0.5, 0.6]], match="sum")

# %% nbgrader={"grade": false, "grade_id": "show_information_digits", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The intensity level (0-3) of the pixel in row 3, column 4 against the digit label,
# on the training split: the joint table, then how much the pixel says about the label.
level = split.X_train[:, 3, 4].astype(np.int64) // 5
pixel_joint = np.zeros((4, 10))
np.add.at(pixel_joint, (level, split.y_train), 1.0)
pixel_joint /= pixel_joint.sum()
print(f"H(Y) = {entropy(pixel_joint.sum(axis=0)):.3f} bits, "
      f"H(Y|X) = {conditional_entropy(pixel_joint):.3f} bits, "
      f"I(X;Y) = {mutual_information(pixel_joint):.3f} bits")
