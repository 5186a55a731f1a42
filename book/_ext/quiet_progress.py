"""Sphinx extension: no progress bars in the built book.

Loaded through ``sphinx: local_extensions`` in ``_config.yml``. The pages' kernels inherit
the build's environment, so setting ``INFOLOSS_PROGRESS=0`` here silences
``infoloss.progress`` in every executed page, however the build was started.
"""

from __future__ import annotations

import os
from typing import Any

from infoloss.progress import ENV


def setup(app: Any) -> dict[str, Any]:
    os.environ[ENV] = "0"
    return {"parallel_read_safe": True, "parallel_write_safe": True}
