"""Grading benchmark: stock ``nbgrader autograde`` vs ``python -m autograder grade``.

For each problem set, the same 20 submissions (8 solutions, 5 untouched releases, 5
half-right notebooks, one that kills its kernel, one that loops forever) are graded, in
one run of this script, by

* stock nbgrader, as the project runs it (:mod:`autograder.stock`): the solution's
  reference answers computed into the checkout's cache (``warm_references``, timed and
  counted: the cache is emptied first), then ``nbgrader autograde`` over a course folder,
  sequential, no sandbox, no judge, the hidden blocks running the judge's probes in the
  kernel; its cell timeout is set to ours so that the looping notebook costs both the same;
* this course's grader: sandbox (bubblewrap) and judge on, default workers, a cold
  reference cache (a fresh course folder).

Scores are compared where stock's are trustworthy (solutions, releases, half-right; not
the crash, which stock may leave ungraded, nor the loop). It prints and appends to
RESULTS.md a table: wall times, ratio, the grader's own CPU per submission (prepare,
scan, rules, judge, record), the peak memory of a sandbox, the machine and its load.

Run: ``.venv/bin/python benchmarks/grading/bench.py [--assignments ps01_information,...]
[--n 20] [--workers N] [--no-write]``
"""

from __future__ import annotations

import argparse
import copy
import datetime
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from autograder import EXERCISES, SOLUTIONS, nbgrader_env  # noqa: E402
from autograder.grade import make_limits  # noqa: E402
from autograder.markers import drop_solution_markers  # noqa: E402
from autograder.record import results  # noqa: E402
from autograder.reference import CACHE  # noqa: E402
from autograder.spec import load_spec  # noqa: E402

DEFAULT = ["ps04_stability", "ps01_information", "ps05_temperature", "ps03_ce_vs_mse",
           "ps02_divergence", "ps06_lenet"]  # cheapest first
CRASH = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
LOOP = "while True:\n    pass\n"
TRUSTED = ("solution", "release", "half")   # kinds whose stock score is compared


def _answer_ids(nb: nbformat.NotebookNode) -> list[str]:
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.cell_type == "code"
            and c.metadata.get("nbgrader", {}).get("solution")]


def _student_copy(assignment: str) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """(the solution as a student would hand it in, the untouched release)."""
    sol = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    rel = nbformat.read(EXERCISES / assignment / f"{assignment}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: drop_solution_markers(c.source)
               for c in sol.cells if c.metadata.get("nbgrader", {}).get("solution")}
    solved = copy.deepcopy(rel)
    for c in solved.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            c.source = answers[gid]
    return solved, rel


def submissions(assignment: str, n: int) -> dict[str, tuple[str, bytes]]:
    """student -> (kind, notebook bytes): 8 solutions, 5 releases, 5 half-right, a crash and
    a loop per 20, interleaved."""
    solved, rel = _student_copy(assignment)
    half = copy.deepcopy(solved)
    stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in rel.cells
             if c.metadata.get("nbgrader", {}).get("solution")}
    for j, gid in enumerate(_answer_ids(half)):
        if j % 2:  # every second answer left as released
            cell = next(c for c in half.cells
                        if c.metadata.get("nbgrader", {}).get("grade_id") == gid)
            cell.source = stubs[gid]

    def with_cell(src: str) -> nbformat.NotebookNode:
        nb = copy.deepcopy(solved)
        first = next(i for i, c in enumerate(nb.cells)
                     if c.metadata.get("nbgrader", {}).get("solution"))
        nb.cells.insert(first + 1, nbformat.v4.new_code_cell(src))
        return nb

    pattern = ["solution", "release", "half", "solution", "release", "half", "solution",
               "crash", "half", "solution", "release", "half", "solution", "loop", "release",
               "half", "solution", "release", "solution", "solution"]
    built = {"solution": solved, "release": rel, "half": half, "crash": with_cell(CRASH),
             "loop": with_cell(LOOP)}
    return {f"s{i:03d}": (pattern[i % 20], nbformat.writes(built[pattern[i % 20]]).encode())
            for i in range(n)}


