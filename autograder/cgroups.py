"""Cgroups: one control group per sandbox, for limits that count what a submission uses.

Why not rlimits alone: ``RLIMIT_AS`` caps reserved *address space* of each process
separately, so it both over-counts (CUDA and torch reserve huge ranges they never touch)
and under-counts (each child gets the same amount again); ``RLIMIT_NPROC`` is per user and
ignored for root. A cgroup counts the resident memory (anonymous pages, page cache and the
jail's tmpfs pages, which are shmem charged to the cgroup that wrote them) and the tasks of
everything the sandbox started, children included, and accounts their CPU time.

Each sandbox gets ``autograder-<grader pid>-<n>`` under the grader's own cgroup (so an
outer limit, a container's or a CI job's, still holds), with

* memory: ``memory.limit_in_bytes`` (+ ``memory.memsw.limit_in_bytes``: no escape into
  swap) on v1, ``memory.max`` (+ ``memory.swap.max = 0``) on v2. v1 pauses a task at the
  limit (``memory.oom_control`` = 1, the kernel's OOM killer off for the group) and the
  supervisor, seeing ``under_oom``, stops the whole sandbox while the piece that asked for
  the memory is still the one running; v2 kills the whole group (``memory.oom.group``).
* pids: ``pids.max`` (processes *and* threads): a fork bomb's next ``fork`` fails at once
  with EAGAIN; ``pids.events`` says it happened, and the supervisor stops the sandbox.
* CPU: ``cpuacct.usage`` (v1) / ``cpu.stat`` ``usage_usec`` (v2), read before removal:
  the runner, the C compiler and LeNet binaries of ps06, killed attempts included.

The exec wrapper in :mod:`autograder.sandbox` writes its own pid into ``cgroup.procs``
before it becomes bwrap, so nothing of the submission ever runs outside the group.

CUDA (reasoned, not run: no GPU machine was lent to this work): with the cgroup memory
limit in force the sandbox sets no ``RLIMIT_AS``. At initialisation the CUDA driver
reserves very large virtual address ranges for unified addressing (tens to hundreds of
GiB, growing with host and device memory) and maps the device's memory windows; under an
address-space cap of a few GiB those ``mmap`` calls fail and CUDA reports an out-of-memory
or initialisation error before any work. A memory cgroup charges pages, not reservations:
reserved but untouched ranges cost nothing, device memory is not host RAM and is never
charged, pinned host buffers and host copies of tensors are resident and are charged. So
the cgroup limit bounds what a run takes from the host without stopping CUDA from
starting. (``benchmarks/gpu/gpu_checks.py`` is where to confirm it when a GPU is lent.)

Where no cgroup is writable (no controller mounted, not root, a v2 folder whose
controllers cannot be delegated), :func:`host` says why and the sandbox falls back to
rlimits; the grader's banner says which is in force.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

PREFIX = "autograder-"
V1_CONTROLLERS = ("memory", "pids", "cpuacct")
_counter = itertools.count()


@dataclass(frozen=True)
class Host:
    """Where this grader may create sandbox cgroups."""

    version: int                       # 1 or 2
    parents: dict[str, Path]           # v1: controller -> folder; v2: {"unified": folder}

    def describe(self) -> str:
        if self.version == 1:
            return "cgroup v1 " + "+".join(c for c in V1_CONTROLLERS if c in self.parents)
        return "cgroup v2 memory+pids+cpu"


@dataclass(frozen=True)
class Breach:
    """A limit the sandbox ran into (data; the supervisor words the message)."""

    kind: str        # "memory", "pids" (the cgroup) or "disk" (the sandbox's host folders)
    limit: int       # bytes or tasks


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float | None
    memory_peak: int | None    # bytes; None where the kernel keeps no peak


def _parse_mounts(mountinfo: str) -> tuple[dict[str, tuple[str, str]], tuple[str, str] | None]:
    """v1 controller -> (mount root, mount point); the v2 (root, point), if mounted."""
    v1: dict[str, tuple[str, str]] = {}
    v2 = None
    for line in mountinfo.splitlines():
        pre, sep, post = line.partition(" - ")
        if not sep:
            continue
        fields, tail = pre.split(), post.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        root, point = fields[3], fields[4]
        if tail[0] == "cgroup2" and v2 is None:
            v2 = (root, point)
        elif tail[0] == "cgroup":
            for opt in tail[2].split(","):
                v1.setdefault(opt, (root, point))
    return v1, v2


def _parse_membership(self_cgroup: str) -> dict[str, str]:
    """controller -> this process's cgroup path ("" for the v2 line)."""
    out: dict[str, str] = {}
    for line in self_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[1] == "":
            out[""] = parts[2]
        for c in parts[1].split(","):
            if c:
                out[c] = parts[2]
    return out


