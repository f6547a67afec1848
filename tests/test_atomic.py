import os
import stat

import pytest

from inpaint.atomic import atomic_path, write_atomic
from inpaint.errors import OutputError


def test_written_file_gets_the_usual_permissions_and_no_temp_is_left(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "out.txt", lambda tmp: tmp.write_text("done"))
    finally:
        os.umask(old)
    assert (tmp_path / "out.txt").read_text() == "done"
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    (tmp_path / "out.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "out.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert (tmp_path / "out.txt").read_text() == "old" and len(list(tmp_path.iterdir())) == 1
    with pytest.raises(OutputError, match="is a directory"):
        write_atomic(tmp_path, lambda tmp: None)
