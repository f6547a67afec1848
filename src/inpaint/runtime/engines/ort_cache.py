"""Optimised graphs for ONNX Runtime's CPU provider, kept between processes.

Creating a session runs ONNX Runtime's graph optimiser (fusions, and at the top level the NCHWc
layout of this CPU's vector width), which took most of a session's creation time. The first
session of a graph on a machine saves the optimised graph (`optimized_model_filepath`, weights
included) in the user cache; later processes load that file with optimisation off.

The optimised graph depends on the CPU (its layout transforms are made for this vector width),
so the key holds the graph's sha256, the weights file's (a graph names its weights by offset, so
two models of one shape share their graph files), its precision, the ONNX Runtime version, the
machine and the CPU's feature flags. A cached file ONNX Runtime cannot load is removed and made anew. Each
use touches its file; a file unused for UNUSED_DAYS is removed when a new one is saved, so graphs of
bundles no longer run (or of an older ONNX Runtime) do not pile up.
"""
from __future__ import annotations

import hashlib
import os
import platform
import time
from functools import lru_cache
from pathlib import Path

from inpaint.runtime.user_cache import cache_root

SUBDIR = "ort"
UNUSED_DAYS = 30


@lru_cache(maxsize=1)
def cpu_signature() -> str:
    """The machine and its CPU's feature flags (Linux: /proc/cpuinfo), what the layout depends on."""
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = " ".join(sorted(line.split(":", 1)[1].split()))
                break
    except OSError:
        flags = platform.processor()
    return f"{platform.system()}-{platform.machine()}-{flags}"


def cache_path(graph_sha256: str, weights_sha256: str, precision: str, ort_version: str) -> Path | None:
    """Where the optimised form of a graph (with its weights) lives, or None where caching is off."""
    root = cache_root()
    if root is None:
        return None
    key = hashlib.sha256("|".join([graph_sha256, weights_sha256, precision, ort_version, cpu_signature()])
                         .encode()).hexdigest()[:32]
    return root / SUBDIR / f"{key}.onnx"


def writing_path(final: Path) -> Path | None:
    """A temp path beside `final` for ONNX Runtime to save into (renamed over `final` once the
    session is made), or None where the cache directory cannot be written."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return final.with_name(f".{final.stem}.{os.getpid()}.onnx")


def publish(tmp: Path, final: Path) -> None:
    """Move a saved graph into place (a file that is not there, nothing saved, is skipped), and
    remove the graphs unused for UNUSED_DAYS."""
    try:
        os.replace(tmp, final)
    except OSError:
        tmp.unlink(missing_ok=True)
    old = time.time() - UNUSED_DAYS * 86400
    for f in final.parent.glob("*.onnx"):
        try:
            if f.stat().st_mtime < old:
                f.unlink()
        except OSError:
            pass


def touch(path: Path) -> None:
    """Mark a cached graph as used now (it is kept while used)."""
    try:
        os.utime(path)
    except OSError:
        pass
