"""fp16 graphs: the graph modules computed in half precision behind fp32 inputs and outputs.

TensorRT 10.12+ builds strongly typed networks only (TensorRT 11 has no FP16 builder flag): the
precision of every layer is the dtype the ONNX graph gives it. So `inpaint-export --fp16` exports
the modules with fp16 weights and activations; the graphs' inputs and outputs stay fp32 (one cast
at each end), so every runtime feeds and reads them exactly as it does the fp32 graphs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn


class HalfPrecision(nn.Module):
    """Runs `inner` in fp16; floating inputs are cast down on entry and outputs back up to fp32."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner.half()

    def forward(self, *args: torch.Tensor):
        out = self.inner(*(a.half() if a.is_floating_point() else a for a in args))
        if isinstance(out, torch.Tensor):
            return out.float()
        return tuple(o.float() if o.is_floating_point() else o for o in out)


def relative_errors(reference: list[np.ndarray], result: list[np.ndarray], names: tuple[str, ...]) -> dict:
    """Per output: max |result - reference| / max |reference| (0 where the reference is all zeros
    and so is the result)."""
    errors = {}
    for name, ref, got in zip(names, reference, result):
        ref, got = np.asarray(ref, np.float64), np.asarray(got, np.float64)
        scale = np.abs(ref).max(initial=0.0)
        diff = np.abs(got - ref).max(initial=0.0)
        errors[name] = float(diff / scale) if scale > 0 else float(diff)
    return errors


@torch.no_grad()
def fp16_errors(module: nn.Module, args: tuple[torch.Tensor, ...], path: Path,
                input_names: tuple[str, ...], output_names: tuple[str, ...]) -> dict:
    """Run the exported fp16 graph at `path` on ONNX Runtime and compare it with the fp32 module
    it was made from; returns the relative error of each output (see relative_errors).

    ONNX Runtime's CPU provider computes some fp16 operators in fp32 after rounding their inputs,
    so this measures the rounding of weights and activations to fp16; on a GPU, TensorRT also
    accumulates in fp16 where it chooses to.
    """
    import onnxruntime as ort

    from inpaint.runtime.engines.ort import session_kwargs
    reference = module(*args)
    reference = [reference] if isinstance(reference, torch.Tensor) else list(reference)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                   **session_kwargs("fp16"))
    feeds = {n: a.detach().numpy() for n, a in zip(input_names, args)}
    return relative_errors([r.detach().numpy() for r in reference], session.run(None, feeds), output_names)