def child_cpu() -> float:
    """CPU seconds (user + system) of the finished children and the children they waited for."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


@dataclass
class Run:
    seconds: float
    scores: dict[str, float]
    extra: float = 0.0           # stock: the reference run before autograde (counted)
    grader_cpu: float = 0.0      # ours: CPU per submission outside the sandbox
    process_cpu: float = 0.0     # ours: the grader process's CPU per submission
    memory_peak: int = 0         # ours: the largest sandbox's peak (bytes)
    statuses: tuple[str, ...] = ()
    cpu: float = 0.0             # CPU seconds per submission: stock's processes / our sandboxes
    sandbox_cpu: dict[str, float] | None = None   # ours: each student's sandboxes' CPU


def stock(assignment: str, subs: dict[str, tuple[str, bytes]], tmp: Path,
          cell_timeout: float) -> Run:
    course = tmp / "stock"
    (course / "source" / assignment).mkdir(parents=True)
    shutil.copy(SOLUTIONS / assignment / f"{assignment}.ipynb", course / "source" / assignment)
    for student, (_, data) in subs.items():
        (course / "submitted" / student / assignment).mkdir(parents=True)
        (course / "submitted" / student / assignment / f"{assignment}.ipynb").write_bytes(data)
    db = f"sqlite:///{course}/gradebook.db"
    common = [f"--db={db}", f"--CourseDirectory.root={course}",
              "--CourseDirectory.source_directory=source",
              f"--ExecutePreprocessor.timeout={int(cell_timeout)}",
              f"--Execute.timeout={int(cell_timeout)}"]
    env = nbgrader_env(INFOLOSS_COURSE_ROOT=str(course))

    def nbg(*args: str) -> None:
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *args, *common], cwd=ROOT,
                              env=env, capture_output=True, text=True)
        if proc.returncode and args[0] != "autograde":  # a dead kernel fails autograde's rc
            raise RuntimeError(proc.stderr[-3000:])

    nbg("generate_assignment", assignment, "--force")
    for old in (ROOT / CACHE).glob(f"{assignment}-*"):   # cold, like ours
        old.unlink()
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "import sys; from autograder.checks import "
                    "warm_references; warm_references(sys.argv[1])", assignment],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    reference = time.monotonic() - start
    cpu0 = child_cpu()
    nbg("autograde", assignment, "--create")
    seconds = time.monotonic() - start
    cpu = (child_cpu() - cpu0) / len(subs)
    from nbgrader.api import Gradebook

    with Gradebook(db) as gb:
        scores = {s.student.id: s.score for s in gb.find_assignment(assignment).submissions}
    return Run(seconds, scores, extra=reference, cpu=cpu)


def ours(assignment: str, subs: dict[str, tuple[str, bytes]], tmp: Path,
         workers: int | None, scheduler: str | None = None) -> Run:
    folder = tmp / "ours-subs"
    for student, (_, data) in subs.items():
        (folder / student).mkdir(parents=True)
        (folder / student / f"{assignment}.ipynb").write_bytes(data)
    course = tmp / "ours"
    cmd = [sys.executable, "-m", "autograder", "grade", assignment, str(folder),
           "--course", str(course)] + (["--workers", str(workers)] if workers else []) + (
           ["--scheduler", scheduler] if scheduler else [])
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if proc.returncode:
        raise RuntimeError(proc.stdout[-2000:] + proc.stderr[-3000:])
    rows = results(f"sqlite:///{course / 'gradebook.db'}", assignment)
    m = re.search(r"grader CPU per judged submission: ([\d.]+) s in prepare.*?; ([\d.]+) s in "
                  r"this process", proc.stdout)
    return Run(seconds, {r["student"]: r["score"] for r in rows},
               grader_cpu=float(m[1]) if m else float("nan"),
               process_cpu=float(m[2]) if m else float("nan"),
               memory_peak=max((r["payload"].get("memory_peak") or 0) for r in rows),
               statuses=tuple(sorted({r["status"] for r in rows})),
               cpu=sum(r["payload"].get("sandbox_cpu") or 0.0 for r in rows) / len(rows),
               sandbox_cpu={r["student"]: r["payload"].get("sandbox_cpu") or 0.0 for r in rows})


def cpu_by_kind(subs: dict[str, tuple[str, bytes]], run: Run) -> str:
    """Mean sandbox CPU seconds per kind of submission (solution, release, ...), the
    part of ``run.cpu`` that each kind costs."""
    by: dict[str, list[float]] = {}
    for student, seconds in (run.sandbox_cpu or {}).items():
        by.setdefault(subs[student][0], []).append(seconds)
    return ", ".join(f"{kind} {sum(v) / len(v):.2f}" for kind, v in sorted(by.items()))


def fork_state() -> str:
    """Whether the grader forks its runners from a warm zygote here (and why not)."""
    from autograder.forkserver import usable

    why = usable(make_limits(None))
    return "on" if why is None else f"off ({why})"


def clock_state() -> str:
    """Which clock the grader's time limits are counted on here."""
    from autograder.clock import describe

    return describe(make_limits(None).timeout_clock).removeprefix("time limits: ")


