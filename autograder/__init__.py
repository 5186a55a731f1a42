"""Instructor tooling for the course: release exercises, grade, give feedback, export.

Run as ``python -m autograder <command>``; see ``python -m autograder --help``.
"""

import os
from pathlib import Path


def course_root() -> Path:
    """The course checkout (``solutions/``, ``exercises/``): ``$INFOLOSS_CHECKOUT`` when
    set, else the checkout this package lives in, else the current folder (an installed
    wheel run from the checkout). Not nbgrader's course directory (gradebook, submitted/),
    which ``$INFOLOSS_COURSE_ROOT`` names for nbgrader."""
    env = os.environ.get("INFOLOSS_CHECKOUT")
    if env:
        return Path(env).resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "solutions").is_dir():
        return checkout
    return Path.cwd().resolve()


ROOT = course_root()
CONFIG = Path(__file__).resolve().parent / "nbgrader_config.py"
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


def nbgrader_env(**extra: str) -> dict[str, str]:
    """Environment for nbgrader subprocesses.

    nbgrader runs the ``alembic`` executable by name, so the folder of this Python's
    scripts (the virtual environment's ``bin``) must be on PATH even when the venv is
    not activated.
    """
    import sys

    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("INFOLOSS_COURSE_ROOT", str(ROOT))
    env.update(extra)
    return env
