"""A small real class for the export and report tests: four ps01 submissions graded once.

``solution`` (every autograded point), ``untouched`` (the release as handed out: every
answer raises NotImplementedError; not called ``release``, a folder name collect skips),
``half`` (two plausible mistakes: ``log(1 - q)`` for ``log1p(-q)`` and H(X|Y) for H(Y|X))
and ``broken`` (an empty file: malformed), in nbgrader's submitted/ layout with
``timestamp.txt`` files, graded by the real grader (the sandbox where bubblewrap is
installed), then given a due date with nbgrader's own ``nbgrader db assignment add
--duedate``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import corpus as C  # noqa: E402

from autograder import ROOT  # noqa: E402

A = C.A
DUE = datetime(2026, 10, 1, 12, 0, 0)     # UTC
LATE = {"solution": timedelta(hours=-3),  # early
        "untouched": timedelta(minutes=30),
        "half": timedelta(hours=26, seconds=1)}   # a second started day: 2 x 10%
# nbgrader's timestamp format (``%Y-%m-%d %H:%M:%S.%f %Z``), here written in another zone
ZONE, OFFSET = "Europe/Berlin", timedelta(hours=2)   # CEST on 1 October 2026


def notebooks() -> dict[str, bytes]:
    half = C.build({
        "bernoulli_entropy": C.UNSTABLE,
        "conditional_entropy": C.answers()["conditional_entropy"].replace(
            "p_x = joint.sum(axis=1, keepdims=True)", "p_x = joint.sum(axis=0, keepdims=True)")})
    return {"solution": nbformat.writes(C.build()).encode(),
            "untouched": nbformat.writes(C.released()).encode(),
            "half": nbformat.writes(half).encode(),
            "broken": b""}


def cli(*args: str, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="session")
def small_class(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("small_class")
    subs = tmp / "submitted"
    for student, data in notebooks().items():
        folder = subs / student / A
        folder.mkdir(parents=True)
        (folder / f"{A}.ipynb").write_bytes(data)
        if student in LATE:
            local = DUE + LATE[student] + OFFSET
            (folder / "timestamp.txt").write_text(
                local.strftime("%Y-%m-%d %H:%M:%S.%f ") + ZONE + "\n")
    course = tmp / "course"
    sandbox = [] if shutil.which("bwrap") else ["--no-sandbox"]   # trusted notebooks
    cli("grade", A, str(subs), "--course", str(course), "--workers", "2",
        "--cell-timeout", "20", "--probe-timeout", "10", "--timeout", "120", *sandbox)
    url = f"sqlite:///{course / 'gradebook.db'}"
    nbg = Path(sys.executable).parent / "nbgrader"
    proc = subprocess.run([sys.executable, str(nbg), "db", "assignment", "add", A,
                           f"--duedate={DUE:%Y-%m-%d %H:%M:%S} UTC", f"--db={url}"],
                          cwd=tmp, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"tmp": tmp, "subs": subs, "course": course, "url": url}
