"""Mutation analysis of the hidden checks: are they strong enough to catch plausible mistakes?

``python -m autograder mutants ASSIGNMENT`` makes mutants of the instructor solution's answer
cells (:mod:`autograder.mutate`), writes one notebook per mutant (the solution notebook with
that one answer cell replaced) and grades them all with the real grader in one batch
(:func:`autograder.grade.grade`: sandboxed, in parallel, probes judged outside the sandbox).

A mutant is *killed* when it loses points in any cell, or when its notebook crashes, runs
out of time or memory (the grader's status says so; such a mutant counts as killed), and
*survives* with full marks. Mutants that cannot be told apart from the solution are marked
by hand in ``solutions/<a>/mutants_equivalent.txt``, one ``ID: reason`` per line; a marked
mutant that is killed is reported (the mark is wrong or stale). The score is killed /
(graded - equivalent); the command exits 1 unless it is 1.0 with no errors.
"""

from __future__ import annotations

import html
import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import ROOT, SOLUTIONS
from .mutate import OPERATORS, Mutant, mutants_of, select

EQUIVALENT_FILE = "mutants_equivalent.txt"
DEFAULT_MAX_PER_CELL = 40
"""ps01 (6 answer cells, 166 of its 175 mutants) grades in about 3-4 minutes on 2 cores."""
CRASHES = ("timeout", "crashed", "out_of_memory")
"""Grader statuses that kill a mutant whatever its points (its notebook did not finish)."""
_ID = re.compile(r"[A-Za-z_]\w*\.[a-z0-9-]+\.\d+")
BASELINE = "solution"


class EquivalentFileError(ValueError):
    """A line of a ``mutants_equivalent.txt`` that is not ``ID: reason``."""


def parse_equivalent(text: str, where: str = EQUIVALENT_FILE) -> dict[str, str]:
    """``ID: reason`` lines (blank lines and ``#`` comments ignored) as id -> reason."""
    marks: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        mutant, sep, reason = line.partition(":")
        mutant, reason = mutant.strip(), reason.strip()
        if not sep or not _ID.fullmatch(mutant):
            raise EquivalentFileError(f"{where} line {n}: expected 'CELL.OPERATOR.K: reason' "
                                      f"(a mutant id as the report prints it), got {raw!r}")
        if not reason:
            raise EquivalentFileError(f"{where} line {n}: {mutant} has no reason; say why "
                                      "the mutant behaves like the solution")
        if mutant in marks:
            raise EquivalentFileError(f"{where} line {n}: {mutant} is listed twice")
        marks[mutant] = reason
    return marks


def load_equivalent(assignment: str) -> dict[str, str]:
    path = SOLUTIONS / assignment / EQUIVALENT_FILE
    return parse_equivalent(path.read_text(), str(path)) if path.exists() else {}


