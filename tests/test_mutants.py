"""Mutation analysis (``python -m autograder mutants``): the mutator, the equivalent-mutant
file, the selection, the classification, the reports, and ps01's hidden checks killing every
non-equivalent mutant."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from autograder import ROOT
from autograder.mutants import (
    Analysis,
    EquivalentFileError,
    classify,
    html_report,
    parse_equivalent,
    text_report,
)
from autograder.mutate import OPERATORS, mutants_of, select, solution_lines


def _wrap(body: str) -> str:
    """A function whose body (4-space indented lines) is an nbgrader solution region."""
    inner = "\n".join("    " + line for line in body.split("\n"))
    return (f"def f(x, y, p, rows, mask, loader, opt):\n    \"\"\"doc 1 - 2.\"\"\"\n"
            f"    ### BEGIN SOLUTION\n{inner}\n    ### END SOLUTION\n")


# operator -> (solution body, a line that one of its mutants must contain)
EXPECTED = {
    "arith": ("return x + y", "return x - y"),
    "compare": ("return x < y", "return x <= y"),
    "logic": ("return x and y", "return x or y"),
    "constant": ("return x + 3", "return x + 4"),
    "tolerance": ("return abs(x - 1) > 1e-6", "return abs(x - 1) > 0.0001"),
    "axis": ("return np.sum(x, axis=-1)", "return np.sum(x, axis=0)"),
    "keepdims": ("return x.sum(axis=1, keepdims=True)", "return x.sum(axis=1)"),
    "sign": ("return -np.log(p)", "return np.log(p)"),
    "maxmin": ("return np.maximum(x, y)", "return np.minimum(x, y)"),
    "stabilisation": ("z = rows - rows.max(axis=1, keepdims=True)\nreturn np.exp(z)",
                      "z = rows\n"),
    "log1p": ("return np.log1p(-p)", "return np.log(1 + -p)"),
    "where": ("return np.where(p > 0, np.log(p), 0.0)", "return np.log(p)"),
    "mask": ("return x[mask > 0]", "return x\n"),
    "validation": ("if p < 0:\n    raise ValueError('negative')\nreturn p", "    pass\n"),
    "mean-sum": ("return np.mean(x)", "return np.sum(x)"),
    "loop-order": ("for batch in loader:\n    opt.zero_grad()\n    loss = batch.loss()\n"
                   "    loss.backward()\n    opt.step()",
                   "        opt.step()\n        loss.backward()"),
}


def test_every_operator_has_an_expected_change():
    assert set(EXPECTED) == set(OPERATORS)


@pytest.mark.parametrize("operator", sorted(EXPECTED))
def test_each_operator_makes_its_change(operator):
    body, want = EXPECTED[operator]
    source = _wrap(body)
    made = [m for m in mutants_of(source, "f") if m.operator == operator]
    assert made, f"{operator} made no mutant of {body!r}"
    assert any(want in m.source for m in made), [m.source for m in made]
    for m in made:
        ast.parse(m.source)                          # syntax-valid
        assert m.source != source
        assert "### BEGIN SOLUTION" in m.source and "### END SOLUTION" in m.source
        assert m.diff.startswith("--- f (solution)") and f"+++ f (mutant {m.id})" in m.diff


def test_precedence_is_kept_with_parentheses():
    # stripping the max subtraction from (a - max) * b must not give a - max * b or a * b
    source = _wrap("return (rows - rows.max()) * 2")
    stab = [m for m in mutants_of(source, "f") if m.operator == "stabilisation"]
    assert [ast.dump(ast.parse(m.source).body[0].body[1]) for m in stab] == [
        ast.dump(ast.parse("def g():\n    return rows * 2").body[0].body[0])]


def test_only_the_solution_region_is_mutated():
    source = ("X = 1 + 2\n\ndef f(p):\n    y = p - 1\n    ### BEGIN SOLUTION\n"
              "    return p * 2\n    ### END SOLUTION\n")
    assert solution_lines(source) == {6}
    made = mutants_of(source, "c")
    assert made and all(m.line == 6 for m in made)
    assert all(m.source.startswith("X = 1 + 2\n\ndef f(p):\n    y = p - 1\n") for m in made)


def test_error_messages_and_docstrings_are_left_alone():
    source = _wrap("if x:\n    raise ValueError(f'bad {x + 1} < 2')\nreturn x")
    made = mutants_of(source, "f")
    assert {m.operator for m in made} == {"validation"}
    assert all("doc 1 - 2." in m.source for m in made)


def test_ids_are_stable_and_unique():
    source = _wrap("a = x + y * 2\nb = np.mean(a, axis=0) > 1e-6\nreturn np.where(b, a, -a)")
    first = mutants_of(source, "f")
    assert [m.id for m in first] == [m.id for m in mutants_of(source, "f")]
    assert len({m.id for m in first}) == len(first)
    # code outside the answer region (a comment, an import) does not renumber anything
    moved = mutants_of("import numpy as np\n# notes\n" + source, "f")
    assert [m.id for m in moved] == [m.id for m in first]
    assert [m.operator for m in first].count("arith") == 2
    assert {m.id for m in first if m.operator == "arith"} == {"f.arith.0", "f.arith.1"}


def test_selection_is_deterministic_bounded_and_covers_each_operator():
    body = ("a = x + y - 3 * 4\nb = np.mean(a, axis=0)\nc = np.maximum(b, 0.5)\n"
            "if c < 0:\n    raise ValueError('no')\nreturn np.where(c > 1, c, -c)")
    source = _wrap(body)
    made = mutants_of(source, "f") + mutants_of(source.replace("def f", "def g"), "g")
    ops = {m.operator for m in made if m.cell == "f"}
    assert len(made) > 2 * len(ops)
    chosen = select(made, len(ops))
    assert chosen == select(list(made), len(ops))
    for cell in ("f", "g"):
        mine = [m for m in chosen if m.cell == cell]
        assert len(mine) == len(ops) and {m.operator for m in mine} == ops
    assert select(made, None) == made
    assert len(select(made, 1000)) == len(made)


def test_equivalent_file_parsing():
    text = ("# mutants that behave like the solution\n\n"
            "entropy.constant.8: where p = 0 the factor p is 0, so the stand-in value is moot\n"
            "  mutual_information.where.1 : the mask gives the same numbers: 1.0 where false\n")
    assert parse_equivalent(text) == {
        "entropy.constant.8": "where p = 0 the factor p is 0, so the stand-in value is moot",
        "mutual_information.where.1": "the mask gives the same numbers: 1.0 where false"}
    for bad, says in (("entropy.constant.8 behaves the same", "line 1: expected"),
                      ("entropy.constant: no index", "line 1: expected"),
                      ("entropy.constant.8:", "no reason"),
                      ("a.arith.1: x\na.arith.1: y", "line 2: a.arith.1 is listed twice")):
        with pytest.raises(EquivalentFileError, match=says):
            parse_equivalent(bad)


def _verdict(status: str, **scores):
    cells = {g: SimpleNamespace(score=s, max_score=4.0) for g, s in scores.items()}
    return SimpleNamespace(status=status, cells=cells, reasons=["why"])


def test_classification_from_the_verdict():
    m = mutants_of(_wrap("return x + y"), "f")[0]
    marks = {m.id: "same numbers"}
    killed = classify(m, _verdict("ok", test_f=0.0, test_g=4.0, manual=None), {})
    assert (killed.kind, killed.lost, killed.crashed) == ("killed", ["test_f"], False)
    crash = classify(m, _verdict("timeout", test_f=4.0), {})
    assert (crash.kind, crash.crashed) == ("killed", True)
    assert classify(m, _verdict("ok", test_f=4.0, manual=None), {}).kind == "survived"
    assert classify(m, _verdict("ok", test_f=4.0), marks).kind == "equivalent"
    wrong = classify(m, _verdict("ok", test_f=1.0), marks)
    assert (wrong.kind, wrong.marked_equivalent) == ("killed", True)
    assert classify(m, None, {}).kind == "error"
    assert classify(m, _verdict("malformed", test_f=0.0), {}).kind == "error"
    accused = classify(m, _verdict("tamper_suspected", test_f=0.0), {})
    assert accused.kind == "error" and "visible=True" in accused.reason   # not "killed"
    a = Analysis("ps", [m], [wrong], 1.0, 12, [])
    assert a.score == 1.0 and not a.passed      # a wrong equivalence mark fails the run
    a = Analysis("ps", [m], [classify(m, _verdict("ok", test_f=4.0), {})], 1.0, 12, [])
    assert a.score == 0.0 and not a.passed
    assert "SURVIVED" in text_report(a) and m.diff.split("\n")[3] in text_report(a)


def test_html_report_escapes_the_code():
    m = mutants_of(_wrap("return x < y"), "f")[0]
    a = Analysis("ps<01>", [m], [classify(m, _verdict("ok", test_f=4.0), {})], 1.0, None, [])
    page = html_report(a)
    assert "x &lt;= y" in page and "x <= y" not in page
    assert "ps&lt;01&gt;" in page and "<ps<01>" not in page


@pytest.mark.slow
@pytest.mark.usefixtures("bwrap")
@pytest.mark.timeout(1200)
def test_ps01_kills_every_non_equivalent_mutant(tmp_path):
    """The CI threshold: ps01's hidden checks kill every mutant that is not marked equivalent."""
    proc = subprocess.run([sys.executable, "-m", "autograder", "mutants", "ps01_information",
                           "--out", str(tmp_path), "--workers", "2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=1100)
    assert (tmp_path / "mutants.html").exists(), proc.stdout + proc.stderr
    result = json.loads((tmp_path / "mutants.json").read_text())
    assert result["baseline_problem"] == "", result["baseline_problem"]
    survivors = [o["id"] for o in result["outcomes"] if o["kind"] == "survived"]
    errors = [o for o in result["outcomes"] if o["kind"] == "error"]
    assert (survivors, errors) == ([], []), proc.stdout
    assert result["score"] == 1.0 and result["passed"], proc.stdout
    assert {o["id"].split(".")[1] for o in result["outcomes"]} >= {
        "arith", "compare", "constant", "validation", "where", "log1p", "keepdims"}
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_unknown_mutant_ids_are_refused_before_grading():
    from autograder.mutants import analyse

    with pytest.raises(ValueError, match="no mutant entropy.arith.99"):
        analyse("ps01_information", only=["entropy.arith.99"])
