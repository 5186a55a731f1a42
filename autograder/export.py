"""Export: the gradebook as files people and learning-management systems import.

Three formats, all read from the gradebook and never written back to it:

* ``csv`` (the default): one row per student and assignment, ``student_id, assignment,
  score, max_score, status, late_by_s, late_by, late_penalty, final_score``, then one
  column per graded cell (its score; empty while a cell awaits manual grading).
* ``canvas``: Canvas's gradebook import CSV, one row per student, one column per
  assignment, with a ``Points Possible`` row.
* ``moodle``: Moodle's grade import CSV, one row per student: name, ID number and email
  columns (map one of them to the Moodle user field at import), then one grade column per
  assignment.

Scores are nbgrader's (a manual grade wins over the autograder's). A late penalty
(:mod:`autograder.late`) is applied here only: ``score`` stays the raw score, and
``final_score`` (the number the LMS files carry) is the score less ``late_penalty``. The
reasons for every status other than ``ok``, every lateness that could not be told and
every student the LMS mapping lacks go to a log file next to the output.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .late import Lateness, LatePolicy, format_duration, lateness, penalty_fraction
from .record import results, stored_results

FORMATS = ("csv", "canvas", "moodle")
# The columns a student mapping file may have (course_id, the grader's student id, is
# required; the others are what each LMS matches students by).
MAP_COLUMNS = ("course_id", "name", "first_name", "last_name", "canvas_id", "sis_user_id",
               "sis_login_id", "section", "email", "idnumber")
# Canvas: "Student, ID, SIS User ID, SIS Login ID, Section", then one column per assignment
# titled "Name (canvas assignment id)" (a title without an id creates a new assignment),
# and an optional "Points Possible" row. Documented in Canvas's Instructor Guide, "How do I
# import grades in the Gradebook?"
# (https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807)
# and summarised with the required components at
# https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
# Moodle: a header row, one row per user, one column that identifies the user and is mapped
# at import ("Map from" a column, "Map to" useremail or useridnumber), the other columns
# mapped to grade items; https://docs.moodle.org/311/en/Grade_import (CSV import).
MOODLE_COLUMNS = ("First name", "Last name", "ID number", "Email address")
MOODLE_MATCH = {"email": "email", "idnumber": "idnumber"}


class ExportError(ValueError):
    """Bad export input (a mapping file, an option): the message says what to fix."""


@dataclass(frozen=True)
class LmsStudent:
    """One line of the mapping file: how the LMS knows a student of the course."""

    course_id: str
    name: str = ""
    first_name: str = ""
    last_name: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    email: str = ""
    idnumber: str = ""


@dataclass
class ExportRow:
    """One student's result for one assignment, as exported."""

    student: str
    assignment: str
    score: float            # raw: what the gradebook holds
    max_score: float
    status: str
    cells: dict[str, float | None]
    reasons: list[str]
    late: Lateness | None = None
    penalty: float = 0.0    # points deducted for lateness

    @property
    def final_score(self) -> float:
        return max(0.0, self.score - self.penalty)

    @property
    def awaiting_manual(self) -> list[str]:
        return [g for g, v in self.cells.items() if v is None]


@dataclass
class ExportResult:
    path: Path
    log: Path
    rows: int
    unmapped: list[str] = field(default_factory=list)   # course ids the LMS file lacks
    notes: list[str] = field(default_factory=list)      # warnings for the instructor


def _num(x: float) -> str:
    return f"{round(x, 4):.4f}".rstrip("0").rstrip(".")


