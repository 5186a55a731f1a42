"""The student's self-check (``python -m autograder check NOTEBOOK``, autograder/selfcheck.py).

Fast tests cover finding the problem set, malformed files, the kernel name, broken rules and
what is sent to the sandbox (visible tests only, no probe, no input: checked on the job
itself with the hidden-check machinery made to explode if touched). The slow ones run real
notebooks through the sandbox: the solution passes every visible test, the release fails
every task with NotImplementedError, and nothing printed contains a hidden probe
expression, a hidden input or a line of the solution.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import corpus as C  # noqa: E402

from autograder import SOLUTIONS, execute, selfcheck  # noqa: E402
from autograder.markers import BEGIN_SOLUTION, END_SOLUTION  # noqa: E402
from autograder.sandbox import bwrap_path  # noqa: E402
from autograder.spec import Rule, load_spec  # noqa: E402

A = C.A
TASKS = ["test_self_information", "test_entropy", "test_bernoulli_entropy", "test_real_data",
         "test_conditional_entropy", "test_mutual_information"]
WRONG_ENTROPY = "def entropy(p, base=2):\n    return np.float64(0.25)\n"


def _save(folder: Path, nb: nbformat.NotebookNode, name: str = f"{A}.ipynb") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(nbformat.writes(nb))
    return path


def _secrets() -> tuple[list[str], list[str]]:
    """(hidden probe expressions and string inputs, answer lines of the solution), each
    left out where the released notebook shows the same text anyway."""
    public = nbformat.writes(C.released())
    spec = load_spec(A)
    hidden = [p.expr for p in spec.probes if p.expr not in public]
    hidden += [v for p in spec.probes for v in p.inputs.values()
               if isinstance(v, str) and len(v) > 8 and v not in public]
    src = nbformat.read(SOLUTIONS / A / f"{A}.ipynb", as_version=4)
    lines = []
    for cell in src.cells:
        inside = False
        for line in cell.source.splitlines():
            if BEGIN_SOLUTION in line or END_SOLUTION in line:
                inside = BEGIN_SOLUTION in line
            elif inside and len(line.strip()) > 15 and line.strip() not in public:
                lines.append(line.strip())
    assert len(hidden) > 30 and len(lines) > 30   # the check below has something to find
    return hidden, lines


@pytest.mark.parametrize("name", [f"{A}.ipynb", f"{A} (1).ipynb", f"{A}-Copy1.ipynb"])
def test_the_problem_set_is_found_from_the_file_name(name):
    assert selfcheck.find_assignment(Path("/home/me/Downloads") / name) == A


def test_an_unknown_file_name_asks_for_the_assignment():
    with pytest.raises(selfcheck.CheckError, match="--assignment"):
        selfcheck.find_assignment(Path("homework.ipynb"))
    with pytest.raises(selfcheck.CheckError, match="ps01_informationX"):
        selfcheck.find_assignment(Path("ps01_informationX.ipynb"))


def test_malformed_json_is_reported_not_run(tmp_path, capsys):
    path = tmp_path / f"{A}.ipynb"
    path.write_text('{"cells": [')
    result = selfcheck.check(path)
    assert result.malformed.startswith("not valid JSON") and result.sandboxed is None
    from autograder.__main__ import main

    assert main(["check", str(path)]) == 1
    assert "MALFORMED: not valid JSON" in capsys.readouterr().out


def test_unknown_notebook_name_exits_2_with_the_fix(tmp_path, capsys):
    from autograder.__main__ import main

    assert main(["check", str(_save(tmp_path, C.build(), "mine.ipynb"))]) == 2
    assert "--assignment" in capsys.readouterr().err


def test_a_foreign_kernel_name_is_flagged(tmp_path):
    nb = C.build()
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    flags = selfcheck.check(_save(tmp_path, nb), run=False).flags
    assert any("kernel is 'ir'" in f and "python3" in f for f in flags), flags
    assert not selfcheck.check(_save(tmp_path / "ok", C.build()), run=False).flags


def test_scan_findings_and_broken_rules_are_reported(tmp_path, monkeypatch):
    rule = Rule("test_entropy", ("entropy",), ("scipy",), "Do not call SciPy")
    monkeypatch.setattr(selfcheck, "_public_spec", lambda a: ((rule,), ("numpy",), {}))
    nb = C.build({"entropy": "import scipy.stats\n\ndef entropy(p, base=2):\n"
                             "    return scipy.stats.entropy(p, base=base)\n"},
                 extra_after={"imports": ["import os\nos._exit(0)"]})
    flags = selfcheck.check(_save(tmp_path, nb), run=False).flags
    assert "rule broken (test_entropy scores 0): Do not call SciPy: entropy uses " \
           "scipy.stats.entropy" in flags
    assert any("static scan" in f and "os._exit" in f for f in flags), flags


def test_only_visible_tests_reach_the_sandbox(tmp_path, monkeypatch):
    def explode(*a, **k):
        raise AssertionError("the self-check touched the hidden checks")

    import autograder.checks
    import autograder.reference
    import autograder.spec

    monkeypatch.setattr(autograder.spec, "load_spec", explode)
    monkeypatch.setattr(autograder.spec, "encode_inputs", explode)
    monkeypatch.setattr(autograder.reference, "reference_answers", explode)
    monkeypatch.setattr(autograder.checks, "run_cell", explode)
    sent = {}

    def fake_run(job, inputs, limits, pool, definition_chunks):
        sent.update(job=job, inputs=inputs)
        return execute.RawResult(chunks={c["i"]: execute.ChunkRun(ok=True)
                                         for c in job["chunks"]}, sandboxed=True)

    monkeypatch.setattr(execute, "run", fake_run)
    result = selfcheck.check(_save(tmp_path, C.build()))
    job = sent["job"]
    assert job["probes"] == []
    assert {c["role"] for c in job["chunks"]} <= {"setup", "solution", "test_visible", "extra"}
    text = "\n".join(c["source"] for c in job["chunks"])
    assert "HIDDEN" not in text and "check_cell" not in text
    assert not [expr for expr in _secrets()[0] if expr in text]
    with np.load(io.BytesIO(sent["inputs"])) as inputs:
        assert inputs.files == []
    assert [c.state for c in result.cells if c.kind == "test"] == ["passed"] * len(TASKS)


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """Three real runs: the solution, the release and a wrong entropy."""
    tmp = tmp_path_factory.mktemp("selfcheck")
    runs = {}
    for name, nb in {"solution": C.build(), "release": C.released(),
                     "wrong": C.build({"entropy": WRONG_ENTROPY})}.items():
        result = selfcheck.check(_save(tmp / name, nb))
        runs[name] = (result, selfcheck.render(result))
    return runs


@pytest.mark.slow
def test_the_solution_passes_every_visible_test(checked):
    result, text = checked["solution"]
    assert result.sandboxed is (bwrap_path() is not None)
    assert [(c.grade_id, c.state) for c in result.cells if c.kind == "test"] == \
        [(t, "passed") for t in TASKS]
    assert "answer_ink: graded by hand (2 points)" in text
    assert not result.flags and not result.failed, text


@pytest.mark.slow
def test_the_release_fails_every_task_with_not_implemented(checked):
    result, text = checked["release"]
    assert [(c.grade_id, c.state, c.message) for c in result.cells if c.kind == "test"] == \
        [(t, "failed", "NotImplementedError") for t in TASKS]
    assert [c.grade_id for c in result.cells if c.kind == "manual"] == ["answer_ink"]
    assert "cell show_real_data raised an error: NotImplementedError" in result.flags
    assert result.failed
    if bwrap_path() is None:
        assert "WITHOUT the sandbox" in text
    else:
        assert "ran in the sandbox" in text


@pytest.mark.slow
def test_a_failing_visible_test_shows_its_assertion_message(checked):
    result, _ = checked["wrong"]
    cell = next(c for c in result.cells if c.grade_id == "test_entropy")
    assert cell.state == "failed"
    assert cell.message.startswith("AssertionError: H(fair coin)"), cell.message
    assert "\x1b" not in cell.message


@pytest.mark.slow
def test_the_output_reveals_no_hidden_check_and_no_solution_line(checked):
    hidden, solution_lines = _secrets()
    for name, (_, text) in checked.items():
        for secret in hidden + solution_lines:
            assert secret not in text, (name, secret)
