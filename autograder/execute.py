"""Execute: run one prepared notebook and its judge probes in sandboxes, surviving failures.

The supervisor follows the runner's progress events. When a chunk (cell) or probe runs
past its timeout, or the process dies (``os._exit``, a signal, the memory limit), the
sandbox is killed and a fresh one replays the notebook *without* the offending piece, so
the failure costs that piece's points only. When the notebook as a whole runs past its
wall-clock budget, the replay keeps only the cells that define the answers (the
instructor's setup cells and the student's solution cells), then runs the probes.

The result is plain data (:class:`RawResult`): it never contains references, only what
the student's code produced; :mod:`autograder.judge` compares it.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .cgroups import Breach
from .sandbox import Limits, Sandbox


@dataclass
class ChunkRun:
    ok: bool | None          # None: not run (skipped, timed out, crashed)
    ename: str | None = None
    evalue: str | None = None
    output: str = ""
    seconds: float = 0.0
    failure: str | None = None  # "timeout" or "crashed" when the chunk killed the run


@dataclass
class RawResult:
    chunks: dict[int, ChunkRun] = field(default_factory=dict)
    probes: dict[int, dict] = field(default_factory=dict)       # k -> encoded result
    arrays: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)              # what went wrong, for the log
    seconds: float = 0.0
    cpu: float = 0.0            # CPU seconds the runners reported (for benchmarks only)
    sandboxed: bool = True
    # cgroup accounting (None without cgroups): CPU seconds of everything the sandboxes ran
    # (children, compilers, killed attempts included), their largest memory use, and the
    # cgroup limits hit ("memory", "pids"), one entry per stopped attempt
    cpu_all: float | None = None
    memory_peak: int | None = None
    limits_hit: list[str] = field(default_factory=list)


class WarmPool:
    """Keeps one started runner per worker thread, so the next submission skips start-up.

    Ownership: a spare belongs to the pool (listed in ``all``) until :meth:`take` hands it
    out; from then on the caller owns it and closes it (``execute.run`` does), and the
    pool forgets it. :meth:`close` closes only the spares nobody took.
    """

    def __init__(self, limits: Limits, pending: int = 1 << 30) -> None:
        self.limits = limits
        self.local = threading.local()
        self.all: list[Sandbox] = []   # spares the pool owns (not yet taken)
        self.lock = threading.Lock()
        self.pending = pending  # submissions not yet started: no spare after the last one

    def take(self) -> Sandbox:
        """A started sandbox that the caller now owns (and must close)."""
        with self.lock:
            self.pending -= 1
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
        for sb in spares:
            sb.close()


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
    deadline = start + limits.wall
    skip_chunks: set[int] = set()
    skip_probes: set[int] = set()
    all_chunks = [c["i"] for c in job["chunks"]]
    wall_hit = False
    for attempt in range(12):
        sb = pool.take() if (pool is not None and attempt == 0) else Sandbox.start(limits)
        res.sandboxed = sb.sandboxed
        try:
            outcome = _one_attempt(sb, job, inputs, limits, res, skip_chunks, skip_probes,
                                   deadline if not wall_hit else start + 2 * limits.wall)
        finally:
            sb.close()
            _account(res, sb)
        if outcome == "done":
            break
        kind, what = outcome
        if kind == "wall":
            if wall_hit:
                res.events.append("wall-clock budget exhausted twice; remaining probes not run")
                break
            wall_hit = True
            keep = definition_chunks if definition_chunks is not None else set()
            dropped = [i for i in all_chunks if i not in keep and i not in res.chunks]
            for i in dropped:
                res.chunks[i] = ChunkRun(ok=None, failure="timeout")
            skip_chunks |= set(all_chunks) - keep
            res.events.append(f"notebook exceeded its {limits.wall:.0f} s wall-clock budget; "
                              "replaying only the cells that define the answers")
            continue
        if what is None:
            res.events.append(f"runner {kind} before running any cell")
            break
        # The rest of the failed piece's test cell would fail the same way: skip it too.
        if what[0] == "chunk":
            gid = next((c.get("grade_id") for c in job["chunks"] if c["i"] == what[1]), None)
            same = {c["i"] for c in job["chunks"] if gid and c.get("grade_id") == gid
                    and c.get("role", "").startswith("test_")} | {what[1]}
            for i in same - {what[1]} - set(res.chunks):
                res.chunks[i] = ChunkRun(ok=None, failure="skipped")
            skip_chunks |= same
        else:
            cell = next((p.get("cell") for p in job.get("probes", []) if p["k"] == what[1]), None)
            same = {p["k"] for p in job.get("probes", []) if cell and p.get("cell") == cell}
            for k in same - {what[1]} - set(res.probes):
                res.probes[k] = dict(res.probes[what[1]])
            skip_probes |= same | {what[1]}
    else:
        res.events.append("too many restarts; remaining cells not run")
    res.seconds = time.monotonic() - start
    return res


def _one_attempt(sb: Sandbox, job: dict, inputs: bytes, limits: Limits, res: RawResult,
                 skip_chunks: set[int], skip_probes: set[int], deadline: float):
    """Run once; 'done', or (kind, (what, index) | None) where kind is timeout/crashed/wall."""
    # Probes already answered in an earlier attempt are not asked again.
    skip_p = skip_probes | set(res.probes)
    hidden_ids = {c["i"] for c in job["chunks"] if c.get("role") == "test_hidden"}
    public = [c for c in job["chunks"] if c["i"] not in hidden_ids]
    hidden = [c for c in job["chunks"] if c["i"] in hidden_ids]
    phase_b = False
    ready = False
    t_ready = time.monotonic() + 120
    current = None  # ("chunk", i, started) or ("probe", k, started)
    next_watch = 0.0
    while True:
        now = time.monotonic()
        if now > deadline:
            return _fail(sb, res, "wall", current, limits)
        if not ready and now > t_ready:
            return _fail(sb, res, "timeout", None, limits)
        if current is not None:
            lim = limits.chunk_timeout if current[0] == "chunk" else limits.probe_timeout
            if now - current[2] > lim:
                return _fail(sb, res, "timeout", current, limits)
        if now >= next_watch and sb.process_count() > limits.procs:
            res.events.append(f"more than {limits.procs} processes: killed")
            return _fail(sb, res, "crashed", current, limits)
        if now >= next_watch:  # the process watchdog walks /proc: twice a second is enough
            next_watch = now + 0.5
        events, closed = sb.read_events(0.1)
        for ev in events:
            kind = ev.get("ev")
            if kind == "ready" and not ready:
                ready = True
                sb.go({"chunks": public, "skip_chunks": sorted(skip_chunks),
                       "skip_probes": sorted(skip_p)})
            elif kind == "phase_b" and ready and not phase_b:
                phase_b = True
                current = None
                sb.go_hidden({"chunks": hidden, "probes": job.get("probes", [])}, inputs)
            elif kind == "chunk_start" and ev.get("i") in (hidden_ids if phase_b else
                                                            {c["i"] for c in public}):
                # after phase B starts, output can no longer reach visible results
                current = ("chunk", ev.get("i"), time.monotonic())
            elif kind == "chunk_end" and current and current[0] == "chunk":
                res.chunks[current[1]] = ChunkRun(
                    ok=bool(ev.get("ok")), ename=_s(ev.get("ename")), evalue=_s(ev.get("evalue")),
                    output=_s(ev.get("output")) or "", seconds=time.monotonic() - current[2])
                current = None
            elif kind == "probe_start" and phase_b:
                current = ("probe", ev.get("k"), time.monotonic())
            elif kind == "probe_end" and current and current[0] == "probe":
                k = current[1]
                enc = ev.get("result")
                res.probes[k] = enc if isinstance(enc, dict) else {"kind": "bad", "type": "?"}
                res.arrays[k] = _load_npz(sb.scratch / "out" / f"probe_{k}.npz")
                current = None
            elif kind == "done" and phase_b:
                cpu = ev.get("cpu")
                res.cpu += float(cpu) if isinstance(cpu, (int, float)) else 0.0
                return "done"
        hit = sb.breach()
        if hit is not None:
            return _stop_at_limit(sb, res, hit, current, limits)
        if closed or (sb.proc.poll() is not None and not events):
            return _fail(sb, res, "crashed", current, limits)


def _account(res: RawResult, sb: Sandbox) -> None:
    """Add a closed sandbox's cgroup usage to the result."""
    usage = sb.usage
    if usage is None:
        return
    if usage.cpu_seconds is not None:
        res.cpu_all = (res.cpu_all or 0.0) + usage.cpu_seconds
    if usage.memory_peak is not None:
        res.memory_peak = max(res.memory_peak or 0, usage.memory_peak)


