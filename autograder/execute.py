"""Execute: run one prepared notebook and its judge probes in sandboxes, surviving failures.

The supervisor follows the runner's progress events. When a chunk (cell) or probe runs
past its timeout, or the process dies (``os._exit``, a signal, the memory limit), the
sandbox is killed and a fresh one replays the notebook *without* the offending piece, so
the failure costs that piece's points only. When the notebook as a whole runs past its
wall-clock budget, the replay keeps only the cells that define the answers (the
instructor's setup cells and the student's solution cells), then runs the probes.

A death that is the grader's fault is retried and never scored: a runner that dies (or
never says ``ready``, or cannot be started) before any cell of the notebook ran is started
again, at most :data:`GRADER_RETRIES` times, and then the run ends as a ``grader_error``
(nothing scored). A piece whose process is killed by a signal (the machine's OOM killer, a
library's abort) is run again once to confirm, at most :data:`CONFIRM_RETRIES` times per
notebook: only a piece that dies again is the submission's. The time a retried attempt
took does not count against the notebook's wall-clock budget. The runner's own stderr
(bounded, never the student's output) is kept for the log.

The result is plain data (:class:`RawResult`): it never contains references, only what
the student's code produced; :mod:`autograder.judge` compares it. What went wrong is a list
of :class:`Event` whose ``kind`` decides the status.
"""

from __future__ import annotations

import io
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .cgroups import Breach
from .clock import BACKSTOP, NOTEBOOK_BACKSTOP, OwnClock, over
from .protocol import CHUNK_END, CHUNK_START, DONE, PHASE_B, PROBE_END, PROBE_START, READY
from .protocol import Event as Message
from .sandbox import Limits, Sandbox


@dataclass
class ChunkRun:
    ok: bool | None          # None: not run (skipped, timed out, crashed)
    ename: str | None = None
    evalue: str | None = None
    output: str = ""
    seconds: float = 0.0
    failure: str | None = None  # "timeout" or "crashed" when the chunk killed the run


GRADER_RETRIES = 2    # fresh sandboxes after a death before any cell ran
CONFIRM_RETRIES = 2   # reruns of pieces killed by a signal, per notebook
MAX_SANDBOXES = 12    # all attempts of one notebook together

# Event kinds. The status comes from these (see :mod:`autograder.judge`), never from words.
TIMEOUT = "timeout"            # a chunk or probe ran past its limit; the runner never got ready
WALL = "wall"                  # the notebook ran past its wall-clock budget
CRASHED = "crashed"            # the submission's code killed the process
PROCS = "procs"                # the process watchdog killed the run
LIMIT = "limit"                # the sandbox ran into its cgroup's memory or pids limit
RESTARTS = "restarts"          # too many sandboxes; the rest was not run
GRADER_ERROR = "grader_error"  # the grader failed this notebook: nothing scored
RETRIED = "retried"            # a death not the submission's fault, run again (no effect)
STDERR = "stderr"              # what the runner wrote on its stderr (instructor's log only)
FORGED = "forged"              # an event the runner cannot have sent (student code wrote it)
TIMEOUT_KINDS = frozenset({TIMEOUT, WALL})
CRASH_KINDS = frozenset({CRASHED, PROCS, LIMIT, RESTARTS, GRADER_ERROR})


@dataclass(frozen=True)
class Event:
    """Something that went wrong: ``kind`` (one of the constants above) for the status,
    ``message`` for the log."""

    kind: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class RawResult:
    chunks: dict[int, ChunkRun] = field(default_factory=dict)
    probes: dict[int, dict] = field(default_factory=dict)       # k -> encoded result
    arrays: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)           # what went wrong
    seconds: float = 0.0
    cpu: float = 0.0            # CPU seconds the runners reported (for benchmarks only)
    sandboxed: bool = True
    stderr: list[str] = field(default_factory=list)  # the runner's stderr tail, per failed attempt
    grader_error: bool = False  # the grader could not run the notebook: nothing was scored
    # cgroup accounting (None without cgroups): CPU seconds of everything the sandboxes ran
    # (children, compilers, killed attempts included), their largest memory use, and the
    # limits hit ("memory", "pids", "disk"), one entry per stopped attempt
    cpu_all: float | None = None
    memory_peak: int | None = None
    limits_hit: list[str] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        return [e.message for e in self.events]


