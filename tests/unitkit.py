"""Small stand-ins for the unit tests of the grader (tests/test_unit_*.py).

* :func:`instructor_nb` / :func:`student_nb`: a tiny two-problem assignment in nbgrader's
  format and a student's copy of it, built in memory (no files, no release);
* :class:`FakeSandbox`: what :mod:`autograder.execute` drives instead of a bubblewrap jail.
  It plays the runner's side of the protocol (``ready``, ``chunk_start``/``chunk_end``,
  ``phase_b``, ``probe_start``/``probe_end``, ``done``) from a script that says, per chunk
  and per probe, whether it passes, fails, hangs or kills the process; it honours the skip
  lists the host sends, as the real runner does, and records what the host asked of it.
"""

from __future__ import annotations

import copy
import io
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from autograder.markers import release_view

# --------------------------------------------------------------------------- notebooks

SETUP = "import math\nfrom helpers import check"
ENTROPY = ("def entropy(p):\n    ### BEGIN SOLUTION\n"
           "    return -sum(x * math.log2(x) for x in p if x > 0)\n    ### END SOLUTION")
TEST_ENTROPY = ("assert entropy([1.0]) == 0\n"
                "### BEGIN HIDDEN TESTS\nassert entropy([0.5, 0.5]) == 1\n"
                "### END HIDDEN TESTS\n")
KL = ("def kl(p, q):\n    ### BEGIN SOLUTION\n"
      "    return sum(a * math.log2(a / b) for a, b in zip(p, q) if a > 0)\n"
      "    ### END SOLUTION")
TEST_KL = "assert kl([1.0], [1.0]) == 0"
EXPLAIN = "Why is the entropy never negative?\n\n=== BEGIN MARK SCHEME ===\n..."


def _cell(kind: str, source: str, grade_id: str | None, **meta):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if grade_id is not None:
        cell.id = grade_id
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, **meta}
    return cell


def instructor_nb() -> nbformat.NotebookNode:
    """intro, setup (locked), entropy (answer), its test (2 points, with hidden tests),
    kl (answer), its test (1 point, no hidden tests), a markdown answer graded by hand."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _cell("markdown", "# Problem set 0", None),
        _cell("code", SETUP, "imports", locked=True, solution=False, grade=False),
        _cell("code", ENTROPY, "entropy", solution=True, grade=False, locked=False),
        _cell("code", TEST_ENTROPY, "test_entropy", grade=True, solution=False, locked=True,
              points=2),
        _cell("code", KL, "kl", solution=True, grade=False, locked=False),
        _cell("code", TEST_KL, "test_kl", grade=True, solution=False, locked=True, points=1),
        _cell("markdown", EXPLAIN, "explain", solution=True, grade=True, locked=False, points=1),
    ]
    return nb


# What a student types in the answer cells (the solution without its markers).
ANSWERS = {
    "entropy": "def entropy(p):\n    return -sum(x * math.log2(x) for x in p if x > 0)",
    "kl": "def kl(p, q):\n    return sum(a * math.log2(a / b) for a, b in zip(p, q) if a > 0)",
    "explain": "Because each term -p log p is at least 0.",
}


def student_nb(answers: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The released notebook (hidden tests removed) with ``answers`` typed in."""
    answers = ANSWERS if answers is None else answers
    nb = copy.deepcopy(instructor_nb())
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if meta.get("solution"):
            cell.source = answers.get(gid, "raise NotImplementedError()")
        elif meta.get("grade"):
            cell.source = release_view(cell.source)
    return nb