def answer_cells(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(index, grade_id) of the notebook's autograded answer cells (code solution cells)."""
    return [(i, c.metadata["nbgrader"]["grade_id"]) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


def generate(nb: nbformat.NotebookNode) -> list[Mutant]:
    """Every mutant of every answer cell of the solution notebook."""
    out: list[Mutant] = []
    for i, gid in answer_cells(nb):
        out += mutants_of(nb.cells[i].source, gid)
    return out


def mutant_notebook(nb: nbformat.NotebookNode, mutant: Mutant) -> nbformat.NotebookNode:
    """The solution notebook with the mutant's answer cell replaced."""
    copy = nbformat.from_dict(json.loads(nbformat.writes(nb)))
    for i, gid in answer_cells(copy):
        if gid == mutant.cell:
            copy.cells[i].source = mutant.source
            return copy
    raise KeyError(f"no answer cell {mutant.cell!r} in the notebook")


@dataclass
class Outcome:
    """What the grader made of one mutant."""

    mutant: Mutant
    kind: str                 # killed | survived | equivalent | error
    status: str               # the grader's status ("" when there is no verdict)
    lost: list[str] = field(default_factory=list)   # cells that lost points
    crashed: bool = False     # killed because the notebook did not finish
    reason: str = ""          # equivalent: the hand file's reason; error: what went wrong
    marked_equivalent: bool = False


@dataclass
class Analysis:
    assignment: str
    generated: list[Mutant]
    outcomes: list[Outcome]
    seconds: float
    max_per_cell: int | None
    stale_marks: list[str]     # ids in the hand file that no longer exist
    baseline_problem: str = ""  # the unmutated solution did not get full marks

    def count(self, kind: str, cell: str | None = None, operator: str | None = None) -> int:
        return sum(1 for o in self.outcomes if o.kind == kind
                   and (cell is None or o.mutant.cell == cell)
                   and (operator is None or o.mutant.operator == operator))

    @property
    def score(self) -> float:
        judged = self.count("killed") + self.count("survived")
        return self.count("killed") / judged if judged else 1.0

    @property
    def wrong_marks(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.marked_equivalent and o.kind == "killed"]

    @property
    def passed(self) -> bool:
        return (self.score == 1.0 and not self.count("error") and not self.baseline_problem
                and not self.wrong_marks)


def classify(mutant: Mutant, verdict, marks: dict[str, str]) -> Outcome:
    """One mutant's outcome from its verdict (None: the grader returned none)."""
    marked = mutant.id in marks
    if verdict is None:
        return Outcome(mutant, "error", "", reason="the grader returned no verdict",
                       marked_equivalent=marked)
    if verdict.status == "malformed":
        return Outcome(mutant, "error", verdict.status, reason="; ".join(verdict.reasons),
                       marked_equivalent=marked)
    if verdict.status == "tamper_suspected":
        # A mutant is the solution with one honest mistake: it forges nothing. A probe
        # marked visible=True failed where the notebook's visible test passed, so that
        # probe does not repeat its visible test exactly, and a student who made this
        # mistake would be accused of tampering.
        return Outcome(mutant, "error", verdict.status, reason=(
            "flagged tamper_suspected, which an honest mistake must never be: a probe marked "
            "visible=True does not repeat its visible test exactly (same call, same state, "
            "same tolerance); fix the probe or drop its visible=True ("
            + "; ".join(verdict.reasons) + ")"), marked_equivalent=marked)
    lost = sorted(g for g, c in verdict.cells.items()
                  if c.score is not None and c.score < c.max_score)
    crashed = verdict.status in CRASHES
    if lost or crashed:
        return Outcome(mutant, "killed", verdict.status, lost, crashed, marked_equivalent=marked)
    if marked:
        return Outcome(mutant, "equivalent", verdict.status, reason=marks[mutant.id],
                       marked_equivalent=True)
    return Outcome(mutant, "survived", verdict.status)


def _full_marks(verdict) -> bool:
    return all(c.score is None or c.score == c.max_score for c in verdict.cells.values())


def analyse(assignment: str, max_per_cell: int | None = DEFAULT_MAX_PER_CELL,
            workers: int | None = None, only: list[str] | None = None,
            **limit_overrides) -> Analysis:
    """Generate, select and grade the mutants of ``assignment`` (one batch)."""
    marks = load_equivalent(assignment)
    path = SOLUTIONS / assignment / f"{assignment}.ipynb"
    if not path.exists():
        raise ValueError(f"{path} not found: run `python -m autograder release` first")
    nb = nbformat.read(path, as_version=4)
    generated = generate(nb)
    known = {m.id for m in generated}
    unknown = sorted(set(only or ()) - known)
    if unknown:
        raise ValueError(f"{assignment} has no mutant {', '.join(unknown)}; the ids are in "
                         "the report of a full run (CELL.OPERATOR.K)")
    chosen = ([m for m in generated if m.id in set(only)] if only
              else select(generated, max_per_cell))
    from .grade import grade  # the sandbox machinery, only when there is something to grade

    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"mutants-{assignment}-") as tmp:
        subs = Path(tmp) / "submissions"
        for name, book in [(BASELINE, nb)] + [(m.id, mutant_notebook(nb, m)) for m in chosen]:
            (subs / name).mkdir(parents=True)
            nbformat.write(book, subs / name / f"{assignment}.ipynb")
        verdicts = dict(grade(assignment, subs, Path(tmp) / "course", workers=workers,
                              quiet=True, **limit_overrides))
    seconds = time.monotonic() - start
    base = verdicts.get(BASELINE)
    problem = ""
    if base is None or base.status != "ok" or not _full_marks(base):
        problem = ("the unmutated solution did not get full marks with status ok "
                   f"({'no verdict' if base is None else base.status}): nothing can be read "
                   "from the mutants until it does")
    outcomes = [classify(m, verdicts.get(m.id), marks) for m in chosen]
    return Analysis(assignment, generated, outcomes, seconds, max_per_cell,
                    sorted(set(marks) - known), problem)


def _cells(a: Analysis) -> list[str]:
    return list(dict.fromkeys(m.cell for m in a.generated))


def _rows(a: Analysis, key: str) -> list[list]:
    """Table rows per cell or per operator: generated, graded, killed, survived, equiv., errors."""
    names = _cells(a) if key == "cell" else [op for op in OPERATORS
                                              if any(m.operator == op for m in a.generated)]
    rows = []
    for name in names:
        sel = {key: name}
        gen = sum(1 for m in a.generated if getattr(m, key) == name)
        graded = sum(1 for o in a.outcomes if getattr(o.mutant, key) == name)
        rows.append([name, gen, graded, a.count("killed", **sel), a.count("survived", **sel),
                     a.count("equivalent", **sel), a.count("error", **sel)])
    return rows


HEADER = ["", "generated", "graded", "killed", "survived", "equivalent", "errors"]


def _table(rows: list[list]) -> str:
    width = max(len(str(r[0])) for r in rows + [HEADER])
    out = [f"{HEADER[0]:<{width}}  " + " ".join(f"{h:>10}" for h in HEADER[1:])]
    for r in rows:
        out.append(f"{r[0]:<{width}}  " + " ".join(f"{v:>10}" for v in r[1:]))
    return "\n".join(out)


def summary_line(a: Analysis) -> str:
    return (f"{a.assignment}: mutation score {a.score:.3f} (killed {a.count('killed')}, "
            f"survived {a.count('survived')}, equivalent {a.count('equivalent')}, errors "
            f"{a.count('error')}; {len(a.outcomes)} graded of {len(a.generated)} generated, "
            f"--max-per-cell {a.max_per_cell or 'all'}) in {a.seconds:.0f} s")


def text_report(a: Analysis) -> str:
    lines = [summary_line(a), ""]
    if a.baseline_problem:
        lines += [f"ERROR: {a.baseline_problem}", ""]
    lines += ["per cell", _table(_rows(a, "cell")), "", "per operator",
              _table(_rows(a, "operator")), ""]
    crashed = [o.mutant.id for o in a.outcomes if o.crashed]
    lines.append(f"killed by a crash, timeout or the memory limit (counted as killed): "
                 f"{len(crashed)}" + (f" ({', '.join(crashed)})" if crashed else ""))
    for o in a.wrong_marks:
        lines.append(f"marked equivalent but killed (fix {EQUIVALENT_FILE}): {o.mutant.id} "
                     f"lost {', '.join(o.lost) or 'nothing'} ({o.status})")
    for mid in a.stale_marks:
        lines.append(f"{EQUIVALENT_FILE} names {mid}, which is no longer generated")
    for kind, title in (("survived", "SURVIVED (full marks: strengthen the hidden checks, or "
                         f"mark them in {EQUIVALENT_FILE} with the reason)"),
                        ("error", "ERRORS"), ("equivalent", "EQUIVALENT (marked by hand)")):
        chosen = [o for o in a.outcomes if o.kind == kind]
        if not chosen:
            continue
        lines += ["", title]
        for o in chosen:
            lines.append(f"  {o.mutant.id}  line {o.mutant.line}: {o.mutant.description}")
            if o.reason:
                lines.append(f"    reason: {o.reason}")
            if kind == "survived":
                lines += ["    " + d for d in o.mutant.diff.rstrip("\n").split("\n")]
    return "\n".join(lines) + "\n"


def html_report(a: Analysis) -> str:
    e = html.escape

    def table(rows: list[list]) -> str:
        head = "".join(f"<th>{e(h)}</th>" for h in HEADER)
        body = "".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in r) + "</tr>"
                       for r in rows)
        return f"<table><tr>{head}</tr>{body}</table>"

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>mutants: "
             f"{e(a.assignment)}</title><style>body{{font-family:sans-serif;margin:2em}}"
             "td,th{padding:2px 8px;text-align:right}td:first-child{text-align:left}"
             "pre{background:#f4f4f4;padding:6px}.survived{color:#a00}</style></head><body>",
             f"<h1>Mutation analysis: {e(a.assignment)}</h1><p>{e(summary_line(a))}</p>"]
    if a.baseline_problem:
        parts.append(f"<p class='survived'>{e(a.baseline_problem)}</p>")
    parts += ["<h2>Per cell</h2>", table(_rows(a, "cell")), "<h2>Per operator</h2>",
              table(_rows(a, "operator")),
              "<p>A mutant whose notebook crashed, timed out or hit the memory limit counts "
              "as killed.</p>"]
    for kind, title in (("survived", "Survived"), ("error", "Errors"),
                        ("equivalent", "Equivalent (marked by hand)"), ("killed", "Killed")):
        chosen = [o for o in a.outcomes if o.kind == kind]
        if not chosen:
            continue
        parts.append(f"<h2>{title} ({len(chosen)})</h2>")
        for o in chosen:
            extra = (f" &mdash; lost {e(', '.join(o.lost))}" if o.lost else "") + (
                f" &mdash; status {e(o.status)}" if o.status not in ("", "ok") else "")
            parts.append(f"<h3 class='{kind}'>{e(o.mutant.id)}</h3><p>line {o.mutant.line}: "
                         f"{e(o.mutant.description)}{extra}</p>")
            if o.reason:
                parts.append(f"<p>reason: {e(o.reason)}</p>")
            parts.append(f"<pre>{e(o.mutant.diff)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def as_json(a: Analysis) -> dict:
    return {"assignment": a.assignment, "score": a.score, "passed": a.passed,
            "seconds": round(a.seconds, 1), "max_per_cell": a.max_per_cell,
            "generated": len(a.generated), "baseline_problem": a.baseline_problem,
            "stale_marks": a.stale_marks,
            "outcomes": [{"id": o.mutant.id, "kind": o.kind, "status": o.status,
                          "lost": o.lost, "crashed": o.crashed, "reason": o.reason}
                         for o in a.outcomes]}


def write_reports(a: Analysis, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "mutants.txt", out / "mutants.html", out / "mutants.json"]
    paths[0].write_text(text_report(a))
    paths[1].write_text(html_report(a))
    paths[2].write_text(json.dumps(as_json(a), indent=1))
    return paths


def cli(args) -> int:
    from . import release as rel

    if args.assignment not in rel.assignments():
        print(f"unknown assignment {args.assignment!r}; known: {rel.assignments()}",
              file=sys.stderr)
        return 2
    try:
        a = analyse(args.assignment, None if args.max_per_cell == 0 else args.max_per_cell,
                    workers=args.workers, only=args.only or None)
    except ValueError as exc:   # EquivalentFileError included
        print(f"mutants: {exc}", file=sys.stderr)
        return 2
    print(text_report(a), end="")
    out = args.out or ROOT / "reports" / args.assignment
    for path in write_reports(a, out):
        print(f"wrote {path}")
    return 0 if a.passed else 1