def _folder(point: str, root: str, own: str, fsroot: Path) -> Path:
    rel = os.path.relpath(own, root) if own.startswith(root) else "."
    return (fsroot / point.lstrip("/") / rel).resolve()


def find_host(mountinfo: str, self_cgroup: str, fsroot: Path = Path("/")) -> Host | str:
    """The cgroup layout this process may use, or why there is none (pure: texts in).

    v1 needs the memory and pids controllers (cpuacct is optional); v2 needs memory and
    pids in the grader's ``cgroup.controllers``. A hybrid machine (v1 controllers plus an
    empty unified tree, like the course VM) uses v1, where the controllers are.
    """
    v1, v2 = _parse_mounts(mountinfo)
    own = _parse_membership(self_cgroup)
    if "memory" in v1 and "pids" in v1:
        parents = {c: _folder(v1[c][1], v1[c][0], own.get(c, "/"), fsroot)
                   for c in V1_CONTROLLERS if c in v1}
        return Host(1, parents)
    if v2 is not None:
        folder = _folder(v2[1], v2[0], own.get("", "/"), fsroot)
        try:
            controllers = (folder / "cgroup.controllers").read_text().split()
        except OSError as exc:
            return f"cannot read {folder}/cgroup.controllers ({exc.strerror})"
        missing = [c for c in ("memory", "pids") if c not in controllers]
        if missing:
            return f"cgroup v2 at {folder} lacks the {'+'.join(missing)} controller"
        return Host(2, {"unified": folder})
    return "no cgroup memory and pids controllers mounted"


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _try_write(path: Path, value: str) -> None:
    try:
        _write(path, value)
    except OSError:
        pass


def _prepare_v2(folder: Path) -> None:
    """Let child cgroups of ``folder`` use memory and pids (v2 delegates per level)."""
    enabled = (folder / "cgroup.subtree_control").read_text().split()
    wanted = [c for c in ("memory", "pids", "cpu") if c not in enabled]
    for c in wanted:
        try:
            _write(folder / "cgroup.subtree_control", f"+{c}")
        except OSError:
            if c != "cpu":   # usage_usec is in cpu.stat even without the cpu controller
                raise


