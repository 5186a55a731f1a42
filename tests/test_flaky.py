"""No flaky grades: deaths that are the grader's fault are retried and never scored.

The fast tests drive :func:`autograder.execute.run` with the scripted fake sandbox of
tests/unitkit.py (a death's exit status is scripted: ``returncode=-9`` is a SIGKILL from
outside, ``1`` is the submission's ``os._exit(1)``), then :func:`autograder.judge.judge`.
The slow ones use the real sandbox: a runner that cannot import, a runner killed from
outside in the middle of a probe, and a soak that grades every problem set's honest
notebook many times and wants the same scores and statuses every time.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_unit_replay import FAST, INPUTS, JOB, KL, PREPARED, T_ENTROPY, install  # noqa: E402
from test_unit_status import CELLS, REFERENCES, SPEC, grade, scores  # noqa: E402

from autograder import execute, sandbox  # noqa: E402
from autograder.execute import Event, RawResult, death_signal, stderr_summary  # noqa: E402
from autograder.judge import judge  # noqa: E402
from autograder.spec import encode_inputs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FULL = {"test_entropy": 2.0, "test_kl": 1.0, "explain": None}   # explain: by hand
UNSCORED = {"test_entropy": None, "test_kl": None, "explain": None}


def kinds(verdict_or_raw) -> list[str]:
    return [e.kind for e in verdict_or_raw.events]


# --- pure logic ---------------------------------------------------------------------

def test_the_signal_comes_from_the_exit_status_bwrap_reports_128_plus_n():
    assert death_signal(137, sandboxed=True) == signal.SIGKILL
    assert death_signal(-11, sandboxed=False) == signal.SIGSEGV
    assert death_signal(137, sandboxed=False) is None   # os._exit(137) without bwrap
    assert death_signal(1, sandboxed=True) is None
    assert death_signal(None, sandboxed=True) is None


def test_the_log_line_keeps_the_last_lines_of_the_stderr_tail():
    tail = "Traceback (most recent call last):\n  File \"x\", line 1\n\n" \
           "ModuleNotFoundError: No module named 'infoloss'\n\n"
    assert stderr_summary(tail) == ("Traceback (most recent call last): | File \"x\", line 1 | "
                                    "ModuleNotFoundError: No module named 'infoloss'")
    assert stderr_summary("a\nb\nc\nd\n") == "b | c | d"
    assert len(stderr_summary("x" * 100_000)) <= 600


def test_the_status_comes_from_event_kinds_not_from_the_words_of_a_message():
    """A retried death whose message mentions 'crashed' and 'timeout' changes nothing; a
    crash described in neutral words still makes the status crashed."""
    raw = RawResult(probes={k: {"kind": "py", "type": "int", "value": k} for k in range(3)})
    for i in range(6):
        raw.chunks[i] = execute.ChunkRun(ok=True)
    raw.events = [Event(execute.RETRIED, "probe 2: crashed once, like a timeout; run again")]
    v = judge(CELLS, PREPARED.chunks, raw, SPEC, REFERENCES, [], [])
    assert v.status == "ok" and scores(v) == FULL
    raw.events = [Event(execute.CRASHED, "probe 2: gone")]
    assert judge(CELLS, PREPARED.chunks, raw, SPEC, REFERENCES, [], []).status == "crashed"


# --- the supervisor, with the scripted fake sandbox ---------------------------------

def test_a_probe_killed_from_outside_is_run_again_and_costs_nothing(monkeypatch, tmp_path):
    v = grade(monkeypatch, tmp_path, attempts=[{"script": {("probe", 2): "die"}}])
    assert v.status == "ok" and scores(v) == FULL
    assert any("probe 2: the runner was killed by SIGKILL" in r for r in v.reasons)


def test_a_cell_killed_from_outside_is_run_again_not_skipped(monkeypatch, tmp_path):
    starter = install(monkeypatch, tmp_path, attempts=[{"script": {("chunk", KL): "die"}}])
    raw = execute.run(JOB, INPUTS, FAST, None, PREPARED.definition_chunks)
    first, second = starter.started
    assert second.jobs[0]["skip_chunks"] == [] and ("chunk", KL) in second.ran
    assert raw.chunks[KL].ok is True and kinds(raw) == ["retried"]


def test_a_probe_that_dies_again_is_the_submissions(monkeypatch, tmp_path):
    v = grade(monkeypatch, tmp_path, script={("probe", 2): "die"})
    # (tamper_suspected, not crashed: the notebook's own test of that cell passed)
    assert scores(v) == {"test_entropy": 2.0, "test_kl": 0.0, "explain": None}
    assert any("probe 2: crashed (the process died: killed by SIGKILL)" in r for r in v.reasons)


def test_a_death_at_the_cgroups_memory_limit_is_the_submissions_not_run_again(monkeypatch,
                                                                              tmp_path):
    """SIGKILL from the sandbox's own cgroup (its memory limit) is no flake: the data of the
    cgroup, not the signal, decides."""
    import unitkit

    from autograder.cgroups import Breach

    starter = install(monkeypatch, tmp_path, script={("probe", 2): "die"})
    # the cgroup reports the breach once the probe ran (as memory.events does)
    monkeypatch.setattr(unitkit.FakeSandbox, "breach", lambda box, now=False:
                        Breach("memory", 2**30) if ("probe", 2) in box.ran else None)
    raw = execute.run(JOB, INPUTS, FAST, None, PREPARED.definition_chunks)
    assert execute.RETRIED not in kinds(raw) and raw.limits_hit == ["memory"]
    assert raw.probes[2] == {"kind": "crashed"}
    assert ("probe", 2) not in starter.started[1].ran   # the replay skips it


def test_os_exit_in_a_cell_is_the_submissions_and_not_run_again(monkeypatch, tmp_path):
    starter = install(monkeypatch, tmp_path, script={("chunk", T_ENTROPY): "die"},
                      returncode=3)
    raw = execute.run(JOB, INPUTS, FAST, None, PREPARED.definition_chunks)
    assert len(starter.started) == 2 and kinds(raw) == ["crashed"]
    assert raw.messages == [f"chunk {T_ENTROPY}: crashed (the process died: exit status 3)"]


def test_reruns_after_signals_are_bounded(monkeypatch, tmp_path):
    chunks = [{"i": i, "source": "", "role": "extra", "grade_id": None} for i in range(6)]
    starter = install(monkeypatch, tmp_path, script={("chunk", i): "die" for i in range(6)})
    raw = execute.run({"chunks": chunks, "probes": []}, INPUTS, FAST, None, set())
    assert kinds(raw).count("retried") == execute.CONFIRM_RETRIES
    assert [raw.chunks[i].failure for i in range(6)] == ["crashed"] * 6
    assert len(starter.started) == 6 + execute.CONFIRM_RETRIES + 1


def test_a_runner_dead_before_ready_is_retried_and_then_succeeds(monkeypatch, tmp_path):
    v = grade(monkeypatch, tmp_path, attempts=[{"never_ready": True, "alive": False,
                                                "stderr": "bwrap: Creating new namespace "
                                                          "failed: Resource busy\n"}])
    assert v.status == "ok" and scores(v) == FULL
    assert any(r.startswith("runner stderr (sandbox 1): bwrap: Creating new namespace")
               for r in v.reasons)


def test_a_runner_that_never_starts_is_a_grader_error_with_nothing_scored(monkeypatch,
                                                                          tmp_path):
    v = grade(monkeypatch, tmp_path, never_ready=True, alive=False, returncode=1,
              stderr="ModuleNotFoundError: No module named 'infoloss'\n")
    assert v.status == "crashed"
    assert scores(v) == UNSCORED   # not scored, not 0
    assert v.score == 0.0 and v.max_score == 4.0
    [error] = [r for r in v.reasons if r.startswith("grader error")]
    assert "exit status 1" in error and "3 times" in error
    assert sum("No module named 'infoloss'" in r for r in v.reasons) == 3


def test_a_sandbox_that_cannot_be_started_is_retried(monkeypatch, tmp_path):
    starter = install(monkeypatch, tmp_path)
    calls = []

    def start(limits):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(24, "Too many open files")
        return starter.start(limits)

    monkeypatch.setattr(sandbox.Sandbox, "start", start)
    raw = execute.run(JOB, INPUTS, FAST, None, PREPARED.definition_chunks)
    assert len(calls) == 2 and len(raw.probes) == 3 and not raw.grader_error
    assert raw.messages == ["the sandbox could not be started (OSError: [Errno 24] Too many "
                            "open files); retrying in a fresh sandbox"]


def test_the_stderr_never_reaches_the_students_feedback(monkeypatch, tmp_path):
    from autograder.feedback import render

    v = grade(monkeypatch, tmp_path, attempts=[{"never_ready": True, "alive": False,
                                                "stderr": "SECRET-HIDDEN-INPUT\n"}])
    row = {"student": "s", "status": v.status, "score": v.score, "max_score": v.max_score,
           "payload": {"reasons": v.reasons, "student_notes": v.student_notes, "cells": {},
                       "visible": {}}}
    assert "SECRET-HIDDEN-INPUT" not in render("ps00_unit", row)
    assert any("SECRET-HIDDEN-INPUT" in r for r in v.reasons)   # the instructor's log has it
    assert any("running any cell" in n for n in v.student_notes)  # the retry is no secret


# --- the real sandbox ----------------------------------------------------------------

@pytest.mark.slow
def test_a_runner_that_cannot_import_names_the_import_error_in_the_log(monkeypatch,
                                                                        tmp_path):
    """A shadow ``autograder`` package first on the runner's path fails to import: the
    log says which import failed (before the fix: 'runner crashed before running any
    cell' and nothing else)."""
    shadow = tmp_path / "shadow"
    (shadow / "autograder").mkdir(parents=True)
    (shadow / "autograder" / "__init__.py").write_text("import infoloss_no_such_module\n")
    env = sandbox._env
    paths = sandbox._python_paths
    monkeypatch.setattr(sandbox, "_env", lambda *a: dict(env(*a), PYTHONPATH=str(shadow)))
    monkeypatch.setattr(sandbox, "_python_paths", lambda: paths() + [str(shadow)])
    raw = execute.run(JOB, INPUTS, sandbox.Limits(wall=60), None, PREPARED.definition_chunks)
    assert raw.grader_error and kinds(raw).count("retried") == execute.GRADER_RETRIES
    logged = [m for m in raw.messages if m.startswith("runner stderr")]
    assert len(logged) == 1 + execute.GRADER_RETRIES
    assert all("No module named 'infoloss_no_such_module'" in m for m in logged), logged
    assert all(len(t) <= sandbox.STDERR_TAIL for t in raw.stderr)
    v = judge(CELLS, PREPARED.chunks, raw, SPEC, REFERENCES, [], [])
    assert v.status == "crashed" and scores(v) == UNSCORED


PROBE_JOB = {"chunks": [{"i": 0, "source": "import time\ndef slow():\n"
                                            "    time.sleep(4)\n    return 7\n",
                         "role": "solution", "grade_id": None}],
             "probes": [{"k": 0, "expr": "slow()", "inputs": {}, "cell": "t"}]}


@pytest.mark.slow
def test_a_runner_killed_from_outside_in_a_probe_is_retried_in_the_real_sandbox(monkeypatch):
    """SIGKILL to the runner in the middle of a probe, as the machine's OOM killer sends
    it: the probe runs again in a fresh sandbox and answers; nothing is lost."""
    import psutil

    started: list[sandbox.Sandbox] = []
    start = sandbox.Sandbox.start
    monkeypatch.setattr(sandbox.Sandbox, "start",
                        lambda limits: started.append(start(limits)) or started[-1])

    def kill_the_first_runner_in_its_probe():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if started and (started[0].scratch / "job" / "hidden.json").exists():
                time.sleep(1.0)   # the probe sleeps 4 s: it is running now
                top = psutil.Process(started[0].proc.pid)
                for p in [top, *top.children(recursive=True)]:
                    argv = p.cmdline()   # the runner, not bwrap (whose argv names it too)
                    if "python" in Path(argv[0]).name and "autograder.runner" in argv:
                        os.kill(p.pid, signal.SIGKILL)
                        return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_first_runner_in_its_probe)
    killer.start()
    raw = execute.run(PROBE_JOB, encode_inputs([])[1], sandbox.Limits(), None, {0})
    killer.join()
    assert len(started) == 2
    assert raw.probes[0] == {"kind": "py", "type": "int", "value": 7}
    assert kinds(raw) == ["retried"], raw.messages
    assert "probe 0: the runner was killed by SIGKILL" in raw.messages[0]


