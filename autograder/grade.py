"""Grade: collect -> prepare + scan -> execute (sandboxed, in parallel) -> judge -> record.

Execution fans out to local worker threads (each drives one sandboxed runner process and
keeps a warm spare) or, with ``scheduler``, to a Dask distributed cluster. Judging and
recording happen here, in this process, one submission at a time as results arrive: the
gradebook has a single writer.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from . import SOLUTIONS, clock
from .collect import Ignored, intake
from .execute import RawResult, WarmPool, run
from .forkserver import usable as forking_off
from .judge import Verdict, judge, malformed
from .markers import release_view
from .prepare import Cell, Instructor, prepare
from .record import Recorder, db_url
from .reference import reference_answers
from .rules import broken_rules
from .sandbox import Limits, limits_banner, sandbox_warning
from .scan import names_used_by_tests, scan
from .scratch import remove_stale
from .spec import Spec, encode_inputs, load_spec


@dataclass
class Task:
    student: str
    digest: str
    job: dict
    definition_chunks: set[int]
    flags: list[str]
    notes: list[str]
    manual_answers: dict[str, str]
    broken: dict = field(default_factory=dict)   # Rule -> what breaks it
    host_cpu: float = 0.0   # CPU seconds this process spent preparing it (prepare, scan, rules)


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    path = SOLUTIONS / assignment / f"{assignment}.ipynb"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `python -m autograder release` first")
    return nbformat.read(path, as_version=4)


def make_limits(spec: Spec | None, **overrides) -> Limits:
    limits = Limits()
    if spec is not None:
        limits = replace(limits, warm=tuple(spec.warm), **spec.limits)
    return replace(limits, **{k: v for k, v in overrides.items() if v is not None})


@dataclass
class AssignmentContext:
    """What the grader knows about one assignment, derived once per ``grade`` run and shared
    by prepare, scan, judge and the payload builder (nothing of the instructor notebook is
    re-derived per submission)."""

    name: str
    source_nb: nbformat.NotebookNode
    instructor: Instructor
    spec: Spec | None
    probes: list[dict]          # the probes as the runner reads them
    inputs: bytes               # their array inputs (.npz)
    guarded: set[str]           # names the tests rely on (static scan)
    limits: Limits
    visible_tests: dict[str, str]   # test cell grade_id -> its released (visible) source

    @property
    def cells(self) -> list[Cell]:
        return self.instructor.cells


def assignment_context(assignment: str, **limit_overrides) -> AssignmentContext:
    source_nb = source_notebook(assignment)
    instructor = Instructor.from_notebook(source_nb)
    spec = load_spec(assignment)
    probes, inputs = encode_inputs(spec.probes if spec is not None else [])
    guarded = names_used_by_tests([c.source for c in instructor.cells if c.cell_type == "code"
                                   and c.locked and not c.grade])
    visible = {instructor.cells[j].grade_id: release_view(instructor.cells[j].source)
               for j in instructor.test_parts}
    return AssignmentContext(assignment, source_nb, instructor, spec, probes, inputs, guarded,
                             make_limits(spec, **limit_overrides), visible)


_WORKER_POOLS: dict[str, WarmPool] = {}
_WORKER_POOLS_LOCK = threading.Lock()


def _worker_pool(limits: Limits) -> WarmPool:
    """The pool of this Dask worker process for ``limits``: its threads fork from their own
    zygotes across tasks (closed when the worker exits)."""
    import atexit
    import json

    key = json.dumps(limits.to_dict(), sort_keys=True, default=str)
    with _WORKER_POOLS_LOCK:
        pool = _WORKER_POOLS.get(key)
        if pool is None:
            pool = _WORKER_POOLS[key] = WarmPool(limits, pending=0)   # no cold spares
            atexit.register(pool.close)
    return pool


def execute_task(job: dict, inputs: bytes, limits: dict, definition_chunks: set[int]) -> RawResult:
    """One submission's sandboxed run; the unit of work sent to Dask workers."""
    lim = Limits(**limits)
    return run(job, inputs, lim, _worker_pool(lim), definition_chunks)


