"""The kernel build's decisions against stand-ins for cuda.core and NVRTC (no CUDA needed): what the
cache is keyed on, when a cached cubin is built anew, and what a machine without a driver or
without NVRTC is told. The real compiler: test_nvrtc_build.py; the real driver: test_cuda_ops.py."""
import sys
import types
from types import SimpleNamespace

import pytest

from inpaint.errors import InpaintError
from inpaint.kernels import build

GOOD = b"\x7fELF a cubin this driver loads"


class DynamicLibNotFoundError(RuntimeError):
    """What cuda.pathfinder raises where a CUDA library is missing (named as it is named)."""


class FakeCore:
    """cuda.core as build uses it: ObjectCode loads GOOD only; Programs count their closing."""

    def __init__(self, device_error=None, compile_error=None):
        self.loaded, self.closed, self.device_error, self.compile_error = [], 0, device_error, compile_error
        core = self

        class Code:
            def __init__(self, data):
                self.data = data

            def get_kernel(self, name):
                core.loaded.append(self.data)
                if self.data != GOOD:
                    raise RuntimeError("CUDA_ERROR_INVALID_IMAGE: device kernel image is invalid")
                return f"kernel {name}"

        class Program:
            def __init__(self, source, language, options):
                pass

            def compile(self, target):
                if core.compile_error:
                    raise core.compile_error
                return SimpleNamespace(code=GOOD)

            def close(self):
                core.closed += 1

        def device(device_id):
            if core.device_error:
                raise core.device_error
            return SimpleNamespace(set_current=lambda: None, compute_capability=(9, 0))

        self.namespace = SimpleNamespace(Device=device, ObjectCode=SimpleNamespace(from_cubin=Code),
                                         Program=Program, ProgramOptions=lambda **k: k,
                                         LaunchConfig=None, launch=None)


@pytest.fixture
def core(monkeypatch, tmp_path):
    fake = FakeCore()
    monkeypatch.setattr(build, "cuda_core", lambda: fake.namespace)
    monkeypatch.setattr(build, "nvrtc_version", lambda: (13, 0))
    monkeypatch.setenv(build.CACHE_ENV, str(tmp_path))
    return fake


def test_the_key_covers_the_nvrtc_version(core, monkeypatch):
    assert build.cache_key("a", "sm_90", nvrtc=(13, 0)) != build.cache_key("a", "sm_90", nvrtc=(12, 9))
    first = build.cached_cubin("adam", "sm_90")
    monkeypatch.setattr(build, "nvrtc_version", lambda: (12, 9))
    other = build.cached_cubin("adam", "sm_90")
    assert first.compiled and other.compiled and other.path != first.path


def test_a_cached_cubin_the_driver_refuses_is_built_anew(core):
    path = build.cached_cubin("adam", "sm_90").path
    path.write_bytes(b"\x7fELF written by another NVRTC")          # reads as a cubin, will not load
    module = build.load("adam", "sm_90", ("adam_step", "adam_count_step"))
    assert module.cubin.compiled and module.kernels == {"adam_step": "kernel adam_step",
                                                        "adam_count_step": "kernel adam_count_step"}
    assert path.read_bytes() == GOOD and core.loaded[0] != GOOD
    assert not build.load("adam", "sm_90", ("adam_step",)).cubin.compiled    # the cache serves it now


def test_a_fresh_cubin_the_driver_refuses_is_an_error_not_a_loop(core, monkeypatch):
    monkeypatch.setattr(build, "compile_cubin", lambda *a, **k: b"\x7fELF for a newer driver")
    with pytest.raises(InpaintError, match="cannot load adam.cu compiled for sm_90 just now .*update the driver"):
        build.load("adam", "sm_90", ("adam_step",))
    assert len(core.loaded) == 1


def test_programs_are_closed_after_compiling_or_failing(core):
    build.compile_cubin("k", "sm_90")
    core.compile_error = type("NVRTCError", (Exception,), {})("error: identifier x is undefined")
    with pytest.raises(InpaintError, match="NVRTC could not compile kernel.cu for sm_90"):
        build.compile_cubin("k", "sm_90")
    assert core.closed == 2


def test_no_driver_is_one_clear_error(core):
    core.device_error = DynamicLibNotFoundError('"cuda" is an NVIDIA driver library and can only be found '
                                                "via system search.")
    with pytest.raises(InpaintError, match=r"CUDA device 0 is not usable \(DynamicLibNotFoundError: .*driver library.*\)"
                                           r"; check the GPU and its driver") as info:
        build.device_arch(0)
    assert isinstance(info.value.__cause__, DynamicLibNotFoundError)


def test_no_nvrtc_is_one_clear_error(monkeypatch):
    def version():
        raise DynamicLibNotFoundError('Failure finding "libnvrtc.so.13"')
    nvrtc = types.ModuleType("cuda.bindings.nvrtc")
    nvrtc.nvrtcVersion = version
    bindings = types.ModuleType("cuda.bindings")
    bindings.nvrtc = nvrtc
    monkeypatch.setitem(sys.modules, "cuda.bindings", bindings)
    monkeypatch.setitem(sys.modules, "cuda.bindings.nvrtc", nvrtc)
    with pytest.raises(InpaintError, match="NVRTC could not run .*libnvrtc.*pip install nvidia-cuda-nvrtc"):
        build.nvrtc_version()


def test_this_machine_without_a_driver_gets_inpaint_errors():
    """Where cuda-python and cuda.core are installed but no driver is (CI, this machine)."""
    pytest.importorskip("cuda.core", reason="cuda.core is not installed")
    from inpaint.runtime import cuda
    try:
        cuda.gpu()
    except InpaintError:
        pass
    else:
        pytest.skip("a GPU and its driver are here")
    with pytest.raises(InpaintError, match="CUDA device 0 is not usable"):
        build.device_arch(0)
    with pytest.raises(InpaintError, match="cudaStreamCreateWithFlags failed"):
        cuda.Stream()
