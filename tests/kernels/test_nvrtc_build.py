"""The run-time build: NVRTC through cuda.core, and the on-disk cubin cache. No GPU needed.

Runs wherever `pip install 'inpaint[kernels]'` brought cuda.core and NVRTC (CI installs them and
sets INPAINT_REQUIRE_NVRTC=1, so there a missing NVRTC fails instead of skipping).
"""
import os

import pytest

from inpaint.errors import InpaintError
from inpaint.kernels import build


@pytest.fixture(scope="module", autouse=True)
def nvrtc():
    try:
        build.compile_cubin('extern "C" __global__ void probe() {}', "sm_75", name="probe")
    except InpaintError as e:
        if os.environ.get("INPAINT_REQUIRE_NVRTC") == "1":
            pytest.fail(f"INPAINT_REQUIRE_NVRTC=1 but NVRTC through cuda.core is not usable: {e}")
        pytest.skip(f"NVRTC through cuda.core is not usable here (pip install 'inpaint[kernels]'): {e}")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(build.CACHE_ENV, str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("arch", ["sm_75", "sm_86", "sm_90"])
@pytest.mark.parametrize("source", build.kernel_sources(), ids=lambda p: p.stem)
def test_nvrtc_compiles_every_kernel(source, arch, cache):
    cubin = build.cached_cubin(source.stem, arch)
    assert cubin.compiled and cubin.data.startswith(b"\x7fELF")
    assert cubin.path.parent == cache and cubin.path.read_bytes() == cubin.data


def test_the_cache_serves_the_second_build(cache):
    first = build.cached_cubin("adam", "sm_90")
    stamp = first.path.stat().st_mtime_ns
    second = build.cached_cubin("adam", "sm_90")
    assert first.compiled and not second.compiled
    assert second.path == first.path and second.data == first.data
    assert first.path.stat().st_mtime_ns == stamp            # not rewritten
    other = build.cached_cubin("adam", "sm_86")              # another arch: another entry
    assert other.compiled and other.path != first.path
    assert not list(cache.glob(".tmp-*"))                    # atomic writes left no temp file


def test_a_corrupt_cache_entry_is_rebuilt(cache):
    first = build.cached_cubin("adam", "sm_90")
    first.path.write_bytes(b"not a cubin")
    again = build.cached_cubin("adam", "sm_90")
    assert again.compiled and again.data == first.data


def test_the_key_covers_source_arch_and_options():
    key = build.cache_key("a", "sm_90")
    assert key != build.cache_key("b", "sm_90")
    assert key != build.cache_key("a", "sm_86")
    assert key != build.cache_key("a", "sm_90", (("std", "c++20"),))


def test_a_compile_error_names_the_file_and_carries_the_log():
    with pytest.raises(InpaintError, match=r"broken\.cu for sm_90: .*not_a_function") as info:
        build.compile_cubin('extern "C" __global__ void k() { not_a_function(); }', "sm_90", name="broken")
    assert "\n" not in str(info.value)
