"""Intake loses no work (issue 16, items 1 and 5).

Fast tests build submission folders and zips in tmp_path from the ps01 notebooks (the
solution and the released exercise) and check what :func:`autograder.collect.intake`
makes of them: misplaced notebooks, odd student ids and their file names, id clashes,
old notebook formats, symbolic links; and that scratch folders of dead graders are
removed while a live grader's are kept. Two slow tests run the real CLI in the sandbox:
one grades a folder of odd submissions and reads the CSV, one kills a grader with
SIGKILL mid-run and checks that the next run cleans up after it.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
import zipfile
from dataclasses import asdict
from pathlib import Path

import nbformat
import pytest

from autograder import scratch
from autograder.collect import OUTSIDE, intake, safe_name

ROOT = Path(__file__).resolve().parent.parent
A = "ps01_information"
SOLUTION = ROOT / "solutions" / A / f"{A}.ipynb"
RELEASE = ROOT / "exercises" / A / f"{A}.ipynb"
ZOE_NFC = unicodedata.normalize("NFC", "Zoë")
ZOE_NFD = unicodedata.normalize("NFD", "Zoë")


@pytest.fixture(autouse=True)
def scratch_base(tmp_path_factory, monkeypatch) -> Path:
    """Scratch folders (zip extraction, sandboxes) go to a fresh folder of this test's
    own, not the machine's /tmp."""
    base = tmp_path_factory.mktemp("scratch")
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    return base


def put(root: Path, rel: str, src: Path = SOLUTION) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(src.read_bytes())
    return path


def by_id(root: Path) -> dict:
    return {s.student: s for s in intake(root, A).submissions}


# ------------------------------------------------------------ 1. nothing dropped silently

@pytest.mark.parametrize("rel, why", [
    (f"{A}/answers.ipynb", "a wrong name"),
    (f"{A}.ipynb".replace(".ipynb", " (1).ipynb"), "another notebook's name"),
    (f"work/{A}/{A}.ipynb", "nested deeper"),
    ("ps02_divergence.ipynb", "another notebook's name"),
], ids=["wrong-name", "browser-copy", "nested", "other-assignment"])
def test_a_misplaced_notebook_gives_a_malformed_row_naming_it(tmp_path, rel, why):
    put(tmp_path, f"alice/{rel}")
    put(tmp_path, f"bob/{A}.ipynb")
    subs = by_id(tmp_path)
    assert sorted(subs) == ["alice", "bob"]
    alice = subs["alice"]
    assert alice.notebook is None and str(Path(rel)) in alice.problem and why in alice.problem
    assert subs["bob"].problem is None and subs["bob"].notebook is not None


def test_extra_notebooks_next_to_the_graded_one_are_named_in_its_notes(tmp_path):
    put(tmp_path, f"alice/{A}.ipynb")
    put(tmp_path, "alice/ps02_divergence.ipynb")
    put(tmp_path, f"alice/old/{A}.ipynb")
    put(tmp_path, f"alice/.ipynb_checkpoints/{A}-checkpoint.ipynb")   # nobody hands these in
    alice = by_id(tmp_path)["alice"]
    assert alice.problem is None and alice.notebook is not None
    assert len(alice.notes) == 2
    assert "ps02_divergence.ipynb" in alice.notes[1] and "old" in alice.notes[0]
    left_out = intake(tmp_path, A).left_out   # what grade's summary lists
    assert [p.relative_to(tmp_path) for p in (i.path for i in left_out)] == [
        Path(f"alice/old/{A}.ipynb"), Path("alice/ps02_divergence.ipynb")]


def test_another_assignments_own_folder_is_not_a_submission_of_this_one(tmp_path):
    put(tmp_path, f"submitted/alice/{A}/{A}.ipynb")
    put(tmp_path, "submitted/alice/ps02_divergence/ps02_divergence.ipynb")
    put(tmp_path, "submitted/bob/ps02_divergence/ps02_divergence.ipynb")
    got = intake(tmp_path, A)
    assert [s.student for s in got.submissions] == ["alice"] and got.ignored == []
    assert got.submissions[0].notes == []


