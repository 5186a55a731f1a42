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
@pytest.mark.parametrize("forked", [True, False], ids=["fork-server", "cold"])
def test_nothing_of_one_submission_reaches_the_next(tmp_path, forked):
    sys.path.insert(0, str(Path(__file__).parent))
    import corpus as C

    subs = tmp_path / "subs"
    for student, cells in (("a_leaves", [LEAVE]), ("b_looks", [SEE]), ("c_both", [LEAVE, SEE])):
        (subs / student).mkdir(parents=True)
        nb = C.build(extra_after={"self_information": cells})
        (subs / student / f"{C.A}.ipynb").write_bytes(C._bytes(nb))
    course = tmp_path / "course"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", C.A, str(subs),
                           "--course", str(course), "--workers", "1",
                           *([] if forked else ["--no-fork-server"])], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    banner = "fork server: on" if forked else "fork server: off (turned off)"
    assert banner in proc.stderr, proc.stderr
    assert "a cold sandbox instead" not in proc.stderr and "did not start" not in proc.stderr
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


def _bound_module():
    """benchmarks/grading/bound.py (not a package: loaded from its file)."""
    import importlib.util

    path = ROOT / "benchmarks" / "grading" / "bound.py"
    spec = importlib.util.spec_from_file_location("bench_bound", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_bound"] = module   # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_ratio_bound_is_set_by_the_loop_or_by_half_the_class_cpu():
    """The best ratio on two cores: stock's wall over the larger of the looping notebook's
    own path (cell timeout + a solution's cells [+ probes]) and half the class's CPU (the
    crash counted as a solution, the loop as a solution plus the timeout, the reference
    run's setup/answer cells and probes added)."""
    B = _bound_module()
    sol = B.Split(imports=1.0, cells=2.0, probes=0.5, reference=1.5, reference_cells=1.2,
                  sandboxed=3.6)
    rel = B.Split(imports=1.0, cells=0.1, probes=0.2, reference=0.0, reference_cells=0.0,
                  sandboxed=1.3)
    splits = {"solution": sol, "release": rel, "half": rel}
    counts = {"solution": 8, "release": 5, "half": 5, "crash": 1, "loop": 1}
    b = B.bound(splits, counts, loop_timeout=30.0, stock_wall=120.0, stock_cpu=90.0)
    cells = 10 * 2.0 + 10 * 0.1 + 1.2 + 30.0          # 10 solution-like, the loop's 30 s
    probes = 10 * 0.5 + 10 * 0.2 + (1.5 - 1.2)
    assert b.class_cells == pytest.approx(cells) and b.class_probes == pytest.approx(probes)
    assert b.floor_probes == pytest.approx(32.5) and b.floor_free == pytest.approx(32.0)
    # here the loop's path (32.5 s) is longer than half the class's CPU (29.75 s)
    assert b.with_probes == pytest.approx(120.0 / 32.5)
    assert b.idle_free_probes == pytest.approx(90.0 / 32.0)
    # without the loop (its notebook and its 30 s out of stock's CPU), imports paid: 9
    # solutions, the crash, 10 others and the reference run at their sandboxed CPU
    assert b.no_loop_paid == pytest.approx(60.0 / ((10 * 3.6 + 10 * 1.3 - 3.6 + 3.6) / 2))
    # without the loop the class's CPU sets it, and the imports are never counted
    no_loop = B.bound(splits, {"solution": 10, "release": 10}, 30.0, 120.0, 90.0)
    assert no_loop.with_probes == pytest.approx(120.0 / ((10 * 2.5 + 10 * 0.3 + 1.5) / 2))
    assert no_loop.free_probes > no_loop.with_probes


def test_reachable_says_what_the_target_would_need():
    B = _bound_module()
    assert B.reachable(4.2, 5.0, 6.0, 4.0) == "met"
    assert B.reachable(2.0, 3.0, 3.5, 4.0).startswith("no")
    assert B.reachable(2.0, 3.0, 4.5, 4.0).startswith("only if the probes")
    assert B.reachable(2.0, 4.5, 5.0, 4.0).startswith("at best: only with free imports")


def test_latest_runs_takes_each_problem_sets_last_row_and_its_details():
    B = _bound_module()
    text = "\n".join([
        "## 2026-12-01 13:58 UTC",
        "| ps04_stability | 20 | 123.5 (ref 3.0) | 54.5 | **2.27x** | 0.02 / 0.07 | 153 |",
        "| ps01_information | 20 | 116.4 (ref 3.3) | 42.8 | **2.72x** | 0.02 / 0.05 | 27 |",
        "- ps04_stability: CPU-s per submission: stock 4.95 (kernel and nbgrader), ours",
        "- ps01_information: CPU-s per submission: stock 3.46 (kernel and nbgrader), ours",
        "## 2026-12-01 15:35 UTC",   # stopped before its details lines
        "| ps04_stability | 20 | 200.0 (ref 5.0) | 80.0 | **2.50x** | 0.02 / 0.07 | 153 |"])
    runs = B.latest_runs(text)
    assert runs["ps04_stability"] == B.Measured(20, 200.0, 5.0, 80.0, 2.5, 4.95,
                                                "2026-12-01 15:35", cpu_from_earlier=True)
    assert runs["ps01_information"] == B.Measured(20, 116.4, 3.3, 42.8, 2.72, 3.46,
                                                  "2026-12-01 13:58")


@pytest.mark.slow
def test_cpu_split_of_a_submission_adds_up_to_its_run(tmp_path):
    """bound.split runs the runner's own code twice on a prepared ps01 submission: the
    parts are all measured (nonzero) and together close to the run as a sandbox makes it
    (imports where the notebook makes them)."""
    B = _bound_module()
    sys.path.insert(0, str(ROOT / "benchmarks" / "grading"))
    import bench

    subs = bench.submissions("ps01_information", 1)
    (_, data), = subs.values()
    s = B.split("ps01_information", data, tmp_path)
    assert s.imports > 0 and s.cells > 0 and s.probes > 0 and s.reference_cells > 0
    assert s.reference_cells <= s.cells and s.reference <= s.cells + s.probes
    assert 0.5 * s.sandboxed < s.imports + s.cells + s.probes < 1.5 * s.sandboxed


def test_a_stopped_benchmark_still_writes_the_details_of_its_rows(tmp_path, monkeypatch):
    """bench.py writes its details lines after the table; a run stopped after some rows
    (SIGTERM, which the run turns into SystemExit) keeps them (the 15:35 run lost ps03's)."""
    sys.path.insert(0, str(ROOT / "benchmarks" / "grading"))
    import bench

    calls = []

    def one(assignment, n, workers):
        calls.append(assignment)
        if len(calls) > 1:
            raise SystemExit(143)     # what the SIGTERM handler raises
        return f"| {assignment} | row |", f"- {assignment}: details\n"

    monkeypatch.setattr(bench, "one", one)
    monkeypatch.setattr(bench, "HERE", tmp_path)
    monkeypatch.setattr(bench.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(sys, "argv", ["bench.py", "--assignments", "ps03_x,ps02_y"])
    with pytest.raises(SystemExit):
        bench.main()
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| ps03_x | row |" in text and "- ps03_x: details" in text


STOP_ZYGOTE = r'''
import os, signal
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"autograder.zygote" in f.read():
                os.kill(int(pid), signal.SIG)
    except OSError:
        pass
'''


@pytest.mark.slow
@pytest.mark.usefixtures("bwrap")
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGSTOP"])
def test_a_submission_that_stops_or_kills_the_zygote_costs_the_next_one_nothing(tmp_path, sig):
    """The zygote's pid is visible to a submission (same user, same PID namespace): killing
    it makes the worker start a new one; stopping it makes the next fork time out, and that
    submission is graded in a cold sandbox. Either way the next student scores in full."""
    sys.path.insert(0, str(Path(__file__).parent))
    import corpus as C

    subs = tmp_path / "subs"
    for student, cells in (("a_stops", [STOP_ZYGOTE.replace("SIG)", f"{sig})")]),
                           ("b_next", [])):
        (subs / student).mkdir(parents=True)
        nb = C.build(extra_after={"self_information": cells})
        (subs / student / f"{C.A}.ipynb").write_bytes(C._bytes(nb))
    course = tmp_path / "course"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", C.A, str(subs),
                           "--course", str(course), "--workers", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["student"]: r for r in results(f"sqlite:///{course / 'gradebook.db'}", C.A)}
    assert rows["b_next"]["score"] == C.FULL, rows["b_next"]["payload"]["reasons"]
    assert rows["b_next"]["status"] == "ok", rows["b_next"]["payload"]["reasons"]
    expected = {"SIGKILL": "a zygote died: started again",
                "SIGSTOP": "a cold sandbox instead"}[sig]
    assert expected in proc.stderr, proc.stderr
