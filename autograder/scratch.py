"""Scratch folders (``autograder-*`` under the temporary folder) that a later run can clean.

Every scratch folder the grader makes (a sandbox's home/job/out, a zip's extraction)
holds a small owner file: the creating process's pid, its start time (from
``/proc/<pid>/stat``, so a reused pid is not taken for the owner), the boot id and the
host name. A grader killed with SIGKILL runs no ``finally``; the next grade run calls
:func:`remove_stale`, which deletes the folders whose owner process is gone and leaves
alone every folder whose owner still runs, that another host made (a shared /tmp), or that
has no owner file (another program's). So that no ``autograder-*`` folder is ever without
its owner file, a folder is made as ``.autograder-staging-*``, given the file, then
renamed; a staging folder left by a kill in between is removed once a minute old.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PREFIX = "autograder-"
STAGING = ".autograder-staging-"
STAGING_GRACE_S = 60.0
OWNER_FILE = ".autograder-owner.json"


@dataclass(frozen=True)
class Owner:
    pid: int
    start: str   # the process's start time: clock ticks after boot, as /proc says
    boot: str    # /proc/sys/kernel/random/boot_id ("" where there is none)
    host: str


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def start_time(pid: int) -> str | None:
    """When process ``pid`` started (an opaque, exact string), or None if there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        stat = ""
    if stat:
        # the command name (field 2) may hold spaces and parentheses: split after the last ")"
        return stat.rsplit(")", 1)[1].split()[19]
    try:  # no /proc (not Linux): psutil's creation time, rounded to what it reports exactly
        import psutil

        return f"{psutil.Process(pid).create_time():.2f}"
    except Exception:  # noqa: BLE001 (NoSuchProcess, AccessDenied, no psutil)
        return None


def current_owner() -> Owner:
    pid = os.getpid()
    return Owner(pid, start_time(pid) or "", _boot_id(), socket.gethostname())


def make_scratch(prefix: str = PREFIX) -> Path:
    """A new private folder ``<tmp>/<prefix>XXXX`` that records this process as its owner."""
    if not prefix.startswith(PREFIX):
        raise ValueError(f"scratch prefixes start with {PREFIX!r} (got {prefix!r})")
    base = Path(tempfile.gettempdir())
    staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=base))
    (staging / OWNER_FILE).write_text(json.dumps(asdict(current_owner())))
    while True:
        final = base / (prefix + staging.name[len(STAGING):])
        if not final.exists():
            os.rename(staging, final)
            return final
        staging = staging.rename(base / (STAGING + secrets.token_hex(6)))


def owner_of(folder: Path) -> Owner | None:
    try:
        data = json.loads((folder / OWNER_FILE).read_text())
        return Owner(int(data["pid"]), str(data["start"]), str(data["boot"]), str(data["host"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def owner_alive(owner: Owner) -> bool:
    """False only when the owner is surely gone: same host, and another boot or no process
    with that pid and start time."""
    if owner.host != socket.gethostname():
        return True
    if owner.boot != _boot_id():
        return False
    return start_time(owner.pid) == owner.start


def remove_stale(tmpdir: Path | None = None) -> list[Path]:
    """Delete the scratch folders of graders that are gone; returns what was removed."""
    base = Path(tmpdir or tempfile.gettempdir())
    removed = []
    for folder in sorted([*base.glob(PREFIX + "*"), *base.glob(STAGING + "*")]):
        if folder.is_symlink() or not folder.is_dir():
            continue
        owner = owner_of(folder)
        if owner is None and folder.name.startswith(STAGING):
            try:   # killed before its owner file was complete: only this module makes these
                if time.time() - folder.stat().st_mtime < STAGING_GRACE_S:
                    continue
            except OSError:
                continue
        elif owner is None or owner_alive(owner):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed
