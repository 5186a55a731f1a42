"""MNIST-shaped data made from scikit-learn's digits, for the C LeNet-5 of chapter 9.

LeNet-5 expects 28x28 grey images with values 0-255, like MNIST. The course runs
offline, with data that ships inside a Python package, so instead of MNIST it uses its
digits split (1,437 train / 360 test, stratified, ``random_state=0``) turned into that
shape: 0-16 scaled to 0-255, upsampled bilinearly from 8x8 to 20x20 (MNIST digits sit in
a 20x20 box) and centred in a 28x28 canvas. An optional MNIST-sized training set (60,000
images) is made from the training split only by random shifts, rotations and elastic
distortions, for speed work.
Real MNIST IDX files that a reader already has can be used instead (:class:`MnistFiles`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import load_digits_split
from .idx import read_idx, write_idx

CANVAS = 28
BOX = 20


def _linear_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix of linear interpolation with the corner pixels aligned."""
    pos = np.linspace(0.0, n_in - 1.0, n_out)
    lo = np.clip(np.floor(pos).astype(int), 0, n_in - 2)
    frac = pos - lo
    w = np.zeros((n_out, n_in))
    w[np.arange(n_out), lo] = 1.0 - frac
    w[np.arange(n_out), lo + 1] += frac
    return w


def digits_to_mnist(images: np.ndarray) -> np.ndarray:
    """(N, 8, 8) digits in 0..16 -> (N, 28, 28) uint8 in 0..255, 20x20 box centred."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim != 3 or x.shape[1:] != (8, 8):
        raise ValueError(f"digits_to_mnist expects images of shape (N, 8, 8), got {x.shape}")
    if x.size and (x.min() < 0 or x.max() > 16):
        raise ValueError("digits pixel values must lie in 0..16")
    w = _linear_weights(8, BOX)
    big = np.einsum("ij,njk,lk->nil", w, x * (255.0 / 16.0), w)
    out = np.zeros((len(x), CANVAS, CANVAS), dtype=np.uint8)
    off = (CANVAS - BOX) // 2
    out[:, off:off + BOX, off:off + BOX] = np.clip(np.rint(big), 0, 255).astype(np.uint8)
    return out


@dataclass(frozen=True)
class MnistLike:
    """uint8 images (N, 28, 28) and uint8 labels (N,) for training and testing."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def mnist_like_split() -> MnistLike:
    """The course's digits split in MNIST shape (1,437 train / 360 test images)."""
    s = load_digits_split()
    return MnistLike(digits_to_mnist(s.X_train), s.y_train.astype(np.uint8),
                     digits_to_mnist(s.X_test), s.y_test.astype(np.uint8))


