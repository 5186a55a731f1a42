"""The nbgrader region markers: one grammar for release, prepare, feedback and the tests.

nbgrader (``ClearSolutions``, ``ClearHiddenTests``) treats *any* line that contains
``BEGIN HIDDEN TESTS`` (or ``END HIDDEN TESTS``, ``BEGIN SOLUTION``, ``END SOLUTION``) as
a marker line, whatever else is on it. This module splits cells exactly that way, so what
the grader runs as the visible part of a test cell, and shows in the feedback, is what
nbgrader releases.

The course writes markers in one form only: a line that is exactly ``### BEGIN HIDDEN
TESTS`` (indentation allowed), and likewise for the three others. :func:`validate`, run by
every release, refuses anything else that looks like a marker (``# BEGIN HIDDEN TESTS``,
``### begin hidden tests``, a marker after code, a misspelt ``BEGIN HIDDEN TEST``) and
regions that are unbalanced or nested, naming the cell and the line: such a line means
something different to nbgrader, to a reader and to a hand-written regular expression.
"""

from __future__ import annotations

import re

BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"   # nbgrader's delimiters
BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
PREFIX = "### "
CANONICAL = {PREFIX + m: m for m in (BEGIN_HIDDEN, END_HIDDEN, BEGIN_SOLUTION, END_SOLUTION)}
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN, "MARK SCHEME", "Mark scheme")
"""Strings that must never appear in a released notebook."""

_LOOKS_LIKE = re.compile(r"\b(begin|end)[\s_-]*(hidden[\s_-]*tests?|solutions?)\b", re.I)


class MarkerError(ValueError):
    """A cell whose markers are not exactly nbgrader's (see :func:`validate`)."""


def _regions(source: str, begin: str, end: str) -> tuple[list[str], list[str]]:
    """(lines outside, lines inside) the ``begin``/``end`` regions, as nbgrader splits."""
    outside: list[str] = []
    inside: list[str] = []
    in_region = False
    for line in source.split("\n"):
        if begin in line:
            in_region = True
        elif end in line:
            in_region = False
        else:
            (inside if in_region else outside).append(line)
    return outside, inside


def split_hidden(source: str) -> tuple[str, str]:
    """(visible part, hidden tests) of a test cell; the visible part is what nbgrader
    releases."""
    outside, inside = _regions(source, BEGIN_HIDDEN, END_HIDDEN)
    return "\n".join(outside), "\n".join(inside)


def release_view(source: str) -> str:
    """A test cell as the student sees it (hidden tests removed)."""
    return split_hidden(source)[0]


def instructor_blocks(source: str) -> list[str]:
    """The bodies of a cell's solution and hidden-test regions."""
    blocks = []
    for begin, end in ((BEGIN_SOLUTION, END_SOLUTION), (BEGIN_HIDDEN, END_HIDDEN)):
        inside = _regions(source, begin, end)[1]
        if inside:
            blocks.append("\n".join(inside))
    return blocks


def drop_solution_markers(source: str) -> str:
    """A solution cell with its ``### BEGIN/END SOLUTION`` lines removed (the answer)."""
    return "\n".join(line for line in source.split("\n")
                     if BEGIN_SOLUTION not in line and END_SOLUTION not in line)


def cell_problems(source: str) -> list[str]:
    """What is wrong with a cell's markers ('line N: ...'); empty when it is clean."""
    problems = []
    open_region: str | None = None
    for n, line in enumerate(source.split("\n"), 1):
        if not _LOOKS_LIKE.search(line):
            continue
        marker = CANONICAL.get(line.strip())
        if marker is None:
            problems.append(f"line {n}: {line.strip()!r} looks like a marker but is not exactly "
                            f"one of {sorted(CANONICAL)}")
            continue
        kind = marker.split(" ", 1)[1]
        if marker.startswith("BEGIN"):
            if open_region is not None:
                problems.append(f"line {n}: {marker} inside an open {open_region} region")
            open_region = kind
        elif open_region != kind:
            problems.append(f"line {n}: {marker} without its BEGIN {kind}")
        else:
            open_region = None
    if open_region is not None:
        problems.append(f"BEGIN {open_region} without its END {open_region}")
    return problems


def validate(nb, where: str) -> None:
    """Raise :class:`MarkerError` naming each cell (grade_id or index) and line whose
    markers nbgrader would read differently from the course's one form."""
    problems = []
    for i, cell in enumerate(nb.cells):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        name = f"cell {i}" + (f" ({gid})" if gid else "")
        problems += [f"{name}, {p}" for p in cell_problems(cell.source)]
    if problems:
        raise MarkerError(f"{where}: ambiguous nbgrader markers: " + "; ".join(problems))
