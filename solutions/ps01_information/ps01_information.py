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
# Chapters 1 and 2 of the book. You will implement three functions in NumPy and use them
# on real data.
#
# * Replace every `raise NotImplementedError()` with your code. Do not rename the functions.
# * The test cells under each task check your work as you go; more tests, hidden here,
#   grade it (edge cases, dtypes, batches). Passing the visible tests is a good sign, not
#   a guarantee.
# * Restart the kernel and run all cells before you submit.
#
# Points: 20 in all (18 autograded, 2 graded by hand).

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
### BEGIN HIDDEN TESTS
check_close(self_information(0.0), np.inf, what="I(0)")
check_close(self_information(1e-300), 300 * np.log2(10), rtol=1e-12, what="I(1e-300)")
check_close(self_information(5e-324), 1074.0, rtol=1e-12, what="I(smallest subnormal)")
check_close(self_information(0.001, base=10), 3.0, rtol=1e-12, what="I(0.001) in base 10")
grid = np.array([[0.5, 0.125], [1.0, 1e-9]], dtype=np.float32)
got = self_information(grid)
check_dtype(got, np.float64, what="I(float32 array)")
check_close(got, -np.log2(grid.astype(np.float64)), rtol=1e-12, what="I(float32 2x2 array)")
check_close(self_information(0.5, base=4), 0.5, rtol=1e-12, what="I(1/2) in base 4")
check_raises(ValueError, self_information, 1.5, match="probab")
check_raises(ValueError, self_information, np.array([0.5, np.nan]), match="nan")
check_raises(ValueError, self_information, 0.5, base=1, match="base")
check_raises(ValueError, self_information, 0.5, base=-2, match="base")
### END HIDDEN TESTS

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
### BEGIN HIDDEN TESTS
import scipy.stats

rng = np.random.default_rng(12345)
batch = rng.dirichlet(np.ones(7) * 0.3, size=(4, 5))
batch[0, 0, :3] = 0.0
batch[0, 0] /= batch[0, 0].sum()
check_close(entropy(batch), scipy.stats.entropy(batch, base=2, axis=-1), rtol=1e-10,
            what="H of a (4, 5, 7) batch")
check_close(entropy(batch, base=np.e), scipy.stats.entropy(batch, axis=-1), rtol=1e-10,
            what="H in nats")
# 1 - 1e-300 rounds to 1.0, so only the tiny entry contributes: 1e-300 * log2(1e300).
check_close(entropy([1e-300, 1 - 1e-300]), 1e-300 * 300 * np.log2(10), rtol=1e-9,
            what="H([1e-300, 1 - 1e-300])")
p32 = np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32)
got = entropy(p32)
check_dtype(got, np.float64, what="entropy(float32)")
p64 = p32.astype(np.float64)  # sums to 1 only within float32 rounding: do not renormalise
check_close(got, -np.sum(p64 * np.log2(p64)), rtol=1e-12, what="entropy(float32)")
check_close(entropy([0.0, 0.0, 1.0, 0.0]), 0.0, what="H(one-hot)")
check_close(entropy(np.full(10, 0.1), base=10), 1.0, rtol=1e-12, what="H(uniform 10) base 10")
check_close(entropy(np.full((3, 1), 1.0)), np.zeros(3), what="H of single-outcome batch")
check_raises(ValueError, entropy, [0.5, -0.1, 0.6], match="negative")
check_raises(ValueError, entropy, [[0.5, 0.5], [0.3, 0.3]], match="sum")
check_raises(ValueError, entropy, [0.5, np.nan], match="nan")
check_raises(ValueError, entropy, np.zeros((2, 0)))
check_raises(ValueError, entropy, [0.5, 0.5], base=0, match="base")
### END HIDDEN TESTS

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
### BEGIN HIDDEN TESTS
grid = np.linspace(0.01, 0.99, 99)
check_close(bernoulli_entropy(grid), -grid * np.log(grid) - (1 - grid) * np.log(1 - grid),
            rtol=1e-12, what="H2 on a grid")
tiny = 1e-300
check_close(bernoulli_entropy(tiny), tiny * (300 * np.log(10) + 1), rtol=1e-9,
            what="H2(1e-300) (needs log1p)")
check_close(bernoulli_entropy(1 - 1e-12), bernoulli_entropy(1e-12), rtol=1e-3,
            what="H2 near 1")
got = bernoulli_entropy(np.array([[0.25], [0.75]], dtype=np.float32))
check_dtype(got, np.float64, what="H2(float32)")
assert got.shape == (2, 1), f"H2 must keep the input shape (2, 1); got {got.shape}"
check_raises(ValueError, bernoulli_entropy, 1.01)
check_raises(ValueError, bernoulli_entropy, -1e-9)
check_raises(ValueError, bernoulli_entropy, np.nan)
### END HIDDEN TESTS

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
### BEGIN HIDDEN TESTS
import scipy.stats

check_close(text_entropy(SAMPLE_TEXT),
            scipy.stats.entropy(char_distribution(SAMPLE_TEXT)[1], base=2),
            rtol=1e-9, what="text_entropy(SAMPLE_TEXT)")
check_close(text_entropy("abcd" * 3), 2.0, rtol=1e-12, what="text_entropy('abcd' * 3)")
_ref = [scipy.stats.entropy(ink_distribution(split.X_test[split.y_test == d]), base=2)
        for d in range(10)]
check_close(ink_entropies(split.X_test, split.y_test), _ref, rtol=1e-9,
            what="ink_entropies on the test split")
### END HIDDEN TESTS

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
