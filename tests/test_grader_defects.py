"""Defects of the grader found by the issue 14 review, one test each (fast, no bubblewrap).

Each test failed before its fix: feedback pages with ANSI codes and the grading machine's
paths, a sandbox closed twice (closing a descriptor another object owns), ``preexec_fn``
from worker threads, the zip extraction folder left behind, and a hidden-test marker
grammar that disagreed with nbgrader's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import ROOT

sys.path.insert(0, str(Path(__file__).parent))

ESC = "\x1b"


def _failing_row(output: str, error: str) -> dict:
    return {"student": "alice", "score": 0.0, "max_score": 6.0, "status": "ok",
            "payload": {"cells": {"test_entropy": {"score": 0.0, "max_score": 6.0,
                                                   "probes": []}},
                        "visible": {"test_entropy": {
                            "source": "check_close(entropy([0.5, 0.5]), 1.0)", "output": output,
                            "ok": False, "error": error, "failure": None}},
                        "reasons": []}}


def _ipython_traceback() -> tuple[str, str]:
    """What the runner records for a visible test that fails (output, 'ename: evalue')."""
    from autograder import runner

    class Events:
        def __init__(self) -> None:
            self.sent: list[dict] = []

        def send(self, **ev) -> None:
            self.sent.append(ev)

    shell = runner.make_shell()
    events = Events()
    src = ("from infoloss.testing import check_close\n"
           "check_close(0.0, 1.0, what='entropy([0.5, 0.5])')\n")
    runner._run_chunks(shell, {"chunks": [{"i": 0, "source": src}]}, events)
    end = events.sent[-1]
    assert end["ev"] == "chunk_end" and not end["ok"]
    return end["output"], f"{end['ename']}: {end['evalue']}"


def test_runner_records_plain_tracebacks():
    output, error = _ipython_traceback()
    assert "AssertionError" in output and "entropy([0.5, 0.5])" in output
    assert ESC not in output and "[0;31m" not in output


def test_feedback_shows_plain_tracebacks_without_machine_paths():
    from autograder.feedback import render

    coloured = (f"{ESC}[0;31m-----------{ESC}[0m\n{ESC}[0;31mAssertionError{ESC}[0m"
                f"                            Traceback (most recent call last)\n"
                f"Cell {ESC}[0;32mIn[7], line 2{ESC}[0m\n"
                f"File {ESC}[0;32m{ROOT}/infoloss/testing.py:62{ESC}[0m, in "
                f"{ESC}[0;36mcheck_close{ESC}[0;34m(actual, expected){ESC}[0m\n"
                f"{ESC}[0;31mAssertionError{ESC}[0m: entropy([0.5, 0.5]): wrong at index ()\n")
    real, real_error = _ipython_traceback()
    for output, error in ((coloured, "AssertionError: entropy([0.5, 0.5]): wrong at index ()"),
                          (real.replace("/site-packages/", "/x/") + f"\n{ROOT}/infoloss/a.py",
                           real_error)):
        page = render("ps01_information", _failing_row(output, error))
        assert ESC not in page and "[0;31m" not in page and "[0m" not in page
        assert str(ROOT) not in page, "the grading machine's course path is on the page"
        assert "infoloss/testing.py" in page
        body = page[page.index("<h2>test_entropy"):]
        # the assertion message comes before the traceback
        assert body.index("entropy([0.5, 0.5])") < body.index("Traceback")


def test_release_view_of_the_feedback_hides_nbgrader_hidden_regions():
    """What release removes (nbgrader's grammar) is what the feedback never shows."""
    from autograder import markers

    src = "check(1)\n### BEGIN HIDDEN TESTS\nsecret(2)\n### END HIDDEN TESTS\nafter(3)\n"
    visible, hidden = markers.split_hidden(src)
    assert "secret" not in visible and "after(3)" in visible and "check(1)" in visible
    assert hidden.strip() == "secret(2)"


@pytest.mark.parametrize("line", ["# BEGIN HIDDEN TESTS", "BEGIN HIDDEN TESTS",
                                  "#### BEGIN HIDDEN TESTS", "### begin hidden tests",
                                  "### BEGIN HIDDEN TEST", "###BEGIN HIDDEN TESTS",
                                  "x = 1  ### BEGIN HIDDEN TESTS", "### BEGIN  SOLUTION"])
def test_release_refuses_marker_like_lines(line, tmp_path):
    from autograder import markers

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np"),
                nbformat.v4.new_code_cell(f"check(1)\n{line}\nsecret(2)\n"
                                          "### END HIDDEN TESTS\n")]
    nb.cells[1].metadata["nbgrader"] = {"grade": True, "grade_id": "test_x", "locked": True,
                                        "points": 1, "solution": False}
    with pytest.raises(markers.MarkerError, match=r"test_x.*line 2"):
        markers.validate(nb, "psXX")


