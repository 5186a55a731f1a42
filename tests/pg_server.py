"""A throwaway PostgreSQL server for the tests: Debian's binaries, a temp folder, a free port.

The server is started once per test session (``initdb`` + ``pg_ctl``, about 2 s) and each
test gets a database of its own from :func:`new_database`. As root (as the tests run in CI)
the server runs as the ``postgres`` OS user, since PostgreSQL refuses to run as root. Where
the binaries or the driver are missing the tests are skipped with the reason, unless
``INFOLOSS_REQUIRE_POSTGRES`` is set (as ``.ci/run`` does): then they fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUIRE = "INFOLOSS_REQUIRE_POSTGRES"


@dataclass
class PgServer:
    """A running server: where it lives and how to reach it."""

    bindir: Path
    folder: Path
    port: int
    user: str = "postgres"
    version: str = ""

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` with initdb and pg_ctl (Debian's layout),
    else the folder of an ``initdb`` on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _unavailable(reason: str):
    if os.environ.get(REQUIRE):
        pytest.fail(f"{reason}, and {REQUIRE} is set")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user() -> list[str]:
    """A prefix that runs a command as the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def _run(cmd: list[str], what: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): "
                           f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return proc.stdout


def start(bindir: Path) -> PgServer:
    """initdb into a fresh temp folder and start a server on 127.0.0.1 and a unix socket
    there. Durability is switched off (fsync, synchronous_commit): the data are throwaway."""
    folder = Path(tempfile.mkdtemp(prefix="infoloss-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, log = folder / "data", folder / "server.log"
    prefix = _as_server_user()
    _run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
          "-E", "UTF8", "--locale=C", "--no-sync"], "initdb")
    port = _free_port()
    opts = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
    try:
        _run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts,
              "-w", "-t", "60", "start"], "pg_ctl start")
    except RuntimeError as exc:
        tail = log.read_text()[-2000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"{exc}\nserver log:\n{tail}") from None
    version = _run([str(bindir / "postgres"), "--version"], "postgres --version").strip()
    return PgServer(bindir, folder, port, version=version)


def stop(server: PgServer) -> None:
    subprocess.run([*_as_server_user(), str(server.bindir / "pg_ctl"), "-D",
                    str(server.folder / "data"), "-m", "fast", "-w", "stop"],
                   capture_output=True, timeout=120)
    shutil.rmtree(server.folder, ignore_errors=True)


def new_database(server: PgServer, name: str) -> str:
    """Create an empty database ``name`` and return its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=server.port, user=server.user,
                         dbname="postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
        con.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server (skipped or failed with the reason where it cannot
    start, see the module docstring)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("the PostgreSQL driver psycopg (3) is not installed (requirements.txt)")
    bindir = find_bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        _unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found: "
                     "`apt-get install postgresql` (see .ci/apt-packages.txt)")
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root and there is no `postgres` user to run the server")
    server = start(bindir)
    try:
        yield server
    finally:
        stop(server)


_counter = iter(range(1, 10_000))


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty database on the session's server."""
    return new_database(pg_server, f"gradebook_{os.getpid()}_{next(_counter)}")
