"""Record: write verdicts into the nbgrader gradebook (the only writer during a run).

Scores go where nbgrader keeps them (``Grade.auto_score``), so ``nbgrader formgrader``
and ``nbgrader export`` see them; manual scores are never touched, and a cell graded by
hand keeps its grade when the submission is graded again. Re-grading updates rows in
place (no delete-and-recreate as ``nbgrader autograde --force`` does), so grading the same
folder twice leaves the same gradebook. The status, its reasons and the feedback material
go to one extra table, ``autograder_results``, in the same database (SQLite by default, any
SQLAlchemy URL such as ``postgresql://...`` for several graders).

Several graders may share one PostgreSQL gradebook. nbgrader creates its tables, its enum
types and its students with "look, then insert", which races between processes (a
duplicate ``CREATE TYPE`` or ``student_pkey`` stops a batch), so on PostgreSQL every
write of the gradebook's structure and every recorded submission happens under one
advisory lock per database (:func:`gradebook_lock`); a record takes milliseconds, so the
graders barely wait for each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from nbgrader.api import Gradebook, MissingEntry

from .judge import Verdict
from .prepare import Cell

_META = sa.MetaData()
RESULTS = sa.Table(
    "autograder_results", _META,
    sa.Column("assignment", sa.String(128), primary_key=True),
    sa.Column("student", sa.String(128), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("max_score", sa.Float, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
)


def _alembic_on_path() -> None:
    """nbgrader's Gradebook runs ``alembic`` by name: put this venv's scripts on PATH."""
    import os
    import sys

    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def db_url(course: Path, db: str | None) -> str:
    return db or f"sqlite:///{Path(course).resolve() / 'gradebook.db'}"


# The advisory lock every grader of one PostgreSQL gradebook takes (a fixed 63-bit key:
# advisory locks are per database, so graders of different courses do not meet).
LOCK_KEY = int.from_bytes(hashlib.sha256(b"infoloss autograder gradebook").digest()[:8],
                          "big") >> 1


def is_postgres(url: str) -> bool:
    return sa.engine.make_url(url).get_backend_name() == "postgresql"


@contextlib.contextmanager
def gradebook_lock(url: str, conn: sa.Connection | None = None) -> Iterator[None]:
    """Hold the gradebook's advisory lock (PostgreSQL; elsewhere a no-op, SQLite locks the
    file itself). ``conn`` is a connection kept for the purpose, else one is opened. The
    lock is a session lock on its own connection, so it outlives the gradebook's commits
    and goes away with the connection if the grader dies."""
    if not is_postgres(url):
        yield
        return
    engine = None
    if conn is None:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        conn = engine.connect()
    try:
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            conn.commit()
    finally:
        if engine is not None:
            conn.close()
            engine.dispose()


def open_gradebook(url: str) -> Gradebook:
    """nbgrader's Gradebook, whose first opening creates the tables (under the lock)."""
    _alembic_on_path()
    with gradebook_lock(url):
        return Gradebook(url, course_id="infoloss")


def _results_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    with gradebook_lock(url):
        _META.create_all(engine)
    return engine


