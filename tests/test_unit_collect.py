"""Collect, on folders and zips built in tmp_path: every accepted layout, malformed files.

Layouts (``A`` is the assignment): ``SUBMISSIONS/<id>/A.ipynb``, nbgrader's
``submitted/<id>/A/A.ipynb`` (the ``submitted`` folder itself or a course folder holding
it), a ``.zip`` of any of these, possibly wrapped in one top-level folder.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from unitkit import student_nb  # noqa: E402

from autograder import collect as col  # noqa: E402
from autograder.collect import CollectError, collect, read_notebook  # noqa: E402

A = "ps00_unit"


def notebook_bytes(marker: str) -> bytes:
    nb = student_nb()
    nb.cells[0].source = f"# {marker}"
    return nbformat.writes(nb).encode()


def write(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def summary(subs) -> dict[str, str | None]:
    """student -> the marker in the first cell (or the problem of a malformed file)."""
    return {s.student: (s.notebook.cells[0].source[2:] if s.notebook is not None else
                        f"malformed: {s.problem}") for s in subs}


@pytest.fixture(autouse=True)
def temporary_files_in_tmp_path(tmp_path, monkeypatch):
    """Zip extraction folders go under tmp_path, whoever removes them (or not)."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))


FLAT = {"alice/ps00_unit.ipynb": "alice", "bob/ps00_unit.ipynb": "bob"}
NBGRADER = {"alice/ps00_unit/ps00_unit.ipynb": "alice", "bob/ps00_unit/ps00_unit.ipynb": "bob"}
COURSE = {"submitted/alice/ps00_unit/ps00_unit.ipynb": "alice",
          "submitted/bob/ps00_unit/ps00_unit.ipynb": "bob"}
LAYOUTS = {"flat": FLAT, "nbgrader-submitted": NBGRADER, "course-folder": COURSE}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_folder_layout_finds_every_student(tmp_path, layout):
    root = tmp_path / "SUBMISSIONS"
    for rel, who in LAYOUTS[layout].items():
        write(root, rel, notebook_bytes(who))
    subs = collect(root, A)
    assert summary(subs) == {"alice": "alice", "bob": "bob"}
    assert all(s.problem is None for s in subs)
    assert [s.path for s in subs] == [root / rel for rel in sorted(LAYOUTS[layout])]


