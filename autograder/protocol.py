"""The runner protocol: what crosses the sandbox wall, encoded and decoded side by side.

Standard library only at import time (NumPy is imported inside the functions that need
it), because the runner imports this module inside the jail before anything else. Both
sides import it: :mod:`autograder.runner` (in the jail) encodes, the host decodes
(:mod:`autograder.execute`, :mod:`autograder.judge`).

Three things cross the wall:

* **events**, JSON lines from the runner on its event descriptor (:class:`Event`);
* **probe inputs**, host -> jail: plain values in JSON, arrays in one ``.npz``
  (:func:`encode_inputs` / :func:`decode_inputs`);
* **probe results**, jail -> host: the shape of the answer in JSON, its arrays in an
  ``.npz``, never a pickle (:func:`encode_result` / :func:`decode_result`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

# ------------------------------------------------------------------------------ events

READY, PHASE_B, DONE = "ready", "phase_b", "done"
CHUNK_START, CHUNK_END = "chunk_start", "chunk_end"
PROBE_START, PROBE_END = "probe_start", "probe_end"
EVENT_KINDS = (READY, CHUNK_START, CHUNK_END, PHASE_B, PROBE_START, PROBE_END, DONE)


def event_line(kind: str, **fields: Any) -> bytes:
    """One event as the runner writes it (a JSON line)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    return (json.dumps({"ev": kind, **fields}, allow_nan=True, default=str) + "\n").encode()


@dataclass(frozen=True)
class Event:
    """One event as the host reads it; fields that the runner (untrusted) sent with the
    wrong type read as absent, so a forged event cannot crash the supervisor."""

    kind: str
    i: int | None = None          # chunk index (chunk_start, chunk_end)
    k: int | None = None          # probe index (probe_start, probe_end)
    ok: bool | None = None        # chunk_end: the chunk ran without an error
    ename: str | None = None
    evalue: str | None = None
    output: str = ""
    result: dict | None = None    # probe_end: the encoded result
    cpu: float | None = None      # done: CPU seconds of the runner

    @classmethod
    def parse(cls, raw: Any) -> Event | None:
        """An event from decoded JSON, or None when it is not one."""
        if not isinstance(raw, dict) or raw.get("ev") not in EVENT_KINDS:
            return None

        def typed(name: str, types: tuple, cut: int | None = None):
            value = raw.get(name)
            if isinstance(value, bool) and bool not in types:
                return None
            if not isinstance(value, types):
                return None
            return value[:cut] if cut and isinstance(value, str) else value

        return cls(raw["ev"], typed("i", (int,)), typed("k", (int,)), typed("ok", (bool,)),
                   typed("ename", (str,), 200), typed("evalue", (str,), 25_000),
                   typed("output", (str,), 25_000) or "", typed("result", (dict,)),
                   float(raw["cpu"]) if typed("cpu", (int, float)) is not None else None)


# ------------------------------------------------------------------------- probe inputs

def encode_inputs(values_per_probe: list[dict[str, Any]]) -> tuple[list[dict], dict]:
    """Inputs of each probe -> (one JSON-able description per probe, arrays for the .npz)."""
    import numpy as np

    arrays: dict[str, Any] = {}
    out = []
    for k, values in enumerate(values_per_probe):
        names = {}
        for name, value in values.items():
            if isinstance(value, np.ndarray):
                if value.dtype.hasobject:
                    raise ValueError(f"probe {k}: input {name} is an object array")
                key = f"p{k}_{name}"
                arrays[key] = value
                names[name] = {"array": key}
            elif isinstance(value, (bool, int, float, str)) or value is None:
                names[name] = {"py": value}
            else:
                raise ValueError(f"probe {k}: input {name} must be a number, string or array")
        out.append(names)
    return out, arrays


def decode_inputs(described: dict, arrays: Any) -> dict:
    """One probe's inputs in the jail: fresh copies of its arrays, its plain values."""
    return {name: arrays[ref["array"]].copy() if "array" in ref else ref["py"]
            for name, ref in described.items()}


