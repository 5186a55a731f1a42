"""The course's C LeNet-5: IDX files, the MNIST-shaped digits, building, and the four
behaviours of the case study (chapter 9) on several seeds with a small epoch budget."""

from __future__ import annotations

import math
import os
import shutil

import numpy as np
import pytest

from infoloss import clenet
from infoloss.data import load_digits_split
from infoloss.idx import read_idx, write_idx
from infoloss.mnistlike import (
    MnistFiles,
    augment,
    digits_to_mnist,
    mnist_like_split,
    write_mnist_like,
)

pytestmark = pytest.mark.skipif(shutil.which(os.environ.get("CC") or "cc") is None,
                                reason="needs a C compiler")
SEEDS = (1, 2, 3)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    arr = (rng.normal(size=(3, 4, 5)) * 50).astype(dtype)
    path = write_idx(tmp_path / f"a.idx{suffix}", arr)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


def test_idx_header_is_mnist_compatible(tmp_path):
    labels = np.array([7, 2, 1], dtype=np.uint8)
    raw = write_idx(tmp_path / "l", labels).read_bytes()
    assert raw == bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])


def test_idx_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="dtype"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))
    (tmp_path / "bad").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 9, 1]))
    with pytest.raises(ValueError, match="promises"):
        read_idx(tmp_path / "bad")
    (tmp_path / "junk").write_bytes(b"hello")
    with pytest.raises(ValueError, match="not an IDX"):
        read_idx(tmp_path / "junk")


def test_mnist_like_split_shape_and_scale():
    data = mnist_like_split()
    assert data.train_images.shape == (1437, 28, 28) and data.test_images.shape == (360, 28, 28)
    assert data.train_images.dtype == np.uint8 and data.train_images.max() == 255
    # the digits test split itself (stratified: 35 to 37 of each of the 10 classes)
    np.testing.assert_array_equal(data.test_labels, load_digits_split().y_test)
    counts = np.bincount(data.test_labels, minlength=10)
    assert counts.sum() == 360 and counts.min() >= 35 and counts.max() <= 37, counts
    # the 20x20 box is centred: a 4-pixel empty border
    border = np.ones((28, 28), bool)
    border[4:24, 4:24] = False
    assert data.train_images[:, border].max() == 0
    # bilinear with aligned corners keeps the corner pixels of the 8x8 image
    one = np.zeros((1, 8, 8))
    one[0, 0, 0], one[0, 7, 7] = 16, 8
    big = digits_to_mnist(one)[0]
    assert big[4, 4] == 255 and big[23, 23] == 128


def test_augment_is_seeded_and_keeps_labels():
    data = mnist_like_split()
    x1, y1 = augment(data.train_images[:50], data.train_labels[:50], 200, seed=3)
    x2, y2 = augment(data.train_images[:50], data.train_labels[:50], 200, seed=3)
    assert x1.shape == (200, 28, 28) and x1.dtype == np.uint8
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert set(np.unique(y1)) <= set(np.unique(data.train_labels[:50]))
    assert x1.mean() > 0.5 * data.train_images[:50].mean()


