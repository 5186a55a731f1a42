"""Class analytics in ``report``: per hidden check, the share who pass it and the commonest
failure messages, from the stored payloads (fabricated here; a real class in the slow test).
"""

from __future__ import annotations

import re

import pytest

from autograder.report import analytics_text, check_stats


def _row(student: str, cells: dict[str, list[tuple[str, bool, str]]]) -> dict:
    """A ``record.results`` row whose payload holds ``cell -> [(hint, ok, message)]``."""
    return {"student": student, "assignment": "psX", "status": "ok", "score": 0.0,
            "max_score": 1.0, "seconds": 0.1,
            "payload": {"cells": {g: {"score": 0.0, "max_score": 1.0, "judged": bool(ps),
                                      "probes": [{"hint": h, "ok": ok, "message": m}
                                                 for h, ok, m in ps]}
                                  for g, ps in cells.items()}}}


CLASS = [
    _row("ann", {"test_a": [("a coin", True, "ok"), ("base e", False, "wrong value")],
                 "test_b": [("tiny p", True, "ok")]}),
    _row("bob", {"test_a": [("a coin", True, "ok"), ("base e", False, "wrong value")],
                 "test_b": [("tiny p", False, "NaN where a number was expected")]}),
    _row("cat", {"test_a": [("a coin", True, "ok"),
                            ("base e", False, "wrong shape (2,) (expected ())")],
                 "test_b": [("tiny p", True, "ok")]}),
    _row("dan", {"test_a": [("a coin", False, "timeout while running"),
                            ("base e", True, "ok")],
                 "test_b": [("tiny p", True, "ok")]}),
    # malformed: no probes at all, so it counts towards no check
    {"student": "eve", "assignment": "psX", "status": "malformed", "score": 0.0,
     "max_score": 1.0, "seconds": 0.0,
     "payload": {"cells": {"test_a": {"score": 0.0, "max_score": 1.0, "probes": []}}}},
]


def test_pass_share_per_check_hardest_first():
    stats = check_stats(CLASS)
    got = [(s.cell, s.hint, s.passed, s.judged) for s in stats]
    assert got == [("test_a", "base e", 1, 4),     # 25 %: the idea the class missed
                   ("test_a", "a coin", 3, 4),     # 75 %, first in the spec among ties
                   ("test_b", "tiny p", 3, 4)]
    assert stats[0].share == pytest.approx(0.25)


def test_commonest_failure_messages_counted_and_ranked():
    base_e = check_stats(CLASS)[0]
    assert base_e.failures == (("wrong value", 2), ("wrong shape (2,) (expected ())", 1))
    assert check_stats(CLASS, top=1)[0].failures == (("wrong value", 2),)
    coin = next(s for s in check_stats(CLASS) if s.hint == "a coin")
    assert coin.failures == (("timeout while running", 1),)


def test_checks_with_the_same_hint_in_one_cell_stay_apart():
    rows = [_row("ann", {"t": [("same", True, "ok"), ("same", False, "wrong value")]}),
            _row("bob", {"t": [("same", True, "ok"), ("same", True, "ok")]})]
    stats = sorted(check_stats(rows), key=lambda s: s.position)
    assert [(s.position, s.passed, s.judged) for s in stats] == [(0, 2, 2), (1, 1, 2)]


def test_text_names_each_check_its_share_and_failures():
    text = analytics_text("psX", check_stats(CLASS), len(CLASS))
    lines = text.splitlines()
    assert "5 submission(s)" in lines[0]
    first = next(i for i, line in enumerate(lines) if "base e" in line)
    assert re.match(r"\s*25%\s+4\s+test_a: base e$", lines[first])
    assert lines[first + 1].strip() == "2 x wrong value"
    assert analytics_text("psX", [], 3).startswith("psX: no hidden checks were judged")
    everyone = [_row(s, {"t": [("easy", True, "ok"), ("hard", s == "ann", "wrong value")]})
                for s in ("ann", "bob")]
    text = analytics_text("psX", check_stats(everyone), 2)
    assert "hard" in text and "easy" not in text      # a check all pass is only counted
    assert text.splitlines()[-1] == "1 of 2 check(s) passed by every judged submission"


def test_no_rows_and_rows_without_probes_give_no_checks():
    assert check_stats([]) == []
    assert check_stats([CLASS[-1]]) == []


@pytest.mark.slow
def test_report_on_a_real_class_shows_which_check_the_class_missed(small_class):
    from small_class import A, cli

    from autograder.record import results

    rows = results(small_class["url"], A)
    stats = check_stats(rows)
    judged_students = {r["student"] for r in rows if r["status"] != "malformed"}
    assert stats and all(s.judged == len(judged_students) == 3 for s in stats)
    # a check the half-right student fails (H(X|Y) for H(Y|X)): only the solution passes
    cond = [s for s in stats if s.cell == "test_conditional_entropy"]
    assert cond and min(s.share for s in cond) == pytest.approx(1 / 3)
    assert stats[0].share == pytest.approx(min(s.share for s in stats))   # hardest first
    # the untouched release fails every check with the same kind of message
    assert all(s.passed >= 1 and sum(n for _, n in s.failures) == s.judged - s.passed
               for s in stats)
    assert any("NotImplementedError" in m for s in stats for m, _ in s.failures)
    proc = cli("report", A, "--course", str(small_class["course"]))
    assert "hardest first" in proc.stdout and "test_conditional_entropy" in proc.stdout
    html = (small_class["course"] / "reports" / A / "report.html").read_text()
    assert "Hidden checks, hardest first" in html and "NotImplementedError" in html
