"""Data sets that ship with the installed packages, so that nothing downloads at run time.

Every chapter and exercise uses the same split of scikit-learn's 8x8 digits
(1,797 images): 1,437 for training and 360 for testing, stratified, ``random_state=0``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

N_TEST = 360
SPLIT_SEED = 0


@dataclass(frozen=True)
class Split:
    """A train/test split of images (N, 8, 8) in [0, 16] and integer labels (N,)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1


SPLIT_FILE = Path(__file__).with_name("digits_split.npz")


def load_digits_split(test_size: int = N_TEST, random_state: int = SPLIT_SEED) -> Split:
    """The course's standard digits split (stratified, reproducible).

    The standard split is read from ``digits_split.npz`` beside this module (made by
    :func:`write_split_file`, the same arrays bit for bit), so a notebook that only needs the
    digits does not import scikit-learn (about a CPU-second per sandboxed run); any other
    split is computed with scikit-learn.
    """
    if (test_size, random_state) == (N_TEST, SPLIT_SEED) and SPLIT_FILE.exists():
        with np.load(SPLIT_FILE) as f:
            return Split(f["X_train"].astype(np.float64), f["y_train"].astype(np.int64),
                         f["X_test"].astype(np.float64), f["y_test"].astype(np.int64))
    return split_with_sklearn(test_size, random_state)


def split_with_sklearn(test_size: int = N_TEST, random_state: int = SPLIT_SEED) -> Split:
    """The split computed from scikit-learn's bundled digits (the source of the cached file)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X_tr, X_te, y_tr, y_te = train_test_split(
        digits.images,
        digits.target,
        test_size=test_size,
        stratify=digits.target,
        random_state=random_state,
    )
    return Split(X_tr, y_tr.astype(np.int64), X_te, y_te.astype(np.int64))


def write_split_file(path: Path = SPLIT_FILE) -> Path:
    """Write the standard split as small integers (the pixels are 0..16, the labels 0..9):
    ``python -c "from infoloss.data import write_split_file; write_split_file()"``."""
    s = split_with_sklearn()
    arrays = {"X_train": s.X_train, "y_train": s.y_train, "X_test": s.X_test, "y_test": s.y_test}
    for name, a in arrays.items():
        if not np.array_equal(a, a.astype(np.uint8)):
            raise ValueError(f"{name} does not fit in uint8; the split file cannot hold it")
    np.savez_compressed(path, **{name: a.astype(np.uint8) for name, a in arrays.items()})
    return path


def intensity_distribution(images: np.ndarray, levels: int = 17) -> np.ndarray:
    """Empirical distribution of pixel intensities 0..levels-1 over a stack of images.

    Returns a float64 vector of length ``levels`` that sums to 1.
    """
    values = np.asarray(images).ravel()
    if values.size == 0:
        raise ValueError("intensity_distribution needs at least one pixel; got an empty array")
    if np.any(values < 0) or np.any(values >= levels) or np.any(values != np.round(values)):
        raise ValueError(f"pixel intensities must be integers in [0, {levels - 1}]")
    counts = np.bincount(values.astype(np.int64), minlength=levels)
    return counts / counts.sum()


def ink_distribution(images: np.ndarray) -> np.ndarray:
    """Where the ink goes: the mean image normalised to a distribution over pixel positions."""
    mean = np.asarray(images, dtype=np.float64).mean(axis=0).ravel()
    total = mean.sum()
    if total <= 0:
        raise ValueError("ink_distribution needs images with some non-zero pixels")
    return mean / total


def char_distribution(text: str) -> tuple[list[str], np.ndarray]:
    """Characters of ``text`` (most frequent first) and their empirical probabilities."""
    if not text:
        raise ValueError("char_distribution needs a non-empty text")
    counts = Counter(text).most_common()
    chars = [c for c, _ in counts]
    probs = np.array([n for _, n in counts], dtype=np.float64)
    return chars, probs / probs.sum()


def label_distribution(labels: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """Empirical distribution of integer class labels."""
    labels = np.asarray(labels)
    if labels.size == 0:
        raise ValueError("label_distribution needs at least one label")
    counts = np.bincount(labels.astype(np.int64), minlength=num_classes or 0)
    return counts / counts.sum()


SAMPLE_TEXT = (
    "In information theory the surprise of an outcome is the logarithm of one over its "
    "probability. Rare events carry many bits and certain events carry none. Entropy is the "
    "average surprise, cross entropy is the average surprise under a model that may be wrong, "
    "and the gap between the two is the Kullback Leibler divergence, which a classifier "
    "trained with the cross entropy loss drives towards zero."
)
"""A short English text written for the course, used for character-entropy examples."""
