"""Sandbox: start ``autograder.runner`` in a bubblewrap jail with resource limits.

Inside the jail: no network (own network namespace), read-only system folders (the C
compiler included), Python, the course package and its C sources, a private writable
home folder and ``/tmp`` (size-limited tmpfs), its own process namespace (so every
process the submission starts dies with it), no capabilities, and nothing else of the
host: not ``solutions/``, the gradebook, the submissions folder or other students.

Limits: where a cgroup is writable (:mod:`autograder.cgroups`), each sandbox gets its own,
capping the memory it uses (children and tmpfs included) and its processes and threads,
and accounting its CPU; then no ``RLIMIT_AS`` is set (it breaks CUDA, see that module) nor
``RLIMIT_NPROC`` (per user). Otherwise those rlimits are the fallback. Always: CPU time per
process, open files, file size, no core files. A tiny exec wrapper (not ``preexec_fn``,
which is unsafe in the grader's worker threads) joins the cgroup and sets the rlimits,
then becomes bwrap; the supervisor adds the time limits (on the runner's own clock,
:mod:`autograder.clock`) and a process-count watchdog.

Where ``bwrap`` is missing, the runner starts with the resource limits only, and
:func:`sandbox_warning` says so loudly.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import cgroups
from .clock import run_queue_wait
from .scratch import make_scratch

HOME = "/home/student"
JOB = "/job"
STDERR_FILE = "runner.stderr"  # in the scratch folder, outside every bound path
STDERR_TAIL = 8192             # bytes of it kept for the log and the stored result


@dataclass
class Limits:
    """Per-submission limits (seconds, bytes, counts)."""

    memory: int = 3 * 2**30        # bytes used (cgroup) or address space (rlimit fallback)
    cpu: int = 300                 # CPU seconds of the whole run
    wall: float = 120.0            # wall clock of one notebook, all restarts together
    chunk_timeout: float = 30.0    # one cell (or one half of a test cell)
    probe_timeout: float = 20.0    # one judge probe
    procs: int = 32                # processes and threads of the sandbox
    files: int = 256               # open file descriptors
    fsize: int = 64 * 2**20        # largest file it may write
    tmp_size: int = 512 * 2**20    # each of the jail's /tmp and home (tmpfs, counted as memory)
    out_size: int = 256 * 2**20    # all it writes into host folders (/out; home without tmpfs)
    out_files: int = 4096          # files and folders it may make there
    warm: tuple[str, ...] = ("numpy",)
    use_bwrap: bool | None = None  # None: when available
    use_cgroups: bool | None = None  # None: when a cgroup is writable (else rlimits only)
    fork_server: bool | None = None  # None: fork each runner from a warm zygote where usable
    timeout_clock: str = "own"     # "own": the runner's clock (wall minus waiting for a CPU,
    #                                :mod:`autograder.clock`); "wall": the wall clock

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def only_descendant(pid: int) -> int | None:
    """The end of the chain of only children below ``pid`` (None: a branch, or gone)."""
    try:
        import psutil

        proc = psutil.Process(pid)
        while True:
            kids = proc.children()
            if not kids:
                return proc.pid
            if len(kids) > 1:
                return None
            proc = kids[0]
    except Exception:  # noqa: BLE001 (psutil missing, or a process gone meanwhile)
        return None


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def sandbox_warning(limits: Limits) -> str | None:
    if limits.use_bwrap is False or (limits.use_bwrap is None and not bwrap_path()):
        return ("WARNING: bubblewrap (bwrap) not found: student code runs WITHOUT a sandbox "
                "(resource limits only). It can read your files and the network. Install "
                "it (apt-get install bubblewrap) before grading real submissions.")
    return None


def cgroup_host(limits: Limits) -> cgroups.Host | None:
    """The cgroup layout sandboxes use under ``limits``, or None (rlimits only)."""
    if limits.use_cgroups is False:
        return None
    found = cgroups.host()
    return found if isinstance(found, cgroups.Host) else None


def limits_banner(limits: Limits) -> str:
    """One line for the grader's banner: which mechanism holds the limits."""
    return cgroups.describe_limits(limits.use_cgroups)


def _python_paths() -> list[str]:
    """Folders the interpreter and the course package need (bound read-only).

    The C sources that ``infoloss.clenet`` compiles are package data (``infoloss/csrc/``):
    problem set 6 builds the course's LeNet-5 with the system C compiler, from ``/usr``,
    inside the jail. The packages are found where Python imports them from (a checkout or an
    installed wheel).
    """
    import autograder
    import infoloss

    paths = {sys.base_prefix, sys.prefix, str(Path(infoloss.__file__).resolve().parent),
             str(Path(autograder.__file__).resolve().parent)}
    exe = Path(sys.executable).resolve()
    paths.add(str(exe.parent.parent))
    return sorted(p for p in paths if os.path.exists(p))


