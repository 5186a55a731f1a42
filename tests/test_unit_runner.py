"""The runner's side of the protocol (what runs in the jail), without a jail or a subprocess.

A stand-in shell executes chunks in a plain dict (the real runner uses IPython's); events
go to an ``os.pipe`` and are read back as the host reads them. Results must come out as
plain data that :func:`autograder.spec.decode_result` turns back into the same values,
and anything that is not plainly a number, string, array or short list must be refused.
"""

from __future__ import annotations

import io
import json
import os
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from autograder import protocol, runner
from autograder.spec import Raised, Unsupported, decode_result, encode_inputs


class Shell:
    """The part of IPython's InteractiveShell the runner uses: run_cell and user_ns."""

    def __init__(self) -> None:
        self.user_ns: dict = {}
        self.history: list[bool] = []

    def run_cell(self, source: str, store_history: bool = True):
        self.history.append(store_history)
        result = SimpleNamespace(error_before_exec=None, error_in_exec=None)
        try:
            code = compile(source, "<cell>", "exec")
        except SyntaxError as exc:
            result.error_before_exec = exc
            return result
        try:
            exec(code, self.user_ns)  # noqa: S102 (test code)
        except Exception as exc:  # noqa: BLE001 (as IPython: errors are results)
            result.error_in_exec = exc
        return result


class Channel:
    """The event file descriptor: a pipe whose lines the test reads back as JSON."""

    def __init__(self) -> None:
        self.r, self.w = os.pipe()
        self.events = runner._Events(self.w)

    def read(self) -> list[dict]:
        os.close(self.w)
        with os.fdopen(self.r, "rb") as f:
            return [json.loads(line) for line in f.read().splitlines()]


@pytest.fixture
def channel():
    return Channel()


def roundtrip(value):
    arrays: dict = {}
    enc = runner.encode(value, "r0", arrays)
    json.dumps(enc)                          # plain data only
    return enc, decode_result(json.loads(json.dumps(enc)), arrays)


# ------------------------------------------------------------------------------ encoding


@pytest.mark.parametrize("value", [np.arange(6.0).reshape(2, 3), np.arange(3, dtype=np.int8),
                                   np.array([True, False]), np.float32(1.5), np.int64(-3)])
def test_arrays_and_numpy_scalars_go_to_the_npz_and_come_back_equal(value):
    enc, back = roundtrip(value)
    assert enc["kind"] in ("array", "npscalar") and "value" not in enc
    assert isinstance(back, np.ndarray) and back.dtype == np.asarray(value).dtype
    np.testing.assert_array_equal(back, value)


@pytest.mark.parametrize("value, typ", [(3, "int"), (2.5, "float"), (True, "bool"),
                                         ("nats", "str")])
def test_python_values_are_sent_inline(value, typ):
    enc, back = roundtrip(value)
    assert enc == {"kind": "py", "type": typ, "value": value}
    assert back == value


def test_lists_and_tuples_keep_their_kind_two_levels_deep():
    enc, back = roundtrip((1, [np.zeros(2), "a"]))
    assert enc["kind"] == "tuple" and enc["items"][1]["kind"] == "list"
    assert back[0] == 1 and back[1][1] == "a"
    np.testing.assert_array_equal(back[1][0], np.zeros(2))
    enc, _ = roundtrip([[[1]]])                                    # a third level is refused
    assert enc["items"][0]["items"][0]["kind"] == "bad"


class Sneaky(np.ndarray):
    def __eq__(self, other):
        return True


class Number(float):
    pass


@pytest.mark.parametrize("value", [
    np.zeros(3).view(Sneaky),                       # an ndarray subclass
    Number(1.0),                                    # a float subclass
    np.array([object()], dtype=object),             # an object array
    np.array(["a", "b"]),                           # strings are not numbers
    2**63,                                          # too large for JSON round trips
    {"a": 1},                                       # not a result type
    list(range(10_001)),                            # too long
], ids=["ndarray-subclass", "float-subclass", "object-array", "str-array", "huge-int", "dict",
        "long-list"])