@dataclass
class SandboxCgroup:
    """The cgroup of one sandbox: created before the runner starts, removed after it."""

    host: Host
    name: str
    memory: int
    pids: int
    dirs: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def create(cls, host: Host, memory: int, pids: int, name: str | None = None) -> SandboxCgroup:
        name = name or f"{PREFIX}{os.getpid()}-{next(_counter)}"
        cg = cls(host, name, memory, pids)
        try:
            for key, parent in host.parents.items():
                if host.version == 2:
                    _prepare_v2(parent)
                d = parent / name
                d.mkdir()
                cg.dirs[key] = d
            cg._set_limits()
        except BaseException:
            cg.remove()
            raise
        return cg

    def _set_limits(self) -> None:
        if self.host.version == 1:
            mem = self.dirs["memory"]
            _write(mem / "memory.limit_in_bytes", str(self.memory))
            _try_write(mem / "memory.memsw.limit_in_bytes", str(self.memory))  # swap accounting
            _write(mem / "memory.oom_control", "1")
            _write(self.dirs["pids"] / "pids.max", str(self.pids))
        else:
            d = self.dirs["unified"]
            _write(d / "memory.max", str(self.memory))
            _try_write(d / "memory.swap.max", "0")   # absent without swap accounting
            _write(d / "memory.oom.group", "1")
            _write(d / "pids.max", str(self.pids))

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files the exec wrapper writes its pid into."""
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def _read(self, key: str, name: str) -> str | None:
        d = self.dirs.get(key)
        try:
            return (d / name).read_text() if d is not None else None
        except OSError:
            return None

    def _key(self, controller: str) -> str:
        return controller if self.host.version == 1 else "unified"

    def breach(self) -> Breach | None:
        """The limit the sandbox ran into, if any (memory first: it explains the rest)."""
        if self.host.version == 1:
            oom = _pairs(self._read("memory", "memory.oom_control"))
            if oom.get("under_oom", 0) or oom.get("oom_kill", 0):
                return Breach("memory", self.memory)
        else:
            events = _pairs(self._read("unified", "memory.events"))
            if events.get("oom", 0) or events.get("oom_kill", 0):
                return Breach("memory", self.memory)
        if _pairs(self._read(self._key("pids"), "pids.events")).get("max", 0):
            return Breach("pids", self.pids)
        return None

    def usage(self) -> Usage:
        cpu = None
        if self.host.version == 1:
            raw = self._read("cpuacct", "cpuacct.usage")
            if raw and raw.strip().isdigit():
                cpu = int(raw) / 1e9
            peak = self._read("memory", "memory.max_usage_in_bytes")
        else:
            usec = _pairs(self._read("unified", "cpu.stat")).get("usage_usec")
            cpu = usec / 1e6 if usec is not None else None
            peak = self._read("unified", "memory.peak")
        return Usage(cpu, int(peak) if peak and peak.strip().isdigit() else None)

    def pids_inside(self) -> list[int]:
        found: set[int] = set()
        for key in self.dirs:
            found |= {int(x) for x in (self._read(key, "cgroup.procs") or "").split()
                      if x.isdigit()}
        return sorted(found)

    def kill_all(self, timeout: float = 5.0) -> None:
        """SIGKILL everything in the group (a process that left the jail's session too)."""
        if self.host.version == 2 and (self.dirs.get("unified", Path("/nonexistent"))
                                       / "cgroup.kill").exists():
            try:
                _write(self.dirs["unified"] / "cgroup.kill", "1")
            except OSError:
                pass
        end = time.monotonic() + timeout
        while (pids := self.pids_inside()) and time.monotonic() < end:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        """Kill what is left and delete the group's folders (retrying while tasks exit)."""
        self.kill_all()
        for d in list(self.dirs.values())[::-1]:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
        self.dirs.clear()


def _pairs(text: str | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[key] = int(value)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(host: Host) -> list[str]:
    """Remove sandbox cgroups left by graders that died (their pid is gone)."""
    removed = []
    for key, parent in host.parents.items():
        try:
            children = list(parent.iterdir())
        except OSError:
            continue
        for d in children:
            pid = d.name[len(PREFIX):].split("-")[0]
            if d.is_dir() and d.name.startswith(PREFIX) and pid.isdigit() and not _alive(int(pid)):
                SandboxCgroup(host, d.name, 0, 0, {key: d}).remove()
                removed.append(str(d))
    return removed


@cache
def host() -> Host | str:
    """This machine's usable cgroup layout, proven by creating and removing one group; or
    the reason there is none. Computed once per grader process."""
    try:
        found = find_host(Path("/proc/self/mountinfo").read_text(),
                          Path("/proc/self/cgroup").read_text())
    except OSError as exc:
        return f"cannot read /proc/self ({exc.strerror})"
    if isinstance(found, str):
        return found
    try:
        SandboxCgroup.create(found, 2**30, 64).remove()
    except OSError as exc:
        where = next(iter(found.parents.values()))
        return f"no writable cgroup under {where} ({exc.strerror or exc})"
    sweep_stale(found)
    return found


def describe_limits(use_cgroups: bool | None) -> str:
    """The banner's line: which mechanism holds the limits in this grader."""
    found = host() if use_cgroups is not False else "cgroups turned off"
    if isinstance(found, Host):
        return f"limits: {found.describe()} (memory used, children included; processes; CPU)"
    return f"limits: rlimits only (no writable cgroup: {found})"
