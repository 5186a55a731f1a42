"""Build and run the course's C LeNet-5 (``csrc/lenet5/lenet5.c``) from Python.

Chapter 9 and problem set 6 watch a C program train: this module compiles it on demand
with the system C compiler (``cc -O2``, or ``$CC``), caches the binary under a key made
of the source, the delta body and the flags (so an edit rebuilds and nothing else does),
runs it on IDX files and parses its JSON-lines log.

The output delta is chosen at compile time: ``"mse"`` (the original softmax+MSE
negative gradient), ``"ce_textbook"`` (``p - onehot``), ``"ce_fixed"``
(``onehot - p``), or a C function body of your own (``body=...``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .mnistlike import MnistFiles, write_mnist_like
from .progress import progress

SOURCE = Path(__file__).resolve().parent / "csrc" / "lenet5" / "lenet5.c"  # package data
DELTAS = ("mse", "ce_textbook", "ce_fixed")


class CompilerNotFoundError(RuntimeError):
    """No C compiler was found to build the course's LeNet-5."""


class BuildError(RuntimeError):
    """The C compiler rejected the program (for example a delta body with an error)."""


def cache_dir() -> Path:
    """Where binaries and data files are cached: ``$INFOLOSS_CACHE`` or ~/.cache/infoloss."""
    root = os.environ.get("INFOLOSS_CACHE") or Path.home() / ".cache" / "infoloss"
    return Path(root)


def source_path() -> Path:
    """The C source (``$INFOLOSS_LENET_SOURCE`` overrides the copy in the repository)."""
    return Path(os.environ.get("INFOLOSS_LENET_SOURCE") or SOURCE)


def source_hash() -> str:
    """SHA-256 of the C source, so results computed with it can be keyed by it."""
    return hashlib.sha256(source_path().read_bytes()).hexdigest()


def find_compiler(cc: str | None = None) -> str:
    """The compiler to use: ``cc`` argument, else ``$CC``, else ``cc``; must be on PATH."""
    name = cc or os.environ.get("CC") or "cc"
    found = shutil.which(name)
    if not found:
        raise CompilerNotFoundError(
            f"no C compiler {name!r} found on PATH. The course's LeNet-5 is a C program: "
            "install one (Debian/Ubuntu: `sudo apt-get install gcc`, macOS: "
            "`xcode-select --install`) or set $CC to the compiler's name.")
    return found


