"""The fork server: one warm interpreter per grading worker, forked once per submission.

Started as ``python -m autograder.zygote`` inside a bubblewrap jail (the cold sandbox's
jail, with the worker's folder at ``/w`` in place of one submission's home, job and out
folders). It imports the assignment's heavy modules once (NumPy, torch, IPython: one to
two CPU-seconds a submission on the course machine), then waits for lines on stdin, each
naming a submission folder ``/w/<name>`` that the supervisor prepared, and forks:

* **C**, the child, opens the folder's control and event FIFOs, waits until the supervisor
  has moved it into the submission's own cgroup (``joined``; everything it starts stays
  there and dies with it), sets the rlimits, unshares a user, mount and IPC namespace,
  mounts a size-limited tmpfs on ``/tmp`` and on home, binds the submission's ``job``
  (read-only) and ``out`` folders, covers ``/w`` (the worker's other submission folders)
  with an empty read-only tmpfs, and unshares a user and mount namespace again, so that
  those mounts are locked and cannot be undone; then it forks
* **R**, the runner (:mod:`autograder.runner`), reseeded, whose exit status C writes into
  the folder's ``rc`` file.

The zygote is not dumpable, so a submission's processes (the same user) can neither trace
it nor read or write its memory through ``/proc``; the cgroup, not a PID namespace, holds
everything a submission starts (a fresh ``/proc`` cannot be mounted under bwrap's).
A fork copies the zygote's memory: submission A's processes, files, patched modules,
globals, descriptors and environment live in A's copy and its namespaces, which die with
A; submission B is a fresh copy of the untouched zygote (``tests/test_speed.py``).
The zygote refuses to fork when it runs more than one thread (a fork copies only one).
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
EVENT_FD = 10     # the runner's event descriptor in every forked sandbox
RC_FD = 11        # C's copy of the rc file (R closes it first thing)

_libc = ctypes.CDLL(None, use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def _mount(src: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    def enc(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    _check(_libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def _map_ids(uid: int, gid: int) -> None:
    """Map the jail's user to itself in the user namespace just created."""
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")


def _read_line(fd: int) -> str:
    """One line from ``fd``, read a byte at a time (nothing after it is consumed)."""
    out = bytearray()
    while True:
        b = os.read(fd, 1)
        if not b or b == b"\n":
            return out.decode("utf-8", "replace")
        out += b


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _send(fd: int, **fields) -> None:
    data = (json.dumps(fields) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


def _reseed() -> None:
    """Fresh random state in each fork, as a cold interpreter would have."""
    import random

    random.seed()
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed()
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.seed()


def _mounts(folder: str, spec: dict) -> None:
    """The submission's own view: fresh /tmp and home, its job (read-only) and out
    folders, nothing of /w (the worker's other submissions)."""
    home, tmp_size = spec["home"], int(spec["tmp_size"])
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # What the interpreter needs under /tmp (a course checked out there, as CI does) is
    # held open, then bound again on top of the fresh /tmp, read-only as before.
    keep = []
    for path in sorted(spec.get("tmp_binds", []), key=len):
        if not any(path.startswith(k + "/") for k, _ in keep):
            keep.append((path, os.open(path, os.O_PATH | os.O_DIRECTORY)))
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_size},mode=1777")
    for path, fd in keep:
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    _mount("tmpfs", home, "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_size},mode=0777")
    _mount(f"{folder}/job", "/job", None, MS_BIND)
    _mount(None, "/job", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _mount(f"{folder}/out", "/out", None, MS_BIND)
    _mount("tmpfs", "/w", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0555")


def _drop_capabilities() -> None:
    """No capabilities at all, as bwrap's ``--cap-drop ALL`` leaves a cold runner: the
    ones the second user namespace gave are dropped from the bounding, effective,
    permitted and inheritable sets."""
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):
        _check(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "prctl(PR_CAPBSET_DROP)")

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    data = (Data * 2)()
    _check(_libc.capset(ctypes.byref(Header(0x20080522, 0)), data), "capset")


def _runner(spec: dict) -> None:
    """R: the runner, in the environment a cold sandbox's runner gets."""
    os.close(RC_FD)
    _drop_capabilities()
    _check(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl")   # an ordinary process again
    os.environ.clear()
    os.environ.update(spec["env"])
    os.environ["AUTOGRADER_EVENT_FD"] = str(EVENT_FD)
    _reseed()
    from autograder import runner

    try:
        code = runner.main()
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        code = 1
    os._exit(code or 0)


def _child(folder: str) -> None:
    """C: joins the submission's cgroup (the supervisor moves it), then namespaces."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    rc_open = False
    try:
        with open(f"{folder}/spec.json") as f:
            spec = json.load(f)
        ctl = os.open(f"{folder}/ctl", os.O_RDONLY)
        ev = os.open(f"{folder}/events", os.O_WRONLY)
        err = os.open(f"{folder}/runner.stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        rc = os.open(f"{folder}/rc", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_WRONLY)
        import fcntl

        # moved above every target number first, so that no dup2 overwrites a source
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (ctl, null, err, ev, rc)]
        for src, dst in zip(high, (0, 1, 2, EVENT_FD, RC_FD), strict=True):
            os.dup2(src, dst)
        rc_open = True
        os.closerange(3, EVENT_FD)
        os.closerange(RC_FD + 1, 1 << 16)
        if _read_line(0) != "joined":
            os._exit(70)
        import resource

        for res, value in spec["rlimits"]:
            try:
                resource.setrlimit(res, (value, value))
            except (ValueError, OSError):
                pass
        uid, gid = os.getuid(), os.getgid()
        # (the jail's network namespace is kept: loopback up as in a cold sandbox, and
        # no socket outlives the cgroup of the submission that opened it)
        _unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC)
        _map_ids(uid, gid)
        _mounts(folder, spec)
        # A second user and mount namespace: the mounts above are now locked together (the
        # submission's processes cannot unmount the cover of /w to see what lies under it)
        # and its capabilities reach nothing outside.
        _unshare(CLONE_NEWUSER | CLONE_NEWNS)
        _map_ids(uid, gid)
        os.chdir(spec["home"])
        pid = os.fork()
        if pid == 0:
            _runner(spec)
        _, status = os.waitpid(pid, 0)
        os.write(RC_FD, str(os.waitstatus_to_exitcode(status)).encode())
        os._exit(0)
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        if rc_open:   # the supervisor reads why in the exit status, not "killed"
            os.write(RC_FD, b"72")
        os._exit(72)


def main() -> int:
    events = int(os.environ.get("AUTOGRADER_EVENT_FD", "3"))
    for name in filter(None, os.environ.get("AUTOGRADER_WARM", "numpy").split(",")):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 (a missing optional module only costs time)
            pass
    # Not dumpable: no process of a submission (same user) may read or write the zygote's
    # memory through /proc, nor trace it; forks inherit it until the runner resets it.
    _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl")
    from autograder import runner

    runner.make_shell()   # built once: each fork gets an unused copy
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # forked children are reaped at once
    threads = _threads()
    _send(events, ev="zygote_ready", threads=threads)
    while True:
        line = _read_line(0)
        if not line:
            return 0
        if _threads() != 1:
            _send(events, ev="refused", why=f"{_threads()} threads")
            continue
        pid = os.fork()
        if pid == 0:
            _child(line)
        _send(events, ev="forked", pid=pid, folder=line)


if __name__ == "__main__":
    sys.exit(main())
