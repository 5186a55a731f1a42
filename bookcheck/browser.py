"""Open pages of the built book in Chromium and report what a reader would run into.

Debian's ``chromium`` is driven by Playwright for Python. Playwright's own browser
download (``playwright install``) is never used: the course must work offline, and the
system browser is what CI installs from ``.ci/apt-packages.txt``.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# Requests that would leave the machine: http(s)/ws(s) to anything but the loopback server.
REMOTE = re.compile(r"^(?:https?|wss?)://(?!(?:127\.0\.0\.1|localhost)(?::\d+)?/)", re.I)

# TeX that MathJax should have consumed; left in the text it means a formula did not render.
RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$[^$\n]*\\[A-Za-z]+[^$\n]*\$")

_INSPECT_JS = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  for (const img of document.images) { if (img.loading === 'lazy') img.loading = 'eager'; }
  await Promise.all([...document.images].map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done);
    setTimeout(done, 15000);
  })));
  const skip = 'script,style,pre,code,textarea,mjx-container,.highlight,.cell_input';
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.parentElement.closest(skip)) texts.push(n.textContent);
  }
  const article = document.querySelector('article') || document.body;
  const prose = [...article.querySelectorAll('p, li, h1, h2, h3, dd, dt, td, th')]
    .filter(e => !e.closest(skip + ',.cell_output,.output'))
    .map(e => e.innerText).join(' ');
  return {
    title: (document.querySelector('h1') || {}).innerText || document.title,
    display: document.querySelectorAll('mjx-container[display="true"]').length,
    inline: document.querySelectorAll('mjx-container:not([display="true"])').length,
    unrendered: [...document.querySelectorAll('.math.notranslate')]
      .filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
    merrors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 80)),
    text: texts.join('\n'),
    prose: prose,
    images: [...document.images].map(img => ({
      src: (img.currentSrc || img.src || '').slice(0, 120),
      ok: img.complete && img.naturalWidth > 0 && img.naturalHeight > 0})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    widgets: [...document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]')].map(s => {
        const area = s.parentElement.querySelector('.widget-subarea');
        return !!area && area.getBoundingClientRect().height > 0; }),
  };
}
"""


