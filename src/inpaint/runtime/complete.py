"""complete(): an image of any size and its hole in, the filled image out (known pixels untouched)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from PIL import Image

from inpaint.errors import InpaintError
from inpaint.imageio import Picture
from inpaint.runtime.engines import Engine, searched
from inpaint.runtime.fill import hole_box, paste_completion
from inpaint.runtime.frame import Frame
from inpaint.runtime.framing.decide import Framer
from inpaint.runtime.framing.geometry import Box, split_hole
from inpaint.runtime.framing.option import given
from inpaint.runtime.framing.result import WHOLE, Framing
from inpaint.runtime.ops import CpuOps
from inpaint.runtime.optimise import Search, initial_z, optimise
from inpaint.runtime.problem import make_problem
from inpaint.spec import InpaintSettings


@dataclass
class Completion:
    picture: Picture                 # the filled image, same size and mode as the input
    raw: np.ndarray                  # uint8 (R, R, 3) the generator's image before blending
    z: np.ndarray                    # float32 (z_dim,) the latent vector of the best restart; for
                                     # search z+bn, v = [z, u] (z_dim + 2C,)
    report: dict = field(default_factory=dict)
    earlier: dict[int, Picture] = field(default_factory=dict)  # k -> the completion after k iterations
    framing: Framing = WHOLE         # the square the model saw


def _rgb(picture: Picture) -> np.ndarray:
    return picture.pixels if picture.mode == "RGB" else np.repeat(picture.pixels, 3, axis=2)


class Inpainter:
    """Fills holes with a trained generator: Inpainter(engine).complete(picture, hole)."""

    def __init__(self, engine: Engine, ops=None, settings: InpaintSettings = InpaintSettings(),
                 search: Callable = optimise):
        """search: the loop, optimise (host) or runtime.gpu.gpu_search (device), with its signature.

        settings.init "auto" starts from the latent encoder's z where the engine's model has one;
        self.settings holds the settings as they apply to this engine (init and iterations explicit).
        """
        self.engine, self.ops, self.search = engine, ops or CpuOps(), search
        self.settings = searched(engine, settings).resolved(getattr(engine, "has_encoder", False))
        self._framer: Framer | None = None

    @classmethod
    def from_bundle(cls, path=None, settings: InpaintSettings = InpaintSettings(), threads: int | None = None):
        """An Inpainter on a bundle (default: the shipped one) on ONNX Runtime's CPU provider;
        inpaint.inpainters builds one on any other backend."""
        from inpaint.runtime.bundle import load_bundle
        from inpaint.runtime.engines.ort import OrtEngine
        from inpaint.weights import shipped_bundle
        return cls(OrtEngine(load_bundle(path or shipped_bundle()), threads), settings=settings)

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
        """Complete several images in one batch (each square of each with `restarts` rows).

        framing: one for all images or a list, one per image (see frame()); a hole on several
        faces is completed in each face's square, all in the same batch. For each k in `keep`,
        Completion.earlier[k] is the completion the first k iterations gave. seeds: one per image,
        each drawing that image's starts as a batch of that image alone would (settings.seed
        draws the whole batch's where None), so that an image's completion does not depend on the
        images it shares a batch with. on_preview(k, pictures) is given the completions of the
        best iterates of the first k steps, every `preview_every` steps before the last.
        """
        t0 = time.perf_counter()
        spec, s = self.engine.spec, self.settings
        framings, rgbs, plans = self._model_inputs(pictures, holes, framing)
        rows = [(i, sq) for i, plan in enumerate(plans) for sq in plan]
        problem = make_problem(np.stack([sq.y for _, sq in rows]), np.stack([sq.known for _, sq in rows]),
                               spec.patch, s.window)
        z = self._starts(problem, None if seeds is None else [seeds[i] for i, _ in rows])
        first = np.cumsum([0] + [len(plan) for plan in plans])      # each image's first row

        def per_image(xs):
            return [xs[first[i]:first[i + 1]] for i in range(len(pictures))]
        on_best = None
        if on_preview is not None:
            def on_best(k, best):
                if k % preview_every == 0 and k < s.iteration_limit:
                    xs = per_image(best.best_of(s.restarts).x)
                    on_preview(k, [self._blend(p, rgb, h, plan, x)[0] for p, rgb, h, plan, x
                                   in zip(pictures, rgbs, holes, plans, xs)])
        search = self.search(self.engine, self.ops, problem.repeat(s.restarts), s, z=z, on_step=on_step,
                             keep=keep, **({"on_best": on_best} if on_best else {}))
        best = search.best_of(s.restarts)
        t1 = time.perf_counter()
        done = [self._paste(p, rgb, h, plan, x, best, first[i], t1 - t0, f)
                for i, (p, rgb, h, plan, x, f) in enumerate(zip(pictures, rgbs, holes, plans, per_image(best.x),
                                                                 framings))]
        for k, (xs, _) in best.kept.items():
            for c, p, rgb, h, plan, x in zip(done, pictures, rgbs, holes, plans, per_image(xs)):
                c.earlier[k] = self._blend(p, rgb, h, plan, x)[0]
        return done

    def _model_inputs(self, pictures, holes, framing):
        """Per image: its framing, its RGB pixels and its plan, the squares the model completes
        (one, or one per face the hole lies on) with their (y, known) at the model's resolution;
        an image with nothing known there is refused."""
        r = self.engine.spec.resolution
        framings = framing if isinstance(framing, list) else [framing] * len(pictures)
        framings = [self.frame(p, h, f) for p, h, f in zip(pictures, holes, framings)]
        rgbs = [_rgb(p) for p in pictures]
        plans = [plan(f, rgb, h, r) for f, rgb, h in zip(framings, rgbs, holes)]
        for f, squares in zip(framings, plans):
            for sq in squares:
                if not sq.known.any():
                    where = f"framing square {f.box.to_list()}" if f.box else "the image"
                    raise InpaintError(f"{where} has no known pixel at the model's {r}x{r} resolution; "
                                       "give a larger square or a smaller hole")
        return framings, rgbs, plans

    def check_gl(self) -> None:
        """InpaintError, saying what to do, where this engine or model cannot run GL's network."""
        if not hasattr(self.engine, "complete_gl"):
            raise InpaintError(f"the {self.engine.name} backend runs the searches only; for --method gl use "
                               "--backend ort, trt or torch")
        if not self.engine.has_gl:
            raise InpaintError("this model has no GL completion network; export one into the bundle with "
                               "inpaint-export BUNDLE --gl GL_CHECKPOINT, or use --method ours")

    def complete_gl(self, pictures: list[Picture], holes: list[np.ndarray],
                    framing: str | Box | Framing | list = "auto") -> list[Completion]:
        """The GL baseline: one forward pass of the bundle's completion network (no search), then
        the same Poisson blending, framing and pasting as complete_many. Completion.z is empty."""
        self.check_gl()
        t0 = time.perf_counter()
        framings, rgbs, plans = self._model_inputs(pictures, holes, framing)
        squares = [sq for squares in plans for sq in squares]
        xs = self.engine.complete_gl(np.stack([sq.y for sq in squares]), np.stack([sq.known for sq in squares])[:, None])
        t1 = time.perf_counter()
        done, row = [], 0
        for p, rgb, h, squares, f in zip(pictures, rgbs, holes, plans, framings):
            t2 = time.perf_counter()
            filled, raw = self._blend(p, rgb, h, squares, xs[row:row + len(squares)])
            row += len(squares)
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

    def _paste(self, picture, rgb, hole, squares: list["PlannedSquare"], xs, best: Search, row: int,
               search_seconds: float, framing: Framing):
        t0 = time.perf_counter()
        filled, raw = self._blend(picture, rgb, hole, squares, xs)
        report = {"loss": float(best.loss[row]), "contextual": float(best.contextual[row]),
                  "prior": float(best.prior[row]), "consistency": float(best.consistency[row]),
                  "iterations": best.iterations, "search_seconds": round(search_seconds, 4),
                  "blend_seconds": round(time.perf_counter() - t0, 4), "framing": framing.report()}
        if framing.box is not None:            # counted over the hole's box only: photos may be large
            rows, cols = hole_box(hole, 0)
            inside = np.zeros((rows.stop - rows.start, cols.stop - cols.start), bool)
            for sq in squares:
                r, c = sq.frame.covered
                inside[max(0, r.start - rows.start):max(0, r.stop - rows.start),
                       max(0, c.start - cols.start):max(0, c.stop - cols.start)] = True
            report["framing"]["outside_hole_pixels"] = int((hole[rows, cols] & ~inside).sum())
            report["framing"]["outside_fill"] = "telea"
        raw_u8 = np.clip(np.rint(raw), 0, 255).astype(np.uint8)
        return Completion(filled, raw_u8, best.z[row].copy(), report, framing=framing)

    def _blend(self, picture, rgb, hole, squares: list["PlannedSquare"], xs) -> tuple[Picture, np.ndarray]:
        """Blend G's image of each square at the model resolution, then into the hole at full
        resolution (of the whole photo, or of its framing squares, one after the other): (the
        filled picture, G's image of the first square in [0, 255])."""
        filled, raws = rgb, []
        for sq, x in zip(squares, xs):
            raw = (x.transpose(1, 2, 0) + 1) * 127.5                    # (r, r, 3) in [0, 255]
            low = self.ops.blend(raw, (sq.y.transpose(1, 2, 0) + 1) * 127.5, sq.known > 0.5)
            filled = paste_completion(low, sq.frame, filled, sq.hole, self.ops.blend)
            raws.append(raw)
        if picture.mode == "L":   # ITU-R 601 luma, as Pillow converts; only the hole's box is converted
            pixels = picture.pixels.copy()
            rows, cols = hole_box(hole, 0)
            gray = np.asarray(Image.fromarray(np.ascontiguousarray(filled[rows, cols])).convert("L"))[..., None]
            pixels[rows, cols] = np.where(hole[rows, cols, None], gray, pixels[rows, cols])
        else:
            pixels = filled
        alpha = None if picture.alpha is None else np.where(hole, np.uint8(255), picture.alpha)
        deep = None
        if picture.deep is not None:    # a 16-bit file: its known samples kept, the fill at 8 bits x 257
            deep = picture.deep.copy()
            c = pixels.shape[2]
            deep[..., :c][hole] = pixels[hole].astype(np.uint16) * 257
            if alpha is not None:
                deep[..., c][hole] = 65535
        return Picture(pixels, alpha, picture.mode, deep), raws[0]