def build(delta: str = "mse", *, body: str | None = None, flags: tuple[str, ...] = ("-O2",),
          cc: str | None = None) -> Path:
    """Compile the program for one output delta and return the path of the binary.

    ``body`` replaces the body of ``softmax(input, loss, label, count)`` with C code of
    your own (the variables ``input``, ``loss``, ``label``, ``count`` and ``OUTPUT`` are
    in scope, ``<math.h>`` is included). Binaries are cached by source, body and flags.
    """
    if body is None and delta not in DELTAS:
        raise ValueError(f"delta must be one of {DELTAS} (or pass body=...), got {delta!r}")
    if body is not None and not isinstance(body, str):
        raise ValueError(f"body must be a string of C code, got {type(body).__name__}")
    compiler = find_compiler(cc)
    src = source_path()
    key_parts = [src.read_bytes(), (body or "").encode(), compiler.encode(),
                 " ".join(flags).encode(), (delta if body is None else "custom").encode()]
    key = hashlib.sha256(b"\0".join(key_parts)).hexdigest()[:20]
    out_dir = cache_dir() / "clenet"
    out_dir.mkdir(parents=True, exist_ok=True)
    exe = out_dir / f"lenet5-{key}"
    if exe.exists():
        return exe
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        defines = [f"-DDELTA={delta}"]
        if body is not None:
            body_file = Path(tmp) / "delta_body.h"
            body_file.write_text(body + "\n")
            defines = ["-DDELTA=custom", f'-DDELTA_BODY="{body_file}"']
        tmp_exe = Path(tmp) / "lenet5"
        cmd = [compiler, *flags, "-std=c99", *defines, "-o", str(tmp_exe), str(src), "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BuildError(f"compiling the C LeNet-5 failed:\n{' '.join(cmd)}\n{proc.stderr}")
        os.replace(tmp_exe, exe)
    return exe


@dataclass
class RunLog:
    """The parsed log of one training run."""

    init: dict[str, Any]
    updates: list[dict[str, Any]] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def test_acc(self) -> list[float]:
        """Test accuracy before training and after each epoch."""
        return [self.init["test_acc"]] + [e["test_acc"] for e in self.epochs]

    @property
    def final_acc(self) -> float:
        return self.test_acc[-1]

    @property
    def param_norm(self) -> list[float]:
        """Parameter norm at initialisation and after each update."""
        return [self.init["param_norm"]] + [u["param_norm"] for u in self.updates]

    @property
    def batch_ce(self) -> list[float]:
        return [u["batch_ce"] for u in self.updates]

    @property
    def epoch_seconds(self) -> list[float]:
        return [e["train_seconds"] for e in self.epochs]

    def first_epoch_reaching(self, acc: float) -> float:
        """First epoch whose test accuracy is at least ``acc`` (inf if never)."""
        for e in self.epochs:
            if e["test_acc"] >= acc:
                return e["epoch"]
        return math.inf

    def to_dict(self) -> dict[str, Any]:
        return {"init": self.init, "updates": self.updates, "epochs": self.epochs}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunLog:
        return cls(d["init"], list(d["updates"]), list(d["epochs"]))


def parse_log(text: str) -> RunLog:
    """Parse the program's JSON-lines log (NaN and Infinity allowed)."""
    log: RunLog | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        kind = rec.pop("kind")
        if kind == "init":
            log = RunLog(rec)
        elif log is None:
            raise ValueError("the log must start with an 'init' record")
        elif kind == "update":
            log.updates.append(rec)
        elif kind == "epoch":
            log.epochs.append(rec)
    if log is None:
        raise ValueError("empty log: the program wrote no records")
    return log


def default_data() -> MnistFiles:
    """The MNIST-shaped digits split as IDX files in the cache (written on first use)."""
    return write_mnist_like(cache_dir() / "mnistlike")


def train(delta: str = "mse", *, alpha: float = 0.5, seed: int = 1, epochs: int = 50,
          batch: int = 300, data: MnistFiles | None = None, body: str | None = None,
          eval_train: bool = False, timeout: float | None = None,
          flags: tuple[str, ...] = ("-O2",)) -> RunLog:
    """Build (if needed) and run the C LeNet-5; return its parsed log.

    Defaults follow the case study: ALPHA 0.5, batch 300, 50 epochs on the digits split.
    """
    if epochs < 0 or batch < 1 or not alpha > 0:
        raise ValueError("need epochs >= 0, batch >= 1 and alpha > 0")
    exe = build(delta, body=body, flags=flags)
    files = data or default_data()
    cmd = [str(exe), *files.as_args(), "--alpha", repr(float(alpha)), "--seed", str(int(seed)),
           "--epochs", str(int(epochs)), "--batch", str(int(batch)), "--quiet"]
    if eval_train:
        cmd.append("--eval-train")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"the C LeNet-5 failed (exit {proc.returncode}): {proc.stderr}")
    return parse_log(proc.stdout)


def train_many(configs: list[dict[str, Any]], workers: int | None = None) -> list[RunLog]:
    """Run several :func:`train` configurations side by side (one process per core)."""
    workers = workers or max(1, min(len(configs), os.cpu_count() or 1))
    for cfg in configs:  # build first, once per variant, so parallel runs share binaries
        build(cfg.get("delta", "mse"), body=cfg.get("body"), flags=cfg.get("flags", ("-O2",)))
    default_data()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(progress(pool.map(lambda cfg: train(**cfg), configs),
                             desc="C LeNet-5 runs", total=len(configs)))


# The four behaviours of the case study (plus the slow MSE run at ALPHA 0.1).
VARIANTS: dict[str, dict[str, Any]] = {
    "mse_a0.5": {"delta": "mse", "alpha": 0.5},
    "ce_textbook_a0.5": {"delta": "ce_textbook", "alpha": 0.5},
    "ce_fixed_a0.5": {"delta": "ce_fixed", "alpha": 0.5},
    "ce_fixed_a0.1": {"delta": "ce_fixed", "alpha": 0.1},
    "mse_a0.1": {"delta": "mse", "alpha": 0.1},
}


