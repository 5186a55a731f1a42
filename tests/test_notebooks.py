"""Every graded notebook: solution full marks, release zero, no leaks, release in sync."""

from __future__ import annotations

import re

import nbformat
import pytest

from autograder import EXERCISES, SOLUTIONS
from autograder import release as rel
from autograder.stock import autograde_stock

ASSIGNMENTS = rel.assignments()


def test_there_are_assignments():
    assert "ps01_information" in ASSIGNMENTS


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_scores_full_marks(name):
    result = autograde_stock(name, SOLUTIONS / name / f"{name}.ipynb")
    auto = {k: c for k, c in result.cells.items() if c.max_score > 0}
    failing = {k: (c.score, c.max_score, c.errors) for k, c in auto.items()
               if c.errors or (c.score != c.max_score and k.startswith("test_"))}
    assert not failing, f"{name} solution loses points: {failing}"
    manual = {k for k in auto if not k.startswith("test_")}
    assert manual, f"{name} should have at least one cell graded by hand"
    auto_points = sum(c.max_score for k, c in auto.items() if k.startswith("test_"))
    assert sum(c.score for k, c in auto.items() if k.startswith("test_")) == auto_points > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_scores_zero_with_not_implemented(name):
    result = autograde_stock(name, EXERCISES / name / f"{name}.ipynb")
    tests = {k: c for k, c in result.cells.items() if k.startswith("test_")}
    assert tests
    for k, c in tests.items():
        assert c.score == 0, f"{name}: released notebook scores {c.score} in {k}"
        assert c.errors == ["NotImplementedError"], (
            f"{name}: test cell {k} should fail only with NotImplementedError, got {c.errors}")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_has_no_solutions_or_hidden_tests(name):
    released = EXERCISES / name / f"{name}.ipynb"
    text = released.read_text()
    for marker in rel.MARKERS:
        assert marker not in text
    rel.leak_check(SOLUTIONS / name / f"{name}.ipynb", released)
    nb = nbformat.read(released, as_version=4)
    stubs = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
             and c.cell_type == "code"]
    assert stubs and all("raise NotImplementedError()" in c.source for c in stubs)


def test_exercises_folder_holds_only_releases():
    leftovers = [p.name for p in EXERCISES.rglob("*") if p.is_file()
                 and not re.fullmatch(r"ps\d\d_\w+\.ipynb", p.name)]
    assert not leftovers, f"unexpected files in exercises/: {leftovers}"


@pytest.mark.slow
def test_release_is_in_sync():
    problems = rel.check()
    assert not problems, "\n".join(problems)
