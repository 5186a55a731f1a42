"""Claims of chapters 6 (CE vs MSE) and 7 (softmax stability), checked on the chapters' own code.

The functions are taken from the chapters' code cells (only the ``def`` statements, so no
cell with output or glue runs here) and executed in a fresh namespace: what a student
copies from the page is what is tested (issue 11: A3/C4, A6, A7, A9, B9, C12).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.special
from chapter_code import chapter_functions

ROOT = Path(__file__).resolve().parent.parent
CH06 = ROOT / "book" / "06_ce_vs_mse.md"
CH07 = ROOT / "book" / "07_softmax_stability.md"


@pytest.fixture(scope="module")
def ch06():
    return chapter_functions(CH06, {"np": np})


@pytest.fixture(scope="module")
def ch07():
    return chapter_functions(CH07, {"np": np})


INF, NAN = np.inf, np.nan


@pytest.mark.parametrize("case, expected", [
    ([-INF, -INF], -INF),
    ([INF], INF),
    ([], -INF),
    ([NAN, 1.0], NAN),
    ([NAN, INF], NAN),
    ([-INF, NAN], NAN),
    ([INF, -INF], INF),
    ([INF, INF], INF),
    ([0.0, -INF, np.log(3.0)], np.log(4.0)),
    ([1000.0, 1000.0], 1000.0 + np.log(2.0)),
    ([-1e308, -1e308], -1e308),
])
def test_chapter_logsumexp_follows_the_stated_rule(ch07, case, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # no RuntimeWarning either
        got = ch07["logsumexp_stable"](case)
    assert np.shape(got) == ()
    assert scipy.special.logsumexp(np.asarray(case, dtype=float)) == pytest.approx(
        expected, nan_ok=True)
    assert got == pytest.approx(expected, rel=1e-14, nan_ok=True)


def test_chapter_logsumexp_is_batched_along_any_axis(ch07):
    lse = ch07["logsumexp_stable"]
    rng = np.random.default_rng(0)
    x = rng.normal(scale=40.0, size=(3, 4, 5))
    x[0, 1, :] = -INF
    x[1, :, 2] = -INF
    x[2, 0, 0] = INF
    x[2, 3, 4] = NAN
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for axis in (0, 1, 2, -1):
            np.testing.assert_allclose(lse(x, axis=axis), scipy.special.logsumexp(x, axis=axis),
                                       rtol=1e-13)
        assert np.all(lse(np.zeros((2, 0))) == -INF) and lse(np.zeros((2, 0))).shape == (2,)
        assert np.all(lse(np.zeros((0, 3)), axis=0) == -INF)


def test_chapter_softmax_and_log_softmax_follow_the_rule(ch07):
    batch = np.array([[-INF, -INF, -INF], [1.0, -INF, 1.0], [1000.0, 999.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = ch07["softmax_stable"](batch)
        logp = ch07["log_softmax_stable"](batch)
    with np.errstate(all="ignore"):                         # SciPy warns on the -inf row
        np.testing.assert_allclose(p, scipy.special.softmax(batch, axis=-1), rtol=1e-13)
        np.testing.assert_allclose(logp, scipy.special.log_softmax(batch, axis=-1), rtol=1e-13)
    assert np.all(np.isnan(p[0])) and np.all(np.isnan(logp[0]))


def test_exp_underflow_and_overflow_thresholds():
    """A6: exp is 0 below ln(smallest subnormal / 2), not below ln(smallest subnormal)."""
    for dt, under, over in ((np.float16, -17.33, 11.09), (np.float32, -103.97, 88.72),
                            (np.float64, -745.13, 709.78)):
        info = np.finfo(dt)
        threshold = np.log(np.float64(info.smallest_subnormal)) - np.log(2.0)
        assert threshold == pytest.approx(under, abs=0.005)
        assert np.log(np.float64(info.max)) == pytest.approx(over, abs=0.005)
        with np.errstate(under="ignore", over="ignore"):
            assert np.exp(dt(threshold + 0.01)) > 0 and np.exp(dt(threshold - 0.01)) == 0
            # the old, wrong threshold: exp is still nonzero a little below it
            assert np.exp(dt(np.log(np.float64(info.smallest_subnormal)) - 0.3)) > 0


def test_naive_float16_softmax_overflows_in_the_denominator(ch07):
    """A7: max z = 11 < 11.09, yet the naive float16 softmax of [11, 11] is [0, 0]."""
    with np.errstate(all="ignore"):
        got = ch07["softmax_naive"](np.array([11.0, 11.0], dtype=np.float16))
        assert np.isfinite(np.exp(np.float16(11.0)))
    assert np.all(got == 0)
    assert scipy.special.logsumexp([11.0, 11.0]) > np.log(65504.0) > 11.0


@pytest.mark.parametrize("n_classes", [2, 3, 10, 57])
def test_mse_gradient_is_one_over_c_of_ce_at_the_uniform_start(ch06, n_classes):
    """A3: at equal logits, grad MSE = grad CE / C exactly, for every label."""
    z = np.full((n_classes, n_classes), 0.7)
    y = np.arange(n_classes)
    np.testing.assert_allclose(ch06["grad_mse"](z, y), ch06["grad_ce"](z, y) / n_classes,
                               rtol=1e-12, atol=1e-17)


def test_mse_can_fall_while_the_true_probability_falls(ch06):
    """A9: MSE rewards spreading the wrong mass; CE sees only q_y."""
    two = np.array([0.5, 0.5] + [0.0] * 8)
    spread = np.array([0.45] + [0.55 / 9] * 9)
    mse = ch06["mse_of"]
    assert spread[0] < two[0] and mse(spread) < mse(two)
    assert mse(two) == pytest.approx(0.25) and mse(spread) == pytest.approx(0.168, abs=5e-4)


def test_mse_pushes_the_other_wrong_classes_up_past_the_flip_margin(ch06):
    """C12: the sign flips at d = ln(1 + sqrt 10); cross-entropy's stays positive."""
    flip = np.log(1 + np.sqrt(10))
    for d, sign in ((0.0, 1), (flip - 1e-3, 1), (flip + 1e-3, -1), (8.0, -1)):
        z = np.zeros((1, 10))
        z[0, 1] = d
        assert np.all(np.sign(ch06["grad_mse"](z, np.array([0]))[0, 2:]) == sign)
        assert np.all(ch06["grad_ce"](z, np.array([0]))[0, 2:] > 0)


def test_chapter_6_no_longer_calls_the_gradients_of_the_same_order():
    text = CH06.read_text()
    assert "same order" not in text and "perf_counter" not in text
