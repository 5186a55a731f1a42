"""Judge specs: what the trusted judge asks of each assignment.

An assignment's spec is ``solutions/<assignment>/judge.py`` (instructor-only: the release
ignores ``*.py``). It defines ``probes()``, yielding :class:`Probe` objects, and may set
``WARM`` (modules the sandboxed interpreter imports before the notebook, e.g.
``["numpy", "torch"]``) and ``LIMITS`` (overrides of :class:`autograder.sandbox.Limits`).

A probe is one call of student code, made inside the sandbox on inputs from the spec::

    Probe("test_entropy", "entropy(p, base=2)", inputs={"p": batch},
          compare=Close(rtol=1e-10, dtype="float64"), hint="a batch of distributions")

* ``cell``: the grade_id of the notebook test cell whose points the probe decides; a cell
  earns its points when all of its probes pass (the probes of a cell should check what
  its visible and hidden tests check, so that an honest notebook and the judge agree);
* ``expr``: a Python expression evaluated in the notebook's namespace plus ``inputs``;
* ``inputs``: numbers, strings or NumPy arrays; they enter the sandbox;
* ``compare``: how the result is judged against the instructor solution's result for the
  same probe (:class:`Close`, :class:`Raises`, :class:`Exact`, :class:`Accuracy`) or any
  callable ``(student, reference) -> (ok, message)``; comparison data such as held-out
  labels lives in the comparator and never enters the sandbox;
* ``hint``: the short message the student sees in the feedback (never the input).

Test cells that no probe covers are scored by the in-notebook tests (run in the sandbox),
and the submission's log says so; an assignment without ``judge.py`` is graded that way.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import SOLUTIONS, protocol
from .protocol import Raised, Unsupported, decode_result  # noqa: F401 (re-exported)

SAYS_WHY = r"\S"
"""``Raises(..., SAYS_WHY)``: any non-empty message (what ``check_raises`` without
``match=`` asks of a notebook's error)."""


@dataclass
class Close:
    """Numbers or arrays equal within tolerance; shape and (when set) dtype must match."""

    rtol: float = 1e-9
    atol: float = 0.0
    dtype: str | None = None

    def __call__(self, got: Any, ref: Any) -> tuple[bool, str]:
        if isinstance(ref, Raised):
            return _compare_raised(got, ref.mro[0], None)
        if isinstance(got, Raised):
            return False, _raised_instead(got)
        if not isinstance(got, np.ndarray) or got.dtype.kind not in "biuf":
            return False, f"expected a number or a NumPy array, got {_what(got)}"
        ref = np.asarray(ref)
        if got.shape != ref.shape:
            return False, f"wrong shape {got.shape} (expected {ref.shape})"
        if self.dtype and got.dtype != np.dtype(self.dtype):
            return False, f"wrong dtype {got.dtype} (expected {self.dtype})"
        a, e = got.astype(np.float64), ref.astype(np.float64)
        if np.any(np.isnan(a) != np.isnan(e)):
            return False, "NaN where a number was expected (or the reverse)"
        inf = np.isinf(a) | np.isinf(e)
        if np.any(inf & (a != e)):
            return False, "wrong infinite value"
        fin = ~inf & ~np.isnan(e)
        with np.errstate(all="ignore"):
            bad = np.abs(a[fin] - e[fin]) > self.atol + self.rtol * np.abs(e[fin])
        if np.any(bad):
            return False, "wrong value"
        return True, "ok"


@dataclass
class CheckClose(Close):
    """What the visible tests' ``check_close`` accepts (rtol 1e-7, any array-like of numbers,
    a list too, no dtype check): the comparator of a probe that repeats a visible
    ``check_close``, so that the two cannot disagree on honest code."""

    rtol: float = 1e-7
    expected: Any = None
    """The visible test's own number, when it compares with that instead of the solution's
    answer (None: the solution's answer)."""

    def __call__(self, got: Any, ref: Any) -> tuple[bool, str]:
        if self.expected is not None:
            ref = np.asarray(self.expected, dtype=np.float64)
        if isinstance(got, list):
            try:
                got = np.asarray(got, dtype=np.float64)
            except (TypeError, ValueError):
                return False, "expected numbers, got a list of something else"
        return super().__call__(got, ref)


class Parts:
    """A list result judged item by item, each with its own comparator (one run of a
    function checked several ways); the message names the first part that is wrong."""

    def __init__(self, *parts: tuple[str, Any]) -> None:
        self.parts = parts   # (what the part is, comparator)

    def __call__(self, got: Any, ref: Any) -> tuple[bool, str]:
        if isinstance(ref, Raised) or isinstance(got, Raised):
            return Exact()(got, ref)
        if not isinstance(got, list) or len(got) != len(self.parts):
            return False, f"expected a list of {len(self.parts)} results"
        for (what, compare), g, r in zip(self.parts, got, ref, strict=True):
            ok, msg = compare(g, r)
            if not ok:
                return False, f"{what}: {msg}"
        return True, "ok"


@dataclass
class Exact:
    """Equal plain values (ints, strings, booleans) of the same type."""

    def __call__(self, got: Any, ref: Any) -> tuple[bool, str]:
        if isinstance(ref, Raised):
            return _compare_raised(got, ref.mro[0], None)
        if type(got) is not type(ref):
            return False, f"expected {type(ref).__name__}, got {_what(got)}"
        if isinstance(ref, np.ndarray):
            ok = got.shape == ref.shape and got.dtype == ref.dtype and bool(np.all(got == ref))
        else:
            ok = got == ref
        return (True, "ok") if ok else (False, "wrong value")


@dataclass
class Raises:
    """The call must raise ``exc`` (or a subclass), its message matching ``match``."""

    exc: type[BaseException] = ValueError
    match: str | None = None

    def __call__(self, got: Any, ref: Any) -> tuple[bool, str]:
        return _compare_raised(got, self.exc.__name__, self.match)


@dataclass
class Accuracy:
    """Predicted class labels scored against held-out ``labels`` kept outside the sandbox."""

    labels: np.ndarray
    minimum: float

    def __call__(self, got: Any, ref: Any) -> tuple[bool, str]:
        labels = np.asarray(self.labels)
        if not isinstance(got, np.ndarray) or got.dtype.kind not in "iu" or \
                got.shape != labels.shape:
            return False, f"expected {labels.shape[0]} integer labels, got {_what(got)}"
        acc = float(np.mean(got == labels))
        if acc < self.minimum:
            return False, f"accuracy {acc:.3f} below {self.minimum:.3f}"
        return True, f"accuracy {acc:.3f}"


def _compare_raised(got: Any, name: str, match: str | None) -> tuple[bool, str]:
    if not isinstance(got, Raised):
        return False, f"expected {name}, but the call returned {_what(got)}"
    if name not in got.mro:
        return False, f"expected {name}, but the call raised {_said(got)}"
    if match and not re.search(match, got.message, flags=re.I):
        return False, (f"expected a {name} whose message names the problem (it should mention "
                       f"{_readable(match)!r}); the {name} raised says {_quote(got.message)}")
    return True, "ok"


def _raised_instead(got: Raised) -> str:
    if "Warning" in got.mro:
        return (f"the call warned ({_said(got)}); graded calls must not warn "
                "(a warning fails the check)")
    return f"expected a result, but the call raised {_said(got)}"


def _said(got: Raised) -> str:
    return f"{got.mro[0]}: {_quote(got.message)}" if got.message else got.mro[0]


def _quote(message: str) -> str:
    message = " ".join(message.split())
    return repr(message if len(message) <= 120 else message[:117] + "...")


def _readable(pattern: str) -> str:
    """A match pattern as words: 'probab' stays, 'sum|total' becomes 'sum' or 'total'."""
    words = re.sub(r"\\[bBdDsSwW]|[\\^$()?*+\[\]{}.]", "", pattern)
    return words.replace("|", "' or '")


def _what(value: Any) -> str:
    if isinstance(value, Raised):
        return f"an error ({_said(value)})"
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, Unsupported):
        return f"an object of type {value.type}"
    return type(value).__name__