@contextlib.contextmanager
def chromium() -> Iterator:
    """Launch Debian's Chromium headless through Playwright; yield the Playwright Browser."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(
            f"{CHROMIUM} not found: install Debian's chromium (see .ci/apt-packages.txt)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def offline_context(browser, viewport: dict | None = None, **kwargs):
    """A browser context that refuses (and records) every request leaving the machine."""
    context = browser.new_context(viewport=viewport or DESKTOP, **kwargs)
    context.blocked = []  # type: ignore[attr-defined]

    def refuse(route) -> None:
        context.blocked.append(route.request.url)  # type: ignore[attr-defined]
        route.abort("blockedbyclient")

    context.route(REMOTE, refuse)
    return context


@dataclass
class PageReport:
    """What one page did in the browser (the tests read its fields)."""

    page: str
    url: str
    title: str = ""
    seconds: float = 0.0
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    display_math: int = 0
    inline_math: int = 0
    math_problems: list[str] = field(default_factory=list)
    images: int = 0
    broken_images: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    sliders: int = 0
    slider_problems: list[str] = field(default_factory=list)
    widgets: int = 0
    widget_problems: list[str] = field(default_factory=list)
    prose: str = ""


def open_page(context, url: str):
    """Open ``url`` with listeners attached; return (page, report-in-progress)."""
    page = context.new_page()
    report = PageReport(page="", url=url)

    def on_console(msg) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            report.console_errors.append(f"{msg.text} ({loc.get('url', '')}:"
                                         f"{loc.get('lineNumber', '')})")

    def on_response(resp) -> None:
        if resp.status >= 400:
            report.failed_requests.append(f"{resp.url} (HTTP {resp.status})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: report.console_errors.append(f"uncaught: {exc}"))
    page.on("requestfailed", lambda req: report.failed_requests.append(
        f"{req.url} ({req.failure})"))
    page.on("response", on_response)
    page.on("request", lambda req: report.remote_requests.append(req.url)
            if REMOTE.match(req.url) else None)
    page.goto(url, wait_until="load")
    return page, report


def inspect(context, base_url: str, rel: str, redirect: str | None = None) -> PageReport:
    """Load one page and check console, requests, math, images; collect links and ids."""
    start = time.perf_counter()
    url = base_url + rel
    page, report = open_page(context, url)
    report.page = rel
    try:
        if redirect:
            page.wait_for_url(re.compile(re.escape(redirect) + "$"), timeout=15000)
            page.wait_for_load_state("load")
        data = page.evaluate(_INSPECT_JS)
        report.title = data["title"].strip()
        report.display_math = data["display"]
        report.inline_math = data["inline"]
        report.math_problems += [f"not typeset: {t}" for t in data["unrendered"]]
        report.math_problems += [f"MathJax error (mjx-merror): {t}" for t in data["merrors"]]
        for line in data["text"].splitlines():
            if RAW_TEX.search(line):
                report.math_problems.append(f"raw TeX left in the text: {line.strip()[:100]}")
        report.images = len(data["images"])
        report.broken_images = [i["src"] for i in data["images"] if not i["ok"]]
        report.links = data["links"]
        report.ids = set(data["ids"])
        report.prose = data["prose"]
        report.widgets = len(data["widgets"])
        report.widget_problems = [f"widget {i + 1} not rendered from its saved state"
                                  for i, ok in enumerate(data["widgets"]) if not ok]
        check_sliders(page, report)
        page.wait_for_timeout(100)  # let late console errors arrive
    finally:
        page.close()
    report.seconds = time.perf_counter() - start
    return report


def check_sliders(page, report: PageReport) -> None:
    """Move every static slider figure (matplotlib ``to_jshtml``) and check it redraws.

    The slider is moved with the keyboard (focus, End), as a reader would, then stepped
    back with the "Previous frame" button; the image must change each time. The button
    icons must be drawn (the theme's local Font Awesome), not empty boxes.
    """
    figures = page.locator("div.animation")
    report.sliders = figures.count()
    for i in range(report.sliders):
        fig = figures.nth(i)
        img = fig.locator("img").first
        slider = fig.locator("input.anim-slider")
        fig.scroll_into_view_if_needed()
        before = img.get_attribute("src") or ""
        if not before.startswith("data:image"):
            report.slider_problems.append(f"figure {i + 1}: no frame shown")
            continue
        slider.focus()
        page.keyboard.press("End")
        moved = slider.input_value()
        after = img.get_attribute("src") or ""
        if after == before:
            report.slider_problems.append(
                f"figure {i + 1}: image unchanged after moving the slider to {moved}")
        fig.get_by_role("button", name="Previous frame").click()
        if (img.get_attribute("src") or "") == after:
            report.slider_problems.append(
                f"figure {i + 1}: image unchanged after 'Previous frame'")
        icons = fig.locator(".anim-buttons button").evaluate_all(
            "bs => bs.map(b => { const i = b.querySelector('i, svg');"
            " if (!i) return 0; const r = i.getBoundingClientRect();"
            " const before = i.tagName === 'svg' ? 'svg' :"
            " getComputedStyle(i, '::before').content;"
            " return (r.width > 0 && before && before !== 'none' && before !== 'normal')"
            " ? 1 : 0; })")
        if not icons or not all(icons):
            report.slider_problems.append(
                f"figure {i + 1}: {icons.count(0)} of {len(icons)} button icons not drawn")


def link_target(url: str, base_url: str, build: Path) -> tuple[Path, str] | None:
    """Map a link in the book to (file, fragment); None for a link to another site.

    Links into the build map to files under ``build``; a ``file:`` or loopback link that
    points outside the build maps to its own path, which the caller reports as broken.
    """
    origin = "/".join(base_url.split("/", 3)[:3])  # http://127.0.0.1:port, or file://
    if url.startswith(base_url):
        rel = url[len(base_url):]
    elif url.startswith(origin):
        parts = urlsplit(url)
        return Path(unquote(parts.path)), unquote(parts.fragment)
    else:
        return None
    parts = urlsplit(rel)
    path = unquote(parts.path)
    if path == "" or path.endswith("/"):
        path += "index.html"
    return build / path, unquote(parts.fragment)


def screenshot(context, url: str, out: Path) -> Path:
    """Save a full-page PNG of ``url`` once its formulas are typeset."""
    page = context.new_page()
    try:
        page.goto(url, wait_until="load")
        page.evaluate("async () => { if (window.MathJax && MathJax.startup)"
                      " await MathJax.startup.promise; }")
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
    finally:
        page.close()
    return out


def search(context, base_url: str, word: str) -> list[str]:
    """Run the book's own search page for ``word``; return the result links (resolved)."""
    page = context.new_page()
    try:
        page.goto(f"{base_url}search.html?q={word}", wait_until="load")
        page.wait_for_function(
            "() => { const s = document.querySelector('#search-results .search-summary');"
            " return s && s.innerText.trim().length > 0; }", timeout=30000)
        return page.locator("#search-results ul.search li a").evaluate_all(
            "as => as.map(a => a.href)")
    finally:
        page.close()


def distinctive_word(prose: str, other_pages: list[str]) -> str | None:
    """A word of at least six letters in ``prose`` that the fewest other pages use."""
    words = set(re.findall(r"\b[a-z]{6,}\b", prose.lower()))
    others = [set(re.findall(r"\b[a-z]{6,}\b", text.lower())) for text in other_pages]
    if not words:
        return None
    return min(sorted(words), key=lambda w: sum(w in o for o in others))
