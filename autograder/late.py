"""Late policy: how late each submission was, and what that costs, for the export only.

Times follow nbgrader. A submission's time is its ``timestamp.txt`` (written by ``nbgrader
submit`` / ``collect`` as ``%Y-%m-%d %H:%M:%S.%f %Z``, read with nbgrader's own
``parse_utc``) or, failing that, the timestamp nbgrader stored in the gradebook; the due
date is the gradebook's assignment ``duedate`` (``nbgrader db assignment add A
--duedate=...``) plus the student's extension, if nbgrader recorded one. Everything is
compared in naive UTC, as nbgrader does.

The penalty never touches the gradebook: :func:`penalty_fraction` gives the share of the
score to deduct, and the export writes the raw score, the deduction and the final score
side by side.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

UNITS = {"s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
         "d": 86400, "day": 86400, "w": 604800, "week": 604800}
NAMED_UNITS = ("second", "minute", "hour", "day", "week")


class LatePolicyError(ValueError):
    """A penalty, cap or grace period that cannot be read."""


@dataclass(frozen=True)
class LatePolicy:
    """Deduct ``rate`` of the score per started ``unit_s`` late, at most ``cap``.

    Lateness within ``grace_s`` of the due date costs nothing (clock skew, slow uploads).
    ``LatePolicy()`` charges nothing.
    """

    rate: float = 0.0
    unit_s: float = 86400.0
    cap: float = 1.0
    grace_s: float = 0.0

    def describe(self) -> str:
        if self.rate == 0:
            return "no late penalty"
        unit = next((k for k in NAMED_UNITS if UNITS[k] == self.unit_s), f"{self.unit_s:g} s")
        text = (f"{100 * self.rate:.4g}% of the score per started {unit} late, at most "
                f"{100 * self.cap:.4g}%")
        return text + (f", {format_duration(self.grace_s)} grace" if self.grace_s else "")


@dataclass(frozen=True)
class Lateness:
    """When one submission came in against its due date; ``late_s`` is None when unknown."""

    submitted: datetime | None
    due: datetime | None
    note: str | None = None   # why lateness is unknown, or where the time came from

    @property
    def late_s(self) -> float | None:
        if self.submitted is None or self.due is None:
            return None
        return max(0.0, (self.submitted - self.due).total_seconds())


def _fraction(text: str, what: str) -> float:
    text = text.strip()
    m = re.fullmatch(r"(\d*\.?\d+)\s*%?", text)
    if not m:
        raise LatePolicyError(f"{what} {text!r}: write a percentage such as 10% "
                              "(or a fraction between 0 and 1)")
    value = float(m.group(1)) / (100 if text.endswith("%") else 1)
    if not 0 <= value <= 1:
        raise LatePolicyError(f"{what} {text!r} is outside 0-100%")
    return value


def parse_duration(text: str) -> float:
    """'15min', '2h', '1 day', '90s' -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)?\s*([a-z]+?)s?\s*", text.lower())
    if not m or m.group(2) not in UNITS:
        raise LatePolicyError(f"duration {text!r}: write a number and a unit "
                              f"({', '.join(NAMED_UNITS)})")
    return float(m.group(1) or 1) * UNITS[m.group(2)]


def parse_policy(penalty: str | None, cap: str | None = None,
                 grace: str | None = None) -> LatePolicy:
    """``--late-penalty 10%/day --late-cap 50% --late-grace 15min``; 'zero' is nbgrader's
    own method (a late submission scores 0) and 'none' charges nothing."""
    if penalty is None or penalty.strip().lower() == "none":
        if cap is not None:
            raise LatePolicyError("--late-cap needs --late-penalty")
        return LatePolicy(grace_s=parse_duration(grace) if grace else 0.0)
    grace_s = parse_duration(grace) if grace else 0.0
    if penalty.strip().lower() == "zero":
        return LatePolicy(1.0, 1.0, _fraction(cap, "--late-cap") if cap else 1.0, grace_s)
    rate, sep, unit = penalty.partition("/")
    if not sep:
        raise LatePolicyError(f"--late-penalty {penalty!r}: write RATE/UNIT such as 10%/day, "
                              "or 'zero' or 'none'")
    return LatePolicy(_fraction(rate, "--late-penalty"), parse_duration(unit),
                      _fraction(cap, "--late-cap") if cap else 1.0, grace_s)


