"""A shared PostgreSQL gradebook, for real: a server started by the tests (tests/pg_server.py),
two graders writing into it at once, regrading, and nbgrader's own commands on it.

Skipped with the reason where PostgreSQL or its driver is missing; required in CI
(``INFOLOSS_REQUIRE_POSTGRES=1`` in .ci/run).
"""

from __future__ import annotations

import contextlib
import csv
import io
import multiprocessing as mp
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from pg_server import new_database  # noqa: E402

from autograder import EXERCISES, ROOT, SOLUTIONS  # noqa: E402
from autograder.markers import drop_solution_markers  # noqa: E402
from autograder.record import (  # noqa: E402
    Recorder,
    integrity_problems,
    is_postgres,
    results,
    scores,
)

TWO = ("ps01_information", "ps04_stability")     # both cheap: numpy and a little torch
SOLVED, UNTOUCHED = ("ann", "ben"), ("cy",)
LIMITS = ["--cell-timeout", "30", "--probe-timeout", "20", "--timeout", "180"]
SANDBOX = [] if shutil.which("bwrap") else ["--no-sandbox"]   # trusted notebooks only
NBGRADER = Path(sys.executable).parent / "nbgrader"
# payload entries that measure the run (time, memory), not the submission
MEASURED = {"memory_peak", "runner_cpu", "sandbox_cpu", "slowest_chunks", "grader_cpu"}


def test_postgres_urls_are_recognised():
    assert is_postgres("postgresql://u@h/db") and is_postgres("postgresql+psycopg://u@h:5/db")
    assert not is_postgres("sqlite:////tmp/gradebook.db")


# --- helpers -------------------------------------------------------------------------

def released(a: str) -> nbformat.NotebookNode:
    return nbformat.read(EXERCISES / a / f"{a}.ipynb", as_version=4)


def solved(a: str) -> nbformat.NotebookNode:
    """The release with the instructor's answers typed in, as a student would hand it in."""
    sol = nbformat.read(SOLUTIONS / a / f"{a}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: drop_solution_markers(c.source)
               for c in sol.cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
    nb = released(a)
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            c.source = answers[gid]
    return nb


def write_class(folder: Path, a: str) -> Path:
    for student in SOLVED + UNTOUCHED:
        (folder / student).mkdir(parents=True, exist_ok=True)
        nb = solved(a) if student in SOLVED else released(a)
        nbformat.write(nb, folder / student / f"{a}.ipynb")
    return folder


def grade_cmd(a: str, subs: Path, course: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", a, str(subs), "--course", str(course),
            "--db", url, "--workers", "1", *LIMITS, *SANDBOX]


def cli(*args: str) -> str:
    """``python -m autograder ARGS`` in this process (the same code path, without paying
    for the imports again); returns what it printed."""
    from autograder.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    assert rc == 0, out.getvalue() + err.getvalue()
    return out.getvalue()


def nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(NBGRADER), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def cells_of(a: str):
    from autograder.grade import assignment_context

    return assignment_context(a).cells


def assert_rows_right(url: str, a: str) -> None:
    """Every autograded cell full for the solved notebooks, zero for the untouched ones,
    the hand-graded cells left to a human; nbgrader's scores and the result rows agree."""
    auto = {c.grade_id: c.points for c in cells_of(a) if c.grade and not c.solution}
    manual = {c.grade_id for c in cells_of(a) if c.grade and c.solution}
    rows = {r["student"]: r for r in results(url, a)}
    assert set(rows) == set(SOLVED + UNTOUCHED)
    nbg = scores(url, a)
    for student, row in rows.items():
        want = {g: (p if student in SOLVED else 0.0) for g, p in auto.items()}
        assert row["status"] == "ok", (student, row["payload"]["reasons"])
        assert {g: nbg[student][g] for g in auto} == want
        assert all(nbg[student][g] is None for g in manual)
        assert row["score"] == sum(want.values()) == sum(v for v in nbg[student].values() if v)
        assert row["max_score"] == sum(c.points for c in cells_of(a) if c.grade)


def stable(rows: list[dict]) -> list[dict]:
    """Result rows without what measures the run (seconds, memory, CPU)."""
    return [{**{k: v for k, v in r.items() if k != "seconds"},
             "payload": {k: v for k, v in r["payload"].items() if k not in MEASURED}}
            for r in rows]


# --- races between graders (no grading needed: the gradebook writes race) -------------

def _open_at_once(url: str, a: str, cells, barrier, out) -> None:
    try:
        barrier.wait(60)
        Recorder(url, a, cells).close()
        out.put((a, "ok"))
    except BaseException as exc:   # reported to the test, which names it
        out.put((a, f"{type(exc).__name__}: {exc}"[:400]))


def _record_at_once(url: str, a: str, cells, students, barrier, out) -> None:
    from autograder.judge import Verdict

    try:
        rec = Recorder(url, a, cells)
        barrier.wait(60)
        for s in students:
            rec.record(s, Verdict("ok", 0.0, 1.0, {}, []), "d" * 64, {"cells": {}})
        rec.close()
        out.put((a, "ok"))
    except BaseException as exc:
        out.put((a, f"{type(exc).__name__}: {exc}"[:400]))


RACERS = ("ps01_information", "ps02_divergence", "ps04_stability", "ps05_temperature")


def _race(target, args_for) -> dict[str, str]:
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(len(RACERS)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_for(a), barrier, out)) for a in RACERS]
    for p in procs:
        p.start()
    got = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
    return got


