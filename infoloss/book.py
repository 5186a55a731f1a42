"""Helpers for the book's pages: put numbers computed by a page into its text."""

from __future__ import annotations

from typing import Any

import numpy as np


def glue(name: str, value: Any) -> None:
    """Glue a computed value for ``{glue:text}`name:.3f``` without displaying it.

    NumPy 2 scalars print as ``np.float64(...)``, which myst-nb's number formatting
    cannot parse, so they (and 0-d arrays) are turned into plain Python numbers first.
    """
    from myst_nb import glue as _glue

    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        value = value.item()
    _glue(name, value, display=False)
