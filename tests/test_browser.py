"""The rendered book in a real browser (Debian's Chromium under Playwright), offline.

Every HTML page of the build is opened twice, from a local web server on 127.0.0.1 and
from file://, and each test below asserts one thing a reader would notice. Pages are
found by walking the build, so new chapters are covered without editing this file. The
pages checked, the counts and the time taken are written to
``_build/browser-report.json``; the screenshots to ``_build/screenshots/``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from bookcheck import browser, site

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SCHEMES = ["http", "file"]
_REPORT = ROOT / "_build" / "browser-report.json"


@pytest.fixture(scope="module")
def rendered(built_book, chromium_browser):
    """Open every page over both schemes once.

    Yields {scheme: (base_url, page reports, URLs the offline context refused)}.
    """
    pages = site.html_pages(built_book)
    out, timing = {}, {}
    with site.serve(built_book) as http_base:
        for scheme, base in (("http", http_base), ("file", built_book.as_uri() + "/")):
            start = time.perf_counter()
            context = browser.offline_context(chromium_browser)
            try:
                reports = [browser.inspect(context, base, rel,
                                           site.redirect_target(built_book, rel))
                           for rel in pages]
            finally:
                context.close()
            timing[scheme] = time.perf_counter() - start
            out[scheme] = (base, reports, list(context.blocked))
        yield out
    _write_report(pages, out, timing)


def _write_report(pages, out, timing) -> None:
    reports = out["http"][1]
    summary = {
        "pages": pages,
        "per_page": {r.page: {"display_formulas": r.display_math, "inline_formulas": r.inline_math,
                              "images": r.images, "links": len(r.links),
                              "slider_figures": r.sliders, "widgets": r.widgets}
                     for r in reports},
        "totals": {
            "pages": len(pages),
            "display_formulas": sum(r.display_math for r in reports),
            "inline_formulas": sum(r.inline_math for r in reports),
            "images": sum(r.images for r in reports),
            "links": sum(len(r.links) for r in reports),
            "slider_figures": sum(r.sliders for r in reports),
            "widgets": sum(r.widgets for r in reports),
        },
        "seconds": {k: round(v, 1) for k, v in timing.items()},
    }
    _REPORT.parent.mkdir(parents=True, exist_ok=True)
    _REPORT.write_text(json.dumps(summary, indent=2))


def _problems(reports, attr: str) -> list[str]:
    return [f"{r.url}: {p}" for r in reports for p in getattr(r, attr)]


def test_every_page_of_the_build_is_checked(rendered, built_book):
    checked = [r.page for r in rendered["http"][1]]
    for rel in site.reading_order():
        assert rel in checked, f"{rel} is in _toc.yml but was not built or not checked"
    assert "search.html" in checked and "genindex.html" in checked


@pytest.mark.parametrize("scheme", SCHEMES)
def test_no_console_errors(rendered, scheme):
    problems = _problems(rendered[scheme][1], "console_errors")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_no_failed_requests(rendered, scheme):
    problems = _problems(rendered[scheme][1], "failed_requests")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_nothing_is_requested_from_the_internet(rendered, scheme):
    base, reports, blocked = rendered[scheme]
    problems = _problems(reports, "remote_requests")
    problems += [f"refused by the offline browser: {u}" for u in blocked]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_formula_is_typeset_by_mathjax(rendered, scheme, built_book):
    reports = rendered[scheme][1]
    problems = _problems(reports, "math_problems")
    assert not problems, "\n".join(problems)
    for r in reports:
        source = (built_book / r.page).read_text(errors="replace")
        expected = len(re.findall(r'class="math notranslate nohighlight"', source))
        assert r.display_math + r.inline_math >= expected, (
            f"{r.url}: {expected} formulas in the HTML, "
            f"{r.display_math + r.inline_math} typeset")
    chapters = [r for r in reports if r.page in site.chapter_pages()]
    assert all(r.display_math + r.inline_math > 0 for r in chapters)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_image_loads(rendered, scheme):
    reports = rendered[scheme][1]
    problems = _problems(reports, "broken_images")
    assert not problems, "\n".join(problems)
    chapters = [r for r in reports if r.page in site.chapter_pages()]
    assert all(r.images > 0 for r in chapters), "every chapter has at least one figure"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_internal_link_resolves(rendered, scheme, built_book):
    base, reports, _ = rendered[scheme]
    ids = {r.page: r.ids for r in reports}
    broken = []
    for r in reports:
        for url in r.links:
            target = browser.link_target(url, base, built_book)
            if target is None:
                continue
            path, fragment = target
            rel = path.relative_to(built_book).as_posix() if path.is_relative_to(
                built_book) else None
            if rel is None or not path.is_file():
                broken.append(f"{r.url}: link to a missing file: {url}")
            elif fragment and rel in ids and fragment not in ids[rel]:
                broken.append(f"{r.url}: link to a missing anchor: {url}")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_slider_figures_change_when_moved(rendered, scheme, built_book):
    reports = rendered[scheme][1]
    problems = _problems(reports, "slider_problems")
    assert not problems, "\n".join(problems)
    for r in reports:
        source = ROOT / Path(r.page).with_suffix(".md")
        if r.page.startswith("book/") and source.exists():
            calls = len(re.findall(r"\bslider_figure\(", source.read_text()))
            assert r.sliders == calls, (
                f"{r.url}: {calls} slider_figure calls in {source.name}, "
                f"{r.sliders} slider figures on the page")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_saved_ipywidgets_render(rendered, scheme):
    problems = _problems(rendered[scheme][1], "widget_problems")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_search_finds_each_chapter_by_a_word_in_it(rendered, scheme, chromium_browser):
    base, reports, _ = rendered[scheme]
    by_page = {r.page: r for r in reports}
    context = browser.offline_context(chromium_browser)
    missed = []
    try:
        for rel in site.chapter_pages():
            others = [r.prose for r in reports if r.page != rel]
            word = browser.distinctive_word(by_page[rel].prose, others)
            assert word, f"{rel} has no prose to search for"
            hits = browser.search(context, base, word)
            if not any(rel in h for h in hits):
                missed.append(f"searching {word!r} does not list {rel} (got {hits})")
    finally:
        context.close()
    assert not missed, "\n".join(missed)


def test_screenshots_of_every_chapter(built_book, chromium_browser):
    """Desktop and phone PNGs for review; the phone layout must not scroll sideways.

    On a phone a long display formula may be wider than the text column; it must then
    scroll inside its own box (MathJax's overflow-x) rather than be cut off.
    """
    from bookcheck import pages

    saved = pages.screenshots(chromium_browser, built_book)
    chapters = site.chapter_pages()
    assert len(saved) == 2 * len(chapters)
    for png in saved:
        assert png.stat().st_size > 20_000, f"{png} looks empty"
    context = browser.offline_context(chromium_browser, viewport=browser.PHONE,
                                      is_mobile=True, has_touch=True)
    wide = []
    try:
        with site.serve(built_book) as base:
            for rel in chapters:
                page = context.new_page()
                page.goto(base + rel, wait_until="load")
                width = page.evaluate("() => document.documentElement.scrollWidth")
                if width > browser.PHONE["width"] + 1:
                    wide.append(f"{rel} is {width}px wide on a {browser.PHONE['width']}px phone")
                page.evaluate("async () => { if (window.MathJax && MathJax.startup)"
                              " await MathJax.startup.promise; }")
                clipped = page.evaluate(
                    "() => [...document.querySelectorAll('mjx-container[display=\"true\"]')]"
                    ".filter(m => m.scrollWidth > m.clientWidth + 1 &&"
                    " !['auto', 'scroll'].includes(getComputedStyle(m).overflowX)).length")
                if clipped:
                    wide.append(f"{rel}: {clipped} display formulas cut off on a phone")
                page.close()
    finally:
        context.close()
    assert not wide, "\n".join(wide)