def test_release_accepts_nbgrader_markers_and_rejects_unbalanced():
    from autograder import markers

    good = "  ### BEGIN HIDDEN TESTS  \nsecret()\n  ### END HIDDEN TESTS\n"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(good)]
    markers.validate(nb, "psXX")
    for bad in ("### BEGIN HIDDEN TESTS\nx\n", "### END HIDDEN TESTS\n",
                "### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n",
                "### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n"):
        nb.cells = [nbformat.v4.new_code_cell(bad)]
        with pytest.raises(markers.MarkerError, match="cell 0"):
            markers.validate(nb, "psXX")


def test_release_refuses_a_source_with_a_marker_nbgrader_reads_differently(tmp_path):
    """``# BEGIN HIDDEN TESTS`` is hidden by nbgrader (a substring match) but was run in the
    visible phase by the grader, its source shown in the feedback: now release stops."""
    from autograder import release as rel

    src = rel.SOLUTIONS / "ps01_information" / "ps01_information.py"
    text = src.read_text()
    anchor = 'check_raises(ValueError, self_information, -0.1, match="probab")\n'
    assert text.count(anchor) == 1
    bad = tmp_path / "ps01_information.py"
    bad.write_text(text.replace(anchor, anchor + "# BEGIN HIDDEN TESTS\nx = 1\n"
                                "### END HIDDEN TESTS\n"))
    with pytest.raises(rel.ReleaseError, match=r"cell \d+ \(test_\w+\), line \d+: "
                                               r"'# BEGIN HIDDEN TESTS'"):
        rel.notebook_from_percent(bad)


def test_every_solution_notebook_follows_the_marker_grammar():
    from autograder import markers
    from autograder.release import SOLUTIONS, assignments

    for name in assignments():
        markers.validate(nbformat.read(SOLUTIONS / name / f"{name}.ipynb", as_version=4), name)


def test_one_marker_grammar_is_used_everywhere():
    import autograder.prepare as prepare
    import autograder.release as release
    from autograder import markers

    assert not hasattr(prepare, "HIDDEN")
    for module in (prepare, release):
        text = Path(module.__file__).read_text()
        assert "HIDDEN TESTS" not in text, f"{module.__name__} has its own marker grammar"
    config = (ROOT / "autograder" / "nbgrader_config.py").read_text()
    assert f'begin_test_delimeter = "{markers.BEGIN_HIDDEN}"' in config
    assert f'end_test_delimeter = "{markers.END_HIDDEN}"' in config


def _sandbox(**kw):
    from autograder.sandbox import Limits, Sandbox

    return Sandbox.start(Limits(use_bwrap=False, warm=(), **kw))


def test_sandbox_close_is_idempotent_and_leaves_others_fds_alone():
    from autograder.execute import WarmPool
    from autograder.sandbox import Limits

    pool = WarmPool(Limits(use_bwrap=False, warm=()), pending=2)
    pool.refill()
    sb = pool.take()        # the caller owns it now, as execute.run does
    sb.close()
    r, w = os.pipe()        # reuses the closed descriptor numbers
    try:
        pool.close()        # closed the taken sandbox a second time, closing r or w
        sb.close()
        os.fstat(r)
        os.fstat(w)
    finally:
        for fd in (r, w):
            try:
                os.close(fd)
            except OSError:
                pass
    assert pool.all == []


def test_warm_pool_closes_the_spares_it_still_owns():
    from autograder.execute import WarmPool
    from autograder.sandbox import Limits

    pool = WarmPool(Limits(use_bwrap=False, warm=()), pending=2)
    pool.refill()
    spare = pool.local.spare
    pool.close()
    assert spare.proc.poll() is not None and not spare.scratch.exists()