def _progress(done: int, total: int, start: float) -> None:
    if not sys.stderr.isatty() and done not in (total,) and done % 10:
        return
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                     f"{time.monotonic() - start:5.1f} s")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def payload_for(verdict: Verdict, task: Task | None, raw: RawResult | None,
                ctx: AssignmentContext) -> dict:
    """What feedback and reports need: no hidden source, input or traceback."""
    visible = {}
    if task is not None and raw is not None:
        for chunk in task.job["chunks"]:
            if chunk["role"] == "test_visible":
                run_ = raw.chunks.get(chunk["i"])
                visible[chunk["grade_id"]] = {
                    "source": ctx.visible_tests[chunk["grade_id"]],
                    "output": run_.output if run_ else "",
                    "ok": run_.ok if run_ else None,
                    "error": f"{run_.ename}: {run_.evalue}" if run_ and run_.ename else None,
                    "failure": run_.failure if run_ else "not run"}
    slow = []
    if raw is not None and task is not None:
        slow = sorted(((round(c.seconds, 3), i) for i, c in raw.chunks.items()), reverse=True)[:3]
    errors = []
    if raw is not None and task is not None:
        for chunk in task.job["chunks"]:
            run_ = raw.chunks.get(chunk["i"])
            if run_ and (run_.ename or run_.failure) and not chunk["role"].startswith("test_"):
                errors.append({"chunk": chunk["i"], "role": chunk["role"],
                               "error": run_.ename or run_.failure})
    return {"status": verdict.status, "chunk_errors": errors,
            "runner_cpu": round(raw.cpu, 3) if raw is not None else 0.0, "reasons": verdict.reasons,
            "student_notes": verdict.student_notes,
            **_usage(raw),
            "cells": {g: {"score": c.score, "max_score": c.max_score, "judged": c.judged,
                          "notebook_passed": c.notebook_passed, "probes": c.probes}
                      for g, c in verdict.cells.items()},
            "visible": visible, "slowest_chunks": slow,
            "manual_answers": task.manual_answers if task else {},
            "runner_stderr": raw.stderr if raw is not None else []}


def make_task(ctx: AssignmentContext, sub) -> Task:
    """Prepare, scan and check the rules of one well-formed submission (no code runs)."""
    prepared = prepare(ctx.instructor, sub.notebook)
    kernel = (sub.notebook.metadata.get("kernelspec") or {}).get("name")
    notes = list(prepared.notes) + sub.notes   # e.g. converted from nbformat 3
    if kernel not in (None, "python3"):
        notes.append(f"kernel {kernel!r} in the notebook; graded with Python 3")
    broken = {}
    if ctx.spec is not None and ctx.spec.rules:
        ran = [c["source"] for c in prepared.chunks if c["role"] != "test_visible"]
        broken = broken_rules(ctx.spec.rules, ran)
    return Task(sub.student, sub.digest, {"chunks": prepared.chunks, "probes": ctx.probes},
                prepared.definition_chunks, scan(sub.notebook, ctx.guarded, prepared.locked),
                notes, prepared.manual_answers, broken)


def _run_on_dask(scheduler: str, ctx: AssignmentContext, tasks: list[Task], finish) -> None:
    from distributed import Client
    from distributed import as_completed as dask_completed

    with Client(scheduler, timeout="30s") as client:
        futures = {client.submit(execute_task, t.job, ctx.inputs, ctx.limits.to_dict(),
                                 t.definition_chunks, pure=False,
                                 key=f"grade-{ctx.name}-{t.student}-{t.digest[:8]}"): t
                   for t in tasks}
        for fut in dask_completed(futures):
            finish(futures[fut], fut.result())


def _run_locally(workers: int, ctx: AssignmentContext, tasks: list[Task], finish) -> None:
    pool = WarmPool(ctx.limits, pending=len(tasks))
    try:
        with ThreadPoolExecutor(max_workers=workers) as ex:
            def work(t: Task) -> RawResult:
                raw = run(t.job, ctx.inputs, ctx.limits, pool, t.definition_chunks)
                pool.refill()   # the next submission on this thread starts warm
                return raw
            futures = {ex.submit(work, t): t for t in tasks}
            try:
                for fut in as_completed(futures):
                    finish(futures[fut], fut.result())
            except BaseException:  # a broken solution or ^C: start nothing new
                for fut in futures:
                    fut.cancel()
                raise
    finally:
        pool.close()
        for note in dict.fromkeys(pool.notes):   # each once, in order
            print(f"fork server: {note}", file=sys.stderr)


def _usage(raw: RawResult | None) -> dict:
    """The cgroup's account of a run (absent under the rlimit fallback)."""
    if raw is None or raw.cpu_all is None:
        return {}
    return {"sandbox_cpu": round(raw.cpu_all, 3), "memory_peak": raw.memory_peak,
            "limits_hit": raw.limits_hit}