def load_students(path: Path) -> dict[str, LmsStudent]:
    """The mapping file: a CSV with a header naming some of :data:`MAP_COLUMNS`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ExportError(f"{path}: cannot read the student mapping file ({exc.strerror})"
                          ) from exc
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    if "course_id" not in header:
        raise ExportError(f"{path}: the header must have a course_id column (the student id "
                          f"the grader uses); allowed columns: {', '.join(MAP_COLUMNS)}")
    unknown = [h for h in header if h not in MAP_COLUMNS]
    if unknown:
        raise ExportError(f"{path}: unknown column(s) {unknown}; allowed: "
                          f"{', '.join(MAP_COLUMNS)}")
    out: dict[str, LmsStudent] = {}
    for line, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        cid = row.get("course_id", "")
        if not cid:
            raise ExportError(f"{path}, line {line}: empty course_id")
        if cid in out:
            raise ExportError(f"{path}, line {line}: course_id {cid!r} appears twice")
        out[cid] = LmsStudent(**{k: row.get(k, "") for k in MAP_COLUMNS})
    return out


def collect_rows(url: str, assignment: str | None = None, policy: LatePolicy | None = None,
                 stamps: dict[str, dict] | None = None) -> tuple[list[ExportRow], list[str]]:
    """Rows from the gradebook with lateness and penalty; and notes for the instructor.

    ``stamps``: assignment -> student -> submission time (``late.submission_timestamps``).
    """
    policy = policy or LatePolicy()
    by_assignment: dict[str, list] = {}
    rows: list[ExportRow] = []
    notes: list[str] = []
    for r in stored_results(url, assignment):
        by_assignment.setdefault(r.assignment, []).append(r)
        rows.append(ExportRow(r.student, r.assignment, r.score, r.max_score, r.status,
                              dict(r.cell_scores), list(r.payload.get("reasons", []))))
    for a in sorted(by_assignment):
        mine = [row for row in rows if row.assignment == a]
        late = lateness(url, a, [row.student for row in mine], (stamps or {}).get(a))
        if all(v.due is None for v in late.values()):
            if policy.rate:
                notes.append(f"{a}: no due date in the gradebook, so no late penalty; set one "
                             f"with `nbgrader db assignment add {a} --duedate='2026-10-01 "
                             "23:59:00 UTC' --db URL`")
        for row in mine:
            row.late = late[row.student]
            row.penalty = round(row.score * penalty_fraction(policy, row.late.late_s), 6)
    return rows, notes


def _write_log(log: Path, rows: list[ExportRow], unmapped: dict[str, str],
               notes: list[str]) -> None:
    with open(log, "w") as flog:
        for note in notes:
            flog.write(f"-\t-\tnote\t{note}\n")
        for r in rows:
            if r.status != "ok" or r.reasons:
                for reason in r.reasons or [r.status]:
                    flog.write(f"{r.student}\t{r.assignment}\t{r.status}\t{reason}\n")
            if r.late is not None and r.late.due is not None and r.late.late_s is None:
                flog.write(f"{r.student}\t{r.assignment}\tlate_unknown\t{r.late.note}\n")
            if r.penalty:
                flog.write(f"{r.student}\t{r.assignment}\tlate\t"
                           f"{format_duration(r.late.late_s)} late: -{_num(r.penalty)} "
                           f"points\n")
            if r.awaiting_manual:
                flog.write(f"{r.student}\t{r.assignment}\tmanual_pending\t"
                           f"not yet graded by hand: {', '.join(r.awaiting_manual)}\n")
        for student, why in sorted(unmapped.items()):
            flog.write(f"{student}\t-\tunmapped\t{why}\n")


def write_csv(rows: list[ExportRow], out: Path) -> None:
    cell_names: list[str] = []
    for r in rows:
        cell_names += [g for g in r.cells if g not in cell_names]
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "assignment", "score", "max_score", "status", "late_by_s",
                    "late_by", "late_penalty", "final_score", *cell_names])
        for r in rows:
            late_s = r.late.late_s if r.late else None
            w.writerow([r.student, r.assignment, f"{r.score:g}", f"{r.max_score:g}", r.status,
                        "" if late_s is None else f"{late_s:.0f}", format_duration(late_s),
                        _num(r.penalty), _num(r.final_score),
                        *["" if r.cells.get(g) is None else f"{r.cells[g]:g}"
                          for g in cell_names]])


def _wide(rows: list[ExportRow]) -> tuple[list[str], dict[str, dict[str, ExportRow]]]:
    assignments = sorted({r.assignment for r in rows})
    by_student: dict[str, dict[str, ExportRow]] = {}
    for r in rows:
        by_student.setdefault(r.student, {})[r.assignment] = r
    return assignments, by_student


def write_canvas(rows: list[ExportRow], students: dict[str, LmsStudent], out: Path,
                 canvas_ids: dict[str, str] | None = None) -> dict[str, str]:
    """Canvas's gradebook import file; returns the students left out, with why."""
    canvas_ids = canvas_ids or {}
    assignments, by_student = _wide(rows)
    maxima = {a: max(r.max_score for r in rows if r.assignment == a) for a in assignments}
    unmapped: dict[str, str] = {}
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*CANVAS_COLUMNS, *[f"{a} ({canvas_ids[a]})" if a in canvas_ids else a
                                       for a in assignments]])
        w.writerow(["Points Possible", "", "", "", "", *[_num(maxima[a]) for a in assignments]])
        for student, got in sorted(by_student.items()):
            s = students.get(student)
            if s is None:
                unmapped[student] = "not in the student mapping file"
                continue
            if not (s.canvas_id or s.sis_user_id or s.sis_login_id):
                unmapped[student] = "no canvas_id, sis_user_id or sis_login_id in the mapping"
                continue
            name = s.name or ", ".join(x for x in (s.last_name, s.first_name) if x)
            w.writerow([name, s.canvas_id, s.sis_user_id, s.sis_login_id, s.section,
                        *[_num(got[a].final_score) if a in got else "" for a in assignments]])
    return unmapped