class Recorder:
    """Opens the gradebook once and records verdicts as they arrive."""

    def __init__(self, url: str, assignment: str, cells: list[Cell],
                 notebook: str | None = None) -> None:
        self.url = url
        self.assignment = assignment
        self.notebook = notebook or assignment
        _alembic_on_path()
        self.engine = sa.create_engine(url)
        self._lock_conn = self.engine.connect() if is_postgres(url) else None
        with self._locked():
            self.gb = Gradebook(url, course_id="infoloss")
            _META.create_all(self.engine)
            self._structure(cells)

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return gradebook_lock(self.url, self._lock_conn)

    def _structure(self, cells: list[Cell]) -> None:
        """Assignment, notebook and cells, as ``nbgrader generate_assignment`` records them."""
        gb, a, nb = self.gb, self.assignment, self.notebook
        gb.update_or_create_assignment(a)
        gb.update_or_create_notebook(nb, a)
        for c in cells:
            if c.grade:
                gb.update_or_create_grade_cell(c.grade_id, nb, a, max_score=c.points,
                                               cell_type=c.cell_type)
            if c.solution:
                gb.update_or_create_solution_cell(c.grade_id, nb, a)
            if c.grade or c.solution or c.locked:
                gb.update_or_create_source_cell(c.grade_id, nb, a, cell_type=c.cell_type,
                                                locked=c.locked, source=c.source)

    def record(self, student: str, verdict: Verdict, digest: str, payload: dict) -> None:
        with self._locked():
            self._record(student, verdict, digest, payload)

    def _record(self, student: str, verdict: Verdict, digest: str, payload: dict) -> None:
        gb, a, nb = self.gb, self.assignment, self.notebook
        gb.update_or_create_student(student)
        try:
            gb.find_submission(a, student)
        except MissingEntry:
            with warnings.catch_warnings():  # nbgrader's own autoflush chatter
                warnings.simplefilter("ignore")
                gb.add_submission(a, student)
        row = {"assignment": a, "student": student, "status": verdict.status,
               "score": verdict.score, "max_score": verdict.max_score,
               "seconds": round(verdict.seconds, 3), "digest": digest,
               "payload": json.dumps(payload, sort_keys=True, default=str)}
        # One transaction: nbgrader's grades and the autograder's result row are written
        # together or not at all (a failure leaves both as they were).
        session = gb.db
        try:
            for gid, cs in verdict.cells.items():
                grade = gb.find_grade(gid, nb, a, student)
                if cs.score is None:   # graded by hand
                    grade.auto_score = None
                    grade.needs_manual_grade = grade.manual_score is None
                else:
                    grade.auto_score = float(cs.score)
                    grade.needs_manual_grade = False
            session.execute(RESULTS.delete().where(RESULTS.c.assignment == a,
                                                   RESULTS.c.student == student))
            session.execute(RESULTS.insert().values(**row))
            session.commit()
        except BaseException:
            session.rollback()
            raise

    def close(self) -> None:
        self.gb.close()
        if self._lock_conn is not None:
            self._lock_conn.close()
        self.engine.dispose()


def results(url: str, assignment: str | None = None) -> list[dict]:
    engine = _results_engine(url)
    with engine.connect() as conn:
        q = RESULTS.select().order_by(RESULTS.c.assignment, RESULTS.c.student)
        if assignment:
            q = q.where(RESULTS.c.assignment == assignment)
        rows = [dict(r._mapping) for r in conn.execute(q)]
    engine.dispose()
    for r in rows:
        r["payload"] = json.loads(r["payload"])
    return rows


@dataclass
class StoredResult:
    """One submission as stored: the autograder's result row and nbgrader's per-cell scores
    (a manual grade wins). The one type feedback, report and export read, so the three agree
    after hand grading."""

    assignment: str
    student: str
    status: str
    auto_score: float           # what the autograder gave, before any hand grading
    max_score: float
    seconds: float
    digest: str
    payload: dict
    cell_scores: dict[str, float | None]

    @property
    def score(self) -> float:
        """The score nbgrader holds now: manual grades where given, else the autograder's."""
        return float(sum(v for v in self.cell_scores.values() if v is not None))

    def as_row(self) -> dict:
        """A plain row (as :func:`results` returns) whose scores are the current ones."""
        payload = dict(self.payload)
        payload["cells"] = {g: {**c, "score": self.cell_scores.get(g, c.get("score"))}
                            for g, c in self.payload.get("cells", {}).items()}
        return {"assignment": self.assignment, "student": self.student, "status": self.status,
                "score": self.score, "auto_score": self.auto_score,
                "max_score": self.max_score, "seconds": self.seconds, "digest": self.digest,
                "payload": payload}


def stored_results(url: str, assignment: str | None = None) -> list[StoredResult]:
    out = []
    by_assignment: dict[str, dict] = {}
    for r in results(url, assignment):
        a = r["assignment"]
        if a not in by_assignment:
            by_assignment[a] = scores(url, a)
        cells = {g: c.get("score") for g, c in r["payload"].get("cells", {}).items()}
        cells.update(by_assignment[a].get(r["student"], {}))
        out.append(StoredResult(a, r["student"], r["status"], float(r["score"]),
                                float(r["max_score"]), float(r["seconds"]), r["digest"],
                                r["payload"], cells))
    return out


