"""Similarity: which students' answers are suspiciously alike (``python -m autograder similarity``).

The fingerprints are those of MOSS (winnowing, Schleimer, Wilkerson and Aiken 2003) as the
``copydetect`` library computes them: the code is tokenised by Pygments, every name becomes
one placeholder letter, strings another, comments and whitespace are dropped, and the
k-grams of what remains are hashed and winnowed. So renaming variables, reordering
functions, reformatting or adding comments does not hide a copy.

Only the students' *answers* are compared: the solution cells of the submission, matched to
the instructor's as the grader matches them (:func:`autograder.prepare.match_cells`), and
the code cells a student added. Every fingerprint of the released notebook (stubs,
signatures, docstrings, the locked cells) is removed first, so starter code that everyone
shares counts for nothing: two untouched releases score 0.

Each answer cell is cut into units, one per top-level function (plus the cell's other
code), and every unit of one student is compared with every unit of the other, so a
function moved to another cell is still found. A pair's score is the mean of the two
sides' shares: the share of a student's fingerprinted answer tokens that also occur in the
other's answers. A score is a reason to read two notebooks, never a verdict.
"""

from __future__ import annotations

import ast
import hashlib
import html
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from . import EXERCISES
from .collect import collect
from .prepare import instructor_cells, match_cells

K = 25        # characters of filtered code in a k-gram (copydetect's noise threshold)
WINDOW = 6    # winnowing window: every match of K + WINDOW - 1 characters is found
DEFAULT_THRESHOLD = 0.5
EXTRA = "(added cells)"


@dataclass(frozen=True)
class Unit:
    """One function of a student's answer (or the rest of an answer cell)."""

    cell: str
    name: str
    source: str

    @property
    def label(self) -> str:
        return f"{self.cell}: {self.name}"


@dataclass
class _Print:
    unit: Unit
    fp: Fingerprint       # template fingerprints removed
    coverage: float       # answer tokens that can match (after removing the template)


@dataclass
class UnitMatch:
    """A unit of the left student and the unit of the right student it shares most with."""

    left: Unit
    right: Unit
    shared: int                      # tokens of ``left`` found in ``right``
    left_share: float
    right_share: float
    left_slices: np.ndarray = field(repr=False)
    right_slices: np.ndarray = field(repr=False)


@dataclass
class PairResult:
    left: str
    right: str
    score: float          # mean of the two shares, 0..1
    left_share: float     # of left's answer tokens, the share found in right's answers
    right_share: float
    shared: int           # answer tokens in common (left side)
    matches: list[UnitMatch]


@dataclass
class SimilarityReport:
    assignment: str
    students: list[str]                  # compared
    skipped: list[tuple[str, str]]       # (student, why): malformed or nothing answered
    pairs: list[PairResult]              # every pair, highest score first
    threshold: float = DEFAULT_THRESHOLD

    @property
    def flagged(self) -> list[PairResult]:
        return [p for p in self.pairs if p.score >= self.threshold]


def _split(cell: str, source: str) -> list[Unit]:
    """A cell's top-level functions and classes as units, the rest as one more unit."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [Unit(cell, "(whole cell)", source)]
    lines = source.splitlines(keepends=True)
    units, rest = [], []
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        text = "".join(lines[start - 1:node.end_lineno])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            units.append(Unit(cell, node.name, text))
        else:
            rest.append(text)
    if any(t.strip() for t in rest):
        units.append(Unit(cell, "(other code)", "".join(rest)))
    return units


def answer_units(source_nb: nbformat.NotebookNode,
                 student_nb: nbformat.NotebookNode) -> list[Unit]:
    """The student's answers: matched solution code cells and added code cells, as units."""
    inst = instructor_cells(source_nb)
    units: list[Unit] = []
    for cell, j in zip(student_nb.cells, match_cells(source_nb, student_nb, []), strict=True):
        if cell.cell_type != "code":
            continue
        if j is None:
            units += _split(EXTRA, cell.source)
        elif inst[j].solution:
            units += _split(inst[j].grade_id, cell.source)
    return units


def _template_code(release_nb: nbformat.NotebookNode) -> str:
    return "\n\n".join(c.source for c in release_nb.cells if c.cell_type == "code")


def _kgram_hashes(filtered: str) -> np.ndarray:
    """64-bit hashes of every k-gram: BLAKE2b, not Python's ``hash`` (which copydetect uses
    and which changes from one process to the next), so the same class always gives the
    same report."""
    return np.array([int.from_bytes(hashlib.blake2b(filtered[i:i + K].encode(),
                                                    digest_size=8).digest(), "little",
                                    signed=True)
                     for i in range(len(filtered) - K + 1)], dtype=np.int64)