def test_a_notebook_outside_every_student_folder_is_listed(tmp_path):
    put(tmp_path, f"alice/{A}.ipynb")
    put(tmp_path, f"{A}.ipynb")
    (tmp_path / "empty-folder").mkdir()
    got = intake(tmp_path, A)
    assert [s.student for s in got.submissions] == ["alice"]
    assert sorted(i.path.name for i in got.ignored) == ["empty-folder", f"{A}.ipynb"]
    assert all(i.reason for i in got.ignored)


def test_the_summary_prints_every_submission_that_was_not_graded(tmp_path, capsys):
    from autograder.collect import Ignored
    from autograder.grade import print_summary
    from autograder.judge import malformed
    from autograder.prepare import instructor_cells

    cells = instructor_cells(nbformat.read(SOLUTION, as_version=4))
    verdicts = [("carol", malformed(cells, "no ps01_information.ipynb where expected"))]
    print_summary(verdicts, 1.0, [Ignored(Path("S/loose.ipynb"), "not inside a student's "
                                          "folder")])
    out = capsys.readouterr().out
    assert "not graded: carol: no ps01_information.ipynb where expected" in out
    assert "not graded: S/loose.ipynb: not inside a student's folder" in out


# ------------------------------------------------------------ 2. ids as given, safe names

ODD_IDS = ["Zoë O'Brien", "李 雷", "x" * 128, "-rf", "a b", 'say "hi"', "..", "CON",
           "trailing."]


def test_odd_folder_names_are_students_with_their_names_as_given(tmp_path):
    for sid in ODD_IDS:
        if sid != "..":   # no folder can have that name
            put(tmp_path, f"{sid}/{A}.ipynb")
    put(tmp_path, f"{ZOE_NFD} Smith/{A}.ipynb")   # made on macOS
    subs = by_id(tmp_path)
    assert sorted(subs) == sorted([s for s in ODD_IDS if s != ".."] + [f"{ZOE_NFC} Smith"])
    assert all(s.problem is None for s in subs.values())


@pytest.mark.parametrize("sid", ["alice", "erin@uni.edu", "s1234567", "A.B-c_d+e"])
def test_a_plain_id_is_its_own_file_name(sid):
    assert safe_name(sid) == sid


@pytest.mark.parametrize("sid", ODD_IDS + ["a/b", "../x", "é" * 300, "\x00nul"])
def test_any_other_id_maps_to_a_short_safe_deterministic_name(sid):
    name = safe_name(sid)
    assert name == safe_name(sid)
    assert 1 <= len(name) <= 60 and name.isascii() and name[0].isalnum()
    assert all(ch.isalnum() or ch in "_-" for ch in name), name
    assert name.split(".")[0].upper() != "CON"


def test_different_ids_get_different_names_and_nfc_nfd_spellings_the_same():
    names = {safe_name(s) for s in ODD_IDS + ["Zoe O'Brien", "Zoe_O_Brien", "李雷"]}
    assert len(names) == len(ODD_IDS) + 3
    assert safe_name(ZOE_NFD + " O'Brien") == safe_name(ZOE_NFC + " O'Brien")


def test_feedback_is_written_under_the_safe_name(tmp_path, monkeypatch):
    from autograder import feedback
    from autograder.record import StoredResult

    row = StoredResult(A, "Zoë O'Brien", "ok", 1.0, 2.0, 0.0, "", {"cells": {}, "reasons": []},
                       {})
    monkeypatch.setattr(feedback, "stored_results", lambda url, assignment: [row])
    [path] = feedback.write_feedback(A, "sqlite://", tmp_path)
    folder = path.relative_to(tmp_path / "feedback").parts[0]
    assert folder == safe_name(row.student) and folder.isascii() and "'" not in folder
    assert path == tmp_path / "feedback" / folder / A / f"{A}.html"
    assert "Zoë O&#x27;Brien" in path.read_text()   # the page shows the id as given


def test_the_late_policy_finds_a_macos_folders_timestamp_under_collects_id(tmp_path):
    from autograder.late import submission_timestamps

    put(tmp_path, f"{ZOE_NFD}/{A}/{A}.ipynb")
    (tmp_path / ZOE_NFD / A / "timestamp.txt").write_text("2026-10-01 23:59:00.000000 UTC")
    [sub] = intake(tmp_path, A).submissions
    stamps, problems = submission_timestamps(tmp_path, A)
    assert list(stamps) == [sub.student] == [ZOE_NFC] and problems == []


