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
# # Problem set 8: sampling and perplexity
#
# Chapter 11 of the book. You will write the distribution a language model samples from at a
# temperature, with top-$k$ and top-$p$ (nucleus) truncation, a seeded sampler that draws
# from it, and the perplexity of a model on a text.
#
# * Replace every `raise NotImplementedError()` with your code. Do not rename the functions.
# * The test cells under each task check your work as you go; more tests, hidden here,
#   grade it (ties, cut-offs, huge logits, batches, dtypes, the sampler's statistics over
#   many draws). Passing the visible tests is a good sign, not a guarantee.
# * A graded call that warns fails its check: the hidden checks run your functions with
#   warnings turned into errors.
# * Everything is NumPy; the whole notebook runs in a few seconds on a CPU.
# * Restart the kernel and run all cells before you submit.
#
# Points: 22 in all (20 autograded, 2 graded by hand).

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import numpy as np

from infoloss.testing import check_close, check_raises

# %% [markdown] nbgrader={"grade": false, "grade_id": "task1", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. The sampling distribution (8 points)
#
# Implement `sampling_distribution(logits, T, top_k=None, top_p=None)`: the exact
# probabilities with which a sampler at temperature `T`, truncated by `top_k` and `top_p`,
# draws each symbol.
#
# * `logits`: array-like of shape `(V,)` or `(N, V)` (one distribution per row), with
#   $V \ge 1$. Entries may be `-inf` (a symbol that is never drawn), but each row needs at
#   least one finite entry; NaN and `+inf` are invalid.
# * Steps, in this order, for each row:
#   1. **Temperature.** For `T > 0`, $q = \mathrm{softmax}(\mathbf{z} / T)$, computed stably
#      (huge logits and tiny `T` must not overflow). `T = 0` means greedy decoding:
#      probability 1 on the largest logit (ties: the lowest index, as `np.argmax`), and
#      `top_k` and `top_p` then change nothing.
#   2. **Top-$k$.** If `top_k` is given, keep the `top_k` symbols with the largest
#      probability. Ties are broken by index: among equal probabilities the lower index ranks
#      first (the order of `np.argsort(-q, kind="stable")`). A `top_k` of $V$ or more keeps
#      every symbol. Renormalise what is kept.
#   3. **Top-$p$.** If `top_p` is given, rank the symbols that are left by probability (ties
#      as in step 2) and keep the smallest prefix of that ranking whose total probability is
#      at least `top_p`, *including* the symbol whose probability crosses `top_p`.
#      Equivalently: keep a symbol when the total probability of the symbols ranked before
#      it is below `top_p`. `top_p = 1` keeps every symbol with probability above 0. The
#      graded inputs never put a cumulative sum within `1e-9` of `top_p`, so rounding does
#      not decide the cut-off. Renormalise what is kept.
# * Return a float64 array of the shape of `logits`: non-negative, each row summing to 1,
#   zero outside the kept set.
# * Raise `ValueError` with a message naming the problem for: logits that are empty or not
#   1-D or 2-D (say "shape"), NaN or `+inf` logits or a row without a finite entry (say
#   "logits"), a `T` that is negative, NaN or infinite (say "T"), a `top_k` that is not a
#   positive integer (say "top_k"; `True` is not an integer here), a `top_p` outside
#   $(0, 1]$ (say "top_p").

# %% nbgrader={"grade": false, "grade_id": "sampling_distribution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sampling_distribution(logits, T, top_k=None, top_p=None):
    """Exact probabilities of a temperature-T sampler with top-k / top-p truncation."""
    ### BEGIN SOLUTION
    z = np.array(logits, dtype=np.float64)
    if z.ndim not in (1, 2) or z.size == 0:
        raise ValueError(f"logits must have shape (V,) or (N, V) with V >= 1; got shape {z.shape}")
    if np.any(np.isnan(z)) or np.any(z == np.inf):
        raise ValueError("logits must not be NaN or +inf")
    if not np.all(np.any(np.isfinite(z), axis=-1)):
        raise ValueError("every row of logits needs at least one finite entry")
    if isinstance(T, bool) or not isinstance(T, (int, float, np.integer, np.floating)) \
            or not math.isfinite(T) or T < 0:
        raise ValueError(f"T must be a finite number >= 0; got {T!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer))
                              or top_k < 1):
        raise ValueError(f"top_k must be a positive integer or None; got {top_k!r}")
    if top_p is not None and (isinstance(top_p, bool) or
                              not isinstance(top_p, (int, float, np.integer, np.floating))
                              or not 0 < top_p <= 1):
        raise ValueError(f"top_p must lie in (0, 1] or be None; got {top_p!r}")
    rows = z.reshape(-1, z.shape[-1])
    if T == 0:
        out = np.zeros_like(rows)
        out[np.arange(len(rows)), np.argmax(rows, axis=1)] = 1.0
        return out.reshape(z.shape)
    s = rows / T
    s = s - s.max(axis=1, keepdims=True)
    q = np.exp(s)
    q /= q.sum(axis=1, keepdims=True)
    order = np.argsort(-q, axis=1, kind="stable")
    ranked = np.take_along_axis(q, order, axis=1)
    if top_k is not None:
        ranked[:, int(top_k):] = 0.0
        ranked /= ranked.sum(axis=1, keepdims=True)
    if top_p is not None:
        before = np.cumsum(ranked, axis=1) - ranked
        ranked = np.where((before < top_p) & (ranked > 0), ranked, 0.0)
        ranked /= ranked.sum(axis=1, keepdims=True)
    out = np.zeros_like(q)
    np.put_along_axis(out, order, ranked, axis=1)
    return out.reshape(z.shape)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sampling_distribution", "locked": true, "points": 8, "schema_version": 3, "solution": false, "task": false}
_z = np.array([2.0, 1.0, 0.0, -1.0])
_e = np.exp(_z - 2.0)
check_close(sampling_distribution(_z, 1.0), _e / _e.sum(), rtol=1e-12, what="T = 1 is softmax")
_e2 = np.exp((_z - 2.0) / 0.5)
check_close(sampling_distribution(_z, 0.5), _e2 / _e2.sum(), rtol=1e-12,
            what="T = 0.5 divides the logits (not the probabilities) by T")
check_close(sampling_distribution(_z, 0), np.array([1.0, 0, 0, 0]), what="T = 0 is greedy")
check_close(sampling_distribution(_z, 1.0, top_k=2), np.array([_e[0], _e[1], 0, 0]) / _e[:2].sum(),
            rtol=1e-12, what="top_k = 2 keeps the two largest and renormalises")
# q = [0.644, 0.237, 0.087, 0.032]: the first symbol alone has 0.644 < 0.7, so the
# second (which crosses 0.7) is kept too.
check_close(sampling_distribution(_z, 1.0, top_p=0.7), np.array([_e[0], _e[1], 0, 0]) / _e[:2].sum(),
            rtol=1e-12, what="top_p = 0.7 keeps the symbol that crosses 0.7")
check_close(sampling_distribution([[1e4, 0.0], [0.0, 0.0]], 0.01), np.array([[1.0, 0.0], [0.5, 0.5]]),
            what="huge logits at a small T, and a batch of rows")
check_raises(ValueError, sampling_distribution, _z, -1.0, match="T")
check_raises(ValueError, sampling_distribution, _z, 1.0, top_p=0.0, match="top_p")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task2", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. A seeded sampler (6 points)
#
# Implement `sample_with_temperature(logits, T, rng, top_k=None, top_p=None, size=None)`:
# draw symbol indices from `sampling_distribution(logits, T, top_k, top_p)`.
#
# * `rng` must be a `numpy.random.Generator` (for instance `np.random.default_rng(0)`);
#   draw every random number from it and from nothing else (not `np.random.seed`'s global
#   state), so the same seed gives the same samples. Raise `ValueError` (say "rng")
#   otherwise.
# * `logits` of shape `(V,)`: with `size=None` return one index as a Python `int`; with
#   `size=n` (a non-negative integer) return an int64 array of shape `(n,)`.
#   `logits` of shape `(N, V)`: one draw per row, an int64 array of shape `(N,)` for
#   `size=None` and `(N, n)` for `size=n`.
# * Every index is in `0..V-1` and never one whose probability is 0 (a `-inf` logit, a
#   symbol cut by `top_k` or `top_p`). The graded tests draw many samples and compare their
#   frequencies with the exact probabilities.
# * Invalid `logits`, `T`, `top_k` and `top_p` raise as in task 1; a `size` that is not a
#   non-negative integer raises `ValueError` (say "size").
# * Hint: `rng.choice(V, size=..., p=probs)` per row, or one `rng.random` call and
#   `np.searchsorted` on the cumulative probabilities.