def test_sandbox_starts_without_preexec_fn_and_applies_the_limits(monkeypatch):
    import resource

    seen = {}
    real = subprocess.Popen

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", spy)
    sb = _sandbox(memory=2 * 2**30 + 4096, cpu=123, files=77, fsize=5 * 2**20,
                  use_cgroups=False)   # the rlimit fallback (tests/test_limits.py: cgroups)
    try:
        assert seen.get("preexec_fn") is None, "preexec_fn is unsafe in worker threads"
        assert seen.get("start_new_session") or seen.get("process_group") == 0
        events, _ = sb.read_events(30)   # the runner says ready once its imports are done
        assert any(e.get("ev") == "ready" for e in events), events
        pid = sb.proc.pid
        assert resource.prlimit(pid, resource.RLIMIT_AS) == (2 * 2**30 + 4096,) * 2
        assert resource.prlimit(pid, resource.RLIMIT_CPU) == (123, 123)
        assert resource.prlimit(pid, resource.RLIMIT_NOFILE) == (77, 77)
        assert resource.prlimit(pid, resource.RLIMIT_FSIZE) == (5 * 2**20,) * 2
        assert resource.prlimit(pid, resource.RLIMIT_CORE) == (0, 0)
        assert resource.prlimit(pid, resource.RLIMIT_NPROC)[0] > 0
        assert os.getpgid(pid) == pid   # its own session: killpg reaches what it starts
    finally:
        sb.close()


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_collect_removes_its_zip_extraction_folder(tmp_path, monkeypatch):
    import tempfile

    from autograder.collect import CollectError, collect

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    nb = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]))
    good = _zip(tmp_path / "subs.zip", {"alice/psA.ipynb": nb.encode(),
                                        "bob/psA.ipynb": b"{not json"})
    subs = collect(good, "psA")
    assert [s.student for s in subs] == ["alice", "bob"]
    assert subs[0].notebook is not None and subs[1].problem
    assert list(temp.iterdir()) == [], "the extraction folder was left behind"
    bad = _zip(tmp_path / "bad.zip", {"alice/psA.ipynb": nb.encode(), "../evil.ipynb": b"x"})
    with pytest.raises(CollectError, match="unsafe"):
        collect(bad, "psA")
    assert list(temp.iterdir()) == [], "the extraction folder was left behind after an error"


def test_require_sandbox_turns_a_missing_bwrap_into_a_failure(monkeypatch):
    import shutil

    import conftest

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("INFOLOSS_REQUIRE_SANDBOX", raising=False)
    with pytest.raises(pytest.skip.Exception):
        conftest.require_bwrap()
    monkeypatch.setenv("INFOLOSS_REQUIRE_SANDBOX", "1")
    with pytest.raises(pytest.fail.Exception, match="bubblewrap"):
        conftest.require_bwrap()


def test_ci_requires_the_sandbox_and_the_browser():
    run = (ROOT / ".ci" / "run").read_text()
    assert "INFOLOSS_REQUIRE_SANDBOX=1" in run and "INFOLOSS_REQUIRE_BROWSER=1" in run
    assert "bubblewrap" in (ROOT / ".ci" / "apt-packages.txt").read_text()


@pytest.mark.slow
def test_feedback_page_of_a_failing_submission_reads_plain_in_the_browser(chromium_browser,
                                                                          tmp_path):
    """The page a student opens: the text the browser shows has no escape codes and no
    path of the grading machine's course checkout, and starts the failure with its message."""
    from autograder.feedback import render
    from bookcheck import browser

    output, error = _ipython_traceback()
    page_file = tmp_path / "ps01_information.html"
    page_file.write_text(render("ps01_information", _failing_row(output, error)))
    context = browser.offline_context(chromium_browser)
    try:
        page = context.new_page()
        page.goto(page_file.as_uri())
        text = page.inner_text("body")
    finally:
        context.close()
    assert "AssertionError" in text and "infoloss/testing.py" in text
    assert ESC not in text and "[0;3" not in text and str(ROOT) not in text
    assert text.index("entropy([0.5, 0.5])") < text.index("Traceback")


def test_release_refuses_hand_written_hidden_tests_beside_a_judge_spec(tmp_path):
    """Issue 14: a hidden check is written once, as a probe of judge.py; a hand-written
    hidden-test block next to it would be a second copy that can drift."""
    from autograder import release as rel

    text = (rel.SOLUTIONS / "ps01_information" / "ps01_information.py").read_text()
    anchor = 'check_raises(ValueError, self_information, -0.1, match="probab")\n'
    bad = tmp_path / "ps01_information.py"
    bad.write_text(text.replace(anchor, anchor + "### BEGIN HIDDEN TESTS\n"
                                "check_close(self_information(0.25), 2.0)\n"
                                "### END HIDDEN TESTS\n"))
    with pytest.raises(rel.ReleaseError, match=r"test_self_information holds hand-written "
                                               r"hidden tests.*judge\.py"):
        rel.notebook_from_percent(bad)


def test_release_generates_each_judged_cells_hidden_block_from_the_spec():
    from autograder import release as rel
    from autograder.checks import generated_for
    from autograder.markers import split_hidden
    from autograder.spec import load_spec

    for name in rel.assignments():
        spec = load_spec(name)
        nb = rel.notebook_from_percent(rel.SOLUTIONS / name / f"{name}.py")
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not (meta.get("grade") and not meta.get("solution") and cell.cell_type == "code"):
                continue
            hidden = split_hidden(cell.source)[1]
            if spec is not None and meta["grade_id"] in spec.cells:
                assert generated_for(hidden) == (name, meta["grade_id"]), (name, meta)
            else:
                assert not hidden.strip(), (name, meta["grade_id"])
