"""Progress bars for long work (training loops, C runs, grading), never in the built book.

Students and instructors watching a notebook or a terminal want to see that a long step is
moving; a reader of the rendered HTML wants no progress output in the page. So bars are
drawn with plain-text ``tqdm`` and switched off when ``INFOLOSS_PROGRESS=0``, which the book
build sets for every page it executes (``book/_ext/quiet_progress.py``). Bars go to stdout,
not tqdm's default stderr: stock ``nbgrader autograde`` scores a test cell 0 when it writes
to stderr, so a bar drawn while a test cell trains a model would cost the student the cell.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

ENV = "INFOLOSS_PROGRESS"


def enabled() -> bool:
    """Whether bars are drawn: on unless ``INFOLOSS_PROGRESS`` is ``0``, ``false`` or ``no``."""
    return os.environ.get(ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def progress(iterable: Iterable[T], desc: str, total: int | None = None,
             leave: bool = False) -> Iterator[T]:
    """``iterable`` with a text progress bar on stdout labelled ``desc`` (plain when disabled)."""
    if not enabled():
        yield from iterable
        return
    from tqdm import tqdm

    yield from tqdm(iterable, desc=desc, total=total, leave=leave, dynamic_ncols=True,
                    mininterval=0.5, file=sys.stdout)
