"""Time ps05_temperature: stock nbgrader autograde of the solution, on the CPU.

Usage: .venv/bin/python benchmarks/time_ps05_temperature.py
Set INFOLOSS_DEVICE=cuda to time the training cells on a GPU instead. Results go in
benchmarks/temperature_results.md by hand, with the machine they were measured on.
"""

from __future__ import annotations

import os
import time

from autograder import SOLUTIONS
from autograder.stock import autograde_stock

NAME = "ps05_temperature"

if __name__ == "__main__":
    os.environ.setdefault("INFOLOSS_DEVICE", "cpu")
    t0 = time.perf_counter()
    result = autograde_stock(NAME, SOLUTIONS / NAME / f"{NAME}.ipynb")
    wall = time.perf_counter() - t0
    print(f"{NAME}: {result.score:g}/{result.max_score:g} points (manual cells score 0 until "
          f"graded by hand), autograde wall time {wall:.1f} s on {os.environ['INFOLOSS_DEVICE']}")