def penalty_fraction(policy: LatePolicy, late_s: float | None) -> float:
    """Share of the score deducted for ``late_s`` seconds late (0 when on time or unknown)."""
    if not late_s or late_s <= policy.grace_s or policy.rate == 0:
        return 0.0
    units = math.ceil(late_s / policy.unit_s - 1e-9)
    return min(policy.cap, policy.rate * units)


def format_duration(seconds: float | None) -> str:
    """Readable lateness: '' when unknown, '0' on time, else '2d 03:04:05' or '00:12:30'."""
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds == 0:
        return "0"
    days, rest = divmod(seconds, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{h:02d}:{m:02d}:{s:02d}"


def read_timestamp(folder: Path) -> datetime | None:
    """nbgrader's ``timestamp.txt`` in one submission folder, as naive UTC (None if absent).

    Raises :class:`LatePolicyError` naming the file when it exists but cannot be read.
    """
    from nbgrader.utils import parse_utc

    path = Path(folder) / "timestamp.txt"
    if not path.is_file():
        return None
    text = path.read_text(errors="replace").strip()
    try:
        if not text:
            raise ValueError("empty")
        return parse_utc(text)
    except (ValueError, OverflowError) as exc:
        raise LatePolicyError(f"{path}: unreadable timestamp {text[:60]!r} ({exc}); nbgrader "
                              "writes e.g. '2026-10-01 23:59:00.000000 UTC'") from exc


def submission_timestamps(submissions: Path, assignment: str
                          ) -> tuple[dict[str, datetime], list[str]]:
    """student -> submission time from ``timestamp.txt`` files, and the problems found.

    Reads the layouts ``collect`` accepts: ``<student>/<A>/timestamp.txt`` (nbgrader's
    submitted/ folder), ``submitted/<student>/<A>/timestamp.txt`` and
    ``<student>/timestamp.txt``. A bad file is a problem for that student, not the batch.
    """
    from .collect import student_id

    root = Path(submissions)
    if not root.is_dir():
        raise LatePolicyError(f"{root} is not a folder of submissions (nbgrader's submitted/ "
                              "layout with timestamp.txt files)")
    out: dict[str, datetime] = {}
    problems: list[str] = []
    candidates = [(p.parent.parent.name, p.parent) for p in
                  sorted(root.glob(f"*/{assignment}/timestamp.txt"))
                  + sorted(root.glob(f"submitted/*/{assignment}/timestamp.txt"))]
    candidates += [(p.parent.name, p.parent) for p in sorted(root.glob("*/timestamp.txt"))]
    for name, folder in candidates:
        student = student_id(name)   # the id collect gives the same folder (NFC)
        if student in out or student == "submitted":
            continue
        try:
            ts = read_timestamp(folder)
        except LatePolicyError as exc:
            problems.append(f"{student}: {exc}")
            continue
        if ts is not None:
            out[student] = ts
    return out, problems


Stored = dict[str, tuple[datetime | None, timedelta | None]]


def gradebook_times(url: str, assignment: str) -> tuple[datetime | None, Stored]:
    """(assignment due date, student -> (nbgrader's stored timestamp, extension))."""
    from nbgrader.api import Gradebook, MissingEntry

    from .record import _alembic_on_path

    _alembic_on_path()
    with Gradebook(url, course_id="infoloss") as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            return None, {}
        return a.duedate, {s.student.id: (s.timestamp, s.extension) for s in a.submissions}


def lateness(url: str, assignment: str, students: list[str],
             stamps: dict[str, datetime] | None = None) -> dict[str, Lateness]:
    """Each student's :class:`Lateness` for ``assignment``; ``stamps`` (from
    :func:`submission_timestamps`) win over the gradebook's stored timestamps."""
    due, stored = gradebook_times(url, assignment)
    out = {}
    for student in students:
        ts, ext = stored.get(student, (None, None))
        note = None
        if stamps and student in stamps:
            ts = stamps[student]
        if due is None:
            note = "no due date in the gradebook"
        elif ts is None:
            note = "no submission time (no timestamp.txt and none in the gradebook)"
        out[student] = Lateness(ts, None if due is None else due + (ext or timedelta(0)),
                                note)
    return out
