"""Build the package's CUDA kernels with NVRTC, through cuda.core, and cache the cubins on disk.

A cubin is cached under the sha256 of its kernel source, the target architecture, the compile
options and the NVRTC version, so an edited kernel, another GPU, other flags or another compiler
never pick up a stale binary. The cache lives in $INPAINT_KERNEL_CACHE, by default
~/.cache/inpaint/kernels; files are written atomically, so concurrent builds and killed processes
leave no half-written cubin behind. A cached cubin the driver will not load is built anew, once.

Without a CUDA driver or without NVRTC every entry point raises one InpaintError that says what
is missing (cuda.pathfinder's DynamicLibNotFoundError and cuda.core's errors do not reach users).

cuda.core is imported only inside the functions that use it: this module imports, and lists the
kernels, on machines without CUDA.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from inpaint.atomic import write_atomic
from inpaint.errors import InpaintError, OutputError

KERNEL_DIR = Path(__file__).resolve().parent
CACHE_ENV = "INPAINT_KERNEL_CACHE"
DEFAULT_CACHE = "~/.cache/inpaint/kernels"
# NVRTC options, as cuda.core ProgramOptions fields; they are part of the cache key.
COMPILE_OPTIONS: tuple[tuple[str, Any], ...] = (("std", "c++17"),)
_CORE_NAMES = ("Device", "LaunchConfig", "ObjectCode", "Program", "ProgramOptions", "launch")
_ELF_MAGIC = b"\x7fELF"  # every cubin is an ELF file


def kernel_sources() -> list[Path]:
    """Every .cu file the package ships, sorted by name."""
    return sorted(KERNEL_DIR.glob("*.cu"))


def kernel_source(name: str) -> Path:
    """The path of kernels/<name>.cu."""
    path = KERNEL_DIR / f"{name}.cu"
    if not path.is_file():
        known = ", ".join(p.stem for p in kernel_sources())
        raise ValueError(f"no kernel source {name!r}; the package has: {known}")
    return path


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def cache_key(source: str, arch: str, options=COMPILE_OPTIONS, nvrtc: tuple[int, int] = (0, 0)) -> str:
    """sha256 over the source's sha256, the architecture, the options and the NVRTC version."""
    payload = {"source": hashlib.sha256(source.encode()).hexdigest(), "arch": arch,
               "options": [[k, v] for k, v in options], "nvrtc": list(nvrtc)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def nvrtc_version() -> tuple[int, int]:
    """(major, minor) of the NVRTC library cuda-python loads."""
    try:
        from cuda.bindings import nvrtc
    except ImportError:
        try:
            from cuda import nvrtc
        except ImportError:
            raise InpaintError("cuda-python is not installed: pip install 'inpaint[gpu]'") from None
    try:
        err, major, minor = nvrtc.nvrtcVersion()
    except Exception as e:   # cuda.pathfinder's DynamicLibNotFoundError where libnvrtc is missing
        raise _nvrtc_missing(e) from e
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise InpaintError(f"NVRTC does not report its version ({err}); reinstall it with "
                           "pip install nvidia-cuda-nvrtc (or a CUDA toolkit)")
    return int(major), int(minor)


def _nvrtc_missing(e: Exception) -> InpaintError:
    detail = " ".join(str(e).replace("\x00", "").split())
    return InpaintError(f"NVRTC could not run ({type(e).__name__}: {detail}); install it with "
                        "pip install nvidia-cuda-nvrtc (or a CUDA toolkit)")


def cuda_core() -> SimpleNamespace:
    """The parts of cuda.core this package uses, from `cuda.core` where recent versions export
    them and from `cuda.core.experimental` where older ones do."""
    errors = []
    for module in ("cuda.core", "cuda.core.experimental"):
        try:
            imported = importlib.import_module(module)
            return SimpleNamespace(**{n: getattr(imported, n) for n in _CORE_NAMES})
        except (ImportError, AttributeError) as e:
            errors.append(f"{module}: {e}")
    raise InpaintError(f"cuda.core is not installed or too old ({'; '.join(errors)}): "
                       "pip install 'inpaint[gpu]'")


def device(device_id: int = 0):
    """cuda.core's Device `device_id`, made the current device; InpaintError where there is no
    usable driver or no such GPU."""
    core = cuda_core()
    try:
        dev = core.Device(device_id)
        dev.set_current()
    except Exception as e:   # DynamicLibNotFoundError without a driver, CUDAError without a GPU
        detail = " ".join(str(e).split())
        raise InpaintError(f"CUDA device {device_id} is not usable ({type(e).__name__}: {detail}); check "
                           "the GPU and its driver (nvidia-smi)") from e
    return dev


def device_arch(device_id: int = 0) -> str:
    """The NVRTC architecture of a CUDA device, e.g. 'sm_90' for an H100."""
    major, minor = device(device_id).compute_capability
    return f"sm_{major}{minor}"


def compile_cubin(source: str, arch: str, options=COMPILE_OPTIONS, name: str = "kernel") -> bytes:
    """Compile CUDA C++ source with NVRTC to a cubin for arch ('sm_XY'); no GPU needed."""
    core = cuda_core()
    program = None
    try:
        program = core.Program(source, "c++", core.ProgramOptions(arch=arch, **dict(options)))
        code = program.compile("cubin")
    except Exception as e:  # cuda.core's error classes moved between versions; all are re-raised
        if type(e).__name__ == "NVRTCError":
            detail = " ".join(str(e).replace("\x00", "").split())  # NVRTC's log, on one line
            raise InpaintError(f"NVRTC could not compile {name}.cu for {arch}: {detail}; "
                               "fix the kernel source") from e
        raise _nvrtc_missing(e) from e
    finally:
        if program is not None and hasattr(program, "close"):   # cuda.core before 0.2 has no close
            program.close()
    return _code_bytes(code.code)


def _code_bytes(code) -> bytes:
    # ObjectCode.code holds the bytes NVRTC returned; a path where code was loaded from a file
    if isinstance(code, (bytes, bytearray, memoryview)):
        return bytes(code)
    return Path(code).read_bytes()


@dataclass(frozen=True)
class Cubin:
    """A kernel file's cubin for one architecture, and where it is cached."""

    name: str        # the .cu file's stem
    arch: str        # 'sm_XY'
    path: Path       # the cache file
    data: bytes
    compiled: bool   # True when NVRTC ran now, False when the cache had it


def cached_cubin(name: str, arch: str, options=COMPILE_OPTIONS, rebuild: bool = False) -> Cubin:
    """kernels/<name>.cu as a cubin for arch: from the cache, or compiled and then cached
    (rebuild: compiled and cached whatever the cache holds)."""
    source = kernel_source(name).read_text()
    path = cache_dir() / f"{name}-{arch}-{cache_key(source, arch, options, nvrtc_version())[:24]}.cubin"
    if path.is_file() and not rebuild:
        data = path.read_bytes()
        if data.startswith(_ELF_MAGIC):
            return Cubin(name, arch, path, data, compiled=False)
        # anything else was not written by us (writes are atomic): replace it
    data = compile_cubin(source, arch, options, name)
    try:
        write_atomic(path, lambda tmp: tmp.write_bytes(data))
    except OutputError as e:
        raise InpaintError(f"cannot write the kernel cache in {path.parent} ({e}); "
                           f"set {CACHE_ENV} to a writable directory") from e
    return Cubin(name, arch, path, data, compiled=True)


@dataclass(frozen=True)
class Module:
    """A kernel file loaded for the current device, with the kernels asked for."""

    cubin: Cubin
    code: Any       # cuda.core ObjectCode
    kernels: dict   # kernel name -> cuda.core Kernel

    def kernel(self, name: str):
        return self.kernels[name] if name in self.kernels else self.code.get_kernel(name)


def _loaded(cubin: Cubin, kernels: tuple[str, ...]) -> Module:
    code = cuda_core().ObjectCode.from_cubin(cubin.data)
    return Module(cubin, code, {k: code.get_kernel(k) for k in kernels})   # the driver loads it here


def load(name: str, arch: str | None = None, kernels: tuple[str, ...] = ()) -> Module:
    """kernels/<name>.cu built (or read from the cache) and loaded for the current device, with
    `kernels` looked up. A cached cubin the driver refuses (written by another NVRTC than the one
    it was keyed with, or damaged) is compiled anew and replaces the cache entry."""
    arch = arch or device_arch()
    cubin = cached_cubin(name, arch)
    try:
        return _loaded(cubin, kernels)
    except Exception as e:   # cuda.core's CUDAError, whose module moved between versions
        if cubin.compiled:
            raise InpaintError(f"the CUDA driver cannot load {name}.cu compiled for {arch} just now "
                               f"({type(e).__name__}: {e}); update the driver for this NVRTC") from e
    cubin = cached_cubin(name, arch, rebuild=True)
    try:
        return _loaded(cubin, kernels)
    except Exception as e:
        raise InpaintError(f"the CUDA driver cannot load {name}.cu compiled for {arch} ({type(e).__name__}: "
                           f"{e}); update the driver for this NVRTC") from e