def write_moodle(rows: list[ExportRow], students: dict[str, LmsStudent], out: Path,
                 match: str = "email") -> dict[str, str]:
    """Moodle's grade import file; returns the students left out, with why."""
    if match not in MOODLE_MATCH:
        raise ExportError(f"--moodle-match {match!r}: choose one of {sorted(MOODLE_MATCH)}")
    assignments, by_student = _wide(rows)
    unmapped: dict[str, str] = {}
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*MOODLE_COLUMNS, *assignments])
        for student, got in sorted(by_student.items()):
            s = students.get(student)
            if s is None:
                unmapped[student] = "not in the student mapping file"
                continue
            if not getattr(s, MOODLE_MATCH[match]):
                unmapped[student] = f"no {match} in the mapping (--moodle-match {match})"
                continue
            first, last = s.first_name, s.last_name
            if not (first or last) and s.name:
                last, _, first = (p.strip() for p in s.name.partition(","))
            w.writerow([first, last, s.idnumber, s.email,
                        *[_num(got[a].final_score) if a in got else "" for a in assignments]])
    return unmapped


def export(url: str, out: Path, fmt: str = "csv", assignment: str | None = None,
           students: Path | None = None, policy: LatePolicy | None = None,
           stamps: dict[str, dict] | None = None, canvas_ids: dict[str, str] | None = None,
           moodle_match: str = "email", notes: list[str] | None = None) -> ExportResult:
    """Write ``out`` (and ``out.log``) in format ``fmt``; the gradebook is only read."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "csv" and students is not None:
        raise ExportError("--students is for --format canvas or moodle; the csv format "
                          "uses the course's own student ids")
    if fmt != "csv" and students is None:
        raise ExportError(f"--format {fmt} needs --students MAP.csv (columns: "
                          f"{', '.join(MAP_COLUMNS)}) to name the students as {fmt} does")
    mapping = load_students(students) if students is not None else {}
    rows, found = collect_rows(url, assignment, policy, stamps)
    notes = list(notes or []) + found
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    unmapped: dict[str, str] = {}
    if fmt == "csv":
        write_csv(rows, out)
    elif fmt == "canvas":
        unmapped = write_canvas(rows, mapping, out, canvas_ids)
    else:
        unmapped = write_moodle(rows, mapping, out, moodle_match)
    pending = sorted({r.student for r in rows if r.awaiting_manual})
    if pending and fmt != "csv":
        notes.append(f"{len(pending)} student(s) have cells not yet graded by hand; their "
                     f"{fmt} score counts the graded cells only: {', '.join(pending)}")
    log = out.with_suffix(".log")
    _write_log(log, rows, unmapped, notes)
    return ExportResult(out, log, len(rows), sorted(unmapped), notes)


def export_csv(url: str, out: Path, assignment: str | None = None) -> tuple[Path, Path]:
    """The csv format without a late policy (kept for callers of the old function)."""
    res = export(url, out, "csv", assignment)
    return res.path, res.log


def export_cli(url: str, args) -> int:
    """``python -m autograder export``: options in, files and a summary out."""
    import sys

    from .late import LatePolicyError, parse_policy, submission_timestamps

    try:
        policy = parse_policy(args.late_penalty, args.late_cap, args.late_grace)
        canvas_ids = {}
        for item in args.canvas_id:
            a, sep, cid = item.partition("=")
            if not sep or not a.strip() or not cid.strip():
                raise ExportError(f"--canvas-id {item!r}: write ASSIGNMENT=ID, e.g. "
                                  "ps01_information=12345")
            canvas_ids[a.strip()] = cid.strip()
        stamps, notes = None, []
        if args.submitted is not None:
            names = ([args.assignment] if args.assignment
                     else sorted({r["assignment"] for r in results(url)}))
            stamps = {}
            for a in names:
                stamps[a], problems = submission_timestamps(args.submitted, a)
                notes += [f"{a}: {p}" for p in problems]
        res = export(url, args.out, args.format, args.assignment, args.students, policy,
                     stamps, canvas_ids, args.moodle_match, notes)
    except (ExportError, LatePolicyError) as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return 2
    for note in res.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {res.path} ({args.format}, {res.rows} result(s); {policy.describe()}; "
          f"reasons in {res.log})")
    if res.unmapped:
        print(f"{len(res.unmapped)} student(s) left out of {res.path.name}, not in the "
              f"mapping or without the id {args.format} needs: {', '.join(res.unmapped)}; "
              f"add them to {args.students} and export again", file=sys.stderr)
        return 1
    return 0
