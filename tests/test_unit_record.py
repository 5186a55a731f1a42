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