# %% nbgrader={"grade": false, "grade_id": "sample_with_temperature", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sample_with_temperature(logits, T, rng, top_k=None, top_p=None, size=None):
    """Symbol indices drawn from sampling_distribution(logits, T, top_k, top_p)."""
    ### BEGIN SOLUTION
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer))
                             or size < 0):
        raise ValueError(f"size must be a non-negative integer or None; got {size!r}")
    q = sampling_distribution(logits, T, top_k, top_p)
    rows = q.reshape(-1, q.shape[-1])
    n = 1 if size is None else int(size)
    cdf = np.cumsum(rows, axis=1)
    u = rng.random((len(rows), n)) * cdf[:, -1:]
    idx = np.empty((len(rows), n), dtype=np.int64)
    for r in range(len(rows)):
        i = np.searchsorted(cdf[r], u[r], side="right")
        last = int(np.flatnonzero(rows[r] > 0)[-1])   # rounding can never pick past it
        idx[r] = np.minimum(i, last)
    if q.ndim == 1:
        return int(idx[0, 0]) if size is None else idx[0]
    return idx[:, 0] if size is None else idx
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sample_with_temperature", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
_z = np.array([2.0, 1.0, 0.0, -1.0])
_s = sample_with_temperature(_z, 1.0, np.random.default_rng(0))
assert isinstance(_s, int) and 0 <= _s < 4, f"one draw should be an int in 0..3, got {_s!r}"
_n = 40_000
_draws = sample_with_temperature(_z, 0.5, np.random.default_rng(1), size=_n)
assert _draws.shape == (_n,) and _draws.dtype == np.int64, "size=n gives an int64 array (n,)"
_freq = np.bincount(_draws, minlength=4) / _n
_q = sampling_distribution(_z, 0.5)
_se = np.sqrt(_q * (1 - _q) / _n)   # the binomial standard error of each frequency
assert np.all(np.abs(_freq - _q) < 5 * _se + 1e-12), (
    f"frequencies {np.round(_freq, 4)} are too far from the exact {np.round(_q, 4)}")
_again = sample_with_temperature(_z, 0.5, np.random.default_rng(1), size=_n)
assert np.array_equal(_draws, _again), "the same seed must give the same samples"
_cut = sample_with_temperature(_z, 1.0, np.random.default_rng(2), top_k=2, size=5000)
assert set(np.unique(_cut)) <= {0, 1}, "top_k = 2 never draws symbols 2 or 3"
check_raises(ValueError, sample_with_temperature, _z, 1.0, 42, match="rng")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task3", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. Perplexity (6 points)
#
# Implement `perplexity(logits, targets)`: the perplexity
# $\exp\bigl(-\frac1N \sum_n \log \mathrm{softmax}(\mathbf{z}_n)_{y_n}\bigr)$ of a model that
# gave logits $\mathbf{z}_n$ before the $n$-th symbol, on the symbols $y_n$ that came next.
#
# * `logits`: array-like of shape `(N, V)`; `targets`: integers of shape `(N,)` in
#   `0..V-1`; $N, V \ge 1$.
# * The cross-entropy is in **nats**, so the perplexity is `exp` of it (not `2 **` of it).
#   Return a Python `float`; it is `inf` when a target has probability 0 (a `-inf` logit).
# * Compute it stably: logits of size `1e4` (or `1e300`) must give the right finite answer.
#   Entries may be `-inf`; NaN and `+inf` are invalid, and so is a row without a finite
#   entry.
# * Raise `ValueError` with a message naming the problem for logits that are not 2-D or are
#   empty (say "shape"), invalid logits (say "logits"), targets of the wrong shape (say
#   "shape"), and targets that are not integers or out of range (say "target").