@dataclass
class Outcome:
    """How one attempt ended: ``kind`` is ``done``, an event kind (timeout, wall, crashed,
    procs) or ``no_start`` (the sandbox could not be started)."""

    kind: str
    piece: tuple[str, int] | None = None  # ("chunk", i) / ("probe", k) running at the end
    seconds: float = 0.0                  # how long the failed piece ran
    student_code: bool = False            # a chunk started in this attempt
    returncode: int | None = None         # the runner's own exit status (None: we killed it)
    detail: str = ""                      # why the sandbox did not start; for a timeout,
    #                                       which clock ran out ("own" or "backstop")
    waited: float = 0.0                   # seconds the runner waited for a CPU (not counted)


def death_signal(returncode: int | None, sandboxed: bool) -> int | None:
    """The signal that killed the runner, from its exit status (bwrap reports 128 + n)."""
    if returncode is None:
        return None
    if returncode < 0:
        return -returncode
    if sandboxed and 128 < returncode < 128 + 65:
        return returncode - 128
    return None


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _how_it_died(out: Outcome, sandboxed: bool) -> str:
    sig = death_signal(out.returncode, sandboxed)
    if sig is not None:
        return f"killed by {_signal_name(sig)}"
    if out.returncode is not None:
        return f"exit status {out.returncode}"
    return "its event channel closed"


def stderr_summary(tail: str, lines: int = 3) -> str:
    """The last few non-empty lines of a stderr tail, for one log line."""
    kept = [ln.strip() for ln in tail.splitlines() if ln.strip()][-lines:]
    return " | ".join(kept)[-600:]


class WarmPool:
    """Hands each worker thread a started sandbox for its next submission.

    With the fork server (:mod:`autograder.forkserver`, where bubblewrap and a cgroup are
    there and ``limits.fork_server`` is not False) each thread has one zygote that imported
    the assignment's modules once, and every submission is a fresh fork of it. Otherwise
    it keeps one cold runner started per thread, so the next submission skips start-up.

    Ownership: a spare belongs to the pool (listed in ``all``) until :meth:`take` hands it
    out; from then on the caller owns it and closes it (``execute.run`` does), and the
    pool forgets it. :meth:`close` closes only the spares nobody took, and the zygotes.
    """

    def __init__(self, limits: Limits, pending: int = 1 << 30) -> None:
        from .forkserver import usable

        self.limits = limits
        self.local = threading.local()
        self.all: list[Sandbox] = []   # spares the pool owns (not yet taken)
        self.servers: list = []        # the zygotes, one per thread that asked
        self.lock = threading.Lock()
        self.pending = pending  # submissions not yet started: no spare after the last one
        self.fork_off = usable(limits)   # None: fork; else why not
        self.notes: list[str] = []       # what went wrong with a zygote (for the log)

    def _server(self):
        """This thread's zygote, started on first use; None when forking is off."""
        from .forkserver import ForkServer, ForkServerError

        if self.fork_off is not None:
            return None
        server = getattr(self.local, "server", None)
        if server is not None and not server.alive():
            self.notes.append("a zygote died: started again" if not server.tainted else
                              "a submission's process outlived its kill: a new zygote")
            server.close()
            server = None
        if server is None:
            try:
                server = ForkServer(self.limits)
            except (ForkServerError, OSError) as exc:
                with self.lock:
                    self.fork_off = f"the zygote did not start: {exc}"
                    self.notes.append(self.fork_off)
                return None
            self.local.server = server
            with self.lock:
                self.servers.append(server)
        return server

    def _fork(self) -> Sandbox | None:
        from .forkserver import ForkServerError

        server = self._server()
        if server is None:
            return None
        try:
            return server.fork(self.limits)
        except (ForkServerError, OSError) as exc:
            self.notes.append(f"a fork failed ({exc}): a cold sandbox instead")
            self.local.server = None
            server.close()
            return None

    def fresh(self) -> Sandbox:
        """A new sandbox for another attempt at the same submission (forked when it can)."""
        return self._fork() or Sandbox.start(self.limits)

    def take(self) -> Sandbox:
        """A started sandbox that the caller now owns (and must close)."""
        with self.lock:
            self.pending -= 1
        forked = self._fork()
        if forked is not None:
            return forked
        with self.lock:
            sb = getattr(self.local, "spare", None)
            self.local.spare = None
            if sb in self.all:
                self.all.remove(sb)
        if sb is None or sb.proc.poll() is not None:
            if sb is not None:
                sb.close()
            sb = Sandbox.start(self.limits)
        return sb

    def refill(self) -> None:
        if self.fork_off is None:
            return   # a fork is ready in a tenth of a second: no spare needed
        with self.lock:
            if self.pending <= 0:
                return
        if getattr(self.local, "spare", None) is None:
            sb = Sandbox.start(self.limits)
            with self.lock:
                self.local.spare = sb
                self.all.append(sb)

    def close(self) -> None:
        with self.lock:
            spares, self.all = self.all, []
            servers, self.servers = self.servers, []
        for sb in spares:
            sb.close()
        for server in servers:
            server.close()


