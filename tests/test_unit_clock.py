"""The runner's own clock (:mod:`autograder.clock`) and the limits the supervisor counts on it.

Pure logic first (fake readers), then the supervisor driven by the scripted sandbox of
``unitkit`` on fake time: a runner that gets only part of a CPU is not charged the time it
waited for one, on a cell's limit or on the notebook's budget, and nothing runs past the
wall-clock backstop however little CPU it got.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_unit_replay import ENTROPY, KL, T_ENTROPY, install, run  # noqa: E402

from autograder import clock, sandbox  # noqa: E402
from autograder.clock import (  # noqa: E402
    BACKSTOP,
    NOTEBOOK_BACKSTOP,
    OwnClock,
    over,
    run_queue_wait,
)


class Fake:
    """A wall clock and a run-queue wait, both set by hand."""

    def __init__(self) -> None:
        self.t = 100.0
        self.wait: float | None = 5.0

    def now(self) -> float:
        return self.t

    def read(self) -> float | None:
        return self.wait


def test_the_own_clock_is_the_wall_clock_minus_the_waiting():
    f = Fake()
    c = OwnClock(now=f.now)
    assert c.attach(f.read) and c.attached
    m = c.mark()
    f.t += 10
    f.wait += 4                       # it waited 4 of those 10 s for a CPU
    assert c.own_since(m) == pytest.approx(6.0)
    assert c.wall_since(m) == pytest.approx(10.0)
    assert c.waited() == pytest.approx(4.0)   # counted from the moment it was attached


def test_the_waiting_never_goes_back_when_the_runner_is_gone_or_misread():
    f = Fake()
    c = OwnClock(now=f.now)
    c.attach(f.read)
    f.wait += 3
    assert c.waited() == pytest.approx(3.0)
    f.wait = None                      # the runner exited: the last value stands
    assert c.waited() == pytest.approx(3.0)
    f.wait = 1.0                       # a smaller number (another process): ignored
    assert c.waited() == pytest.approx(3.0)


def test_without_a_readable_runner_the_own_clock_is_the_wall_clock():
    f = Fake()
    f.wait = None
    c = OwnClock(now=f.now)
    assert not c.attach(f.read) and not c.attached
    m = c.mark()
    f.t += 7
    assert c.own_since(m) == c.wall_since(m) == pytest.approx(7.0)
    assert OwnClock().waited() == 0.0


def test_over_says_which_clock_ran_out():
    f = Fake()
    c = OwnClock(now=f.now)
    c.attach(f.read)
    m = c.mark()
    f.t += 29
    f.wait += 20
    assert over(c, m, 30.0) is None          # 9 s of its own
    f.t += 30
    f.wait += 0
    assert over(c, m, 30.0) == "own"         # 39 s of its own
    m = c.mark()
    f.t += BACKSTOP * 30 + 1                 # kept off the CPU almost all the time
    f.wait += BACKSTOP * 30
    assert over(c, m, 30.0) == "backstop"


@pytest.mark.skipif(not os.path.exists("/proc/self/schedstat"),
                    reason="this kernel has no /proc/<pid>/schedstat (the own clock is the "
                           "wall clock there)")
def test_the_run_queue_wait_of_a_real_process_is_read_and_grows():
    first = run_queue_wait(os.getpid())
    assert first is not None and first >= 0
    sum(i * i for i in range(200_000))   # compute, and be preempted now and then
    assert run_queue_wait(os.getpid()) >= first
    assert run_queue_wait(2**22 + 12345) is None   # no such process


# ---------------------------------------------------------------- the supervisor, fake time

@pytest.fixture
def fake(monkeypatch, tmp_path):
    def make(attempts=None, **common):
        return install(monkeypatch, tmp_path, attempts, **common)
    return make


def test_a_cell_slowed_by_a_busy_machine_does_not_time_out_on_its_own_clock(fake):
    # 60 s of wall clock at a third of a CPU: 20 s of its own, under the 30 s limit
    fake(cpu_share=1 / 3, script={("chunk", ENTROPY): ("slow", 60.0)})
    res = run()
    assert res.chunks[ENTROPY].ok is True and res.messages == []


def test_on_the_wall_clock_the_same_cell_times_out(fake):
    fake(cpu_share=1 / 3, script={("chunk", ENTROPY): ("slow", 60.0)})
    res = run(sandbox.Limits(timeout_clock="wall"))
    assert res.chunks[ENTROPY].failure == "timeout"
    assert res.messages == [f"chunk {ENTROPY}: timeout (over 30 s)"]


def test_a_sandbox_that_cannot_say_its_waiting_is_timed_on_the_wall_clock(fake):
    fake(cpu_share=None, script={("chunk", ENTROPY): ("slow", 60.0)})
    assert run().chunks[ENTROPY].failure == "timeout"


def test_a_hanging_cell_is_stopped_after_its_limit_on_its_own_clock(fake):
    fake(cpu_share=0.5, script={("chunk", ENTROPY): "hang"})
    res = run()
    assert res.chunks[ENTROPY].failure == "timeout"
    assert 60.0 < res.chunks[ENTROPY].seconds < 60.5     # 30 s of its own at half a CPU
    assert res.messages == [f"chunk {ENTROPY}: timeout (over 30 s)"]


def test_a_cell_kept_off_the_cpu_is_stopped_at_the_backstop(fake):
    fake(cpu_share=0.1, script={("chunk", ENTROPY): "hang"})
    res = run()
    assert res.chunks[ENTROPY].failure == "timeout"
    lim = sandbox.Limits().chunk_timeout
    assert BACKSTOP * lim < res.chunks[ENTROPY].seconds < BACKSTOP * lim + 0.5
    assert res.messages == [f"chunk {ENTROPY}: timeout (ran {BACKSTOP * lim:.0f} s of wall "
                            f"clock, {BACKSTOP:g} times its {lim:.0f} s limit, most of it "
                            "kept off the CPU)"]


def test_the_notebook_budget_counts_its_own_clock_not_the_waiting(fake):
    # three cells of 60 s wall each at a quarter of a CPU: 45 s of its own, under 120 s
    slow = {("chunk", i): ("slow", 60.0) for i in (ENTROPY, T_ENTROPY, KL)}
    fake(cpu_share=0.25, script=slow)
    res = run(sandbox.Limits(chunk_timeout=30.0))
    assert all(res.chunks[i].ok for i in (ENTROPY, T_ENTROPY, KL)) and res.messages == []
    fake(cpu_share=0.25, script=slow)
    res = run(sandbox.Limits(chunk_timeout=90.0, timeout_clock="wall"))
    assert any("wall-clock budget" in m for m in res.messages)


def test_a_notebook_kept_off_the_cpu_stops_at_its_wall_clock_backstop(fake):
    # every cell 100 s of wall at a tenth of a CPU (10 s of its own, under the cell's
    # limit; 4 cells: 40 s of its own, under the budget) still ends at 2 x 120 s, and its
    # replay, which meets slow cells again, gets one budget more: at most 3 x 120 s in all
    slow = {("chunk", i): ("slow", 100.0) for i in range(6)}
    starter = fake(cpu_share=0.1, script=slow)
    res = run(sandbox.Limits(chunk_timeout=30.0, wall=120.0))
    assert [e.kind for e in res.events] == ["wall", "wall"]
    assert "wall-clock budget exhausted twice" in res.messages[-1]
    assert len(starter.started) == 2
    assert NOTEBOOK_BACKSTOP * 120.0 + 120.0 <= res.seconds < NOTEBOOK_BACKSTOP * 120.0 + 121.0


def test_the_waiting_of_a_killed_attempt_is_credited_to_the_replay(fake):
    # attempt 1: 40 s of waiting before its cell hangs; without that credit, the replay's
    # slow cells would run into the notebook's 120 s budget
    starter = fake(cpu_share=0.5, attempts=[
        {"script": {("chunk", ENTROPY): "hang", ("chunk", 0): ("slow", 50.0)}},
        {"script": {("chunk", 0): ("slow", 50.0), ("chunk", KL): ("slow", 50.0)}}])
    res = run()
    assert len(starter.started) == 2
    assert res.chunks[ENTROPY].failure == "timeout"
    assert res.chunks[KL].ok is True
    assert res.messages == [f"chunk {ENTROPY}: timeout (over 30 s)"]



def test_the_runner_is_the_end_of_the_chain_of_only_children(tmp_path):
    """What :meth:`Sandbox.waiting` reads at ``ready``: bwrap, the jail's PID 1, the runner
    (or a fork's C and R) form a chain; a branch means it cannot tell, so None."""
    import subprocess
    import time

    from autograder.sandbox import only_descendant

    chain = subprocess.Popen(["sh", "-c", "sh -c 'sleep 30; :' ; :"])
    branch = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30; :"])
    try:
        import psutil

        end = time.monotonic() + 10
        while time.monotonic() < end and not (
                psutil.Process(chain.pid).children(recursive=True) and
                len(psutil.Process(branch.pid).children()) == 2):
            time.sleep(0.02)
        leaf = only_descendant(chain.pid)
        assert leaf is not None and psutil.Process(leaf).name() == "sleep"
        assert only_descendant(branch.pid) is None
        assert only_descendant(2**22 + 12345) is None        # gone
    finally:
        for p in (chain, branch):
            for kid in psutil.Process(p.pid).children(recursive=True):
                kid.kill()
            p.kill()
            p.wait()


def test_the_banner_names_the_clock():
    assert clock.describe("wall") == "time limits: wall clock (--wall-clock-timeouts)"
    own = clock.describe("own")
    if run_queue_wait(os.getpid()) is None:
        assert "no /proc/<pid>/schedstat" in own
    else:
        assert own.startswith("time limits: each runner's own clock") and "4x" in own
