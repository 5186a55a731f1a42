"""Self-check for students: ``python -m autograder check NOTEBOOK`` before submitting.

It runs the notebook the way the grader does, with the grader's own pieces: the cells are
rebuilt by :func:`autograder.prepare.prepare` (locked cells as nbgrader restores them, the
student's answers and added cells), run by :func:`autograder.execute.run` in the sandbox
where bubblewrap is installed, and read the way the grader reads them. It needs only the
released notebook (``exercises/``), found from the notebook's file name, so the job it runs
holds the *visible* tests and nothing else: no hidden test, no probe, no hidden input, no
reference answer. The rules a task states about how code is written ("do not call SciPy")
are public text, so broken rules are reported too, from ``RULES`` in the spec (only that
name is read; the probes are never built).

What it prints, per cell: the visible tests that passed, those that failed (the error
message, plain text), answers that raised, the cells graded by hand; then what the
grader would flag: a malformed notebook, a kernel other than Python 3, the static scan's
findings, a broken rule. Passing here does not promise the points: hidden checks grade too.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat
import numpy as np

from . import EXERCISES, execute
from .collect import read_notebook
from .feedback import plain
from .prepare import instructor_cells, prepare
from .sandbox import Limits
from .scan import names_used_by_tests, scan


class CheckError(ValueError):
    """The notebook cannot be checked (unknown assignment): the message says what to do."""


@dataclass
class CellCheck:
    """One graded or answer cell: what the run says about it."""

    grade_id: str
    kind: str          # "test", "manual" or "answer"
    state: str         # passed, failed, not finished, graded by hand, ran, raised
    points: float = 0.0
    message: str = ""


@dataclass
class SelfCheck:
    assignment: str
    notebook: Path
    malformed: str | None = None           # why the grader would score it 0
    sandboxed: bool | None = None          # None: not run
    cells: list[CellCheck] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)   # what the grader would flag

    @property
    def failed(self) -> bool:
        return bool(self.malformed or self.flags or any(
            c.state not in ("passed", "graded by hand", "ran") for c in self.cells))


def known_assignments() -> list[str]:
    """The released problem sets (folders of exercises/ holding their notebook)."""
    return sorted(p.parent.name for p in EXERCISES.glob("*/*.ipynb") if p.stem == p.parent.name)


def find_assignment(notebook: Path) -> str:
    """The assignment a notebook belongs to, from its file name: ``ps01_information.ipynb``,
    also as downloaded twice (``ps01_information (1).ipynb``, ``ps01_information-Copy1``)."""
    known = known_assignments()
    stem = notebook.stem
    for name in sorted(known, key=len, reverse=True):
        if stem == name or (stem.startswith(name) and not stem[len(name)].isalnum()):
            return name
    raise CheckError(f"cannot tell the problem set from the file name {notebook.name!r}: "
                     f"name the notebook like the released one (one of {known}) or pass "
                     "--assignment NAME")


def _public_spec(assignment: str) -> tuple[tuple, tuple, dict]:
    """(RULES, WARM, LIMITS) of the spec, or empty ones where judge.py is not present."""
    from .spec import spec_module

    module = spec_module(assignment)
    if module is None:
        return (), ("numpy",), {}
    return (tuple(getattr(module, "RULES", ())), tuple(getattr(module, "WARM", ("numpy",))),
            dict(getattr(module, "LIMITS", {})))


def _no_inputs() -> bytes:
    buf = io.BytesIO()
    np.savez(buf)
    return buf.getvalue()


def _said(run: execute.ChunkRun | None) -> str:
    if run is None:
        return "not run"
    if run.failure:
        return {"timeout": "ran out of time", "crashed": "the process died",
                "skipped": "skipped after an earlier cell of it failed"}.get(run.failure,
                                                                              run.failure)
    text = f"{run.ename}: {run.evalue}" if run.evalue else str(run.ename)
    return plain(text).strip()


def check(notebook: Path, assignment: str | None = None, use_bwrap: bool | None = None,
          run: bool = True) -> SelfCheck:
    """Check one notebook; ``run=False`` stops after the static checks (no execution)."""
    notebook = Path(notebook)
    assignment = assignment or find_assignment(notebook)
    if assignment not in known_assignments():
        raise CheckError(f"unknown problem set {assignment!r}; known: {known_assignments()}")
    result = SelfCheck(assignment, notebook)
    student_nb, problem, _ = read_notebook(notebook)
    if problem:
        result.malformed = problem
        return result
    release_nb = nbformat.read(EXERCISES / assignment / f"{assignment}.ipynb", as_version=4)
    prepared = prepare(release_nb, student_nb)
    if not any(c["role"] == "solution" for c in prepared.chunks):
        result.malformed = "no answer cells"
        return result
    kernel = (student_nb.metadata.get("kernelspec") or {}).get("name")
    if kernel not in (None, "python3"):
        result.flags.append(f"the notebook's kernel is {kernel!r}: the grader runs it with "
                            "Python 3 (kernel 'python3'); choose that kernel and run it again")
    result.flags += [f"note from the grader: {n}" for n in prepared.notes]
    inst = instructor_cells(release_nb)
    guarded = names_used_by_tests([c.source for c in inst if c.cell_type == "code"
                                   and c.locked and not c.grade])
    result.flags += [f"static scan, a person will read it: {why}"
                     for why in scan(student_nb, guarded, prepared.locked)]
    rules, warm, overrides = _public_spec(assignment)
    if rules:
        from .rules import broken_rules

        ran = [c["source"] for c in prepared.chunks if c["role"] != "test_visible"]
        for rule, found in broken_rules(rules, ran).items():
            result.flags.append(f"rule broken ({rule.cell} scores 0): {rule.says}: {found}")
    if not run:
        return result
    limits = replace(Limits(), warm=warm, use_bwrap=use_bwrap, **overrides)
    # Visible chunks only (the release has no hidden tests; this keeps it so), no probes.
    chunks = [c for c in prepared.chunks if c["role"] != "test_hidden"]
    raw = execute.run({"chunks": chunks, "probes": []}, _no_inputs(), limits, None,
                      prepared.definition_chunks)
    result.sandboxed = raw.sandboxed
    by_cell = {(c["grade_id"], c["role"]): c["i"] for c in chunks if c["grade_id"]}
    for c in inst:
        if c.is_manual:
            result.cells.append(CellCheck(c.grade_id, "manual", "graded by hand", c.points))
        elif c.is_test:
            ran_ = raw.chunks.get(by_cell.get((c.grade_id, "test_visible"), -1))
            state = ("passed" if ran_ is not None and ran_.ok else
                     "failed" if ran_ is not None and ran_.ok is False else "not finished")
            result.cells.append(CellCheck(c.grade_id, "test", state, c.points,
                                          "" if state == "passed" else _said(ran_)))
        elif c.solution and c.cell_type == "code":
            ran_ = raw.chunks.get(by_cell.get((c.grade_id, "solution"), -1))
            ok = ran_ is not None and ran_.ok
            result.cells.append(CellCheck(c.grade_id, "answer", "ran" if ok else "raised", 0.0,
                                          "" if ok else _said(ran_)))
    for chunk in chunks:
        ran_ = raw.chunks.get(chunk["i"])
        if chunk["role"] in ("setup", "extra") and ran_ is not None and not ran_.ok:
            where = f"cell {chunk['grade_id']}" if chunk["grade_id"] else "a cell you added"
            result.flags.append(f"{where} raised an error: {_said(ran_)}")
    result.flags += [f"the run: {e}" for e in raw.events]
    return result


def render(result: SelfCheck) -> str:
    """The report as plain text."""
    lines = [f"{result.notebook.name}: checked as {result.assignment}"]
    if result.malformed:
        lines.append(f"MALFORMED: {result.malformed}. The grader would score this file 0; "
                     "open it in Jupyter, save it again, and check it once more.")
        return "\n".join(lines) + "\n"
    if result.sandboxed is not None:
        lines.append("ran in the sandbox, as the grader runs it" if result.sandboxed else
                     "ran WITHOUT the sandbox (bubblewrap is not installed): your code ran "
                     "with your own permissions; the grader will run it sandboxed")
    for c in result.cells:
        pts = f" ({c.points:g} points)" if c.points else ""
        if c.kind == "manual":
            lines.append(f"  {c.grade_id}: graded by hand{pts}")
        elif c.kind == "test":
            lines.append(f"  {c.grade_id}: visible tests {c.state}{pts}"
                         + (f": {c.message}" if c.message else ""))
        elif c.state != "ran":
            lines.append(f"  {c.grade_id}: your answer cell raised: {c.message}")
    if result.flags:
        lines.append("the grader would flag:")
        lines += [f"  - {f}" for f in result.flags]
    lines.append("Visible tests only: hidden checks grade every test cell as well, so "
                 "passing here is a good sign, not a promise of the points.")
    return "\n".join(lines) + "\n"


def cli(args) -> int:
    """``check NOTEBOOK``: 0 when every visible test passed and nothing would be flagged."""
    try:
        result = check(args.notebook, args.assignment)
    except CheckError as exc:
        print(f"check: {exc}", file=sys.stderr)
        return 2
    print(render(result), end="")
    return 1 if result.failed else 0