def test_real_mnist_files_are_found_under_their_usual_names(tmp_path):
    """MnistFiles.from_dir: plain, dotted (``train-images.idx3-ubyte``) and .gz names."""
    imgs = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    labels = np.array([3, 1], dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", imgs)
    write_idx(tmp_path / "train-labels.idx1-ubyte", labels)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", imgs[:1])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels[:1])
    files = MnistFiles.from_dir(tmp_path)
    assert files.train_labels.name == "train-labels.idx1-ubyte"
    assert files.test_images.name == "t10k-images-idx3-ubyte"   # unpacked for the C program
    np.testing.assert_array_equal(read_idx(files.test_images), imgs[:1])
    np.testing.assert_array_equal(read_idx(files.test_labels), labels[:1])
    assert files.as_args()[:2] == ["--train-images", str(tmp_path / "train-images-idx3-ubyte")]
    (tmp_path / "train-images-idx3-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="train-images"):
        MnistFiles.from_dir(tmp_path)


def test_written_files_read_back(tmp_path):
    files = write_mnist_like(tmp_path)
    np.testing.assert_array_equal(read_idx(files.test_images), mnist_like_split().test_images)
    assert read_idx(files.train_labels).shape == (1437,)


def test_missing_compiler_gives_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("INFOLOSS_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", "no-such-compiler-xyz")
    with pytest.raises(clenet.CompilerNotFoundError, match="no C compiler"):
        clenet.build("mse")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CC")
    with pytest.raises(clenet.CompilerNotFoundError, match="install"):
        clenet.build("mse")


def test_build_caches_by_source_and_flags():
    a = clenet.build("mse")
    assert a.exists() and clenet.build("mse") == a
    assert clenet.build("ce_fixed") != a
    assert clenet.build("mse", flags=("-O1",)) != a
    with pytest.raises(ValueError, match="delta"):
        clenet.build("hinge")
    with pytest.raises(clenet.BuildError, match="failed"):
        clenet.build(body="this is not C;")


def test_custom_body_equals_builtin_delta():
    body = ("double m = input[0], s = 0;\n"
            "for (int i = 1; i < count; ++i) if (input[i] > m) m = input[i];\n"
            "for (int i = 0; i < count; ++i) s += (loss[i] = exp(input[i] - m));\n"
            "for (int i = 0; i < count; ++i) loss[i] = (i == label) - loss[i] / s;\n")
    a = clenet.train("ce_fixed", alpha=0.1, seed=4, epochs=1)
    b = clenet.train(body=body, alpha=0.1, seed=4, epochs=1)
    assert a.init["delta"] == "ce_fixed" and b.init["delta"] == "custom"
    np.testing.assert_allclose(b.param_norm, a.param_norm, rtol=1e-9)


# Epoch budgets: enough for each behaviour to show on seeds 1-3 (about 75 s on 2 cores).
BUDGET = {"mse_a0.5": 20, "ce_textbook_a0.5": 2, "ce_fixed_a0.5": 12, "ce_fixed_a0.1": 20,
          "mse_a0.1": 12}


@pytest.fixture(scope="module")
def behaviours():
    """Each variant of the case study on three seeds, small epoch budget (run in parallel)."""
    configs, names = [], []
    for name, v in clenet.VARIANTS.items():
        for s in SEEDS:
            configs.append({**v, "seed": s, "epochs": BUDGET[name]})
            names.append(name)
    out: dict[str, list] = {n: [] for n in clenet.VARIANTS}
    for name, log in zip(names, clenet.train_many(configs), strict=True):
        out[name].append(log)
    return out


@pytest.mark.slow
def test_textbook_sign_blows_up(behaviours):
    for log in behaviours["ce_textbook_a0.5"]:
        norms = log.param_norm
        assert 5 < norms[0] < 10
        # gradient ascent: the weights explode within a few updates (inf/NaN soon after)
        assert not math.isfinite(norms[8]) or norms[8] > 1e20, norms[:9]
        assert log.final_acc == pytest.approx(0.10, abs=0.005)


@pytest.mark.slow
def test_original_mse_learns_at_alpha_half(behaviours):
    for log in behaviours["mse_a0.5"]:
        assert log.final_acc >= 0.85, log.test_acc
        assert log.epochs[-1]["test_ce"] < math.log(10) - 0.5


@pytest.mark.slow
def test_fixed_sign_at_alpha_tenth_learns_fastest(behaviours):
    for fixed, mse in zip(behaviours["ce_fixed_a0.1"], behaviours["mse_a0.5"], strict=True):
        assert fixed.final_acc >= 0.93, fixed.test_acc
        # reaches 90% before the original delta at ALPHA 0.5 does
        assert fixed.first_epoch_reaching(0.9) < mse.first_epoch_reaching(0.9)


@pytest.mark.slow
def test_original_mse_at_alpha_tenth_is_slow(behaviours):
    # the MSE delta carries a factor q: at ALPHA 0.1 it lags far behind the fixed CE
    slow = behaviours["mse_a0.1"]
    fixed = behaviours["ce_fixed_a0.1"]
    for s, f in zip(slow, fixed, strict=True):
        epoch = len(s.epochs)
        assert s.final_acc < 0.75 and f.test_acc[epoch] - s.final_acc > 0.2, (
            s.test_acc, f.test_acc[:epoch + 1])


@pytest.mark.slow
def test_fixed_sign_at_alpha_half_is_unreliable(behaviours):
    logs = behaviours["ce_fixed_a0.5"]
    finals = [log.final_acc for log in logs]
    # most seeds collapse to chance, with the test loss of a uniform prediction, ln 10
    assert sum(f < 0.5 for f in finals) >= 2, finals
    for log in logs:
        if log.final_acc < 0.5:
            assert log.epochs[-1]["test_ce"] == pytest.approx(math.log(10), abs=0.05)


def test_book_results_match_the_c_source():
    """Chapter 9 plots committed runs; they must come from the current lenet5.c."""
    for name, kw in clenet.BOOK_RESULTS.items():
        assert clenet.results_are_current(clenet.BOOK_DATA / name, **kw), (
            f"book/data/{name} is stale (lenet5.c or the settings changed): run "
            "`python -m infoloss.clenet` (or `make book`) and commit the results")
