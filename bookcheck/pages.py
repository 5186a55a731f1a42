"""Screenshots of every chapter and a PDF of the whole book, printed by Chromium."""

from __future__ import annotations

import re
from pathlib import Path

from bookcheck import browser, site

_PREPARE_PRINT = """async () => {
  if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  window.dispatchEvent(new Event('beforeprint'));  // opens dropdown answers for print
  await document.fonts.ready;
}"""
# On paper the slider buttons and live widgets do nothing: print the figure only.
_PRINT_CSS = "@media print { .anim-controls, .widget-subarea { display: none !important; } }"


def screenshots(b, build: Path = site.BUILD, out: Path = site.SCREENSHOTS) -> list[Path]:
    """Full-page PNGs of every chapter at desktop and phone widths into ``out``.

    Names: ``NN_name-desktop.png`` and ``NN_name-phone.png``.
    """
    saved = []
    with site.serve(build) as base:
        for kind, viewport, extra in (
                ("desktop", browser.DESKTOP, {}),
                ("phone", browser.PHONE, {"is_mobile": True, "has_touch": True})):
            context = browser.offline_context(b, viewport=viewport, **extra)
            try:
                for rel in site.chapter_pages():
                    name = Path(rel).stem
                    saved.append(browser.screenshot(context, base + rel,
                                                    out / f"{name}-{kind}.png"))
            finally:
                context.close()
    return saved


def print_pdf(b, build: Path = site.BUILD, out: Path = site.PDF) -> list[tuple[str, int]]:
    """Print every page in reading order with Chromium and merge them into one PDF.

    Each page is printed from ``file://`` once its formulas are typeset; the merged file
    gets one bookmark per page (its title). Returns (title, first page index) per page.
    """
    from pypdf import PdfReader, PdfWriter

    out.parent.mkdir(parents=True, exist_ok=True)
    writer = PdfWriter()
    outline = []
    context = browser.offline_context(b)
    try:
        for rel in site.reading_order():
            page = context.new_page()
            try:
                page.goto((build / rel).as_uri(), wait_until="load")
                page.add_style_tag(content=_PRINT_CSS)
                page.evaluate(_PREPARE_PRINT)
                title = page.locator("h1").first.inner_text().strip()
                title = re.sub(r"\s*#\s*$", "", title)
                part = out.parent / (Path(rel).stem + ".pdf")
                page.pdf(path=str(part), format="A4", print_background=True,
                         margin={"top": "15mm", "bottom": "15mm", "left": "12mm",
                                 "right": "12mm"})
            finally:
                page.close()
            start = len(writer.pages)
            writer.append(PdfReader(part))
            part.unlink()
            writer.add_outline_item(title=title, page_number=start)
            outline.append((title, start))
    finally:
        context.close()
    writer.add_metadata({"/Title": "Information theory behind classification losses"})
    with open(out, "wb") as fh:
        writer.write(fh)
    return outline
