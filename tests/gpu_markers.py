"""What the gpu and torch_cuda markers need, and what is missing where they skip (tests/conftest.py)."""
from __future__ import annotations


def cuda_device_missing() -> str:
    """'' where a CUDA device can be used, else what is missing. Asked of cuda-python, which the
    kernels, TensorRT and the GPU runtime use; torch is asked only where cuda-python is not
    installed (a GPU machine with only torch still runs the torch tests)."""
    from inpaint.errors import InpaintError
    from inpaint.runtime import cuda
    try:
        cuda.gpu()
        return ""
    except InpaintError as e:
        if "cuda-python is not installed" not in str(e):
            return f"needs a CUDA GPU: {e}"
        without = str(e)
    torch = torch_cuda_missing()
    return torch and f"needs a CUDA GPU: {without}, and {torch}"


def torch_cuda_missing() -> str:
    """'' where torch can use a CUDA GPU, else what is missing."""
    try:
        import torch
    except ImportError:
        return "torch is not installed (pip install 'inpaint[train]')"
    if torch.cuda.is_available():
        return ""
    if torch.version.cuda is None:
        return f"torch {torch.__version__} is a CPU build"
    return f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU"