def test_anything_else_is_refused_as_bad(value):
    arrays: dict = {}
    enc = runner.encode(value, "r0", arrays)
    assert enc["kind"] == "bad" and arrays == {}
    assert isinstance(decode_result(enc, arrays), Unsupported)


def test_long_strings_are_cut():
    enc, back = roundtrip("x" * 20_000)
    assert len(back) == 10_000


def test_probe_inputs_are_decoded_as_fresh_copies():
    probes, blob = encode_inputs([SimpleNamespace(cell="c", expr="f(p, n)", inputs={
        "p": np.array([0.25, 0.75]), "n": 3})])
    with np.load(io.BytesIO(blob)) as f:
        arrays = {k: f[k] for k in f.files}
    names = protocol.decode_inputs(probes[0]["inputs"], arrays)
    assert names["n"] == 3
    np.testing.assert_array_equal(names["p"], [0.25, 0.75])
    names["p"][0] = 9.0                                   # student code mutates its input
    assert arrays["p0_p"][0] == 0.25


# ------------------------------------------------------------------------ output capture


def test_capture_keeps_the_first_characters_and_counts_the_rest(monkeypatch):
    monkeypatch.setattr(runner, "OUTPUT_LIMIT", 10)
    cap = runner._Capture()
    assert cap.write("abcdef") == 6 and cap.write("ghijkl") == 6 and cap.write(123) == 3
    assert cap.value() == "abcdefghij\n[... 5 more characters of output dropped]"
    assert not cap.isatty()


def test_events_are_json_lines_on_the_event_descriptor(channel):
    channel.events.send(ev="chunk_start", i=4, t=1.0)
    channel.events.send(ev="probe_end", k=0, result={"kind": "py", "value": float("nan")})
    first, second = channel.read()
    assert first == {"ev": "chunk_start", "i": 4, "t": 1.0}
    assert second["ev"] == "probe_end" and np.isnan(second["result"]["value"])


# ------------------------------------------------------------------------ running chunks


def chunks(*sources: str) -> list[dict]:
    return [{"i": i, "source": s} for i, s in enumerate(sources)]


def test_each_chunk_is_announced_run_and_reported_with_its_output(channel):
    shell = Shell()
    job = {"chunks": chunks("x = 2\nprint('x is', x)",
                            "import sys\nprint('oops', file=sys.stderr)\nassert x == 3, 'x'",
                            "def f(:", "raise SystemExit(1)", "y = x + 1")}
    runner._run_chunks(shell, job, channel.events)
    events = channel.read()
    assert [(e["ev"], e["i"]) for e in events] == [
        (kind, i) for i in range(5) for kind in ("chunk_start", "chunk_end")]
    ends = [e for e in events if e["ev"] == "chunk_end"]
    assert [e["ok"] for e in ends] == [True, False, False, False, True]
    assert ends[0]["output"] == "x is 2\n" and ends[0]["ename"] is None
    assert (ends[1]["ename"], ends[1]["evalue"], ends[1]["output"]) == (
        "AssertionError", "x", "oops\n")
    assert ends[2]["ename"] == "SyntaxError"
    assert ends[3]["ename"] == "SystemExit"      # student code cannot end the runner
    assert shell.user_ns["y"] == 3 and shell.history == [True] * 5


def test_skipped_chunks_are_not_run_and_hidden_ones_leave_no_history(channel):
    shell = Shell()
    job = {"chunks": chunks("a = 1", "a = 2", "b = a"), "skip_chunks": [1]}
    runner._run_chunks(shell, job, channel.events, hidden=True)
    assert [e["i"] for e in channel.read() if e["ev"] == "chunk_start"] == [0, 2]
    assert shell.user_ns["b"] == 1 and shell.history == [False, False]