@pytest.mark.parametrize("wrapped", [False, True], ids=["top-level", "in-one-folder"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_zip_of_each_layout_gives_the_same_submissions(tmp_path, layout, wrapped):
    archive = tmp_path / "class.zip"
    prefix = "export-2026/" if wrapped else ""
    with zipfile.ZipFile(archive, "w") as zf:
        for rel, who in LAYOUTS[layout].items():
            zf.writestr(prefix + rel, notebook_bytes(who))
    subs = collect(archive, A)
    assert summary(subs) == {"alice": "alice", "bob": "bob"}
    assert all(len(s.digest) == 64 for s in subs)


def test_the_digest_is_the_sha256_of_the_file(tmp_path):
    data = notebook_bytes("alice")
    write(tmp_path, "alice/ps00_unit.ipynb", data)
    [sub] = collect(tmp_path, A)
    assert sub.digest == hashlib.sha256(data).hexdigest()


def test_nbgrader_and_hidden_folders_are_left_out_and_every_student_folder_is_kept(tmp_path):
    """Odd ids are graded (tests/test_intake.py has the details); a folder holding only
    another notebook is listed as malformed, never dropped."""
    data = notebook_bytes("x")
    for rel in ("alice/ps00_unit.ipynb", "alice/ps09_other.ipynb", "carol/notes.ipynb",
                "autograded/ps00_unit.ipynb", "feedback/ps00_unit/ps00_unit.ipynb",
                "source/ps00_unit/ps00_unit.ipynb", "release/ps00_unit/ps00_unit.ipynb",
                ".hidden/ps00_unit.ipynb", "-rf/ps00_unit.ipynb",
                "dan.o'neil/ps00_unit.ipynb", "erin@uni.edu/ps00_unit.ipynb"):
        write(tmp_path, rel, data)
    subs = {s.student: s for s in collect(tmp_path, A)}
    assert sorted(subs) == ["-rf", "alice", "carol", "dan.o'neil", "erin@uni.edu"]
    assert subs["carol"].notebook is None and "notes.ipynb" in subs["carol"].problem
    assert [s.problem for k, s in subs.items() if k != "carol"] == [None] * 4
    assert any("ps09_other.ipynb" in n for n in subs["alice"].notes)


def test_a_student_with_both_layouts_is_collected_once_from_the_flat_file(tmp_path):
    write(tmp_path, "alice/ps00_unit.ipynb", notebook_bytes("flat"))
    write(tmp_path, "alice/ps00_unit/ps00_unit.ipynb", notebook_bytes("nested"))
    assert summary(collect(tmp_path, A)) == {"alice": "flat"}


def test_students_come_sorted_by_id(tmp_path):
    for who in ("zoe", "Adam", "bob", "0042"):
        write(tmp_path, f"{who}/ps00_unit.ipynb", notebook_bytes(who))
    assert [s.student for s in collect(tmp_path, A)] == ["0042", "Adam", "bob", "zoe"]


def test_an_id_longer_than_the_gradebook_holds_is_left_out_with_its_reason(tmp_path):
    """PostgreSQL refuses a student id over nbgrader's String(128) at insert, which stopped
    the batch at that student; such a folder is listed as not graded instead."""
    longest, too_long = "a" * 128, "b" * (col.MAX_ID_CHARS + 1)
    for sid in (longest, too_long, "carol"):
        write(tmp_path / "subs", f"{sid}/{A}.ipynb", notebook_bytes(sid[:5]))
    taken = col.intake(tmp_path / "subs", A)
    assert [s.student for s in taken.submissions] == [longest, "carol"]
    assert [i.path.name for i in taken.left_out] == [too_long]
    assert "129 characters long" in taken.left_out[0].reason
    assert "at most 128" in taken.left_out[0].reason


def test_an_empty_folder_gives_no_submissions(tmp_path):
    assert collect(tmp_path, A) == []


@pytest.mark.parametrize("make", [
    lambda p: None,                                          # does not exist
    lambda p: p.write_text("not a zip"),                     # a plain file
], ids=["missing", "not-a-zip"])
def test_a_path_that_is_neither_a_folder_nor_a_zip_is_refused(tmp_path, make):
    path = tmp_path / "SUBMISSIONS.zip"
    make(path)
    with pytest.raises(CollectError):
        collect(path, A)


@pytest.mark.parametrize("name", ["../escape/ps00_unit.ipynb", "/abs/ps00_unit.ipynb",
                                  "alice/../../ps00_unit.ipynb"])
def test_a_zip_with_an_unsafe_path_is_refused_and_nothing_is_written_outside(tmp_path, name):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("alice/ps00_unit.ipynb", notebook_bytes("alice"))
        zf.writestr(name, notebook_bytes("evil"))
    with pytest.raises(CollectError, match="unsafe path"):
        collect(archive, A)
    assert not (tmp_path / "escape").exists() and not (tmp_path / "ps00_unit.ipynb").exists()


def test_a_zip_that_unpacks_too_large_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(col, "MAX_ZIP_BYTES", 1000)
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("alice/ps00_unit.ipynb", b" " * 2000)
    with pytest.raises(CollectError, match="MiB unpacked"):
        collect(archive, A)


NOT_A_NOTEBOOK = {
    "empty": (b"", "empty file"),
    "blank": (b"  \n\t\n", "empty file"),
    "not-json": (b"{'cells': []", "not valid JSON"),
    "not-utf8": (b"\xff\xfe{}", "not valid JSON"),
    "a-list": (b"[1, 2, 3]", "not a notebook"),
    "no-cells-key": (b'{"metadata": {}}', "not a notebook"),
    "cells-not-a-list": (b'{"cells": {}}', "not a notebook"),
    "no-cells": (json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                             "nbformat_minor": 5}).encode(), "has no cells"),
    "unreadable": (b'{"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5}',
                   "a readable notebook"),
}


@pytest.mark.parametrize("case", NOT_A_NOTEBOOK)
def test_a_malformed_file_is_collected_with_its_reason(tmp_path, case):
    data, reason = NOT_A_NOTEBOOK[case]
    write(tmp_path, "alice/ps00_unit.ipynb", data)
    write(tmp_path, "bob/ps00_unit.ipynb", notebook_bytes("bob"))
    alice, bob = collect(tmp_path, A)
    assert alice.notebook is None and reason in alice.problem, alice.problem
    assert alice.digest == hashlib.sha256(data).hexdigest()
    assert bob.problem is None and bob.notebook is not None   # the batch goes on


def test_a_cell_of_an_unknown_type_makes_the_notebook_malformed(tmp_path):
    raw = json.loads(notebook_bytes("x"))
    raw["cells"][1]["cell_type"] = "widget"
    path = write(tmp_path, "nb.ipynb", json.dumps(raw).encode())
    nb, problem, _ = read_notebook(path)
    assert nb is None and problem is not None


def test_a_notebook_over_the_size_limit_is_malformed(tmp_path, monkeypatch):
    data = notebook_bytes("big")
    monkeypatch.setattr(col, "MAX_NOTEBOOK_BYTES", len(data) - 1)
    nb, problem, digest = read_notebook(write(tmp_path, "nb.ipynb", data))
    assert nb is None and problem.startswith("file larger than")
    assert digest == hashlib.sha256(data).hexdigest()


def test_an_unreadable_file_is_malformed_not_an_error(tmp_path):
    nb, problem, digest = read_notebook(tmp_path / "gone.ipynb")
    assert nb is None and problem.startswith("cannot read the file") and digest == ""
