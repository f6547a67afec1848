"""Atomic file writes: a temp file in the target's directory, fsync, then rename over the target.

A reader (or a crash) sees either the old file or the complete new one, never a partial file.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from inpaint.errors import OutputError

TMP_PREFIX = ".tmp-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temp path next to `target`; on success it replaces `target`, on error it is removed."""
    target = Path(target)
    if target.is_dir():
        raise OutputError(f"output path {target} is a directory; give a file name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + target.name + ".", dir=target.parent)
    except OSError as e:
        raise OutputError(f"cannot write to {target.parent} ({e.strerror}); "
                          "choose a writable output location") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())    # mkstemp makes it private; a new file is not
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_atomic(target: str | Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp_path) and move the result onto target atomically."""
    with atomic_path(target) as tmp:
        write(tmp)


def remove_stale_temps(directory: str | Path) -> None:
    """Delete temp files a killed process left behind in `directory`."""
    for p in Path(directory).glob(TMP_PREFIX + "*"):
        p.unlink(missing_ok=True)
