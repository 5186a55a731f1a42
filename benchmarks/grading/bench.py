"""Grading benchmark: stock ``nbgrader autograde`` vs ``python -m autograder grade``.

The same 40 submissions of one assignment are graded, in one run of this script, by

* stock nbgrader: ``nbgrader autograde ASSIGNMENT`` over a course folder
  (sequential, no sandbox, no judge), and
* this course's grader: sandbox (bubblewrap) and judge on, ``--workers`` local workers.

It prints and appends to RESULTS.md the wall times, the ratio, the per-submission times
and the machine's load (the course machines are shared), and checks that both graders
give every submission the same score. For ps01 the submissions are honest ones of four
kinds (correct, partly right, untouched, numerically unstable); for the other assignments
they alternate between the solution and the untouched release.

Run: ``.venv/bin/python benchmarks/grading/bench.py [--assignment ps05_temperature]
[--n 40] [--workers 2]``
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import corpus as C  # noqa: E402

from autograder import EXERCISES, SOLUTIONS, nbgrader_env  # noqa: E402
from autograder.record import results  # noqa: E402

A = C.A  # the assignment, set by --assignment


def submissions(n: int) -> dict[str, bytes]:
    if A == C.A:
        kinds = [C._bytes(C.build()),
                 C._bytes(C.build({"bernoulli_entropy": C.UNSTABLE})),
                 C._bytes(C.released()),
                 C._bytes(C.build({"entropy": "def entropy(p, base=2):\n    return 0.0\n"}))]
    else:
        kinds = [(folder / A / f"{A}.ipynb").read_bytes() for folder in (SOLUTIONS, EXERCISES)]
    return {f"s{i:03d}": kinds[i % len(kinds)] for i in range(n)}


CPU: dict[str, float] = {}


def child_cpu() -> float:
    """CPU seconds (user + system) of finished child processes and their waited children."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def stock(subs: dict[str, bytes], tmp: Path) -> tuple[float, dict[str, float]]:
    course = tmp / "stock"
    (course / "source" / A).mkdir(parents=True)
    shutil.copy(SOLUTIONS / A / f"{A}.ipynb", course / "source" / A)
    for student, data in subs.items():
        (course / "submitted" / student / A).mkdir(parents=True)
        (course / "submitted" / student / A / f"{A}.ipynb").write_bytes(data)
    db = f"sqlite:///{course}/gradebook.db"
    common = [f"--db={db}", f"--CourseDirectory.root={course}",
              "--CourseDirectory.source_directory=source"]
    env = nbgrader_env(INFOLOSS_COURSE_ROOT=str(course))

    def nbg(*args: str) -> None:
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *args, *common], cwd=ROOT,
                              env=env, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(proc.stderr[-3000:])

    nbg("generate_assignment", A, "--force")
    start, cpu0 = time.monotonic(), child_cpu()
    nbg("autograde", A, "--create")
    seconds = time.monotonic() - start
    CPU["stock"] = child_cpu() - cpu0
    from nbgrader.api import Gradebook

    with Gradebook(db) as gb:
        scores = {s.student.id: s.score for s in gb.find_assignment(A).submissions}
    return seconds, scores


def ours(subs: dict[str, bytes], tmp: Path, workers: int) -> tuple[float, dict, list]:
    folder = tmp / "ours-subs"
    for student, data in subs.items():
        (folder / student).mkdir(parents=True)
        (folder / student / f"{A}.ipynb").write_bytes(data)
    course = tmp / "ours"
    start, cpu0 = time.monotonic(), child_cpu()
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", A, str(folder),
                           "--course", str(course), "--workers", str(workers)], cwd=ROOT,
                          capture_output=True, text=True)
    seconds = time.monotonic() - start
    CPU["ours"] = child_cpu() - cpu0  # the grader; the sandboxed runners report their own
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    rows = results(f"sqlite:///{course / 'gradebook.db'}", A)
    CPU["ours"] += sum(r["payload"].get("runner_cpu", 0.0) for r in rows)
    return seconds, {r["student"]: r["score"] for r in rows}, rows


def main() -> int:
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--assignment", default=C.A)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    A = args.assignment
    if shutil.which("bwrap") is None:
        print("bwrap missing: the benchmark needs the sandbox on", file=sys.stderr)
        return 1
    subs = submissions(args.n)
    load_before = load()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        t_stock, s_stock = stock(subs, Path(tmp))
        load_mid = load()
        t_ours, s_ours, rows = ours(subs, Path(tmp), args.workers)
    load_after = load()
    same = s_stock == s_ours
    ratio = t_stock / t_ours
    per_ours = sum(r["seconds"] for r in rows) / len(rows)
    statuses = sorted({r["status"] for r in rows})
    text = (
        f"\n## {datetime.datetime.now().isoformat(timespec='minutes')}\n\n"
        f"- machine: {platform.node()}, {os.cpu_count()} cores, {platform.processor() or '?'}"
        f", Python {platform.python_version()}; shared with other users\n"
        f"- load average before / between / after: {load_before} / {load_mid} / {load_after}\n"
        f"- {args.n} {A} submissions; our grader with {args.workers} workers, sandbox "
        f"(bubblewrap) and judge on\n"
        f"- stock `nbgrader autograde` (sequential): {t_stock:.1f} s "
        f"({t_stock / args.n:.2f} s per submission)\n"
        f"- `python -m autograder grade`: {t_ours:.1f} s ({t_ours / args.n:.2f} s per "
        f"submission wall; {per_ours:.2f} s per submission inside one worker, including "
        f"sandbox start, notebook and judge probes); statuses {statuses}\n"
        f"- **speed-up: {ratio:.2f}x**; same scores from both graders: {same}\n"
        f"- CPU seconds (user + system, all processes): stock {CPU['stock']:.1f} "
        f"({CPU['stock'] / args.n:.2f} per submission), ours {CPU['ours']:.1f} "
        f"({CPU['ours'] / args.n:.2f} per submission); on an otherwise idle machine with "
        f"{args.workers} cores the CPU-bound ratio would be about "
        f"{CPU['stock'] / CPU['ours'] * min(args.workers, os.cpu_count() or 1):.2f}x "
        "(estimate, not measured)\n")
    print(text)
    if not args.no_write:
        with open(HERE / "RESULTS.md", "a") as f:
            f.write(text)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