def test_an_nfc_nfd_pair_is_one_row_naming_both_folders(tmp_path):
    put(tmp_path, f"{ZOE_NFC}/{A}.ipynb")
    put(tmp_path, f"{ZOE_NFD}/{A}.ipynb")
    put(tmp_path, f"bob/{A}.ipynb")
    subs = by_id(tmp_path)
    assert sorted(subs) == sorted(["bob", ZOE_NFC])
    zoe = subs[ZOE_NFC]
    assert zoe.notebook is None and ascii(ZOE_NFC)[1:-1] in zoe.problem
    assert ascii(ZOE_NFD)[1:-1] in zoe.problem
    assert subs["bob"].problem is None   # the batch goes on


def test_ids_that_differ_only_in_case_are_both_refused(tmp_path):
    put(tmp_path, f"Alice/{A}.ipynb")
    put(tmp_path, f"alice/{A}.ipynb")
    subs = by_id(tmp_path)
    assert sorted(subs) == ["Alice", "alice"]
    for sub in subs.values():
        assert sub.notebook is None and "letter case" in sub.problem
        assert "'Alice/" in sub.problem and "'alice/" in sub.problem


# ------------------------------------------------------------ 3. old notebook formats

def test_an_nbformat_3_notebook_is_converted_with_a_note(tmp_path):
    nb = nbformat.read(SOLUTION, as_version=4)
    v3 = nbformat.convert(nbformat.read(SOLUTION, as_version=4), 3)   # (converts in place)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / f"{A}.ipynb").write_text(nbformat.writes(v3))
    sub = by_id(tmp_path)["old"]
    assert sub.problem is None, sub.problem
    assert (sub.notebook.nbformat, sub.notebook.nbformat_minor) == (4, 5)
    grade_ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in sub.notebook.cells]
    assert grade_ids == [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert [c.source for c in sub.notebook.cells] == [c.source for c in nb.cells]
    assert any("format 3" in n for n in sub.notes)


def test_an_older_v4_minor_gets_cell_ids_the_same_way_every_time(tmp_path):
    raw = json.loads(SOLUTION.read_text())
    raw["nbformat_minor"] = 2
    for cell in raw["cells"]:
        cell.pop("id", None)
    put(tmp_path, f"old/{A}.ipynb").write_text(json.dumps(raw))
    first, again = by_id(tmp_path)["old"], by_id(tmp_path)["old"]
    assert first.problem is None and first.notebook.nbformat_minor == 5
    ids = [c.id for c in first.notebook.cells]
    assert len(set(ids)) == len(ids) and ids == [c.id for c in again.notebook.cells]
    assert any("format 4.2" in n for n in first.notes)


def test_a_current_notebook_gets_no_conversion_note(tmp_path):
    put(tmp_path, f"alice/{A}.ipynb")
    assert by_id(tmp_path)["alice"].notes == []


# ------------------------------------------------------------ 4. symbolic links

def test_a_notebook_linked_from_outside_is_refused_unread(tmp_path):
    outside = put(tmp_path, f"elsewhere/{A}.ipynb")
    subs_root = tmp_path / "subs"
    (subs_root / "mallory").mkdir(parents=True)
    (subs_root / "mallory" / f"{A}.ipynb").symlink_to(outside)
    (subs_root / "eve").symlink_to(outside.parent, target_is_directory=True)
    put(subs_root, f"bob/{A}.ipynb")
    (subs_root / "bob" / "data").symlink_to("/etc")   # a link next to a good notebook
    subs = by_id(subs_root)
    for who in ("mallory", "eve"):
        assert subs[who].notebook is None and subs[who].digest == ""
        assert OUTSIDE in subs[who].problem
    assert subs["bob"].problem is None and any(OUTSIDE in n for n in subs["bob"].notes)


def test_a_link_inside_the_submissions_folder_is_followed(tmp_path):
    put(tmp_path, f"shared/{A}.ipynb")
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / f"{A}.ipynb").symlink_to(f"../shared/{A}.ipynb")
    assert by_id(tmp_path)["carol"].problem is None


def _zip_link(zf: zipfile.ZipFile, name: str, target: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16)   # a symbolic link, as `zip -y` stores it
    zf.writestr(info, target)


