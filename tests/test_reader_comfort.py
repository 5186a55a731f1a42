"""Reader comfort: a landing page, one notation table, and chapters that say what they teach.

Every chapter (``book/NN_*.md``) opens with an "After this chapter you can" tip, ends with
a "## Summary" followed by a "**Graded exercise:**" pointer to a problem set that exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.md"))


def _body(text: str) -> str:
    """The chapter without its front matter."""
    return re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S).strip()


def test_landing_page_and_notation_table_exist():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    assert toc["root"] == "book/index"
    landing = (BOOK / "index.md").read_text()
    for must in ("Who it is for", "What it assumes", "path through it"):
        assert must in landing, f"book/index.md should say {must!r}"
    assert "notation" in landing
    notation = (BOOK / "notation.md").read_text()
    assert notation.count("\n|") >= 10, "book/notation.md should hold the notation table"
    files = [ch["file"] for part in toc.get("parts", []) for ch in part.get("chapters", [])]
    assert "book/notation" in files


def test_there_are_chapters():
    assert len(CHAPTERS) >= 2


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_with_what_the_reader_will_be_able_to_do(chapter):
    body = _body(chapter.read_text())
    title, _, rest = body.partition("\n")
    assert title.startswith("# "), f"{chapter.name} should start with its '# Title'"
    opening = rest.lstrip()
    assert re.match(r"[:`]{3,}\{admonition\} After this chapter you can\n:class: tip\n",
                    opening), (
        f"{chapter.name}: the first thing after the title must be the "
        "'After this chapter you can' tip admonition")
    items = re.match(r".*?\n((?:- .*\n(?:  .*\n)*)+)", opening, flags=re.S)
    assert items and items.group(1).count("\n- ") + 1 >= 2, (
        f"{chapter.name}: list at least two things the reader will be able to do")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_ends_with_summary_and_graded_exercise(chapter):
    body = _body(chapter.read_text())
    headings = re.findall(r"^## (.+)$", body, flags=re.M)
    assert headings and headings[-1].strip() == "Summary", (
        f"{chapter.name}: the last section must be '## Summary' (found {headings[-1:]})")
    summary = body[body.rindex("\n## Summary"):]
    assert re.search(r"^- ", summary, flags=re.M), f"{chapter.name}: summarise in a list"
    pointer = re.search(r"^\*\*Graded exercise:\*\*(.+)", summary, flags=re.M | re.S)
    assert pointer, f"{chapter.name}: end with a '**Graded exercise:**' pointer"
    sets = re.findall(r"ps\d\d_\w+", pointer.group(1))
    assert sets, f"{chapter.name}: name the problem set (psNN_name) in the pointer"
    for ps in sets:
        assert (ROOT / "solutions" / ps).is_dir(), f"{chapter.name} points to missing {ps}"
