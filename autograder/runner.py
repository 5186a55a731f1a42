"""The only autograder code that runs next to student code, inside the sandbox.

Started as ``python -m autograder.runner``. It imports the assignment's heavy modules
first (a *warm* interpreter), says ``ready`` and waits for one line on stdin naming the
job folder. Then it, waiting for the supervisor's ``next`` after each chunk and probe,

1. runs the notebook's code chunks in an IPython shell (so magics and ``get_ipython()``
   work as in Jupyter), each chunk's printed output captured and truncated;
2. says ``phase_b`` and waits for a second line: only then do the hidden test chunks and
   the judge's inputs appear in the job folder; it runs the hidden chunks, then
3. evaluates the judge's probe expressions (student functions called on hidden inputs)
   in the notebook's namespace and writes each result as plain data: JSON for the
   shape of the answer, ``.npz`` (no pickle) for arrays.

Progress goes out as JSON lines on the file descriptor named by ``AUTOGRADER_EVENT_FD``,
so the supervisor outside knows which chunk or probe was running when the process hung
or died. Nothing here is trusted: the supervisor checks and compares the results.
"""

from __future__ import annotations

import builtins
import importlib
import json
import os
import sys
import time

from autograder.protocol import decode_inputs, encode_raised, encode_result, event_line

OUTPUT_LIMIT = 20_000  # characters of printed output kept per chunk

_type = builtins.type


class _Capture:
    """A text stream that keeps the first OUTPUT_LIMIT characters and counts the rest."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def write(self, text) -> int:
        text = str(text)
        room = OUTPUT_LIMIT - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(len(text), room)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def value(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n[... {self.dropped} more characters of output dropped]"
        return out


class _Events:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, ev: str, **fields) -> None:
        data = event_line(ev, **fields)
        while data:
            n = os.write(self.fd, data)
            data = data[n:]


encode = encode_result   # the name the tests and older code use


class _Control:
    """The supervisor's lines (the job folder, "go", "next"), read from a private copy of
    stdin: the runner's fd 0 becomes /dev/null, so student code cannot read them."""

    def __init__(self) -> None:
        self._f = os.fdopen(os.dup(0), "rb")
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)

    def line(self) -> str:
        return self._f.readline().decode("utf-8", "replace").strip()

    def wait_next(self) -> None:
        """After each piece the runner waits for the supervisor's "next": the supervisor
        first checks the sandbox's limits, so a limit hit is blamed on the piece that hit
        it, never on one that started after it (a fork bomb's cell ends in milliseconds)."""
        if self.line() != "next":
            os._exit(1)   # the supervisor is gone or said something else: stop


def _run_chunks(shell, job: dict, events: _Events, hidden: bool = False,
                step=None) -> None:
    skip = set(job.get("skip_chunks", []))
    for chunk in job["chunks"]:
        i = chunk["i"]
        if i in skip:
            continue
        events.send(ev="chunk_start", i=i, t=time.time())
        cap = _Capture()
        old = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = cap
        try:
            result = shell.run_cell(chunk["source"], store_history=not hidden)
            err = result.error_before_exec or result.error_in_exec
        except BaseException as exc:  # noqa: BLE001 (SystemExit raised by student code)
            err = exc
        finally:
            sys.stdout, sys.stderr = old
        ename = _type(err).__name__ if err is not None else None
        try:
            evalue = str(err)[:500] if err is not None else None
        except BaseException:  # noqa: BLE001
            evalue = "<unprintable>"
        events.send(ev="chunk_end", i=i, ok=err is None, ename=ename, evalue=evalue,
                    output=cap.value(), t=time.time())
        if step is not None:
            step()


def evaluate_probe(expr: str, names: dict, key: str) -> tuple[dict, dict]:
    """One probe: ``expr`` evaluated in ``names``, as plain data plus its arrays.

    The one place a probe is evaluated, in the sandbox (the judge) and in the notebook's
    own kernel (``autograder.checks``, stock ``nbgrader autograde``), so both see the same
    value. Warnings are errors while a probe runs: a graded call that warns fails its
    check, whatever warning filters the notebook set (the course's one warnings rule).
    """
    import warnings

    arrays: dict = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            value = eval(expr, names)  # noqa: S307 (instructor-written probe)
            enc = encode_result(value, key, arrays)
    except BaseException as exc:  # noqa: BLE001
        arrays = {}
        enc = encode_raised(exc)
    return enc, arrays


def _run_probes(shell, job: dict, jobdir: str, events: _Events, step=None) -> None:
    import numpy as np

    skip = set(job.get("skip_probes", []))
    probes = job.get("probes", [])
    if not probes:
        return
    with np.load(os.path.join(jobdir, "inputs.npz"), allow_pickle=False) as f:
        inputs = {k: f[k] for k in f.files}
    outdir = job["outdir"]
    for probe in probes:
        k = probe["k"]
        if k in skip:
            continue
        events.send(ev="probe_start", k=k, t=time.time())
        cap = _Capture()
        old = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = cap
        try:
            names = dict(shell.user_ns)
            names.update(decode_inputs(probe["inputs"], inputs))
            enc, arrays = evaluate_probe(probe["expr"], names, f"r{k}")
        finally:
            sys.stdout, sys.stderr = old
        if arrays:
            np.savez(os.path.join(outdir, f"probe_{k}.npz"), **arrays)
        events.send(ev="probe_end", k=k, result=enc, t=time.time())
        if step is not None:
            step()


def make_shell():
    """The IPython shell the notebook runs in: no history database in the scratch folder,
    and tracebacks in plain text (no ANSI colour codes: they end up in the feedback)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    shell = InteractiveShell.instance(config=config)
    shell.colors = "nocolor"   # also when the instance already existed
    return shell


def main() -> int:
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the file-size limit fails
    events = _Events(int(os.environ.get("AUTOGRADER_EVENT_FD", "3")))
    for name in filter(None, os.environ.get("AUTOGRADER_WARM", "numpy").split(",")):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 (a missing optional module only costs time)
            pass
    shell = make_shell()
    control = _Control()
    events.send(ev="ready", t=time.time())
    jobdir = control.line()
    if not jobdir:
        return 1
    with open(os.path.join(jobdir, "job.json")) as f:
        job = json.load(f)
    # A fatal signal (segfault, abort) still leaves its Python traceback on the runner's
    # own stderr, which the supervisor keeps for the log (a private, non-inherited copy).
    import faulthandler

    faulthandler.enable(os.dup(2), all_threads=True)
    # Student code may write to the real stdout/stderr (os.write, subprocesses): drop it.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.chdir(job["workdir"])
    _run_chunks(shell, job, events, step=control.wait_next)
    # Hidden tests and the judge's inputs arrive only now, after every output that can
    # reach the feedback has been sent: student code cannot print them into it.
    events.send(ev="phase_b", t=time.time())
    if not control.line():
        return 1
    with open(os.path.join(jobdir, "hidden.json")) as f:
        hidden = json.load(f)
    hidden.update(outdir=job["outdir"], skip_chunks=job.get("skip_chunks", []),
                  skip_probes=job.get("skip_probes", []))
    _run_chunks(shell, hidden, events, hidden=True, step=control.wait_next)
    _run_probes(shell, hidden, jobdir, events, step=control.wait_next)
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    events.send(ev="done", t=time.time(), cpu=used.ru_utime + used.ru_stime)
    os._exit(0)  # skip interpreter teardown (and anything student code hooked into it)


if __name__ == "__main__":
    sys.exit(main())
