"""Grading speed levers: a sandbox imports only what the notebook needs, the grader's own
CPU per submission is measured (issue 15)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import ROOT, SOLUTIONS
from autograder.grade import grader_cpu_line
from autograder.record import results
from autograder.spec import load_spec

ASSIGNMENTS = sorted(p.name for p in SOLUTIONS.iterdir() if (p / "judge.py").exists())


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
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
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


def test_grader_cpu_line_averages_over_judged_submissions():
    line = grader_cpu_line([0.1, 0.3], 1.0)
    assert "0.200 s in prepare" in line and "0.500 s in this process" in line
    assert "0.000 s" in grader_cpu_line([], 0.0)   # nothing judged: no division by zero


# Submission A leaves everything behind that one student could leave for the next; B, graded
# next by the same worker, reports what it finds of A in the name of the exception it
# raises (the payload keeps an added cell's exception name). C does both in one
# notebook: the detector sees every kind of leftover when there is one.
LEAVE = r'''
import builtins, os, subprocess, threading, time
import numpy
subprocess.Popen(["sleep", "61"])
threading.Thread(target=time.sleep, args=(61,), name="leak_a", daemon=True).start()
for folder in (os.path.expanduser("~"), "/tmp"):
    with open(os.path.join(folder, "leak_a"), "w") as f:
        f.write("a")
_leak_fd = open("/tmp/leak_a")
numpy.leak_a = builtins.leak_a = 1
os.environ["LEAK_A"] = "1"
'''
SEE = r'''
import builtins, os, threading
import numpy
_found = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if f.read().split(b"\0")[:2] == [b"sleep", b"61"]:
                _found.append("process")
    except OSError:
        pass
_found += ["thread"] * any(t.name == "leak_a" for t in threading.enumerate())
_found += ["home file"] * os.path.exists(os.path.expanduser("~/leak_a"))
_found += ["tmp file"] * os.path.exists("/tmp/leak_a")
_found += ["patched module"] * hasattr(numpy, "leak_a")
_found += ["changed global"] * hasattr(builtins, "leak_a")
for fd in os.listdir("/proc/self/fd"):
    try:
        _found += ["open fd"] * ("leak_a" in os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        pass
_found += ["env var"] * ("LEAK_A" in os.environ)
_name = "Found_" + "__".join(k.replace(" ", "_") for k in sorted(set(_found)))
raise type(_name, (Exception,), {})()
'''
KINDS = ["changed global", "env var", "home file", "open fd", "patched module", "process",
         "thread", "tmp file"]


@pytest.mark.slow
@pytest.mark.usefixtures("bwrap")
def test_nothing_of_one_submission_reaches_the_next(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    import corpus as C

    subs = tmp_path / "subs"
    for student, cells in (("a_leaves", [LEAVE]), ("b_looks", [SEE]), ("c_both", [LEAVE, SEE])):
        (subs / student).mkdir(parents=True)
        nb = C.build(extra_after={"self_information": cells})
        (subs / student / f"{C.A}.ipynb").write_bytes(C._bytes(nb))
    course = tmp_path / "course"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", C.A, str(subs),
                           "--course", str(course), "--workers", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["student"]: r for r in results(f"sqlite:///{course / 'gradebook.db'}", C.A)}

    def leftovers(student: str) -> list[str]:
        errors = [e["error"] for e in rows[student]["payload"]["chunk_errors"]
                  if e["error"].startswith("Found_")]
        assert len(errors) == 1, (student, rows[student]["payload"]["chunk_errors"])
        return [k.replace("_", " ") for k in errors[0].removeprefix("Found_").split("__") if k]

    assert leftovers("c_both") == KINDS        # the detector sees each kind
    assert leftovers("b_looks") == []          # ... and none of a_leaves's in the next run
    assert rows["b_looks"]["score"] == C.FULL, rows["b_looks"]["payload"]["reasons"]
    cpu = [rows[s]["payload"]["grader_cpu"] for s in rows]
    assert all(0 < c < 5 for c in cpu), cpu    # measured per submission (issue 15: <= 0.3)
    assert "grader CPU per judged submission" in proc.stdout