def _stop_at_limit(sb: Sandbox, res: RawResult, hit: Breach, current, limits: Limits):
    """The sandbox ran into a cgroup limit: stop it and say which, then fail the piece."""
    res.limits_hit.append(hit.kind)
    where = f"{current[0]} {current[1]}" if current is not None else "the runner"
    if hit.kind == "memory":
        res.events.append(f"{where}: over the memory limit of {hit.limit / 2**30:.1f} GiB "
                          "(the sandbox's processes and its /tmp together): stopped")
    else:
        res.events.append(f"{where}: over the limit of {hit.limit} processes and threads "
                          "(a fork or thread was refused): stopped")
    return _fail(sb, res, "crashed", current, limits)


def _s(value) -> str | None:
    return None if value is None else str(value)[:25_000]


def _fail(sb: Sandbox, res: RawResult, kind: str, current, limits: Limits):
    sb.kill()
    if current is None:
        return (kind, None)
    what, idx, started = current
    label = "timeout" if kind in ("timeout", "wall") else "crashed"
    if what == "chunk":
        res.chunks[idx] = ChunkRun(ok=None, failure=label, seconds=time.monotonic() - started)
    else:
        res.probes[idx] = {"kind": label}
    if kind != "wall":
        res.events.append(f"{what} {idx}: {label}" + (
            f" (over {limits.chunk_timeout if what == 'chunk' else limits.probe_timeout:.0f} s)"
            if label == "timeout" else " (the process died)"))
    return (kind, (what, idx))
