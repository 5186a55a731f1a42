"""Hidden checks, written once: the judge spec's probes, run by nbgrader *and* by the judge.

An assignment's hidden checks live only in ``solutions/<a>/judge.py`` (:mod:`autograder.spec`).
``release`` writes, into each test cell that has probes, a hidden-test block generated from
that file (:func:`hidden_block`): one call of :func:`check_cell`. So

* stock ``nbgrader autograde`` reinserts the block as it reinserts any hidden test, and the
  call runs the cell's probes in the notebook's kernel and compares each result with the
  instructor solution's answer, exactly as the judge does (same evaluation, same
  comparators: :func:`autograder.runner.evaluate_probe`, :func:`autograder.judge.compare_probe`);
* ``python -m autograder grade`` does not run the block: it sends the same probes into the
  sandbox and compares the plain-data results outside (the trusted path).

There is no second copy to drift: a source whose test cell holds hand-written hidden tests
is refused by ``release`` when the assignment has a judge spec.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from .markers import BEGIN_HIDDEN, END_HIDDEN, PREFIX

_CALL = re.compile(r'check_cell\("(?P<a>[A-Za-z0-9_]+)", "(?P<g>[A-Za-z_]\w*)", globals\(\)\)')
NOTE = "# Generated from judge.py by `python -m autograder release`: edit the probes there."


def hidden_body(assignment: str, grade_id: str) -> str:
    """The lines between the markers of a generated hidden-test block."""
    return "\n".join([NOTE, "from autograder.checks import check_cell",
                      f'check_cell("{assignment}", "{grade_id}", globals())'])


def hidden_block(assignment: str, grade_id: str) -> str:
    """The whole generated hidden-test region, markers included, for a test cell."""
    return "\n".join([PREFIX + BEGIN_HIDDEN, hidden_body(assignment, grade_id),
                      PREFIX + END_HIDDEN])


def generated_for(hidden: str) -> tuple[str, str] | None:
    """(assignment, grade_id) when ``hidden`` is exactly a generated block's body, else None."""
    m = _CALL.search(hidden)
    if m is None or hidden.strip() != hidden_body(m["a"], m["g"]):
        return None
    return m["a"], m["g"]


class HiddenCheckFailed(AssertionError):
    """Some hidden checks of a cell failed (the message lists them by their hints)."""


@cache
def _assignment(assignment: str):
    """(spec, reference answers) of an assignment, once per kernel; the answers come from the
    course's reference cache (the solution's run, computed once on first use)."""
    from . import ROOT
    from .grade import make_limits, source_notebook
    from .reference import reference_answers
    from .spec import load_spec

    spec = load_spec(assignment)
    if spec is None:
        raise FileNotFoundError(f"solutions/{assignment}/judge.py not found: the hidden "
                                "checks of this notebook are the probes of that file")
    references = reference_answers(assignment, source_notebook(assignment), spec,
                                   make_limits(spec), ROOT)
    return spec, references


def warm_references(assignment: str) -> int:
    """Compute (or find) the solution's answers for ``assignment`` in the checkout's cache,
    so that ``nbgrader autograde`` does not run the solution inside its first hidden-test
    cell (under nbgrader's cell timeout). Returns the number of probes."""
    spec, references = _assignment(assignment)
    return len(references)


def run_cell(assignment: str, grade_id: str,
             namespace: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """(hint, ok, message) for each probe of ``grade_id``, evaluated in ``namespace``."""
    from .judge import compare_probe
    from .runner import evaluate_probe

    spec, references = _assignment(assignment)
    out = []
    for k, probe in enumerate(spec.probes):
        if probe.cell != grade_id:
            continue
        names = dict(namespace)
        names.update({name: value.copy() if hasattr(value, "copy") else value
                      for name, value in probe.inputs.items()})
        enc, arrays = evaluate_probe(probe.expr, names, f"r{k}")
        ok, msg = compare_probe(probe, enc, arrays, references[k])
        out.append((probe.hint or f"hidden check {k}", ok, msg))
    if not out:
        raise KeyError(f"{assignment}: no probe in judge.py decides {grade_id!r}")
    rules = [r for r in spec.rules if r.cell == grade_id]
    if rules:  # the kernel's input history is the code the notebook ran
        from .rules import broken_rules

        history = namespace.get("In")
        sources = [s for s in history if isinstance(s, str)] if isinstance(history, list) else []
        for rule, found in broken_rules(rules, sources).items():
            out.append((rule.hint, False, found))
    return out


def check_cell(assignment: str, grade_id: str, namespace: dict[str, Any]) -> None:
    """The generated hidden tests of one test cell: raise when any of its probes fails."""
    failed = [f"{hint}: {msg}" for hint, ok, msg in run_cell(assignment, grade_id, namespace)
              if not ok]
    if failed:
        raise HiddenCheckFailed(f"{len(failed)} hidden check(s) of {grade_id} failed:\n  "
                                + "\n  ".join(failed))
