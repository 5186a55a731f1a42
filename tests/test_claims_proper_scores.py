"""Claims of chapter 8's proper-scoring-rules section (issue 12, topic 3) that must stay true.

The chapter's hidden asserts guard its measured numbers; these tests guard the mathematics,
the wording it rests on and the agreement between the chapter and ps05, fast and without
executing the chapter.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "08_temperature.md"
PS05 = ROOT / "solutions" / "ps05_temperature" / "ps05_temperature.py"


@pytest.fixture(scope="module")
def text() -> str:
    return CHAPTER.read_text()


def _expected_brier(p: np.ndarray, q: np.ndarray) -> float:
    eye = np.eye(len(p))
    return float(sum(p[y] * ((q - eye[y]) ** 2).sum() for y in range(len(p))))


def test_brier_decomposition_and_strict_propriety():
    """E ||e_Y - q||^2 = ||p - q||^2 + 1 - ||p||^2, so q = p is the unique minimiser."""
    rng = np.random.default_rng(0)
    for c in (2, 3, 10):
        for _ in range(50):
            p, q = rng.dirichlet(np.ones(c)), rng.dirichlet(np.ones(c))
            assert np.isclose(_expected_brier(p, q), ((p - q) ** 2).sum() + 1 - (p ** 2).sum())
            assert _expected_brier(p, q) > _expected_brier(p, p)
            log_loss_q, log_loss_p = -(p * np.log(q)).sum(), -(p * np.log(p)).sum()
            assert log_loss_q > log_loss_p                     # KL(p || q) > 0
    u = np.full(4, 0.25)                                       # uniform: 1 - 1/C for any p
    assert np.isclose(_expected_brier(rng.dirichlet(np.ones(4)), u), 0.75)


def test_absolute_error_is_not_proper():
    """The exercise: E|.| = 2 (p1 + q1 (1 - 2 p1)) is minimised at q1 = 1 when p1 > 1/2."""
    p1 = 0.7
    grid = np.linspace(0, 1, 101)
    expected = [p1 * 2 * (1 - q) + (1 - p1) * 2 * q for q in grid]
    assert np.allclose(expected, 2 * (p1 + grid * (1 - 2 * p1)))
    assert int(np.argmin(expected)) == len(grid) - 1


def test_brier_is_twice_the_chapter_6_squared_error(text):
    assert r"= 2\,\ell_{\mathrm{MSE}}(q, y)" in text
    assert "*not* divided by $C$" in text
    notation = (ROOT / "book" / "notation.md").read_text()
    assert r"| $\mathrm{BS}(q, y)$ |" in notation and "not divided by $C$" in notation
    assert r"\frac12 \Vert q - \mathbf{e}_y \Vert^2" in notation      # l_MSE has the 1/2


def test_equal_mass_rule_is_the_same_in_the_chapter_and_ps05(text):
    """The chapter's vectorised rule, its loop check and the graded task agree on the bins."""
    assert "`np.quantile(c, np.linspace(0, 1, M + 1))`" in text
    assert "$B_1 = [b_0, b_1]$ and $B_m = (b_{m-1}, b_m]$" in text
    ps05 = PS05.read_text()
    assert "edges = np.quantile(conf, np.linspace(0, 1, n_bins + 1))" in ps05
    assert "$B_1 = [b_0, b_1]$ (closed on both" in ps05
    assert "**not** divided by $C$" in ps05


def test_gaming_and_bias_claims_are_asserted(text):
    """The prose's comparisons are guarded by the chapter's own hidden asserts."""
    for claim in ('assert s_marg["ECE"] < s_cal["ECE"] and s_const["ECE"] < s_cal["ECE"]',
                  'assert s_const["NLL"] > s_cal["NLL"] and s_const["Brier"] > s_cal["Brier"]',
                  'assert (rel_change["classwise ECE"] > 0).all()',
                  "assert obs > p95", "assert obs < p95",
                  "assert bs_cal.mean() > bs_raw.mean() and ll_cal.mean() < ll_raw.mean()"):
        assert claim in text, claim
    for name in ("game_marg_ece", "game_cal_ece", "game_marg_nll", "cons_raw_ew_p95",
                 "cons_cal_cw_p95", "rc_cw_lo", "rc_nll_share", "n_boot", "bs_before", "bs_after"):
        prefix = name.split("_")[0]
        assert f"{{glue:text}}`{name}" in text and re.search(rf'glue\(f?"{prefix}_', text)


def test_section_builds_on_the_shared_bootstrap(text):
    """Topic 3 reuses chapter 8's bootstrap draws and ECE code instead of duplicating them."""
    section = text[text.index("## Proper scoring rules"):text.index("## Distillation")]
    assert "draws = " not in section and "default_rng(0)" not in section
    assert "boot[\"after\"] / boot[\"before\"]" in section and "ece_many(conf, correct)" in section
