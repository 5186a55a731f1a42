"""Every problem set's hidden checks against its own mutants (issue 17, item 1).

A full mutation run of every problem set takes far longer than CI allows (ps06 alone grades
67 LeNet trainings), so CI runs ps01's whole analysis (tests/test_mutants.py) and, for the
other problem sets, the mutants that once survived their hidden checks: each must stay
killed. The equivalent-mutant files are checked for every problem set (fast): each names a
mutant the mutator still generates, with a reason.
"""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from autograder import ROOT, SOLUTIONS
from autograder.mutants import EQUIVALENT_FILE, generate, load_equivalent

# Mutants that survived the hidden checks before the probes that kill them were added,
# per problem set (ids as `python -m autograder mutants` prints them). One block per
# problem set, each owned by whoever strengthens that problem set.
ONCE_SURVIVED: dict[str, list[str]] = {
    "ps02_divergence": [
    ],

    "ps03_ce_vs_mse": [
        "softmax_ce_grad.validation.1", "focal_loss.compare.7", "focal_loss.compare.8",
        "focal_loss.compare.17", "focal_loss.constant.3", "cost_along_line.logic.0",
        "cost_along_line.constant.5", "cost_along_line.validation.1",
        "multiclass_hinge.validation.1",
        # outside the default sample (found with --max-per-cell 0's mutants, in-process)
        "focal_loss.compare.10", "focal_loss.constant.6", "softmax_regression_objective.constant.5",
    ],

    "ps04_stability": [
        "logsumexp.arith.0", "softmax.where.0", "softmax.where.2", "fused_losses.compare.6",
        "fused_losses.compare.7", "fused_losses.logic.5", "fused_losses.constant.4",
        "fused_losses.validation.4", "ce_low_precision.validation.4",
    ],

    "ps05_temperature": [
        "fit_temperature.compare.5", "fit_temperature.constant.4",
        "expected_calibration_error.constant.2", "expected_calibration_error.constant.7",
        "expected_calibration_error.tolerance.0", "expected_calibration_error.validation.4",
        "brier_score.compare.8", "brier_score.constant.6",
        "bounded_classifier.tolerance.0", "bounded_classifier.tolerance.3",
    ],

    "ps06_lenet": [
        "c_softmax_delta.constant.1",   # a single logit rejected
        "lenet5.compare.0",             # epochs=1 rejected
        "lenet5.constant.3",            # padding 3: maps of 30, 15, 11, 5, 1
    ],

    "ps07_distillation": [
    ],

    "ps08_sampling": [
        "sampling_distribution.axis.3", "perplexity.axis.1", "perplexity.validation.3",
    ],
}

WITH_EQUIVALENTS = sorted(p.parent.name for p in SOLUTIONS.glob(f"*/{EQUIVALENT_FILE}"))


@pytest.mark.parametrize("assignment", WITH_EQUIVALENTS)
def test_equivalent_marks_name_generated_mutants(assignment):
    nb = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    marks = load_equivalent(assignment)
    stale = sorted(set(marks) - {m.id for m in generate(nb)})
    assert marks and not stale, f"{assignment}: stale equivalent marks {stale}"


@pytest.mark.slow
@pytest.mark.usefixtures("bwrap")
@pytest.mark.timeout(900)
@pytest.mark.parametrize("assignment", sorted(a for a, ids in ONCE_SURVIVED.items() if ids))
def test_mutants_that_once_survived_stay_killed(assignment, tmp_path):
    ids = ONCE_SURVIVED[assignment]
    proc = subprocess.run([sys.executable, "-m", "autograder", "mutants", assignment,
                           "--out", str(tmp_path), "--workers", "2", "--only", *ids],
                          cwd=ROOT, capture_output=True, text=True, timeout=850)
    assert (tmp_path / "mutants.json").exists(), proc.stdout + proc.stderr
    result = json.loads((tmp_path / "mutants.json").read_text())
    assert result["baseline_problem"] == "", result["baseline_problem"]
    kinds = {o["id"]: o["kind"] for o in result["outcomes"]}
    assert kinds == {i: "killed" for i in ids}, proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr
