"""Where the runtime keeps what it can remake (file digests, optimised ONNX Runtime models).

$INPAINT_CACHE_DIR, by default ~/.cache/inpaint; "off" keeps nothing. Everything in it is
rebuilt when missing or unreadable, so deleting it is always safe.
"""
from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "INPAINT_CACHE_DIR"
DEFAULT_CACHE = "~/.cache/inpaint"


def cache_root() -> Path | None:
    """The cache directory, or None where the user turned caching off."""
    value = os.environ.get(CACHE_ENV) or DEFAULT_CACHE
    return None if value.lower() == "off" else Path(value).expanduser()
