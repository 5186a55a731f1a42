"""A runner's own clock: the wall clock minus the time the runner waited for a CPU.

Why: a class is often graded on a busy machine (another grading job, other users' builds,
more workers than cores). Timed on the wall clock, a legitimate cell runs slower the busier
the machine is, and could time out only because other work held the CPU. The own clock
advances while the runner computes or sleeps (``time.sleep``, I/O, a join), and stands
still while the runner is runnable but waiting for a CPU (the scheduler's run-queue wait,
the second field of ``/proc/<pid>/schedstat``). On an idle machine it is the wall clock
that stock nbgrader's timeout measures, so a timeout means what it meant before.

A submission can slow its own clock down (processes that keep the runner off the CPU), so
every limit also has a wall-clock backstop: :data:`BACKSTOP` times a cell's or probe's limit,
:data:`NOTEBOOK_BACKSTOP` times the notebook's budget (so a hostile notebook costs the class
at most that much longer than it did on the wall clock).
Without schedstat (another kernel, another OS) the own clock is the wall clock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

BACKSTOP = 4.0           # a cell or probe is stopped after this many times its limit, wall clock
NOTEBOOK_BACKSTOP = 2.0  # a notebook, all its attempts together (a replay after its budget ran
#                          out gets one budget more), after this many times its budget


def describe(timeout_clock: str) -> str:
    """One line for the grader's banner: which clock the time limits are counted on."""
    if timeout_clock == "wall":
        return "time limits: wall clock (--wall-clock-timeouts)"
    if run_queue_wait(os.getpid()) is None:
        return "time limits: wall clock (no /proc/<pid>/schedstat on this machine)"
    return ("time limits: each runner's own clock (the wall clock minus its waiting for a "
            f"CPU; stopped at {BACKSTOP:g}x on the wall clock whatever it waited)")


def run_queue_wait(pid: int) -> float | None:
    """Seconds thread ``pid`` has spent runnable but waiting for a CPU (None: unreadable)."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            fields = f.read().split()
        return int(fields[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class Mark:
    """A moment on both clocks (wall, and the runner's waiting so far)."""

    wall: float
    waited: float


@dataclass
class OwnClock:
    """The waiting of one runner, from the moment :meth:`attach` found it.

    ``read`` returns the runner's cumulative run-queue wait in seconds (None once it is gone:
    the clock then keeps the last value it read)."""

    read: Callable[[], float | None] | None = None
    now: Callable[[], float] = time.monotonic
    _base: float = 0.0
    _last: float = 0.0

    def attach(self, read: Callable[[], float | None]) -> bool:
        """Start counting the waiting ``read`` reports; False (a wall clock) when it cannot."""
        first = read()
        if first is None:
            return False
        self.read, self._base, self._last = read, first, 0.0
        return True

    @property
    def attached(self) -> bool:
        return self.read is not None

    def waited(self) -> float:
        """Seconds the runner waited for a CPU since it was attached (never decreases)."""
        if self.read is not None:
            value = self.read()
            if value is not None:
                self._last = max(self._last, value - self._base)
        return self._last

    def mark(self) -> Mark:
        return Mark(self.now(), self.waited())

    def own_since(self, mark: Mark) -> float:
        """Seconds on the runner's own clock since ``mark``."""
        return max(0.0, (self.now() - mark.wall) - (self.waited() - mark.waited))

    def wall_since(self, mark: Mark) -> float:
        return self.now() - mark.wall


def over(clock: OwnClock, mark: Mark, limit: float) -> str | None:
    """Whether what started at ``mark`` ran past ``limit``: None, ``own`` (its own clock)
    or ``backstop`` (the wall clock, :data:`BACKSTOP` times the limit)."""
    if clock.own_since(mark) > limit:
        return "own"
    if clock.wall_since(mark) > BACKSTOP * limit:
        return "backstop"
    return None