def test_stdout_is_restored_after_each_chunk(channel):
    before = sys.stdout, sys.stderr
    runner._run_chunks(Shell(), {"chunks": chunks("print(1)", "1/0")}, channel.events)
    assert (sys.stdout, sys.stderr) == before
    channel.read()


# ------------------------------------------------------------------------ running probes


def test_probes_run_in_the_notebook_namespace_and_write_plain_results(channel, tmp_path):
    shell = Shell()
    shell.run_cell("import numpy as np\n"
                   "def entropy(p):\n    return float(-(p * np.log2(p)).sum())\n"
                   "def scaled(p, c):\n    return p * c\n"
                   "def check(p):\n    raise ValueError('p must sum to 1')\n"
                   "def loud(p):\n    print('debug', p)\n    return 1\n")
    specs = [SimpleNamespace(cell="t", expr=e, inputs=i) for e, i in [
        ("entropy(p)", {"p": np.array([0.5, 0.5])}),
        ("scaled(p, c)", {"p": np.array([1.0, 2.0]), "c": 2}),
        ("check(p)", {"p": np.array([0.7])}),
        ("loud(p)", {"p": np.array([1.0])}),
        ("missing(p)", {"p": np.array([1.0])}),
    ]]
    probes, blob = encode_inputs(specs)
    (tmp_path / "inputs.npz").write_bytes(blob)
    out = tmp_path / "out"
    out.mkdir()
    job = {"probes": probes, "outdir": str(out), "skip_probes": [3]}
    before = sys.stdout
    runner._run_probes(shell, job, str(tmp_path), channel.events)
    assert sys.stdout is before
    events = channel.read()
    assert [(e["ev"], e["k"]) for e in events] == [
        (kind, k) for k in (0, 1, 2, 4) for kind in ("probe_start", "probe_end")]
    res = {e["k"]: e["result"] for e in events if e["ev"] == "probe_end"}
    assert res[0] == {"kind": "py", "type": "float", "value": 1.0}
    assert res[1] == {"kind": "array", "key": "r1"}
    with np.load(out / "probe_1.npz") as f:
        np.testing.assert_array_equal(f["r1"], [2.0, 4.0])
    assert not (out / "probe_0.npz").exists()       # a Python float needs no file
    raised = decode_result(res[2], {})
    assert isinstance(raised, Raised) and raised.mro[:2] == ["ValueError", "Exception"]
    assert raised.message == "p must sum to 1"
    assert res[4]["kind"] == "raised" and res[4]["mro"][0] == "NameError"
    # the probe's inputs do not leak into the notebook's namespace
    assert "c" not in shell.user_ns


def test_no_probes_no_inputs_needed(channel, tmp_path):
    runner._run_probes(Shell(), {"probes": [], "outdir": str(tmp_path)}, str(tmp_path),
                       channel.events)
    assert channel.read() == []


def test_a_forged_or_mistyped_event_reads_as_absent_fields_not_a_crash():
    from autograder.protocol import Event, event_line

    assert Event.parse({"ev": "format_disk"}) is None
    assert Event.parse(["ready"]) is None
    ev = Event.parse({"ev": "chunk_end", "i": "0", "ok": "yes", "output": 5, "cpu": True})
    assert (ev.kind, ev.i, ev.ok, ev.output, ev.cpu) == ("chunk_end", None, None, "", None)
    ev = Event.parse(json.loads(event_line("probe_end", k=3, result={"kind": "py"})))
    assert (ev.kind, ev.k, ev.result) == ("probe_end", 3, {"kind": "py"})
    with pytest.raises(ValueError, match="unknown event kind"):
        event_line("phase_c")


