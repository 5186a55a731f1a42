"""Collect: find the submissions of one assignment and read them; lose none of them.

Accepted layouts (``A`` is the assignment name)::

    SUBMISSIONS/<student_id>/A.ipynb             a plain folder per student
    SUBMISSIONS/<student_id>/A/A.ipynb           nbgrader's submitted/ folder itself
    SUBMISSIONS/submitted/<student_id>/A/A.ipynb a course folder
    SUBMISSIONS.zip                              a zip of any of these (maybe in one folder)

A student id is the folder's name as given (any Unicode, spaces, quotes, long names),
NFC-normalised so that a folder made on macOS (NFD) gets the same id; :func:`safe_name`
maps it to a file name. Every ``.ipynb`` under a student's folder is accounted for:

* ``A.ipynb`` where a layout expects it is graded; the other notebooks next to it are
  named in that submission's notes (log and feedback);
* a folder with no ``A.ipynb`` where expected but some other notebook (a wrong name, one
  nested deeper, another assignment's notebook) gives a *malformed* submission naming
  what was found, as do a notebook that is empty, not JSON, not a notebook or has no
  cells, a symbolic link that points outside the submissions folder (refused, not read),
  and two folders that give the same id (NFC/NFD spellings, or a difference of letter
  case only, which a case-insensitive disk or LMS would merge): each is listed, never
  graded, and the batch goes on;
* a notebook outside every student's folder has no student to score: it is an
  :class:`Ignored` entry, which ``grade`` prints.

Other assignments' notebooks in their own nbgrader folders (``<id>/B/B.ipynb``) are not
submissions of ``A`` and are left out; so are nbgrader's own folders (``autograded/``,
``feedback/``, ``source/``, ``release/``) and hidden or ``__MACOSX`` folders.
Notebooks in nbformat 3 or an older 4.x are converted to 4.5, with a note.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .scratch import make_scratch

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}")
MAX_ZIP_BYTES = 1 << 30
MAX_NOTEBOOK_BYTES = 50 << 20
NBGRADER_FOLDERS = ("autograded", "feedback", "source", "release")
CHECKPOINTS = ".ipynb_checkpoints"
# nbgrader's gradebook keeps a student id in String(128) (nbgrader.api.Student.id);
# PostgreSQL refuses a longer one at insert, which would stop the whole batch there.
MAX_ID_CHARS = 128
OUTSIDE = "a symbolic link to a path outside the submissions folder (refused, not read)"
# names Windows will not create, whatever the extension (a feedback folder must copy anywhere)
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
             *(f"LPT{i}" for i in range(10))}


@dataclass(frozen=True)
class Ignored:
    """A notebook that no row grades: outside every student's folder, or next to the
    student's graded notebook."""
    path: Path
    reason: str


@dataclass
class Submission:
    student: str
    path: Path
    notebook: nbformat.NotebookNode | None = None
    problem: str | None = None   # why it is malformed (not graded)
    digest: str = ""
    notes: list[str] = field(default_factory=list)   # what the log should say besides
    extra: list[Ignored] = field(default_factory=list)   # other notebooks next to it


@dataclass
class Intake:
    submissions: list[Submission]
    ignored: list[Ignored]   # outside every student's folder

    @property
    def left_out(self) -> list[Ignored]:
        """Every notebook found and not graded that no malformed row stands for."""
        return self.ignored + [e for s in self.submissions for e in s.extra]


class CollectError(RuntimeError):
    pass


def student_id(folder_name: str) -> str:
    return unicodedata.normalize("NFC", folder_name)


def safe_name(student_id: str) -> str:
    """A file or folder name for ``student_id``, the same on every run and machine.

    An id that is already a plain name (ASCII letters, digits, ``_.@+-``, starting with a
    letter or digit, at most 100 characters) is used as it is, as nbgrader does; any other
    id becomes an ASCII slug of it plus 12 hex digits of the SHA-256 of its NFC form, so
    that different ids never share a folder and no name can climb out of one.
    """
    nid = unicodedata.normalize("NFC", student_id)
    if (SAFE_NAME.fullmatch(nid) and not nid.endswith(".")
            and nid.split(".")[0].upper() not in _RESERVED):
        return nid
    ascii_ = unicodedata.normalize("NFKD", nid).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "_", ascii_).strip("_")[:40].rstrip("_")
    digest = hashlib.sha256(nid.encode("utf-8")).hexdigest()[:12]
    return f"{slug}-{digest}" if slug else f"id-{digest}"