def bwrap_argv(scratch: Path, tmp_size: int | None = None, worker: bool = False) -> list[str]:
    """bwrap's arguments; ``tmp_size``: bytes of the jail's /tmp and of its home, each a
    tmpfs of that size (None: /tmp unlimited and home bound from the scratch folder).

    ``worker``: the fork server's jail (:mod:`autograder.zygote`): ``scratch`` is bound at
    ``/w`` and home, ``/job`` and ``/out`` are empty mount points each fork fills."""
    argv = [bwrap_path() or "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
            "--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
            "--hostname", "sandbox"]
    for sysdir in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc"):
        if os.path.exists(sysdir):
            argv += ["--ro-bind", sysdir, sysdir]
    # /tmp first: a course checked out under /tmp (a CI clone) is bound on top of it.
    size = ["--size", str(tmp_size)] if tmp_size else []
    argv += ["--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/tmp"]
    for path in _python_paths():
        argv += ["--ro-bind", path, path]
    if worker:
        argv += ["--bind", str(scratch), "/w", "--dir", JOB, "--dir", "/out",
                 "--perms", "0777", "--dir", HOME, "--chdir", "/"]
    else:
        if tmp_size:  # nothing outside reads the home: a tmpfs, owned by the jail's user
            argv += ["--perms", "0777", "--size", str(tmp_size), "--tmpfs", HOME]
        else:
            argv += ["--bind", str(scratch / "home"), HOME]
        argv += ["--ro-bind", str(scratch / "job"), JOB,
                 "--bind", str(scratch / "out"), "/out", "--chdir", HOME]
    gpus = sorted(Path("/dev").glob("nvidia*"))
    for dev in gpus:  # GPU-aware: the GPU devices (and, read-only, what CUDA looks up)
        argv += ["--dev-bind", str(dev), str(dev)]
    if gpus:
        argv += ["--ro-bind", "/sys", "/sys"]
    return argv


def _user_tasks() -> int:
    """Processes and threads of this user now (RLIMIT_NPROC counts them all)."""
    try:
        import psutil

        uid = os.getuid()
        return sum(p.info["num_threads"] or 1 for p in psutil.process_iter(["uids", "num_threads"])
                   if p.info["uids"] and p.info["uids"].real == uid)
    except Exception:  # noqa: BLE001
        return 4096


def rlimits(limits: Limits, cgroup: bool = False) -> list[tuple[int, int]]:
    """(resource, value) pairs the runner starts under (soft and hard limit alike).

    With ``cgroup`` (its memory and pids limits in force) neither RLIMIT_AS (address space,
    not use; it breaks CUDA) nor RLIMIT_NPROC is set. Without: RLIMIT_NPROC is per user,
    not per sandbox: allow what runs now plus the sandbox's share (a fork-bomb backstop;
    the supervisor's watchdog enforces limits.procs). Root ignores it; the watchdog still
    applies.
    """
    pairs = [(resource.RLIMIT_CPU, limits.cpu), (resource.RLIMIT_NOFILE, limits.files),
             (resource.RLIMIT_FSIZE, limits.fsize), (resource.RLIMIT_CORE, 0)]
    if cgroup:
        return pairs
    nproc = _user_tasks() + 4 * limits.procs
    return [(resource.RLIMIT_AS, limits.memory), *pairs, (resource.RLIMIT_NPROC, nproc)]


# Started by Sandbox.start in place of ``preexec_fn`` (which the subprocess documentation
# says can deadlock when called from threads, as the grader's workers do): a fresh
# interpreter moves itself into the sandbox's cgroup (argv[2]: cgroup.procs files, one a
# line) and sets the limits on itself, then becomes the command, so the limits hold from
# the command's first instruction on and everything it starts inherits them. A cgroup it
# cannot join stops it (exit 71, the reason on stderr): never a run without its limits.
_LIMIT_EXEC = """import os, resource, sys
for path in filter(None, sys.argv[2].split(chr(10))):
    try:
        with open(path, "w") as f:
            f.write(str(os.getpid()))
    except OSError as exc:
        sys.stderr.write("autograder: cannot join the sandbox cgroup %s: %s" % (path, exc))
        os._exit(71)
for pair in sys.argv[1].split(","):
    res, value = (int(x) for x in pair.split("="))
    try:
        resource.setrlimit(res, (value, value))
    except (ValueError, OSError):
        pass
os.execv(sys.argv[3], sys.argv[3:])
"""