def test_a_link_in_a_zip_that_points_outside_is_refused(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"bob/{A}.ipynb", SOLUTION.read_bytes())
        _zip_link(zf, f"mallory/{A}.ipynb", "../../../../../../etc/passwd")
        _zip_link(zf, f"trudy/{A}.ipynb", str(SOLUTION))
        _zip_link(zf, f"carol/{A}.ipynb", f"../bob/{A}.ipynb")
    subs = by_id(archive)
    for who in ("mallory", "trudy"):
        assert subs[who].notebook is None and OUTSIDE in subs[who].problem, subs[who].problem
    assert subs["carol"].problem is None and subs["bob"].problem is None
    assert subs["mallory"].path == archive / "mallory" / f"{A}.ipynb"


# ------------------------------------------------------------ 5. scratch of dead graders

def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _owned_by(folder: Path, owner: scratch.Owner) -> Path:
    folder.mkdir()
    (folder / scratch.OWNER_FILE).write_text(json.dumps(asdict(owner)))
    return folder


def test_scratch_of_a_dead_grader_is_removed_and_every_other_kept(scratch_base):
    base = scratch_base
    me = scratch.current_owner()
    mine = scratch.make_scratch()
    assert mine.parent == base and scratch.owner_of(mine) == me
    dead = _owned_by(base / "autograder-dead", scratch.Owner(_dead_pid(), "1", me.boot,
                                                              me.host))
    reused = _owned_by(base / "autograder-reused", scratch.Owner(me.pid, "0", me.boot, me.host))
    rebooted = _owned_by(base / "autograder-rebooted",
                         scratch.Owner(me.pid, me.start, "another-boot", me.host))
    other_host = _owned_by(base / "autograder-nfs",
                           scratch.Owner(_dead_pid(), "1", me.boot, socket.gethostname() + "x"))
    ownerless = base / "autograder-someone-else"
    ownerless.mkdir()
    half_made = base / f"{scratch.STAGING}killed"   # killed before its owner file was written
    half_made.mkdir()
    os.utime(half_made, (time.time() - 2 * scratch.STAGING_GRACE_S,) * 2)
    being_made = base / f"{scratch.STAGING}now"
    being_made.mkdir()
    removed = scratch.remove_stale()
    assert sorted(removed) == sorted([dead, reused, rebooted, half_made])
    assert all(p.exists() for p in (mine, other_host, ownerless, being_made))
    assert not any(p.exists() for p in removed)


def test_scratch_folders_the_grader_makes_record_their_owner():
    from autograder.sandbox import Limits, Sandbox

    box = Sandbox.start(Limits(use_bwrap=False))
    try:
        assert scratch.owner_of(box.scratch) == scratch.current_owner()
    finally:
        box.close()
    assert not box.scratch.exists()


# ------------------------------------------------------------ end to end, real sandbox

LIMITS = ["--cell-timeout", "10", "--probe-timeout", "10", "--timeout", "60", "--workers", "2"]
LONG = "Ł" + "o" * 125 + "ng"   # 128 characters: the longest id the gradebook holds
TOO_LONG = LONG + "er"


