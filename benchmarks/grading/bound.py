"""Why grading cannot go much lower on this machine: the CPU of one submission, split, and
the best ratio any grader could reach on two cores (issue 15).

For each problem set, one submission of each kind the benchmark grades (a solution, an
untouched release, a half-right notebook: ``bench.submissions``) is prepared as ``grade``
prepares it and run by the runner's own code (:mod:`autograder.runner`: the IPython shell,
``_run_chunks``, ``_run_probes``) in a fresh interpreter, without bubblewrap, with the
sandbox's environment (one BLAS/OpenMP thread, a fresh home, so ps06 compiles its C
LeNet as every sandbox does). The CPU (user + system, of the process and of the children
it waited for: the C compiler, the LeNet binaries) is read at every event:

* (a) interpreter start and every import the run needs;
* (b) the notebook's own cells (setup, answers, visible tests, added cells): the student's
  work, which stock nbgrader runs too;
* (c) the judge's side in the sandbox: hidden test chunks and probes.

Each kind runs twice: once as a sandbox runs it (the spec's ``WARM`` list, imports paid
where the notebook makes them), and once with every module the first run ended with
imported before the first cell, so that (b) and (c) hold no import at all.

The bound: with free imports (and free probes), the class's CPU is the sum of (b) + (c)
(or of (b) alone) over the 20 submissions, plus the solution's reference run (its setup and
answer cells and its probes; the benchmark's cache is cold). Two cores cannot do it in less
than half of that, and the looping submission holds one worker for the full cell timeout
and then runs the rest of its notebook again: ``best = stock_wall / max(loop_floor,
class_cpu / 2)``. The crash is counted as one solution's work (it is more: its first part
runs twice), so the bound is an upper bound. ``stock_wall`` is the latest table row of
``bench.py`` in RESULTS.md (the same run as the measured ratio; on a loaded machine that
wall time holds waiting as well, so the bound is generous to us); ``stock_cpu`` (stock's
processes, per submission, times n, plus its reference run's wall) is what stock would need
on an idle machine, hence the last column.

Run: ``.venv/bin/python benchmarks/grading/bound.py [--assignments ps01_information,...]
[--no-write]``; the child mode (``--child JOBDIR``) is the measured run itself.
"""

from __future__ import annotations

import json
import os
import re
import resource
import sys
from dataclasses import dataclass
from pathlib import Path


def _cpu() -> float:
    """CPU seconds of this process and of the children it waited for."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class _Stamps:
    """Stands in for the runner's event channel: the CPU at each event."""

    def __init__(self) -> None:
        self.log: list[tuple[str, int | None, float]] = []

    def send(self, ev: str, **fields) -> None:
        key = fields.get("i", fields.get("k"))
        self.log.append((ev, key, _cpu()))


