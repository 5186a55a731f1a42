"""Grade one notebook with stock ``nbgrader autograde`` in a throwaway course folder.

Used by the test suite (solutions must score full marks, releases zero) and as the
baseline of the grading benchmark. It runs student code with nbgrader's defaults: no
sandbox, no judge. Use ``python -m autograder grade`` for real submissions.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import ROOT, SOLUTIONS, nbgrader_env


@dataclass
class CellResult:
    grade_id: str
    score: float
    max_score: float
    errors: list[str] = field(default_factory=list)  # exception names raised in the cell


@dataclass
class StockResult:
    score: float
    max_score: float
    cells: dict[str, CellResult]
    log: str


def autograde_stock(assignment: str, notebook: Path, student: str = "student",
                    timeout: int = 600) -> StockResult:
    """Autograde ``notebook`` as ``student``'s submission of ``assignment``."""
    from .checks import warm_references
    from .spec import spec_path

    if spec_path(assignment).exists():   # the hidden blocks compare with these answers
        warm_references(assignment)
    with tempfile.TemporaryDirectory(prefix="infoloss-stock-") as tmp:
        course = Path(tmp)
        src = course / "source" / assignment
        src.mkdir(parents=True)
        shutil.copy(SOLUTIONS / assignment / f"{assignment}.ipynb", src)
        sub = course / "submitted" / student / assignment
        sub.mkdir(parents=True)
        shutil.copy(notebook, sub / f"{assignment}.ipynb")
        db = f"sqlite:///{course}/gradebook.db"
        common = [f"--db={db}", f"--CourseDirectory.root={course}",
                  "--CourseDirectory.source_directory=source"]
        env = nbgrader_env(INFOLOSS_COURSE_ROOT=str(course))
        log = []
        for cmd in (["db", "student", "add", student], ["generate_assignment", assignment,
                    "--force"], ["autograde", assignment, f"--student={student}", "--force"]):
            proc = subprocess.run([sys.executable, "-m", "nbgrader", *cmd, *common], cwd=ROOT,
                                  env=env, capture_output=True, text=True, timeout=timeout)
            log.append(proc.stdout + proc.stderr)
            if proc.returncode != 0:
                raise RuntimeError(f"nbgrader {' '.join(cmd)} failed:\n{log[-1]}")
        graded = nbformat.read(course / "autograded" / student / assignment /
                               f"{assignment}.ipynb", as_version=4)
        errors: dict[str, list[str]] = {}
        for cell in graded.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid and cell.cell_type == "code":
                errors[gid] = [o.get("ename", "") for o in cell.get("outputs", [])
                               if o.get("output_type") == "error"]
        from nbgrader.api import Gradebook

        with Gradebook(db) as gb:
            sub_nb = gb.find_submission_notebook(assignment, assignment, student)
            cells = {g.name: CellResult(g.name, g.score, g.max_score, errors.get(g.name, []))
                     for g in sub_nb.grades}
            return StockResult(sub_nb.score, sub_nb.max_score, cells, "\n".join(log))
