"""Claims of chapter 9 (the LeNet-5 sign bug) checked against the C program and its runs.

Review 2026-12-01, issue 11: A2 (what the program does with NaN), A3/A13 (the ratio of
the two deltas at the uniform start), A12 and B4 (ALPHA 0.5 fails on every seed; dead
maps of the second convolution), B1 (the output-ReLU comparison is within noise).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from infoloss import clenet

needs_cc = pytest.mark.skipif(shutil.which(os.environ.get("CC") or "cc") is None,
                              reason="needs a C compiler")


@pytest.fixture(scope="module")
def runs():
    return clenet.book_runs("lenet_runs.json")


@pytest.fixture(scope="module")
def linear():
    return clenet.book_runs("lenet_runs_linear_output.json")


def c_delta(z, y):
    """The program's original (softmax + squared error) delta, as chapter 9 writes it."""
    e = np.exp(z - z.max())
    q = e / e.sum()
    return q * ((np.arange(len(z)) == y) - q - (q[y] - np.sum(q * q)))


@needs_cc
def test_the_programs_relu_maps_nan_to_zero(tmp_path):
    """Compile the program's own relu line and feed it NaN, inf - inf and inf."""
    line = next(ln for ln in clenet.SOURCE.read_text().splitlines() if "double relu(" in ln)
    src = tmp_path / "relu_nan.c"
    src.write_text("#include <math.h>\n#include <stdio.h>\n" + line + "\n"
                   "int main(void) { volatile double inf = INFINITY;\n"
                   "  printf(\"%g %g %g %g\\n\", relu(NAN), relu(inf - inf), relu(inf),"
                   " relu(-inf)); return 0; }\n")
    exe = tmp_path / "relu_nan"
    cc = shutil.which(os.environ.get("CC") or "cc")
    subprocess.run([cc, "-O2", "-std=c99", "-o", str(exe), str(src), "-lm"], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "0", "inf", "0"], out


def test_textbook_sign_ends_with_ten_zero_outputs_and_ln10(runs):
    n_test = runs["mse_a0.5"][0].init["n_test"]
    for r in runs["ce_textbook_a0.5"]:
        end = r.epochs[-1]
        assert end["out_zero"] == 1.0 and end["out_nan"] == 0.0
        assert end["alive_c1"] == end["alive_c3"] == end["alive_c5"] == end["alive_out"] == 0
        assert abs(end["test_ce"] - math.log(10)) < 1e-9
        assert end["pred_counts"][0] == n_test          # ten ties: predict keeps index 0
        assert math.isnan(r.param_norm[-1])
        k = next(i for i, v in enumerate(r.batch_ce) if math.isnan(v))
        assert np.allclose(r.batch_ce[k + 1:], math.log(10), rtol=0, atol=1e-9)


def test_without_output_relu_the_outputs_are_nan(linear):
    n_test = linear["ce_textbook_a0.5_linear"][0].init["n_test"]
    for r in linear["ce_textbook_a0.5_linear"]:
        end = r.epochs[-1]
        assert end["out_nan"] == 1.0 and math.isnan(end["test_ce"])
        assert end["pred_counts"][0] == n_test          # comparisons with NaN are false


@needs_cc
def test_a_fresh_run_shows_the_zero_outputs():
    """Not only the stored runs: the program itself, two epochs of the textbook sign."""
    r = clenet.train("ce_textbook", alpha=0.5, seed=1, epochs=2)
    assert r.epochs[-1]["out_zero"] == 1.0
    assert abs(r.epochs[-1]["test_ce"] - math.log(10)) < 1e-9


@needs_cc
def test_stored_runs_are_what_the_program_computes(runs):
    fresh = clenet.train("ce_fixed", alpha=0.5, seed=5, epochs=3)
    stored = runs["ce_fixed_a0.5"][4]
    assert stored.init["seed"] == 5
    drop = {"train_seconds"}
    for a, b in zip(fresh.epochs, stored.epochs[:3], strict=True):
        assert {k: v for k, v in a.items() if k not in drop} == \
            {k: v for k, v in b.items() if k not in drop}
    assert fresh.updates == stored.updates[:len(fresh.updates)]


@pytest.mark.parametrize("C", [2, 3, 10, 100])
def test_original_delta_is_ce_delta_over_C_at_the_uniform_start(C):
    for y in (0, C - 1):
        ce = np.eye(C)[y] - 1 / C
        np.testing.assert_allclose(c_delta(np.zeros(C), y), ce / C, rtol=1e-12, atol=1e-15)
    # so ALPHA 0.1 with CE takes steps twice those of ALPHA 0.5 with the original delta
    assert 0.1 * C / 0.5 == pytest.approx(2 * C / 10)


def test_alpha_half_fails_on_every_seed(runs):
    logs = runs["ce_fixed_a0.5"]
    assert len(logs) == 5
    for r in logs:
        end = r.epochs[-1]
        assert r.final_acc < 0.11
        assert abs(end["test_ce"] - math.log(10)) < 1e-3
        assert max(end["pred_counts"]) >= end["pred_counts"][0] and \
            max(end["pred_counts"]) >= r.init["n_test"] - 1
        assert end["alive_c3"] <= 4
        if end["alive_c3"] == 0:                        # image cut off: outputs constant
            assert end["out_spread"] == 0
        tail = r.param_norm[-40:]                       # the last ten epochs' updates
        assert np.ptp(tail) / tail[-1] < 1e-3
    assert sum(r.epochs[-1]["alive_c3"] == 0 for r in logs) >= 1


def test_output_relu_comparison_is_within_noise(runs, linear):
    lin = [np.mean(r.test_acc[-5:]) for r in linear["ce_fixed_a0.1_linear"]]
    relu = [np.mean(r.test_acc[-5:]) for r in runs["ce_fixed_a0.1"]]
    diff = np.array(lin) - np.array(relu)
    assert len(diff) == 5
    assert abs(diff.mean()) < 2 * diff.std(ddof=1) / math.sqrt(len(diff))


def test_every_epoch_record_has_the_network_statistics(runs, linear):
    keys = {"alive_c1", "alive_c3", "alive_c5", "alive_out", "out_zero", "out_nan",
            "out_spread", "pred_counts"}
    for group in (runs, linear):
        for logs in group.values():
            for r in logs:
                assert keys <= set(r.init)
                assert all(keys <= set(e) for e in r.epochs)
                assert all(sum(e["pred_counts"]) == r.init["n_test"] for e in r.epochs)


def test_chapter_quotes_the_relu_it_relies_on():
    text = clenet.SOURCE.read_text()
    assert re.search(r"static inline double relu\(double v\) \{ return v > 0 \? v : 0; \}",
                     text)