def child(jobdir: str) -> int:
    """The measured run (a fresh interpreter): warm imports, preloads, cells, probes."""
    import importlib

    start = _cpu()   # interpreter start, site, this module's standard-library imports
    import autograder.runner as runner

    for name in filter(None, os.environ.get("AUTOGRADER_WARM", "numpy").split(",")):
        importlib.import_module(name)
    warm = _cpu()
    with open(os.path.join(jobdir, "job.json")) as f:
        job = json.load(f)
    for name in job.get("preload", []):
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 (an alias or a module that needs its parent's state)
            pass
    shell = runner.make_shell()
    ready = _cpu()
    os.chdir(job["workdir"])
    stamps = _Stamps()
    runner._run_chunks(shell, {"chunks": job["chunks"]}, stamps)
    runner._run_chunks(shell, {"chunks": job["hidden"]}, stamps, hidden=True)
    runner._run_probes(shell, {"probes": job["probes"], "outdir": job["outdir"]}, jobdir,
                       stamps)
    end = _cpu()
    pieces: dict[str, float] = {}
    opened: dict[tuple[str, int | None], float] = {}
    for ev, key, cpu in stamps.log:
        what = ev.split("_")[0]
        if ev.endswith("_start"):
            opened[(what, key)] = cpu
        elif (what, key) in opened:
            pieces[f"{what}:{key}"] = cpu - opened.pop((what, key))
    out = {"start": start, "warm": warm - start, "preload": ready - warm, "end": end,
           "pieces": pieces, "modules": [m for m in sys.modules if m != "__main__"]}
    with open(os.path.join(jobdir, "result.json"), "w") as f:
        json.dump(out, f)
    sys.stdout.flush()
    os._exit(0)


@dataclass(frozen=True)
class Split:
    """One submission's CPU seconds, split as the brief asks."""

    imports: float      # (a) interpreter start + imports (+ the shell)
    cells: float        # (b) the notebook's own cells
    probes: float       # (c) hidden chunks + probes
    reference: float    # what the solution's reference run needs of (b) + (c) (solution only)
    reference_cells: float  # ... of (b) alone
    sandboxed: float    # the whole first run, as a sandbox runs it (imports where made)


@dataclass(frozen=True)
class Bound:
    """The best ratio a grader could reach on ``cores`` cores."""

    class_cells: float      # sum of (b) over the class, the reference run included
    class_probes: float     # sum of (c) ...
    floor_probes: float     # the looping submission's own critical path, probes paid
    floor_free: float       # ... probes free
    with_probes: float      # stock_wall / max(floor, class (b)+(c) / cores)
    free_probes: float      # stock_wall / max(floor, class (b) / cores)
    idle_with_probes: float  # the same against stock's CPU (stock on an idle machine)
    idle_free_probes: float
    no_loop_paid: float     # without the looping notebook, imports paid as a sandbox pays
                            # them: (stock_cpu - timeout) / (the class's sandboxed CPU / cores)


def bound(splits: dict[str, Split], counts: dict[str, int], loop_timeout: float,
          stock_wall: float, stock_cpu: float, cores: int = 2) -> Bound:
    """The ratio bounds from the splits of the kinds (``solution``, ``release``, ``half``)
    and how many of each kind the class has (``crash`` and ``loop`` are solutions with one
    extra cell: the crash counts as one solution's work, the loop as one solution plus the
    cell timeout of CPU spent looping)."""
    sol = splits["solution"]
    work = dict(counts)
    extra = work.pop("crash", 0) + work.pop("loop", 0)
    work["solution"] = work.get("solution", 0) + extra
    cells = sum(n * splits[k].cells for k, n in work.items()) + sol.reference_cells
    cells += loop_timeout * counts.get("loop", 0)
    probes = sum(n * splits[k].probes for k, n in work.items()) + \
        (sol.reference - sol.reference_cells)
    has_loop = counts.get("loop", 0) > 0
    floor_p = (loop_timeout + sol.cells + sol.probes) if has_loop else 0.0
    floor_f = (loop_timeout + sol.cells) if has_loop else 0.0
    best_p = max(floor_p, (cells + probes) / cores)
    best_f = max(floor_f, cells / cores)
    # without the looping notebook, each other one (and the reference run) at its sandboxed CPU
    loops = counts.get("loop", 0)
    paid = sum(n * splits[k].sandboxed for k, n in work.items()) - loops * sol.sandboxed
    no_loop = (stock_cpu - loop_timeout * loops) / ((paid + sol.sandboxed) / cores)
    return Bound(cells, probes, floor_p, floor_f, stock_wall / best_p, stock_wall / best_f,
                 stock_cpu / best_p, stock_cpu / best_f, no_loop)


def reachable(measured: float, with_probes: float, free_probes: float, target: float) -> str:
    """Whether ``target`` is reachable on this machine, and at what price."""
    if measured >= target:
        return "met"
    if free_probes < target:
        return "no, not even with free imports and free probes"
    if with_probes < target:
        return "only if the probes were free as well as the imports"
    return "at best: only with free imports and the looping notebook started first"


ROW = re.compile(r"^\| (ps\d\d_\w+) \| (\d+) \| ([\d.]+) \(ref ([\d.]+)\) \| ([\d.]+) \| "
                 r"\*\*([\d.]+)x\*\* \|")
DETAIL = re.compile(r"^- (ps\d\d_\w+): CPU-s per submission: stock ([\d.]+) \(kernel")
HEADING = re.compile(r"^## (\d{4}-\d\d-\d\d[ T]\d\d:\d\d)")


@dataclass(frozen=True)
class Measured:
    """One problem set's latest ``bench.py`` result in RESULTS.md."""

    n: int
    stock_wall: float
    stock_reference: float
    ours: float
    ratio: float
    stock_cpu_per_submission: float | None
    when: str = ""               # the heading of the run the row belongs to
    cpu_from_earlier: bool = False  # the latest run wrote no details line (it was stopped
                                    # early): stock's CPU is the previous run's


def latest_runs(text: str) -> dict[str, Measured]:
    """The last row (and its details line) of each problem set in ``bench.py``'s tables;
    when that run has no details line for it, the CPU of the previous one, flagged."""
    rows: dict[str, tuple] = {}
    cpu: dict[str, float] = {}
    earlier: dict[str, float] = {}
    when = ""
    for line in text.splitlines():
        if m := HEADING.match(line):
            when = m[1]
        elif m := ROW.match(line):
            rows[m[1]] = (int(m[2]), float(m[3]), float(m[4]), float(m[5]), float(m[6]), when)
            if m[1] in cpu:   # a details line belongs to the row above it
                earlier[m[1]] = cpu.pop(m[1])
        elif m := DETAIL.match(line):
            cpu[m[1]] = float(m[2])
    out = {}
    for a, (*numbers, at) in rows.items():
        mine = cpu.get(a)
        out[a] = Measured(*numbers, mine if mine is not None else earlier.get(a), at,
                          mine is None and a in earlier)
    return out


def _measure(assignment: str, data: bytes, preload: list[str], tmp: Path) -> dict:
    """One run of the child on a prepared submission; its result.json."""
    import subprocess

    import nbformat

    from autograder.grade import assignment_context
    from autograder.prepare import prepare

    ctx = assignment_context(assignment)
    chunks = prepare(ctx.instructor, nbformat.reads(data.decode(), as_version=4)).chunks
    jobdir = tmp / "job"
    for sub in ("home", "out", "work"):
        (tmp / sub).mkdir(parents=True)
    jobdir.mkdir()
    (jobdir / "inputs.npz").write_bytes(ctx.inputs)
    job = {"chunks": [c for c in chunks if c["role"] != "test_hidden"],
           "hidden": [c for c in chunks if c["role"] == "test_hidden"],
           "probes": ctx.probes, "workdir": str(tmp / "work"), "outdir": str(tmp / "out"),
           "preload": preload}
    (jobdir / "job.json").write_text(json.dumps(job))
    home = str(tmp / "home")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": home,
           "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{home}/.mpl",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
           "AUTOGRADER_WARM": ",".join(ctx.limits.warm)}   # as sandbox._env sets it
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(jobdir)],
                   env=env, cwd=tmp / "work", check=True, timeout=1200,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    res = json.loads((jobdir / "result.json").read_text())
    res["roles"] = {f"chunk:{c['i']}": c["role"] for c in chunks}
    return res