def _extract(zip_path: Path, dest: Path) -> Path:
    """Unpack ``zip_path`` into ``dest``; its symbolic links become links again (the walk
    then refuses those that point outside), never files holding the target's name."""
    total = 0
    links = []
    with zipfile.ZipFile(zip_path) as zf:
        members = []
        for info in zf.infolist():
            name = Path(info.filename)
            if name.is_absolute() or ".." in name.parts:
                raise CollectError(f"{zip_path}: unsafe path {info.filename!r} in the zip")
            total += info.file_size
            if total > MAX_ZIP_BYTES:
                raise CollectError(f"{zip_path}: more than {MAX_ZIP_BYTES >> 20} MiB unpacked")
            if stat.S_ISLNK(info.external_attr >> 16):
                links.append((info.filename, zf.read(info).decode("utf-8", "replace")))
            else:
                members.append(info)
        zf.extractall(dest, members)
    for name, target in links:   # after every file: nothing is ever written through a link
        link = dest / name.rstrip("/")
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.symlink(target, link)
        except OSError:
            pass   # a member of that name exists: the file wins
    return dest


def _inside(path: Path, root_real: Path) -> bool:
    real = Path(os.path.realpath(path))
    return real == root_real or root_real in real.parents


def _notebooks(folder: Path, root_real: Path) -> list[tuple[Path, bool]]:
    """Every ``.ipynb`` under ``folder`` and every link out of the submissions folder,
    as (path, points outside). Links inside are followed once (no loops)."""
    found: list[tuple[Path, bool]] = []
    seen: set[str] = set()
    stack = [folder]
    while stack:
        here = stack.pop()
        real = os.path.realpath(here)
        if real in seen:
            continue
        seen.add(real)
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink() and not _inside(path, root_real):
                found.append((path, True))
            elif entry.is_dir():
                stack.append(path)
            elif entry.name.endswith(".ipynb"):
                found.append((path, False))
    return sorted(found)


def _why_misplaced(rel: Path, assignment: str, outside: bool) -> str:
    if outside:
        return OUTSIDE
    if CHECKPOINTS in rel.parts:
        return "a Jupyter checkpoint copy"
    if rel.name == f"{assignment}.ipynb":
        return "nested deeper than the layouts allow"
    if len(rel.parts) == 2 and rel.parts[0] == assignment:
        return f"a wrong name (expected {assignment}.ipynb)"
    if len(rel.parts) == 1:
        return "another notebook's name (a wrong name or another assignment)"
    return f"not where {assignment}.ipynb is expected"


def _other_assignment(rel: Path, assignment: str) -> bool:
    """``B/B.ipynb``: another assignment's notebook in its own nbgrader folder."""
    return (len(rel.parts) == 2 and rel.parts[0] != assignment
            and rel.name == f"{rel.parts[0]}.ipynb")


def _quiet(rel: Path) -> bool:
    """Files nobody hands in on purpose: checkpoints and hidden files."""
    return any(p == CHECKPOINTS or p.startswith(".") for p in rel.parts)


