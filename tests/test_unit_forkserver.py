"""The fork server's pure parts (no jail): when it is used, how a forked runner's exit
status is read, how the pool falls back to cold sandboxes. The real zygote is exercised
in tests/test_forkserver.py and, through the grader, in tests/test_speed.py."""

from __future__ import annotations

import os
import subprocess

import pytest

from autograder import execute, forkserver, sandbox, zygote
from autograder.forkserver import ForkServerError, _ForkedProc


def test_usable_says_why_not():
    assert forkserver.usable(sandbox.Limits(fork_server=False)) == "turned off"
    assert forkserver.usable(sandbox.Limits(use_bwrap=False)) == "no bubblewrap"
    assert forkserver.usable(sandbox.Limits(use_cgroups=False)) in ("no bubblewrap",
                                                                  "no writable cgroup")


def test_a_forked_runners_exit_status_comes_from_its_rc_file(tmp_path):
    kid = subprocess.Popen(["sleep", "30"])
    try:
        import psutil

        proc = _ForkedProc(kid.pid, tmp_path / "rc", psutil.Process(kid.pid).create_time())
        assert proc.poll() is None                       # alive, nothing written yet
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=0.05)
        (tmp_path / "rc").write_text("-11")
        assert proc.poll() == -11 and proc.wait() == -11
    finally:
        kid.kill()
        kid.wait()


def test_a_parent_killed_before_it_wrote_the_status_reads_as_sigkill(tmp_path):
    kid = subprocess.Popen(["true"])
    kid.wait()
    assert _ForkedProc(kid.pid, tmp_path / "rc", 0.0).poll() == -9
    # a live pid that is another process (started at another time) is not the parent
    assert _ForkedProc(os.getpid(), tmp_path / "rc", 1.0).poll() == -9


def test_the_zygote_reads_one_line_and_nothing_after_it():
    r, w = os.pipe()
    os.write(w, b"joined\n/job\n")
    assert zygote._read_line(r) == "joined"
    assert os.read(r, 100) == b"/job\n"
    os.close(w)
    assert zygote._read_line(r) == ""
    os.close(r)


class _Cold:
    """Stands for a cold sandbox."""

    def __init__(self):
        self.proc = type("P", (), {"poll": lambda self: None})()

    def close(self):
        pass


def _pool(monkeypatch, server_factory) -> execute.WarmPool:
    monkeypatch.setattr(forkserver, "usable", lambda limits: None)
    monkeypatch.setattr(forkserver, "ForkServer", server_factory)
    monkeypatch.setattr(execute.Sandbox, "start", classmethod(lambda cls, limits: _Cold()))
    return execute.WarmPool(sandbox.Limits(), pending=3)


def test_a_zygote_that_will_not_start_means_cold_sandboxes_and_a_note(monkeypatch):
    def broken(limits):
        raise ForkServerError("the zygote runs 3 threads")

    pool = _pool(monkeypatch, broken)
    assert isinstance(pool.take(), _Cold) and isinstance(pool.fresh(), _Cold)
    assert pool.fork_off == "the zygote did not start: the zygote runs 3 threads"
    assert pool.notes == [pool.fork_off]
    pool.refill()                        # forking is off: spares are kept again
    assert len(pool.all) == 1
    pool.close()


def test_a_failed_fork_falls_back_once_and_the_next_take_starts_a_new_zygote(monkeypatch):
    started: list = []

    class Server:
        tainted = False

        def __init__(self, limits):
            self.closed = False
            self.n = len(started)
            started.append(self)

        def alive(self):
            return not self.closed

        def fork(self, limits):
            if self.n == 0:
                raise ForkServerError("the zygote did not say forked (timeout)")
            return f"fork of zygote {self.n}"

        def close(self):
            self.closed = True

    pool = _pool(monkeypatch, Server)
    assert isinstance(pool.take(), _Cold)
    assert pool.notes == ["a fork failed (the zygote did not say forked (timeout)): a cold "
                          "sandbox instead"]
    assert started[0].closed
    assert pool.take() == "fork of zygote 1" and pool.fresh() == "fork of zygote 1"
    pool.refill()
    assert pool.all == []                # no cold spare while forking works
    pool.close()
    assert started[1].closed


def test_a_dead_or_tainted_zygote_is_replaced(monkeypatch):
    started: list = []

    class Server:
        def __init__(self, limits):
            self.tainted = False
            self.closed = False
            started.append(self)

        def alive(self):
            return not self.closed and not self.tainted

        def fork(self, limits):
            return self

        def close(self):
            self.closed = True

    pool = _pool(monkeypatch, Server)
    first = pool.take()
    first.tainted = True
    second = pool.take()
    assert second is not first and first.closed
    assert pool.notes == ["a submission's process outlived its kill: a new zygote"]
    second.closed = True
    assert pool.take() is started[2]
    assert pool.notes[-1] == "a zygote died: started again"
    pool.close()


def test_time_spent_getting_a_sandbox_is_not_the_notebooks(monkeypatch, tmp_path):
    """A zygote restarted (or a fork timing out) before the notebook starts does not eat
    into its wall-clock budget."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_unit_replay import INPUTS, JOB, PREPARED, install

    limits = sandbox.Limits(wall=1.0)
    starter = install(monkeypatch, tmp_path)   # execute runs on the starter's fake clock

    class SlowPool:
        def take(self):
            starter.clock.advance(1.5)
            return starter.start(limits)

        def fresh(self):
            return starter.start(limits)

    raw = execute.run(JOB, INPUTS, limits, SlowPool(), PREPARED.definition_chunks)
    assert not any(e.kind == execute.WALL for e in raw.events), raw.messages
    assert raw.seconds > 1.5


def test_after_a_fork_that_died_before_any_cell_the_retry_is_cold(monkeypatch, tmp_path):
    """A fork that dies before the runner is ready is the grader's failure: the retry
    starts a cold sandbox, not another fork of a zygote that may be broken."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_unit_replay import FAST, INPUTS, JOB, PREPARED, install
    from unitkit import FakeSandbox

    starter = install(monkeypatch, tmp_path)
    asked: list[str] = []

    class BrokenForks:
        def take(self):
            asked.append("take")
            return FakeSandbox(tmp_path / "fork", starter.clock, never_ready=True,
                               alive=False, returncode=72)

        def fresh(self):
            asked.append("fresh")
            return self.take()

    raw = execute.run(JOB, INPUTS, FAST, BrokenForks(), PREPARED.definition_chunks)
    assert asked == ["take"] and len(starter.started) == 1
    assert execute.RETRIED in [e.kind for e in raw.events] and not raw.grader_error
    assert all(c.ok for c in raw.chunks.values()), raw.messages
