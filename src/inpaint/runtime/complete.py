"""complete(): an image of any size and its hole in, the filled image out (known pixels untouched)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from PIL import Image

from inpaint.errors import InpaintError
from inpaint.imageio import Picture
from inpaint.runtime.engines import Engine
from inpaint.runtime.framing import WHOLE, Box, Framer, Framing, given
from inpaint.runtime.ops import CpuOps
from inpaint.runtime.optimise import Search, initial_z, optimise
from inpaint.runtime.problem import make_problem
from inpaint.runtime.square import Square
from inpaint.spec import InpaintSettings


@dataclass
class Completion:
    picture: Picture                 # the filled image, same size and mode as the input
    raw: np.ndarray                  # uint8 (R, R, 3) the generator's image before blending
    z: np.ndarray                    # float32 (z_dim,) the latent vector of the best restart
    report: dict = field(default_factory=dict)
    earlier: dict[int, Picture] = field(default_factory=dict)  # k -> the completion after k iterations
    framing: Framing = WHOLE         # the square the model saw


def to_model_resolution(rgb: np.ndarray, hole: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (H, W, 3) and bool hole (H, W) -> y float32 (3, r, r) in [-1, 1], known float32 (r, r).

    A low-resolution pixel is known when at least half of its footprint is known; its value is the
    average of the known pixels only, so whatever the hole held in the file never leaks in.
    """
    known = (~hole).astype(np.float32)
    if rgb.shape[:2] == (r, r):
        return rgb.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1, known

    def down(a: np.ndarray) -> np.ndarray:   # area-average one float channel to (r, r)
        return np.asarray(Image.fromarray(a).resize((r, r), Image.BOX), np.float32)

    k = down(known)
    sums = np.stack([down(rgb[..., c].astype(np.float32) * known) for c in range(3)])
    y = np.where(k > 0, sums / np.maximum(k, 1e-6), 0.0) / 127.5 - 1
    return y.astype(np.float32), (k >= 0.5).astype(np.float32)


def _rgb(picture: Picture) -> np.ndarray:
    return picture.pixels if picture.mode == "RGB" else np.repeat(picture.pixels, 3, axis=2)


