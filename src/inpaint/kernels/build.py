"""Build the package's CUDA kernels with NVRTC, through cuda.core, and cache the cubins on disk.

A cubin is cached under the sha256 of its kernel source, the target architecture and the compile
options, so an edited kernel, another GPU or other flags never pick up a stale binary. The cache
lives in $INPAINT_KERNEL_CACHE, by default ~/.cache/inpaint/kernels; files are written
atomically, so concurrent builds and killed processes leave no half-written cubin behind.

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


def cache_key(source: str, arch: str, options=COMPILE_OPTIONS) -> str:
    """sha256 over the source's sha256, the architecture and the options."""
    payload = {"source": hashlib.sha256(source.encode()).hexdigest(), "arch": arch,
               "options": [[k, v] for k, v in options]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


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


def device_arch(device_id: int = 0) -> str:
    """The NVRTC architecture of a CUDA device, e.g. 'sm_90' for an H100."""
    major, minor = cuda_core().Device(device_id).compute_capability
    return f"sm_{major}{minor}"


def compile_cubin(source: str, arch: str, options=COMPILE_OPTIONS, name: str = "kernel") -> bytes:
    """Compile CUDA C++ source with NVRTC to a cubin for arch ('sm_XY'); no GPU needed."""
    core = cuda_core()
    try:
        program = core.Program(source, "c++", core.ProgramOptions(arch=arch, **dict(options)))
        code = program.compile("cubin")
    except Exception as e:  # cuda.core's error classes moved between versions; all are re-raised
        detail = " ".join(str(e).replace("\x00", "").split())  # NVRTC's log, on one line
        if type(e).__name__ == "NVRTCError":
            raise InpaintError(f"NVRTC could not compile {name}.cu for {arch}: {detail}; "
                               "fix the kernel source") from e
        raise InpaintError(f"NVRTC could not run ({type(e).__name__}: {detail}); install it with "
                           "pip install nvidia-cuda-nvrtc (or a CUDA toolkit)") from e
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


def cached_cubin(name: str, arch: str, options=COMPILE_OPTIONS) -> Cubin:
    """kernels/<name>.cu as a cubin for arch: from the cache, or compiled and then cached."""
    source = kernel_source(name).read_text()
    path = cache_dir() / f"{name}-{arch}-{cache_key(source, arch, options)[:24]}.cubin"
    if path.is_file():
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
    """A kernel file loaded for the current device: get its kernels by name."""

    cubin: Cubin
    code: Any  # cuda.core ObjectCode

    def kernel(self, name: str):
        return self.code.get_kernel(name)


def load(name: str, arch: str | None = None) -> Module:
    """kernels/<name>.cu built (or read from the cache) and loaded for the current device."""
    cubin = cached_cubin(name, arch or device_arch())
    return Module(cubin, cuda_core().ObjectCode.from_cubin(cubin.data))