def one(assignment: str, n: int, workers: int | None) -> tuple[str, str]:
    """(table row, details) for one problem set."""
    subs = submissions(assignment, n)
    limits = make_limits(load_spec(assignment))
    before = load()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        s = stock(assignment, subs, Path(tmp), limits.chunk_timeout)
        mid = load()
        o = ours(assignment, subs, Path(tmp), workers)
    after = load()
    kinds = {st: kind for st, (kind, _) in subs.items()}
    differ = {st: (s.scores.get(st), o.scores.get(st)) for st in subs
              if kinds[st] in TRUSTED and s.scores.get(st) != o.scores.get(st)}
    ratio = s.seconds / o.seconds
    row = (f"| {assignment} | {n} | {s.seconds:.1f} (ref {s.extra:.1f}) | {o.seconds:.1f} | "
           f"**{ratio:.2f}x** | {o.grader_cpu:.3f} / {o.process_cpu:.3f} | "
           f"{o.memory_peak / 2**20:.0f} | {before} / {mid} / {after} | "
           f"{'yes' if not differ else 'NO'} |")
    untrusted = {st: (kinds[st], s.scores.get(st), o.scores.get(st)) for st in subs
                 if kinds[st] not in TRUSTED}
    details = (f"- {assignment}: CPU-s per submission: stock {s.cpu:.2f} (kernel and nbgrader), "
               f"ours {o.cpu:.2f} in the sandbox ({cpu_by_kind(subs, o)}) + "
               f"{o.process_cpu:.2f} in the grader; statuses "
               f"{list(o.statuses)}; crash/loop (stock, ours): "
               f"{sorted(set(untrusted.values()))}"
               + (f"; scores that differ (stock, ours): {differ}" if differ else "") + "\n")
    return row, details


def scale(assignment: str, n: int, workers: int | None, dask_workers: int | None) -> str:
    """Our grader alone on ``n`` submissions (locally, or on a loopback Dask cluster of
    ``dask_workers`` single-threaded worker processes): one line for RESULTS.md."""
    subs = submissions(assignment, n)
    before = load()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        if dask_workers:
            from distributed import LocalCluster

            with LocalCluster(n_workers=dask_workers, threads_per_worker=1, processes=True,
                              host="127.0.0.1", dashboard_address=None) as cluster:
                o = ours(assignment, subs, Path(tmp), None, cluster.scheduler_address)
        else:
            o = ours(assignment, subs, Path(tmp), workers)
    where = (f"Dask on loopback, {dask_workers} worker(s)" if dask_workers
             else f"local, {workers or 'default'} workers")
    return (f"- {assignment}, {n} submissions, ours only ({where}): {o.seconds:.1f} s "
            f"({o.seconds / n:.2f} s per submission); grader CPU {o.grader_cpu:.3f} / "
            f"{o.process_cpu:.3f} s per submission; sandbox CPU-s per submission "
            f"{o.cpu:.2f} ({cpu_by_kind(subs, o)}); statuses {list(o.statuses)}; load "
            f"{before} / {load()}\n")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--assignments", default=",".join(DEFAULT))
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--workers", type=int, default=None, help="default: the grader's default")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--ours-only", action="store_true",
                    help="our grader alone (the 200-submission projection run)")
    ap.add_argument("--dask-workers", type=int, default=None,
                    help="with --ours-only: a loopback Dask cluster of this many workers")
    args = ap.parse_args()
    if shutil.which("bwrap") is None:
        print("bwrap missing: the benchmark needs the sandbox on", file=sys.stderr)
        return 1
    if args.ours_only:
        for assignment in args.assignments.split(","):
            line = scale(assignment, args.n, args.workers, args.dask_workers)
            print(line, end="")
            if not args.no_write:
                with open(HERE / "RESULTS.md", "a") as f:
                    f.write(line)
        return 0
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    head = (f"\n## {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC\n\n"
            f"Machine: {platform.node()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python "
            f"{platform.python_version()}, shared with other users; our grader with "
            f"{args.workers or 'the default'} workers, sandbox and judge on, fork server "
            f"{fork_state()}, {clock_state()}, cold reference cache for both.\n\n"
            "| problem set | n | stock s (reference run) | ours s | ratio | grader CPU s per "
            "submission (stages / process) | sandbox peak MiB | load 1/5 min before / "
            "between / after | same scores |\n|---|---|---|---|---|---|---|---|---|\n")

    def write(text: str) -> None:   # row by row: an interrupted run keeps what it measured
        print(text, end="", flush=True)
        if not args.no_write:
            with open(HERE / "RESULTS.md", "a") as f:
                f.write(text)

    write(head)
    rows, details = [], []
    # A run stopped with SIGTERM (or ^C) still writes the details of the rows it has.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        for assignment in args.assignments.split(","):
            row, detail = one(assignment, args.n, args.workers)
            write(row + "\n")
            rows.append(row)
            details.append(detail)
    finally:
        write("\n" + "".join(details))
    return 0 if all("| yes |" in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