def limited(cmd: list[str], limits: Limits,
            cgroup: cgroups.SandboxCgroup | None = None) -> list[str]:
    """``cmd`` wrapped so that it runs in ``cgroup`` under :func:`rlimits` (no
    ``preexec_fn``)."""
    spec = ",".join(f"{res}={value}" for res, value in rlimits(limits, cgroup is not None))
    procs = "\n".join(cgroup.procs_files()) if cgroup is not None else ""
    return [sys.executable, "-I", "-S", "-c", _LIMIT_EXEC, spec, procs, *cmd]


def _env(sandboxed: bool, scratch: Path, limits: Limits, event_fd: int) -> dict[str, str]:
    home = HOME if sandboxed else str(scratch / "home")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": home,
           "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{home}/.mpl",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
           "AUTOGRADER_EVENT_FD": str(event_fd), "AUTOGRADER_WARM": ",".join(limits.warm)}
    for key in ("CUDA_VISIBLE_DEVICES",):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def host_folder_use(scratch: Path, limits: Limits) -> tuple[int, int] | None:
    """(bytes, entries) of what the runner wrote into its host folders, when over the
    limits, else None. /out (and home, when it is not a tmpfs) are host folders: a tmpfs
    counts as the cgroup's memory, these would fill the grader's disk, 64 MiB a file."""
    used = entries = 0
    for top in ("out", "home"):
        for root, dirs, files in os.walk(scratch / top):
            for name in files + dirs:
                entries += 1
                try:
                    used += os.lstat(os.path.join(root, name)).st_blocks * 512
                except OSError:
                    continue   # removed meanwhile
            if used > limits.out_size or entries > limits.out_files:
                return used, entries
    return None


