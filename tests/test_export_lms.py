"""LMS export (Canvas, Moodle, csv) with a student mapping, and the late policy.

Fast tests on fabricated rows and files; slow ones on a small real class
(tests/small_class.py: four ps01 submissions graded by the real grader, with nbgrader
timestamps and a due date set by ``nbgrader db assignment add --duedate``).
"""

from __future__ import annotations

import csv
import hashlib
from datetime import datetime, timedelta

import pytest
from small_class import cli

from autograder.export import ExportError, ExportRow, load_students, write_canvas, write_moodle
from autograder.late import (
    Lateness,
    LatePolicy,
    LatePolicyError,
    format_duration,
    parse_duration,
    parse_policy,
    penalty_fraction,
    read_timestamp,
    submission_timestamps,
)
from autograder.record import results, scores

A = "ps01_information"
# Canvas's gradebook import columns, from Canvas's Instructor Guide "How do I import grades
# in the Gradebook?" (https://community.canvaslms.com/t5/Instructor-Guide/
# How-do-I-import-grades-in-the-Gradebook/ta-p/807) and the summary of its required
# components at https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/
# calculating-final-grades/import-csv-file-carmen-grades : Student, ID, SIS User ID, SIS
# Login ID, Section, then one column per assignment "Name (assignment id)", and a
# "Points Possible" row.
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
# Moodle's CSV grade import (https://docs.moodle.org/311/en/Grade_import): a header row, a
# column mapped at import to a user field ("Email address" -> useremail or "ID number" ->
# useridnumber), the other columns mapped to grade items.
MOODLE_IDENTIFIERS = {"Email address", "ID number"}


# ---------------------------------------------------------------- late policy (fast)

def test_policy_parses_rate_unit_cap_and_grace():
    p = parse_policy("10%/day", "50%", "15min")
    assert (p.rate, p.unit_s, p.cap, p.grace_s) == (0.1, 86400, 0.5, 900)
    assert parse_policy("2%/hour").unit_s == 3600 and parse_policy("2%/hour").cap == 1.0
    assert parse_policy("0.25/week").rate == 0.25
    assert parse_policy(None) == LatePolicy() and parse_policy("none") == LatePolicy()
    assert penalty_fraction(parse_policy("zero"), 1.0) == 1.0     # nbgrader's 'zero'
    assert parse_duration("90s") == 90 and parse_duration("2 days") == 172800
    assert p.describe() == "10% of the score per started day late, at most 50%, 00:15:00 grace"
    assert LatePolicy().describe() == "no late penalty"


@pytest.mark.parametrize("penalty,cap,grace,words", [
    ("10%", None, None, "RATE/UNIT"),
    ("ten/day", None, None, "percentage"),
    ("10%/fortnight", None, None, "fortnight"),
    ("10%/day", "150%", None, "outside 0-100%"),
    ("none", "50%", None, "--late-cap needs --late-penalty"),
    ("10%/day", None, "soon", "duration 'soon'"),
])
def test_bad_policy_says_what_to_write(penalty, cap, grace, words):
    with pytest.raises(LatePolicyError, match=words.replace("(", r"\(").replace("+", r"\+")):
        parse_policy(penalty, cap, grace)


def test_penalty_per_started_unit_capped_and_after_grace():
    p = parse_policy("10%/day", "50%", "10min")
    assert penalty_fraction(p, None) == 0.0           # unknown: no penalty
    assert penalty_fraction(p, 0.0) == 0.0
    assert penalty_fraction(p, 600) == 0.0            # within the grace period
    assert penalty_fraction(p, 601) == pytest.approx(0.1)
    assert penalty_fraction(p, 86400) == pytest.approx(0.1)
    assert penalty_fraction(p, 86401) == pytest.approx(0.2)
    assert penalty_fraction(p, 30 * 86400) == 0.5     # the cap
    assert penalty_fraction(LatePolicy(), 1e6) == 0.0


def test_lateness_and_its_readable_form():
    due = datetime(2026, 10, 1, 12)
    assert Lateness(due + timedelta(hours=-1), due).late_s == 0.0
    assert Lateness(due + timedelta(days=2, seconds=3725), due).late_s == 2 * 86400 + 3725
    assert Lateness(None, due).late_s is None and Lateness(due, None).late_s is None
    assert format_duration(2 * 86400 + 3725) == "2d 01:02:05"
    assert format_duration(750) == "00:12:30"
    assert format_duration(0) == "0" and format_duration(None) == ""


def test_timestamps_read_in_nbgraders_format_and_layout(tmp_path):
    sub = tmp_path / "submitted"
    for student, text in {"ann": "2026-10-01 14:30:00.123456 Europe/Berlin",
                          "bob": "2026-10-01 12:00:00 UTC", "cat": "yesterday-ish",
                          "dan": ""}.items():
        (sub / student / A).mkdir(parents=True)
        (sub / student / A / "timestamp.txt").write_text(text + "\n")
    (sub / "eve" / A).mkdir(parents=True)        # no timestamp.txt: not in the result
    stamps, problems = submission_timestamps(sub, A)
    assert stamps == {"ann": datetime(2026, 10, 1, 12, 30, 0, 123456),   # CEST -> UTC
                      "bob": datetime(2026, 10, 1, 12)}
    assert len(problems) == 2
    assert problems[0].startswith("cat: ") and "timestamp.txt" in problems[0]
    assert problems[1].startswith("dan: ") and "empty" in problems[1]
    assert read_timestamp(sub / "eve" / A) is None
    with pytest.raises(LatePolicyError, match="not a folder"):
        submission_timestamps(tmp_path / "nowhere", A)