def augment(images: np.ndarray, labels: np.ndarray, n: int, seed: int = 0,
            max_shift: float = 2.0, max_degrees: float = 12.0, elastic_alpha: float = 3.0,
            elastic_sigma: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random distortions (shift, rotation, elastic) of uint8 28x28 ``images``.

    Each output is a randomly chosen input image moved by up to ``max_shift`` pixels,
    rotated by up to ``max_degrees`` and displaced by a smooth random field (Simard et
    al. 2003) of strength ``elastic_alpha`` and smoothness ``elastic_sigma`` pixels.
    """
    from scipy.ndimage import gaussian_filter, map_coordinates

    images = np.asarray(images)
    if images.ndim != 3 or len(images) != len(labels) or len(images) == 0:
        raise ValueError("augment needs images (N, H, W) and N labels, N > 0")
    rng = np.random.default_rng(seed)
    h, w = images.shape[1:]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    pick = rng.integers(0, len(images), size=n)
    out = np.empty((n, h, w), dtype=np.uint8)
    chunk = 500
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        ang = np.deg2rad(rng.uniform(-max_degrees, max_degrees, size=(m, 1, 1)))
        sy, sx = rng.uniform(-max_shift, max_shift, size=(2, m, 1, 1))
        field = rng.uniform(-1, 1, size=(2, m, h, w))
        field = gaussian_filter(field, sigma=(0, 0, elastic_sigma, elastic_sigma))
        field *= elastic_alpha / (np.abs(field).max(axis=(2, 3), keepdims=True) + 1e-12)
        # where in the source image each output pixel comes from (inverse mapping)
        dy, dx = yy - cy - sy, xx - cx - sx
        src_y = cy + np.cos(ang) * dy - np.sin(ang) * dx + field[0]
        src_x = cx + np.sin(ang) * dy + np.cos(ang) * dx + field[1]
        src_n = np.broadcast_to(np.arange(m)[:, None, None], src_y.shape).astype(np.float64)
        batch = images[pick[start:start + m]].astype(np.float64)
        warped = map_coordinates(batch, [src_n, src_y, src_x], order=1, mode="constant")
        out[start:start + m] = np.clip(np.rint(warped), 0, 255).astype(np.uint8)
    return out, np.asarray(labels)[pick].astype(np.uint8)


@dataclass(frozen=True)
class MnistFiles:
    """Paths of the four IDX files a LeNet run reads."""

    train_images: Path
    train_labels: Path
    test_images: Path
    test_labels: Path

    @classmethod
    def from_dir(cls, directory: str | Path) -> MnistFiles:
        """Real MNIST files in ``directory`` under their usual names (``.gz`` accepted)."""
        d = Path(directory)
        names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
        found = []
        for name in names:
            for cand in (d / name, d / name.replace("-idx", ".idx"), d / f"{name}.gz"):
                if cand.exists():
                    found.append(cand)
                    break
            else:
                raise FileNotFoundError(f"no {name} in {d}")
        if any(p.suffix == ".gz" for p in found):  # the C program reads plain files
            plain = []
            for p in found:
                if p.suffix == ".gz":
                    target = p.with_suffix("")
                    if not target.exists():
                        write_idx(target, read_idx(p))
                    p = target
                plain.append(p)
            found = plain
        return cls(*found)

    def as_args(self) -> list[str]:
        return ["--train-images", str(self.train_images), "--train-labels",
                str(self.train_labels), "--test-images", str(self.test_images),
                "--test-labels", str(self.test_labels)]


def write_mnist_like(directory: str | Path, n_augmented: int = 0, seed: int = 0) -> MnistFiles:
    """Write the MNIST-shaped digits split as IDX files in ``directory`` (idempotent).

    With ``n_augmented > 0`` the training files hold that many distorted copies of the
    training split instead of the 1,437 originals (the test files are unchanged).
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    tag = f"aug{n_augmented}-s{seed}" if n_augmented else "digits"
    files = MnistFiles(d / f"{tag}-train-images-idx3-ubyte", d / f"{tag}-train-labels-idx1-ubyte",
                       d / "digits-test-images-idx3-ubyte", d / "digits-test-labels-idx1-ubyte")
    if all(p.exists() for p in (files.train_images, files.train_labels, files.test_images,
                                files.test_labels)):
        return files
    data = mnist_like_split()
    tr_x, tr_y = data.train_images, data.train_labels
    if n_augmented:
        tr_x, tr_y = augment(tr_x, tr_y, n_augmented, seed=seed)
    for path, arr in ((files.train_images, tr_x), (files.train_labels, tr_y),
                      (files.test_images, data.test_images),
                      (files.test_labels, data.test_labels)):
        tmp = path.with_name(path.name + ".tmp")
        write_idx(tmp, arr)
        tmp.replace(path)
    return files


def mnist_like_tensors(device=None, dtype=None):
    """The MNIST-shaped digits split as torch tensors, images (N, 1, 28, 28) in [0, 1].

    Returns ``(X_train, y_train, X_test, y_test)`` on ``device`` (default: ``pick_device()``).
    """
    import torch

    from .device import pick_device

    data = mnist_like_split()
    dev = device if device is not None else pick_device()
    dt = dtype or torch.float32

    def images(x):
        return torch.as_tensor(x[:, None] / 255.0, dtype=dt, device=dev)

    def labels(y):
        return torch.as_tensor(y.astype(np.int64), device=dev)

    return (images(data.train_images), labels(data.train_labels), images(data.test_images),
            labels(data.test_labels))
