"""The chapters' prose says nothing that is only true of one machine or one build (issue 11, E2).

Run timings, "cannot be downloaded here" and "computed when the page was built" depend on
where the book was built; a reader on another machine would read a false sentence. Timings
belong in ``benchmarks/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from chapter_code import code_cells

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "book").glob("*.md"))

MACHINE_SPECIFIC = [
    (r"cannot be downloaded", "a sentence about this machine's network"),
    (r"\bdownloaded here\b", "a sentence about this machine's network"),
    (r"when the page was built", "a sentence about the build"),
    (r"\btook\b[^.]{0,60}\bseconds?\b", "a run timing"),
    (r"\{glue:text\}`[a-z0-9_]*(?:seconds|secs|elapsed|_s|_sec|_ms)(?=[:`])", "a glued run timing"),
    (r"\bon this machine\b", "a sentence about this machine"),
]


def _prose(text: str) -> str:
    text = re.sub(r"```\{code-cell\}.*?```", "", text, flags=re.S)
    return re.sub(r"^---\n.*?\n---\n", "", text, flags=re.S)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_prose_has_no_machine_or_build_specific_sentences(page):
    prose = _prose(page.read_text())
    found = [(m.group(0), why) for pat, why in MACHINE_SPECIFIC
             for m in re.finditer(pat, prose, flags=re.I)]
    assert not found, f"{page.name}: {found[:3]}; say it in benchmarks/, not in the book"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_code_prints_no_timings(page):
    """A timing printed by a visible cell ends up in the rendered page."""
    for opts, cell in code_cells(page.read_text()):
        if "remove-cell" in opts or re.search(r"^:tags: \[.*remove-cell", cell, flags=re.M):
            continue
        assert not re.search(r"print\([^)]*(perf_counter|elapsed|seconds)", cell), (
            f"{page.name} prints a timing: {cell[:160]}")