def scores(url: str, assignment: str) -> dict[str, dict[str, float | None]]:
    """student -> grade_id -> score (manual score if given, else the autograder's)."""
    out: dict[str, dict[str, float | None]] = {}
    with open_gradebook(url) as gb:
        try:
            subs = gb.find_assignment(assignment).submissions
        except MissingEntry:
            return out
        for sub in subs:
            for nb in sub.notebooks:
                out.setdefault(sub.student.id, {}).update(
                    {g.name: g.score if (g.manual_score is not None or g.auto_score is not None)
                     else None for g in nb.grades})
    return out


def integrity_problems(url: str) -> list[str]:
    """Database-level and gradebook-level consistency problems (empty: all good)."""
    problems: list[str] = []
    if url.startswith("sqlite:///"):
        problems += _sqlite_problems(url[len("sqlite:///"):])
    elif is_postgres(url):
        problems += postgres_problems(url)
    submissions: set[tuple[str, str]] = set()
    with open_gradebook(url) as gb:
        for a in gb.assignments:
            for sub in a.submissions:
                submissions.add((a.name, sub.student.id))
                for nb in sub.notebooks:
                    for g in nb.grades:
                        s, m = g.score, g.max_score
                        if s is not None and not (0 <= s <= m):
                            problems.append(f"{a.name}/{sub.student.id}/{g.name}: score {s} "
                                            f"outside [0, {m}]")
    for r in results(url):
        if r["score"] > r["max_score"] or r["score"] < 0:
            problems.append(f"{r['assignment']}/{r['student']}: total out of range")
        if (r["assignment"], r["student"]) not in submissions:
            problems.append(f"{r['assignment']}/{r['student']}: a result in autograder_results "
                            "without an nbgrader submission (grade the student again)")
    return problems


def _sqlite_problems(path: str) -> list[str]:
    problems = []
    con = sqlite3.connect(path)
    try:
        res = con.execute("PRAGMA integrity_check").fetchone()[0]
        if res != "ok":
            problems.append(f"sqlite integrity_check: {res}")
        fk = con.execute("PRAGMA foreign_key_check").fetchall()
        if fk:
            problems.append(f"foreign key problems: {fk[:5]}")
    finally:
        con.close()
    return problems


def postgres_problems(url: str) -> list[str]:
    """What PostgreSQL itself can be asked (it enforces foreign keys always, so no
    PRAGMA-style scan): indexes left invalid (a failed ``CREATE INDEX CONCURRENTLY``),
    constraints added ``NOT VALID`` and never checked, and a schema version that is not
    the one this nbgrader writes (a half-run ``nbgrader db upgrade``)."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    problems = []
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            for (index,) in conn.execute(sa.text(
                    "SELECT indexrelid::regclass::text FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indrelid WHERE NOT i.indisvalid "
                    "AND c.relnamespace = current_schema()::text::regnamespace ORDER BY 1")):
                problems.append(f"postgresql: index {index} is invalid (REINDEX INDEX {index})")
            for table, name in conn.execute(sa.text(
                    "SELECT conrelid::regclass::text, conname FROM pg_constraint "
                    "WHERE NOT convalidated "
                    "AND connamespace = current_schema()::text::regnamespace ORDER BY 1, 2")):
                problems.append(f"postgresql: constraint {name} on {table} was never validated "
                                f"(ALTER TABLE {table} VALIDATE CONSTRAINT {name})")
            if sa.inspect(conn).has_table("alembic_version"):
                versions = sorted(v for (v,) in conn.execute(
                    sa.text("SELECT version_num FROM alembic_version")))
                head = ScriptDirectory(ALEMBIC_DIR).get_current_head()  # no subprocess
                if versions != [head]:
                    problems.append(f"postgresql: gradebook schema version {versions}, nbgrader "
                                    f"expects [{head!r}] (run `nbgrader db upgrade`)")
    finally:
        engine.dispose()
    return problems
