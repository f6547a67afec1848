"""The bundle files' sha256, remembered while a file stays the same file."""
import hashlib
import json
import os
import shutil

import pytest

from inpaint.runtime import digests
from inpaint.runtime.bundle import BundleError, load_bundle
from inpaint.runtime.user_cache import CACHE_ENV

OLD = 1_600_000_000 * 10**9      # a modification time well past the racy window


def _old_file(path, data: bytes):
    path.write_bytes(data)
    os.utime(path, ns=(OLD, OLD))
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / digests.CACHE_FILE


def test_a_digest_is_the_files_sha256_and_is_remembered(tmp_path, cache, monkeypatch):
    f = _old_file(tmp_path / "a.bin", b"abc" * 1000)
    assert digests.file_digests([f]) == [hashlib.sha256(b"abc" * 1000).hexdigest()]
    assert str(f.resolve()) in json.loads(cache.read_text())
    monkeypatch.setattr(digests, "sha256_file", lambda p: pytest.fail("an unchanged file was read again"))
    assert digests.file_digests([f]) == [hashlib.sha256(b"abc" * 1000).hexdigest()]


def test_a_changed_file_is_hashed_again(tmp_path, cache):
    f = _old_file(tmp_path / "a.bin", b"abc" * 1000)
    first = digests.file_digests([f])
    data = bytearray(f.read_bytes())
    data[10] ^= 1
    with open(f, "r+b") as h:                      # same size, same inode, written in place
        h.write(bytes(data))
    os.utime(f, ns=(OLD + 10**9, OLD + 10**9))
    assert digests.file_digests([f]) == [hashlib.sha256(bytes(data)).hexdigest()] != first


def test_a_file_modified_just_now_is_not_remembered(tmp_path, cache):
    f = tmp_path / "fresh.bin"
    f.write_bytes(b"x")
    digests.file_digests([f])
    assert str(f.resolve()) not in json.loads(cache.read_text())


def test_an_unreadable_cache_is_ignored_and_rewritten(tmp_path, cache):
    f = _old_file(tmp_path / "a.bin", b"abc")
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json")
    assert digests.file_digests([f]) == [hashlib.sha256(b"abc").hexdigest()]
    assert str(f.resolve()) in json.loads(cache.read_text())


def test_cache_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, "off")
    monkeypatch.setenv("HOME", str(tmp_path))
    f = _old_file(tmp_path / "a.bin", b"abc")
    assert digests.file_digests([f]) == [hashlib.sha256(b"abc").hexdigest()]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_a_bundle_file_flipped_after_a_good_load_is_caught(tiny_bundle, tmp_path, cache):
    bad = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bad)
    for p in bad.iterdir():
        os.utime(p, ns=(OLD, OLD))
    load_bundle(bad)                                # checked, and remembered
    weights = bad / "weights.bin"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    with open(weights, "r+b") as h:
        h.write(bytes(data))
    with pytest.raises(BundleError, match="weights.bin does not match its sha256"):
        load_bundle(bad)
