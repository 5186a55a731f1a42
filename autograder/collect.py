"""Collect: find the submissions of one assignment and read them, flagging malformed ones.

Accepted layouts (``A`` is the assignment name)::

    SUBMISSIONS/<student_id>/A.ipynb             a plain folder per student
    SUBMISSIONS/<student_id>/A/A.ipynb           nbgrader's submitted/ folder itself
    SUBMISSIONS/submitted/<student_id>/A/A.ipynb a course folder
    SUBMISSIONS.zip                              a zip of any of these

A notebook that is empty, not JSON, not a notebook or has no cells is *malformed*: it
scores 0 with that status and reason, and never stops the batch.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}")
MAX_ZIP_BYTES = 1 << 30
MAX_NOTEBOOK_BYTES = 50 << 20


@dataclass
class Submission:
    student: str
    path: Path
    notebook: nbformat.NotebookNode | None = None
    problem: str | None = None   # why it is malformed
    digest: str = ""


class CollectError(RuntimeError):
    pass


def _extract(zip_path: Path, dest: Path) -> Path:
    total = 0
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            name = Path(info.filename)
            if name.is_absolute() or ".." in name.parts:
                raise CollectError(f"{zip_path}: unsafe path {info.filename!r} in the zip")
            total += info.file_size
            if total > MAX_ZIP_BYTES:
                raise CollectError(f"{zip_path}: more than {MAX_ZIP_BYTES >> 20} MiB unpacked")
        zf.extractall(dest)
    return dest


def _find(root: Path, assignment: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    patterns = [f"*/{assignment}.ipynb", f"*/{assignment}/{assignment}.ipynb",
                f"submitted/*/{assignment}/{assignment}.ipynb"]
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            rel = path.relative_to(root).parts
            student = rel[1] if rel[0] == "submitted" and len(rel) == 4 else rel[0]
            if student in ("submitted", "autograded", "feedback", "source", "release"):
                continue
            found.setdefault(student, path)
    if not found:
        # a zip (or folder) that wraps everything in one top-level folder
        subdirs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
        if len(subdirs) == 1:
            return _find(subdirs[0], assignment)
    return found


def read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, str | None, str]:
    """(notebook, problem, sha256): problem says why it is malformed, else None."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read the file: {exc.strerror}", ""
    digest = hashlib.sha256(data).hexdigest()
    if not data.strip():
        return None, "empty file", digest
    if len(data) > MAX_NOTEBOOK_BYTES:
        return None, f"file larger than {MAX_NOTEBOOK_BYTES >> 20} MiB", digest
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"not valid JSON ({str(exc)[:80]})", digest
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        return None, "not a notebook (no list of cells)", digest
    if not raw["cells"]:
        return None, "the notebook has no cells", digest
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 (nbformat raises many kinds)
        return None, f"not a readable notebook ({type(exc).__name__})", digest
    for cell in nb.cells:
        if not isinstance(cell.get("source"), str) or cell.get("cell_type") not in (
                "code", "markdown", "raw"):
            return None, "a cell has no source or an unknown type", digest
    return nb, None, digest


def collect(submissions: Path, assignment: str,
            workdir: Path | None = None) -> list[Submission]:
    """Every student's submission of ``assignment``, sorted by student id.

    A zip is unpacked into ``workdir`` (default: a temporary folder, removed before this
    returns or raises: every notebook is read into memory first; a ``path`` then names the
    member inside the zip).
    """
    submissions = Path(submissions)
    if not submissions.exists():
        raise CollectError(f"{submissions} does not exist")
    if not submissions.is_file():
        return _read_all(submissions, assignment, submissions)
    if not zipfile.is_zipfile(submissions):
        raise CollectError(f"{submissions} is neither a folder nor a .zip")
    if workdir is not None:
        return _read_all(_extract(submissions, workdir), assignment, submissions)
    tmp = Path(tempfile.mkdtemp(prefix="autograder-zip-"))
    try:
        return _read_all(_extract(submissions, tmp), assignment, submissions, shown=tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _read_all(root: Path, assignment: str, origin: Path,
              shown: Path | None = None) -> list[Submission]:
    out = []
    for student, path in sorted(_find(root, assignment).items()):
        if not STUDENT_ID.fullmatch(student):
            continue
        nb, problem, digest = read_notebook(path)
        where = origin / path.relative_to(shown) if shown is not None else path
        out.append(Submission(student, where, nb, problem, digest))
    return out
