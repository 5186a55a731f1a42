"""Hidden checks written once (autograder/checks.py): the generated block and its run in a
kernel's namespace, which is what stock `nbgrader autograde` executes."""

from __future__ import annotations

import numpy as np
import pytest

from autograder import ROOT
from autograder.checks import HiddenCheckFailed, check_cell, generated_for, hidden_block
from autograder.markers import split_hidden


def test_a_generated_block_is_recognised_and_nothing_else_is():
    block = hidden_block("ps01_information", "test_entropy")
    hidden = split_hidden("check(1)\n" + block)[1]
    assert generated_for(hidden) == ("ps01_information", "test_entropy")
    assert generated_for(hidden + "\nassert secret() == 2") is None   # hand-written extra
    assert generated_for("check_close(entropy([0.5, 0.5]), 1.0)") is None


@pytest.mark.slow   # computes (or reads) ps01's reference answers
def test_the_kernel_side_passes_the_solution_and_names_the_failed_checks():
    from autograder.release import notebook_from_percent

    ns: dict = {}
    for cell in notebook_from_percent(ROOT / "solutions" / "ps01_information"
                                      / "ps01_information.py").cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and not meta.get("grade"):
            exec(cell.source, ns)  # noqa: S102 (the instructor solution)
    check_cell("ps01_information", "test_entropy", ns)          # the solution passes
    ns["entropy"] = lambda p, base=2: np.float64(1.0)            # always one bit
    with pytest.raises(HiddenCheckFailed, match=r"hidden check\(s\) of test_entropy failed"
                                                r"(.|\n)*0 log 0 = 0: wrong value"):
        check_cell("ps01_information", "test_entropy", ns)


@pytest.mark.slow
def test_references_command_fills_the_checkout_cache():
    from autograder.__main__ import main

    assert main(["references", "ps01_information"]) == 0
    assert list((ROOT / ".autograder" / "references").glob("ps01_information-*.json"))
