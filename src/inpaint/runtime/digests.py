"""sha256 of bundle files, each hashed once while it stays the same file.

A digest is remembered (in the user cache, digests.json) under the file's absolute path with its
size, modification time and inode; any change to one of those hashes the file again. A bundle
checked once is then checked in microseconds on every later load, while a file that was
replaced, rewritten or truncated is hashed anew. A file modified less than RACY_SECONDS before it
was hashed is not remembered: a change within the file system's timestamp granularity could
leave its modification time as it was.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from inpaint.runtime.user_cache import cache_root

CACHE_FILE = "digests.json"
MAX_ENTRIES = 256          # the oldest are dropped beyond this
RACY_SECONDS = 2.0


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _identity(path: Path) -> list:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _read(file: Path) -> dict:
    try:
        data = json.loads(file.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write(file: Path, entries: dict) -> None:
    """Replace the cache file atomically; a cache that cannot be written is only a slower load."""
    tmp = file.with_name(f".{file.name}.{os.getpid()}")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(dict(list(entries.items())[-MAX_ENTRIES:])))
        os.replace(tmp, file)
    except OSError:
        tmp.unlink(missing_ok=True)


def file_digests(paths: list[Path]) -> list[str]:
    """The sha256 of each file, from the cache where the file is unchanged since it was hashed."""
    root = cache_root()
    cache = root / CACHE_FILE if root else None
    entries = _read(cache) if cache else {}
    out, changed = [], False
    for path in paths:
        key, ident = str(Path(path).resolve()), _identity(Path(path))
        hit = entries.get(key)
        if isinstance(hit, dict) and hit.get("identity") == ident and isinstance(hit.get("sha256"), str):
            out.append(hit["sha256"])
            continue
        digest = sha256_file(Path(path))
        out.append(digest)
        entries.pop(key, None)                      # re-inserted last: the newest entry
        if time.time_ns() - ident[1] > RACY_SECONDS * 1e9:
            entries[key] = {"identity": ident, "sha256": digest}
        changed = True
    if cache and changed:
        _write(cache, entries)
    return out
