"""Prepare: the notebook that actually runs, built from the instructor's source.

As nbgrader does, locked cells (setup and tests) come from the instructor's notebook,
whatever the student did to them (edited, deleted, tagged ``skip-execution``); only the
answers (solution cells) and the cells the student added come from the submission.
Each test cell becomes its visible part (as nbgrader splits it: :mod:`autograder.markers`),
whose output the feedback shows; a hidden block generated from the judge spec
(:mod:`autograder.checks`) is not run as code, since its checks run as the judge's probes; a
hand-written hidden block (an assignment without a spec) becomes a second chunk.

Student cells are matched to the instructor's by nbgrader grade_id, then by cell id (the
release keeps ids equal to grade_ids), then, for solution cells, by the functions they
define; so a notebook whose metadata was stripped still grades.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import nbformat

from .checks import generated_for
from .markers import split_hidden


@dataclass
class Cell:
    grade_id: str
    cell_type: str
    solution: bool
    grade: bool
    locked: bool
    points: float
    source: str

    @property
    def is_test(self) -> bool:
        return self.cell_type == "code" and self.grade and not self.solution

    @property
    def is_manual(self) -> bool:
        return self.grade and self.solution and self.cell_type == "markdown"


@dataclass
class Prepared:
    chunks: list[dict]
    notes: list[str] = field(default_factory=list)
    definition_chunks: set[int] = field(default_factory=set)
    manual_answers: dict[str, str] = field(default_factory=dict)
    locked: list[bool] = field(default_factory=list)  # per student cell: stands for a locked one


def instructor_cells(nb: nbformat.NotebookNode) -> list[Cell]:
    cells = []
    for i, c in enumerate(nb.cells):
        meta = c.metadata.get("nbgrader", {})
        cells.append(Cell(meta.get("grade_id") or f"cell-{i}", c.cell_type,
                          bool(meta.get("solution")), bool(meta.get("grade")),
                          bool(meta.get("locked")), float(meta.get("points") or 0), c.source))
    return cells


def _defined(source: str) -> frozenset[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset(re.findall(r"^def (\w+)", source, flags=re.M))
    return frozenset(n.name for n in tree.body if isinstance(n, (ast.FunctionDef,
                                                                  ast.ClassDef)))


@dataclass
class Instructor:
    """The instructor notebook's side of matching and preparing, derived once per grade run
    (not once per submission): its cells and the indexes a student cell is matched by."""

    cells: list[Cell]
    by_id: dict[str, int]
    by_defs: dict[frozenset[str], int]
    by_locked_source: dict[str, int]
    test_parts: dict[int, tuple[str, str]]   # test cell index -> (visible, hidden) sources

    @classmethod
    def from_notebook(cls, nb: nbformat.NotebookNode) -> Instructor:
        cells = instructor_cells(nb)
        by_defs = {_defined(c.source): j for j, c in enumerate(cells) if c.solution
                   and c.cell_type == "code" and _defined(c.source)}
        locked: dict[str, int] = {}
        parts: dict[int, tuple[str, str]] = {}
        for j, c in enumerate(cells):
            if c.is_test:
                parts[j] = split_hidden(c.source)
            if c.locked and c.cell_type == "code" and not c.solution:
                locked.setdefault(_norm(c.source), j)
                locked.setdefault(_norm(split_hidden(c.source)[0]), j)
        return cls(cells, {c.grade_id: j for j, c in enumerate(cells)}, by_defs, locked, parts)


def _instructor(source: nbformat.NotebookNode | Instructor) -> Instructor:
    return source if isinstance(source, Instructor) else Instructor.from_notebook(source)


def match_cells(source_nb: nbformat.NotebookNode | Instructor,
                student_nb: nbformat.NotebookNode, notes: list[str]) -> list[int | None]:
    """For each student cell, the index of the instructor cell it stands for (or None)."""
    ins = _instructor(source_nb)
    inst, by_id, defs, locked = ins.cells, ins.by_id, ins.by_defs, ins.by_locked_source
    taken: set[int] = set()
    out: list[int | None] = []
    used_fallback = False
    for cell in student_nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        j = by_id.get(gid) if gid else None
        if j is None and cell.get("id") in by_id:
            j = by_id[cell["id"]]
            used_fallback = used_fallback or not gid
        if j is None and cell.cell_type == "code":
            j = defs.get(_defined(cell.source))
            if j is None:  # a locked cell, unchanged but for its metadata
                j = locked.get(_norm(cell.source))
            used_fallback = used_fallback or j is not None
        if j is not None and (j in taken or inst[j].cell_type != cell.cell_type):
            j = None
        if j is not None:
            taken.add(j)
        out.append(j)
    if used_fallback:
        notes.append("nbgrader metadata missing in some cells: matched them by cell id or by "
                     "the functions they define")
    return out


def _student_side(ins: Instructor, student_nb: nbformat.NotebookNode,
                  matches: list[int | None], notes: list[str]
                  ) -> tuple[dict[int, str], dict[int, list[str]]]:
    """The student's answers (instructor index -> source) and added code cells (grouped
    after the instructor cell they follow; -1: before the first)."""
    inst = ins.cells
    answer: dict[int, str] = {}
    extras: dict[int, list[str]] = {}
    anchor = -1
    for cell, j in zip(student_nb.cells, matches, strict=True):
        if j is not None:
            anchor = j
            if inst[j].solution:
                answer[j] = cell.source
            elif inst[j].locked and _norm(cell.source) not in (
                    _norm(inst[j].source), _norm(ins.test_parts.get(j, (inst[j].source,))[0])):
                notes.append(f"locked cell {inst[j].grade_id} was edited; graded with the "
                             "original")
        elif cell.cell_type == "code":
            extras.setdefault(anchor, []).append(cell.source)
    missing = [c.grade_id for j, c in enumerate(inst) if c.is_test and j not in matches]
    if missing:
        notes.append(f"test cell(s) {', '.join(missing)} missing from the submission; "
                     "graded with the originals")
    return answer, extras


def _add_chunks(ins: Instructor, answer: dict[int, str], extras: dict[int, list[str]],
                prepared: Prepared) -> None:
    """The notebook that runs, in instructor order, with the student's extra cells."""
    def add(source: str, role: str, grade_id: str | None) -> None:
        i = len(prepared.chunks)
        prepared.chunks.append({"i": i, "source": source, "role": role, "grade_id": grade_id})
        if role in ("setup", "solution"):
            prepared.definition_chunks.add(i)

    for src in extras.get(-1, []):
        add(src, "extra", None)
    for j, c in enumerate(ins.cells):
        if c.cell_type == "code":
            if c.is_test:
                visible, hidden = ins.test_parts[j]
                add(visible, "test_visible", c.grade_id)
                # A generated block (autograder.checks) is the judge's probes: they run
                # in the sandbox as probes, and are compared outside it.
                if hidden.strip() and generated_for(hidden) is None:
                    add(hidden, "test_hidden", c.grade_id)
            elif c.solution:
                add(answer.get(j, _stub()), "solution", c.grade_id)
            else:
                add(c.source, "setup", c.grade_id)
        for src in extras.get(j, []):
            add(src, "extra", None)


def prepare(source_nb: nbformat.NotebookNode | Instructor,
            student_nb: nbformat.NotebookNode) -> Prepared:
    """Chunks to run: instructor setup and tests, student answers and extra cells."""
    ins = _instructor(source_nb)
    notes: list[str] = []
    matches = match_cells(ins, student_nb, notes)
    answer, extras = _student_side(ins, student_nb, matches, notes)
    prepared = Prepared([], notes)
    prepared.locked = [j is not None and not ins.cells[j].solution for j in matches]
    for j, c in enumerate(ins.cells):
        if c.is_manual:
            prepared.manual_answers[c.grade_id] = answer.get(j, "")
    _add_chunks(ins, answer, extras, prepared)
    return prepared


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.splitlines() if line.strip())


def _stub() -> str:
    return "raise NotImplementedError('answer cell missing from the submission')"
