"""The gradebook write of one submission is one transaction (issue 14, section 2)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from unitkit import instructor_nb  # noqa: E402

from autograder import record  # noqa: E402
from autograder.judge import CellScore, Verdict  # noqa: E402
from autograder.prepare import instructor_cells  # noqa: E402

CELLS = instructor_cells(instructor_nb())


def _verdict(entropy: float, kl: float) -> Verdict:
    cells = {"test_entropy": CellScore("test_entropy", entropy, 2.0),
             "test_kl": CellScore("test_kl", kl, 1.0),
             "explain": CellScore("explain", None, 1.0)}
    return Verdict("ok", entropy + kl, 4.0, cells, [])


@pytest.mark.slow   # nbgrader's gradebook runs its alembic migrations (about 2 s)
def test_a_failed_write_leaves_grades_and_result_row_as_they_were(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    rec = record.Recorder(url, "ps00_unit", CELLS)
    rec.record("ada", _verdict(2.0, 1.0), "d1", {"cells": {}})

    def broken_insert():
        raise OSError("disk full while writing the result row")

    with monkeypatch.context() as m:
        m.setattr(record.RESULTS, "insert", broken_insert)
        with pytest.raises(OSError, match="disk full"):
            rec.record("ada", _verdict(0.0, 0.0), "d2", {"cells": {}})
    rec.close()
    grades = record.scores(url, "ps00_unit")["ada"]
    assert grades == {"test_entropy": 2.0, "test_kl": 1.0, "explain": None}
    (row,) = record.results(url, "ps00_unit")
    assert (row["digest"], row["score"]) == ("d1", 3.0)


@pytest.mark.slow   # nbgrader's gradebook runs its alembic migrations (about 2 s)
def test_feedback_report_and_csv_agree_after_hand_grading(tmp_path):
    from nbgrader.api import Gradebook

    from autograder.export import collect_rows
    from autograder.feedback import write_feedback
    from autograder.report import write_report

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    rec = record.Recorder(url, "ps00_unit", CELLS)
    late = _verdict(0.0, 1.0)
    late.status = "timeout"
    rec.record("ada", late, "d1", {"cells": {g: {"score": c.score, "max_score": c.max_score}
                                             for g, c in late.cells.items()}})
    rec.close()
    with Gradebook(url, course_id="infoloss") as gb:   # the instructor grades by hand
        gb.find_grade("explain", "ps00_unit", "ps00_unit", "ada").manual_score = 1.0
        gb.find_grade("test_entropy", "ps00_unit", "ps00_unit", "ada").manual_score = 1.5
        gb.db.commit()
    (stored,) = record.stored_results(url, "ps00_unit")
    assert (stored.auto_score, stored.score) == (1.0, 3.5)
    (row,), _ = collect_rows(url, "ps00_unit")
    assert row.score == 3.5 and row.cells["test_entropy"] == 1.5
    page = write_feedback("ps00_unit", url, tmp_path)[0].read_text()
    assert "<b>3.5</b>" in page and "1.5 / 2 points" in page
    report = write_report("ps00_unit", url, tmp_path).read_text()
    assert "(timeout, 3.5)" in report
