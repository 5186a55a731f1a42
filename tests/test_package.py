"""Unit tests of the course package and of the release tooling."""

from __future__ import annotations

import re
import shutil

import nbformat
import numpy as np
import pytest

from autograder import SOLUTIONS
from autograder import release as rel
from infoloss import data, device, plotting, testing


def test_standard_split_is_stratified_and_reproducible():
    a, b = data.load_digits_split(), data.load_digits_split()
    assert a.X_train.shape == (1437, 8, 8) and a.X_test.shape == (360, 8, 8)
    assert a.num_classes == 10
    np.testing.assert_array_equal(a.y_test, b.y_test)
    counts = np.bincount(a.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # 360 / 10 = 36 per class, stratified


def test_cached_split_is_sklearns_split_bit_for_bit():
    cached, computed = data.load_digits_split(), data.split_with_sklearn()
    for name in ("X_train", "y_train", "X_test", "y_test"):
        a, b = getattr(cached, name), getattr(computed, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert a.tobytes() == b.tobytes(), name   # the same bits, not merely close
        assert a.flags.c_contiguous and a.flags.writeable, name
    other = data.load_digits_split(test_size=100)   # another split still comes from sklearn
    assert other.X_test.shape == (100, 8, 8)


def test_standard_split_does_not_import_sklearn():
    import subprocess
    import sys

    code = ("import sys; from infoloss.data import load_digits_split; load_digits_split(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_distributions_sum_to_one_and_reject_bad_input():
    split = data.load_digits_split()
    for dist in (data.intensity_distribution(split.X_train), data.ink_distribution(split.X_train),
                 data.label_distribution(split.y_train), data.char_distribution("hello")[1]):
        assert np.all(dist >= 0) and abs(dist.sum() - 1) < 1e-12
    chars, probs = data.char_distribution("aab")
    assert chars == ["a", "b"] and np.allclose(probs, [2 / 3, 1 / 3])
    with pytest.raises(ValueError, match="empty"):
        data.char_distribution("")
    with pytest.raises(ValueError, match="integers"):
        data.intensity_distribution(np.array([0.5, 3]))
    with pytest.raises(ValueError, match="non-zero"):
        data.ink_distribution(np.zeros((2, 8, 8)))


def test_check_close_accepts_within_tolerance_and_explains_failures():
    testing.check_close([1.0, np.inf, np.nan], [1.0 + 1e-9, np.inf, np.nan], rtol=1e-6)
    with pytest.raises(AssertionError, match="shape"):
        testing.check_close([1.0, 2.0], [1.0])
    with pytest.raises(AssertionError, match="index"):
        testing.check_close([1.0, 2.0], [1.0, 2.1])
    with pytest.raises(AssertionError, match="NaN"):
        testing.check_close([np.nan], [0.0])
    with pytest.raises(AssertionError, match="inf"):
        testing.check_close([np.inf], [-np.inf])
    with pytest.raises(AssertionError, match="numbers"):
        testing.check_close(np.array(["a"]), np.array([1.0]))


def test_check_raises_and_check_dtype():
    def bad(x):
        raise ValueError("probabilities must be non-negative")

    testing.check_raises(ValueError, bad, -1, match="negative")
    with pytest.raises(AssertionError, match="should mention"):
        testing.check_raises(ValueError, bad, -1, match="sum")
    with pytest.raises(AssertionError, match="nothing was raised"):
        testing.check_raises(ValueError, lambda: None)
    with pytest.raises(AssertionError, match="got TypeError"):
        testing.check_raises(ValueError, lambda: 1 + "a")
    with pytest.raises(NotImplementedError):  # stubs must surface as NotImplementedError
        testing.check_raises(ValueError, lambda: (_ for _ in ()).throw(NotImplementedError()))
    testing.check_dtype(np.zeros(2, np.float32), np.float32)
    with pytest.raises(AssertionError, match="float64"):
        testing.check_dtype(np.zeros(2, np.float32), np.float64)


def test_pick_device_honours_override(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("INFOLOSS_DEVICE", "cpu")
    assert device.pick_device().type == "cpu"
    if not torch.cuda.is_available():
        monkeypatch.setenv("INFOLOSS_DEVICE", "cuda")
        with pytest.raises(RuntimeError, match="no CUDA"):
            device.pick_device()
    X, y, Xt, yt = device.digits_tensors(torch.device("cpu"))
    assert X.shape == (1437, 64) and float(X.max()) <= 1.0 and yt.dtype == torch.long


def _remote_references(html: str) -> list[str]:
    """URLs in ``html`` (embedded data: images left out) that a browser would fetch."""
    text = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+", "", html)
    return re.findall(r"(?:https?:)?//[\w.-]+\.\w+[^\s\"'<>]*", text)


def test_slider_figure_is_offline_and_has_one_frame_per_value():
    def draw(ax, v):
        ax.plot([0, 1], [0, v])
        ax.set_xlabel("x")
        ax.set_ylabel("y")

    html = plotting.slider_figure(draw, [1, 2, 3]).data
    assert not _remote_references(html), _remote_references(html)
    # the check finds a remote script or stylesheet anywhere in the page
    assert _remote_references(html + '<script src="https://cdn.example/x.js"></script>')
    assert _remote_references('<link href="//maxcdn.example/a.css">' + html)
    assert html.count("data:image/png;base64") == 3
    assert 'type="range"' in html
    with pytest.raises(ValueError, match="two"):
        plotting.slider_figure(draw, [1])


def test_glue_turns_numpy_scalars_into_python_numbers(monkeypatch):
    import myst_nb

    from infoloss import book

    seen = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: seen.update({name: value}))
    book.glue("x", np.float64(1.5))
    book.glue("n", np.array(3))
    book.glue("v", [1, 2])
    assert type(seen["x"]) is float and seen["x"] == 1.5
    assert type(seen["n"]) is int and seen["n"] == 3
    assert seen["v"] == [1, 2]


def test_use_one_cpu_thread_sets_torch_threads():
    import torch

    from infoloss.device import use_one_cpu_thread

    before = torch.get_num_threads()
    try:
        use_one_cpu_thread()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_percent_source_gives_stable_ids(tmp_path):
    src = SOLUTIONS / "ps01_information" / "ps01_information.py"
    a, b = rel.notebook_from_percent(src), rel.notebook_from_percent(src)
    assert [c.id for c in a.cells] == [c.id for c in b.cells]
    assert "self_information" in [c.id for c in a.cells]
    dup = tmp_path / "dup.py"
    dup.write_text(src.read_text().replace('"grade_id": "task2"', '"grade_id": "task1"'))
    with pytest.raises(rel.ReleaseError, match="used twice"):
        rel.notebook_from_percent(dup)


def test_leak_check_catches_a_planted_solution_line(tmp_path):
    name = "ps01_information"
    released = tmp_path / f"{name}.ipynb"
    shutil.copy(rel.EXERCISES / name / f"{name}.ipynb", released)
    rel.leak_check(SOLUTIONS / name / f"{name}.ipynb", released)  # the real release is clean
    nb = nbformat.read(released, as_version=4)
    cell = next(c for c in nb.cells if c.get("id") == "self_information")
    cell.source = cell.source.replace("raise NotImplementedError()",
                                      "return -np.log(p) / np.log(base)")
    nbformat.write(nb, released)
    with pytest.raises(rel.ReleaseError, match="solution/hidden line"):
        rel.leak_check(SOLUTIONS / name / f"{name}.ipynb", released)