def _grade(subs: Path, course: Path, tmpdir: Path) -> subprocess.Popen:
    env = dict(os.environ, TMPDIR=str(tmpdir))
    return subprocess.Popen([sys.executable, "-m", "autograder", "grade", A, str(subs),
                             "--course", str(course), "--db",
                             f"sqlite:///{course / 'gradebook.db'}", *LIMITS],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
@pytest.mark.usefixtures("bwrap")
def test_end_to_end_every_odd_submission_has_its_row_and_status(tmp_path):
    subs, course, tmpdir = tmp_path / "subs", tmp_path / "course", tmp_path / "tmp"
    tmpdir.mkdir()
    put(subs, f"Zoë O'Brien/{A}.ipynb")
    put(subs, f"李 雷/{A}.ipynb", RELEASE)
    put(subs, f"{LONG}/{A}.ipynb")
    put(subs, f"{TOO_LONG}/{A}.ipynb")   # listed as not graded, with its reason
    put(subs, f"{ZOE_NFC}/{A}.ipynb")
    put(subs, f"{ZOE_NFD}/{A}.ipynb")
    nb3 = nbformat.convert(nbformat.read(SOLUTION, as_version=4), 3)
    (subs / "v3 student").mkdir()
    (subs / "v3 student" / f"{A}.ipynb").write_text(nbformat.writes(nb3))
    put(subs, f"misplaced/{A}/answers.ipynb")
    (subs / "linked").mkdir()
    (subs / "linked" / f"{A}.ipynb").symlink_to(SOLUTION)
    put(subs, f"{A}.ipynb")   # loose: nobody's
    proc = _grade(subs, course, tmpdir)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out
    csv_path = tmp_path / "grades.csv"
    exp = subprocess.run([sys.executable, "-m", "autograder", "export", "--csv", str(csv_path),
                          "--db", f"sqlite:///{course / 'gradebook.db'}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert exp.returncode == 0, exp.stdout + exp.stderr
    with open(csv_path, newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    status = {k: r["status"] for k, r in rows.items()}
    assert status == {"Zoë O'Brien": "ok", "李 雷": "ok", LONG: "ok", ZOE_NFC: "malformed",
                      "v3 student": "ok", "misplaced": "malformed", "linked": "malformed"}, out
    full = rows["Zoë O'Brien"]["score"]   # the solution: every autograded point
    assert float(full) > 0 and rows[LONG]["score"] == rows["v3 student"]["score"] == full
    assert float(rows["李 雷"]["score"]) < float(full)   # the unanswered exercise
    log = csv_path.with_suffix(".log").read_text()
    assert "converted to 4.5" in log and "answers.ipynb" in log and OUTSIDE in log
    for name in ("misplaced", "linked", ascii(ZOE_NFD)[1:-1], f"{A}.ipynb: not inside",
                 "130 characters long"):
        assert name in out, out   # the summary names every file it did not grade
    fb = subprocess.run([sys.executable, "-m", "autograder", "feedback", A, "--course",
                         str(course), "--db", f"sqlite:///{course / 'gradebook.db'}"],
                        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert fb.returncode == 0, fb.stdout + fb.stderr
    for sid in ("Zoë O'Brien", "李 雷", LONG, "v3 student"):
        assert (course / "feedback" / safe_name(sid) / A / f"{A}.html").exists()
    assert list(tmpdir.glob("autograder-*")) == []   # no scratch outlives the run


@pytest.mark.slow
@pytest.mark.usefixtures("bwrap")
def test_a_grader_killed_with_sigkill_leaves_scratch_the_next_run_removes(tmp_path):
    subs, course, tmpdir = tmp_path / "subs", tmp_path / "course", tmp_path / "tmp"
    tmpdir.mkdir()
    for who in ("alice", "bob", "carol"):
        put(subs, f"{who}/{A}.ipynb")
    live = subprocess.Popen(  # another grader, still running: its scratch must stay
        [sys.executable, "-c", "import sys, time; from autograder.scratch import make_scratch;"
         " print(make_scratch(), flush=True); time.sleep(600)"],
        cwd=ROOT, env=dict(os.environ, TMPDIR=str(tmpdir)), stdout=subprocess.PIPE, text=True)
    try:
        live_dir = Path(live.stdout.readline().strip())
        assert live_dir.parent == tmpdir
        victim = _grade(subs, course, tmpdir)
        deadline = time.monotonic() + 300
        while not [p for p in tmpdir.glob("autograder-*") if p != live_dir]:
            assert victim.poll() is None, victim.communicate()[0]
            assert time.monotonic() < deadline, "the grader made no scratch folder in 300 s"
            time.sleep(0.05)
        os.kill(victim.pid, signal.SIGKILL)
        victim.communicate(timeout=60)
        stale = [p for p in tmpdir.glob("autograder-*") if p != live_dir]
        assert stale, "the killed grader left nothing to clean (the test proves nothing)"
        (tmp_path / "none").mkdir()
        again = _grade(tmp_path / "none", course, tmpdir)   # any later run cleans up
        out, _ = again.communicate(timeout=900)
        assert again.returncode == 0, out
        assert list(tmpdir.glob("autograder-*")) == [live_dir], out
        assert "scratch folder(s) of graders that are gone" in out
    finally:
        live.kill()
        live.wait()