# ---------------------------------------------------------------- mapping and LMS files (fast)

def _map(tmp_path, text: str):
    path = tmp_path / "map.csv"
    path.write_text(text)
    return path


def test_mapping_file_errors_name_the_problem(tmp_path):
    with pytest.raises(ExportError, match="course_id column"):
        load_students(_map(tmp_path, "student,email\nann,a@x\n"))
    with pytest.raises(ExportError, match=r"unknown column\(s\) \['e-mail'\]"):
        load_students(_map(tmp_path, "course_id,e-mail\nann,a@x\n"))
    with pytest.raises(ExportError, match="line 3: course_id 'ann' appears twice"):
        load_students(_map(tmp_path, "course_id,email\nann,a@x\nann,b@x\n"))
    with pytest.raises(ExportError, match="cannot read"):
        load_students(tmp_path / "missing.csv")
    ok = load_students(_map(tmp_path, "\ufeffcourse_id, email \n ann , a@x \n\n"))
    assert ok["ann"].email == "a@x"      # BOM (Excel), spaces and blank lines are fine


def _rows() -> list[ExportRow]:
    due = datetime(2026, 10, 1, 12)
    late = Lateness(due + timedelta(hours=30), due)
    return [ExportRow("ann", "ps01", 20.0, 28.0, "ok", {"t": 20.0, "m": None}, []),
            ExportRow("ann", "ps02", 10.0, 12.0, "ok", {"t": 10.0}, [], late, penalty=2.0),
            ExportRow("bob", "ps01", 7.5, 28.0, "timeout", {"t": 7.5}, ["t: timeout"]),
            ExportRow("zed", "ps01", 28.0, 28.0, "ok", {"t": 28.0}, [])]


MAP = ("course_id,name,first_name,last_name,canvas_id,sis_user_id,sis_login_id,section,"
       "email,idnumber\n"
       "ann,\"Lovelace, Ada\",,,101,S-1,ada,Sec A,ada@uni.example,1001\n"
       "bob,,Bob,Babbage,,S-2,,Sec B,,1002\n")


