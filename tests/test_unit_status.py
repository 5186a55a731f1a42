"""A submission's status and score when several things go wrong at once (no sandbox).

The status is the first that applies of ``malformed``, ``tamper_suspected``, ``timeout``,
``crashed``, ``needs_manual_grading``, ``ok`` (autograder/README.md). The runs here come
from :func:`autograder.execute.run` driving the scripted fake sandbox of tests/unitkit.py,
so the failures are the ones the supervisor really records; :func:`autograder.judge.judge`
then decides.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_unit_replay import (  # noqa: E402
    FAST,
    INPUTS,
    JOB,
    KL,
    PREPARED,
    T_ENTROPY,
    T_ENTROPY_HIDDEN,
    T_KL,
    install,
)
from unitkit import instructor_nb  # noqa: E402

from autograder import execute, sandbox  # noqa: E402
from autograder.execute import ChunkRun, RawResult  # noqa: E402
from autograder.judge import judge, malformed, notebook_verdicts  # noqa: E402
from autograder.prepare import instructor_cells  # noqa: E402
from autograder.spec import Exact, Probe, Spec, decode_result  # noqa: E402

CELLS = instructor_cells(instructor_nb())
# the judge decides test_entropy (probes 0 and 1) and test_kl (probe 2)
SPEC = Spec("ps00_unit", [Probe("test_entropy", "entropy(p)", compare=Exact(), visible=True),
                          Probe("test_entropy", "entropy(q)", compare=Exact()),
                          Probe("test_kl", "kl(p, p)", compare=Exact())])
# only test_entropy is judged; test_kl is scored by the notebook's own tests
SPEC_ENTROPY_ONLY = Spec("ps00_unit", SPEC.probes[:2])
REFERENCES = [decode_result({"kind": "py", "type": "int", "value": k}, {}) for k in range(3)]
WRONG = ({"kind": "py", "type": "int", "value": 99}, {})
SCAN_FLAG = ["os._exit"]


def grade(monkeypatch, tmp_path, spec=SPEC, flags=(), limits=FAST, sandboxed=True, **script):
    install(monkeypatch, tmp_path, sandboxed=sandboxed, **script)
    raw = execute.run(JOB, INPUTS, limits, None, PREPARED.definition_chunks)
    return judge(CELLS, PREPARED.chunks, raw, spec, REFERENCES, list(flags),
                 list(PREPARED.notes))


def scores(verdict) -> dict[str, float | None]:
    return {g: c.score for g, c in verdict.cells.items()}


WALL = sandbox.Limits(wall=20.0)      # the notebook's budget ends before a cell's 30 s
FORK = sandbox.Limits(procs=4)

CASES = {
    # name: (fake sandbox script, static-scan flags, limits, expected status)
    "clean": ({}, [], FAST, "ok"),
    "scan-flag": ({}, SCAN_FLAG, FAST, "needs_manual_grading"),
    "cell-crash": ({"script": {("chunk", KL): "die"}}, [], FAST, "crashed"),
    "runner-dies-at-start": ({"never_ready": True, "alive": False}, [], FAST, "crashed"),
    "fork-bomb": ({"attempts": [{"script": {("chunk", KL): "fork"}}]}, [], FORK, "crashed"),
    "crash-beats-flag": ({"script": {("chunk", KL): "die"}}, SCAN_FLAG, FAST, "crashed"),
    "cell-timeout": ({"script": {("chunk", KL): "hang"}}, [], FAST, "timeout"),
    "probe-timeout": ({"script": {("probe", 2): "hang"}}, [], FAST, "timeout"),
    "probe-crash": ({"script": {("probe", 2): "die"}}, [], FAST, "crashed"),
    "wall-clock": ({"script": {("chunk", T_KL): "hang"}}, [], WALL, "timeout"),
    "timeout-beats-crash-and-flag": (
        {"script": {("chunk", KL): "hang", ("chunk", T_KL): "die"}}, SCAN_FLAG, FAST, "timeout"),
    "tamper": ({"results": {0: WRONG}}, [], FAST, "tamper_suspected"),
    "forged-phase-b": ({"forged": [{"ev": "phase_b"}]}, [], FAST, "tamper_suspected"),
    "tamper-beats-everything": (
        {"results": {0: WRONG}, "script": {("chunk", KL): "hang", ("chunk", T_KL): "die"}},
        SCAN_FLAG, FAST, "tamper_suspected"),
}


# A probe that runs out of time or dies while the notebook's own tests passed is not
# evidence of tampering (issue 14, section 3): only a wrong answer to a probe that repeats
# a visible test is.
PARAMS = list(CASES)


@pytest.mark.parametrize("name", PARAMS)
def test_status_precedence(name, monkeypatch, tmp_path):
    script, flags, limits, status = CASES[name]
    verdict = grade(monkeypatch, tmp_path, flags=flags, limits=limits, **script)
    assert verdict.status == status, verdict.reasons
    assert verdict.max_score == 4.0     # 2 + 1 autograded, 1 graded by hand
    assert verdict.cells["explain"].score is None
    for flag in flags:
        assert f"static scan: {flag}" in verdict.reasons


def test_malformed_scores_zero_and_keeps_the_manual_cell_for_a_human():
    verdict = malformed(CELLS, "not valid JSON")
    assert verdict.status == "malformed"
    assert (verdict.score, verdict.max_score) == (0.0, 4.0)
    assert scores(verdict) == {"test_entropy": 0.0, "test_kl": 0.0, "explain": None}
    assert verdict.reasons == ["malformed: not valid JSON"]


def test_a_clean_run_earns_every_autograded_point(monkeypatch, tmp_path):
    verdict = grade(monkeypatch, tmp_path)
    assert scores(verdict) == {"test_entropy": 2.0, "test_kl": 1.0, "explain": None}
    assert verdict.score == 3.0
    assert all(c.judged and c.notebook_passed for g, c in verdict.cells.items() if g != "explain")
    assert [p["ok"] for p in verdict.cells["test_entropy"].probes] == [True, True]


def test_a_timed_out_probe_costs_its_own_cell_only(monkeypatch, tmp_path):
    verdict = grade(monkeypatch, tmp_path, script={("probe", 0): "hang"})
    assert scores(verdict) == {"test_entropy": 0.0, "test_kl": 1.0, "explain": None}
    assert [p["message"] for p in verdict.cells["test_entropy"].probes] == [
        "ran out of time", "ran out of time"]
    assert "probe 0: timeout (over 20 s)" in verdict.reasons


def test_a_crashed_cell_scored_by_the_notebook_costs_that_cell_only(monkeypatch, tmp_path):
    verdict = grade(monkeypatch, tmp_path, spec=SPEC_ENTROPY_ONLY,
                    script={("chunk", T_KL): "die"})
    assert verdict.status == "crashed"
    assert scores(verdict) == {"test_entropy": 2.0, "test_kl": 0.0, "explain": None}
    assert verdict.cells["test_kl"].judged is False
    assert any("test_kl: no judge probes" in r for r in verdict.reasons)


def test_a_wrong_judged_answer_is_zero_for_that_cell(monkeypatch, tmp_path):
    verdict = grade(monkeypatch, tmp_path, results={2: WRONG})
    assert scores(verdict)["test_kl"] == 0.0 and scores(verdict)["test_entropy"] == 2.0
    assert [p["message"] for p in verdict.cells["test_kl"].probes] == ["wrong value"]


def test_grading_without_the_sandbox_is_said_but_does_not_change_the_status(monkeypatch,
                                                                           tmp_path):
    verdict = grade(monkeypatch, tmp_path, sandboxed=False)
    assert verdict.status == "ok"
    assert any("WITHOUT the bubblewrap sandbox" in r for r in verdict.reasons)


def test_the_notebook_verdict_of_a_test_cell_uses_both_halves():
    def verdicts(visible, hidden):
        raw = RawResult(chunks={i: ChunkRun(ok=True) for i in range(6)})
        raw.chunks[T_ENTROPY] = ChunkRun(ok=visible)
        if hidden == "missing":
            del raw.chunks[T_ENTROPY_HIDDEN]
        else:
            raw.chunks[T_ENTROPY_HIDDEN] = ChunkRun(ok=hidden)
        return notebook_verdicts(PREPARED.chunks, raw)["test_entropy"]

    assert verdicts(True, True) is True
    assert verdicts(True, False) is False
    assert verdicts(False, "missing") is False     # hidden half skipped after a failure
    assert verdicts(False, None) is False
    assert verdicts(True, None) is None            # the hidden half never gave a verdict
    assert verdicts(None, True) is None            # the visible half never gave a verdict


def test_a_probe_result_the_comparator_cannot_handle_fails_without_stopping(monkeypatch,
                                                                           tmp_path):
    def broken(got, ref):
        raise TypeError("odd data")

    spec = Spec("ps00_unit", [Probe("test_kl", "kl(p, p)", compare=broken)])
    raw = RawResult(chunks={i: ChunkRun(ok=True) for i in range(6)},
                    probes={0: {"kind": "py", "type": "int", "value": 2}})
    verdict = judge(CELLS, PREPARED.chunks, raw, spec, [np.asarray(2)], [], [])
    assert verdict.cells["test_kl"].score == 0.0
    assert verdict.cells["test_kl"].probes[0]["message"] == (
        "the result could not be compared (TypeError)")


def test_a_broken_rule_zeroes_its_cell_says_why_and_ranks_below_a_crash(monkeypatch, tmp_path):
    from autograder.spec import Rule

    rule = Rule("test_kl", ("kl",), ("scipy",), "Do not call SciPy")
    install(monkeypatch, tmp_path)
    raw = execute.run(JOB, INPUTS, FAST, None, PREPARED.definition_chunks)
    verdict = judge(CELLS, PREPARED.chunks, raw, SPEC, REFERENCES, [], [],
                    {rule: "kl uses scipy.special.rel_entr"})
    assert verdict.status == "rule_broken"
    assert scores(verdict) == {"test_entropy": 2.0, "test_kl": 0.0, "explain": None}
    assert {"hint": "rule: Do not call SciPy", "ok": False,
            "message": "kl uses scipy.special.rel_entr"} in verdict.cells["test_kl"].probes
    assert "rule broken: Do not call SciPy (kl uses scipy.special.rel_entr)" in verdict.reasons
    (tmp_path / "b").mkdir()
    install(monkeypatch, tmp_path / "b", script={("chunk", KL): "die"})
    raw = execute.run(JOB, INPUTS, FAST, None, PREPARED.definition_chunks)
    crashed = judge(CELLS, PREPARED.chunks, raw, SPEC, REFERENCES, [], [], {rule: "x"})
    assert crashed.status == "crashed"


def test_what_a_student_may_read_is_decided_by_the_judge_not_by_the_wording(monkeypatch,
                                                                           tmp_path):
    from autograder.feedback import render

    verdict = grade(monkeypatch, tmp_path, flags=SCAN_FLAG, sandboxed=False,
                    script={("chunk", KL): "hang"}, results={0: WRONG})
    assert any(r.startswith("static scan") for r in verdict.reasons)
    assert any("disagree" in r for r in verdict.reasons)
    assert any("WITHOUT the bubblewrap sandbox" in r for r in verdict.reasons)
    notes = verdict.student_notes
    assert any("timeout" in n for n in notes)            # the student's own cell timed out
    assert not [n for n in notes if "static scan" in n or "disagree" in n or "WITHOUT" in n]
    row = {"student": "s", "score": verdict.score, "max_score": verdict.max_score,
           "status": verdict.status,
           "payload": {"cells": {}, "visible": {}, "reasons": verdict.reasons,
                       "student_notes": notes}}
    page = render("ps00_unit", row)
    assert "os._exit" not in page and "WITHOUT" not in page and "timeout" in page
