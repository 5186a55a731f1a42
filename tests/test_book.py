"""The book builds strictly, offline, and its chapters follow the course's rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from chapter_code import code_cells

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [ch["file"] for ch in part.get("chapters", [])]
    return files


def test_every_chapter_is_in_the_toc():
    listed = set(_toc_files())
    for chapter in CHAPTERS:
        assert f"book/{chapter.stem}" in listed, f"{chapter.name} is missing from _toc.yml"
    for f in listed:
        assert (ROOT / f"{f}.md").exists(), f"_toc.yml lists {f} but the file does not exist"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_figures_have_captions_and_labelled_axes(chapter):
    cells = code_cells(chapter.read_text())
    assert cells, f"{chapter.name} has no code cells"
    figures = 0
    for opts, body in cells:
        draws = ("plt.show()" in body or "slider_figure(" in body or "plt.subplots" in body)
        if not draws:
            continue
        figures += 1
        meta = yaml.safe_load(opts) if opts else {}
        caption = (meta or {}).get("mystnb", {}).get("figure", {}).get("caption", "")
        assert len(caption.split()) >= 12, (
            f"{chapter.name}: a figure cell needs a caption that says what to see:\n{body[:200]}")
        assert "set_xlabel" in body and "set_ylabel" in body, (
            f"{chapter.name}: label both axes of every figure:\n{body[:200]}")
    assert figures >= 1, f"{chapter.name} has no figure"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_prose_numbers_are_glued_not_typed(chapter):
    """Decimal numbers in the prose must come from {glue:text}, not be typed by hand."""
    text = chapter.read_text()
    prose = re.sub(r"```.*?```", "", text, flags=re.S)       # code cells
    prose = re.sub(r"\$\$.*?\$\$", "", prose, flags=re.S)    # display math
    prose = re.sub(r"\$[^$\n]*\$", "", prose)                 # inline math
    prose = re.sub(r"`[^`\n]*`", "", prose)                   # inline code and glue roles
    prose = re.sub(r"^---\n.*?\n---\n", "", prose, flags=re.S)
    typed = re.findall(r"(?<![\w.])\d+\.\d{2,}(?![\w.])", prose)
    assert not typed, f"{chapter.name} types numbers by hand: {typed[:5]}; glue them"


@pytest.mark.slow
def test_book_builds_with_no_warnings_and_no_remote_assets(built_book):
    pages = list(built_book.rglob("*.html"))
    assert len(pages) >= len(CHAPTERS) + 1
    remote = re.compile(r"""<(?:script|link|img)[^>]+(?:src|href)=["'](?:https?:)?//""")
    for page in pages:
        html = page.read_text(errors="replace")
        assert not remote.search(html), f"{page.name} loads an asset from the internet"
    for chapter in CHAPTERS:
        html = (built_book / "book" / f"{chapter.stem}.html").read_text()
        assert "mathjax/tex-chtml-full.js" in html and "widgets/embed-amd.js" in html
        assert "Traceback" not in html, f"{chapter.stem} shows a traceback"
    assert (built_book / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
