"""Limits that hold: a cgroup per sandbox (memory used, processes, CPU) and a sized /tmp.

Pure logic first (the cgroup layout read from /proc texts, the v1 and v2 file writes on a
fake cgroup folder, the wrapper's rlimits, bwrap's arguments, the banner, the status a
breach gives), in milliseconds. Then the real thing, where the machine has writable
cgroups (the course VM and CI: cgroup v1, root; INFOLOSS_REQUIRE_CGROUPS=1 turns a missing
cgroup into a failure): a sandbox joins its group before it runs and leaves nothing
behind, and a class of over-the-limit ps01 submissions (built with the hostile corpus's
builder) is graded by ``python -m autograder grade``.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import ROOT, cgroups, sandbox
from autograder.cgroups import Breach, Host, SandboxCgroup, find_host

sys.path.insert(0, str(Path(__file__).parent))
import corpus as C  # noqa: E402

MOUNTINFO_V1 = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
CGROUP_V1 = "8:pids:/\n4:memory:/vm/grader\n2:cpuacct:/\n0::/\n"
MOUNTINFO_V2 = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


# -- the layout, from /proc texts ------------------------------------------------------
def test_v1_layout_nests_each_sandbox_under_the_graders_own_cgroup(tmp_path):
    host = find_host(MOUNTINFO_V1, CGROUP_V1, tmp_path)
    assert isinstance(host, Host) and host.version == 1
    fs = tmp_path / "sys/fs/cgroup"
    assert host.parents == {"memory": fs / "memory/vm/grader", "pids": fs / "pids",
                            "cpuacct": fs / "cpuacct"}
    assert host.describe() == "cgroup v1 memory+pids+cpuacct"


def test_v2_layout_needs_memory_and_pids_delegated(tmp_path):
    folder = tmp_path / "sys/fs/cgroup/user.slice/grader"
    folder.mkdir(parents=True)
    (folder / "cgroup.controllers").write_text("cpu io memory pids\n")
    host = find_host(MOUNTINFO_V2, "0::/user.slice/grader\n", tmp_path)
    assert host == Host(2, {"unified": folder})
    (folder / "cgroup.controllers").write_text("cpu io memory\n")
    reason = find_host(MOUNTINFO_V2, "0::/user.slice/grader\n", tmp_path)
    assert isinstance(reason, str) and "pids" in reason


def test_no_cgroup_mounted_gives_a_reason():
    reason = find_host("22 1 0:5 / /proc rw - proc proc rw\n", "0::/\n")
    assert reason == "no cgroup memory and pids controllers mounted"


# -- the files written, on fake cgroup folders ---------------------------------------------
def test_v2_group_writes_its_limits_and_reads_breaches_and_usage(tmp_path):
    parent = tmp_path / "grader"
    parent.mkdir()
    (parent / "cgroup.subtree_control").write_text("")
    host = Host(2, {"unified": parent})
    cg = SandboxCgroup.create(host, 3 * 2**30, 32, name="autograder-1-0")
    d = parent / "autograder-1-0"
    assert (d / "memory.max").read_text() == str(3 * 2**30)
    assert (d / "memory.swap.max").read_text() == "0"
    assert (d / "memory.oom.group").read_text() == "1"   # the whole group dies at the limit
    assert (d / "pids.max").read_text() == "32"
    assert (parent / "cgroup.subtree_control").read_text().startswith("+")
    assert cg.procs_files() == [str(d / "cgroup.procs")]
    assert cg.breach() is None
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n")
    (d / "pids.events").write_text("max 3\n")
    assert cg.breach() == Breach("memory", 3 * 2**30)    # memory explains the rest
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 0\noom_kill 0\n")
    assert cg.breach() == Breach("pids", 32)
    (d / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
    (d / "memory.peak").write_text("123456789\n")
    assert cg.usage() == cgroups.Usage(2.5, 123456789)


def test_v1_group_pauses_at_the_memory_limit_and_counts_cpu(tmp_path):
    parents = {c: tmp_path / c for c in cgroups.V1_CONTROLLERS}
    for p in parents.values():
        p.mkdir()
    cg = SandboxCgroup.create(Host(1, parents), 2**30, 16, name="autograder-1-0")
    mem = parents["memory"] / "autograder-1-0"
    assert (mem / "memory.limit_in_bytes").read_text() == str(2**30)
    assert (mem / "memory.memsw.limit_in_bytes").read_text() == str(2**30)
    assert (mem / "memory.oom_control").read_text() == "1"   # the OOM killer off: pause
    assert (parents["pids"] / "autograder-1-0" / "pids.max").read_text() == "16"
    assert len(cg.procs_files()) == 3
    (mem / "memory.oom_control").write_text("oom_kill_disable 1\nunder_oom 1\noom_kill 0\n")
    assert cg.breach() == Breach("memory", 2**30)
    (parents["cpuacct"] / "autograder-1-0" / "cpuacct.usage").write_text("1500000000\n")
    (mem / "memory.max_usage_in_bytes").write_text("4096\n")
    assert cg.usage() == cgroups.Usage(1.5, 4096)


def test_stale_groups_of_dead_graders_are_swept(tmp_path):
    parent = tmp_path / "pids"
    dead = subprocess.Popen(["true"])
    dead.wait()
    (parent / f"autograder-{dead.pid}-3").mkdir(parents=True)
    (parent / f"autograder-{os.getpid()}-3").mkdir()
    (parent / "someone-else").mkdir()
    removed = cgroups.sweep_stale(Host(1, {"pids": parent}))
    assert removed == [str(parent / f"autograder-{dead.pid}-3")]
    assert sorted(p.name for p in parent.iterdir()) == [f"autograder-{os.getpid()}-3",
                                                        "someone-else"]


# -- the wrapper, bwrap and the banner -----------------------------------------------------
def test_no_address_space_limit_when_the_cgroup_holds_memory():
    limits = sandbox.Limits(memory=2 * 2**30)
    with_cg = dict(sandbox.rlimits(limits, cgroup=True))
    without = dict(sandbox.rlimits(limits, cgroup=False))
    assert resource.RLIMIT_AS not in with_cg and resource.RLIMIT_NPROC not in with_cg
    assert with_cg[resource.RLIMIT_CPU] == limits.cpu and with_cg[resource.RLIMIT_CORE] == 0
    assert without[resource.RLIMIT_AS] == 2 * 2**30 and resource.RLIMIT_NPROC in without


def test_jail_tmp_and_home_are_sized_tmpfs(tmp_path):
    argv = sandbox.bwrap_argv(tmp_path, 100 * 2**20)
    joined = " ".join(argv)
    assert f"--size {100 * 2**20} --tmpfs /tmp" in joined
    assert f"--size {100 * 2**20} --tmpfs {sandbox.HOME}" in joined
    assert f"{tmp_path / 'home'}" not in argv


def test_banner_says_which_limits_are_in_force(monkeypatch):
    host = Host(1, {c: Path("/x") for c in cgroups.V1_CONTROLLERS})
    monkeypatch.setattr(cgroups, "host", lambda: host)
    assert sandbox.limits_banner(sandbox.Limits()).startswith(
        "limits: cgroup v1 memory+pids+cpuacct")
    assert sandbox.limits_banner(sandbox.Limits(use_cgroups=False)).startswith(
        "limits: rlimits only (no writable cgroup")
    monkeypatch.setattr(cgroups, "host", lambda: "no cgroup memory and pids controllers mounted")
    assert sandbox.limits_banner(sandbox.Limits()) == (
        "limits: rlimits only (no writable cgroup: no cgroup memory and pids controllers "
        "mounted)")


# -- what a breach gives (the scripted sandbox of tests/unitkit.py) --------------------------
def test_memory_breach_is_out_of_memory_and_costs_that_cell_only(monkeypatch, tmp_path):
    from test_unit_status import SPEC_ENTROPY_ONLY, T_KL, grade, scores

    verdict = grade(monkeypatch, tmp_path, spec=SPEC_ENTROPY_ONLY,
                    script={("chunk", T_KL): "oom"})
    assert verdict.status == "out_of_memory"
    assert f"chunk {T_KL}: over the memory limit of 3.0 GiB (the sandbox's processes and its " \
           "/tmp together): stopped" in verdict.reasons
    assert scores(verdict) == {"test_entropy": 2.0, "test_kl": 0.0, "explain": None}


def test_pids_breach_stops_the_sandbox_at_once(monkeypatch, tmp_path):
    from test_unit_status import KL, grade

    verdict = grade(monkeypatch, tmp_path, script={("chunk", KL): "pids"})
    assert verdict.status == "crashed"
    assert any("over the limit of 32 processes and threads" in r for r in verdict.reasons)


def test_writing_too_much_into_the_host_folders_stops_that_cell_only(monkeypatch, tmp_path):
    from test_unit_status import KL, grade, scores

    verdict = grade(monkeypatch, tmp_path, script={("chunk", KL): "disk"})
    assert verdict.status == "crashed"
    assert f"chunk {KL}: wrote more than 256 MiB (or 4096 files) into the grader's " \
           "folders: stopped" in verdict.reasons
    assert scores(verdict)["test_entropy"] == 2.0


def test_host_folder_use_counts_bytes_and_entries_of_out_and_home(tmp_path):
    limits = sandbox.Limits(out_size=2**20, out_files=8)
    for sub in ("out", "home", "job"):
        (tmp_path / sub).mkdir()
    (tmp_path / "job" / "inputs.npz").write_bytes(b"x" * 2**21)   # the grader's own: not counted
    (tmp_path / "out" / "probe_0.npz").write_bytes(b"x" * 2**19)
    assert sandbox.host_folder_use(tmp_path, limits) is None
    (tmp_path / "home" / "deep").mkdir()
    (tmp_path / "home" / "deep" / "big").write_bytes(b"x" * 2**20)
    used, entries = sandbox.host_folder_use(tmp_path, limits)
    assert used >= 2**20 + 2**19 and entries == 3
    for i in range(8):
        (tmp_path / "out" / f"f{i}").touch()
    (tmp_path / "home" / "deep" / "big").unlink()
    assert sandbox.host_folder_use(tmp_path, limits)[1] > limits.out_files   # too many entries


def test_a_limit_hit_between_cells_blames_the_cell_that_left_processes_behind(monkeypatch,
                                                                             tmp_path):
    """A fork bomb's cell ends (its forks refused) milliseconds after it hit pids.max: the
    supervisor checks the limits before it lets the runner start the next piece, so that
    cell is blamed and skipped, never the one after it, and the rest still grades (CI,
    session 21: told "next" at once, the runner had started chunk 3 and both the bomb's
    chunk and chunk 3 were blamed)."""
    from test_unit_replay import FAST, INPUTS, JOB, KL, PREPARED, install
    from test_unit_status import CELLS, REFERENCES, SPEC, judge, scores

    from autograder import execute

    starter = install(monkeypatch, tmp_path, script={("chunk", KL): "pids_after"})
    raw = execute.run(JOB, INPUTS, FAST, None, PREPARED.definition_chunks)
    verdict = judge(CELLS, PREPARED.chunks, raw, SPEC, REFERENCES, [], list(PREPARED.notes))
    assert verdict.status == "crashed"
    limit_lines = [r for r in verdict.reasons if "over the limit of 32" in r]
    assert limit_lines == [f"chunk {KL}: over the limit of 32 processes and threads (a fork "
                           "or thread was refused): stopped"], verdict.reasons
    first = starter.started[0]
    assert first.ran[-1] == ("chunk", KL)      # nothing started after the bomb's cell
    assert not any("between cells" in r for r in verdict.reasons)
    assert scores(verdict)["test_entropy"] == 2.0


# -- the real cgroups ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_cgroups() -> Host:
    found = cgroups.host()
    if not isinstance(found, Host):
        reason = f"no writable cgroup on this machine ({found})"
        if os.environ.get("INFOLOSS_REQUIRE_CGROUPS"):
            pytest.fail(reason + " and INFOLOSS_REQUIRE_CGROUPS is set")
        pytest.skip(reason)
    return found


def _ready(sb: sandbox.Sandbox) -> None:
    end = time.monotonic() + 60
    while time.monotonic() < end:
        events, closed = sb.read_events(1)
        if any(e.get("ev") == "ready" for e in events):
            return
        assert not closed, "the runner died before it was ready"
    raise AssertionError("the runner was not ready in 60 s")


def test_the_runner_is_in_its_cgroup_from_the_start_and_nothing_outlives_it(real_cgroups):
    sb = sandbox.Sandbox.start(sandbox.Limits(warm=(), memory=2**30 + 4096, procs=24))
    dirs = dict(sb.cgroup.dirs)
    try:
        _ready(sb)
        pid = sb.proc.pid
        for d in dirs.values():
            assert pid in [int(x) for x in (d / "cgroup.procs").read_text().split()]
        assert (dirs["memory"] / "memory.limit_in_bytes").read_text().strip() == str(2**30 + 4096)
        assert (dirs["pids"] / "pids.max").read_text().strip() == "24"
        assert resource.prlimit(pid, resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY
        assert resource.prlimit(pid, resource.RLIMIT_CPU)[0] == sb.limits.cpu
    finally:
        sb.kill()   # the kill path, as after a timeout
        sb.close()
    assert not any(d.exists() for d in dirs.values())
    assert sb.usage is not None and sb.usage.cpu_seconds > 0


# Each entry is a cell added after the imports of an otherwise correct ps01 notebook.
MEMORY = 2**30
ALLOC = int(1.5 * MEMORY)
OVER_LIMIT = {
    "main_alloc": f"big = bytearray({ALLOC})",
    "child_alloc": f"""import os
