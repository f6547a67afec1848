"""--backend auto and its explicit forms, with what is installed and built faked."""
import sys
from pathlib import Path

import pytest

from inpaint import backends
from inpaint.errors import InpaintError
from inpaint.runtime import probes


@pytest.fixture
def machine(monkeypatch):
    """Set what this machine has: modules installed, ORT providers, TensorRT plans for its GPU, a
    GPU that torch sees and the CUDA kernels build for."""
    state = {"modules": {"onnxruntime"}, "providers": ("CPUExecutionProvider",), "plans": False, "gpu": False}
    monkeypatch.setattr(probes, "installed", lambda m: m in state["modules"])
    monkeypatch.setattr(probes, "ort_providers", lambda: state["providers"])
    monkeypatch.setattr(probes, "trt_ready", lambda root, device=0: "" if state["plans"] and "tensorrt" in
                        state["modules"] else "bundle has no TensorRT plans for GPU X; build them with "
                        "inpaint-export ... --engine")
    monkeypatch.setattr(backends, "torch_sees_gpu", lambda: state["gpu"])
    monkeypatch.setattr(backends, "kernels_build", lambda: "" if state["gpu"] else "cuda.core is not installed")
    return state


B = Path("bundle")


def test_cpu_machine_gets_onnx_runtime_on_the_cpu(machine):
    c = backends.choose("auto", None, B, None)
    assert (c.backend, c.providers, c.note) == ("ort", ("CPUExecutionProvider",), "")


def test_auto_prefers_tensorrt_then_ort_cuda_then_cpu(machine):
    machine["modules"] |= {"tensorrt", "cuda"}
    machine["providers"] = ("CUDAExecutionProvider", "CPUExecutionProvider")
    machine["plans"] = True
    assert backends.choose("auto", None, B, None).backend == "trt"
    machine["plans"] = False
    c = backends.choose("auto", None, B, None)
    assert c.backend == "ort" and c.providers[0] == "CUDAExecutionProvider"
    assert "not using TensorRT" in c.note and "inpaint-export" in c.note
    machine["providers"] = ("CPUExecutionProvider",)
    assert backends.choose("auto", None, B, None).providers == ("CPUExecutionProvider",)
    # --device cpu keeps everything on the CPU even where TensorRT could run
    machine["plans"] = True
    assert backends.choose("auto", "cpu", B, None) == backends.Choice("ort", ("CPUExecutionProvider",))


def test_auto_with_a_cuda_device_and_no_gpu_runtime_falls_back_to_torch(machine):
    assert backends.choose("auto", "cuda", B, None).backend == "torch"


def test_weights_mean_torch(machine):
    assert backends.choose("auto", None, B, Path("w.pt")).backend == "torch"
    with pytest.raises(InpaintError, match="--weights is for --backend torch"):
        backends.choose("ort", None, B, Path("w.pt"))


def test_explicit_backends_say_what_is_missing(machine):
    with pytest.raises(InpaintError, match=r"--backend trt: needs tensorrt: pip install 'inpaint\[trt\]'"):
        backends.choose("trt", None, B, None)
    machine["modules"] |= {"tensorrt", "cuda"}
    with pytest.raises(InpaintError, match="inpaint-export"):
        backends.choose("trt", None, B, None)
    with pytest.raises(InpaintError, match="--backend gpu-trt: cuda.core"):
        backends.choose("gpu-trt", None, B, None)
    machine["gpu"] = True
    with pytest.raises(InpaintError, match="inpaint-export"):
        backends.choose("gpu-trt", None, B, None)
    with pytest.raises(InpaintError, match="runs on a GPU"):
        backends.choose("trt", "cpu", B, None)
    with pytest.raises(InpaintError, match="onnxruntime-gpu"):
        backends.choose("ort", "cuda", B, None)
    machine["modules"] = set()
    with pytest.raises(InpaintError, match="pip install onnxruntime"):
        backends.choose("ort", None, B, None)
    assert backends.choose("auto", None, B, None).note.startswith("onnxruntime is not installed")


def test_the_gpu_runtime_is_asked_for_by_name_and_says_what_it_lacks(machine):
    with pytest.raises(InpaintError, match="runs on a GPU"):
        backends.choose("gpu", "cpu", B, None)
    with pytest.raises(InpaintError, match=r"needs torch: pip install 'inpaint\[train\]'"):
        backends.choose("gpu", "cuda", B, None)
    machine["modules"] |= {"torch"}
    with pytest.raises(InpaintError, match=r"needs cuda: pip install 'inpaint\[gpu\]'"):
        backends.choose("gpu", None, B, None)
    machine["modules"] |= {"cuda"}
    with pytest.raises(InpaintError, match="torch sees no CUDA GPU"):
        backends.choose("gpu", None, B, None)
    machine["gpu"] = True
    assert backends.choose("gpu", "cuda:1", B, Path("w.pt")) == backends.Choice("gpu")
    assert backends.choose("auto", "cuda", B, None).backend == "torch"     # auto does not pick it yet
    with pytest.raises(InpaintError, match="--weights is for --backend torch or gpu; give --bundle DIR for gpu-trt"):
        backends.choose("gpu-trt", "cuda", B, Path("w.pt"))


def test_trt_ready_without_tensorrt_names_it():
    if probes.installed("tensorrt"):
        pytest.skip("tensorrt is installed here")
    assert "not installed" in probes.trt_ready(B)


@pytest.mark.parametrize("error", [
    'OSError("libnvinfer.so.10: cannot open shared object file: No such file or directory")',
    'ImportError("libnvinfer_plugin.so.10: cannot open shared object file")',
])
def test_auto_passes_over_a_tensorrt_that_does_not_load_and_says_why(monkeypatch, tmp_path, error):
    """A tensorrt package without its libraries raises on import: auto goes on to the next
    backend with the reason, and --backend trt says it."""
    (tmp_path / "tensorrt").mkdir()
    (tmp_path / "tensorrt" / "__init__.py").write_text(f"raise {error}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tensorrt", raising=False)
    monkeypatch.setattr(probes, "installed", lambda m: m in ("tensorrt", "cuda", "onnxruntime"))
    monkeypatch.setattr(probes, "ort_providers", lambda: ("CPUExecutionProvider",))
    choice = backends.choose("auto", None, B, None)
    assert choice.backend == "ort" and choice.providers == ("CPUExecutionProvider",)
    assert choice.note.startswith("not using TensorRT: tensorrt does not load") and "libnvinfer" in choice.note
    with pytest.raises(InpaintError, match="tensorrt does not load .*libnvinfer.*--backend ort"):
        backends.choose("trt", None, B, None)


def test_device_index():
    assert [probes.device_index(d) for d in (None, "cpu", "cuda", "cuda:0", "cuda:3")] == [0, 0, 0, 0, 3]
    with pytest.raises(InpaintError, match="use cpu, cuda or cuda:N"):
        probes.device_index("cuda:x")
