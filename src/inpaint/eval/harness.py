"""The evaluation harness: N images of a split x mask kinds x methods -> PSNR/SSIM tables and grids."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from inpaint.errors import DatasetError
from inpaint.masks import make_mask

GAN_METHODS = ("ours", "se")
METHODS = GAN_METHODS + ("tv", "lr", "telea", "ns", "biharmonic", "mean")
METRICS = ("psnr", "ssim", "psnr_hole", "ssim_hole")


@dataclass(frozen=True)
class EvalSettings:
    data: str                                  # a zip or folder of ready crops at the model resolution
    n: int = 500                               # images drawn (seeded) from the split
    masks: tuple[str, ...] = ("center", "pattern")
    methods: tuple[str, ...] = METHODS
    seed: int = 0
    iterations: int | None = None              # for ours/se; None: InpaintSettings' default
    restarts: int | None = None
    batch: int = 64                            # images per optimisation batch
    weights: str | None = None                 # None: the shipped model
    device: str = "cpu"
    overrides: tuple[tuple[str, float | str], ...] = ()  # InpaintSettings fields for ours (and shared ones for se)


def pick_images(data: str, n: int, resolution: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, uint8 images (n, R, R, 3)): a seeded sample of the split, in index order."""
    from inpaint.train.datasets import load_dataset
    images = load_dataset("images", data, resolution, progress=False)
    if n > len(images):
        raise DatasetError(f"asked for {n} images but {data} holds {len(images)}")
    idx = np.sort(np.random.default_rng(seed).choice(len(images), n, replace=False))
    return idx, images[idx]


def mask_for(kind: str, resolution: int, seed: int, i: int) -> np.ndarray:
    """M (R, R), 1 = known, for image i: every method sees the same mask."""
    return make_mask(kind, resolution, seed * 1_000_003 + i)


def gan_settings(method: str, s: EvalSettings):
    """ours: joint D + PD prior (with the consistency loss at its default weight); se: D's own prior only."""
    from inpaint.spec import InpaintSettings
    d = InpaintSettings()
    common = dict(iterations=s.iterations or d.iterations, restarts=s.restarts or d.restarts, seed=s.seed)
    common.update(s.overrides)
    if method == "se":    # SE: the global discriminator's own prior, nothing of PD or the consistency loss
        return InpaintSettings(**{**common, "prior": "global", "consistency_weight": 0.0})
    return InpaintSettings(**common)


def run_method(method: str, images: np.ndarray, known: np.ndarray, s: EvalSettings,
               tick: Callable[[int], None]) -> np.ndarray:
    """Fill every image's hole with one method: uint8 (N, R, R, 3)."""
    out = np.empty_like(images)
    if method in GAN_METHODS:
        from inpaint.imageio import Picture
        from inpaint.runtime.complete import Inpainter
        inpainter = Inpainter.from_weights(s.weights, s.device, gan_settings(method, s))
        for a in range(0, len(images), s.batch):
            sl = slice(a, a + s.batch)
            done = inpainter.complete_many([Picture(im, None, "RGB") for im in images[sl]],
                                           [k < 0.5 for k in known[sl]])
            out[sl] = [c.picture.pixels for c in done]
            tick(len(done))
        return out
    from inpaint.eval.baselines import BASELINES
    fn = BASELINES[method]
    for i, (im, k) in enumerate(zip(images, known)):
        filled = fn(im.astype(np.float64) / 255.0, k > 0.5)
        out[i] = np.clip(np.rint(filled * 255.0), 0, 255).astype(np.uint8)
        tick(1)
    return out


def score(result: np.ndarray, truth: np.ndarray, known: np.ndarray) -> dict[str, float]:
    from inpaint.eval.metrics import psnr, ssim
    r, t, hole = result / 255.0, truth / 255.0, known < 0.5
    return {"psnr": psnr(r, t), "ssim": ssim(r, t), "psnr_hole": psnr(r, t, hole),
            "ssim_hole": ssim(r, t, hole)}


def evaluate(s: EvalSettings, progress: bool = True, grid_dir: Path | None = None, grid_rows: int = 6) -> dict:
    """Run every (mask, method) pair; returns per-pair mean/std of each metric, plus timings."""
    from tqdm import tqdm
    resolution = _resolution(s)
    t0 = time.perf_counter()
    idx, images = pick_images(s.data, s.n, resolution, s.seed)
    results: dict = {"settings": dataclasses.asdict(s), "resolution": resolution,
                     "images": idx.tolist(), "table": {}}
    bar = tqdm(total=len(s.masks) * len(s.methods) * s.n, unit="img", disable=not progress,
               dynamic_ncols=True)
    for kind in s.masks:
        known = np.stack([mask_for(kind, resolution, s.seed, int(i)) for i in idx])
        filled = {}
        for method in s.methods:
            bar.set_description(f"{kind}/{method}")
            tm = time.perf_counter()
            filled[method] = run_method(method, images, known, s, bar.update)
            scores = [score(f, t, k) for f, t, k in zip(filled[method], images, known)]
            results["table"].setdefault(kind, {})[method] = {
                **{m: {"mean": float(np.mean([x[m] for x in scores])),
                       "std": float(np.std([x[m] for x in scores]))} for m in METRICS},
                "seconds": round(time.perf_counter() - tm, 2)}
        if grid_dir is not None:
            from inpaint.eval.figures import comparison_grid
            comparison_grid(grid_dir / f"comparison_{kind}.png", images[:grid_rows], known[:grid_rows],
                            {m: filled[m][:grid_rows] for m in s.methods})
    bar.close()
    results["wall_seconds"] = round(time.perf_counter() - t0, 1)
    return results


def _resolution(s: EvalSettings) -> int:
    if not (set(s.methods) & set(GAN_METHODS)):
        return 64
    from inpaint.train.checkpoint import load
    from inpaint.weights import shipped_path
    return load(s.weights or shipped_path())["spec"].resolution


def markdown_table(results: dict) -> str:
    """One row per (mask, method): mean +- std of PSNR and SSIM, whole image and hole."""
    lines = ["| mask | method | PSNR (dB) | SSIM | PSNR hole (dB) | SSIM hole | time (s) |",
             "|---|---|---|---|---|---|---|"]
    for kind, methods in results["table"].items():
        for method, r in methods.items():
            cells = [f"{r[m]['mean']:.2f} ± {r[m]['std']:.2f}" if m.startswith("psnr")
                     else f"{r[m]['mean']:.3f} ± {r[m]['std']:.3f}" for m in METRICS]
            lines.append(f"| {kind} | {method} | " + " | ".join(cells) + f" | {r['seconds']:.0f} |")
    return "\n".join(lines)
