"""The gpu markers' skip conditions: they say what is missing, and a GPU that cuda-python can use
is enough for the tests that do not use torch (TensorRT, the kernels), whatever torch is."""
import pytest

import gpu_markers
from inpaint.errors import InpaintError
from inpaint.runtime import cuda


def _no_torch_asked():
    raise AssertionError("torch was asked although cuda-python answered")


def test_a_gpu_cuda_python_sees_is_enough_without_torch(monkeypatch):
    monkeypatch.setattr(cuda, "gpu", lambda device=0: ("NVIDIA H200", (9, 0)))
    monkeypatch.setattr(gpu_markers, "torch_cuda_missing", _no_torch_asked)
    assert gpu_markers.cuda_device_missing() == ""


def test_no_device_says_what_cuda_python_said(monkeypatch):
    def gpu(device=0):
        raise InpaintError("CUDA call cudaGetDeviceProperties failed: cudaErrorInsufficientDriver; check the "
                           "GPU and its driver (nvidia-smi)")
    monkeypatch.setattr(cuda, "gpu", gpu)
    monkeypatch.setattr(gpu_markers, "torch_cuda_missing", _no_torch_asked)
    assert gpu_markers.cuda_device_missing() == ("needs a CUDA GPU: CUDA call cudaGetDeviceProperties failed: "
                                                 "cudaErrorInsufficientDriver; check the GPU and its driver "
                                                 "(nvidia-smi)")


@pytest.mark.parametrize("torch_says", ["", "torch 2.13.0+cpu is a CPU build"])
def test_without_cuda_python_torch_decides(monkeypatch, torch_says):
    def gpu(device=0):
        raise InpaintError("cuda-python is not installed: pip install 'inpaint[gpu]'")
    monkeypatch.setattr(cuda, "gpu", gpu)
    monkeypatch.setattr(gpu_markers, "torch_cuda_missing", lambda: torch_says)
    missing = gpu_markers.cuda_device_missing()
    assert missing == (torch_says and "needs a CUDA GPU: cuda-python is not installed: pip install "
                       "'inpaint[gpu]', and torch 2.13.0+cpu is a CPU build")


def test_torch_says_which_build_it_is():
    torch = pytest.importorskip("torch")
    missing = gpu_markers.torch_cuda_missing()
    if torch.cuda.is_available():
        assert missing == ""
    else:
        assert missing.startswith(f"torch {torch.__version__} ") and ("CPU build" in missing or "sees no GPU" in missing)
