"""The host side of the fork server (:mod:`autograder.zygote`): one per grading worker.

:class:`ForkServer` starts the zygote in its jail and hands out :class:`ForkedSandbox`es,
one fork per submission, each in its own cgroup with the same limits as a cold
:class:`~autograder.sandbox.Sandbox`, which it stands in for (same methods; the supervisor
in :mod:`autograder.execute` cannot tell them apart). It needs bubblewrap and a writable
cgroup (the cgroup is what holds and kills everything a submission starts); without them,
or when the zygote will not start, :func:`usable` says why and the grader starts cold
sandboxes as before.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import cgroups
from .sandbox import (
    HOME,
    STDERR_FILE,
    Limits,
    Sandbox,
    _env,
    _python_paths,
    bwrap_argv,
    bwrap_path,
    cgroup_host,
    rlimits,
)
from .scratch import make_scratch

READY_TIMEOUT = 120.0   # the zygote's imports (torch: a few seconds on a busy machine)
FORK_TIMEOUT = 10.0


class ForkServerError(RuntimeError):
    """The zygote could not start or fork: the caller falls back to a cold sandbox."""


def usable(limits: Limits) -> str | None:
    """Why the fork server cannot be used under ``limits`` (None: it can)."""
    if limits.fork_server is False:
        return "turned off"
    if limits.use_bwrap is False or bwrap_path() is None:
        return "no bubblewrap"
    if cgroup_host(limits) is None:
        return "no writable cgroup"
    return None


@dataclass
class _ForkedProc:
    """What :class:`Sandbox` reads of its ``Popen``, for a forked runner: its exit status
    comes from the ``rc`` file its parent C writes (C is the zygote's child, not ours)."""

    pid: int                     # C's pid on the host
    rc_path: Path
    start_time: float
    returncode: int | None = None
    stdin: None = None

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        try:
            text = self.rc_path.read_text().strip()
        except OSError:
            text = ""
        if text:
            self.returncode = int(text)
        elif not _alive(self.pid, self.start_time):
            self.returncode = -9     # C was killed before it could write the status
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired("forked runner", timeout)
            time.sleep(0.01)
        return self.returncode


def _alive(pid: int, start_time: float) -> bool:
    try:
        import psutil

        p = psutil.Process(pid)
        return p.create_time() == start_time and p.status() != psutil.STATUS_ZOMBIE
    except Exception:  # noqa: BLE001 (gone)
        return False


@dataclass
class ForkedSandbox(Sandbox):
    """One forked runner; its folder on the host is ``/w/<name>`` in the zygote's jail."""

    ctl_fd: int = -1
    server: ForkServer | None = field(default=None, repr=False)

    def _send(self, line: str) -> None:
        try:
            os.write(self.ctl_fd, (line + "\n").encode())
        except OSError:
            pass

    def process_count(self) -> int:
        return len(self.cgroup.pids_inside()) if self.cgroup is not None else 0

    def kill(self) -> None:
        if self.cgroup is not None:
            self.cgroup.kill_all()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def _left_behind(self, pids: list[int]) -> None:
        if pids and self.server is not None:
            # Something outlived the kill: it shares the zygote's jail with the next
            # submission, so that zygote is not used again.
            self.server.tainted = True

    def _close_channels(self) -> None:
        for name in ("events_fd", "ctl_fd"):
            fd = getattr(self, name)
            setattr(self, name, -1)
            if fd >= 0:
                os.close(fd)


class ForkServer:
    """A zygote for one worker thread: started once, forked once per submission."""

    def __init__(self, limits: Limits) -> None:
        why = usable(limits)
        if why is not None:
            raise ForkServerError(why)
        self.limits = limits
        self.host = cgroup_host(limits)
        self.folder = make_scratch()
        os.chmod(self.folder, 0o777)
        self.count = 0
        self.tainted = False   # a submission's process outlived its cgroup's kill
        self._buf = b""
        r, w = os.pipe()
        cmd = bwrap_argv(self.folder, limits.tmp_size, worker=True) + [
            sys.executable, "-m", "autograder.zygote"]
        # The zygote itself: no CPU-time or memory rlimit (each fork sets its own), no cores.
        spec = "4=0"   # RLIMIT_CORE
        wrapper = [sys.executable, "-I", "-S", "-c", _EXEC, spec, *cmd]
        self.err = open(self.folder / "zygote.stderr", "wb")
        try:
            self.proc = subprocess.Popen(
                wrapper, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.err,
                pass_fds=(w,), env=_env(True, self.folder, limits, w),
                start_new_session=True, cwd=self.folder)
        finally:
            os.close(w)
        self.events_fd = r
        os.set_blocking(r, False)
        ready = self._event("zygote_ready", READY_TIMEOUT)
        if ready.get("threads") != 1:
            self.close()
            raise ForkServerError(f"the zygote runs {ready.get('threads')} threads after its "
                                  "imports (a fork would copy only one)")
        self._canary()

    def _canary(self) -> None:
        """One fork that must get as far as the runner's ``ready``, before any submission
        is given to this zygote (else the pool grades cold, and says why)."""
        try:
            sb = self.fork(self.limits)
        except (ForkServerError, OSError) as exc:
            self.close()
            raise ForkServerError(f"the test fork failed: {exc}") from None
        try:
            end = time.monotonic() + READY_TIMEOUT
            while time.monotonic() < end:
                events, _ = sb.read_events(0.2)
                if any(e.get("ev") == "ready" for e in events):
                    return
                if sb.proc.poll() is not None and not events:
                    break
            tail = sb.stderr_tail().strip().splitlines()[-1:] or ["no stderr"]
            self.close()
            raise ForkServerError(f"the test fork did not start (exit {sb.proc.poll()}: "
                                  f"{tail[0][:300]})")
        finally:
            sb.close()

    def _event(self, kind: str, timeout: float) -> dict:
        end = time.monotonic() + timeout
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("ev") == kind:
                    return ev
                if ev.get("ev") == "refused":
                    raise ForkServerError(f"the zygote refused to fork: {ev.get('why')}")
            left = end - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.close()
                raise ForkServerError(f"the zygote did not say {kind} "
                                      f"({'exited' if self.proc.poll() is not None else 'timeout'}"
                                      f"; stderr: {self._stderr()[-300:]!r})")
            if select.select([self.events_fd], [], [], min(left, 0.5))[0]:
                try:
                    data = os.read(self.events_fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not data:
                    self.proc.wait(timeout=5)
                    continue
                self._buf += data

    def _stderr(self) -> str:
        try:
            return (self.folder / "zygote.stderr").read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None and not self.tainted

    def fork(self, limits: Limits) -> ForkedSandbox:
        """A sandbox for one submission, forked from the zygote, in its own cgroup."""
        self.count += 1
        name = f"s{self.count}"
        folder = self.folder / name
        folder.mkdir()
        for sub in ("job", "out"):
            (folder / sub).mkdir()
            os.chmod(folder / sub, 0o777)
        os.chmod(folder, 0o777)
        os.mkfifo(folder / "ctl", 0o666)
        os.mkfifo(folder / "events", 0o666)
        env = _env(True, self.folder, limits, 10)
        (folder / "spec.json").write_text(json.dumps({
            "home": HOME, "tmp_size": limits.tmp_size, "env": env,
            "rlimits": rlimits(limits, cgroup=True),
            "tmp_binds": [p for p in _python_paths() if p == "/tmp" or p.startswith("/tmp/")]}))
        group = cgroups.SandboxCgroup.create(self.host, limits.memory, limits.procs)
        ev_fd = ctl_fd = -1
        try:
            # Both FIFOs opened read-write here: neither open blocks, and the channel
            # never reads as closed; the runner's death is read from its exit status.
            ev_fd = os.open(folder / "events", os.O_RDWR | os.O_NONBLOCK)
            ctl_fd = os.open(folder / "ctl", os.O_RDWR)
            self.proc.stdin.write(f"/w/{name}\n".encode())
            self.proc.stdin.flush()
            forked = self._event("forked", FORK_TIMEOUT)
            host_pid, start = self._host_pid(int(forked["pid"]))
            for path in group.procs_files():
                with open(path, "w") as f:
                    f.write(str(host_pid))
            os.write(ctl_fd, b"joined\n")
        except BaseException:
            for fd in (ev_fd, ctl_fd):
                if fd >= 0:
                    os.close(fd)
            group.kill_all()
            group.remove()
            shutil.rmtree(folder, ignore_errors=True)
            raise
        proc = _ForkedProc(host_pid, folder / "rc", start)
        return ForkedSandbox(limits, folder, proc, ev_fd, True, cgroup=group, ctl_fd=ctl_fd,
                             server=self)

    def _host_pid(self, jail_pid: int) -> tuple[int, float]:
        """The host pid (and start time) of the zygote's child numbered ``jail_pid`` in the
        jail (the last field of NSpid in /proc/<pid>/status)."""
        import psutil

        end = time.monotonic() + FORK_TIMEOUT
        while time.monotonic() < end:
            for p in psutil.Process(self.proc.pid).children(recursive=True):
                try:
                    with open(f"/proc/{p.pid}/status") as f:
                        ns = next((ln.split()[1:] for ln in f if ln.startswith("NSpid:")), [])
                    if ns and int(ns[-1]) == jail_pid and len(ns) > 1:
                        return p.pid, p.create_time()
                except (OSError, psutil.Error, ValueError):
                    continue
            time.sleep(0.005)
        raise ForkServerError(f"the zygote's child {jail_pid} was not found on the host")

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            import signal

            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait(timeout=10)
        if self.events_fd >= 0:
            os.close(self.events_fd)
            self.events_fd = -1
        self.err.close()
        shutil.rmtree(self.folder, ignore_errors=True)


# The zygote's exec wrapper: its rlimits (argv[1]), then bwrap (no cgroup: each fork
# joins its own).
_EXEC = """import os, resource, sys
for pair in filter(None, sys.argv[1].split(",")):
    res, value = (int(x) for x in pair.split("="))
    resource.setrlimit(res, (value, value))
os.execv(sys.argv[2], sys.argv[2:])
"""

__all__ = ["ForkServer", "ForkServerError", "ForkedSandbox", "STDERR_FILE", "usable"]