# Problem set -> (copies of its solution notebook graded as different students, rounds).
# Most runs use the cheap sets (about 1.5 s a notebook on 2 cores), the torch sets twice
# each, ps07 (teacher + students) and ps06 (compiles and trains LeNet-5 in C) twice, two at
# a time: 50 + 40 + 4 + 3 * 2 + 2 + 2 = 104 sandboxed runs of honest notebooks, besides the
# eight reference runs of the solutions.
SOAK = {"ps01_information": (25, 2), "ps08_sampling": (20, 2), "ps04_stability": (4, 1),
        "ps02_divergence": (2, 1), "ps03_ce_vs_mse": (2, 1), "ps05_temperature": (2, 1),
        "ps07_distillation": (2, 1), "ps06_lenet": (2, 1)}


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.usefixtures("bwrap")
def test_soak_the_same_honest_notebooks_get_the_same_grade_every_time(monkeypatch, tmp_path):
    """Every problem set's solution notebook, graded as many students, in rounds: one
    score and status for all of them (a random runner death would break this)."""
    import warnings

    from autograder import grade as grade_mod

    raws: list[RawResult] = []
    real_run = grade_mod.run

    def run_and_keep(*args, **kwargs):
        raw = real_run(*args, **kwargs)
        raws.append(raw)   # from the grader's worker threads: append is atomic
        return raw

    monkeypatch.setattr(grade_mod, "run", run_and_keep)
    course = tmp_path / "course"
    graded = 0
    for assignment, (copies, rounds) in SOAK.items():
        subs = tmp_path / assignment
        for n in range(copies):
            (subs / f"s{n:02d}").mkdir(parents=True)
            shutil.copy(ROOT / "solutions" / assignment / f"{assignment}.ipynb",
                        subs / f"s{n:02d}")
        seen = set()
        for _ in range(rounds):
            verdicts = grade_mod.grade(assignment, subs, course, workers=2, quiet=True)
            assert len(verdicts) == copies
            for _student, v in verdicts:
                seen.add((v.status, v.score, tuple(sorted((g, c.score)
                                                          for g, c in v.cells.items()))))
            graded += copies
        assert len(seen) == 1, f"{assignment}: different grades for the same notebook: {seen}"
        [(status, score, _)] = seen
        assert status == "ok", f"{assignment}: {status}"
    assert graded >= 100 and len(raws) == graded
    assert all(r.sandboxed for r in raws)
    retried = [e.message for r in raws for e in r.events if e.kind == execute.RETRIED]
    if retried:   # the grades held; say what the retries hid
        warnings.warn(f"{len(retried)} runner deaths retried during the soak: {retried[:5]}",
                      stacklevel=1)


def test_kill_after_the_runner_was_reaped_signals_no_reused_pid(monkeypatch):
    """Once the runner is reaped its pid may name another process: kill() must not signal
    that pid's process group."""
    import signal as _signal
    import subprocess as _sp

    from autograder import sandbox as sbx

    proc = _sp.Popen(["true"])
    proc.wait()
    sent = []
    monkeypatch.setattr(sbx.os, "killpg", lambda pid, sig: sent.append((pid, sig)))
    box = object.__new__(sbx.Sandbox)
    box.proc = proc
    box.cgroup = None
    box.kill()
    assert (proc.pid, _signal.SIGKILL) not in sent
