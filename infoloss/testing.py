"""Assertions for notebook tests that teach: each failure says what was expected and why.

Floating-point results are compared with tolerances (never exact equality), and the
checks look at type, shape and dtype as well as values, so an answer that is right only
for the printed example does not pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np


def _as_array(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def check_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float = 1e-7,
    atol: float = 0.0,
    what: str = "result",
    check_shape: bool = True,
) -> None:
    """Assert that ``actual`` matches ``expected`` elementwise within tolerance.

    Infinities must match exactly (same sign) and NaN is only accepted where NaN is
    expected.
    """
    a = _as_array(actual)
    e = _as_array(expected)
    if check_shape and a.shape != e.shape:
        raise AssertionError(f"{what}: expected shape {e.shape}, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number) and a.dtype != np.bool_:
        raise AssertionError(f"{what}: expected numbers, got an array of dtype {a.dtype}")
    a64 = a.astype(np.float64)
    e64 = e.astype(np.float64)
    nan_a, nan_e = np.isnan(a64), np.isnan(e64)
    if np.any(nan_a & ~nan_e):
        idx = tuple(np.argwhere(nan_a & ~nan_e)[0])
        raise AssertionError(
            f"{what}: got NaN at index {idx} where {float(e64[idx])!r} was expected")
    if np.any(nan_e & ~nan_a):
        idx = tuple(np.argwhere(nan_e & ~nan_a)[0])
        raise AssertionError(f"{what}: expected NaN at index {idx}, got {float(a64[idx])!r}")
    inf_e = np.isinf(e64)
    if np.any(inf_e | np.isinf(a64)):
        mismatch = (np.isinf(a64) | inf_e) & (a64 != e64) & ~nan_e
        if np.any(mismatch):
            idx = tuple(np.argwhere(mismatch)[0])
            raise AssertionError(
                f"{what}: at index {idx} expected {float(e64[idx])!r}, got {float(a64[idx])!r}")
    finite = np.isfinite(e64) & np.isfinite(a64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a64 - e64)
    bad = finite & (diff > atol + rtol * np.abs(e64))
    if np.any(bad):
        idx = tuple(np.argwhere(bad)[0])
        raise AssertionError(
            f"{what}: at index {idx} expected {float(e64[idx])!r}, got {float(a64[idx])!r} "
            f"(|difference| {diff[idx]:.3g} > atol {atol:g} + rtol {rtol:g} * |expected|)"
        )


def check_dtype(actual: Any, dtype: Any, *, what: str = "result") -> None:
    """Assert that an array (or tensor) has the given dtype."""
    got = getattr(actual, "dtype", type(actual))
    if np.dtype(got) != np.dtype(dtype):
        raise AssertionError(f"{what}: expected dtype {np.dtype(dtype)}, got {got}")


def check_raises(
    exc_type: type[BaseException],
    fn: Callable[..., Any],
    *args: Any,
    match: str | None = None,
    what: str | None = None,
    **kwargs: Any,
) -> BaseException:
    """Assert that ``fn(*args, **kwargs)`` raises ``exc_type`` (message matching ``match``)."""
    label = what or f"{getattr(fn, '__name__', 'function')}{args!r}"
    try:
        fn(*args, **kwargs)
    except exc_type as exc:  # the expected outcome
        if match is not None and not re.search(match, str(exc), flags=re.IGNORECASE):
            raise AssertionError(
                f"{label}: raised {exc_type.__name__} as expected, but its message {str(exc)!r} "
                f"should mention {match!r}"
            ) from None
        if not str(exc).strip():
            raise AssertionError(f"{label}: raised {exc_type.__name__} with an empty message; "
                                 "say what is wrong with the input") from None
        return exc
    except NotImplementedError:
        raise
    except Exception as exc:
        raise AssertionError(
            f"{label}: expected {exc_type.__name__}, got {type(exc).__name__}: {exc}"
        ) from None
    raise AssertionError(f"{label}: expected {exc_type.__name__}, but nothing was raised")
