"""Instructor tooling for the course: release exercises, grade, give feedback, export.

Run as ``python -m autograder <command>``; see ``python -m autograder --help``.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).resolve().parent / "nbgrader_config.py"
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


def nbgrader_env(**extra: str) -> dict[str, str]:
    """Environment for nbgrader subprocesses.

    nbgrader runs the ``alembic`` executable by name, so the folder of this Python's
    scripts (the virtual environment's ``bin``) must be on PATH even when the venv is
    not activated.
    """
    import os
    import sys

    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("INFOLOSS_COURSE_ROOT", str(ROOT))
    env.update(extra)
    return env