pid = os.fork()
if pid == 0:
    big = bytearray({ALLOC})
    os._exit(0)
os.waitpid(pid, 0)""",
    "children_alloc": f"""import os, time
kids = []
for _ in range(3):   # each one alone is under the limit, together 1.5 times over it
    pid = os.fork()
    if pid == 0:
        big = bytearray({ALLOC // 3})
        time.sleep(20)
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)""",
    "fork_bomb": """import os, time
for _ in range(500):
    if os.fork() == 0:
        time.sleep(20)
        os._exit(0)""",
    "fills_tmp": """import errno, os

class TmpFull(Exception):
    pass

block = b"x" * (32 * 2**20)        # under the 64 MiB file-size limit, 64 of them: 2 GiB
try:
    for i in range(64):
        with open(f"/tmp/fill{i}", "wb") as f:
            f.write(block)
except OSError as exc:
    if exc.errno == errno.ENOSPC:
        raise TmpFull(f"/tmp full after {i} files") from None
    raise""",
    "fills_out": """import os, time
block = b"x" * (32 * 2**20)        # /out is a host folder: 40 files would be 1.25 GiB
for i in range(40):
    with open(f"/out/fill{i}", "wb") as f:
        f.write(block)
    time.sleep(0.05)""",
    "compiles_c": """import subprocess, time
open("spin.c", "w").write(
    "#include <time.h>\\nint main(void){volatile unsigned long x = 0;"
    "while (clock() < 2 * CLOCKS_PER_SEC) x++; return 0;}\\n")
subprocess.run(["cc", "-O0", "spin.c", "-o", "spin"], check=True)
subprocess.run(["./spin"], check=True)""",
}


@pytest.fixture(scope="module")
def over_limit(tmp_path_factory, real_cgroups):
    from autograder.record import results

    tmp = tmp_path_factory.mktemp("limits")
    entries = {name: (C._bytes(C.build(extra_after={"imports": [src]})), 0.0, "")
               for name, src in OVER_LIMIT.items()}
    C.write(tmp / "subs", entries)
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", C.A, str(tmp / "subs"), "--course",
         str(tmp / "course"), "--memory", str(MEMORY), "--workers", "2", "--cell-timeout", "25",
         "--probe-timeout", "10", "--timeout", "90"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["student"]: r for r in results(f"sqlite:///{tmp / 'course' / 'gradebook.db'}", C.A)}
    return {"proc": proc, "rows": rows}




@pytest.mark.slow
@pytest.mark.usefixtures("bwrap")
def test_banner_names_cgroup_v1_on_this_machine(over_limit, real_cgroups):
    assert f"limits: {real_cgroups.describe()}" in over_limit["proc"].stderr


@pytest.mark.slow
@pytest.mark.usefixtures("bwrap")
@pytest.mark.parametrize("student", ["main_alloc", "child_alloc", "children_alloc"])
def test_memory_over_the_limit_is_killed_and_says_memory(over_limit, student):
    row = over_limit["rows"][student]
    pay = row["payload"]
    assert row["status"] == "out_of_memory", pay["reasons"]
    assert pay["limits_hit"] == ["memory"]
    assert any("over the memory limit of 1.0 GiB" in r for r in pay["reasons"]), pay["reasons"]
    assert row["score"] == C.FULL          # the extra cell had no points; the rest ran again
    assert pay["memory_peak"] <= MEMORY + 2**20


@pytest.mark.slow
@pytest.mark.usefixtures("bwrap")
def test_fork_bomb_is_stopped_by_pids_max_and_the_grader_survives(over_limit):
    row = over_limit["rows"]["fork_bomb"]
    pay = row["payload"]
    assert row["status"] == "crashed" and pay["limits_hit"] == ["pids"], pay["reasons"]
    assert any(f"over the limit of {sandbox.Limits().procs} processes" in r
               for r in pay["reasons"])
    assert row["score"] == C.FULL, (pay["reasons"],
                                    {g: c["score"] for g, c in pay["cells"].items()})
    assert set(over_limit["rows"]) == set(OVER_LIMIT)   # every other submission graded too


@pytest.mark.slow
@pytest.mark.usefixtures("bwrap")
def test_a_2gib_write_to_tmp_is_refused(over_limit):
    pay = over_limit["rows"]["fills_tmp"]["payload"]
    assert {"chunk": pay["chunk_errors"][0]["chunk"], "error": "TmpFull"}.items() <= \
        pay["chunk_errors"][0].items(), pay["chunk_errors"]
    assert over_limit["rows"]["fills_tmp"]["score"] == C.FULL


@pytest.mark.slow
@pytest.mark.usefixtures("bwrap")
def test_filling_the_graders_out_folder_is_stopped_and_the_rest_grades(over_limit):
    row = over_limit["rows"]["fills_out"]
    pay = row["payload"]
    assert row["status"] == "crashed" and pay["limits_hit"] == ["disk"], pay["reasons"]
    assert any("wrote more than 256 MiB (or 4096 files) into the grader's folders" in r
               for r in pay["reasons"]), pay["reasons"]
    assert row["score"] == C.FULL


@pytest.mark.slow
@pytest.mark.usefixtures("bwrap")
def test_cpu_of_a_compiled_child_binary_is_counted(over_limit):
    pay = over_limit["rows"]["compiles_c"]["payload"]
    assert pay["chunk_errors"] == [], pay["chunk_errors"]
    # the binary spins 2 CPU seconds in a child: the runner's own rusage misses them
    assert pay["sandbox_cpu"] >= pay["runner_cpu"] + 1.9, pay
