"""The real zygote (autograder/zygote.py) in its jail: what a forked submission can and
cannot reach. Needs bubblewrap and a writable cgroup (both required in CI)."""

from __future__ import annotations

import json
import os

import pytest

from autograder import cgroups
from autograder.forkserver import ForkServer
from autograder.sandbox import Limits, _python_paths


@pytest.fixture(scope="module")
def server():
    from conftest import require_bwrap

    require_bwrap()
    found = cgroups.host()
    if not isinstance(found, cgroups.Host):
        reason = f"no writable cgroup on this machine ({found})"
        if os.environ.get("INFOLOSS_REQUIRE_CGROUPS"):
            pytest.fail(reason + " and INFOLOSS_REQUIRE_CGROUPS is set")
        pytest.skip(reason)
    fs = ForkServer(Limits(warm=("numpy",)))
    yield fs
    fs.close()


def _until(sb, kind: str, timeout: float = 60.0) -> list[dict]:
    import time

    seen: list[dict] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        events, _ = sb.read_events(0.2)
        seen += events
        if any(e.get("ev") == kind for e in seen):
            return seen
        if sb.proc.poll() is not None and not events:
            raise AssertionError(f"runner ended ({sb.proc.poll()}): {sb.stderr_tail()}")
    raise AssertionError(f"no {kind} in {timeout} s: {seen}")


def run_cell(server, source: str) -> dict:
    """Fork one sandbox, run ``source`` as its only cell; the cell's chunk_end event."""
    sb = server.fork(server.limits)
    try:
        _until(sb, "ready")
        sb.go({"chunks": [{"i": 0, "source": source}]})
        return next(e for e in _until(sb, "chunk_end") if e["ev"] == "chunk_end")
    finally:
        sb.close()


PROBE = r'''
import ctypes, errno, json, os
libc = ctypes.CDLL(None, use_errno=True)
seen = {"w": os.listdir("/w"), "tmp": sorted(os.listdir("/tmp")),
        "home": os.listdir(os.path.expanduser("~")), "cwd": os.getcwd()}
seen["umount_w"] = libc.umount2(b"/w", 2) == 0
try:
    open("/job/x", "w")
    seen["job_writable"] = True
except OSError:
    seen["job_writable"] = False
zygote = [p for p in filter(str.isdigit, os.listdir("/proc"))
          if b"autograder.zygote" in open(f"/proc/{p}/cmdline", "rb").read()]
seen["zygote_seen"] = bool(zygote)
readable = []
for name in ("environ", "mem", "maps"):
    try:
        with open(f"/proc/{zygote[0]}/{name}", "rb") as f:
            f.read(1)
        readable.append(name)
    except OSError:
        pass
seen["zygote_readable"] = readable
seen["own_environ"] = b"AUTOGRADER_EVENT_FD" in open("/proc/self/environ", "rb").read()
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines()
              if line.startswith("Cap"))
seen["caps"] = {k: int(v, 16) for k, v in status.items() if k != "CapAmb"}
open("/tmp/left", "w").write("x")
open(os.path.expanduser("~/left"), "w").write("x")
raise RuntimeError(json.dumps(seen))
'''


