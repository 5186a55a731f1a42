"""Execute's supervisor and replay logic, driven by a scripted fake sandbox (no subprocess).

:class:`unitkit.FakeSandbox` plays the runner's side of the event protocol; each test
scripts which chunk or probe passes, hangs or kills the process, and checks what the host
records and what it asks the fresh sandbox of the replay to skip.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from unitkit import Clock, Starter, instructor_nb, student_nb  # noqa: E402

from autograder import execute, sandbox  # noqa: E402
from autograder.prepare import prepare  # noqa: E402
from autograder.spec import Exact, Probe, encode_inputs  # noqa: E402

PREPARED = prepare(instructor_nb(), student_nb())
# chunks: 0 setup, 1 entropy, 2 test_entropy (visible), 3 test_entropy (hidden), 4 kl,
# 5 test_kl (visible); chunks 0, 1 and 4 define the answers
SETUP, ENTROPY, T_ENTROPY, T_ENTROPY_HIDDEN, KL, T_KL = range(6)
assert [c["role"] for c in PREPARED.chunks] == ["setup", "solution", "test_visible",
                                                "test_hidden", "solution", "test_visible"]
PROBES, INPUTS = encode_inputs([
    Probe("test_entropy", "entropy(p)", {"p": np.array([0.5, 0.5])}, Exact()),
    Probe("test_entropy", "entropy(q)", {"q": 0.25}, Exact()),
    Probe("test_kl", "kl(p, p)", {"p": np.array([1.0])}, Exact()),
])
JOB = {"chunks": PREPARED.chunks, "probes": PROBES}
# the grader's default limits; the fake clock makes reaching them instantaneous
FAST = sandbox.Limits()


def install(monkeypatch, tmp_path, attempts=None, **common) -> Starter:
    """Every Sandbox.start goes to a Starter of scripted fakes; execute runs on fake time."""
    clock = Clock()
    monkeypatch.setattr(execute, "time", clock)
    starter = Starter(tmp_path, attempts, clock, **common)
    monkeypatch.setattr(sandbox.Sandbox, "start", lambda limits: starter.start(limits))
    return starter


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """``fake(**script)`` -> the Starter that every Sandbox.start of this test goes to."""
    def make(attempts=None, **common) -> Starter:
        return install(monkeypatch, tmp_path, attempts, **common)
    return make


def run(limits=FAST):
    return execute.run(JOB, INPUTS, limits, None, PREPARED.definition_chunks)


def test_a_clean_run_uses_one_sandbox_and_sends_hidden_work_only_in_phase_b(fake):
    starter = fake()
    res = run()
    [box] = starter.started
    assert sorted(res.chunks) == list(range(6))
    assert all(c.ok is True and c.failure is None for c in res.chunks.values())
    assert res.chunks[KL].output == f"output of chunk {KL}\n"
    assert res.probes == {k: {"kind": "py", "type": "int", "value": k} for k in range(3)}
    assert res.messages == [] and res.cpu == 0.25 and res.sandboxed is True
    # phase A: every chunk but the hidden tests, nothing to skip, no probe
    [job] = box.jobs
    assert [c["i"] for c in job["chunks"]] == [SETUP, ENTROPY, T_ENTROPY, KL, T_KL]
    assert job["skip_chunks"] == [] and job["skip_probes"] == [] and "probes" not in job
    # phase B: the hidden tests, the probes and their inputs
    [(hidden, inputs)] = box.hidden_jobs
    assert [c["i"] for c in hidden["chunks"]] == [T_ENTROPY_HIDDEN]
    assert hidden["probes"] == PROBES and inputs == INPUTS
    assert box.closed and not box.killed


def test_array_results_are_read_back_from_the_npz_the_runner_wrote(fake):
    fake(results={0: ({"kind": "array", "key": "r0"}, {"r0": np.arange(3.0)})})
    res = run()
    assert res.probes[0] == {"kind": "array", "key": "r0"}
    np.testing.assert_array_equal(res.arrays[0]["r0"], np.arange(3.0))
    assert res.arrays[1] == {}


def test_a_result_that_is_not_a_dict_is_recorded_as_bad(fake):
    fake(results={2: (["not", "a", "dict"], {})})
    assert run().probes[2] == {"kind": "bad", "type": "?"}


def test_a_cell_that_hangs_is_skipped_in_a_fresh_sandbox(fake):
    starter = fake(script={("chunk", ENTROPY): "hang"})
    res = run()
    first, replay = starter.started
    assert first.killed and first.closed and replay.closed
    assert res.chunks[ENTROPY].ok is None and res.chunks[ENTROPY].failure == "timeout"
    assert 30.0 < res.chunks[ENTROPY].seconds < 30.2     # the cell's own limit, 30 s
    assert replay.jobs[0]["skip_chunks"] == [ENTROPY]
    assert ("chunk", ENTROPY) not in replay.ran
    assert all(res.chunks[i].ok for i in (SETUP, T_ENTROPY, T_ENTROPY_HIDDEN, KL, T_KL))
    assert res.messages == [f"chunk {ENTROPY}: timeout (over 30 s)"]
    assert sorted(res.probes) == [0, 1, 2]


def test_a_test_cell_that_kills_the_process_skips_the_rest_of_that_cell_only(fake):
    starter = fake(script={("chunk", T_ENTROPY): "die"}, returncode=1)   # os._exit(1)
    res = run()
    assert len(starter.started) == 2
    assert res.chunks[T_ENTROPY].failure == "crashed"
    # its hidden half would die the same way: not run, marked skipped
    assert res.chunks[T_ENTROPY_HIDDEN].failure == "skipped"
    assert starter.started[1].jobs[0]["skip_chunks"] == [T_ENTROPY, T_ENTROPY_HIDDEN]
    assert ("chunk", T_ENTROPY_HIDDEN) not in starter.started[1].ran
    assert res.chunks[T_KL].ok is True
    assert res.messages == [f"chunk {T_ENTROPY}: crashed (the process died: exit status 1)"]


def test_a_probe_that_hangs_fails_every_probe_of_its_cell_and_no_other(fake):
    starter = fake(script={("probe", 0): "hang"})
    res = run()
    first, replay = starter.started
    assert res.probes[0] == {"kind": "timeout"}
    assert res.probes[1] == {"kind": "timeout"}      # same test cell: not asked
    assert res.probes[2] == {"kind": "py", "type": "int", "value": 2}
    assert replay.jobs[0]["skip_probes"] == [0, 1]
    assert ("probe", 0) not in replay.ran and ("probe", 1) not in replay.ran
    assert res.messages == ["probe 0: timeout (over 20 s)"]


def test_probes_answered_before_a_crash_are_not_asked_again(fake):
    starter = fake(script={("probe", 2): "die"}, returncode=1)
    res = run()
    first, replay = starter.started
    assert ("probe", 0) in first.ran and ("probe", 1) in first.ran
    assert replay.jobs[0]["skip_probes"] == [0, 1, 2]
    assert not [r for r in replay.ran if r[0] == "probe"]
    assert res.probes[0]["value"] == 0 and res.probes[2] == {"kind": "crashed"}


def test_past_the_wall_clock_budget_the_replay_keeps_only_the_answers(fake):
    limits = sandbox.Limits(wall=20.0)     # reached before the cell's own 30 s
    starter = fake(script={("chunk", T_ENTROPY): "hang"})
    res = run(limits)
    first, replay = starter.started
    # the hung cell and every test chunk not yet run lose their points as timeouts
    assert {i: res.chunks[i].failure for i in (T_ENTROPY, T_ENTROPY_HIDDEN, T_KL)} == {
        T_ENTROPY: "timeout", T_ENTROPY_HIDDEN: "timeout", T_KL: "timeout"}
    assert replay.jobs[0]["skip_chunks"] == [T_ENTROPY, T_ENTROPY_HIDDEN, T_KL]
    assert [r for r in replay.ran if r[0] == "chunk"] == [("chunk", SETUP), ("chunk", ENTROPY),
                                                        ("chunk", KL)]
    assert sorted(res.probes) == [0, 1, 2]    # the probes still run on the answers
    assert len(res.messages) == 1 and "wall-clock budget" in res.messages[0]


def test_a_second_wall_clock_overrun_gives_up(fake):
    limits = sandbox.Limits(wall=20.0)
    starter = fake(attempts=[{"script": {("chunk", T_ENTROPY): "hang"}},
                             {"script": {("chunk", KL): "hang"}}])
    res = run(limits)
    assert len(starter.started) == 2
    assert res.probes == {}
    assert "wall-clock budget exhausted twice" in res.messages[-1]


def test_a_runner_that_dies_before_ready_is_retried_then_a_grader_error(fake):
    starter = fake(never_ready=True, alive=False, returncode=1)
    res = run()
    assert len(starter.started) == 1 + execute.GRADER_RETRIES
    assert [e.kind for e in res.events] == ["retried", "retried", "grader_error"]
    assert res.grader_error and res.chunks == {} and res.probes == {}


def test_too_many_processes_kill_the_run_and_the_cell_is_skipped(fake):
    limits = sandbox.Limits(procs=4)
    starter = fake(attempts=[{"script": {("chunk", KL): "fork"}}])
    res = run(limits)
    assert res.chunks[KL].failure == "crashed"
    assert res.messages[0] == "more than 4 processes: killed"
    assert starter.started[1].jobs[0]["skip_chunks"] == [KL]


def test_endless_failures_stop_after_twelve_sandboxes(fake):
    chunks = [{"i": i, "source": "", "role": "extra", "grade_id": None} for i in range(14)]
    starter = fake(script={("chunk", i): "die" for i in range(14)}, returncode=1)
    res = execute.run({"chunks": chunks, "probes": []}, INPUTS, FAST, None, set())
    assert len(starter.started) == 12
    assert [res.chunks[i].failure for i in range(12)] == ["crashed"] * 12
    assert 12 not in res.chunks and 13 not in res.chunks
    assert res.messages[-1] == "too many restarts; remaining cells not run"


def test_events_out_of_turn_are_ignored(fake):
    forged = [{"ev": "done"},                           # not before phase B
              {"ev": "chunk_start", "i": T_ENTROPY_HIDDEN},  # a hidden chunk in phase A
              {"ev": "chunk_end", "i": T_ENTROPY_HIDDEN, "ok": True},
              {"ev": "probe_end", "k": 0, "result": {"kind": "py", "type": "int",
                                                     "value": 99}},
              {"ev": "ready"}]                          # a second ready
    starter = fake(forged=forged)
    res = run()
    [box] = starter.started
    assert len(box.jobs) == 1
    assert res.probes[0]["value"] == 0
    assert res.chunks[T_ENTROPY_HIDDEN].output == f"output of chunk {T_ENTROPY_HIDDEN}\n"


def test_a_forged_phase_b_is_ignored_and_flagged(fake):
    """Student code can write to the event descriptor. A phase_b before the cells have
    finished would send the hidden inputs while its code still runs and stop the host from
    recording the visible tests' results: it is ignored and the run is flagged."""
    from autograder.execute import FORGED

    starter = fake(forged=[{"ev": "phase_b"}])
    res = run()
    [box] = starter.started
    assert len(box.hidden_jobs) == 1                    # the inputs went out once, at the end
    assert all(res.chunks[c["i"]].ok for c in JOB["chunks"])   # every cell was recorded
    assert [e.kind for e in res.events] == [FORGED]