@pytest.mark.slow
def test_postgres_holds_ids_up_to_the_length_collect_lets_through(pg_url):
    """collect.MAX_ID_CHARS is the gradebook's real limit: an id of that length records,
    one character more is refused by PostgreSQL (so collect must leave it out)."""
    from nbgrader.api import InvalidEntry

    from autograder.collect import MAX_ID_CHARS
    from autograder.judge import Verdict

    a = "ps01_information"
    rec = Recorder(pg_url, a, cells_of(a))
    try:
        ok = "x" * MAX_ID_CHARS
        rec.record(ok, Verdict("ok", 0.0, 1.0, {}, []), "d" * 64, {"cells": {}})
        assert ok in {r["student"] for r in results(pg_url, a)}
        with pytest.raises(InvalidEntry, match="too long"):
            rec.record(ok + "y", Verdict("ok", 0.0, 1.0, {}, []), "d" * 64, {"cells": {}})
    finally:
        rec.close()


@pytest.mark.slow
def test_graders_opening_an_empty_postgres_gradebook_at_once_all_start(pg_url):
    """nbgrader creates its tables and enum types on first use; four graders doing so at
    the same moment raced (a duplicate ``CREATE TYPE grade_cell_type``) before the lock."""
    cells = {a: cells_of(a) for a in RACERS}
    got = _race(_open_at_once, lambda a: (pg_url, a, cells[a]))
    assert got == {a: "ok" for a in RACERS}
    assert integrity_problems(pg_url) == []
    rec = Recorder(pg_url, RACERS[0], cells[RACERS[0]])
    try:
        assert sorted(x.name for x in rec.gb.assignments) == sorted(RACERS)
    finally:
        rec.close()


@pytest.mark.slow
def test_graders_recording_the_same_students_at_once_all_finish(pg_url):
    """The same students in four assignments recorded at once: nbgrader's look-then-insert
    of a student raced (``student_pkey``), which stopped a grader's whole batch."""
    cells = {a: cells_of(a) for a in RACERS}
    for a in RACERS:   # the structure exists: only the records race
        Recorder(pg_url, a, cells[a]).close()
    students = [f"s{i:02d}" for i in range(6)]
    got = _race(_record_at_once, lambda a: (pg_url, a, cells[a], students))
    assert got == {a: "ok" for a in RACERS}
    for a in RACERS:
        assert [r["student"] for r in results(pg_url, a)] == students
    assert integrity_problems(pg_url) == []


