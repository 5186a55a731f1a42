"""Export: one CSV row per student and assignment, with the status that explains a zero.

Columns: ``student_id, assignment, score, max_score, status``, then one column per graded
cell (its score; empty while a cell awaits manual grading). Scores are nbgrader's (a
manual grade wins over the autograder's). The reasons for every status other than ``ok``
go to a log file next to the CSV.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .record import results, scores


def export_csv(url: str, out: Path, assignment: str | None = None) -> tuple[Path, Path]:
    rows = results(url, assignment)
    by_assignment: dict[str, dict] = {}
    cell_names: list[str] = []
    for r in rows:
        a = r["assignment"]
        if a not in by_assignment:
            by_assignment[a] = scores(url, a)
        for g in r["payload"].get("cells", {}):
            if g not in cell_names:
                cell_names.append(g)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log = out.with_suffix(".log")
    with open(out, "w", newline="") as f, open(log, "w") as flog:
        w = csv.writer(f)
        w.writerow(["student_id", "assignment", "score", "max_score", "status", *cell_names])
        for r in rows:
            cells = by_assignment[r["assignment"]].get(r["student"], {})
            total = sum(v for v in cells.values() if v is not None)
            w.writerow([r["student"], r["assignment"], f"{total:g}", f"{r['max_score']:g}",
                        r["status"], *["" if cells.get(g) is None else f"{cells[g]:g}"
                                       for g in cell_names]])
            if r["status"] != "ok" or r["payload"].get("reasons"):
                for reason in r["payload"].get("reasons", []) or [r["status"]]:
                    flog.write(f"{r['student']}\t{r['assignment']}\t{r['status']}\t{reason}\n")
    return out, log