def test_canvas_file_has_the_documented_columns_and_lists_the_unmapped(tmp_path):
    out = tmp_path / "canvas.csv"
    left = write_canvas(_rows(), load_students(_map(tmp_path, MAP)), out, {"ps02": "7788"})
    with open(out, newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == [*CANVAS_HEADER, "ps01", "ps02 (7788)"]
    assert table[1] == ["Points Possible", "", "", "", "", "28", "12"]
    assert table[2] == ["Lovelace, Ada", "101", "S-1", "ada", "Sec A", "20", "8"]  # 10 - 2 late
    assert table[3] == ["Babbage, Bob", "", "S-2", "", "Sec B", "7.5", ""]
    assert len(table) == 4
    assert left == {"zed": "not in the student mapping file"}


def test_canvas_needs_an_id_canvas_can_match(tmp_path):
    students = load_students(_map(tmp_path, "course_id,name,section\nann,Ada,A\n"))
    left = write_canvas(_rows()[:1], students, tmp_path / "c.csv")
    assert "no canvas_id, sis_user_id or sis_login_id" in left["ann"]


def test_moodle_file_identifies_users_and_has_a_grade_column_each(tmp_path):
    out = tmp_path / "moodle.csv"
    students = load_students(_map(tmp_path, MAP))
    left = write_moodle(_rows(), students, out, "email")
    with open(out, newline="") as f:
        table = list(csv.DictReader(f))
    assert MOODLE_IDENTIFIERS <= set(table[0])
    assert [r["Email address"] for r in table] == ["ada@uni.example"]
    assert table[0]["ps01"] == "20" and table[0]["ps02"] == "8"
    assert (table[0]["First name"], table[0]["Last name"]) == ("Ada", "Lovelace")
    assert left == {"bob": "no email in the mapping (--moodle-match email)",
                    "zed": "not in the student mapping file"}
    left = write_moodle(_rows(), students, out, "idnumber")
    with open(out, newline="") as f:
        assert [r["ID number"] for r in csv.DictReader(f)] == ["1001", "1002"]
    assert left == {"zed": "not in the student mapping file"}


# ---------------------------------------------------------------- the small real class (slow)

def _read(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _fingerprint(url: str) -> tuple:
    return scores(url, A), [(r["student"], r["score"], r["status"]) for r in results(url, A)]


@pytest.mark.slow
def test_csv_export_late_by_and_penalty_leave_the_gradebook_alone(small_class):
    url, tmp = small_class["url"], small_class["tmp"]
    before = _fingerprint(url)
    db_hash = hashlib.sha256((small_class["course"] / "gradebook.db").read_bytes()).hexdigest()
    out = tmp / "grades.csv"
    cli("export", "--format", "csv", "--out", str(out), "--course", str(small_class["course"]),
        "--submitted", str(small_class["subs"]), "--late-penalty", "10%/day",
        "--late-cap", "50%")
    rows = {r["student_id"]: r for r in _read(out)}
    assert list(rows["solution"])[:9] == ["student_id", "assignment", "score", "max_score",
                                          "status", "late_by_s", "late_by", "late_penalty",
                                          "final_score"]
    assert {s: r["late_by_s"] for s, r in rows.items()} == {
        "solution": "0", "untouched": "1800", "half": str(26 * 3600 + 1), "broken": ""}
    assert rows["half"]["late_by"] == "1d 02:00:01"
    raw = {s: float(r["score"]) for s, r in rows.items()}
    assert raw["solution"] > raw["half"] > 0 and raw["untouched"] == 0      # graded for real
    assert float(rows["half"]["late_penalty"]) == pytest.approx(0.2 * raw["half"])
    assert float(rows["half"]["final_score"]) == pytest.approx(0.8 * raw["half"])
    assert float(rows["solution"]["final_score"]) == raw["solution"]      # early: no penalty
    log = out.with_suffix(".log").read_text()
    assert "broken\tps01_information\tlate_unknown\t" in log
    assert "half\tps01_information\tlate\t1d 02:00:01 late" in log
    assert _fingerprint(url) == before              # raw scores untouched
    assert hashlib.sha256((small_class["course"] / "gradebook.db").read_bytes()
                          ).hexdigest() == db_hash
    # the same lateness from the gradebook's due date alone, without the timestamps: unknown
    cli("export", "--out", str(out), "--course", str(small_class["course"]),
        "--late-penalty", "10%/day")
    assert {r["late_by_s"] for r in _read(out)} == {""}


@pytest.mark.slow
def test_canvas_and_moodle_exports_from_the_gradebook(small_class, tmp_path):
    course = str(small_class["course"])
    mapping = tmp_path / "map.csv"
    mapping.write_text("course_id,name,canvas_id,sis_user_id,section,email,idnumber\n"
                       "solution,\"Sol, Ann\",11,S11,A,ann@x.example,9011\n"
                       "half,\"Half, Bo\",12,S12,A,bo@x.example,9012\n"
                       "broken,\"Brok, Cy\",13,S13,B,cy@x.example,9013\n")
    out = tmp_path / "canvas.csv"
    proc = cli("export", "--format", "canvas", "--out", str(out), "--course", course,
               "--students", str(mapping), "--canvas-id", f"{A}=4242", "--submitted",
               str(small_class["subs"]), "--late-penalty", "10%/day", check=False)
    assert proc.returncode == 1                                # a student is missing ...
    assert "untouched" in proc.stderr and "left out" in proc.stderr    # ... and named
    assert "untouched\t-\tunmapped\tnot in the student mapping file" in (
        out.with_suffix(".log").read_text())
    with open(out, newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == [*CANVAS_HEADER, f"{A} (4242)"]
    assert table[1][0] == "Points Possible" and float(table[1][5]) >= 26
    by_id = {r[1]: r for r in table[2:]}
    assert set(by_id) == {"11", "12", "13"}
    graded = {r["student_id"]: r for r in _read(_csv(small_class))}
    assert float(by_id["12"][5]) == pytest.approx(0.8 * float(graded["half"]["score"]))
    assert float(by_id["11"][5]) == float(graded["solution"]["score"])
    assert by_id["13"][5] == "0"                           # malformed: 0, not missing
    out = tmp_path / "moodle.csv"
    proc = cli("export", "--format", "moodle", "--out", str(out), "--course", course,
               "--students", str(mapping), "--moodle-match", "idnumber", check=False)
    assert proc.returncode == 1 and "untouched" in proc.stderr
    rows = {r["ID number"]: r for r in _read(out)}
    assert set(rows) == {"9011", "9012", "9013"}
    assert float(rows["9012"][A]) == float(graded["half"]["score"])   # no policy: raw
    proc = cli("export", "--format", "moodle", "--out", str(out), "--course", course,
               check=False)
    assert proc.returncode == 2 and "needs --students" in proc.stderr


def _csv(small_class) -> str:
    out = small_class["tmp"] / "plain.csv"
    cli("export", "--out", str(out), "--course", str(small_class["course"]))
    return str(out)


@pytest.mark.slow
def test_bad_export_options_fail_with_a_clear_message(small_class, tmp_path):
    course = str(small_class["course"])
    proc = cli("export", "--out", str(tmp_path / "x.csv"), "--course", course,
               "--late-penalty", "10%", check=False)
    assert proc.returncode == 2 and "RATE/UNIT" in proc.stderr
    proc = cli("export", "--format", "canvas", "--out", str(tmp_path / "x.csv"), "--course",
               course, "--students", str(tmp_path / "none.csv"), check=False)
    assert proc.returncode == 2 and "cannot read the student mapping file" in proc.stderr