def grade(assignment: str, submissions: Path, course: Path, db: str | None = None,
          workers: int | None = None, scheduler: str | None = None, quiet: bool = False,
          **limit_overrides) -> list[tuple[str, Verdict]]:
    """Grade every submission of ``assignment`` in ``submissions``; returns the verdicts."""
    start = time.monotonic()
    stale = remove_stale()   # scratch left by graders that were killed
    if stale:
        print(f"removed {len(stale)} scratch folder(s) of graders that are gone", file=sys.stderr)
    ctx = assignment_context(assignment, **limit_overrides)
    warning = sandbox_warning(ctx.limits)
    print(limits_banner(ctx.limits), file=sys.stderr)
    print(clock.describe(ctx.limits.timeout_clock), file=sys.stderr)
    why_not = forking_off(ctx.limits)
    print("fork server: " + ("on (one warm zygote per worker, a fresh fork per submission)"
                             if why_not is None else f"off ({why_not})"), file=sys.stderr)
    if warning:
        print("\n" + "!" * 78 + f"\n{warning}\n" + "!" * 78 + "\n", file=sys.stderr)
    if ctx.spec is None:
        print(f"note: {assignment} has no judge spec (solutions/{assignment}/judge.py): "
              "scores come from the notebook's own tests, run in the sandbox", file=sys.stderr)
    # The solution's answers are computed (or read from the course's cache) beside the
    # first submissions; judging waits for them. A solution that fails its own spec stops
    # the run before any submission is judged.
    ref_pool = ThreadPoolExecutor(max_workers=1)
    ref_future = ref_pool.submit(
        lambda: [] if ctx.spec is None else reference_answers(
            assignment, ctx.source_nb, ctx.spec, ctx.limits, Path(course)))
    taken = intake(Path(submissions), assignment)
    subs = taken.submissions
    Path(course).mkdir(parents=True, exist_ok=True)
    recorder = Recorder(db_url(course, db), assignment, ctx.cells)
    verdicts: list[tuple[str, Verdict]] = []
    tasks: list[Task] = []
    cpu_start = time.process_time()
    host_cpu: list[float] = []   # per judged submission: prepare + scan + rules + judge + record
    for sub in subs:
        if sub.problem:
            v = malformed(ctx.cells, sub.problem)
            v.reasons += sub.notes
            recorder.record(sub.student, v, sub.digest, payload_for(v, None, None, ctx))
            verdicts.append((sub.student, v))
        else:
            t0 = time.thread_time()
            tasks.append(make_task(ctx, sub))
            tasks[-1].host_cpu = time.thread_time() - t0

    def finish(task: Task, raw: RawResult) -> None:
        references = ref_future.result()
        t0 = time.thread_time()   # this thread only: the workers' supervision is not counted
        v = judge(ctx.cells, task.job["chunks"], raw, ctx.spec, references,
                  task.flags, task.notes, task.broken)
        v.manual_answers = task.manual_answers
        payload = payload_for(v, task, raw, ctx)
        payload["grader_cpu"] = round(task.host_cpu + time.thread_time() - t0, 4)
        recorder.record(task.student, v, task.digest, payload)
        host_cpu.append(task.host_cpu + time.thread_time() - t0)
        verdicts.append((task.student, v))
        if not quiet:
            _progress(len(verdicts), len(subs), start)

    try:
        if scheduler:
            _run_on_dask(scheduler, ctx, tasks, finish)
        else:
            _run_locally(workers or os.cpu_count() or 1, ctx, tasks, finish)
        ref_future.result()  # raises when the solution fails its spec, even with no tasks
    finally:
        recorder.close()
        ref_pool.shutdown(cancel_futures=True)
    verdicts.sort()
    if not quiet:
        print_summary(verdicts, time.monotonic() - start, taken.left_out)
        print(grader_cpu_line(host_cpu, time.process_time() - cpu_start))
        if warning:
            print(warning, file=sys.stderr)
    return verdicts


def grader_cpu_line(per_submission: list[float], process: float) -> str:
    """The grader's own CPU (issue 15 asks at most 0.3 s per submission outside the sandbox)."""
    n = max(len(per_submission), 1)
    return (f"grader CPU per judged submission: {sum(per_submission) / n:.3f} s in prepare, scan, "
            f"rules, judge and record; {process / n:.3f} s in this process with the sandboxes' "
            "supervision")


def print_summary(verdicts: list[tuple[str, Verdict]], seconds: float,
                  ignored: list[Ignored] = ()) -> None:
    from collections import Counter

    width = min(max([len(s) for s, _ in verdicts] + [7]), 40)
    print(f"{'student':<{width}}  {'score':>11}  status")
    for student, v in verdicts:
        shown = student if len(student) <= width else student[:width - 3] + "..."
        print(f"{shown:<{width}}  {v.score:5.1f}/{v.max_score:<5.1f}  {v.status}")
    counts = Counter(v.status for _, v in verdicts)
    print(f"{len(verdicts)} submissions in {seconds:.1f} s: "
          + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    for student, v in verdicts:   # what was handed in but not graded, and why
        if v.status == "malformed":
            print(f"not graded: {student}: {v.reasons[0].removeprefix('malformed: ')}")
    for item in ignored:
        print(f"not graded: {item.path}: {item.reason}")