@dataclass(frozen=True)
class PlannedSquare:
    """One square of a photo that the model completes."""

    frame: Frame
    y: np.ndarray            # float32 (3, r, r) in [-1, 1]: the known pixels at the model's resolution
    known: np.ndarray        # float32 (r, r)
    hole: np.ndarray         # bool (H, W): what is left to fill when its completion is pasted (its
                             # own part of the hole and those of the squares after it)


def plan(framing: Framing, rgb: np.ndarray, hole: np.ndarray, r: int) -> list[PlannedSquare]:
    """The squares of one photo: its framing square (or the whole image), and one more per other
    face the hole lies on (framing.more). Every square sees the whole hole as unknown; the
    completions are pasted one after the other, each over the part of the hole left, so that a
    square's completion meets the one pasted before it."""
    boxes = [framing.box, *framing.more]
    frames = [Frame.of(b, rgb.shape[:2]) for b in boxes]
    inputs = [f.model_input(rgb, hole, r) for f in frames]
    if len(boxes) == 1:
        return [PlannedSquare(frames[0], *inputs[0], hole)]
    parts = split_hole(hole, boxes)
    left, out = hole.copy(), []
    for f, (y, known), part in zip(frames, inputs, parts):
        out.append(PlannedSquare(f, y, known, left.copy()))
        left &= ~part
    return out