def _student(folder: Path, root_real: Path, assignment: str,
             show) -> Submission | Ignored | None:
    """The submission in one student's folder, or what to list instead, or None (no
    notebook of ``assignment`` at all: this student did not hand it in)."""
    sid = student_id(folder.name)
    if len(sid) > MAX_ID_CHARS:
        return Ignored(show(folder), (
            f"the folder name, the student id, is {len(sid)} characters long; the gradebook "
            f"holds ids of at most {MAX_ID_CHARS}: not graded (rename the folder to the "
            "student's id and grade again)"))
    if folder.is_symlink() and not _inside(folder, root_real):
        return Submission(sid, show(folder), problem=f"the folder is {OUTSIDE}")
    found = [(p.relative_to(folder), out) for p, out in _notebooks(folder, root_real)]
    if not found:
        return Ignored(show(folder), "a folder with no .ipynb file")
    accepted = [Path(f"{assignment}.ipynb"), Path(assignment) / f"{assignment}.ipynb"]
    chosen = next((rel for rel in accepted if any(rel == r for r, _ in found)), None)
    if chosen is None:
        misplaced = [(r, o) for r, o in found if not _other_assignment(r, assignment)]
        if not misplaced:
            return None
        listed = "; ".join(f"{r} ({_why_misplaced(r, assignment, o)})" for r, o in misplaced)
        return Submission(sid, show(folder / misplaced[0][0]), problem=(
            f"no {assignment}.ipynb where expected ({assignment}.ipynb or "
            f"{assignment}/{assignment}.ipynb in the student's folder); found {listed}: "
            "not graded (rename or move the file and grade again)"))
    sub = Submission(sid, show(folder / chosen))
    if dict(found)[chosen]:
        sub.problem = f"{chosen} is {OUTSIDE}"
    else:
        sub.notebook, sub.problem, sub.digest, notes = _read(folder / chosen)
        sub.notes += notes
    for rel, out in found:
        if rel != chosen and not _quiet(rel) and not _other_assignment(rel, assignment):
            why = _why_misplaced(rel, assignment, out)
            sub.extra.append(Ignored(show(folder / rel), f"{why}; not graded, {chosen} was"))
            sub.notes.append(f"also found {rel} ({why}): not graded; {chosen} was")
    return sub


def _has_layout(root: Path, assignment: str) -> bool:
    return any(any(root.glob(p)) for p in (
        f"*/{assignment}.ipynb", f"*/{assignment}/{assignment}.ipynb",
        f"submitted/*/{assignment}/{assignment}.ipynb"))


