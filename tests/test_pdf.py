"""`make pdf`: the whole book printed offline by Chromium into one PDF.

Checks the PDF that ``bookcheck.pages.print_pdf`` writes (``_build/pdf/book.pdf``): a
bookmark and at least one page for every page in ``_toc.yml``, each chapter's title on its
first page, and every chapter with its figures (images) and its formulas (MathJax glyphs,
which Chromium embeds as Type 3 fonts) in its pages.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from bookcheck import site

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def _md_title(rel_html: str) -> str:
    source = ROOT / Path(rel_html).with_suffix(".md")
    return re.search(r"^# (.+)$", source.read_text(), flags=re.M).group(1).strip()


def _type3_fonts(page) -> int:
    fonts = page.get("/Resources", {}).get("/Font", {}) or {}
    return sum(1 for f in fonts.values() if f.get_object().get("/Subtype") == "/Type3")


@pytest.fixture(scope="module")
def book_pdf(built_book, chromium_browser):
    from bookcheck import pages

    outline = pages.print_pdf(chromium_browser, built_book, site.PDF)
    return site.PDF, outline


def test_pdf_has_pages_for_every_chapter(book_pdf):
    from pypdf import PdfReader

    path, outline = book_pdf
    reader = PdfReader(path)
    order = site.reading_order()
    assert [t for t, _ in outline] == [_md_title(p) for p in order]
    bookmarks = [(b.title, reader.get_destination_page_number(b)) for b in reader.outline]
    assert bookmarks == outline
    starts = [s for _, s in outline] + [len(reader.pages)]
    for (title, start), end in zip(outline, starts[1:], strict=True):
        assert end > start, f"{title!r} has no page in the PDF"
        text = unicodedata.normalize("NFKC", reader.pages[start].extract_text())  # ligatures
        first = re.sub(r"\s+", " ", text)
        assert title in first, f"{title!r} is not on its first page ({start + 1})"


def test_pdf_chapters_have_figures_and_math(book_pdf):
    from pypdf import PdfReader

    path, outline = book_pdf
    reader = PdfReader(path)
    starts = dict(outline)
    ends = {t: e for (t, _), e in zip(outline, [s for _, s in outline][1:] + [len(reader.pages)],
                                       strict=True)}
    for rel in site.chapter_pages():
        title = _md_title(rel)
        span = reader.pages[starts[title]:ends[title]]
        images = sum(len(p.images) for p in span)
        assert images >= 1, f"{title}: no figure in the PDF"
        assert any(_type3_fonts(p) for p in span), f"{title}: no typeset formula in the PDF"
        text = " ".join(p.extract_text() for p in span)
        assert "$$" not in text and "\\(" not in text, f"{title}: raw TeX in the PDF"
