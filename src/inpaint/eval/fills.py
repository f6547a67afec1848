"""How each method of the crop evaluation fills the holes: ours and se search z (or z+bn) on a
backend of the table (inpaint.backends), as inpaint-rt does; gl makes one forward pass of the
bundle's GL graph; the classical baselines fill each image alone."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from inpaint.errors import InpaintError
from inpaint.spec import METHODS as SEARCH_METHODS

if TYPE_CHECKING:
    from inpaint.eval.harness import EvalSettings

GAN_METHODS = tuple(SEARCH_METHODS)


def resolve_inits(s: EvalSettings) -> tuple[str, ...]:
    """s.inits with "auto" made explicit as inpaint-rt complete makes it: the latent encoder where
    the model has one, else random z (each start once)."""
    if "auto" not in s.inits:
        return s.inits
    if any(m in GAN_METHODS for m in s.methods):
        from inpaint.torch_engines.eager import TorchEngine
        from inpaint.weights import shipped_bundle
        auto = "encoder" if TorchEngine.from_weights(s.weights or shipped_bundle()).has_encoder else "random"
    else:
        auto = "random"
    return tuple(dict.fromkeys(auto if i == "auto" else i for i in s.inits))


def label(method: str, init: str) -> str:
    """The name a GAN method's results go by: "ours" from random z, "ours+encoder" from E's z."""
    return method if init == "random" else f"{method}+{init}"


def gan_settings(method: str, s: EvalSettings, init: str = "random"):
    """ours: joint D + PD prior (with the consistency loss at its default weight); se: D's own prior only."""
    from inpaint.spec import method_settings
    common = dict(iterations=s.iterations, restarts=s.restarts, seed=s.seed, init=init)
    common.update(s.overrides)
    return method_settings(method, **common)


def resolve_backend(s: EvalSettings) -> str:
    """s.backend with auto made explicit: on a CUDA device the GPU runtime (gpu: the search with
    its state on the device, search z or z+bn) where it can run, else the host loop on eager
    PyTorch (torch) on s.device. Both give the same fills to rounding."""
    from inpaint import backends
    if s.backend != backends.AUTO:
        return s.backend
    if s.device.startswith("cuda"):
        gpu = backends.get("gpu")
        reason = backends.unavailable(gpu, backends.Place(s.device), model_path(s, gpu))
        if not reason:
            return gpu.name
        warnings.warn(f"the host loop searches on {s.device}, since the GPU runtime cannot: {reason}")
    return "torch"


def model_path(s: EvalSettings, row) -> Path:
    """The model files `row` loads from --weights (a weights file, or a bundle), as the table locates them."""
    from inpaint import backends
    if row.loads == "bundle" and s.weights and not is_bundle(s.weights):
        raise InpaintError(f"--backend {row.name} runs a bundle's graphs: give --weights a bundle directory, "
                           "or use --backend torch")
    return backends.model_path(row, s.weights, s.weights)


def is_bundle(path: str | Path) -> bool:
    return (Path(path) / "manifest.json").is_file()


def gan_inpainter(s: EvalSettings, settings):
    """The Inpainter for ours/se: the row of s.backend (auto: resolve_backend) on s.weights and
    s.device, checked (InpaintError naming the fix) and built as inpaint-rt builds it."""
    from inpaint import backends
    from inpaint.inpainters import build
    row = backends.get(resolve_backend(s))
    model, place = model_path(s, row), backends.Place(s.device)
    backends.require(row, place, model)
    return build(row, model, place, settings)


def run_method(method: str, images: np.ndarray, known: np.ndarray, s: EvalSettings,
               tick: Callable[[int], None], init: str = "random") -> tuple[np.ndarray, dict[int, np.ndarray], list[int]]:
    """Fill every image's hole with one method: uint8 (N, R, R, 3); for ours/se (from the start
    `init`) also the fills after each of s.curve's iteration counts up to its iteration limit, and
    the iterations each batch ran (fewer than the limit where the search stopped early)."""
    out = np.empty_like(images)
    if method in GAN_METHODS:
        from inpaint.imageio import Picture
        inpainter = gan_inpainter(s, gan_settings(method, s, init))
        curve = tuple(k for k in s.curve if k <= inpainter.settings.iteration_limit)
        earlier = {k: np.empty_like(images) for k in curve}
        iterations = []
        for a in range(0, len(images), s.batch):
            sl = slice(a, a + s.batch)
            done = inpainter.complete_many([Picture(im, None, "RGB") for im in images[sl]],
                                           [k < 0.5 for k in known[sl]], keep=curve, framing="whole")
            out[sl] = [c.picture.pixels for c in done]
            for k in curve:
                earlier[k][sl] = [c.earlier[k].pixels for c in done]
            iterations.append(done[0].report["iterations"])
            tick(len(done))
        return out, earlier, iterations
    if method == "gl":
        return run_gl(images, known, s, tick), {}, []
    from inpaint.eval.baselines import BASELINES
    fn = BASELINES[method]
    for i, (im, k) in enumerate(zip(images, known)):
        filled = fn(im.astype(np.float64) / 255.0, k > 0.5)
        out[i] = np.clip(np.rint(filled * 255.0), 0, 255).astype(np.uint8)
        tick(1)
    return out, {}, []


def run_gl(images: np.ndarray, known: np.ndarray, s: EvalSettings, tick: Callable[[int], None]) -> np.ndarray:
    """GL: the bundle's completion graph (s.weights where it is a bundle, else the shipped one) on
    ONNX Runtime's CPU provider, one forward pass per batch, then Poisson blending, as
    inpaint-rt complete --method gl does."""
    from inpaint.imageio import Picture
    from inpaint.runtime.complete import Inpainter
    bundle = s.weights if s.weights and is_bundle(s.weights) else None
    inpainter = Inpainter.from_bundle(bundle)
    out = np.empty_like(images)
    for a in range(0, len(images), s.batch):
        sl = slice(a, a + s.batch)
        done = inpainter.complete_gl([Picture(im, None, "RGB") for im in images[sl]],
                                     [k < 0.5 for k in known[sl]], framing="whole")
        out[sl] = [c.picture.pixels for c in done]
        tick(len(done))
    return out
