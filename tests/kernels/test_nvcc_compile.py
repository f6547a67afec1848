"""Every kernel the package ships compiles for the architectures we support, with no GPU needed.

nvcc builds each .cu file to a cubin for Turing, Ampere and Hopper; the kernels must also stay
free of includes, which NVRTC (the run-time build) cannot resolve without a CUDA include path.
"""
import re
import shutil
import subprocess
from fnmatch import fnmatch
from pathlib import Path

import pytest

from inpaint.kernels import build
from inpaint.runtime.ops import cuda_ops

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "inpaint"
EXPECTED = {"adam", "contextual", "importance_weights", "poisson", "track"}
NVCC = shutil.which("nvcc")


def test_listing_finds_every_kernel_file():
    sources = build.kernel_sources()
    assert {p.stem for p in sources} == EXPECTED
    assert all(p.suffix == ".cu" and p.parent == PACKAGE / "kernels" for p in sources)


def test_kernel_files_are_package_data():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["inpaint"]
    for source in build.kernel_sources():
        relative = source.relative_to(PACKAGE).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns), f"{relative} is not package data"


@pytest.mark.parametrize("source", build.kernel_sources(), ids=lambda p: p.stem)
def test_kernels_include_nothing(source):
    includes = re.findall(r"^\s*#\s*include.*$", source.read_text(), re.MULTILINE)
    assert not includes, f"{source.name}: NVRTC has no CUDA include path at run time: {includes}"


@pytest.mark.parametrize("name, constant", [("contextual", "CONTEXTUAL_BLOCK"), ("poisson", "POISSON_BLOCK"),
                                            ("track", "TRACK_BLOCK")])
def test_block_sizes_agree_with_the_host(name, constant):
    # The reduction trees are sized by these #defines; the host must launch that many threads.
    text = build.kernel_source(name).read_text()
    value = int(re.search(rf"#define {constant} (\d+)", text).group(1))
    assert value == getattr(cuda_ops, constant)
    assert value & (value - 1) == 0, "the tree reduction needs a power of two"


@pytest.mark.skipif(NVCC is None, reason="nvcc is not on PATH (install a CUDA toolkit to run this check)")
@pytest.mark.parametrize("arch", ["sm_75", "sm_86", "sm_90"])
@pytest.mark.parametrize("source", build.kernel_sources(), ids=lambda p: p.stem)
def test_nvcc_compiles(source, arch, tmp_path):
    cubin = tmp_path / f"{source.stem}.cubin"
    run = subprocess.run([NVCC, "-cubin", f"-arch={arch}", "-o", str(cubin), str(source)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"nvcc failed on {source.name} for {arch}:\n{run.stderr}"
    assert cubin.read_bytes().startswith(b"\x7fELF")