def template_hashes(release_nb: nbformat.NotebookNode) -> set[int]:
    """Every k-gram hash of the released notebook's code (not only the winnowed ones: a
    stub's own winnowing window may pick k-grams the template's window did not)."""
    from copydetect.utils import filter_code

    filtered, _ = filter_code(_template_code(release_nb), "template.py", "python")
    return {int(h) for h in _kgram_hashes(filtered)}


@dataclass
class Fingerprint:
    """What ``copydetect.compare_files`` reads of a ``CodeFingerprint``, built here so
    that the hashes are stable and the template's are removed before winnowing counts."""

    raw_code: str
    filtered_code: str
    offsets: np.ndarray
    hashes: set[int]
    hash_idx: dict[int, list[int]]
    token_coverage: float
    k: int = K


def _fingerprint(code: str, boilerplate: set[int]) -> Fingerprint:
    from copydetect.utils import filter_code, get_token_coverage, winnow

    filtered, offsets = filter_code(code, "answer.py", "python")
    all_hashes = _kgram_hashes(filtered)
    if len(all_hashes) == 0:
        return Fingerprint(code, filtered, offsets, set(), {}, 0.0)
    hashes, idx = winnow(all_hashes, WINDOW, remove_duplicates=False)
    hash_idx: dict[int, list[int]] = {}
    for h, i in zip(hashes.tolist(), idx.tolist(), strict=True):
        if h not in boilerplate:
            hash_idx.setdefault(h, []).append(i)
    return Fingerprint(code, filtered, offsets, set(hash_idx), hash_idx,
                       float(get_token_coverage(hash_idx, K, len(filtered))))


def _prints(units: list[Unit], boilerplate: set[int]) -> list[_Print]:
    out = []
    for u in units:
        fp = _fingerprint(u.source, boilerplate)
        if fp.token_coverage > 0:
            out.append(_Print(u, fp, float(fp.token_coverage)))
    return out


def _best(mine: list[_Print], theirs: list[_Print]) -> tuple[float, list[UnitMatch]]:
    """Share of ``mine``'s tokens found in ``theirs`` and, per unit, its best match."""
    from copydetect import compare_files

    total = sum(p.coverage for p in mine)
    found = 0.0
    matches = []
    for a in mine:
        best = None
        for b in theirs:
            if not a.fp.hashes & b.fp.hashes:
                continue
            shared, (sa, sb), (sl_a, sl_b) = compare_files(a.fp, b.fp)
            if shared and (best is None or shared > best.shared):
                best = UnitMatch(a.unit, b.unit, int(shared), min(float(sa), 1.0),
                                 min(float(sb), 1.0), sl_a.astype(int), sl_b.astype(int))
        if best is not None:
            found += min(best.shared, a.coverage)
            matches.append(best)
    return (found / total if total else 0.0), matches


def compare_class(assignment: str, submissions: Path, source_nb: nbformat.NotebookNode,
                  release_nb: nbformat.NotebookNode,
                  threshold: float = DEFAULT_THRESHOLD) -> SimilarityReport:
    """Compare every pair of submissions of ``assignment`` found in ``submissions``."""
    boilerplate = template_hashes(release_nb)
    prints: dict[str, list[_Print]] = {}
    skipped: list[tuple[str, str]] = []
    for sub in collect(Path(submissions), assignment):
        if sub.problem:
            skipped.append((sub.student, f"malformed: {sub.problem}"))
            continue
        try:
            units = answer_units(source_nb, sub.notebook)
        except Exception as exc:  # noqa: BLE001 (one odd notebook must not stop the report)
            skipped.append((sub.student, f"could not read its cells ({type(exc).__name__})"))
            continue
        p = _prints(units, boilerplate)
        prints[sub.student] = p
        if not p:
            skipped.append((sub.student, "no answer code beyond the released template "
                            "(compared, scores 0)"))
    pairs = []
    for left, right in itertools.combinations(sorted(prints), 2):
        share_l, matches = _best(prints[left], prints[right])
        share_r, _ = _best(prints[right], prints[left])
        matches.sort(key=lambda m: m.shared, reverse=True)
        pairs.append(PairResult(left, right, (share_l + share_r) / 2, share_l, share_r,
                                sum(m.shared for m in matches), matches))
    pairs.sort(key=lambda p: (-p.score, p.left, p.right))
    return SimilarityReport(assignment, sorted(prints), skipped, pairs, threshold)