def _upsample(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float (r, r, 3) in [0, 255] -> float (H, W, 3), bicubic."""
    h, w = size
    return np.stack([np.asarray(Image.fromarray(rgb[..., c].astype(np.float32)).resize((w, h), Image.BICUBIC))
                     for c in range(3)], axis=-1)


class Inpainter:
    """Fills holes with a trained generator: Inpainter(engine).complete(picture, hole)."""

    def __init__(self, engine: Engine, ops=None, settings: InpaintSettings = InpaintSettings(),
                 search: Callable = optimise):
        """search: the loop, optimise (host) or runtime.gpu.gpu_search (device), with its signature.

        settings.init "auto" starts from the latent encoder's z where the engine's model has one;
        self.settings holds the settings as they apply to this engine (init and iterations explicit).
        """
        self.engine, self.ops, self.search = engine, ops or CpuOps(), search
        self.settings = settings.resolved(getattr(engine, "has_encoder", False))
        self._framer: Framer | None = None

    @classmethod
    def from_weights(cls, path=None, device: str = "cpu", settings: InpaintSettings = InpaintSettings()):
        """An Inpainter on the eager PyTorch engine, from a weights file (default: the shipped model)."""
        from inpaint.runtime.engines.torch import TorchEngine
        from inpaint.weights import shipped_path
        return cls(TorchEngine.from_weights(path or shipped_path(), device), settings=settings)

    @classmethod
    def from_bundle(cls, path=None, settings: InpaintSettings = InpaintSettings(), threads: int | None = None,
                    backend: str = "ort", providers: tuple[str, ...] | None = None, device: int = 0):
        """An Inpainter on a bundle (default: the shipped one): ONNX Runtime (with `providers`,
        default the CPU) or TensorRT (backend "trt", the plans for this GPU); `device` is the
        CUDA device either uses where it runs on one."""
        from inpaint.runtime.bundle import load_bundle
        from inpaint.weights import shipped_bundle
        bundle = load_bundle(path or shipped_bundle())
        if backend == "trt":
            from inpaint.runtime.engines.trt import TrtEngine
            return cls(TrtEngine(bundle, device), settings=settings)
        from inpaint.runtime.engines.ort import OrtEngine
        return cls(OrtEngine(bundle, threads, list(providers) if providers else None, device_id=device),
                   settings=settings)

    def with_settings(self, settings: InpaintSettings) -> "Inpainter":
        """An Inpainter with other settings on this one's engine, ops, search loop and face finder."""
        other = Inpainter(self.engine, self.ops, settings, self.search)
        if self._framer is None:
            self._framer = Framer()
        other._framer = self._framer
        return other

    def complete(self, picture: Picture, hole: np.ndarray, on_step: Callable | None = None,
                 framing: str | Box | Framing = "auto") -> Completion:
        return self.complete_many([picture], [hole], on_step, framing=[framing])[0]

    def frame(self, picture: Picture, hole: np.ndarray, framing: str | Box | Framing = "auto") -> Framing:
        """Where the model looks: "auto" finds the face the hole is on (the whole image where there
        is none), "whole" is the whole image, a Box is taken as given (checked)."""
        if isinstance(framing, Framing):
            return framing
        if isinstance(framing, Box):
            return given(framing, picture.pixels.shape[:2], hole)
        if framing == "whole":
            return WHOLE
        if framing != "auto":
            raise ValueError(f"framing must be 'auto', 'whole', a Box or a Framing, got {framing!r}")
        if self._framer is None:
            self._framer = Framer()
        return self._framer.find(_rgb(picture), hole)

    def complete_many(self, pictures: list[Picture], holes: list[np.ndarray],
                      on_step: Callable | None = None, keep: tuple[int, ...] = (),
                      framing: str | Box | Framing | list = "auto", seeds: list[int] | None = None,
                      on_preview: Callable[[int, list[Picture]], None] | None = None,
                      preview_every: int = 5) -> list[Completion]:
        """Complete several images in one batch (each with `restarts` rows).

        framing: one for all images or a list, one per image (see frame()). For each k in `keep`,
        Completion.earlier[k] is the completion the first k iterations gave. seeds: one per image,
        each drawing that image's starts as a batch of that image alone would (settings.seed
        draws the whole batch's where None), so that an image's completion does not depend on the
        images it shares a batch with. on_preview(k, pictures) is given the completions of the
        best iterates of the first k steps, every `preview_every` steps before the last.
        """
        t0 = time.perf_counter()
        spec, s = self.engine.spec, self.settings
        framings, rgbs, squares, lows = self._model_inputs(pictures, holes, framing)
        problem = make_problem(np.stack([y for y, _ in lows]), np.stack([k for _, k in lows]),
                               spec.patch, s.window)
        z = self._starts(problem, seeds)
        on_best = None
        if on_preview is not None:
            def on_best(k, best):
                if k % preview_every == 0 and k < s.iteration_limit:
                    xs = best.best_of(s.restarts).x
                    on_preview(k, [self._blend(p, rgb, h, y, known, x, q)[0] for p, rgb, h, (y, known), x, q
                                   in zip(pictures, rgbs, holes, lows, xs, squares)])
        search = self.search(self.engine, self.ops, problem.repeat(s.restarts), s, z=z, on_step=on_step,
                             keep=keep, **({"on_best": on_best} if on_best else {}))
        best = search.best_of(s.restarts)
        t1 = time.perf_counter()
        done = [self._paste(p, rgb, h, y, k, x, best, i, t1 - t0, f)
                for i, (p, rgb, h, (y, k), x, f) in enumerate(zip(pictures, rgbs, holes, lows, best.x, framings))]
        for k, (xs, _) in best.kept.items():
            for c, p, rgb, h, (y, known), x, q in zip(done, pictures, rgbs, holes, lows, xs, squares):
                c.earlier[k] = self._blend(p, rgb, h, y, known, x, q)[0]
        return done

    def _model_inputs(self, pictures, holes, framing):
        """Per image: its framing, its RGB pixels, its square (None for the whole image) and
        (y, known) at the model's resolution; an image with nothing known there is refused."""
        r = self.engine.spec.resolution
        framings = framing if isinstance(framing, list) else [framing] * len(pictures)
        framings = [self.frame(p, h, f) for p, h, f in zip(pictures, holes, framings)]
        rgbs = [_rgb(p) for p in pictures]
        squares = [Square.of(f.box, rgb.shape[:2]) if f.box else None for f, rgb in zip(framings, rgbs)]
        lows = [to_model_resolution(*(q.cut(rgb, h) if q else (rgb, h)), r) for q, rgb, h in zip(squares, rgbs, holes)]
        for f, (_, k) in zip(framings, lows):
            if not k.any():
                where = f"framing square {f.box.to_list()}" if f.box else "the image"
                raise InpaintError(f"{where} has no known pixel at the model's {r}x{r} resolution; "
                                   "give a larger square or a smaller hole")
        return framings, rgbs, squares, lows

    def complete_gl(self, pictures: list[Picture], holes: list[np.ndarray],
                    framing: str | Box | Framing | list = "auto") -> list[Completion]:
        """The GL baseline: one forward pass of the bundle's completion network (no search), then
        the same Poisson blending, framing and pasting as complete_many. Completion.z is empty."""
        if not hasattr(self.engine, "complete_gl"):
            raise InpaintError(f"the {self.engine.name} backend runs the searches only; for --method gl use "
                               "--backend ort, trt or torch")
        if not self.engine.has_gl:
            raise InpaintError("this model has no GL completion network; export one into the bundle with "
                               "inpaint-export BUNDLE --gl GL_CHECKPOINT, or use --method ours")
        t0 = time.perf_counter()
        framings, rgbs, squares, lows = self._model_inputs(pictures, holes, framing)
        xs = self.engine.complete_gl(np.stack([y for y, _ in lows]), np.stack([k for _, k in lows])[:, None])
        t1 = time.perf_counter()
        done = []
        for p, rgb, h, (y, k), x, f, q in zip(pictures, rgbs, holes, lows, xs, framings, squares):
            t2 = time.perf_counter()
            filled, raw = self._blend(p, rgb, h, y, k, x, q)
            report = {"method": "gl", "forward_seconds": round(t1 - t0, 4),
                      "blend_seconds": round(time.perf_counter() - t2, 4), "framing": f.report()}
            done.append(Completion(filled, np.clip(np.rint(raw), 0, 255).astype(np.uint8),
                                   np.zeros(0, np.float32), report, framing=f))
        return done

    def _starts(self, problem, seeds: list[int] | None) -> np.ndarray | None:
        """The search's first z, image-major, or None for optimise's own random draw."""
        s = self.settings
        if seeds is None:
            return self.start(problem) if s.init == "encoder" else None
        if len(seeds) != problem.batch:
            raise ValueError(f"seeds: one per image ({problem.batch}), got {len(seeds)}")
        if s.init == "encoder":
            z = self.engine.encode(problem.y * problem.known, problem.known)
            return np.concatenate([self._perturbed(z[i:i + 1], seed) for i, seed in enumerate(seeds)])
        return np.concatenate([initial_z(s.restarts, self.engine.spec.z_dim, seed) for seed in seeds])

    def start(self, problem) -> np.ndarray:
        """The encoder's starting points, image-major (B * restarts, z_dim): the first restart of
        each image starts at E's z, the others at E's z plus Gaussian noise of std
        settings.perturbation (seeded), clipped to [-1, 1]."""
        return self._perturbed(self.engine.encode(problem.y * problem.known, problem.known), self.settings.seed)

    def _perturbed(self, z: np.ndarray, seed: int) -> np.ndarray:
        """Each row of z (B, z_dim) repeated `restarts` times, all but the first perturbed."""
        s = self.settings
        z = np.repeat(z, s.restarts, axis=0)
        noise = np.random.default_rng(seed).normal(0.0, s.perturbation, z.shape).astype(np.float32)
        noise[::s.restarts] = 0.0
        return np.clip(z + noise, -1.0, 1.0).astype(np.float32)

    def _paste(self, picture, rgb, hole, y, known, x, best: Search, i: int, search_seconds: float,
               framing: Framing):
        t0 = time.perf_counter()
        square = Square.of(framing.box, rgb.shape[:2]) if framing.box else None
        filled, raw = self._blend(picture, rgb, hole, y, known, x, square)
        report = {"loss": float(best.loss[i]), "contextual": float(best.contextual[i]),
                  "prior": float(best.prior[i]), "consistency": float(best.consistency[i]),
                  "iterations": best.iterations, "search_seconds": round(search_seconds, 4),
                  "blend_seconds": round(time.perf_counter() - t0, 4), "framing": framing.report()}
        if square is not None:
            outside = hole.sum() - hole[square.in_photo].sum()
            report["framing"]["outside_hole_pixels"] = int(outside)
            report["framing"]["outside_fill"] = "telea"
        raw_u8 = np.clip(np.rint(raw), 0, 255).astype(np.uint8)
        return Completion(filled, raw_u8, best.z[i].copy(), report, framing=framing)

    def _blend(self, picture, rgb, hole, y, known, x, square: Square | None = None) -> tuple[Picture, np.ndarray]:
        """Blend G's image x at the model resolution, then into the hole at full resolution (of
        the whole photo, or of its framing square): (the filled picture, G's image in [0, 255])."""
        raw = (x.transpose(1, 2, 0) + 1) * 127.5                        # (r, r, 3) in [0, 255]
        low = self.ops.blend(raw, (y.transpose(1, 2, 0) + 1) * 127.5, known > 0.5)
        full = rgb.astype(np.float64)
        if square is not None:
            sq = low if square.side == low.shape[0] else _upsample(low, (square.side, square.side))
            low = square.paste(sq, rgb, hole, self.ops.blend)
        elif rgb.shape[:2] != low.shape[:2]:
            low = self.ops.blend(_upsample(low, rgb.shape[:2]), full, ~hole)
        filled = np.clip(np.rint(low), 0, 255).astype(np.uint8)
        if picture.mode == "L":   # ITU-R 601 luma, as Pillow converts
            filled = np.asarray(Image.fromarray(filled).convert("L"))[..., None]
        pixels = np.where(hole[..., None], filled, picture.pixels)
        alpha = None if picture.alpha is None else np.where(hole, np.uint8(255), picture.alpha)
        return Picture(pixels, alpha, picture.mode), raw