@pytest.mark.slow
def test_a_fork_sees_its_own_folders_only_and_cannot_reach_the_zygote(server):
    for _ in range(2):   # the second fork: nothing of the first one's files
        end = run_cell(server, PROBE)
        assert end["ename"] == "RuntimeError", end
        seen = json.loads(end["evalue"])
        # /tmp holds only the mount points of a checkout under /tmp (CI's clone), as in a
        # cold sandbox; never a file of the fork before
        under_tmp = sorted({p.split("/")[2] for p in _python_paths() if p.startswith("/tmp/")})
        assert seen == {"w": [], "tmp": under_tmp, "home": [], "cwd": "/home/student",
                        "umount_w": False, "job_writable": False, "zygote_seen": True,
                        "zygote_readable": [], "own_environ": True,
                        "caps": {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": 0}}, seen


@pytest.mark.slow
def test_each_fork_draws_its_own_random_numbers(server):
    src = "import numpy, random\nraise RuntimeError(f'{random.random()} {numpy.random.rand()}')"
    draws = {run_cell(server, src)["evalue"] for _ in range(3)}
    assert len(draws) == 3, draws


@pytest.mark.slow
def test_a_fork_runs_in_its_own_cgroup_and_its_exit_status_is_read(server):
    sb = server.fork(server.limits)
    try:
        _until(sb, "ready")
        assert sb.proc.pid in sb.cgroup.pids_inside()
        sb.go({"chunks": [{"i": 0, "source": "import os, signal\nos.kill(os.getpid(), "
                                             "signal.SIGSEGV)"}]})
        _until(sb, "chunk_start")
        assert sb.proc.wait(timeout=30) == -11
    finally:
        sb.close()
    assert sb.usage is not None and sb.usage.cpu_seconds > 0


@pytest.mark.slow
def test_a_zygote_whose_forks_cannot_start_is_refused_before_any_submission(server,
                                                                             monkeypatch):
    """The test fork (the canary) must reach the runner's ``ready``: here every fork
    fails while it sets up its mounts, so the zygote is refused with the fork's last
    stderr line (and the pool grades cold)."""
    from autograder import forkserver
    from autograder.forkserver import ForkServerError

    monkeypatch.setattr(forkserver, "_python_paths", lambda: ["/tmp/no-such-checkout-here"])
    with pytest.raises(ForkServerError, match=r"the test fork did not start \(exit 72: "
                                              r".*No such file"):
        ForkServer(Limits(warm=("numpy",)))


# A process of this jail is listed with its command line (C and R are forks of the zygote:
# they keep its command line, and bwrap's names it); a submission must see its own jail only.
COUNT_ZYGOTE_PROCS = r'''
n = 0
import os
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            n += b"autograder.zygote" in f.read()
    except OSError:
        pass
n
'''


@pytest.mark.slow
def test_two_submissions_running_at_once_see_none_of_each_others_processes(server):
    """Two worker threads each fork a submission from the pool, both alive at the same
    time: each sees its own zygote, its C and its runner, never the other's (a zygote forks
    one submission at a time: its forks share its PID namespace and host uid, so two at
    once could signal or read each other). The threads live until the end: a zygote dies
    with the thread that started it (bwrap's --die-with-parent)."""
    import threading

    from autograder.execute import WarmPool

    pool = WarmPool(server.limits)
    both = threading.Barrier(2, timeout=120)
    seen: list = []
    errors: list = []

    def worker() -> None:
        sb = None
        try:
            sb = pool.take()
            _until(sb, "ready")
            both.wait()        # both runners are alive from here on
            sb.go({"chunks": [{"i": 0, "source": COUNT_ZYGOTE_PROCS}]})
            end = next(e for e in _until(sb, "chunk_end") if e["ev"] == "chunk_end")
            seen.append(end["output"].strip())
            both.wait()        # neither closes before the other has looked
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(repr(exc))
            both.abort()
        finally:
            if sb is not None:
                sb.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert pool.fork_off is None and len(pool.servers) == 2, pool.notes
    finally:
        pool.close()
    alone = run_cell(server, COUNT_ZYGOTE_PROCS)["output"].strip()
    assert alone == "Out[1]: 4"      # bwrap (its argv names the zygote), zygote, C, R
    assert seen == [alone, alone], seen
    # The hazard that rule guards against: two forks of one zygote at once see each other.
    first, second = server.fork(server.limits), server.fork(server.limits)
    try:
        for sb in (first, second):
            _until(sb, "ready")
        first.go({"chunks": [{"i": 0, "source": COUNT_ZYGOTE_PROCS}]})
        end = next(e for e in _until(first, "chunk_end") if e["ev"] == "chunk_end")
        assert end["output"].strip() == "Out[1]: 6"
    finally:
        first.close()
        second.close()
