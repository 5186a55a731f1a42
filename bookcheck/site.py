"""The pages of a built book, in reading order, and a local web server for them."""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
PDF = ROOT / "_build" / "pdf" / "book.pdf"

_NOT_PAGES = ("_static", "_sources", "_images", "_downloads")
_REFRESH = re.compile(r'<meta http-equiv="Refresh" content="\d+;\s*url=([^"]+)"', re.I)


def html_pages(build: Path = BUILD) -> list[str]:
    """Every HTML page of the build (paths relative to ``build``), sorted.

    Found by walking the build folder, so chapters added to ``_toc.yml`` are covered
    without touching the tests.
    """
    pages = []
    for path in build.rglob("*.html"):
        rel = path.relative_to(build)
        if rel.parts[0] in _NOT_PAGES:
            continue
        pages.append(rel.as_posix())
    return sorted(pages)


def redirect_target(build: Path, page: str) -> str | None:
    """For a meta-refresh page (the root ``index.html``), the page it sends readers to."""
    match = _REFRESH.search((build / page).read_text(errors="replace")[:2000])
    if not match:
        return None
    return (Path(page).parent / match.group(1)).as_posix().lstrip("./") or None


def reading_order(root: Path = ROOT) -> list[str]:
    """The book's pages as a reader meets them (``_toc.yml``), as ``book/NN_x.html`` paths."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part.get("chapters", [])]
    files += [entry["file"] for entry in toc.get("chapters", [])]
    return [f"{f}.html" for f in files]


def chapter_pages(root: Path = ROOT) -> list[str]:
    """The numbered chapters (``book/NN_*.html``) in reading order."""
    return [p for p in reading_order(root) if re.fullmatch(r"book/\d\d_\w+\.html", p)]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


@contextlib.contextmanager
def serve(build: Path = BUILD) -> Iterator[str]:
    """Serve ``build`` on 127.0.0.1 (a free port) in a thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(build))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
