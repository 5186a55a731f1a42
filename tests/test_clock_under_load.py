"""Fairness under load, in the real jail: a cell's limit is counted on its runner's own
clock (:mod:`autograder.clock`), so a legitimate cell does not time out because other work
held the CPU, while a spinning cell is still stopped and a sleeping one still times out on
time.

The load is deterministic: this test process (and so every sandbox and zygote it starts)
and a few busy loops are pinned to one CPU, so the runner gets about a third of it.
Needs bubblewrap (required in CI); the own clock needs ``/proc/<pid>/schedstat``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time

import pytest

from autograder import execute
from autograder.clock import BACKSTOP, run_queue_wait
from autograder.execute import WarmPool
from autograder.sandbox import Limits
from autograder.spec import encode_inputs

pytestmark = pytest.mark.slow

LIMIT = 3.0          # the cell's timeout in these tests (seconds)
BUSY = 2             # busy loops beside the runner on its one CPU: it gets about 1/3
NO_INPUTS = encode_inputs([])[1]


@pytest.fixture(scope="module", autouse=True)
def _needs():
    from conftest import require_bwrap

    require_bwrap()
    if run_queue_wait(os.getpid()) is None:
        pytest.skip("no /proc/<pid>/schedstat on this kernel: the own clock is the wall clock")
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no sched_setaffinity: the load cannot be pinned")


def _spin() -> None:
    os.setsid()   # a session of its own: the kernel's autogroups weigh sessions, not processes
    while True:
        pass


@pytest.fixture
def loaded_cpu():
    """This process and ``BUSY`` busy loops on one CPU; undone afterwards."""
    before = os.sched_getaffinity(0)
    cpu = min(before)
    os.sched_setaffinity(0, {cpu})
    ctx = mp.get_context("fork")
    loops = [ctx.Process(target=_spin, daemon=True) for _ in range(BUSY)]
    for p in loops:
        p.start()
    try:
        yield cpu
    finally:
        for p in loops:
            p.kill()
            p.join()
        os.sched_setaffinity(0, before)


def _work(seconds: float) -> str:
    """A cell that computes for about ``seconds`` of CPU (calibrated on CPU time: the load
    does not change it)."""
    n, t0 = 2_000_000, time.process_time()
    sum(i * i for i in range(n))
    per = (time.process_time() - t0) / n
    return f"sum(i * i for i in range({int(seconds / per)}))"


def _run(source: str, limits: Limits, pool=None) -> execute.RawResult:
    job = {"chunks": [{"i": 0, "source": source, "role": "extra", "grade_id": None}],
           "probes": []}
    return execute.run(job, NO_INPUTS, limits, pool, set())


@pytest.fixture(scope="module")
def cell() -> str:
    return _work(0.25 * LIMIT)     # 0.75 s of CPU; the cell runs it twice: 1.5 s of CPU, about
    # 4.5 s of wall clock at a third of a CPU (the backstop, 12 s, leaves room for other load)


@pytest.mark.parametrize("forked", [False, True], ids=["cold", "forked"])
def test_a_legitimate_cell_slowed_by_other_work_does_not_time_out(loaded_cpu, cell, forked):
    limits = Limits(chunk_timeout=LIMIT, fork_server=forked)
    pool = WarmPool(limits) if forked else None
    try:
        res = _run(cell + "\n" + cell, limits, pool)
    finally:
        if pool is not None:
            pool.close()
    run = res.chunks[0]
    assert run.ok is True, res.messages
    assert run.seconds > LIMIT, "the load did not slow the cell: the test proves nothing"
    if forked:
        assert pool.fork_off is None, pool.notes


def test_on_the_wall_clock_the_same_cell_times_out(loaded_cpu, cell):
    res = _run(cell + "\n" + cell, Limits(chunk_timeout=LIMIT, timeout_clock="wall"))
    assert res.chunks[0].failure == "timeout", res.messages


def test_a_spinning_cell_is_still_stopped_after_its_limit_of_its_own_time(loaded_cpu):
    res = _run("while True:\n    pass", Limits(chunk_timeout=LIMIT))
    run = res.chunks[0]
    assert run.failure == "timeout"
    # it had a third of the CPU: its own 2 s took several seconds of wall clock, never
    # more than the backstop
    assert 1.5 * LIMIT < run.seconds <= BACKSTOP * LIMIT + 1.0
    assert res.messages == [f"chunk 0: timeout (over {LIMIT:.0f} s)"]


def test_a_cell_that_starves_its_own_runner_is_stopped_at_the_backstop(loaded_cpu):
    # processes, not threads: Python threads take turns on the GIL, and waiting for the
    # GIL is sleeping, which the own clock counts
    source = ("import os\n"
              "for _ in range(6):\n    if os.fork() == 0:\n        while True:\n"
              "            pass\n"
              "while True:\n    pass")
    res = _run(source, Limits(chunk_timeout=LIMIT))
    run = res.chunks[0]
    assert run.failure == "timeout"
    assert run.seconds <= BACKSTOP * LIMIT + 1.0
    assert res.messages == [f"chunk 0: timeout (ran {BACKSTOP * LIMIT:.0f} s of wall clock, "
                            f"{BACKSTOP:g} times its {LIMIT:.0f} s limit, most of it kept off "
                            "the CPU)"]


def test_a_sleeping_cell_times_out_when_its_limit_has_passed():
    res = _run("import time\ntime.sleep(60)", Limits(chunk_timeout=LIMIT))
    run = res.chunks[0]
    assert run.failure == "timeout"
    assert LIMIT < run.seconds < LIMIT + 1.0      # sleeping counts: no wait for the backstop
