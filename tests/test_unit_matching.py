"""Prepare, without a sandbox: how a student's cells are matched to the instructor's.

The notebook that runs is rebuilt from the instructor's source: setup and test cells
always come from the instructor, answers and added cells from the student. These tests
build a tiny assignment in memory (tests/unitkit.py) and check each matching rule and
fallback: grade_id, cell id, the functions an answer defines, the content of a locked
cell; moved, renamed, deleted, duplicated, added and re-tagged cells.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from unitkit import (  # noqa: E402
    ANSWERS,
    SETUP,
    TEST_ENTROPY,
    TEST_KL,
    by_id,
    instructor_nb,
    student_nb,
)

from autograder.markers import release_view  # noqa: E402
from autograder.markers import split_hidden as split_test  # noqa: E402
from autograder.prepare import match_cells, prepare  # noqa: E402

INST = instructor_nb()
# instructor cell indexes
INTRO, IMPORTS, ENTROPY, T_ENTROPY, KL, T_KL, EXPLAIN = range(7)
HIDDEN_LINE = "assert entropy([0.5, 0.5]) == 1"


def roles(prepared) -> list[tuple[str, str | None]]:
    return [(c["role"], c["grade_id"]) for c in prepared.chunks]


def chunk(prepared, role: str, grade_id: str | None) -> dict:
    found = [c for c in prepared.chunks if c["role"] == role and c["grade_id"] == grade_id]
    assert len(found) == 1, roles(prepared)
    return found[0]


def strip_metadata(nb, keep_ids: bool) -> None:
    for n, cell in enumerate(nb.cells):
        cell.metadata.pop("nbgrader", None)
        if not keep_ids:
            cell.id = f"fresh-{n}"


# ------------------------------------------------------------------ the rebuilt notebook


def test_an_untouched_submission_runs_instructor_cells_and_student_answers():
    prepared = prepare(INST, student_nb())
    assert roles(prepared) == [("setup", "imports"), ("solution", "entropy"),
                               ("test_visible", "test_entropy"), ("test_hidden", "test_entropy"),
                               ("solution", "kl"), ("test_visible", "test_kl")]
    assert [c["i"] for c in prepared.chunks] == list(range(6))
    assert chunk(prepared, "solution", "entropy")["source"] == ANSWERS["entropy"]
    assert chunk(prepared, "setup", "imports")["source"] == SETUP
    assert prepared.notes == []
    # the chunks that define the answers: setup and solutions, never tests
    assert prepared.definition_chunks == {0, 1, 4}
    assert prepared.manual_answers == {"explain": ANSWERS["explain"]}
    # per student cell: does it stand for a locked (instructor) cell?
    assert prepared.locked == [False, True, False, True, False, True, False]


def test_a_test_cell_is_split_into_its_visible_part_and_its_hidden_tests():
    prepared = prepare(INST, student_nb())
    visible = chunk(prepared, "test_visible", "test_entropy")["source"]
    hidden = chunk(prepared, "test_hidden", "test_entropy")["source"]
    assert "HIDDEN" not in visible and HIDDEN_LINE not in visible
    assert hidden.strip() == HIDDEN_LINE
    # a test cell without hidden tests has no hidden chunk
    assert [c for c in prepared.chunks if c["grade_id"] == "test_kl"] == [
        chunk(prepared, "test_visible", "test_kl")]


def test_split_test_joins_several_hidden_blocks_and_keeps_the_visible_lines():
    source = ("a = 1\n### BEGIN HIDDEN TESTS\nassert a == 1\n### END HIDDEN TESTS\n"
              "b = 2\n    ### BEGIN HIDDEN TESTS\n    assert b == 2\n    ### END HIDDEN TESTS\n")
    visible, hidden = split_test(source)
    assert visible == "a = 1\nb = 2\n"
    assert [line for line in hidden.splitlines() if line.strip()] == [
        "assert a == 1", "    assert b == 2"]
    assert release_view(source) == visible
    assert split_test(TEST_KL) == (TEST_KL, "")


# ------------------------------------------------------------------ matching and fallbacks


def test_cells_are_matched_by_grade_id_wherever_they_are():
    nb = student_nb()
    nb.cells = [nb.cells[i] for i in (KL, INTRO, T_KL, IMPORTS, ENTROPY, EXPLAIN, T_ENTROPY)]
    notes: list[str] = []
    assert match_cells(INST, nb, notes) == [KL, None, T_KL, IMPORTS, ENTROPY, EXPLAIN, T_ENTROPY]
    assert notes == []


def test_moved_answers_still_run_in_the_instructor_order():
    nb = student_nb()
    nb.cells = [nb.cells[i] for i in (INTRO, KL, IMPORTS, T_KL, ENTROPY, T_ENTROPY, EXPLAIN)]
    prepared = prepare(INST, nb)
    assert roles(prepared)[:2] == [("setup", "imports"), ("solution", "entropy")]
    assert chunk(prepared, "solution", "kl")["source"] == ANSWERS["kl"]


def test_without_nbgrader_metadata_cells_are_matched_by_cell_id():
    nb = student_nb()
    strip_metadata(nb, keep_ids=True)
    notes: list[str] = []
    assert match_cells(INST, nb, notes) == [None, IMPORTS, ENTROPY, T_ENTROPY, KL, T_KL, EXPLAIN]
    assert len(notes) == 1 and "metadata missing" in notes[0]


def test_without_metadata_or_ids_answers_are_matched_by_the_functions_they_define():
    nb = student_nb()
    strip_metadata(nb, keep_ids=False)
    notes: list[str] = []
    matches = match_cells(INST, nb, notes)
    # answers by their def, locked cells by their (unchanged) text; markdown stays unmatched
    assert matches == [None, IMPORTS, ENTROPY, T_ENTROPY, KL, T_KL, None]
    assert notes and "metadata missing" in notes[0]
    prepared = prepare(INST, nb)
    assert chunk(prepared, "solution", "kl")["source"] == ANSWERS["kl"]
    assert prepared.manual_answers == {"explain": ""}


def test_a_locked_cell_is_recognised_by_its_text_despite_trailing_spaces_and_blank_lines():
    nb = student_nb()
    strip_metadata(nb, keep_ids=False)
    nb.cells[IMPORTS].source = "\n" + SETUP.replace("\n", "   \n\n") + "\n\n"
    assert match_cells(INST, nb, [])[IMPORTS] == IMPORTS


def test_a_renamed_answer_is_an_added_cell_and_the_answer_counts_as_missing():
    nb = student_nb()
    renamed = ANSWERS["kl"].replace("def kl(", "def divergence(")
    cell = by_id(nb, "kl")
    cell.source = renamed
    cell.metadata.pop("nbgrader")
    cell.id = "student-cell"
    prepared = prepare(INST, nb)
    assert "NotImplementedError" in chunk(prepared, "solution", "kl")["source"]
    # the student's cell still runs, where it was (after the last matched cell, test_entropy)
    assert roles(prepared)[4:6] == [("extra", None), ("solution", "kl")]
    assert prepared.chunks[4]["source"] == renamed


def test_added_cells_run_after_the_cell_they_follow():
    nb = student_nb()
    first = nbformat.v4.new_code_cell("x = 0")
    helper = nbformat.v4.new_code_cell("def helper():\n    return 1")
    nb.cells.insert(0, first)
    nb.cells.insert(nb.cells.index(by_id(nb, "entropy")) + 1, helper)
    prepared = prepare(INST, nb)
    assert roles(prepared)[:4] == [("extra", None), ("setup", "imports"), ("solution", "entropy"),
                                   ("extra", None)]
    assert [prepared.chunks[i]["source"] for i in (0, 3)] == ["x = 0", helper.source]
    # added cells are not answers: they are dropped when the wall-clock budget runs out
    assert not {0, 3} & prepared.definition_chunks
    # added markdown cells do not run
    nb.cells.append(nbformat.v4.new_markdown_cell("notes to self"))
    assert len(prepare(INST, nb).chunks) == len(prepared.chunks)


def test_a_deleted_test_cell_is_graded_with_the_original():
    nb = student_nb()
    nb.cells.remove(by_id(nb, "test_entropy"))
    prepared = prepare(INST, nb)
    assert chunk(prepared, "test_hidden", "test_entropy")["source"].strip() == HIDDEN_LINE
    assert chunk(prepared, "test_visible", "test_entropy")["source"] == release_view(TEST_ENTROPY)
    assert any("test_entropy missing" in n for n in prepared.notes), prepared.notes


def test_a_deleted_answer_cell_runs_a_stub_that_raises():
    nb = student_nb()
    nb.cells.remove(by_id(nb, "entropy"))
    source = chunk(prepare(INST, nb), "solution", "entropy")["source"]
    assert source.startswith("raise NotImplementedError")


def test_an_edited_test_cell_is_graded_with_the_original():
    nb = student_nb()
    by_id(nb, "test_entropy").source = "pass  # trust me"
    by_id(nb, "imports").source = SETUP + "\nentropy = lambda p: 0"
    prepared = prepare(INST, nb)
    assert chunk(prepared, "test_visible", "test_entropy")["source"] == release_view(TEST_ENTROPY)
    assert chunk(prepared, "setup", "imports")["source"] == SETUP
    edited = sorted(n for n in prepared.notes if "was edited" in n)
    assert len(edited) == 2 and "imports" in edited[0] and "test_entropy" in edited[1]


def test_the_released_form_of_a_test_cell_is_not_an_edit():
    nb = student_nb()   # its test cell shows no hidden tests: that is how it was released
    assert by_id(nb, "test_entropy").source == release_view(TEST_ENTROPY)
    assert not [n for n in prepare(INST, nb).notes if "edited" in n]


@pytest.mark.parametrize("retag", [
    {"solution": True, "grade": False, "locked": False},        # made an answer cell
    {"grade": False, "points": 0},                              # made ungraded
    {"tags": ["skip-execution"]},                               # tagged to be skipped
], ids=["as-answer", "ungraded", "skip-tag"])
def test_a_retagged_test_cell_is_restored(retag):
    nb = student_nb()
    cell = by_id(nb, "test_entropy")
    cell.source = "pass"
    tags = retag.pop("tags", None)
    cell.metadata["nbgrader"].update(retag)
    if tags:
        cell.metadata["tags"] = tags
    prepared = prepare(INST, nb)
    assert chunk(prepared, "test_visible", "test_entropy")["source"] == release_view(TEST_ENTROPY)
    assert chunk(prepared, "test_hidden", "test_entropy")["source"].strip() == HIDDEN_LINE
    # the student's text of the test cell is never run, whatever its tags say
    assert all(c["source"] != "pass" for c in prepared.chunks)
    assert prepared.locked[nb.cells.index(cell)] is True


def test_a_grade_id_used_twice_matches_once_and_the_copy_is_an_added_cell():
    nb = student_nb()
    copy_cell = nbformat.v4.new_code_cell("def entropy(p):\n    return 42")
    copy_cell.metadata["nbgrader"] = dict(by_id(nb, "entropy").metadata["nbgrader"])
    nb.cells.insert(nb.cells.index(by_id(nb, "test_kl")) + 1, copy_cell)
    matches = match_cells(INST, nb, [])
    assert matches.count(ENTROPY) == 1 and matches[nb.cells.index(copy_cell)] is None
    prepared = prepare(INST, nb)
    assert chunk(prepared, "solution", "entropy")["source"] == ANSWERS["entropy"]
    # the copy runs after test_kl, so it cannot change what test_entropy saw
    assert roles(prepared)[-1] == ("extra", None)


def test_a_cell_whose_type_changed_is_not_matched():
    nb = student_nb()
    md = nbformat.v4.new_markdown_cell(ANSWERS["entropy"])
    md.metadata = by_id(nb, "entropy").metadata
    nb.cells[ENTROPY] = md
    assert match_cells(INST, nb, [])[ENTROPY] is None
    assert "NotImplementedError" in chunk(prepare(INST, nb), "solution", "entropy")["source"]