# ------------------------------------------------------------------------ probe results

ARRAY, NPSCALAR, PY, LIST, TUPLE = "array", "npscalar", "py", "list", "tuple"
RAISED, BAD, TIMEOUT, CRASHED = "raised", "bad", "timeout", "crashed"
_SCALARS = ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8",
            "uint16", "uint32", "uint64", "bool_")
_type = type


def encode_result(value: Any, key: str, arrays: dict, depth: int = 0) -> dict:
    """Plain-data description of a result; arrays go into ``arrays`` under ``key``.

    Only exact types are accepted (no subclasses), so an object with a clever ``__eq__``
    or a fake array cannot pass for a number.
    """
    import numpy as np

    t = _type(value)
    if t is np.ndarray:
        if value.dtype.kind not in "biuf" or value.dtype.hasobject:
            return {"kind": BAD, "type": f"ndarray of dtype {value.dtype}"}
        arrays[key] = value
        return {"kind": ARRAY, "key": key}
    if t in {getattr(np, n) for n in _SCALARS}:
        arrays[key] = np.asarray(value)
        return {"kind": NPSCALAR, "key": key}
    if t is bool or t is int or t is float:
        if t is int and abs(value) > 2**62:
            return {"kind": BAD, "type": "int too large"}
        return {"kind": PY, "type": t.__name__, "value": value}
    if t is str:
        return {"kind": PY, "type": "str", "value": value[:10_000]}
    if (t is list or t is tuple) and depth < 2 and len(value) <= 10_000:
        return {"kind": t.__name__, "items": [encode_result(v, f"{key}_{i}", arrays, depth + 1)
                                              for i, v in enumerate(value)]}
    torch = sys.modules.get("torch")
    if torch is not None and t is torch.Tensor:
        out = encode_result(value.detach().cpu().numpy(), key, arrays, depth)
        out["tensor"] = True
        return out
    return {"kind": BAD, "type": getattr(t, "__qualname__", "?")[:100]}


def encode_raised(exc: BaseException) -> dict:
    """A probe that raised, as plain data (its class names, most derived first)."""
    try:
        message = str(exc)[:300]
    except BaseException:  # noqa: BLE001 (an exception whose __str__ raises)
        message = ""
    return {"kind": RAISED, "message": message,
            "mro": [c.__name__ for c in _type(exc).__mro__][:20]}


@dataclass
class Raised:
    """A probe that raised: exception class names (most derived first) and message."""

    mro: list[str]
    message: str = ""


@dataclass
class Unsupported:
    """A result of a type the judge does not accept (subclass, custom object, ...)."""

    type: str


def decode_result(enc: dict, arrays: dict) -> Any:
    """Plain data from the runner -> Python/NumPy values the comparators take."""
    import numpy as np

    kind = enc.get("kind")
    if kind in (ARRAY, NPSCALAR):
        arr = arrays.get(str(enc.get("key")))
        return arr if isinstance(arr, np.ndarray) else Unsupported("missing array")
    if kind == PY:
        value, typ = enc.get("value"), enc.get("type")
        if typ in ("float", "int", "bool") and type(value).__name__ in ("float", "int", "bool"):
            return np.asarray(float(value) if typ == "float" else value)
        if typ == "str" and isinstance(value, str):
            return value
        return Unsupported(str(typ))
    if kind in (LIST, TUPLE):
        items = enc.get("items")
        if isinstance(items, list):
            return [decode_result(i, arrays) if isinstance(i, dict) else Unsupported("?")
                    for i in items]
    if kind == RAISED:
        mro = enc.get("mro") or [enc.get("exc", "?")]
        return Raised([str(m) for m in mro][:20], str(enc.get("message", ""))[:300])
    if kind in (TIMEOUT, CRASHED):
        return Unsupported(kind)
    return Unsupported(str(enc.get("type", kind)))