@pytest.mark.parametrize("module", ["autograder.protocol", "autograder.zygote"])
def test_the_jails_modules_import_only_the_standard_library(module):
    """The runner and the zygote import them in the jail before the warm imports: no NumPy
    at import time (the zygote imports what AUTOGRADER_WARM names, no more)."""
    import subprocess

    code = (f"import sys; import {module}; "
            "print(sorted(m for m in ('numpy', 'torch', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


# ------------------------------------------------------------------------ the real runner


def _events_until(fd: int, buf: list[bytes], want: str, timeout: float) -> list[dict]:
    """Events read from ``fd`` until one of kind ``want`` (or ``timeout`` s)."""
    import select
    import time

    seen: list[dict] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if select.select([fd], [], [], 0.05)[0]:
            data = os.read(fd, 1 << 16)
            if not data:
                break
            buf.append(data)
        *lines, rest = b"".join(buf).split(b"\n")
        buf[:] = [rest]
        seen += [json.loads(line) for line in lines if line]
        if any(e["ev"] == want for e in seen):
            break
    return seen


def _start_runner():
    """The real runner in a subprocess (no warm imports): it and its event pipe's read end."""
    import subprocess

    r, w = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder.runner"], stdin=subprocess.PIPE,
        pass_fds=(w,), env=dict(os.environ, AUTOGRADER_EVENT_FD=str(w), AUTOGRADER_WARM=""))
    os.close(w)
    return proc, r


def test_the_runner_waits_for_next_after_each_piece_and_keeps_its_stdin_private(tmp_path):
    """After each chunk the runner waits for the supervisor's "next" (which checks the
    sandbox's limits first), and student code reading stdin reads nothing: the
    supervisor's lines go to a private copy of it."""

    job = tmp_path / "job"
    home = tmp_path / "home"
    job.mkdir()
    home.mkdir()
    sources = ["import sys\nstolen = sys.stdin.read()", "after = 1"]
    (job / "job.json").write_text(json.dumps(
        {"chunks": chunks(*sources), "workdir": str(home), "outdir": str(tmp_path)}))
    (job / "hidden.json").write_text(json.dumps(
        {"chunks": [{"i": 2, "source": "assert stolen == '' and after == 1"}]}))
    proc, r = _start_runner()
    buf: list[bytes] = []

    def send(line: str) -> None:
        proc.stdin.write((line + "\n").encode())
        proc.stdin.flush()

    try:
        assert [e["ev"] for e in _events_until(r, buf, "ready", 60)] == ["ready"]
        send(str(job))
        first = _events_until(r, buf, "chunk_end", 30)
        assert [(e["ev"], e["i"]) for e in first] == [("chunk_start", 0), ("chunk_end", 0)]
        assert first[-1]["ok"], first[-1]
        assert _events_until(r, buf, "chunk_start", 1.0) == []   # waits for "next"
        send("next")
        assert [e["ev"] for e in _events_until(r, buf, "chunk_end", 30)] == [
            "chunk_start", "chunk_end"]
        send("next")
        assert [e["ev"] for e in _events_until(r, buf, "phase_b", 30)] == ["phase_b"]
        send("go")
        hidden = _events_until(r, buf, "chunk_end", 30)
        assert hidden[-1]["ok"], hidden[-1]                       # stolen == ''
        send("next")
        assert [e["ev"] for e in _events_until(r, buf, "done", 30)] == ["done"]
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
        os.close(r)


def test_the_runner_stops_when_told_anything_but_next(tmp_path):

    job = tmp_path / "job"
    job.mkdir()
    (job / "job.json").write_text(json.dumps(
        {"chunks": chunks("x = 1", "x = 2"), "workdir": str(tmp_path), "outdir": str(tmp_path)}))
    proc, r = _start_runner()
    buf: list[bytes] = []
    try:
        _events_until(r, buf, "ready", 60)
        proc.stdin.write(f"{job}\n".encode())
        proc.stdin.flush()
        seen = _events_until(r, buf, "chunk_end", 30)
        proc.stdin.close()                     # the supervisor is gone
        assert proc.wait(timeout=30) == 1
        seen += _events_until(r, buf, "done", 0.5)
        assert [(e["ev"], e.get("i")) for e in seen] == [("chunk_start", 0), ("chunk_end", 0)]
    finally:
        proc.kill()
        proc.wait()
        os.close(r)
