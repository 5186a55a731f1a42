"""The instructor's autograder on a corpus of bad and hostile ps01 submissions.

The corpus is graded once by ``python -m autograder grade`` (sandbox and judge on, two
workers); each submission must get the score its honest content deserves and the right
status, the gradebook must stay intact, and nothing hidden may reach the feedback.
"""

from __future__ import annotations

import csv
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import EXERCISES, ROOT, SOLUTIONS
from autograder.markers import drop_solution_markers, split_hidden
from autograder.record import integrity_problems, results, scores
from autograder.scan import scan_source
from autograder.spec import Accuracy, Close, Raised, Raises, decode_result

sys.path.insert(0, str(Path(__file__).parent))
import corpus as C  # noqa: E402

A = C.A
# 1 GiB: under a cgroup, big_alloc has to touch the memory it is stopped at (about 1 s per
# GiB on the course VM), well within the 4 s cell timeout; every other entry needs < 400 MiB
LIMITS = ["--cell-timeout", "4", "--probe-timeout", "4", "--timeout", "40", "--workers", "2",
          "--memory", str(2**30)]
needs_bwrap = pytest.mark.usefixtures("bwrap")  # skip, or fail with INFOLOSS_REQUIRE_SANDBOX


def cli(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    course = tmp / "course"
    db_file = course / "gradebook.db"
    marker = tmp / "escaped.txt"
    entries = C.corpus(str(db_file), str(marker))
    subs = tmp / "submissions"
    C.write(subs, entries)
    start = time.monotonic()
    proc = cli("grade", A, str(subs), "--course", str(course), *LIMITS)
    seconds = time.monotonic() - start
    # The detached process strikes only once this hash is taken (it waits for the go file),
    # so a process that escaped the sandbox changes the gradebook after the hash, not before.
    db_hash = hashlib.sha256(db_file.read_bytes()).hexdigest()
    Path(f"{marker}.go").write_text("go")
    time.sleep(4)  # give a detached process time to strike
    return {"tmp": tmp, "course": course, "db": f"sqlite:///{db_file}", "db_file": db_file,
            "entries": entries, "proc": proc, "marker": marker, "seconds": seconds,
            "db_hash": db_hash, "subs": subs}


@pytest.mark.slow
@needs_bwrap
def test_every_submission_gets_its_score_and_status(graded):
    rows = {r["student"]: r for r in results(graded["db"], A)}
    assert set(rows) == set(graded["entries"]), graded["proc"].stdout
    wrong = {}
    for student, (_, score, status) in graded["entries"].items():
        got = (rows[student]["score"], rows[student]["status"])
        if got != (score, status):
            wrong[student] = (got, (score, status), rows[student]["payload"]["reasons"])
    assert not wrong, "\n".join(f"{k}: got {v[0]} expected {v[1]}; {v[2]}"
                                for k, v in wrong.items())
    print(f"corpus of {len(rows)} graded in {graded['seconds']:.1f} s")


@pytest.mark.slow
@needs_bwrap
def test_gradebook_is_intact_and_untouched_after_grading(graded):
    assert hashlib.sha256(graded["db_file"].read_bytes()).hexdigest() == graded["db_hash"]
    assert not graded["marker"].exists(), "a detached process escaped the sandbox"
    assert integrity_problems(graded["db"]) == []
    cli("check-db", "--course", str(graded["course"]))
    per_cell = scores(graded["db"], A)
    assert per_cell["correct"] == {"test_self_information": 5, "test_entropy": 6,
                                   "test_bernoulli_entropy": 4, "test_real_data": 3,
                                   "test_conditional_entropy": 4,
                                   "test_mutual_information": 4, "answer_ink": None}
    assert per_cell["unstable"]["test_bernoulli_entropy"] == 0


@pytest.mark.slow
@needs_bwrap
def test_partial_credit_and_logged_reasons(graded):
    rows = {r["student"]: r for r in results(graded["db"], A)}
    loop = rows["infinite_loop"]["payload"]
    assert loop["cells"]["test_self_information"]["score"] == 5
    assert loop["cells"]["test_entropy"]["score"] == 0
    assert any("timeout" in r for r in loop["reasons"])
    big = rows["big_alloc"]["payload"]
    if big.get("limits_hit") is not None:   # the cgroup's memory limit stopped the sandbox
        assert big["limits_hit"] == ["memory"] and big["memory_peak"] <= 2**30 + 2**20
    else:                                   # the rlimit fallback refused the allocation
        assert any(e["error"] == "MemoryError" for e in big["chunk_errors"])
    assert any("disagree" in r for r in rows["input_transformer"]["payload"]["reasons"])
    assert any("os._exit" in r for r in rows["os_exit"]["payload"]["reasons"])
    assert any("skip-execution" in r for r in rows["skip_execution"]["payload"]["reasons"])
    assert any("kernel 'ir'" in r for r in rows["wrong_kernel"]["payload"]["reasons"])
    assert "empty" in rows["empty"]["payload"]["reasons"][0]
    huge = rows["huge_output"]["payload"]
    assert huge["cells"]["test_entropy"]["score"] == 6


def _hidden_lines() -> set[str]:
    """What a student must never see: the hidden blocks and the probes they run."""
    from autograder.spec import load_spec

    nb = nbformat.read(SOLUTIONS / A / f"{A}.ipynb", as_version=4)
    public = "\n".join(c.source for c in nbformat.read(EXERCISES / A / f"{A}.ipynb",
                                                       as_version=4).cells)
    # a probe that repeats a visible test is public; the others are hidden
    lines = {p.expr for p in load_spec(A).probes if len(p.expr) > 12 and p.expr not in public}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            hidden = split_hidden(cell.source)[1]
            lines |= {x.strip() for x in hidden.splitlines() if len(x.strip()) > 12}
    return lines


def _leaked(text: str, hidden: set[str]) -> list[str]:
    return sorted(h for h in hidden if h in text)


def test_feedback_leak_check_finds_every_hidden_line():
    """Each hidden line, planted in a page's visible test, output and notes, is found."""
    from autograder.feedback import render

    hidden = _hidden_lines()
    assert len(hidden) > 30 and any(c in h for h in hidden for c in "\"<>&")
    for h in sorted(hidden):
        row = {"student": "s", "score": 0.0, "max_score": 1.0, "status": "ok",
               "payload": {"cells": {"t": {"score": 0.0, "max_score": 1.0, "probes": []}},
                           "visible": {"t": {"source": h, "output": h, "ok": False,
                                             "error": None}},
                           "reasons": [h], "student_notes": [h]}}
        page = html.unescape(render(A, row))
        assert h in _leaked(page, hidden)


@pytest.mark.slow
@needs_bwrap
def test_feedback_shows_visible_tests_but_nothing_hidden(graded):
    cli("feedback", A, "--course", str(graded["course"]))
    hidden = _hidden_lines()
    assert hidden
    pages = sorted((graded["course"] / "feedback").glob(f"*/{A}/{A}.html"))
    assert len(pages) == len(graded["entries"])
    for page in pages:
        text = html.unescape(page.read_text())   # compare raw lines with raw text
        leaked = _leaked(text, hidden)
        assert not leaked, f"{page}: hidden test lines in feedback: {leaked[:3]}"
        assert "BEGIN HIDDEN" not in text and "12345" not in text and "dirichlet" not in text
    untouched = (graded["course"] / "feedback" / "untouched" / A / f"{A}.html").read_text()
    assert "check_close(self_information(0.5), 1.0" in untouched  # the visible test
    assert "NotImplementedError" in untouched                     # and its output
    assert "an impossible event" in untouched                     # a hidden check's hint
    snoop = (graded["course"] / "feedback" / "read_source" / A / f"{A}.html").read_text()
    assert "check_close(self_information(0.0)" not in snoop


@pytest.mark.slow
@needs_bwrap
def test_export_csv_and_report(graded):
    out = graded["tmp"] / "grades.csv"
    cli("export", "--csv", str(out), "--course", str(graded["course"]))
    with open(out) as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert list(next(iter(rows.values())))[:5] == ["student_id", "assignment", "score",
                                                  "max_score", "status"]
    assert {"test_entropy", "answer_ink"} <= set(next(iter(rows.values())))
    assert rows["os_exit"]["status"] == "crashed" and rows["empty"]["status"] == "malformed"
    assert float(rows["correct"]["score"]) == C.FULL                 # every autograded point
    assert float(rows["correct"]["max_score"]) == C.FULL + 2         # + the hand-graded answer
    assert rows["untouched"]["test_entropy"] == "0" and rows["correct"]["answer_ink"] == ""
    log = out.with_suffix(".log").read_text()
    assert re.search(r"input_transformer\t\S+\ttamper_suspected\t", log)
    cli("report", A, "--course", str(graded["course"]))
    report = graded["course"] / "reports" / A
    assert (report / "report.png").stat().st_size > 5000
    html = (report / "report.html").read_text()
    assert "ast_transformer" in html and "Slowest" in html


@pytest.mark.slow
@needs_bwrap
def test_regrading_is_idempotent_and_keeps_manual_grades(graded, tmp_path):
    from nbgrader.api import Gradebook

    subs = tmp_path / "subs"
    C.write(subs, {k: graded["entries"][k] for k in ("correct", "unstable", "empty")})
    course = tmp_path / "course"
    cli("grade", A, str(subs), "--course", str(course), *LIMITS)
    url = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(url) as gb:
        g = gb.find_grade("answer_ink", A, A, "correct")
        g.manual_score = 1.5
        g.needs_manual_grade = False
        gb.db.commit()
    first = scores(url, A)
    zpath = tmp_path / "subs.zip"   # the same folder, as a zip this time
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in subs.rglob("*.ipynb"):
            zf.write(p, p.relative_to(subs))
    cli("grade", A, str(zpath), "--course", str(course), *LIMITS)
    assert scores(url, A) == first
    assert first["correct"]["answer_ink"] == 1.5
    assert {r["student"]: r["status"] for r in results(url, A)} == {
        "correct": "ok", "unstable": "ok", "empty": "malformed"}


@pytest.mark.slow
def test_fallback_without_sandbox_warns_and_still_grades(tmp_path):
    subs = tmp_path / "submitted"   # nbgrader's layout: submitted/<student>/<A>/<A>.ipynb
    for student in ("correct", "untouched"):
        (subs / student / A).mkdir(parents=True)
    (subs / "correct" / A / f"{A}.ipynb").write_bytes(C._bytes(C.build()))
    (subs / "untouched" / A / f"{A}.ipynb").write_bytes(C._bytes(C.released()))
    proc = cli("grade", A, str(tmp_path), "--course", str(tmp_path / "c"), "--no-sandbox",
               *LIMITS)
    assert "WITHOUT a sandbox" in proc.stderr
    rows = {r["student"]: r for r in results(f"sqlite:///{tmp_path / 'c' / 'gradebook.db'}")}
    assert rows["correct"]["score"] == C.FULL and rows["untouched"]["score"] == 0
    assert any("WITHOUT" in r for r in rows["correct"]["payload"]["reasons"])


@pytest.mark.slow
@needs_bwrap
def test_dask_cluster_on_loopback(tmp_path):
    bindir = Path(sys.executable).parent
    sched_file = tmp_path / "scheduler.json"
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")
    procs = [subprocess.Popen([str(bindir / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file",
                               str(sched_file)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        for _ in range(300):
            if sched_file.exists() and sched_file.stat().st_size:
                break
            time.sleep(0.1)
        import json

        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            procs.append(subprocess.Popen(
                [str(bindir / "dask"), "worker", address, "--nthreads", "1", "--no-dashboard",
                 "--host", "127.0.0.1", "--nworkers", "1"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        entries = C.corpus("/nonexistent.db", "/nonexistent")
        pick = {k: entries[k] for k in ("correct", "unstable", "os_exit", "invalid_json")}
        subs = tmp_path / "subs"
        C.write(subs, pick)
        course = tmp_path / "course"
        cli("grade", A, str(subs), "--course", str(course), "--scheduler", address, *LIMITS)
        rows = {r["student"]: (r["score"], r["status"]) for r in
                results(f"sqlite:///{course / 'gradebook.db'}")}
        assert rows == {k: (v[1], v[2]) for k, v in pick.items()}
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_comparators_check_exact_types_and_values():
    arr = np.array([1.0, np.inf])
    assert Close()(arr.copy(), arr) == (True, "ok")
    assert not Close()(arr.astype(np.float32), arr.astype(np.float32) + 1)[0]
    assert not Close(dtype="float64")(arr.astype(np.float32), arr)[0]
    assert not Close()(np.array([1.0, np.nan]), arr)[0]
    assert not Close()(np.array([[1.0, np.inf]]), arr)[0]
    assert not Close()("1.0", np.asarray(1.0))[0]
    assert Raises(ValueError, "base")(Raised(["ValueError", "Exception"], "bad base"), None)[0]
    assert not Raises(ValueError)(Raised(["TypeError"], ""), None)[0]
    assert not Raises(ValueError)(np.asarray(1.0), None)[0]
    assert Close()(Raised(["ZeroDivisionError"], "x"), arr) == (
        False, "expected a result, but the call raised ZeroDivisionError: 'x'")
    acc = Accuracy(labels=np.array([0, 1, 1, 2]), minimum=0.7)
    assert acc(np.array([0, 1, 1, 0]), None)[0] and not acc(np.array([0, 2, 2, 0]), None)[0]
    assert not acc(np.array([0.0, 1.0, 1.0, 2.0]), None)[0]  # floats are not labels
    # forged or odd encodings decode to something no comparator accepts
    assert not Close()(decode_result({"kind": "py", "type": "float", "value": "1"}, {}), 1.0)[0]
    assert not Close()(decode_result({"kind": "bad", "type": "Anything"}, {}), 1.0)[0]
    assert not Close()(decode_result({"kind": "array", "key": "r0"}, {}), 1.0)[0]


def test_static_scan_flags_known_tricks():
    guarded = {"check_close", "np"}
    assert scan_source(C.TRANSFORMER, guarded)
    assert scan_source(C.AST_ATTACK, guarded)
    assert any("np.allclose" in r for r in scan_source(C.ZEROS, guarded))
    assert any("check_close" in r for r in scan_source(C.ZEROS, guarded))
    assert scan_source("import os\nos._exit(0)", guarded)
    assert scan_source("import subprocess", guarded) and scan_source("import sqlite3", guarded)
    assert scan_source(C.EQ_OBJECT, guarded)
    assert scan_source(C.answers()["entropy"], guarded) == []


def test_judge_spec_is_not_released():
    from autograder import EXERCISES

    assert (SOLUTIONS / A / "judge.py").exists()
    assert not list(EXERCISES.rglob("*.py"))


JUDGED = ["ps02_divergence", "ps03_ce_vs_mse", "ps04_stability", "ps05_temperature", "ps06_lenet",
          "ps07_distillation"]
JUDGED = ["ps01_information", *JUDGED]   # the corpus grades ps01; this checks every cell
JUDGED = [*JUDGED, "ps08_sampling"]


def autograded_cells(assignment: str) -> set[str]:
    """grade_ids of the solution's autograded (code) test cells."""
    nb = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("assignment", JUDGED)
def test_judge_decides_every_autograded_cell(assignment, tmp_path):
    """The solution gets every autograded point and the release none, all from the judge.

    No cell falls back to the notebook's own tests. ps06's task 3 compiles the student's
    C body with the system compiler inside the sandbox, so this also checks that the jail
    lets ``cc`` run and sees ``csrc/``.
    """
    subs = tmp_path / "submissions"
    for student, folder in (("solution", SOLUTIONS), ("released", EXERCISES)):
        (subs / student).mkdir(parents=True)
        shutil.copy(folder / assignment / f"{assignment}.ipynb", subs / student)
    course = tmp_path / "course"
    start = time.monotonic()
    proc = cli("grade", assignment, str(subs), "--course", str(course), "--workers", "2")
    seconds = time.monotonic() - start
    rows = {r["student"]: r for r in results(f"sqlite:///{course / 'gradebook.db'}", assignment)}
    assert set(rows) == {"solution", "released"}, proc.stdout + proc.stderr
    expected_cells = autograded_cells(assignment)
    for student, full in (("solution", True), ("released", False)):
        payload = rows[student]["payload"]
        assert rows[student]["status"] == "ok", payload["reasons"]
        assert not any("no judge probes" in r for r in payload["reasons"]), payload["reasons"]
        auto = {g: c for g, c in payload["cells"].items() if c["score"] is not None}
        assert set(auto) == expected_cells
        assert all(c["judged"] and c["probes"] for c in auto.values())
        want = {g: c["max_score"] if full else 0.0 for g, c in auto.items()}
        assert {g: c["score"] for g, c in auto.items()} == want, (student, payload["cells"])
        assert rows[student]["score"] == sum(want.values())
    print(f"{assignment}: solution and release graded in {seconds:.1f} s")


def _filled(assignment: str, edits: dict[str, tuple[str, str]]) -> bytes:
    """The release with the solution's answers filled in and ``(old, new)`` edits applied."""
    sol = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: drop_solution_markers(c.source)
               for c in sol.cells if c.cell_type == "code"
               and c.metadata.get("nbgrader", {}).get("solution")}
    for key, (old, new) in edits.items():
        gid = key.strip()   # "cell", "cell ": two edits of one cell
        assert answers[gid].count(old) == 1, (gid, old)
        answers[gid] = answers[gid].replace(old, new)
    nb = nbformat.read(EXERCISES / assignment / f"{assignment}.ipynb", as_version=4)
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if c.cell_type == "code" and gid in answers:
            c.source = answers[gid]
    return nbformat.writes(nb).encode()


# Plausible mistakes lose exactly their cells, with status ok (the notebook's tests and the
# judge agree); wrong answers behind a neutered check_close lose theirs and are flagged.
NEUTERED = ("\nimport infoloss.testing as _t\n"     # not a name the static scan knows
            "_t.check_close.__code__ = (lambda *a, **k: None).__code__\n")
MISTAKES = {
    "ps06_lenet": {
        "no_max_shift_and_ce_negative_labels": ({   # exp(1000) overflows; label -1 wraps
            "c_softmax_delta": ("e = np.exp(z - z.max())", "e = np.exp(z)"),
            "ce_delta": ("    z, label = _check_logits(z, label)\n",
                         "    z = np.asarray(z, dtype=np.float64)\n"
                         "    if z.ndim != 1 or z.size == 0 or not np.all(np.isfinite(z)):\n"
                         "        raise ValueError('z must be a finite non-empty 1-D array')\n"
                         "    if label >= z.size:\n"
                         "        raise ValueError(f'label {label} is past the last class')\n")},
            {"test_c_softmax_delta", "test_ce_delta"}, "ok"),
        "c_textbook_sign_and_last_batch_loss": ({   # p - onehot; the epoch's last batch only
            "c_delta_body": ("loss[i] = (i == label) - loss[i] / total;",
                             "loss[i] = loss[i] / total - (i == label);"),
            "lenet5": ("history.append(total / count)", "history.append(loss.item())")},
            {"test_c_delta_body", "test_lenet5"}, "ok"),
        "average_pooling": ({
            "lenet5": ("nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),",
                       "nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),")},
            {"test_lenet5"}, "ok"),
        "one_class_rejected_and_padding_3": ({   # "a classifier needs two classes"; 34x34
            # input: maps of 30, 15, 11, 5 and 1, the same 51,902 parameters, trains as well
            "c_softmax_delta": ("if z.ndim != 1 or z.size == 0:", "if z.ndim != 1 or z.size < 2:"),
            "lenet5": ("nn.Conv2d(1, 6, 5, padding=2)", "nn.Conv2d(1, 6, 5, padding=3)")},
            {"test_c_softmax_delta", "test_ce_delta", "test_lenet5"}, "ok"),
        "no_epoch_check_neutered": ({       # OneCycleLR's own error does not name the epochs
            "lenet5": ("    if epochs < 1:\n        raise ValueError(f\"epochs must be at least 1, "
                       "got {epochs}\")\n", ""),
            "lenet5 ": ("        history.append(total / count)\n    return history",
                        "        history.append(total / count)\n    return history\n"
                        "\nimport infoloss.testing as _t\n"
                        "_t.check_raises.__code__ = (lambda *a, **k: None).__code__\n")},
            {"test_lenet5"}, "tamper_suspected"),
    },
    "ps08_sampling": {
        "temperature_on_probabilities": ({   # softmax(z) / T renormalised: T has no effect
            "sampling_distribution": ("s = rows / T\n", "s = rows\n")},
            {"test_sampling_distribution", "test_sample_with_temperature"}, "ok"),
        "top_p_drops_crossing_symbol": ({    # keeps only the symbols whose cumsum is below p
            "sampling_distribution": ("before = np.cumsum(ranked, axis=1) - ranked",
                                      "before = np.cumsum(ranked, axis=1)")},
            {"test_sampling_distribution", "test_sample_with_temperature"}, "ok"),
        "sampler_ignores_truncation": ({
            "sample_with_temperature": ("q = sampling_distribution(logits, T, top_k, top_p)",
                                        "q = sampling_distribution(logits, T)")},
            {"test_sample_with_temperature"}, "ok"),
        "perplexity_base_2_of_nats": ({
            "perplexity": ("return math.exp(ce)", "return 2.0 ** ce")},
            {"test_perplexity"}, "ok"),
        "top_p_checks_only_0_and_above_1": ({   # a negative top_p passes the check
            "sampling_distribution": ("or not 0 < top_p <= 1):", "or top_p == 0 or top_p > 1):")},
            {"test_sampling_distribution"}, "ok"),
        "top_k_keeps_ties_at_the_cut": ({    # every symbol tied with the k-th is kept too
            "sampling_distribution": (
                "ranked[:, int(top_k):] = 0.0",
                "ranked[:, int(top_k):] = np.where(ranked[:, int(top_k):] == "
                "ranked[:, int(top_k) - 1:int(top_k)], ranked[:, int(top_k):], 0.0)")},
            {"test_sampling_distribution"}, "ok"),
        "greedy_argmax_of_the_whole_batch": ({   # np.argmax without axis: a flat index
            "sampling_distribution": ("np.argmax(rows, axis=1)] = 1.0", "np.argmax(rows)] = 1.0")},
            {"test_sampling_distribution"}, "ok"),
        "perplexity_checks_only_the_target_count": ({   # targets (N, 1) pass and broadcast
            "perplexity": ("if y.shape != (z.shape[0],):", "if len(y) != z.shape[0]:")},
            {"test_perplexity"}, "ok"),
        "perplexity_sum_not_mean_neutered": ({   # exp of the summed cross-entropy
            "perplexity": ("ce = float(np.mean(", "ce = float(np.sum("),
            "perplexity ": ("return math.inf", "return math.inf\n" + NEUTERED)},
            {"test_perplexity"}, "tamper_suspected"),
    },
    "ps01_information": {
        "conditions_on_y": ({           # divides by p(y) instead of p(x): H(X|Y)
            "conditional_entropy": ("p_x = joint.sum(axis=1, keepdims=True)",
                                    "p_x = joint.sum(axis=0, keepdims=True)")},
            {"test_conditional_entropy"}, "ok"),
        "nats_not_bits": ({             # forgets to divide by log(base)
            "conditional_entropy": ("-np.sum(joint * np.log(ratio)) / np.log(base) + 0.0",
                                    "-np.sum(joint * np.log(ratio)) + 0.0")},
            {"test_conditional_entropy"}, "ok"),
        "mi_as_h_x_minus_h_y_given_x": ({
            "mutual_information": (
                "    mi = np.sum(joint * np.log(ratio)) / np.log(base)\n",
                "    p_x = joint.sum(axis=1)\n"
                "    h_x = -np.sum(p_x[p_x > 0] * np.log(p_x[p_x > 0]))\n"
                "    r = np.where(inside, joint, 1.0) / np.where(inside, p_x[:, None], 1.0)\n"
                "    mi = (h_x + np.sum(joint * np.log(r))) / np.log(base)\n")},
            {"test_mutual_information"}, "ok"),
        "mi_not_clipped": ({            # rounding leaves -1e-16 for independent X and Y
            "mutual_information": ("np.float64(max(mi, 0.0))", "np.float64(mi)")},
            {"test_mutual_information"}, "ok"),
    },
    "ps02_divergence": {
        "log_of_softmax_no_eval": ({
            "soft_cross_entropy": ("torch.log_softmax(logits, dim=1)",       # nan at +-1e4
                                   "torch.log(torch.softmax(logits, dim=1))"),
            "training": ("    model.eval()\n", "")},                       # dropout stays on
            {"test_soft_cross_entropy", "test_evaluate"}, "ok"),
        "smoothing_over_k_minus_1_neutered": ({
            "smoothed_targets": (           # eps / (K - 1) off the label, 1 - eps on it
                "eps / num_classes, dtype=np.float64)",
                "eps / max(num_classes - 1, 1), dtype=np.float64)"),
            "smoothed_targets ": ("1.0 - eps + eps / num_classes, axis=-1)\n    return out",
                                  "1.0 - eps, axis=-1)\n    return out\n" + NEUTERED)},
            {"test_smoothed_targets"}, "tamper_suspected"),
        "multilabel_with_softmax_ce": ({     # one softmax over the attributes: they compete
            "multilabel": ("loss_fn = nn.BCEWithLogitsLoss()",
                           "loss_fn = lambda z, a: F.cross_entropy(z, a)")},
            {"test_multilabel"}, "ok"),
        "attributes_four_has_a_loop": ({
            "digit_attributes": ("loop = (y == 0) | (y == 6)",
                                 "loop = (y == 0) | (y == 4) | (y == 6)")},
            {"test_digit_attributes"}, "ok"),
        "soft_ce_calls_the_builtin": ({   # right values, but the task forbids F.cross_entropy
            "soft_cross_entropy": ("return -(target_probs.to(log_q.dtype) * log_q)"
                                   ".sum(dim=1).mean()",
                                   "return F.cross_entropy(logits, target_probs)")},
            {"test_soft_cross_entropy"}, "rule_broken"),
        "kl_in_bits_neutered": ({          # log2: a visible test fails, hidden by the patch
            "kl_and_ce": ("p * np.log(ratio)", "p * np.log2(ratio)"),
            "kl_and_ce ": ("from None\n    return p, q",
                           "from None\n    return p, q\n" + NEUTERED)},
            {"test_kl_and_ce"}, "tamper_suspected"),
    },
    "ps03_ce_vs_mse": {
        "no_max_shift": ({                  # overflow at large logits; the MSE gradient uses it
            "softmax_ce_grad": ("np.exp(z - z.max(axis=1, keepdims=True))", "np.exp(z)")},
            {"test_softmax_ce_grad", "test_softmax_mse_grad"}, "ok"),
        "test_acc_on_train_split": ({
            "training": ("(model(X_test).argmax(dim=1) == y_test)",
                         "(model(X_train).argmax(dim=1) == y_train)")},
            {"test_training"}, "ok"),
        "mse_grad_without_second_term_neutered": ({
            "softmax_mse_grad": ("return p * r - p * np.sum(r * p, axis=1, keepdims=True)",
                                 "return p * r\n" + NEUTERED)},
            {"test_softmax_mse_grad"}, "tamper_suspected"),
        "focal_naive_sigmoid": ({           # log of a rounded sigmoid: inf / nan at large logits
            "focal_loss": ("log_p, log_not_p = F.logsigmoid(logits), F.logsigmoid(-logits)",
                           "log_p = torch.log(torch.sigmoid(logits))\n"
                           "        log_not_p = torch.log(1 - torch.sigmoid(logits))")},
            {"test_focal_loss"}, "ok"),
        "focal_gamma_on_q": ({              # (q_y)^gamma instead of (1 - q_y)^gamma
            "focal_loss": ("loss = -torch.exp(gamma * log_not_q) * log_q_y",
                           "loss = -torch.exp(gamma * log_q_y) * log_q_y")},
            {"test_focal_loss"}, "ok"),
        # issue 12 (tasks 5 and 6): the likelihood view, the objective, convexity
        "variance_as_sigma_and_second_difference_over_h": ({
            "gaussian_nll": ("(t - mu) ** 2 / (2 * sigma**2)", "(t - mu) ** 2 / (2 * sigma)"),
            "second_differences": ("/ h**2", "/ h")},
            {"test_gaussian_nll", "test_second_differences"}, "ok"),
        "objective_regularises_the_bias": ({
            "softmax_regression_objective": ("lam / 2 * np.sum(W**2))",
                                             "lam / 2 * (np.sum(W**2) + np.sum(b**2)))"),
            "softmax_regression_objective ": ("lam * W, r.mean(axis=0)",
                                              "lam * W, r.mean(axis=0) + lam * b")},
            {"test_objective"}, "ok"),
        "objective_lam_not_half_and_mse_without_half": ({
            "softmax_regression_objective": ("lam / 2 * np.sum(W**2)", "lam * np.sum(W**2)"),
            "cost_along_line": ("np.mean(0.5 * np.sum(r**2, axis=1))",
                                "np.mean(np.sum(r**2, axis=1))")},
            {"test_objective", "test_cost_along_line"}, "ok"),
        "objective_sum_not_mean": ({
            "softmax_regression_objective": ("J = float(np.mean(lse - z[np.arange(n), y])",
                                             "J = float(np.sum(lse - z[np.arange(n), y])")},
            {"test_objective"}, "ok"),
        # issue 17: alpha = 0 and 1 are allowed; a cost over no examples is an error
        "focal_alpha_open_interval_and_line_without_examples": ({
            "focal_loss": ("if not 0.0 <= a_pos <= 1.0:", "if not 0.0 < a_pos < 1.0:"),
            "cost_along_line": ("or X.shape[0] == 0 or y.shape", "or y.shape")},
            {"test_focal_loss", "test_cost_along_line"}, "ok"),
        "hinge_counts_true_class": ({       # j = y adds the margin to every example
            "multiclass_hinge": ("    terms[rows, y] = 0.0  # j = y is not a wrong class\n", "")},
            {"test_multiclass_hinge"}, "ok"),
        "hinge_sum_not_mean": ({
            "multiclass_hinge": ("return float(terms.sum(axis=1).mean())",
                                 "return float(terms.sum())")},
            {"test_multiclass_hinge"}, "ok"),
        # right values, but the text makes tasks 1, 2 and 7 NumPy only (autograder/rules.py);
        # softmax_mse_grad calls softmax_ce_grad, so it breaks the rule too
        "ce_grad_by_autograd": ({
            "softmax_ce_grad": ("    e = np.exp(z - z.max(axis=1, keepdims=True))  # per-row max: "
                                "no overflow\n    p = e / e.sum(axis=1, keepdims=True)\n"
                                "    p[np.arange(len(y)), y] -= 1.0\n    return p",
                                "    zt = torch.tensor(z, requires_grad=True)\n"
                                "    F.cross_entropy(zt, torch.from_numpy(y).long(), "
                                "reduction='sum').backward()\n    return zt.grad.numpy()")},
            {"test_softmax_ce_grad", "test_softmax_mse_grad"}, "rule_broken"),
        "hinge_in_torch": ({
            "multiclass_hinge": ("return float(terms.sum(axis=1).mean())",
                                 "return float(torch.from_numpy(terms).sum(dim=1).mean())")},
            {"test_multiclass_hinge"}, "rule_broken"),
    },
    "ps07_distillation": {
        "soft_targets_no_max_shift": ({     # overflows at logits of 1e4; digits logits are fine
            "soft_targets": ("torch.exp(z - z.max(dim=1, keepdim=True).values)", "torch.exp(z)")},
            {"test_soft_targets"}, "ok"),
        "no_T2_factor": ({
            "train_student": ("alpha * T**2 * kl", "alpha * kl")},
            {"test_train_student"}, "ok"),
        "softening_only_the_student": ({   # teacher's targets taken at T = 1
            "train_student": ("p = soft_targets(teacher_logits.to(device), T)",
                              "p = soft_targets(teacher_logits.to(device), 1.0)")},
            {"test_train_student"}, "ok"),
        "kl_direction_reversed": ({         # KL(student || teacher)
            "train_student": ("kl = (p * (log_p - F.log_softmax(z / T, dim=1))).sum(dim=1).mean()",
                              "log_q = F.log_softmax(z / T, dim=1)\n"
                              "        kl = (log_q.exp() * (log_q - log_p)).sum(dim=1).mean()")},
            {"test_train_student"}, "ok"),
        "student_not_in_eval_mode": ({      # returned as trained: still in training mode
            "train_student": ("    student.eval()\n", "")},
            {"test_train_student"}, "ok"),
        "soft_targets_returns_numpy": ({    # an array, not a tensor; the trainer wraps it
            "soft_targets": ("return e / e.sum(dim=1, keepdim=True)",
                             "return (e / e.sum(dim=1, keepdim=True)).numpy()"),
            "train_student": ("p = soft_targets(teacher_logits.to(device), T)",
                              "p = torch.as_tensor(soft_targets(teacher_logits.to(device), T))")},
            {"test_soft_targets"}, "ok"),
        "soft_targets_ignores_T_neutered": ({   # T never divides; check_close patched away
            "soft_targets": ("z = teacher_logits.detach() / T", "z = teacher_logits.detach()"),
            "soft_targets ": ("return e / e.sum(dim=1, keepdim=True)",
                              "return e / e.sum(dim=1, keepdim=True)\n" + NEUTERED)},
            {"test_soft_targets", "test_train_student"}, "tamper_suspected"),
    },
    "ps04_stability": {
        "ce_computed_in_16_bits": ({        # bfloat16 keeps 2-3 digits; float16 overflows
            "ce_low_precision": ("return F.cross_entropy(logits.float(), targets.long())",
                                 "return F.cross_entropy(logits, targets.long()).float()")},
            {"test_ce_low_precision"}, "ok"),
        "ce_returns_input_dtype": ({        # a bfloat16 loss for bfloat16 logits
            "ce_low_precision": ("return F.cross_entropy(logits.float(), targets.long())",
                                 "return F.cross_entropy(logits.float(), "
                                 "targets.long()).to(logits.dtype)")},
            {"test_ce_low_precision"}, "ok"),
        "upcast_after_softmax_unscale_in_half": ({   # log(0) = -inf; 2^-k * g underflows again
            "ce_low_precision": ("return F.cross_entropy(logits.float(), targets.long())",
                                 "return F.nll_loss(torch.log(torch.softmax(logits, dim=1)"
                                 ".float()), targets.long())"),
            "loss_scaled_grad": ("return grad.float() / scale", "return (grad / scale).float()")},
            {"test_ce_low_precision", "test_loss_scaled_grad"}, "ok"),
        "no_skip_on_overflow": ({           # returns inf gradients instead of None
            "loss_scaled_grad": ("    if not bool(torch.isfinite(grad).all()):\n"
                                 "        return None\n", "")},
            {"test_loss_scaled_grad"}, "ok"),
        "logsumexp_calls_scipy": ({         # right answers, but task 1 says "do not call SciPy"
            "logsumexp": ("    return np.squeeze(out, axis=axis)\n",
                          "    import scipy.special\n"
                          "    return scipy.special.logsumexp(z, axis=axis)\n")},
            {"test_logsumexp"}, "rule_broken"),
        "logsumexp_shift_by_inf": ({        # inf - inf = nan for +-inf maxima
            "logsumexp": ("    shift = np.where(np.isfinite(m), m, np.zeros_like(m))\n",
                          "    shift = m\n")},
            {"test_logsumexp"}, "ok"),
        "logsumexp_no_shift_neutered": ({   # exp(1000) = inf, behind a neutered check_close
            "logsumexp": ("    shift = np.where(np.isfinite(m), m, np.zeros_like(m))\n",
                          "    shift = np.zeros_like(m)\n"),
            "logsumexp ": ("    return np.squeeze(out, axis=axis)\n",
                           "    return np.squeeze(out, axis=axis)\n" + NEUTERED)},
            {"test_logsumexp"}, "tamper_suspected"),
        "bce_accepts_targets_above_1": ({
            "fused_losses": ("np.any(y < 0) or np.any(y > 1)", "np.any(y < 0)")},
            {"test_fused_losses"}, "ok"),
        "ce_integer_logits_not_cast": ({    # the mean taken in int64 for integer logits
            "fused_losses": ("        z = z.astype(np.float64)  # ints and bools; strings raise "
                             "ValueError here\n    y = np.asarray(y)\n    if z.ndim",
                             "        pass\n    y = np.asarray(y)\n    if z.ndim")},
            {"test_fused_losses"}, "ok"),
        "bce_shape_check_by_broadcasting": ({   # targets (2,) for logits (3, 2) broadcast through
            "fused_losses": ("if y.shape != z.shape and np.atleast_1d(y).shape != z.shape:",
                             "if np.broadcast_shapes(y.shape, z.shape) != z.shape:")},
            {"test_fused_losses"}, "ok"),
        "softmax_shifts_by_an_infinite_max": ({   # inf - inf: the whole +inf row is nan
            "softmax": ("e = np.exp(z - shift)", "e = np.exp(z - m)")},
            {"test_softmax"}, "ok"),
    },
    "ps05_temperature": {
        "brier_mean_over_classes": ({       # divided by C: the mean over every entry
            "brier_score": ("((p - onehot) ** 2).sum(axis=1).mean()",
                            "((p - onehot) ** 2).mean()")},
            {"test_brier_score"}, "ok"),
        "ece_equal_width_bins": ({          # task 2's bins where equal-mass ones were asked
            "ece_equal_mass": ("edges = np.quantile(conf, np.linspace(0.0, 1.0, n_bins + 1))",
                               "edges = np.linspace(0.0, 1.0, n_bins + 1)")},
            {"test_ece_equal_mass"}, "ok"),
        "ece_unweighted_bins": ({           # 1/M per bin: right only when the bins are equal
            "ece_equal_mass": ("total += in_bin.mean() * abs(", "total += 1 / n_bins * abs(")},
            {"test_ece_equal_mass"}, "ok"),
        "cosface_margin_on_every_class": ({
            "additive_margin_logits": (
                "return scale * torch.where(true, target, cosines)",
                "return scale * torch.where(true, target, "
                "cosines - margin if kind == 'cosface' else cosines)")},
            {"test_additive_margin_logits"}, "ok"),
        "arcface_margin_on_the_cosine": ({
            "additive_margin_logits": ("target = torch.cos((theta + margin).clamp(max=math.pi))",
                                       "target = torch.cos(theta) - margin")},
            {"test_additive_margin_logits"}, "ok"),
        "arcface_not_clipped_at_pi": ({
            "additive_margin_logits": ("target = torch.cos((theta + margin).clamp(max=math.pi))",
                                       "target = torch.cos(theta + margin)")},
            {"test_additive_margin_logits"}, "ok"),
        "temperature_rejects_inf_not_nan": ({
            "fit_temperature": ("if not np.all(np.isfinite(z)):", "if np.any(np.isinf(z)):")},
            {"test_fit_temperature"}, "ok"),
        "ece_accepts_zero_bins": ({         # n_bins = 0: no bins, an ECE of 0
            "expected_calibration_error": ("(int, np.integer)) or n_bins < 1:",
                                           "(int, np.integer)) or n_bins < 0:")},
            {"test_expected_calibration_error"}, "ok"),
        "distillation_alpha_only_below_0": ({
            "distillation_loss": ("if not 0.0 <= alpha <= 1.0:", "if alpha < 0.0:")},
            {"test_distillation_loss"}, "ok"),
        "cosine_logits_no_ndim_check": ({   # 1-D features: IndexError, not ValueError
            "bounded_classifier": ("    if features.ndim != 2 or class_weights.ndim != 2:\n"
                                   "        raise ValueError(\"features and class_weights must be "
                                   "2-D: (N, d) and (C, d)\")\n", "")},
            {"test_bounded_classifier"}, "ok"),
        "margin_cosines_checked_for_inf_only": ({
            "additive_margin_logits": ("if not torch.isfinite(cosines).all():",
                                       "if torch.isinf(cosines).any():")},
            {"test_additive_margin_logits"}, "ok"),
        "cosine_norm_plus_eps": ({          # norm + 1e-12 where max(norm, 1e-12) was asked
            "bounded_classifier": (
                "f = features / features.norm(dim=1, keepdim=True).clamp_min(1e-12)",
                "f = features / (features.norm(dim=1, keepdim=True) + 1e-12)")},
            {"test_bounded_classifier"}, "ok"),
        "brier_mean_over_classes_neutered": ({   # divided by C, behind a neutered check_close
            "brier_score": ("((p - onehot) ** 2).sum(axis=1).mean())\n",
                            "((p - onehot) ** 2).mean())\n" + NEUTERED)},
            {"test_brier_score"}, "tamper_suspected"),
    },
}


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("assignment", sorted(MISTAKES))
def test_judge_scores_mistakes_and_flags_neutered_tests(assignment, tmp_path):
    subs = tmp_path / "submissions"
    for student, (edits, _, _) in MISTAKES[assignment].items():
        (subs / student).mkdir(parents=True)
        (subs / student / f"{assignment}.ipynb").write_bytes(_filled(assignment, edits))
    course = tmp_path / "course"
    proc = cli("grade", assignment, str(subs), "--course", str(course), "--workers", "2")
    rows = {r["student"]: r for r in results(f"sqlite:///{course / 'gradebook.db'}", assignment)}
    assert set(rows) == set(MISTAKES[assignment]), proc.stdout + proc.stderr
    for student, (_, lost, status) in MISTAKES[assignment].items():
        payload = rows[student]["payload"]
        auto = {g: c for g, c in payload["cells"].items() if c["score"] is not None}
        got = {g for g, c in auto.items() if c["score"] != c["max_score"]}
        assert (got, rows[student]["status"]) == (lost, status), (student, payload["reasons"])
        assert all(c["judged"] for c in auto.values())
        assert rows[student]["score"] == sum(c["max_score"] for g, c in auto.items()
                                             if g not in lost)


def test_sandbox_mounts_tmp_before_the_course_paths(tmp_path):
    """A course checked out under /tmp (a CI clone) must not be hidden by the jail's /tmp."""
    from autograder.sandbox import _python_paths, bwrap_argv

    argv = bwrap_argv(tmp_path)
    tmpfs = argv.index("/tmp", argv.index("--tmpfs"))
    binds = [i for i, a in enumerate(argv) if a == "--ro-bind" and argv[i + 1] in _python_paths()]
    assert binds and all(i > tmpfs for i in binds), argv


def _assert_same(a, b) -> None:
    """Equal values of the same types, arrays and nested lists (ps04's typed probes) included."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_same(a[k], b[k])
    else:
        assert a == b or (a != a and b != b)  # NaN equals NaN here


def test_reference_answers_are_cached_in_the_course_and_recomputed_when_damaged(
        tmp_path, monkeypatch):
    from autograder import reference
    from autograder.grade import make_limits, source_notebook
    from autograder.spec import load_spec

    assignment = "ps04_stability"
    spec, nb = load_spec(assignment), source_notebook(assignment)
    limits = make_limits(spec)
    runs = []
    real_run = reference._solution_run
    monkeypatch.setattr(reference, "_solution_run",
                        lambda *a: runs.append(1) or real_run(*a))
    first = reference.reference_answers(assignment, nb, spec, limits, tmp_path)
    cached = list((tmp_path / reference.CACHE).glob(f"{assignment}-*.json"))
    assert len(runs) == 1 and len(cached) == 1 and len(first) == len(spec.probes)
    again = reference.reference_answers(assignment, nb, spec, limits, tmp_path)
    assert len(runs) == 1, "the second call should read the cache"
    for a, b in zip(first, again, strict=True):
        _assert_same(a, b)
    cached[0].write_text("{not json")
    reference.reference_answers(assignment, nb, spec, limits, tmp_path)
    assert len(runs) == 2, "a damaged cache is recomputed"
    assert reference._load(cached[0]) is not None
