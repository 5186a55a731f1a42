"""Judge: score a run by comparing its plain-data results with the instructor's.

Runs in the grading process only (never next to student code). For each graded test cell:

* probes in the spec: the cell's points when every probe's result matches the reference
  (the instructor solution's result for the same probe), else 0; a probe that timed out or
  crashed fails;
* no probes: the in-notebook verdict (both chunks of the test cell ran without error),
  and the log says that the notebook's own tests decided.

Where a cell's in-notebook verdict and the judge's differ, the judge's counts and the
submission is ``tamper_suspected``. The status of a submission is the first that applies
of ``malformed``, ``tamper_suspected``, ``timeout``, ``out_of_memory`` (the sandbox hit its
cgroup memory limit), ``crashed``, ``rule_broken`` (a rule of the spec's ``RULES``, e.g. "do
not call SciPy", is broken), ``needs_manual_grading`` and ``ok``, decided by the kinds of the
run's events, never their words; every reason goes to the log. When the grader itself failed
the run (``RawResult.grader_error``), the cells that did not run are not scored (``None``, as
a cell graded by hand: the gradebook marks them as needing a grade) instead of 0, and the
status is ``crashed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .execute import CRASH_KINDS, FORGED, STDERR, TIMEOUT_KINDS, RawResult
from .prepare import Cell
from .spec import Probe, Rule, Spec, decode_result


@dataclass
class CellScore:
    grade_id: str
    score: float | None   # None: graded by hand
    max_score: float
    notebook_passed: bool | None = None
    judged: bool = False
    probes: list[dict] = field(default_factory=list)  # hint, ok, message (for feedback)


@dataclass
class Verdict:
    status: str
    score: float
    max_score: float
    cells: dict[str, CellScore]
    reasons: list[str]          # everything, for the instructor's log
    seconds: float = 0.0
    manual_answers: dict[str, str] = field(default_factory=dict)
    student_notes: list[str] = field(default_factory=list)
    """The reasons a student may read in the feedback, decided where each reason is made
    (the static scan's findings, tamper evidence and the sandbox state are the instructor's)."""


def reference_values(spec: Spec, ref: RawResult) -> list:
    values = []
    for k in range(len(spec.probes)):
        enc = ref.probes.get(k, {"kind": "crashed"})
        values.append(decode_result(enc, ref.arrays.get(k, {})))
    return values


def compare_probe(probe: Probe, enc: dict, arrays: dict, reference: Any) -> tuple[bool, str]:
    """One probe's verdict: the student's plain-data result against the solution's.

    The one comparison of a probe, made by the judge (outside the sandbox) and by the
    generated hidden tests in the notebook (``autograder.checks``).
    """
    if enc.get("kind") == "timeout":
        return False, "ran out of time"
    if enc.get("kind") == "crashed":
        return False, "the process died while this check ran"
    got = decode_result(enc, arrays)
    try:
        ok, msg = probe.compare(got, reference)
    except Exception as exc:  # noqa: BLE001 (odd data must not stop the batch)
        return False, f"the result could not be compared ({type(exc).__name__})"
    return bool(ok), str(msg)


def _answered(enc: dict) -> bool:
    """The probe ran to an answer the visible test would also have seen: not a timeout or
    a crash, and not a warning turned into an error (the visible tests let warnings pass)."""
    if enc.get("kind") in ("timeout", "crashed"):
        return False
    return not (enc.get("kind") == "raised" and "Warning" in (enc.get("mro") or []))


def notebook_verdicts(chunks: list[dict], raw: RawResult) -> dict[str, bool | None]:
    """Per test cell: True/False when its chunks ran to a verdict, None when they did not."""
    out: dict[str, bool | None] = {}
    for chunk in chunks:
        if not chunk["role"].startswith("test_"):
            continue
        gid = chunk["grade_id"]
        run = raw.chunks.get(chunk["i"])
        prev = out.get(gid, True)
        if run is None or run.ok is None:
            # not reached: the hidden half is skipped after a visible failure
            out[gid] = prev if (prev is False) else None
        else:
            out[gid] = None if prev is None else (prev and run.ok)
    return out


def _judged_cell(cell: Cell, nb_ok: bool | None, spec: Spec, raw: RawResult,
                 references: list, broken: dict[Rule, str],
                 reasons: list[str]) -> tuple[CellScore, str | None]:
    """A cell the spec's probes decide: its score, and the tamper evidence (or None)."""
    cs = CellScore(cell.grade_id, 0.0, cell.points, notebook_passed=nb_ok, judged=True)
    all_ok = True
    fooled = []
    for k, probe in enumerate(spec.probes):
        if probe.cell != cell.grade_id:
            continue
        enc = raw.probes.get(k, {"kind": "crashed"})
        ok, msg = compare_probe(probe, enc, raw.arrays.get(k, {}), references[k])
        cs.probes.append({"hint": probe.hint or f"hidden check {k}", "ok": bool(ok),
                          "message": msg})
        all_ok = all_ok and ok
        if probe.visible and not ok and _answered(enc):
            fooled.append(probe.hint or f"check {k}")
    for rule, found in broken.items():
        if rule.cell == cell.grade_id:
            cs.probes.append({"hint": rule.hint, "ok": False, "message": found})
            reasons.append(f"rule broken: {rule.says} ({found})")
            all_ok = False
    # As stock nbgrader scores it: the visible tests do not fail in the notebook (not
    # reached, after a timeout, is left to the probes) and every hidden check passes (the
    # same probes that nbgrader's generated hidden block runs).
    cs.score = cell.points if (all_ok and nb_ok is not False) else 0.0
    tamper = None
    if nb_ok and fooled:
        tamper = (f"{cell.grade_id}: the notebook's visible tests pass, but the same checks "
                  f"made by the judge fail ({'; '.join(fooled)})")
    return cs, tamper


