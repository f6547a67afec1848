"""A completion on ONNX Runtime is the completion on eager PyTorch."""
from pathlib import Path

import numpy as np
from PIL import Image

from inpaint.imageio import Picture
from inpaint.inpainters import torch_inpainter
from inpaint.masks import make_mask
from inpaint.runtime.complete import Inpainter
from inpaint.spec import InpaintSettings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_ort_completion_matches_torch_completion(tiny_weights, tiny_bundle):
    settings = InpaintSettings(iterations=20, restarts=2, consistency_weight=0.1, seed=3)
    face = np.asarray(Image.open(EXAMPLES / "astronaut64.png").convert("RGB"))
    pictures = [Picture(face, None, "RGB"), Picture(np.ascontiguousarray(face[:, ::-1]), None, "RGB")]
    holes = [make_mask(k, 64, 0) < 0.5 for k in ("center", "pattern")]
    a = Inpainter.from_bundle(tiny_bundle, settings, threads=1).complete_many(pictures, holes)
    b = torch_inpainter(tiny_weights, settings=settings).complete_many(pictures, holes)
    engine = torch_inpainter(tiny_weights).engine
    x_a = engine.generator(np.stack([c.z for c in a]))
    x_b = engine.generator(np.stack([c.z for c in b]))
    assert np.abs(x_a - x_b).mean() < 1e-4                  # on the [-1, 1] scale
    assert np.abs(x_a).mean() > 0.01
    for ca, cb in zip(a, b):
        assert ca.report["iterations"] == cb.report["iterations"] == 20
        np.testing.assert_allclose(ca.report["loss"], cb.report["loss"], rtol=1e-4)


def test_the_ort_cuda_provider_runs_on_the_device_its_outputs_are_bound_on(tiny_bundle):
    from inpaint.runtime.bundle import load_bundle
    from inpaint.runtime.engines.ort import OrtEngine
    bundle = load_bundle(tiny_bundle)
    engine = OrtEngine(bundle, providers=["CUDAExecutionProvider", "CPUExecutionProvider"], device_id=2)
    assert engine.session_providers() == [("CUDAExecutionProvider", {"device_id": "2"}), "CPUExecutionProvider"]
    assert (engine.device, engine.device_id, engine.io_binding) == ("cuda", 2, True)
    assert OrtEngine(bundle).session_providers() == ["CPUExecutionProvider"]