def split(assignment: str, data: bytes, tmp: Path) -> Split:
    """(a), (b), (c) of one submission: a run as the sandbox does it, then one with every
    module that run ended with imported first."""
    first = _measure(assignment, data, [], tmp / "first")
    second = _measure(assignment, data, first["modules"], tmp / "second")
    pieces, roles = second["pieces"], second["roles"]
    cells = sum(v for k, v in pieces.items() if roles.get(k, "test_hidden") != "test_hidden")
    probes = sum(pieces.values()) - cells
    ref_cells = sum(v for k, v in pieces.items() if roles.get(k) in ("setup", "solution"))
    probe_only = sum(v for k, v in pieces.items() if k.startswith("probe:"))
    imports = second["start"] + second["warm"] + second["preload"]
    return Split(imports, cells, probes, ref_cells + probe_only, ref_cells, first["end"])


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        return child(sys.argv[2])
    import argparse
    import tempfile
    from collections import Counter

    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    import bench

    from autograder.grade import make_limits
    from autograder.spec import load_spec

    ap = argparse.ArgumentParser()
    ap.add_argument("--assignments", default=",".join(bench.DEFAULT))
    ap.add_argument("--results", default=str(here / "RESULTS.md"))
    ap.add_argument("--splits", default=None,
                    help="JSON file of measured splits: read if it exists, else written")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    saved = {}
    if args.splits and Path(args.splits).exists():
        saved = json.loads(Path(args.splits).read_text())
    runs = latest_runs(Path(args.results).read_text())
    head = ("\n| problem set | (a) start + imports | (b) cells | (c) probes | (a)+(b)+(c) / as "
            "sandboxed | stock CPU | loop cell | measured ratio | bound, free imports | "
            "bound, free imports and probes | idle bound (stock CPU), free imports / and "
            "probes | no loop, imports paid | target | reachable on 2 cores (idle bound) |\n"
            + "|---" * 14 + "|\n")
    lines: list[str] = []
    notes: list[str] = []
    for assignment in args.assignments.split(","):
        subs = bench.submissions(assignment, 20)
        counts = Counter(kind for kind, _ in subs.values())
        if assignment in saved:
            splits = {k: Split(**v) for k, v in saved[assignment].items()}
        else:
            firsts: dict[str, bytes] = {}
            for kind, data in subs.values():
                firsts.setdefault(kind, data)
            with tempfile.TemporaryDirectory(prefix="bench-bound-") as tmp:
                splits = {k: split(assignment, firsts[k], Path(tmp) / k)
                          for k in ("solution", "release", "half")}
            saved[assignment] = {k: v.__dict__ for k, v in splits.items()}
            if args.splits:
                Path(args.splits).write_text(json.dumps(saved, indent=1))
        timeout = make_limits(load_spec(assignment)).chunk_timeout
        run = runs.get(assignment)
        target = 2.0 if assignment == "ps06_lenet" else 4.0
        s = splits["solution"]
        per = (f"{s.imports:.2f} | {s.cells:.2f} | {s.probes:.2f} | "
               f"{s.imports + s.cells + s.probes:.2f} / {s.sandboxed:.2f}")
        print(assignment, json.dumps(saved[assignment]), file=sys.stderr, flush=True)
        if run is None or run.n != 20:
            lines.append(f"| {assignment} | {per} | - | {timeout:.0f} s | no 20-submission "
                         f"run in RESULTS.md | | | | | {target:.0f}x | |\n")
            continue
        stock_cpu = (run.stock_cpu_per_submission or 0.0) * run.n + run.stock_reference
        b = bound(splits, dict(counts), timeout, run.stock_wall, stock_cpu)
        # on this machine without other jobs, stock needs about its CPU time (sequential);
        # a loaded run's stock wall holds waiting that ours did not have to match
        verdict = reachable(run.ratio, b.idle_with_probes, b.idle_free_probes, target)
        loaded = reachable(run.ratio, b.with_probes, b.free_probes, target)
        if loaded != verdict:
            verdict += f" (against this run's stock wall: {loaded})"
        flag = " (earlier run)" if run.cpu_from_earlier else ""
        lines.append(f"| {assignment} ({run.when}) | {per} | "
                     f"{run.stock_cpu_per_submission or 0:.2f}{flag} | "
                     f"{timeout:.0f} s | {run.ratio:.2f}x | {b.with_probes:.2f}x | "
                     f"{b.free_probes:.2f}x | {b.idle_with_probes:.2f}x / "
                     f"{b.idle_free_probes:.2f}x | {b.no_loop_paid:.1f}x | {target:.0f}x | "
                     f"{verdict} |\n")
        print(assignment, json.dumps(b.__dict__), file=sys.stderr, flush=True)
        kinds = "; ".join(f"{k} {v.imports:.2f} / {v.cells:.2f} / {v.probes:.2f}"
                          for k, v in splits.items())
        notes.append(f"- {assignment}: (a) / (b) / (c) CPU-s per submission: {kinds}; the "
                     f"class ({dict(counts)}) with the reference run: (b) {b.class_cells:.1f} "
                     f"CPU-s (the loop's {timeout:.0f} s included), (c) {b.class_probes:.1f}; "
                     f"the looping notebook's own path {b.floor_probes:.1f} s "
                     f"({b.floor_free:.1f} with free probes); stock {run.stock_wall:.1f} s "
                     f"wall, {stock_cpu:.1f} CPU-s with its reference run\n")
    table = head + "".join(lines) + "\n" + "".join(notes)
    print(table)
    if not args.no_write:
        with open(args.results, "a") as f:
            f.write(f"\n### CPU split per solution submission and ratio bounds (bound.py, "
                    f"load {os.getloadavg()[0]:.1f})\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