@dataclass
class Probe:
    cell: str
    expr: str
    inputs: dict[str, Any] = field(default_factory=dict)
    compare: Any = field(default_factory=Close)
    hint: str = ""
    visible: bool = False
    """The probe repeats a check of the cell's *visible* tests (same call, same answer). When
    the notebook's visible tests pass but such a probe fails, the notebook's tests were
    fooled: the submission is ``tamper_suspected``. A failing hidden-only probe just costs
    the cell's points (honest wrong work)."""


@dataclass(frozen=True)
class Rule:
    """A rule the task text states about *how* functions are written, e.g. "Do not call
    SciPy or PyTorch": the functions named may not use the modules named (directly, through
    an alias or a helper function of the submission). A broken rule costs ``cell``'s points,
    with ``says`` (the task's own words) as the reason the student sees."""

    cell: str
    functions: tuple[str, ...]
    modules: tuple[str, ...]
    says: str

    @property
    def hint(self) -> str:
        return f"rule: {self.says}"


@dataclass
class Spec:
    assignment: str
    probes: list[Probe]
    warm: tuple[str, ...] = ("numpy",)
    limits: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    rules: tuple[Rule, ...] = ()

    @property
    def cells(self) -> set[str]:
        return {p.cell for p in self.probes}


def spec_path(assignment: str) -> Path:
    return SOLUTIONS / assignment / "judge.py"


def spec_module(assignment: str):
    """The assignment's ``judge.py`` as a module (None when it has none)."""
    path = spec_path(assignment)
    if not path.exists():
        return None
    mod_spec = importlib.util.spec_from_file_location(f"judge_{assignment}", path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module


def load_spec(assignment: str) -> Spec | None:
    """The assignment's judge spec, or None when it has none."""
    module = spec_module(assignment)
    if module is None:
        return None
    path = spec_path(assignment)
    probes = list(module.probes())
    for p in probes:
        if not re.fullmatch(r"[A-Za-z_]\w*", p.cell):
            raise ValueError(f"{path}: probe cell {p.cell!r} is not a grade_id")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    rules = tuple(getattr(module, "RULES", ()))
    for r in rules:
        if not isinstance(r, Rule):
            raise ValueError(f"{path}: RULES must hold autograder.spec.Rule objects, got {r!r}")
    return Spec(assignment, probes, tuple(getattr(module, "WARM", ("numpy",))),
                dict(getattr(module, "LIMITS", {})), digest, rules)


def encode_inputs(probes: list[Probe]) -> tuple[list[dict], bytes]:
    """The probes as the runner reads them, and their array inputs as ``.npz`` bytes."""
    described, arrays = protocol.encode_inputs([p.inputs for p in probes])
    out = [{"k": k, "cell": p.cell, "expr": p.expr, "inputs": names}
           for k, (p, names) in enumerate(zip(probes, described, strict=True))]
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return out, buf.getvalue()