def by_id(nb: nbformat.NotebookNode, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


# ------------------------------------------------------------------------- fake sandbox


class Clock:
    """Stands for the ``time`` module in :mod:`autograder.execute`: fake seconds.

    Time moves only when the fake sandbox is waited on (``read_events(timeout)`` with
    nothing to say lasts ``timeout`` seconds; an event lasts a millisecond), so timeouts
    and wall-clock budgets are reached exactly and at once, however loaded the machine.
    """

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class _Proc:
    def __init__(self, box: FakeSandbox) -> None:
        self.box = box

    def poll(self):
        if self.box.alive:
            return None
        return -9 if self.box.killed else self.box.returncode

    def wait(self, timeout=None):
        return self.poll()


@dataclass
class FakeSandbox:
    """A runner in a jail, as the host sees it, scripted instead of started.

    ``script`` maps ``("chunk", i)`` or ``("probe", k)`` to what that piece does:
    ``"ok"`` (default), ``"error"`` (a chunk raises AssertionError), ``"hang"`` (starts and
    never ends), ``"fork"`` (hangs with a thousand processes), ``"die"`` (starts, then the
    process is gone), ``"oom"`` / ``"pids"`` / ``"disk"`` (hangs at the cgroup's memory or
    pids limit, or over the size of the host folders), ``("slow", seconds)`` (a chunk that
    ends after that many seconds of the fake wall clock).
    ``results[k]`` is what probe ``k`` answers, ``(encoded, arrays)``; default a Python int ``k``.
    ``never_ready``: the process dies before saying ``ready``. ``procs``: what the
    process watchdog sees. ``forged``: extra events sent right after ``ready``.
    ``cpu_share``: the share of a CPU the runner gets once ready (it waits for one the rest
    of the time, as :mod:`autograder.clock` reads it); None: the sandbox cannot say.
    """

    scratch: Path
    clock: Clock | None = None
    script: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)
    never_ready: bool = False
    procs: int = 0
    forged: list = field(default_factory=list)
    sandboxed: bool = True
    alive: bool = True
    returncode: int = -9       # the exit status after "die" or never_ready (-9: SIGKILL)
    stderr: str = ""           # what stderr_tail() returns
    killed: bool = False
    closed: bool = False
    usage: object = None                           # cgroup usage (none here)
    hit: object = None                             # the cgroup limit hit ("oom", "pids")
    jobs: list = field(default_factory=list)       # what go() received
    hidden_jobs: list = field(default_factory=list)  # what go_hidden() received
    ran: list = field(default_factory=list)        # ("chunk", i) / ("probe", k) started
    nexts: int = 0                                 # the supervisor's "next"s received
    cpu_share: float | None = None

    def __post_init__(self) -> None:
        self.proc = _Proc(self)
        (self.scratch / "out").mkdir(parents=True, exist_ok=True)
        self._queue: list[dict] = [] if self.never_ready else [{"ev": "ready"}]
        self._queue += list(self.forged)
        self._plan: list[tuple[str, int]] = []
        self._stuck = False
        self._waiting = False      # a piece ended: the runner waits for "next"
        self._slow: tuple[int, float] | None = None   # a slow chunk and when it ends

    # the host's side of the protocol -------------------------------------------------
    def go(self, job: dict) -> None:
        self.jobs.append(copy.deepcopy(job))
        skip = set(job.get("skip_chunks", []))
        self._plan = [("chunk", c["i"]) for c in job["chunks"] if c["i"] not in skip]
        self._plan.append(("phase_b", -1))

    def go_hidden(self, hidden: dict, inputs: bytes) -> None:
        self.hidden_jobs.append((copy.deepcopy(hidden), inputs))
        last = self.jobs[-1]
        skip_c = set(last.get("skip_chunks", []))
        skip_p = set(last.get("skip_probes", []))
        self._plan = [("chunk", c["i"]) for c in hidden["chunks"] if c["i"] not in skip_c]
        self._plan += [("probe", p["k"]) for p in hidden.get("probes", [])
                       if p["k"] not in skip_p]
        self._plan.append(("done", -1))

    def next_piece(self) -> None:
        self.nexts += 1
        self._waiting = False

    def waiting(self):
        if self.cpu_share is None or self.clock is None:
            return None
        since, clock, share = self.clock.now, self.clock, self.cpu_share
        return lambda: (clock.now - since) * (1 - share)

    def read_events(self, timeout: float) -> tuple[list[dict], bool]:
        if self._slow is not None and self.clock is not None \
                and self.clock.now >= self._slow[1] and self.alive:
            self._queue.append({"ev": "chunk_end", "i": self._slow[0], "ok": True,
                                "output": ""})
            self._slow, self._stuck, self._waiting = None, False, True
        if not self._queue and self._plan and not self._stuck and not self._waiting \
                and self.alive:
            self._step()
        out, self._queue = self._queue, []
        if self.clock is not None:
            self.clock.advance(0.001 if out else timeout)
        elif not out:
            time.sleep(min(timeout, 0.002))
        return out, not self.alive and not out

    def process_count(self) -> int:
        return self.procs

    def stderr_tail(self) -> str:
        return self.stderr

    def breach(self, now: bool = False):
        return self.hit

    def kill(self) -> None:
        self.killed = True
        self.alive = False

    def close(self) -> None:
        self.closed = True
        self.alive = False

    # the runner's side ----------------------------------------------------------------
    def _step(self) -> None:
        what, idx = self._plan.pop(0)
        if what == "phase_b":
            self._queue.append({"ev": "phase_b"})
            return
        if what == "done":
            self._queue.append({"ev": "done", "cpu": 0.25})
            return
        self.ran.append((what, idx))
        action = self.script.get((what, idx), "ok")
        key = "i" if what == "chunk" else "k"
        self._queue.append({"ev": f"{what}_start", key: idx})
        if action == "hang":
            self._stuck = True
        elif isinstance(action, tuple) and action[0] == "slow":
            self._stuck = True
            self._slow = (idx, self.clock.now + action[1])
        elif action == "fork":      # starts processes and never ends
            self._stuck = True
            self.procs = 1000
        elif action == "die":
            self.alive = False
        elif action == "pids_after":   # its forks refused, the cell ends in a millisecond;
            from autograder.cgroups import Breach

            # told "next", the runner would go on to the next piece

            self._queue.append({"ev": "chunk_end", "i": idx, "ok": False,
                                "ename": "BlockingIOError", "evalue": "fork refused",
                                "output": ""})
            self._waiting = True
            self.hit = Breach("pids", 32)
        elif action in ("oom", "pids", "disk"):   # paused at the limit until stopped
            from autograder.cgroups import Breach

            self._stuck = True
            self.hit = {"oom": Breach("memory", 3 * 2**30), "pids": Breach("pids", 32),
                        "disk": Breach("disk", 256 * 2**20)}[action]
        elif what == "chunk":
            failed = action == "error"
            self._queue.append({"ev": "chunk_end", "i": idx, "ok": not failed,
                                "ename": "AssertionError" if failed else None,
                                "evalue": "wrong" if failed else None,
                                "output": f"output of chunk {idx}\n"})
            self._waiting = True
        else:
            enc, arrays = self.results.get(idx, ({"kind": "py", "type": "int", "value": idx},
                                                 {}))
            if arrays:
                buf = io.BytesIO()
                np.savez(buf, **arrays)
                (self.scratch / "out" / f"probe_{idx}.npz").write_bytes(buf.getvalue())
            self._queue.append({"ev": "probe_end", "k": idx, "result": enc})
            self._waiting = True


class Starter:
    """Stands for ``Sandbox.start``: hands out scripted sandboxes, one per attempt.

    ``common``: FakeSandbox arguments of every attempt; ``attempts[n]``: overrides for the
    n-th start.
    """

    def __init__(self, tmp_path: Path, attempts: list[dict] | None = None,
                 clock: Clock | None = None, **common) -> None:
        self.tmp_path = tmp_path
        self.clock = clock
        self.attempts = attempts or []
        self.common = common
        self.started: list[FakeSandbox] = []

    def start(self, limits) -> FakeSandbox:
        n = len(self.started)
        kwargs = dict(self.common, **(self.attempts[n] if n < len(self.attempts) else {}))
        box = FakeSandbox(self.tmp_path / f"box{n}", self.clock, **kwargs)
        self.started.append(box)
        return box