@pytest.mark.slow
def test_check_db_reports_what_postgres_can_tell(pg_url, pg_server):
    """PostgreSQL has no PRAGMA integrity_check: check-db asks its catalogue instead (and
    any database: a result row nbgrader has no submission for)."""
    from autograder.judge import Verdict

    a = RACERS[0]
    rec = Recorder(pg_url, a, cells_of(a))
    for student in ("ann", "ben"):
        rec.record(student, Verdict("ok", 0.0, 1.0, {}, []), "d" * 64, {"cells": {}})
    rec.close()
    assert integrity_problems(pg_url) == []
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO autograder_results VALUES "
                             "('ps01_information', 'ghost', 'ok', 0, 1, 0, 'x', '{}')"))
        conn.execute(sa.text("ALTER TABLE autograder_results ADD CONSTRAINT score_small "
                             "CHECK (score < 0.5) NOT VALID"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'not_nbgrader'"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        with pytest.raises(sa.exc.IntegrityError):   # duplicates: left behind invalid
            conn.execute(sa.text("CREATE UNIQUE INDEX CONCURRENTLY one_status "
                                 "ON autograder_results (status)"))
    engine.dispose()
    problems = "\n".join(integrity_problems(pg_url))
    assert "ps01_information/ghost: a result in autograder_results without an nbgrader" \
        in problems
    assert "constraint score_small on autograder_results was never validated" in problems
    assert "index one_status is invalid" in problems
    assert "schema version ['not_nbgrader']" in problems
    from autograder.__main__ import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["check-db", "--db", pg_url]) == 1
    assert "4 problem(s)" in out.getvalue()


# --- real grading into one shared database ---------------------------------------------

@pytest.fixture(scope="module")
def two_graders(pg_server, tmp_path_factory):
    """ps01 and ps04 graded into one fresh database by two graders running at once."""
    tmp = tmp_path_factory.mktemp("pg_two")
    url = new_database(pg_server, "two_graders")
    t0 = time.monotonic()
    procs = [subprocess.Popen(grade_cmd(a, write_class(tmp / "subs" / a, a), tmp / "course",
                                        url), cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for a in TWO]
    logs = [p.communicate(timeout=900)[0] for p in procs]
    seconds = time.monotonic() - t0
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log
    return {"url": url, "tmp": tmp, "course": tmp / "course", "logs": logs,
            "seconds": seconds}


@pytest.mark.slow
def test_two_graders_at_once_write_every_row_right(two_graders):
    url = two_graders["url"]
    for a in TWO:
        assert_rows_right(url, a)
    assert integrity_problems(url) == []
    assert "gradebook ok" in cli("check-db", "--db", url)


@pytest.mark.slow
def test_nbgrader_commands_and_our_readers_see_the_postgres_gradebook(two_graders):
    url, tmp, course = two_graders["url"], two_graders["tmp"], two_graders["course"]
    listed = nbgrader("db", "student", "list", f"--db={url}", cwd=tmp).stdout
    assert "There are 3 students in the database" in listed
    assert all(f"{s} (" in listed for s in SOLVED + UNTOUCHED)
    nbgrader("export", f"--db={url}", "--CourseDirectory.course_id=infoloss", cwd=tmp)
    with open(tmp / "grades.csv") as f:
        theirs = {(r["assignment"], r["student_id"]): float(r["score"])
                  for r in csv.DictReader(f)}
    ours = {(r["assignment"], r["student"]): r["score"] for r in results(url)}
    assert theirs == ours and len(ours) == len(TWO) * 3
    # nbgrader writes a due date into the same database; our export reads it back
    nbgrader("db", "assignment", "add", TWO[0], "--duedate=2026-10-01 12:00:00 UTC",
             f"--db={url}", cwd=tmp)
    out = tmp / "export.csv"
    cli("export", "--out", str(out), "--db", url, "--course", str(course),
        "--late-penalty", "10%/day")
    with open(out) as f:
        exported = {(r["assignment"], r["student_id"]): float(r["final_score"])
                    for r in csv.DictReader(f)}
    assert exported == ours   # no submission time known: nothing charged
    for a in TWO:
        cli("report", a, "--db", url, "--course", str(course))
        assert "Slowest" in (course / "reports" / a / "report.html").read_text()
        cli("feedback", a, "--db", url, "--course", str(course))
        assert len(list((course / "feedback").glob(f"*/{a}/*.html"))) == 3


@pytest.mark.slow
def test_regrading_into_postgres_keeps_the_gradebook_and_the_manual_grade(pg_url, tmp_path):
    from nbgrader.api import Gradebook

    a = TWO[0]
    subs, course = write_class(tmp_path / "subs", a), tmp_path / "course"
    subprocess.run(grade_cmd(a, subs, course, pg_url), cwd=ROOT, check=True,
                   capture_output=True, timeout=900)
    manual = next(c.grade_id for c in cells_of(a) if c.grade and c.solution)
    with Gradebook(pg_url, course_id="infoloss") as gb:   # as formgrader would
        g = gb.find_grade(manual, a, a, SOLVED[0])
        g.manual_score = 1.5
        g.needs_manual_grade = False
        gb.db.commit()
    first_scores, first_rows = scores(pg_url, a), stable(results(pg_url, a))
    proc = subprocess.run(grade_cmd(a, subs, course, pg_url), cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert scores(pg_url, a) == first_scores
    assert first_scores[SOLVED[0]][manual] == 1.5
    assert stable(results(pg_url, a)) == first_rows
    assert integrity_problems(pg_url) == []
