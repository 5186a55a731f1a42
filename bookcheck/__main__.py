"""``python -m bookcheck screenshots|pdf``: review images and a PDF of the built book.

Build the book first (``make book``); ``make screenshots`` and ``make pdf`` do both.
"""

from __future__ import annotations

import argparse
import sys
import time

from bookcheck import browser, pages, site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bookcheck", description=__doc__)
    parser.add_argument("what", choices=["screenshots", "pdf"])
    args = parser.parse_args(argv)
    if not (site.BUILD / "index.html").exists():
        print(f"no built book in {site.BUILD}: run `make book` first", file=sys.stderr)
        return 2
    start = time.perf_counter()
    with browser.chromium() as b:
        if args.what == "screenshots":
            saved = pages.screenshots(b)
            print(f"{len(saved)} screenshots in {site.SCREENSHOTS}")
        else:
            outline = pages.print_pdf(b)
            for title, first in outline:
                print(f"  page {first + 1:4d}  {title}")
            print(f"PDF: {site.PDF}")
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
