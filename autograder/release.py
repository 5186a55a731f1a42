"""Release: solutions/ (instructor notebooks) -> exercises/ (student notebooks).

Three steps, one job each:

1. *notebooks*: each ``solutions/<a>/<a>.py`` (Jupytext percent, the readable source of
   truth) is written out as ``solutions/<a>/<a>.ipynb`` with stable cell ids and no
   outputs, which is what nbgrader reads;
2. *generate*: nbgrader's ``generate_assignment`` strips solutions and hidden tests;
3. *leak check*: the released notebook must not contain a marker, a hidden test or any
   distinctive line of a solution.

Step 1 refuses a source whose markers are not exactly nbgrader's (:mod:`autograder.markers`),
naming the cell and the line.

``--check`` does all of it in a temporary folder and compares with what is committed.
"""

from __future__ import annotations

import filecmp
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from . import EXERCISES, ROOT, SOLUTIONS, nbgrader_env
from .checks import hidden_block
from .markers import (
    BEGIN_HIDDEN,
    MARKERS,
    MarkerError,
    instructor_blocks,
    release_view,
    split_hidden,
    validate,
)
from .spec import load_spec


class ReleaseError(RuntimeError):
    """A release is out of date or leaks instructor material."""


def assignments() -> list[str]:
    """Names of the assignments: folders of solutions/ that hold a percent source."""
    return sorted(p.parent.name for p in SOLUTIONS.glob("*/*.py") if p.stem == p.parent.name)


