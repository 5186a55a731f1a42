"""Long work shows a progress bar in terminals and notebooks, and none in the built book."""

from __future__ import annotations

import subprocess
import sys

import pytest

from infoloss import progress as prog


def test_bar_is_drawn_on_stdout_when_enabled(monkeypatch, capsys):
    """stdout: stock nbgrader scores a test cell 0 when it writes anything to stderr."""
    monkeypatch.delenv(prog.ENV, raising=False)
    assert prog.enabled()
    assert list(prog.progress(range(5), desc="epochs")) == [0, 1, 2, 3, 4]
    out, err = capsys.readouterr()
    assert "epochs" in out and "0/5" in out and err == ""  # the bar, with its total


@pytest.mark.parametrize("value", ["0", "false", "No", " off "])
def test_bar_is_silent_when_switched_off(monkeypatch, capsys, value):
    monkeypatch.setenv(prog.ENV, value)
    assert not prog.enabled()
    assert list(prog.progress(iter("abc"), desc="steps", total=3)) == ["a", "b", "c"]
    assert capsys.readouterr() == ("", "")


def test_book_build_switches_bars_off_for_every_page_kernel():
    """The Sphinx extension sets the variable in the build process, which kernels inherit."""
    code = ("import os, sys; sys.path.insert(0, 'book/_ext'); import quiet_progress;"
            "quiet_progress.setup(None); import subprocess;"
            "print(subprocess.run([sys.executable, '-c', 'from infoloss.progress import enabled;"
            "print(enabled())'], capture_output=True, text=True).stdout.strip())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=prog.__file__.rsplit("/infoloss/", 1)[0])
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.slow
def test_built_book_has_no_progress_output(built_book):
    for page in built_book.rglob("*.html"):
        html = page.read_text(errors="replace")
        assert "it/s]" not in html and "s/it]" not in html, f"{page.name} shows a progress bar"