def text_summary(report: SimilarityReport, top: int = 10) -> str:
    """What the command prints: the pairs above the threshold (at least the top few)."""
    lines = [f"{report.assignment}: {len(report.students)} submissions compared, "
             f"{len(report.pairs)} pairs, {len(report.flagged)} at or above the threshold "
             f"{report.threshold:.2f}"]
    for student, why in report.skipped:
        lines.append(f"  note: {student}: {why}")
    shown = report.flagged or report.pairs[:top]
    if shown:
        width = max(len(p.left) for p in shown)
        lines.append(f"  {'score':>5}  {'left':<{width}}  right  (shares; most shared units)")
    for p in shown[:max(top, len(report.flagged))]:
        units = ", ".join(f"{m.left.label} ~ {m.right.label}" for m in p.matches[:3])
        lines.append(f"  {p.score:5.2f}  {p.left:<{width}}  {p.right}  "
                     f"({p.left_share:.2f}/{p.right_share:.2f}; {units or 'nothing shared'})")
    return "\n".join(lines) + "\n"


CSS = """body{font-family:sans-serif;margin:2rem;line-height:1.4}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;vertical-align:top}
.side{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;font-size:85%}mark{background:#ffd966}"""


def _highlighted(code: str, slices: np.ndarray) -> str:
    from copydetect.utils import highlight_overlap

    if slices.size == 0:
        return html.escape(code)
    # copydetect escapes the code (markupsafe) and wraps each copied slice in the marks
    text, _ = highlight_overlap(code, slices, "<mark>", "</mark>", escape_html=True)
    return text


def render_html(report: SimilarityReport, top: int = 20) -> str:
    """The pairs, ranked, each with its matching units side by side (all text escaped)."""
    e = html.escape
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>similarity: "
           f"{e(report.assignment)}</title><style>{CSS}</style></head><body>",
           f"<h1>Similar submissions: {e(report.assignment)}</h1>",
           f"<p>{len(report.students)} submissions, {len(report.pairs)} pairs; threshold "
           f"{report.threshold:.2f}. Only answer code counts: the released template is "
           "removed. A high score is a reason to read both notebooks, not a verdict.</p>"]
    if report.skipped:
        out.append("<ul>" + "".join(f"<li>{e(s)}: {e(w)}</li>" for s, w in report.skipped)
                   + "</ul>")
    shown = report.pairs[:max(top, len(report.flagged))]
    out.append("<table><tr><th>#</th><th>score</th><th>left</th><th>right</th>"
               "<th>shares</th><th>shared tokens</th></tr>")
    for n, p in enumerate(shown, 1):
        out.append(f"<tr><td><a href='#pair{n}'>{n}</a></td><td>{p.score:.2f}</td>"
                   f"<td>{e(p.left)}</td><td>{e(p.right)}</td>"
                   f"<td>{p.left_share:.2f} / {p.right_share:.2f}</td><td>{p.shared}</td></tr>")
    out.append("</table>")
    for n, p in enumerate(shown, 1):
        out.append(f"<h2 id='pair{n}'>{n}. {e(p.left)} and {e(p.right)}: {p.score:.2f}</h2>")
        if not p.matches:
            out.append("<p>No answer code in common.</p>")
        for m in p.matches:
            out.append(f"<h3>{e(m.left.label)} ~ {e(m.right.label)}: {m.shared} tokens "
                       f"({m.left_share:.0%} / {m.right_share:.0%})</h3><div class='side'>"
                       f"<pre>{_highlighted(m.left.source, m.left_slices)}</pre>"
                       f"<pre>{_highlighted(m.right.source, m.right_slices)}</pre></div>")
    out.append("</body></html>")
    return "\n".join(out)


def similarity(assignment: str, submissions: Path, out: Path | None = None,
               threshold: float = DEFAULT_THRESHOLD) -> tuple[SimilarityReport, Path]:
    """Compare the class and write the HTML report (default reports/<a>/similarity.html)."""
    from .grade import source_notebook

    release = EXERCISES / assignment / f"{assignment}.ipynb"
    if not release.exists():
        raise FileNotFoundError(f"{release} not found: run `python -m autograder release` first "
                                "(the released template is what the report leaves out)")
    report = compare_class(assignment, submissions, source_notebook(assignment),
                           nbformat.read(release, as_version=4), threshold)
    from . import ROOT

    path = Path(out) if out else ROOT / "reports" / assignment / "similarity.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report))
    return report, path


def cli(args) -> int:
    """``similarity ASSIGNMENT SUBMISSIONS``: print the ranking, write the HTML report."""
    import sys

    from .collect import CollectError
    from .release import assignments

    if args.assignment not in assignments():
        print(f"unknown assignment {args.assignment!r}; known: {assignments()}",
              file=sys.stderr)
        return 2
    if not 0.0 <= args.threshold <= 1.0:
        print(f"--threshold must lie between 0 and 1, got {args.threshold}", file=sys.stderr)
        return 2
    try:
        report, path = similarity(args.assignment, args.submissions, args.out, args.threshold)
    except (CollectError, FileNotFoundError) as exc:
        print(f"similarity: {exc}", file=sys.stderr)
        return 2
    print(text_summary(report), end="")
    print(f"wrote {path}")
    return 0
