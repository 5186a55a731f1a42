"""Claims of chapter 8 (temperature) that must stay true: issue 11, review IDs A14, B10, B11,
C2, C3, C6, C10, E2, E3, E5. The chapter's own hidden asserts guard its runs; these tests guard
the mathematics and the wording, fast and without executing the chapter."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "08_temperature.md"
PS05 = ROOT / "solutions" / "ps05_temperature" / "ps05_temperature.py"


def normface_floor(s: float, C: int) -> float:
    return math.log1p((C - 1) * math.exp(-C / (C - 1) * s))


@pytest.fixture(scope="module")
def text() -> str:
    return CHAPTER.read_text()


def test_seed000_numbers_match_the_bounded_logit_floor():
    """C2: a start near 6 = ln C means C = 403; its scale-1 floor is the seed's 'about 5'."""
    c_seed = round(math.exp(6))
    assert c_seed == 403
    assert abs(math.log(c_seed) - 6) < 0.01
    assert round(normface_floor(1.0, c_seed), 2) == 5.00
    assert round(math.log(751), 2) == 6.62
    assert round(normface_floor(1.0, 751), 2) == 5.62
    for c in (403, 751):      # "about one nat below ln C" for many classes
        assert 0.99 < math.log(c) - normface_floor(1.0, c) < 1.01
    assert round(normface_floor(1.0, 10), 3) == 1.377


def test_seed000_numbers_are_glued_and_asserted(text):
    for name in ("seed_C_est", "seed_floor_s1", "market_lnC", "market_floor_s1"):
        assert f"{{glue:text}}`{name}" in text, f"{name} is not used in the prose"
        assert f'glue("{name}"' in text, f"{name} is not computed"
    assert "assert round(float(normface_floor(1.0, C=C_seed)), 2) == 5.00" in text


def test_cosine_cause_is_a_hypothesis(text):
    """B11: seed 000 never says it used a cosine classifier."""
    assert "The way to get logits that small is to bound them." not in text
    assert "**hypothesis**" in text
    assert "None of this proves that the seed used a cosine classifier" in text


def test_no_timings_or_build_sentences(text):
    """E2: no run timings in the chapter."""
    assert "perf_counter" not in text
    assert "import time" not in text
    assert not re.search(r"\bseconds?\b.*\bon \{device\}", text)
    assert "_seconds" not in text


def test_ece_notation_uses_M_bins(text):
    """C6: the ECE bins are B_1..B_M, never K (K is a generic outcome count)."""
    for doc in (text, PS05.read_text()):
        assert "B_k" not in doc
        assert "B_m" in doc
    assert "K = 15" not in text and "M = 15" in text


def test_kl_reading_and_raw_teacher(text):
    """C6 and A14 (the distillation part moved to tests/test_claims_ch10.py)."""
    assert "calibrated MLP's probabilities" not in text


def test_training_log_reads_not_converging(text):
    """E5: the T = 1 log shows the loss falling to its floor: not converging, not 'not learning'."""
    assert '"not\nlearning"' not in text and '"not learning"' not in text
    assert 'says "not\nconverging"' in text
    assert "not learning" not in PS05.read_text()


def test_reliability_diagram_and_bootstrap(text):
    """B10 / E3: bars at fixed bin positions, counts shown, a bootstrap interval glued."""
    assert "align=\"edge\"" in text and "width=(hi - lo) * 0.9" not in text
    for name in ("ece_before_lo", "ece_after_hi", "ece_drop_lo", "ece_drop_hi", "n_top_after",
                 "nll_drop_lo"):
        assert f"{{glue:text}}`{name}" in text
    assert "they spread out and the bars sit closer" not in text
