"""A class of bad and hostile ps01 submissions, generated from the released notebook.

Each entry: student id -> (notebook bytes, expected autograded score, expected status).
The answers come from the instructor solution (markers removed), so the corpus follows
the assignment when it changes. Used by tests/test_autograder.py and the benchmark.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from autograder import EXERCISES, SOLUTIONS
from autograder.markers import drop_solution_markers
from autograder.sandbox import Limits, cgroup_host

A = "ps01_information"
FULL = 26.0


def released() -> nbformat.NotebookNode:
    return nbformat.read(EXERCISES / A / f"{A}.ipynb", as_version=4)


def answers() -> dict[str, str]:
    """grade_id -> the solution's code for every answer cell, as a student would write it."""
    nb = nbformat.read(SOLUTIONS / A / f"{A}.ipynb", as_version=4)
    out = {}
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("solution") and c.cell_type == "code":
            out[meta["grade_id"]] = drop_solution_markers(c.source)
    return out


def build(changes: dict[str, str] | None = None, extra_after: dict[str, list[str]] | None = None,
          solved: bool = True) -> nbformat.NotebookNode:
    """The release with answers filled in (``solved``), ``changes`` to answer cells and
    extra code cells inserted after the cell with the given grade_id."""
    nb = released()
    ans = answers() if solved else {}
    ans.update(changes or {})
    cells = []
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in ans:
            c.source = ans[gid]
        cells.append(c)
        for src in (extra_after or {}).get(gid, []):
            cells.append(nbformat.v4.new_code_cell(src))
    nb.cells = cells
    return nb


def _bytes(nb: nbformat.NotebookNode) -> bytes:
    return nbformat.writes(nb).encode()


UNSTABLE = answers()["bernoulli_entropy"].replace("np.log1p(-q)", "np.log(1 - q)")
ZEROS = """
import warnings
warnings.filterwarnings("ignore")
np.allclose = lambda *a, **k: True
check_close = check_dtype = check_raises = lambda *a, **k: None

def self_information(p, base=2):
    return np.zeros_like(np.asarray(p, dtype=float))
"""
TRANSFORMER = """get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])

def self_information(p, base=2):
    raise NotImplementedError()
"""
AST_ATTACK = """import ast

class _Strip(ast.NodeTransformer):
    def visit_Assert(self, node):
        return None

    def visit_Module(self, node):
        return ast.Module(body=[], type_ignores=[])

get_ipython().ast_transformers.append(_Strip())

def self_information(p, base=2):
    raise NotImplementedError()
"""
EQ_OBJECT = """class Anything(float):
    def __eq__(self, other):
        return True

def self_information(p, base=2):
    return Anything(1.0)
"""
SNOOP = """import os

def _snoop():
    import glob
    patterns = ["../source/*/*", "../../source/*/*", "/work/*/*/solutions/*/*",
                "/work/*/*/gradebook.db", "/work/*/*/source/*/*", "/tmp/*/course/*",
                "/home/*/*/*.ipynb", "/job/*", "/srv/*/*"]
    for path in [p for pattern in patterns for p in glob.glob(pattern)][:40]:
        try:
            text = open(path, errors="replace").read()
        except Exception:
            continue
        print(path, text[text.find("HIDDEN"):][:3000])


_done = []

""" + answers()["self_information"].replace(
    '    """Self-information', '    if not _done:\n        _done.append(1)\n        _snoop()\n'
    '    """Self-information', 1)


def detached(db_path: str, marker: str) -> str:
    return f"""import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        t0 = time.time()   # strike once the test has hashed the gradebook (the go file)
        while not os.path.exists({marker + ".go"!r}) and time.time() < t0 + 600:
            time.sleep(0.2)
        try:
            import sqlite3
            con = sqlite3.connect({db_path!r})
            con.execute("update grade set auto_score = 100, manual_score = 0")
            con.commit()
        except Exception:
            pass
        try:
            open({marker!r}, "w").write("escaped")
        except Exception:
            pass
        os._exit(0)
    os._exit(0)
time.sleep(0.2)
"""


LOOP_ENTROPY = """def entropy(p, base=2):
    while True:
        pass
"""
SIGINT_LOOP = """import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)

def bernoulli_entropy(p):
    while True:
        try:
            pass
        except KeyboardInterrupt:
            pass
"""