# %% nbgrader={"grade": false, "grade_id": "perplexity", "locked": false, "schema_version": 3, "solution": true, "task": false}
def perplexity(logits, targets):
    """exp of the mean cross-entropy (nats) of softmax(logits) on the targets."""
    ### BEGIN SOLUTION
    z = np.array(logits, dtype=np.float64)
    y = np.asarray(targets)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(f"logits must have shape (N, V) with N, V >= 1; got shape {z.shape}")
    if np.any(np.isnan(z)) or np.any(z == np.inf):
        raise ValueError("logits must not be NaN or +inf")
    if not np.all(np.any(np.isfinite(z), axis=1)):
        raise ValueError("every row of logits needs at least one finite entry")
    if y.shape != (z.shape[0],):
        raise ValueError(f"targets must have shape ({z.shape[0]},) to match logits; got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or np.any(y < 0) or np.any(y >= z.shape[1]):
        raise ValueError(f"targets must be integers in 0..{z.shape[1] - 1}")
    m = z.max(axis=1)
    lse = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
    ce = float(np.mean(lse - z[np.arange(len(y)), y]))
    try:
        return math.exp(ce)
    except OverflowError:      # a perplexity beyond float64's range
        return math.inf
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_perplexity", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
_p = perplexity(np.zeros((5, 7)), np.arange(5))
assert isinstance(_p, float), f"perplexity should return a float, got {type(_p)}"
check_close(_p, 7.0, rtol=1e-12, what="the uniform model's perplexity is V")
_zz = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
_ce = -np.mean([2.0 - np.log(np.exp([2.0, 0.0, -1.0]).sum()),
                3.0 - np.log(np.exp([0.5, 0.5, 3.0]).sum())])
check_close(perplexity(_zz, np.array([0, 2])), math.exp(_ce), rtol=1e-12,
            what="exp of the mean cross-entropy in nats")
check_close(perplexity(_zz + 1e4, np.array([0, 2])), math.exp(_ce), rtol=1e-9,
            what="huge logits")
check_raises(ValueError, perplexity, _zz, np.array([0, 3]), match="target")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task4", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. A bigram model of the book (2 points, graded by hand)
#
# The cell below counts character bigrams in the book's chapters (`infoloss.text`, as in
# chapter 11), turns them into logits (log probabilities with add-0.1 smoothing), and uses
# your functions: the validation perplexity at several temperatures, and a sample at each.

# %% nbgrader={"grade": false, "grade_id": "show_bigram", "locked": true, "schema_version": 3, "solution": false, "task": false}
from infoloss.text import encode, train_validation_text

_train, _val = train_validation_text(every=10)
_vocab = "".join(sorted(set(_train) | set(_val)))
_x, _xv = encode(_train, _vocab), encode(_val, _vocab)
_counts = np.zeros((len(_vocab), len(_vocab)))
np.add.at(_counts, (_x[:-1], _x[1:]), 1.0)
bigram_logits = np.log((_counts + 0.1) / (_counts + 0.1).sum(axis=1, keepdims=True))
print(f"V = {len(_vocab)}, uniform perplexity {len(_vocab)}")
for _T in (0.5, 0.8, 1.0, 1.2, 2.0):
    _ppl = perplexity(bigram_logits[_xv[:-1]] / _T, _xv[1:])
    _rng = np.random.default_rng(0)
    _text = "T"
    for _ in range(60):
        _text += _vocab[sample_with_temperature(bigram_logits[_vocab.index(_text[-1])], _T, _rng)]
    print(f"T = {_T}: validation perplexity {_ppl:.2f}; sample {_text!r}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_bigram", "locked": true, "schema_version": 3, "solution": false, "task": false}
# (d) Near which temperature is the validation perplexity lowest, and why should a model
# fitted by counting (maximum likelihood, chapter 4) be best near there? Would you choose the
# sampling temperature by the same criterion? Use the samples printed above to say what a
# lower and a higher temperature do to the text. Write your answer in the cell below
# (2 points, graded by hand).

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_bigram", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The perplexity is lowest near T = 1 (at T = 0.8 and 1.2 it is a little higher, at 0.5
# and 2 clearly higher). Counting gives the maximum-likelihood bigram probabilities of the
# training text, and dividing their logs by T only makes them sharper or flatter than the
# counts say; on validation text from the same source the counts are already about as sharp
# as they should be, so T near 1 is best (temperature scaling of chapter 8 would find it).
# For sampling, perplexity is not the criterion: a lower T gives more common, more
# repetitive text (the most frequent bigrams such as "th", "e ", " t" win), a higher T more
# varied but broken text with rare characters. One picks T (and top-k / top-p) for the
# quality of the samples, a trade between repetition and nonsense, not for the likelihood.
#
# Mark scheme: 1 point for the minimum near T = 1 with the maximum-likelihood reason,
# 1 point for separating the sampling choice from the perplexity and describing both sides.