def notebook_from_percent(py_path: Path) -> nbformat.NotebookNode:
    """Read a Jupytext percent file into a clean notebook with deterministic cell ids."""
    import jupytext

    nb = jupytext.read(py_path)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    seen: set[str] = set()
    for i, cell in enumerate(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        cid = re.sub(r"[^A-Za-z0-9_-]", "-", grade_id or f"cell-{i}")
        if cid in seen:
            raise ReleaseError(f"{py_path}: grade_id {cid!r} is used twice")
        seen.add(cid)
        cell["id"] = cid
        cell.metadata.pop("lines_to_next_cell", None)  # Jupytext's spacing, not content
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    try:  # nbgrader must read every marker as the grader does
        validate(nb, str(py_path))
    except MarkerError as exc:
        raise ReleaseError(str(exc)) from exc
    add_hidden_checks(nb, py_path.stem, str(py_path))
    return nb


def add_hidden_checks(nb: nbformat.NotebookNode, assignment: str, where: str) -> None:
    """Write the generated hidden-test block (:mod:`autograder.checks`) into every test cell
    that the assignment's judge spec decides; refuse hand-written hidden tests beside a spec,
    which would be a second copy of the checks."""
    spec = load_spec(assignment)
    if spec is None:
        return
    tests = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            tests[meta.get("grade_id")] = cell
    unknown = sorted(spec.cells - set(tests))
    if unknown:
        raise ReleaseError(f"{where}: judge.py has probes for {unknown}, which are not test "
                           "cells of the notebook (a typo in a probe's cell?)")
    for grade_id, cell in tests.items():
        if split_hidden(cell.source)[1].strip() or BEGIN_HIDDEN in cell.source:
            raise ReleaseError(
                f"{where}: test cell {grade_id} holds hand-written hidden tests, but the "
                f"assignment's hidden checks are the probes of judge.py: move each check into "
                f"a Probe for {grade_id!r} there and delete the block (release generates it)")
        if grade_id in spec.cells:
            visible = cell.source.rstrip("\n")
            cell.source = (visible + "\n" if visible else "") + hidden_block(assignment, grade_id)


def notebook_text(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def write_solution_notebooks(names: list[str]) -> list[Path]:
    """Step 1: regenerate solutions/<a>/<a>.ipynb from the percent sources."""
    written = []
    for name in names:
        src = SOLUTIONS / name / f"{name}.py"
        out = src.with_suffix(".ipynb")
        text = notebook_text(notebook_from_percent(src))
        if not out.exists() or out.read_text() != text:
            out.write_text(text)
            written.append(out)
    return written


def generate(names: list[str], release_dir: Path, source_dir: Path = SOLUTIONS) -> None:
    """Step 2: nbgrader generate_assignment into ``release_dir`` (a throwaway gradebook)."""
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            cmd = [
                sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force",
                f"--db=sqlite:///{tmp}/gradebook.db",
                f"--CourseDirectory.root={ROOT}",
                f"--CourseDirectory.source_directory={source_dir}",
                f"--CourseDirectory.release_directory={release_dir}",
            ]
            proc = subprocess.run(cmd, cwd=ROOT, env=nbgrader_env(), capture_output=True, text=True)
            produced = release_dir / name / f"{name}.ipynb"
            if proc.returncode != 0 or not produced.exists():
                raise ReleaseError(f"nbgrader generate_assignment {name} failed:\n{proc.stderr}")


def _solution_lines(nb: nbformat.NotebookNode) -> set[str]:
    """Distinctive lines that only the instructor version may contain."""
    lines: set[str] = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        body = instructor_blocks(cell.source)
        if cell.cell_type == "markdown" and meta.get("solution"):
            body.append(cell.source)
        for block in body:
            for line in block.splitlines():
                line = line.strip()
                if len(line) >= 16 and not line.startswith("#"):
                    lines.add(line)
    return lines


def leak_check(solution_nb: Path, released_nb: Path) -> None:
    """Step 3: fail if the release contains markers or any distinctive solution line."""
    released = nbformat.read(released_nb, as_version=4)
    text = "\n".join(c.source for c in released.cells)
    problems = [f"marker {m!r}" for m in MARKERS if m in text]
    released_lines = {line.strip() for line in text.splitlines()}
    instructor = nbformat.read(solution_nb, as_version=4)
    public = {line.strip() for c in instructor.cells
              if not c.metadata.get("nbgrader", {}).get("solution")
              for line in release_view(c.source).splitlines()}
    for line in sorted(_solution_lines(instructor) - public):
        if line in released_lines:
            problems.append(f"solution/hidden line {line!r}")
    for cell in released.cells:
        if cell.cell_type == "code" and cell.get("outputs"):
            problems.append(f"cell {cell.get('id')} has outputs")
    if problems:
        raise ReleaseError(f"{released_nb} leaks instructor material: " + "; ".join(problems))


def release(names: list[str] | None = None) -> list[Path]:
    """Regenerate the solution notebooks and exercises/ for ``names`` (default: all)."""
    names = names or assignments()
    changed = write_solution_notebooks(names)
    generate(names, EXERCISES)
    for name in names:
        leak_check(SOLUTIONS / name / f"{name}.ipynb", EXERCISES / name / f"{name}.ipynb")
    return changed


def check(names: list[str] | None = None) -> list[str]:
    """Problems that make the committed notebooks differ from a fresh release (empty: in sync)."""
    names = names or assignments()
    problems: list[str] = []
    for name in names:
        src = SOLUTIONS / name / f"{name}.py"
        nb_path = src.with_suffix(".ipynb")
        if not nb_path.exists() or nb_path.read_text() != notebook_text(notebook_from_percent(src)):
            problems.append(f"{nb_path.relative_to(ROOT)} is out of date with {src.name}: "
                            "run `make release`")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        source = tmp_path / "source"
        for name in names:
            (source / name).mkdir(parents=True)
            (source / name / f"{name}.ipynb").write_text(
                notebook_text(notebook_from_percent(SOLUTIONS / name / f"{name}.py")))
        release_dir = tmp_path / "release"
        generate(names, release_dir, source_dir=source)
        for name in names:
            fresh = release_dir / name
            committed = EXERCISES / name
            leak_check(source / name / f"{name}.ipynb", fresh / f"{name}.ipynb")
            if not committed.exists():
                problems.append(f"exercises/{name} is missing: run `make release`")
                continue
            cmp = filecmp.dircmp(fresh, committed, ignore=[".ipynb_checkpoints", "__pycache__"])
            diffs = cmp.left_only + cmp.right_only + cmp.diff_files
            if diffs:
                problems.append(f"exercises/{name} differs from a fresh release in {diffs}: "
                                "run `make release`")
    return problems