def corpus(db_path: str, marker: str) -> dict[str, tuple[bytes, float, str]]:
    c: dict[str, tuple[bytes, float, str]] = {}
    c["correct"] = (_bytes(build()), FULL, "ok")
    c["untouched"] = (_bytes(released()), 0.0, "ok")
    noisy = answers()["entropy"].replace(
        "    logs = np.log(np.where(p > 0, p, 1.0))",
        "    import warnings\n    warnings.warn('a warning on stderr must not cost points')\n"
        "    logs = np.log(np.where(p > 0, p, 1.0))")
    assert noisy != answers()["entropy"]
    # The one warnings rule (issue 14): a graded call that warns fails its check, so entropy
    # (6) and text_entropy, which calls it (3), lose their points; it is not tampering.
    c["warns_on_stderr"] = (_bytes(build({"entropy": noisy})), FULL - 9, "ok")
    c["unstable"] = (_bytes(build({"bernoulli_entropy": UNSTABLE})), FULL - 4, "ok")
    c["input_transformer"] = (_bytes(build({"self_information": TRANSFORMER}, solved=False)),
                              0.0, "tamper_suspected")
    c["ast_transformer"] = (_bytes(build({"self_information": AST_ATTACK}, solved=False)),
                            0.0, "tamper_suspected")
    zeros = {"self_information": ZEROS,
             "entropy": "def entropy(p, base=2):\n    return np.float64(0.0)\n",
             "bernoulli_entropy": "def bernoulli_entropy(p):\n    return np.float64(0.0)\n",
             "real_data": "def text_entropy(text):\n    return 0.0\n\n"
                          "def ink_entropies(images, labels):\n    return np.zeros(10)\n"}
    c["allclose_patch"] = (_bytes(build(zeros, solved=False)), 0.0, "tamper_suspected")
    c["eq_object"] = (_bytes(build({"self_information": EQ_OBJECT}, solved=False)), 0.0,
                      "needs_manual_grading")
    skip = released()
    for cell in skip.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_"):
            cell.metadata["tags"] = ["skip-execution"]
    c["skip_execution"] = (_bytes(skip), 0.0, "needs_manual_grading")
    c["read_source"] = (_bytes(build({"self_information": SNOOP})), FULL,
                        "needs_manual_grading")
    c["detached_gradebook"] = (_bytes(build(extra_after={"imports": [detached(db_path, marker)]})),
                               FULL, "needs_manual_grading")
    c["infinite_loop"] = (_bytes(build({"entropy": LOOP_ENTROPY})), FULL - 9, "timeout")
    c["sigint_loop"] = (_bytes(build({"bernoulli_entropy": SIGINT_LOOP})), FULL - 4,
                       "timeout")
    c["os_exit"] = (_bytes(build(extra_after={"real_data": ["import os\nos._exit(3)"]})), FULL,
                    "crashed")
    # over the memory limit (ps01: 2 GiB, tests/test_autograder.py: 1 GiB): a cgroup stops
    # the sandbox (the extra cell, worth nothing, is lost); the rlimit fallback refuses the
    # allocation (MemoryError in that cell)
    c["big_alloc"] = (_bytes(build(extra_after={"imports": ["big = bytearray(3 * 2**30)"]})),
                      FULL, "out_of_memory" if cgroup_host(Limits()) else "ok")
    slow = ["import time\ntime.sleep(2.5)"] * 18
    c["slow_cells"] = (_bytes(build(extra_after={"imports": slow})), FULL, "timeout")
    c["huge_output"] = (_bytes(build(extra_after={"imports": [
        "print('x' * 50_000_000)\nfor i in range(20_000):\n    print(i)"]})), FULL, "ok")
    c["empty"] = (b"", 0.0, "malformed")
    c["invalid_json"] = (b'{"cells": [', 0.0, "malformed")
    no_cells = released()
    no_cells.cells = []
    c["no_cells"] = (_bytes(no_cells), 0.0, "malformed")
    stripped = build()
    for cell in stripped.cells:
        cell.metadata = {}
    c["metadata_stripped"] = (_bytes(stripped), FULL, "ok")
    renamed = copy.deepcopy(stripped)
    for i, cell in enumerate(renamed.cells):
        cell["id"] = f"x{i:04d}"
    c["ids_stripped"] = (_bytes(renamed), FULL, "ok")
    deleted = build()
    deleted.cells = [x for x in deleted.cells
                     if not x.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_")]
    c["tests_deleted"] = (_bytes(deleted), FULL, "ok")
    edited = build({"self_information": "def self_information(p, base=2):\n    return p\n"},
                   solved=True)
    for cell in edited.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_self_information":
            cell.source = "pass"
    c["tests_edited"] = (_bytes(edited), FULL - 5, "ok")
    kernel = build()
    kernel.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    c["wrong_kernel"] = (_bytes(kernel), FULL, "ok")
    return c


def write(folder: Path, entries: dict[str, tuple[bytes, float, str]]) -> None:
    for student, (data, _, _) in entries.items():
        (folder / student).mkdir(parents=True, exist_ok=True)
        (folder / student / f"{A}.ipynb").write_bytes(data)
