"""Grading speed levers: a sandbox imports only what the notebook needs, the grader's own
CPU per submission is measured (issue 15)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from autograder import SOLUTIONS
from autograder.spec import load_spec

ASSIGNMENTS = sorted(p.name for p in SOLUTIONS.iterdir() if (p / "judge.py").exists())
PENDING = {  # judge.py owned by the helper migrating it; its WARM still lists scikit-learn
    a: "WARM still lists scikit-learn (the digits come from infoloss/digits_split.npz now); "
       "fix when the assignment's migration lands"
    for a in ("ps02_divergence", "ps03_ce_vs_mse", "ps06_lenet")}


def imported_by(source: str) -> list[str]:
    """Every module an import statement of ``source`` names (nested imports included)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def test_imported_by_finds_nested_and_from_imports():
    src = "import numpy as np\nfrom infoloss.data import x\ndef f():\n    import scipy.special\n"
    assert imported_by(src) == ["numpy", "infoloss.data", "scipy.special"]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", [
    pytest.param(a, marks=pytest.mark.xfail(reason=PENDING[a], strict=True)) if a in PENDING
    else a for a in ASSIGNMENTS])
def test_warm_imports_nothing_the_solution_does_not(assignment):
    """Every module a sandbox imports before the notebook (WARM) is one the solution's own
    imports load anyway: a warm import the notebook never needs costs CPU per submission
    (scikit-learn was about a CPU-second in every digits sandbox)."""
    spec = load_spec(assignment)
    source = (SOLUTIONS / assignment / f"{assignment}.py").read_text()
    code = ("import importlib, json, sys\n"
            f"for name in {imported_by(source)!r}:\n"
            "    importlib.import_module(name)\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
    loaded = set(json.loads(out.stdout))
    extra = [name for name in spec.warm if name not in loaded]
    assert not extra, (f"{assignment}: WARM imports {extra}, which the solution never "
                       "imports; drop them from its judge.py")