def _load_npz(path) -> dict[str, np.ndarray]:
    try:
        data = path.read_bytes()
        with np.load(io.BytesIO(data), allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except Exception:  # noqa: BLE001 (missing or forged file: the judge sees no arrays)
        return {}


def run(job: dict, inputs: bytes, limits: Limits, pool: WarmPool | None = None,
        definition_chunks: set[int] | None = None) -> RawResult:
    """Run ``job`` (chunks + probes, see :mod:`autograder.runner`) to the end, whatever happens.

    ``definition_chunks``: the chunks to keep when the wall-clock budget runs out.
    """
    res = RawResult()
    start = time.monotonic()
    deadline = start + limits.wall   # on the runners' own clocks (waiting credited below)
    hard = start + NOTEBOOK_BACKSTOP * limits.wall   # on the wall clock, whatever it waited
    skip_chunks: set[int] = set()
    skip_probes: set[int] = set()
    all_chunks = [c["i"] for c in job["chunks"]]
    wall_hit = False
    waited = 0.0   # the runners' waiting for a CPU so far: not charged to the budget
    grader_retries = 0
    confirmed: set[tuple[str, int]] = set()   # pieces already run again after a signal
    for attempt in range(MAX_SANDBOXES):
        t0 = time.monotonic()
        sb = None
        try:
            if pool is not None and not grader_retries:   # after a grader-side failure: cold
                sb = pool.take() if attempt == 0 else pool.fresh()
                if attempt == 0:   # a zygote restarted costs it no time
                    deadline += time.monotonic() - t0
                    hard += time.monotonic() - t0
            else:
                sb = Sandbox.start(limits)
        except (OSError, subprocess.SubprocessError) as exc:
            outcome = Outcome("no_start", detail=f"{type(exc).__name__}: {exc}")
        if sb is not None:
            res.sandboxed = sb.sandboxed
            try:
                outcome = _one_attempt(sb, job, inputs, res, skip_chunks, skip_probes,
                                       deadline if not wall_hit
                                       else start + 2 * limits.wall + waited, hard, limits)
                waited += outcome.waited
                deadline += outcome.waited
                if outcome.kind not in ("done", WALL):
                    tail = sb.stderr_tail() if hasattr(sb, "stderr_tail") else ""
                    if tail.strip():
                        res.stderr.append(tail)
                        res.events.append(Event(STDERR, f"runner stderr (sandbox {attempt + 1}):"
                                                        f" {stderr_summary(tail)}"))
            finally:
                sb.close()
                _account(res, sb)
        if outcome.kind == "done":
            break
        spent = time.monotonic() - t0
        if outcome.kind == WALL:
            if wall_hit:
                res.events.append(Event(WALL, "wall-clock budget exhausted twice; "
                                              "remaining probes not run"))
                break
            wall_hit = True
            hard += limits.wall   # the replay of the answers gets one more budget
            keep = definition_chunks if definition_chunks is not None else set()
            dropped = [i for i in all_chunks if i not in keep and i not in res.chunks]
            for i in dropped:
                res.chunks[i] = ChunkRun(ok=None, failure="timeout")
            skip_chunks |= set(all_chunks) - keep
            res.events.append(Event(WALL, f"notebook exceeded its {limits.wall:.0f} s wall-clock"
                                          " budget; replaying only the cells that define the "
                                          "answers"))
            continue
        if outcome.kind == PROCS:
            res.events.append(Event(PROCS, f"more than {limits.procs} processes: killed"))
        if _grader_side(outcome):
            why = _grader_reason(outcome, res.sandboxed)
            if grader_retries < GRADER_RETRIES:
                grader_retries += 1
                deadline += spent   # the grader's failure costs the notebook no time
                hard += spent
                res.events.append(Event(RETRIED, f"{why}; retrying in a fresh sandbox"))
                continue
            res.grader_error = True
            res.events.append(Event(GRADER_ERROR, f"grader error: {why}, "
                                    f"{GRADER_RETRIES + 1} times; nothing was scored (regrade "
                                    "this submission once the cause in the log is fixed)"))
            break
        if outcome.piece is None:
            res.events.append(Event(CRASHED, "runner died between cells "
                                    f"({_how_it_died(outcome, res.sandboxed)})"))
            break
        what, idx = outcome.piece
        if (outcome.kind == CRASHED and death_signal(outcome.returncode, res.sandboxed)
                and outcome.piece not in confirmed and len(confirmed) < CONFIRM_RETRIES):
            # A signal may come from outside (the machine's OOM killer): run it again.
            confirmed.add(outcome.piece)
            deadline += spent
            hard += spent
            res.events.append(Event(RETRIED, f"{what} {idx}: the runner was "
                                    f"{_how_it_died(outcome, res.sandboxed)}; running it "
                                    "again to tell a flaky death from the submission's"))
            continue
        _record_failure(res, job, outcome, limits, skip_chunks, skip_probes)
    else:
        res.events.append(Event(RESTARTS, "too many restarts; remaining cells not run"))
    res.seconds = time.monotonic() - start
    return res


def _grader_side(out: Outcome) -> bool:
    """Whether the attempt failed before any of the notebook's code ran (the grader's fault)."""
    if out.kind == "no_start":
        return True
    return out.kind in (CRASHED, TIMEOUT, PROCS, LIMIT) and not out.student_code \
        and out.piece is None


def _grader_reason(out: Outcome, sandboxed: bool) -> str:
    if out.kind == "no_start":
        return f"the sandbox could not be started ({out.detail})"
    if out.kind == TIMEOUT:
        return "the runner did not get ready in time"
    return f"the runner died before running any cell ({_how_it_died(out, sandboxed)})"


def _record_failure(res: RawResult, job: dict, out: Outcome, limits: Limits,
                    skip_chunks: set[int], skip_probes: set[int]) -> None:
    """The failed piece costs its points, and so does the rest of its test cell."""
    what, idx = out.piece
    label = TIMEOUT if out.kind == TIMEOUT else CRASHED
    limited = out.kind in (PROCS, LIMIT)   # already said which limit
    if what == "chunk":
        res.chunks[idx] = ChunkRun(ok=None, failure=label, seconds=out.seconds)
    else:
        res.probes[idx] = {"kind": label}
    if label == TIMEOUT:
        lim = limits.chunk_timeout if what == "chunk" else limits.probe_timeout
        if out.detail == "backstop":
            res.events.append(Event(TIMEOUT, f"{what} {idx}: timeout (ran {BACKSTOP * lim:.0f}"
                                    f" s of wall clock, {BACKSTOP:g} times its {lim:.0f} s "
                                    "limit, most of it kept off the CPU)"))
        else:
            res.events.append(Event(TIMEOUT, f"{what} {idx}: timeout (over {lim:.0f} s)"))
    else:
        how = "stopped at a limit" if limited else \
            f"the process died: {_how_it_died(out, res.sandboxed)}"
        res.events.append(Event(CRASHED, f"{what} {idx}: crashed ({how})"))
    # The rest of the failed piece's test cell would fail the same way: skip it too.
    if what == "chunk":
        gid = next((c.get("grade_id") for c in job["chunks"] if c["i"] == idx), None)
        same = {c["i"] for c in job["chunks"] if gid and c.get("grade_id") == gid
                and c.get("role", "").startswith("test_")} | {idx}
        for i in same - {idx} - set(res.chunks):
            res.chunks[i] = ChunkRun(ok=None, failure="skipped")
        skip_chunks |= same
    else:
        cell = next((p.get("cell") for p in job.get("probes", []) if p["k"] == idx), None)
        same = {p["k"] for p in job.get("probes", []) if cell and p.get("cell") == cell}
        for k in same - {idx} - set(res.probes):
            res.probes[k] = dict(res.probes[idx])
        skip_probes |= same | {idx}


def _one_attempt(sb: Sandbox, job: dict, inputs: bytes, res: RawResult,
                 skip_chunks: set[int], skip_probes: set[int], deadline: float,
                 hard: float, limits: Limits) -> Outcome:
    """Run once, following the runner's events, until it is done or fails."""
    # Probes already answered in an earlier attempt are not asked again.
    skip_p = skip_probes | set(res.probes)
    hidden_ids = {c["i"] for c in job["chunks"] if c.get("role") == "test_hidden"}
    public = [c for c in job["chunks"] if c["i"] not in hidden_ids]
    hidden = [c for c in job["chunks"] if c["i"] in hidden_ids]
    phase_b = False
    ready = False
    student_code = False
    ended: set[int] = set()   # chunks that ended in this attempt
    last_piece = None         # the chunk or probe that ended last
    probe_ids = {p["k"] for p in job.get("probes", [])}
    t_ready = time.monotonic() + 120
    current = None  # ("chunk", i, mark) or ("probe", k, mark): its start on both clocks
    next_watch = 0.0
    # The runner's own clock (:mod:`autograder.clock`): its waiting for a CPU is not
    # counted against its limits; a wall clock until the runner is found at ready.
    clock = OwnClock(now=time.monotonic)

    def fail(kind: str, piece, dead: bool = False, detail: str = "") -> Outcome:
        rc = _exit_status(sb) if dead else None
        sb.kill()
        waited = clock.waited()
        if piece is None:
            return Outcome(kind, None, 0.0, student_code, rc, detail, waited)
        return Outcome(kind, (piece[0], piece[1]), clock.wall_since(piece[2]), student_code,
                       rc, detail, waited)

    def stop_at_limit(hit: Breach) -> Outcome:
        """The sandbox ran into a cgroup limit: stop it and say which, then fail the piece."""
        res.limits_hit.append(hit.kind)
        # Between pieces, the limit was hit by what the last piece left running (a fork
        # bomb's children, a background allocation): that piece is the one to blame.
        piece = current if current is not None else last_piece
        where = f"{piece[0]} {piece[1]}" if piece is not None else "the runner"
        if hit.kind == "memory":
            msg = (f"{where}: over the memory limit of {hit.limit / 2**30:.1f} GiB "
                   "(the sandbox's processes and its /tmp together): stopped")
        elif hit.kind == "disk":
            msg = (f"{where}: wrote more than {hit.limit / 2**20:.0f} MiB (or "
                   f"{limits.out_files} files) into the grader's folders: stopped")
        else:
            msg = (f"{where}: over the limit of {hit.limit} processes and threads "
                   "(a fork or thread was refused): stopped")
        res.events.append(Event(LIMIT, msg))
        return fail(LIMIT, piece)

    while True:
        now = time.monotonic()
        if now - clock.waited() > deadline or now > hard:
            return fail(WALL, current)
        if not ready and now > t_ready:
            return fail(TIMEOUT, None)
        if current is not None:
            lim = limits.chunk_timeout if current[0] == "chunk" else limits.probe_timeout
            why = over(clock, current[2], lim)   # "own" or "backstop"
            if why is not None:
                return fail(TIMEOUT, current, detail=why)
        if now >= next_watch and sb.process_count() > limits.procs:
            return fail(PROCS, current)
        if now >= next_watch:  # the process watchdog walks /proc: twice a second is enough
            next_watch = now + 0.5
        events, closed = sb.read_events(0.1)
        for raw_ev in events:
            ev = Message.parse(raw_ev)    # typed; a forged or mistyped event is dropped
            kind = ev.kind if ev is not None else None
            if kind == READY and not ready:
                ready = True
                if limits.timeout_clock == "own":   # before any of the notebook's code runs
                    reader = sb.waiting()
                    if reader is not None:
                        clock.attach(reader)
                sb.go({"chunks": public, "skip_chunks": sorted(skip_chunks),
                       "skip_probes": sorted(skip_p)})
            elif kind == PHASE_B and ready and not phase_b and (
                    current is not None or {c["i"] for c in public} - skip_chunks - ended):
                # Student code wrote it (the runner says phase_b only after the last cell):
                # ignored, so the hidden inputs stay out until the cells really finished.
                if not any(e.kind == FORGED for e in res.events):
                    res.events.append(Event(FORGED, "a phase_b event arrived before the "
                                            "notebook's cells had finished: written by the "
                                            "submission's code, ignored"))
            elif kind == PHASE_B and ready and not phase_b:
                phase_b = True
                current = None
                sb.go_hidden({"chunks": hidden, "probes": job.get("probes", [])}, inputs)
            elif kind == CHUNK_START and ev.i in (hidden_ids if phase_b else
                                                   {c["i"] for c in public}):
                # after phase B starts, output can no longer reach visible results
                current = ("chunk", ev.i, clock.mark())
                student_code = True
            elif kind == CHUNK_END and current and current[0] == "chunk":
                ended.add(current[1])
                last_piece = current
                res.chunks[current[1]] = ChunkRun(
                    ok=bool(ev.ok), ename=ev.ename, evalue=ev.evalue, output=ev.output,
                    seconds=clock.wall_since(current[2]))
                current = None
                if (hit := sb.breach(now=True)) is not None:
                    return stop_at_limit(hit)   # before the runner may start the next piece
                sb.next_piece()
            elif kind == PROBE_START and phase_b and ev.k in probe_ids:
                current = ("probe", ev.k, clock.mark())
                student_code = True
            elif kind == PROBE_END and current and current[0] == "probe":
                k = current[1]
                res.probes[k] = ev.result if ev.result is not None else {"kind": "bad",
                                                                         "type": "?"}
                res.arrays[k] = _load_npz(sb.scratch / "out" / f"probe_{k}.npz")
                last_piece = current
                current = None
                if (hit := sb.breach(now=True)) is not None:
                    return stop_at_limit(hit)
                sb.next_piece()
            elif kind == DONE and phase_b:
                res.cpu += ev.cpu or 0.0
                return Outcome("done", waited=clock.waited())
        hit = sb.breach()
        if hit is not None:
            return stop_at_limit(hit)
        if closed or (sb.proc.poll() is not None and not events):
            hit = sb.breach()   # the cgroup's OOM kill: the submission's, not a flake
            return stop_at_limit(hit) if hit is not None else fail(CRASHED, current, dead=True)


def _exit_status(sb: Sandbox, wait: float = 2.0) -> int | None:
    """The runner's exit status once its channel closed; None if it is still alive (it
    closed the channel itself) after ``wait`` seconds."""
    try:
        return sb.proc.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        return None


def _account(res: RawResult, sb: Sandbox) -> None:
    """Add a closed sandbox's cgroup usage to the result."""
    usage = sb.usage
    if usage is None:
        return
    if usage.cpu_seconds is not None:
        res.cpu_all = (res.cpu_all or 0.0) + usage.cpu_seconds
    if usage.memory_peak is not None:
        res.memory_peak = max(res.memory_peak or 0, usage.memory_peak)


def _s(value) -> str | None:
    return None if value is None else str(value)[:25_000]