@dataclass
class Sandbox:
    """One started runner, ready (after :meth:`wait_ready`) to take one job."""

    limits: Limits
    scratch: Path
    proc: subprocess.Popen
    events_fd: int
    sandboxed: bool
    started: float = field(default_factory=time.monotonic)
    closed: bool = False
    cgroup: cgroups.SandboxCgroup | None = None   # None: rlimits only
    usage: cgroups.Usage | None = None            # read from the cgroup when it closes
    _buf: bytes = b""
    _next_disk_check: float = 0.0

    @classmethod
    def start(cls, limits: Limits) -> Sandbox:
        scratch = make_scratch()   # owned: a later run removes it if this process dies
        for sub in ("home", "job", "out"):
            (scratch / sub).mkdir()
            os.chmod(scratch / sub, 0o777)
        sandboxed = limits.use_bwrap is not False and bwrap_path() is not None
        host = cgroup_host(limits)
        group = None
        if host is not None:
            try:
                group = cgroups.SandboxCgroup.create(host, limits.memory, limits.procs)
            except OSError:
                group = None   # this one sandbox runs under the rlimit fallback
        r, w = os.pipe()
        cmd = [sys.executable, "-m", "autograder.runner"]
        if sandboxed:
            cmd = bwrap_argv(scratch, limits.tmp_size) + cmd
        # The runner's own stderr (bwrap's errors, a failed import, a fatal signal's
        # traceback) goes to a file outside the jail; student output never reaches it.
        err = open(scratch / STDERR_FILE, "wb")
        try:
            proc = subprocess.Popen(
                limited(cmd, limits, group), stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=err, pass_fds=(w,),
                env=_env(sandboxed, scratch, limits, w), start_new_session=True,
                cwd=scratch / "home")
        except BaseException:
            os.close(r)
            if group is not None:
                group.remove()
            raise
        finally:
            os.close(w)
            err.close()
        os.set_blocking(r, False)
        return cls(limits, scratch, proc, r, sandboxed, cgroup=group)

    def breach(self, now: bool = False) -> cgroups.Breach | None:
        """The limit (cgroup memory or pids; disk) this sandbox ran into, if any.

        The walk of the host folders runs twice a second, or at once with ``now`` (at the
        end of each piece, before the runner may start the next one)."""
        hit = self.cgroup.breach() if self.cgroup is not None else None
        t = time.monotonic()
        if hit is None and (now or t >= self._next_disk_check):
            self._next_disk_check = t + 0.5   # a walk of its folders, twice a second
            if host_folder_use(self.scratch, self.limits) is not None:
                hit = cgroups.Breach("disk", self.limits.out_size)
        return hit

    def stderr_tail(self, limit: int = STDERR_TAIL) -> str:
        """The last ``limit`` bytes the runner (or bwrap) wrote to its stderr, as text."""
        try:
            with open(self.scratch / STDERR_FILE, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - limit))
                return f.read(limit).decode("utf-8", "replace")
        except OSError:
            return ""

    def paths(self) -> dict[str, str]:
        """Where the runner sees its job, home and output folders."""
        if self.sandboxed:
            return {"job": JOB, "home": HOME, "out": "/out"}
        return {k: str(self.scratch / k) for k in ("job", "home", "out")}

    def go(self, job: dict) -> None:
        """Phase A: the public part of the job (no hidden tests, no judge inputs)."""
        job = dict(job, workdir=self.paths()["home"], outdir=self.paths()["out"])
        (self.scratch / "job" / "job.json").write_text(json.dumps(job))
        self._send(self.paths()["job"])

    def go_hidden(self, hidden: dict, inputs: bytes) -> None:
        """Phase B: hidden test chunks, probes and their inputs."""
        (self.scratch / "job" / "inputs.npz").write_bytes(inputs)
        (self.scratch / "job" / "hidden.json").write_text(json.dumps(hidden))
        self._send("go")

    def next_piece(self) -> None:
        """Let the runner start its next chunk or probe (it waits after each one)."""
        self._send("next")

    def _send(self, line: str) -> None:
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def read_events(self, timeout: float) -> tuple[list[dict], bool]:
        """Events that arrived within ``timeout`` s, and whether the channel is closed."""
        import select

        events: list[dict] = []
        ready, _, _ = select.select([self.events_fd], [], [], timeout)
        closed = False
        if ready:
            while True:
                try:
                    data = os.read(self.events_fd, 1 << 20)
                except BlockingIOError:
                    break
                if not data:
                    closed = True
                    break
                self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        for line in lines:
            try:
                ev = json.loads(line)
            except ValueError:
                continue  # garbage written to the channel by student code
            if isinstance(ev, dict):
                events.append(ev)
        return events, closed

    def waiting(self) -> Callable[[], float | None] | None:
        """A reader of the runner's run-queue wait (:mod:`autograder.clock`), or None.

        Called at ``ready``, before any of the notebook's code has run: the runner is then
        the end of the chain of only children below the process this sandbox started (bwrap,
        the jail's PID 1, the runner; or a fork's C and its runner R)."""
        pid = only_descendant(self.proc.pid)
        return None if pid is None else (lambda: run_queue_wait(pid))

    def process_count(self) -> int:
        try:
            import psutil

            return len(psutil.Process(self.proc.pid).children(recursive=True))
        except Exception:  # noqa: BLE001
            return 0

    def kill(self) -> None:
        """Kill the runner and everything it started (the jail's process namespace).

        The runner's pid (and process group) is signalled only while the runner has not been
        reaped: once it has, the number may already name another process (another grader's
        sandbox, even); what it left behind is in its cgroup."""
        kids = []
        if self.proc.poll() is None:
            try:
                import psutil

                kids = psutil.Process(self.proc.pid).children(recursive=True)
            except Exception:  # noqa: BLE001
                kids = []
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for kid in kids:
            try:
                kid.kill()
            except Exception:  # noqa: BLE001
                pass
        if self.cgroup is not None:   # whatever left the session and the jail's tree
            self.cgroup.kill_all()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        """Stop the runner and free what this sandbox owns: its process, the read end of
        its event pipe and its scratch folder. Safe to call more than once: only the first
        call closes the descriptor (a later one could close a reused number that another
        object owns by then)."""
        if self.closed:
            return
        self.closed = True
        try:  # a runner that finished exits by itself; let it (its CPU time is then counted)
            self.proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        self.kill()
        if self.cgroup is not None:   # CPU of everything it ran, then the group goes
            self._left_behind(self.cgroup.pids_inside())
            self.usage = self.cgroup.usage()
            self.cgroup.remove()
        self._close_channels()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _left_behind(self, pids: list[int]) -> None:
        """What outlived the kill (a cold jail's processes die with its PID namespace)."""

    def _close_channels(self) -> None:
        fd, self.events_fd = self.events_fd, -1
        os.close(fd)
        try:  # the runner's stdin pipe (else one leaked descriptor per sandbox)
            self.proc.stdin.close()
        except OSError:
            pass