def status_of(tamper: bool, raw: RawResult, broken: bool, flagged: bool) -> str:
    """The first status that applies, from the data of the run (see the module docstring)."""
    timeouts = [e for e in raw.events if e.kind in TIMEOUT_KINDS]
    crashes = [e for e in raw.events if e.kind in CRASH_KINDS]
    forged = any(e.kind == FORGED for e in raw.events)
    for status, applies in (("tamper_suspected", tamper or forged), ("timeout", timeouts),
                            ("out_of_memory", "memory" in raw.limits_hit),
                            ("crashed", crashes), ("rule_broken", broken),
                            ("needs_manual_grading", flagged)):
        if applies:
            return status
    return "ok"


def judge(cells: list[Cell], chunks: list[dict], raw: RawResult, spec: Spec | None,
          references: list | None, flags: list[str], notes: list[str],
          broken: dict[Rule, str] | None = None) -> Verdict:
    """Score one run; ``broken``: the spec's rules the submission's code breaks
    (:func:`autograder.rules.broken_rules`), each zeroing its cell."""
    reasons = list(notes)
    broken = broken or {}
    verdicts = notebook_verdicts(chunks, raw)
    scores: dict[str, CellScore] = {}
    tamper = []
    judged_cells = spec.cells if spec else set()
    for cell in cells:
        if cell.is_manual:
            scores[cell.grade_id] = CellScore(cell.grade_id, None, cell.points)
        elif cell.is_test and cell.grade_id in judged_cells:
            cs, evidence = _judged_cell(cell, verdicts.get(cell.grade_id), spec, raw,
                                        references, broken, reasons)
            scores[cell.grade_id] = cs
            tamper += [evidence] if evidence else []
        elif cell.is_test:
            nb_ok = verdicts.get(cell.grade_id)
            scores[cell.grade_id] = CellScore(cell.grade_id, cell.points if nb_ok else 0.0,
                                              cell.points, notebook_passed=nb_ok)
            reasons.append(f"{cell.grade_id}: no judge probes; scored by the notebook's own "
                           "tests (run in the sandbox)")
    if raw.grader_error:   # nothing ran through the grader's fault: not scored, not 0
        for cs in scores.values():
            if cs.score is not None and cs.notebook_passed is None:
                cs.score = None
                cs.probes = [dict(p, message="not run: grader error") for p in cs.probes]
    # notes, rules, timeouts, crashes: the student's too; the runner's stderr is not
    public = list(reasons) + [e.message for e in raw.events if e.kind != STDERR]
    reasons += raw.messages
    if not raw.sandboxed:
        reasons.append("graded WITHOUT the bubblewrap sandbox (resource limits only)")
    reasons += [f"judge and notebook disagree: {t}" for t in tamper]
    reasons += [f"static scan: {f}" for f in flags]
    status = status_of(bool(tamper), raw, bool(broken), bool(flags))
    auto = [c for c in scores.values() if c.score is not None]
    return Verdict(status, float(sum(c.score for c in auto)),
                   float(sum(c.max_score for c in scores.values())), scores, reasons,
                   raw.seconds, student_notes=public)


def malformed(cells: list[Cell], problem: str) -> Verdict:
    scores = {c.grade_id: CellScore(c.grade_id, None if c.is_manual else 0.0, c.points)
              for c in cells if c.is_test or c.is_manual}
    return Verdict("malformed", 0.0, float(sum(c.points for c in cells if c.grade)), scores,
                   [f"malformed: {problem}"], student_notes=[f"malformed: {problem}"])
