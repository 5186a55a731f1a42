"""The similarity report (autograder/similarity.py) on a small ps01 class.

The class: the instructor's solution as one student, two more honest and independently
written solutions (loops and math; np.where and masks), a planted copy of one of them
(every variable renamed, functions and cells reordered, a comment added), the untouched
release twice and a malformed file. The planted copy must rank first with a high score,
the honest pairs must score low and the releases 0.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import corpus as C  # noqa: E402

from autograder import EXERCISES  # noqa: E402
from autograder.grade import source_notebook  # noqa: E402
from autograder.similarity import (  # noqa: E402
    answer_units,
    compare_class,
    render_html,
    similarity,
    text_summary,
)

A = C.A

# Honest student 1: math and explicit loops, validation in a helper.
LOOPS = {
    "self_information": '''def self_information(p, base=2):
    """Self-information -log_base(p) of probabilities p, elementwise, as float64."""
    if not (base > 0 and base != 1 and np.isfinite(base)):
        raise ValueError("base has to be positive and different from 1")
    arr = np.array(p, dtype=np.float64)
    if np.isnan(arr).any():
        raise ValueError("NaN is not a probability")
    if (arr < 0).any() or (arr > 1).any():
        raise ValueError("a probability must be between 0 and 1")
    out = np.full(arr.shape, np.inf)
    positive = arr > 0
    out[positive] = -np.log2(arr[positive]) / np.log2(base)
    return out if out.ndim else np.float64(out)
''',
    "entropy": '''def _check_base(base):
    if not (base > 0 and base != 1 and np.isfinite(base)):
        raise ValueError("base has to be positive and different from 1")


def entropy(p, base=2):
    """Entropy of the distribution(s) on the last axis of p, with 0 log 0 = 0, as float64."""
    _check_base(base)
    arr = np.array(p, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise ValueError("need a non-empty last axis")
    if np.isnan(arr).any() or (arr < 0).any():
        raise ValueError("entries must be non-negative numbers, not negative or NaN")
    flat = arr.reshape(-1, arr.shape[-1])
    result = np.empty(flat.shape[0])
    for row in range(flat.shape[0]):
        if abs(flat[row].sum() - 1) > 1e-6:
            raise ValueError("a distribution must sum to 1")
        h = 0.0
        for q in flat[row]:
            if q > 0:
                h -= q * math.log(q)
        result[row] = h / math.log(base)
    return result.reshape(arr.shape[:-1]) if arr.ndim > 1 else np.float64(result[0])
''',
    "bernoulli_entropy": '''def bernoulli_entropy(p):
    """Entropy in nats of a Bernoulli(p) variable, elementwise, as float64."""
    x = np.array(p, dtype=np.float64)
    if np.isnan(x).any() or (x < 0).any() or (x > 1).any():
        raise ValueError("probability outside [0, 1] or NaN")
    out = np.zeros(x.shape)
    mid = (x > 0) & (x < 1)
    heads = x[mid]
    out[mid] = -(heads * np.log(heads) + (1 - heads) * np.log1p(-heads))
    return out if out.ndim else np.float64(out)
''',
    "real_data": '''def text_entropy(text):
    """Entropy in bits per character of the characters of text."""
    chars, probs = char_distribution(text)
    return entropy(probs, base=2)


def ink_entropies(images, labels):
    """Entropy in bits of the ink-position distribution of each digit class 0..9."""
    labels = np.asarray(labels)
    values = np.zeros(10)
    for digit in range(10):
        values[digit] = entropy(ink_distribution(images[labels == digit]))
    return values
''',
    "conditional_entropy": '''def _validate_joint(table, base):
    _check_base(base)
    t = np.array(table, dtype=np.float64)
    if t.ndim != 2:
        raise ValueError("the joint table has to be 2-D")
    if 0 in t.shape:
        raise ValueError("the joint table is empty")
    if np.isnan(t).any() or (t < 0).any():
        raise ValueError("negative or NaN entry in the joint table")
    if abs(t.sum() - 1) > 1e-6:
        raise ValueError("the joint table does not sum to 1")
    return t


def conditional_entropy(joint, base=2):
    """H(Y | X) of the joint table joint[x, y] (rows X, columns Y), as float64."""
    t = _validate_joint(joint, base)
    total = 0.0
    for row in t:
        px = row.sum()
        for pxy in row:
            if pxy > 0:
                total -= pxy * math.log(pxy / px)
    return np.float64(total / math.log(base))
''',
    "mutual_information": '''def mutual_information(joint, base=2):
    """I(X; Y) of the joint table joint[x, y] (rows X, columns Y), as float64, never negative."""
    t = _validate_joint(joint, base)
    hy = entropy(t.sum(axis=0), base=base)
    return np.float64(max(hy - conditional_entropy(t, base=base), 0.0))
''',
}

# Honest student 2: vectorised, masked arrays and np.where, errors checked up front.
MASKS = {
    "self_information": '''def self_information(p, base=2):
    """Self-information -log_base(p) of probabilities p, elementwise, as float64."""
    bad_base = (not np.isfinite(base)) or base <= 0 or base == 1
    if bad_base:
        raise ValueError(f"invalid base {base}")
    prob = np.asarray(p, np.float64)
    if np.isnan(prob).any() or np.any((prob < 0) | (prob > 1)):
        raise ValueError("every probability must be in [0, 1] (no NaN)")
    with np.errstate(divide="ignore"):
        return np.log(prob) / -np.log(base)
''',
    "entropy": '''def entropy(p, base=2):
    """Entropy of the distribution(s) on the last axis of p, with 0 log 0 = 0, as float64."""
    if (not np.isfinite(base)) or base <= 0 or base == 1:
        raise ValueError(f"invalid base {base}")
    d = np.asarray(p, np.float64)
    if d.ndim < 1 or d.shape[-1] < 1:
        raise ValueError("empty distribution")
    if np.isnan(d).any() or np.any(d < 0):
        raise ValueError("negative or NaN probability")
    if not np.allclose(d.sum(axis=-1), 1.0, rtol=0, atol=1e-6):
        raise ValueError("probabilities must sum to one")
    terms = np.ma.masked_equal(d, 0.0)
    h = np.ma.filled(-(terms * np.ma.log(terms)).sum(axis=-1), 0.0)
    return np.asarray(h, dtype=np.float64)[()] / np.log(base)
''',
    "bernoulli_entropy": '''def bernoulli_entropy(p):
    """Entropy in nats of a Bernoulli(p) variable, elementwise, as float64."""
    s = np.asarray(p, np.float64)
    if np.isnan(s).any() or np.any((s < 0) | (s > 1)):
        raise ValueError("p must be a probability in [0, 1] (no NaN)")
    one = np.where((s == 0) | (s == 1), 0.0, 1.0)
    mirrored = np.where(s > 0.5, 1 - s, s)
    safe = np.where(one > 0, mirrored, 0.5)
    return one * -(safe * np.log(safe) + np.log1p(-safe) * (1 - safe))
''',
    "real_data": '''def ink_entropies(images, labels):
    """Entropy in bits of the ink-position distribution of each digit class 0..9."""
    return np.array([entropy(ink_distribution(images[np.asarray(labels) == k]))
                     for k in range(10)], dtype=np.float64)


def text_entropy(text):
    """Entropy in bits per character of the characters of text."""
    return entropy(char_distribution(text)[1])
''',
    "conditional_entropy": '''def conditional_entropy(joint, base=2):
    """H(Y | X) of the joint table joint[x, y] (rows X, columns Y), as float64."""
    if (not np.isfinite(base)) or base <= 0 or base == 1:
        raise ValueError(f"invalid base {base}")
    j = np.asarray(joint, np.float64)
    if j.ndim != 2 or j.size == 0:
        raise ValueError("joint must be a non-empty 2-d table")
    if np.isnan(j).any() or np.any(j < 0):
        raise ValueError("joint has a negative or NaN entry")
    if not np.isclose(j.sum(), 1.0, rtol=0, atol=1e-6):
        raise ValueError("joint must sum to one")
    h_xy = entropy(j.ravel(), base=base)
    h_x = entropy(j.sum(axis=1), base=base)
    return np.float64(h_xy - h_x)
''',
    "mutual_information": '''def mutual_information(joint, base=2):
    """I(X; Y) of the joint table joint[x, y] (rows X, columns Y), as float64, never negative."""
    j = np.asarray(joint, np.float64)
    h_y_given_x = conditional_entropy(j, base=base)
    h_y = entropy(j.sum(axis=0), base=base)
    return np.float64(np.maximum(h_y - h_y_given_x, 0.0))
''',
}

RENAMES = {"arr": "values_in", "out": "answer", "positive": "nonzero", "flat": "rows2d",
           "result": "ent", "row": "r", "h": "acc", "q": "prob", "x": "ps", "mid": "interior",
           "heads": "pm", "chars": "symbols", "probs": "freqs", "values": "res",
           "digit": "dig", "table": "jt", "t": "tab", "px": "marg", "pxy": "cell",
           "total": "summ", "hy": "h_label", "_check_base": "_base_ok",
           "_validate_joint": "_joint_ok", "p": "prob_in", "base": "b", "labels": "ys",
           "images": "imgs"}


MATH = {"imports": ["import math"]}   # the loops student's own import cell


def _renamed(source: str) -> str:
    return re.sub(r"\b[A-Za-z_]\w*\b", lambda m: RENAMES.get(m.group(0), m.group(0)), source)


def planted_copy() -> nbformat.NotebookNode:
    """LOOPS with every local name renamed, the two real_data functions swapped, the
    conditional_entropy and mutual_information cells swapped and a comment added."""
    ans = {gid: _renamed(src) for gid, src in LOOPS.items()}
    first, second = ans["real_data"].split("\n\n\ndef ink_entropies")
    ans["real_data"] = "def ink_entropies" + second.rstrip("\n") + "\n\n\n" + first + "\n"
    ans["entropy"] = "# my own helper, written after the lecture\n" + ans["entropy"]
    nb = C.build(ans, extra_after=MATH, solved=False)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    i, j = ids.index("conditional_entropy"), ids.index("mutual_information")
    nb.cells[i], nb.cells[j] = nb.cells[j], nb.cells[i]
    return nb


def _write(root: Path, student: str, data: bytes) -> None:
    (root / student).mkdir(parents=True)
    (root / student / f"{A}.ipynb").write_bytes(data)


def _class(root: Path) -> Path:
    for student, nb in {"ana": C.build(), "bo": C.build(LOOPS, MATH, solved=False),
                        "cy": C.build(MASKS, solved=False), "dee": planted_copy(),
                        "eve": C.released(), "fay": C.released()}.items():
        _write(root, student, nbformat.writes(nb).encode())
    _write(root, "gus", b'{"cells": [')          # malformed
    return root


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    subs = _class(tmp_path_factory.mktemp("similar"))
    return compare_class(A, subs, source_notebook(A),
                         nbformat.read(EXERCISES / A / f"{A}.ipynb", as_version=4))


def _score(report, a: str, b: str) -> float:
    return next(p.score for p in report.pairs if {p.left, p.right} == {a, b})


def test_the_honest_solutions_are_correct_so_the_comparison_is_fair():
    ns: dict = {}
    exec("import math\nimport numpy as np\n"  # noqa: S102 (the test's own code)
         "from infoloss.data import char_distribution, ink_distribution", ns)
    for answers in (LOOPS, MASKS):
        for src in answers.values():
            exec(src, ns)  # noqa: S102
        assert abs(ns["entropy"]([[0.5, 0.5], [0.25, 0.75]])[1] - 0.8112781244591328) < 1e-12
        assert ns["self_information"](0.0) == float("inf")
        assert abs(ns["bernoulli_entropy"](1e-300) - 1e-300 * (690.7755278982137 + 1)) < 1e-310
        ex = [[0.5, 0.0], [0.25, 0.25]]
        assert abs(ns["conditional_entropy"](ex) - 0.5) < 1e-12
        assert abs(ns["mutual_information"](ex) - (0.8112781244591328 - 0.5)) < 1e-12
        assert abs(ns["text_entropy"]("abab") - 1.0) < 1e-12
        with pytest.raises(ValueError):
            ns["entropy"]([0.5, 0.6])


def test_the_planted_copy_ranks_first_with_a_high_score(report):
    top = report.pairs[0]
    assert {top.left, top.right} == {"bo", "dee"}
    assert top.score >= 0.8, top
    assert top in report.flagged
    labels = {(m.left.name, m.right.name) for m in top.matches}
    assert ("text_entropy", "text_entropy") in labels      # found although reordered
    assert ("conditional_entropy", "conditional_entropy") in labels


def test_honest_independent_solutions_score_low(report):
    for a, b in [("ana", "bo"), ("ana", "cy"), ("bo", "cy"), ("cy", "dee"), ("ana", "dee")]:
        assert _score(report, a, b) < 0.35, (a, b, _score(report, a, b))
    assert not [p for p in report.flagged if {p.left, p.right} != {"bo", "dee"}]


def test_the_untouched_release_scores_zero_against_everything(report):
    for p in report.pairs:
        if {"eve", "fay"} & {p.left, p.right}:
            assert p.score == 0.0 and p.shared == 0 and not p.matches, p
    assert ("eve", "no answer code beyond the released template (compared, scores 0)") \
        in report.skipped


def test_a_malformed_notebook_is_listed_not_a_crash(report):
    assert "gus" not in report.students
    why = dict(report.skipped)["gus"]
    assert why.startswith("malformed: not valid JSON")
    assert "gus: malformed" in text_summary(report)


def test_template_code_is_not_an_answer():
    units = answer_units(source_notebook(A), C.released())
    assert {u.cell for u in units} == {"self_information", "entropy", "bernoulli_entropy",
                                       "real_data", "conditional_entropy",
                                       "mutual_information"}
    added = C.build(extra_after={"imports": ["import math\n\ndef helper():\n    return 1\n"]})
    extra = [u for u in answer_units(source_notebook(A), added) if u.cell == "(added cells)"]
    assert [u.name for u in extra] == ["helper", "(other code)"]


def test_the_html_escapes_student_code_and_shows_the_copied_lines(report, tmp_path):
    page = render_html(report)
    assert "<mark>" in page and "bo and dee" in page
    evil = C.build({"self_information": LOOPS["self_information"].replace(
        "NaN is not a probability", "</pre><script>alert(1)</script>")}, solved=False)
    subs = tmp_path / "subs"
    for s in ("x1", "x2"):
        _write(subs, s, nbformat.writes(evil).encode())
    page = render_html(compare_class(A, subs, source_notebook(A), C.released()))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_the_command_writes_the_report_and_prints_the_ranking(tmp_path, capsys):
    from autograder.__main__ import main

    subs = _class(tmp_path / "subs")
    out = tmp_path / "sim.html"
    assert main(["similarity", A, str(subs), "--out", str(out), "--threshold", "0.6"]) == 0
    text = capsys.readouterr().out
    first = [ln for ln in text.splitlines() if ln.startswith("  ") and "bo" in ln][0]
    assert "dee" in first and out.exists()
    assert "at or above the threshold 0.60" in text
    report_, path = similarity(A, subs, tmp_path / "again.html")
    assert path.read_text().count("<h2 id='pair") >= 1
