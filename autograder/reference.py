"""Reference: the instructor solution's answers to every judge probe, cached per course.

The answers depend only on the solution notebook, the judge spec, the course package, the
C sources and the numeric libraries, so they are stored in the course folder under a key
made of all of those (``.autograder/references/``) and reused by the next ``grade`` of the
same assignment: regrading, late submissions and one-student runs skip the solution's
run (about 25 s for ps06). The cache holds plain data only (JSON and ``.npz``, no pickle).
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import nbformat
import numpy as np

from . import SOLUTIONS
from .execute import RawResult, run
from .judge import reference_values
from .sandbox import Limits
from .spec import Raises, Spec, encode_inputs

CACHE = Path(".autograder") / "references"


def reference_key(assignment: str, spec: Spec) -> str:
    """Hash of everything the reference answers depend on."""
    h = hashlib.sha256()
    h.update((SOLUTIONS / assignment / f"{assignment}.ipynb").read_bytes())
    h.update(spec.digest.encode())
    import infoloss

    package = Path(infoloss.__file__).resolve().parent
    files = sorted(package.rglob("*.py")) + sorted(package.glob("*.npz")) + sorted(
        p for p in (package / "csrc").rglob("*") if p.is_file())
    for path in files:
        h.update(str(path.relative_to(package)).encode())
        h.update(path.read_bytes())
    for dist in ("numpy", "scipy", "torch", "scikit-learn"):
        try:
            h.update(f"{dist}={metadata.version(dist)}".encode())
        except metadata.PackageNotFoundError:
            pass
    h.update(platform.machine().encode())
    return h.hexdigest()[:24]


def _solution_run(source_nb: nbformat.NotebookNode, spec: Spec, limits: Limits) -> RawResult:
    """Run the solution (trusted code, no sandbox needed) and its probes."""
    cells = [c for c in source_nb.cells if c.cell_type == "code" and not (
        c.metadata.get("nbgrader", {}).get("grade") and not
        c.metadata.get("nbgrader", {}).get("solution"))]
    probes, inputs = encode_inputs(spec.probes)
    job = {"chunks": [{"i": i, "source": c.source} for i, c in enumerate(cells)],
           "probes": probes}
    raw = run(job, inputs, replace(limits, use_bwrap=False, wall=600, chunk_timeout=600,
                                   probe_timeout=600))
    failed = [k for k, enc in raw.probes.items() if enc.get("kind") in ("timeout", "crashed")]
    broken = [i for i, c in raw.chunks.items() if not c.ok]
    if failed or broken or len(raw.probes) != len(probes):
        raise RuntimeError(f"the instructor solution fails its own judge spec: chunks {broken} "
                           f"fail, probes {failed} crash ({raw.events})")
    # A probe the solution answers with an error must be one that asks for an error: an
    # unexpected exception (a warning, under the warnings rule) would become the answer
    # every student is held to.
    wrong = [f"probe {k} ({spec.probes[k].cell}: {spec.probes[k].expr}) raised "
             f"{enc.get('mro', ['?'])[0]}: {enc.get('message', '')}"
             for k, enc in sorted(raw.probes.items())
             if enc.get("kind") == "raised" and not isinstance(spec.probes[k].compare, Raises)]
    if wrong:
        raise RuntimeError("the instructor solution fails its own judge spec: "
                           + "; ".join(wrong))
    return raw


def _save(raw: RawResult, json_path: Path) -> None:
    arrays = {f"{k}/{name}": a for k, named in raw.arrays.items() for name, a in named.items()}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_json, tmp_npz = json_path.with_suffix(".json.tmp"), json_path.with_suffix(".npz.tmp")
    tmp_npz.write_bytes(buf.getvalue())
    tmp_json.write_text(json.dumps({str(k): enc for k, enc in raw.probes.items()}))
    tmp_npz.replace(json_path.with_suffix(".npz"))
    tmp_json.replace(json_path)  # the .json appears last: its presence means complete


def _load(json_path: Path) -> RawResult | None:
    try:
        probes = {int(k): enc for k, enc in json.loads(json_path.read_text()).items()}
        arrays: dict[int, dict[str, np.ndarray]] = {}
        with np.load(json_path.with_suffix(".npz"), allow_pickle=False) as npz:
            for key in npz.files:
                k, name = key.split("/", 1)
                arrays.setdefault(int(k), {})[name] = npz[key]
    except (OSError, ValueError, KeyError):
        return None  # missing or damaged: recompute
    return RawResult(probes=probes, arrays=arrays)


def reference_answers(assignment: str, source_nb: nbformat.NotebookNode, spec: Spec,
                      limits: Limits, course: Path | None = None) -> list:
    """The solution's answer to each probe, from the course's cache when it is current."""
    path = None
    if course is not None:
        path = Path(course) / CACHE / f"{assignment}-{reference_key(assignment, spec)}.json"
        cached = _load(path) if path.exists() else None
        if cached is not None and len(cached.probes) == len(spec.probes):
            return reference_values(spec, cached)
    raw = _solution_run(source_nb, spec, limits)
    if path is not None:
        _save(raw, path)
    return reference_values(spec, raw)
