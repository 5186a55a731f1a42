"""Shared fixtures: the book is built once per test session and reused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pg_server import pg_server, pg_url  # noqa: F401 (a throwaway PostgreSQL server)
from small_class import small_class  # noqa: F401 (four ps01 submissions, graded once)

ROOT = Path(__file__).resolve().parent.parent

# Per-test time limits (pytest-timeout; the default, 900 s, is in pyproject.toml). A test
# that uses one of these fixtures may pay for it: the first user of ``built_book`` builds
# the whole book (about 5 min on a loaded 2-core machine), ``graded`` grades the corpus
# (its ``autograder grade`` subprocess alone may run 900 s), ``rendered`` and ``book_pdf``
# drive Chromium over every page of the build.
LONG_FIXTURES = {"built_book": 1800, "graded": 1800, "rendered": 2400, "book_pdf": 2400,
                 "small_class": 1800}


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("timeout"):
        return
    for item in items:
        if item.get_closest_marker("timeout") is not None:
            continue   # an explicit @pytest.mark.timeout wins
        longest = max((LONG_FIXTURES.get(f, 0) for f in item.fixturenames), default=0)
        if longest:
            item.add_marker(pytest.mark.timeout(longest))


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the HTML book strictly (-W -n) once; return the html folder.

    Execution results are cached by jupyter-cache, so a build with unchanged chapters
    takes seconds.
    """
    jb = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jb), "build", ".", "-W", "-n", "--keep-going"], cwd=ROOT,
                          capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"jupyter-book build -W failed (exit {proc.returncode}):\n{log[-6000:]}")
    html = ROOT / "_build" / "html"
    assert (html / "index.html").exists()
    return html


def require_bwrap() -> None:
    """Skip where bubblewrap is missing, except when INFOLOSS_REQUIRE_SANDBOX is set, as
    .ci/run does: there a missing sandbox fails (CI must not go green without it)."""
    import os
    import shutil

    if shutil.which("bwrap") is None:
        reason = "bubblewrap is not installed (.ci/apt-packages.txt)"
        if os.environ.get("INFOLOSS_REQUIRE_SANDBOX"):
            pytest.fail(reason + " and INFOLOSS_REQUIRE_SANDBOX is set")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def bwrap() -> None:
    """Tests that need the sandbox: ``pytest.mark.usefixtures("bwrap")``."""
    require_bwrap()


@pytest.fixture(scope="session")
def chromium_browser():
    """Debian's Chromium under Playwright, shared by the browser and PDF tests.

    Skipped (with the reason) where /usr/bin/chromium is missing, except when
    INFOLOSS_REQUIRE_BROWSER is set, as .ci/run does: there a missing browser fails.
    """
    import os

    from bookcheck import browser

    if not Path(browser.CHROMIUM).exists():
        reason = (f"{browser.CHROMIUM} missing: `apt-get install chromium` "
                  "(see .ci/apt-packages.txt) to run the browser tests")
        if os.environ.get("INFOLOSS_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    with browser.chromium() as b:
        yield b