def _skipped_folder(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX" or name in NBGRADER_FOLDERS


def _scan(root: Path, assignment: str, show) -> Intake:
    # a zip (or folder) that wraps everything in one top-level folder
    while not _has_layout(root, assignment):
        subdirs = [p for p in root.iterdir() if p.is_dir() and not _skipped_folder(p.name)
                   and not p.name.startswith("_")]
        if len(subdirs) != 1 or not _has_layout(subdirs[0], assignment):
            break
        root = subdirs[0]
    root_real = Path(os.path.realpath(root))
    folders: list[Path] = []
    ignored: list[Ignored] = []
    for entry in sorted(root.iterdir()):
        if entry.name == "submitted" and entry.is_dir() and _inside(entry, root_real):
            folders += sorted(p for p in entry.iterdir() if p.is_dir())
        elif _skipped_folder(entry.name):
            continue
        elif entry.is_dir():
            folders.append(entry)
        elif entry.name.endswith(".ipynb"):
            ignored.append(Ignored(show(entry), "not inside a student's folder (expected "
                                   f"<student_id>/{assignment}.ipynb): nobody to score"))
    subs: list[Submission] = []
    for folder in folders:
        got = _student(folder, root_real, assignment, show)
        if isinstance(got, Ignored):
            ignored.append(got)
        elif got is not None:
            subs.append(got)
    return Intake(_clashes(subs, show(root)), ignored)


def _clashes(subs: list[Submission], shown_root: Path) -> list[Submission]:
    """One submission per id; two folders whose ids are equal, or equal but for letter
    case, are both reported (one row per distinct id) and neither is graded."""
    groups: dict[str, list[Submission]] = {}
    for sub in subs:
        groups.setdefault(unicodedata.normalize("NFC", sub.student.casefold()), []).append(sub)
    out = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        named = " and ".join(ascii(str(s.path.relative_to(shown_root))) for s in group)
        problem = (f"{len(group)} folders give this student id (their names differ only in "
                   f"Unicode normalisation or letter case): {named}; neither is graded "
                   "(rename or merge them and grade again)")
        by_id: dict[str, Submission] = {}
        for sub in group:
            by_id.setdefault(sub.student, Submission(sub.student, sub.path, problem=problem,
                                                     digest=sub.digest))
        out += by_id.values()
    return sorted(out, key=lambda s: s.student)


def _read(path: Path) -> tuple[nbformat.NotebookNode | None, str | None, str, list[str]]:
    """(notebook, problem, sha256, notes): problem says why it is malformed, else None."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read the file: {exc.strerror}", "", []
    digest = hashlib.sha256(data).hexdigest()
    if not data.strip():
        return None, "empty file", digest, []
    if len(data) > MAX_NOTEBOOK_BYTES:
        return None, f"file larger than {MAX_NOTEBOOK_BYTES >> 20} MiB", digest, []
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"not valid JSON ({str(exc)[:80]})", digest, []
    if not isinstance(raw, dict):
        return None, "not a notebook (no list of cells)", digest, []
    major, minor = raw.get("nbformat"), raw.get("nbformat_minor", 0)
    if isinstance(major, int) and major < 4:   # cells live in worksheets before v4
        sheets = raw.get("worksheets")
        if not isinstance(sheets, list) or not all(
                isinstance(w, dict) and isinstance(w.get("cells", []), list) for w in sheets):
            return None, "not a notebook (no list of cells)", digest, []
        cells = [c for w in sheets for c in w.get("cells", [])]
    else:
        cells = raw.get("cells")
        if not isinstance(cells, list):
            return None, "not a notebook (no list of cells)", digest, []
    if not cells:
        return None, "the notebook has no cells", digest, []
    try:
        nb = nbformat.convert(nbformat.reads(data.decode("utf-8"), as_version=nbformat.NO_CONVERT),
                              4)
    except Exception as exc:  # noqa: BLE001 (nbformat raises many kinds)
        return None, f"not a readable notebook ({type(exc).__name__})", digest, []
    for cell in nb.cells:
        if not isinstance(cell.get("source"), str) or cell.get("cell_type") not in (
                "code", "markdown", "raw"):
            return None, "a cell has no source or an unknown type", digest, []
    notes = []
    if (major, minor) != (4, 5) and isinstance(major, int) and major <= 4:
        taken = {c.get("id") for c in nb.cells}
        for i, cell in enumerate(nb.cells):   # cell ids (4.5) made the same way every time
            if not cell.get("id"):
                cell["id"] = next(f"cell-{i}-{k}" for k in range(len(nb.cells) + 1)
                                  if f"cell-{i}-{k}" not in taken)
                taken.add(cell["id"])
        nb.nbformat, nb.nbformat_minor = 4, 5
        notes.append(f"notebook format {major}.{minor} converted to 4.5 before grading")
    return nb, None, digest, notes


def read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, str | None, str]:
    """(notebook, problem, sha256): problem says why it is malformed, else None."""
    nb, problem, digest, _ = _read(path)
    return nb, problem, digest


def intake(submissions: Path, assignment: str, workdir: Path | None = None) -> Intake:
    """Every student's submission of ``assignment`` (sorted by id) and every notebook that
    belongs to no student, from a folder or a zip.

    A zip is unpacked into ``workdir`` (default: a scratch folder, removed before this
    returns or raises: every notebook is read into memory first; a ``path`` then names the
    member inside the zip).
    """
    submissions = Path(submissions)
    if not submissions.exists():
        raise CollectError(f"{submissions} does not exist")
    if not submissions.is_file():
        return _scan(submissions, assignment, lambda p: p)
    if not zipfile.is_zipfile(submissions):
        raise CollectError(f"{submissions} is neither a folder nor a .zip")
    if workdir is not None:
        return _scan(_extract(submissions, workdir), assignment, lambda p: p)
    tmp = make_scratch("autograder-zip-")
    try:
        return _scan(_extract(submissions, tmp), assignment,
                     lambda p: submissions / p.relative_to(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def collect(submissions: Path, assignment: str,
            workdir: Path | None = None) -> list[Submission]:
    """The submissions of :func:`intake` (which also lists notebooks nobody owns)."""
    return intake(submissions, assignment, workdir).submissions