def _settings(seeds, epochs, batch, variants) -> dict[str, Any]:
    settings = {"seeds": list(seeds), "epochs": epochs, "batch": batch,
                "variants": variants, "source_sha256": source_hash()}
    return json.loads(json.dumps(settings))  # tuples -> lists, as stored


def results_are_current(path: str | Path, seeds: tuple[int, ...] = (1, 2, 3, 4, 5),
                        epochs: int = 50, batch: int = 300,
                        variants: dict[str, dict[str, Any]] | None = None) -> bool:
    """Whether ``path`` holds runs of the current C source with these settings."""
    path = Path(path)
    if not path.exists():
        return False
    stored = json.loads(path.read_text())
    return stored.get("settings") == _settings(seeds, epochs, batch, variants or VARIANTS)


def cached_runs(path: str | Path, seeds: tuple[int, ...] = (1, 2, 3, 4, 5), epochs: int = 50,
                batch: int = 300, variants: dict[str, dict[str, Any]] | None = None,
                workers: int | None = None) -> dict[str, list[RunLog]]:
    """Every variant x seed run, read from ``path`` or recomputed when the C source changed.

    The results file records the SHA-256 of the C source and the settings; if either
    differs from now, all runs are repeated (in parallel) and the file is rewritten. This
    keeps a book build fast while guaranteeing its figures come from the current program.
    """
    path = Path(path)
    variants = variants or VARIANTS
    settings = _settings(seeds, epochs, batch, variants)
    if results_are_current(path, seeds, epochs, batch, variants):
        stored = json.loads(path.read_text())
        return {name: [RunLog.from_dict(r) for r in runs]
                for name, runs in stored["runs"].items()}
    configs, names = [], []
    for name, v in variants.items():
        for s in seeds:
            configs.append({**v, "seed": s, "epochs": epochs, "batch": batch})
            names.append(name)
    logs = train_many(configs, workers=workers)
    runs: dict[str, list[RunLog]] = {name: [] for name in variants}
    for name, log in zip(names, logs, strict=True):
        runs[name].append(log)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"settings": settings,
               "runs": {n: [r.to_dict() for r in rs] for n, rs in runs.items()}}
    path.write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    return runs


# What chapter 9 shows: its results files, settings and the no-output-ReLU variants
# (the fix at ALPHA 0.1, compared with the output-ReLU runs over the same seeds and
# epochs, and the textbook sign, whose outputs become NaN instead of 0 without the ReLU).
_REPO = Path(__file__).resolve().parents[1]   # the course checkout (book/, _build/)
BOOK_DATA = _REPO / "book" / "data"
LINEAR_OUTPUT = {"ce_fixed_a0.1_linear": {"delta": "ce_fixed", "alpha": 0.1,
                                          "flags": ["-O2", "-DOUTPUT_RELU=0"]},
                 "ce_textbook_a0.5_linear": {"delta": "ce_textbook", "alpha": 0.5,
                                             "flags": ["-O2", "-DOUTPUT_RELU=0"]}}
BOOK_RESULTS = {
    "lenet_runs.json": {},
    "lenet_runs_linear_output.json": {"variants": LINEAR_OUTPUT},
}


def book_runs(name: str = "lenet_runs.json") -> dict[str, list[RunLog]]:
    """The runs chapter 9 plots (recomputed only when the C source changed)."""
    return cached_runs(BOOK_DATA / name, **BOOK_RESULTS[name])


def refresh_book_results() -> bool:
    """Recompute stale book results; True if anything was recomputed."""
    stale = [n for n, kw in BOOK_RESULTS.items() if not results_are_current(BOOK_DATA / n, **kw)]
    for name in stale:
        book_runs(name)
    return bool(stale)


if __name__ == "__main__":  # python -m infoloss.clenet: refresh chapter 9's results
    import sys

    if refresh_book_results():
        # the book's execution cache keys on page content, not on the C source
        shutil.rmtree(_REPO / "_build" / ".jupyter_cache", ignore_errors=True)
        print("chapter 9 results recomputed; execution cache cleared", file=sys.stderr)
