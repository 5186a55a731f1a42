"""Requirements: every rule an assignment's text states, and the hidden checks that enforce it.

A task text that says "must", "do not", "raise", "no warning", "keep the dtype", ... states a
requirement; a student who breaks it must lose points, or the text must say plainly that the
rule is not graded. :func:`requirement_sentences` finds those sentences in the notebook's
task cells; the assignment's ``judge.py`` maps each to the probes that check it::

    REQUIREMENTS = {
        "Raise `ValueError` when an entry is negative": ["rejects a negative entry"],
        "no `nan`, no warning": ["0 log 0 = 0", WARNINGS_RULE],
        "Explain in two sentences": NOT_GRADED,
    }

Keys are substrings of the sentences (each sentence matched by exactly one key), values are
probe hints of the spec, or one of :data:`RULES`: :data:`WARNINGS_RULE` (enforced by every
probe), :data:`BY_NAME` (probes call the functions by name), :data:`NOT_GRADED` (only when
the sentence itself says it is not graded) and :data:`DESCRIBES` (a sentence about grading
that states no rule). :func:`coverage` checks
the mapping both ways; ``python -m autograder requirements`` prints the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nbformat

WARNINGS_RULE = "(every probe: a graded call that warns fails)"
NOT_GRADED = "(not graded: the text says so)"
BY_NAME = "(every probe calls the function by its name)"
DESCRIBES = "(states no rule: it describes the grading)"
RULES = (WARNINGS_RULE, NOT_GRADED, BY_NAME, DESCRIBES)
WARNINGS_SENTENCE = "A graded call that warns fails its check"
"""How every notebook states the one warnings rule (probes run with warnings as errors:
:func:`autograder.runner.evaluate_probe`)."""
RULE_WORDS = re.compile(
    r"\b(must|do not|don't|never|raises?|warn\w*|keep\w*|stabl[ey]|float64|float32|dtypes?|"
    r"mean over|mean \w+ (loss|losses) per|per epoch|max[- ]?pool\w*|train\w*( it| them)? with|"
    r"with `nn\.\w+`|without|at least|at most|within|exactly|only|accurate\w*|no \w+ may|"
    r"may not|return `None)\b", re.I)
_NOT_GRADED = re.compile(r"not graded|not autograded|graded by hand", re.I)


@dataclass(frozen=True)
class Requirement:
    cell: str          # grade_id of the task cell that states it
    sentence: str
    checks: tuple[str, ...] = ()   # probe hints (or WARNINGS_RULE / NOT_GRADED)


def _sentences(markdown: str) -> list[str]:
    text = "\n".join(line for line in markdown.splitlines() if not line.lstrip().startswith("#"))
    parts = []
    for block in re.split(r"\n\s*(?:[*-]|\d+\.)\s+|\n\s*\n", "\n" + text):
        block = " ".join(block.split())
        parts += [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z(`*])", block)]
    return [p for p in parts if p]


def requirement_sentences(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """(task cell grade_id, sentence) for every sentence of a task text that states a rule."""
    out = []
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "markdown" or meta.get("solution") or meta.get("grade"):
            continue
        gid = meta.get("grade_id") or f"cell-{i}"
        out += [(gid, s) for s in _sentences(cell.source) if RULE_WORDS.search(s)]
    return out


def coverage(assignment: str) -> tuple[list[Requirement], list[str]]:
    """The requirements of ``assignment`` with their checks, and the problems of the mapping
    (a rule sentence no key matches or two keys match, a key that matches nothing, a hint
    that no probe has, NOT_GRADED on a sentence that does not say so)."""
    from .grade import source_notebook
    from .spec import load_spec, spec_module

    spec = load_spec(assignment)
    declared: dict[str, object] = dict(getattr(spec_module(assignment), "REQUIREMENTS", {})) \
        if spec is not None else {}
    hints = {p.hint for p in spec.probes} | {r.hint for r in spec.rules} \
        if spec is not None else set()
    problems: list[str] = []
    used: set[str] = set()
    reqs = []
    for cell, sentence in requirement_sentences(source_notebook(assignment)):
        keys = [k for k in declared if k in sentence]
        if len(keys) != 1:
            problems.append(f"{cell}: {sentence!r} is matched by {len(keys)} REQUIREMENTS keys "
                            f"{keys}; map it to the probes that check it, or say in the text "
                            "that it is not graded")
            reqs.append(Requirement(cell, sentence))
            continue
        used.add(keys[0])
        value = declared[keys[0]]
        checks = (value,) if isinstance(value, str) else tuple(value)
        for check in checks:
            if check == NOT_GRADED and not _NOT_GRADED.search(sentence):
                problems.append(f"{cell}: {sentence!r} is declared not graded, but the "
                                "sentence does not say so")
            elif check not in RULES and check not in hints:
                problems.append(f"{cell}: no probe of judge.py has the hint {check!r}")
        if not checks:
            problems.append(f"{cell}: {sentence!r} is mapped to no check")
        reqs.append(Requirement(cell, sentence, checks))
    problems += [f"REQUIREMENTS key {k!r} matches no rule sentence of the notebook"
                 for k in declared if k not in used]
    return reqs, problems


def table(assignment: str) -> str:
    """The requirement-coverage table of an assignment, as Markdown."""
    reqs, problems = coverage(assignment)
    lines = [f"### {assignment}", "", "| task | requirement | checked by |", "|---|---|---|"]
    for r in reqs:
        sentence = r.sentence.replace("|", "\\|")
        lines.append(f"| {r.cell} | {sentence} | {'; '.join(r.checks) or '**NOTHING**'} |")
    lines += [f"- problem: {p}" for p in problems]
    return "\n".join(lines) + "\n"


def all_tables(names: list[str]) -> str:
    """Every assignment's table, as written to ``autograder/REQUIREMENTS.md``."""
    head = ("# What each problem set's text requires, and the hidden check that enforces it\n\n"
            "Generated by `python -m autograder requirements --write` from the notebooks and "
            "their judge.py (REQUIREMENTS, probes, RULES); do not edit by hand.\n\n")
    return head + "\n".join(table(name) for name in names)
