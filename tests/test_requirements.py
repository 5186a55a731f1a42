"""Every rule a problem set's text states is checked by a hidden check, or the text says it
is not graded (issue 14, section 1). The mapping lives in each judge.py (REQUIREMENTS);
`python -m autograder requirements` prints the table."""

from __future__ import annotations

import nbformat
import pytest

from autograder import SOLUTIONS
from autograder.release import assignments
from autograder.requirements import (
    WARNINGS_SENTENCE,
    coverage,
    requirement_sentences,
)


@pytest.mark.parametrize("assignment", assignments())
def test_every_stated_rule_is_checked_or_said_to_be_ungraded(assignment):
    reqs, problems = coverage(assignment)
    assert reqs, f"{assignment}: no rule sentences found (is the extraction broken?)"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("assignment", assignments())
def test_every_notebook_states_the_warnings_rule(assignment):
    nb = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    intro = "\n".join(c.source for c in nb.cells[:3] if c.cell_type == "markdown")
    assert WARNINGS_SENTENCE in " ".join(intro.replace("#", " ").split())


def test_rule_sentences_are_found_in_bullets_and_prose():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(
        "## 1. Task\n\nImplement `f(x)`. It must be stable.\n\n* Keep the dtype.\n"
        "* Return a list.\n* Do not call SciPy (not graded).")]
    nb.cells[0].metadata["nbgrader"] = {"grade_id": "task1", "grade": False, "solution": False}
    assert requirement_sentences(nb) == [("task1", "It must be stable."),
                                         ("task1", "Keep the dtype."),
                                         ("task1", "Do not call SciPy (not graded).")]


@pytest.mark.parametrize("sentence", [
    "Return it as a float, accurate to a relative `1e-3`.",
    "The teacher is fixed: no gradient may flow into `teacher_logits`.",
    "If the gradient overflows, return `None` (the step is skipped).",
    "The result may not depend on the batch order."])
def test_accuracy_gradient_and_none_rules_are_rule_sentences(sentence):
    """Rules the first word list missed (ps04's None on overflow, ps05's accuracy and
    teacher gradient), so they went unmapped while probes did check them."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"Implement `f(x)`. {sentence}")]
    nb.cells[0].metadata["nbgrader"] = {"grade_id": "t", "grade": False, "solution": False}
    assert requirement_sentences(nb) == [("t", sentence)]


def test_a_missing_mapping_a_stale_key_and_an_unknown_hint_are_all_problems(monkeypatch):
    from autograder import requirements as rq
    from autograder.spec import spec_module

    real = spec_module("ps01_information")
    monkeypatch.setattr(real, "REQUIREMENTS", {
        "Do not rename the functions": rq.BY_NAME,
        "a sentence that is not there": ["a fair coin"],
        "Raise `ValueError` for probabilities outside": ["no probe has this hint"]})
    monkeypatch.setattr("autograder.spec.spec_module", lambda a: real)
    _, problems = coverage("ps01_information")
    text = "\n".join(problems)
    assert "'Replace every `raise NotImplementedError()` with your code.' is matched by 0" in text
    assert "key 'a sentence that is not there' matches no rule sentence" in text
    assert "no probe of judge.py has the hint 'no probe has this hint'" in text


def test_the_committed_requirements_table_is_in_sync():
    from autograder import ROOT
    from autograder.__main__ import REQUIREMENTS_TABLE
    from autograder.requirements import all_tables

    committed = (ROOT / REQUIREMENTS_TABLE).read_text()
    assert committed == all_tables(assignments()), (
        "autograder/REQUIREMENTS.md is out of date: run "
        "`python -m autograder requirements --write`")
