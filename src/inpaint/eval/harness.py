"""The evaluation harness: N images of a split x mask kinds x methods -> PSNR/SSIM tables and grids."""
from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from inpaint.errors import DatasetError, InpaintError
from inpaint.masks import make_mask

GAN_METHODS = ("ours", "se")
METHODS = GAN_METHODS + ("gl", "tv", "lr", "telea", "ns", "biharmonic", "mean")
METRICS = ("psnr", "ssim", "psnr_hole", "ssim_hole")


@dataclass(frozen=True)
class EvalSettings:
    data: str                                  # a zip or folder of ready crops at the model resolution
    n: int = 500                               # images drawn (seeded) from the split
    skip: int = 0                              # leave out the draw's first `skip` images (a disjoint tuning set)
    masks: tuple[str, ...] = ("center", "pattern")
    methods: tuple[str, ...] = METHODS
    seed: int = 0
    iterations: int | None = None              # for ours/se; None: the default of each start
    inits: tuple[str, ...] = ("auto",)         # starts of ours/se: "random" and/or "encoder" (the model's E);
                                               # "auto": the encoder where the model has one, as inpaint-rt
    restarts: int | None = None
    batch: int = 64                            # images per optimisation batch
    weights: str | None = None                 # None: the shipped model
    device: str = "cpu"
    overrides: tuple[tuple[str, float | str], ...] = ()  # InpaintSettings fields for ours (and shared ones for se)
    curve: tuple[int, ...] = ()                # also score ours/se after these many iterations


def pick_images(data: str, n: int, resolution: int, seed: int, skip: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(indices, uint8 images (n, R, R, 3)): images skip..skip+n of a seeded shuffle of the split,
    in index order. The same seed with skip >= n' gives a set disjoint from the first n' images."""
    from inpaint.train.datasets import load_dataset
    images = load_dataset("images", data, resolution, progress=False)
    idx = _draw(len(images), n, seed, skip, data)
    return idx, images[idx]


def write_picked(data: str, n: int, seed: int, out: Path, skip: int = 0) -> np.ndarray:
    """Copy the files of pick_images' draw from a split into the zip `out`, bytes unchanged, in
    index order: a small stand-in for the split (the whole of it is the draw) to carry to another
    machine. Returns the indices. Masks follow the position in the zip, not in the split."""
    import zipfile
    from inpaint.atomic import write_atomic
    from inpaint.train.datasets import image_sources
    sources = list(image_sources(Path(data)))
    idx = _draw(len(sources), n, seed, skip, data)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
            for i in idx:
                name, read = sources[i]
                z.writestr(name, read())
    write_atomic(Path(out), write)
    return idx


def _draw(count: int, n: int, seed: int, skip: int, data: str) -> np.ndarray:
    """Indices skip..skip+n of a seeded shuffle of range(count), in index order."""
    if skip + n > count:
        raise DatasetError(f"asked for {n} images (after skipping {skip}) but {data} holds {count}")
    return np.sort(np.random.default_rng(seed).permutation(count)[skip:skip + n])


def mask_for(kind: str, resolution: int, seed: int, i: int) -> np.ndarray:
    """M (R, R), 1 = known, for image i: every method sees the same mask."""
    return make_mask(kind, resolution, seed * 1_000_003 + i)


def resolve_inits(s: EvalSettings) -> tuple[str, ...]:
    """s.inits with "auto" made explicit as inpaint-rt complete makes it: the latent encoder where
    the model has one, else random z (each start once)."""
    if "auto" not in s.inits:
        return s.inits
    if any(m in GAN_METHODS for m in s.methods):
        from inpaint.runtime.engines.torch import TorchEngine
        from inpaint.weights import shipped_path
        auto = "encoder" if TorchEngine.from_weights(s.weights or shipped_path()).has_encoder else "random"
    else:
        auto = "random"
    return tuple(dict.fromkeys(auto if i == "auto" else i for i in s.inits))


def label(method: str, init: str) -> str:
    """The name a GAN method's results go by: "ours" from random z, "ours+encoder" from E's z."""
    return method if init == "random" else f"{method}+{init}"


def gan_settings(method: str, s: EvalSettings, init: str = "random"):
    """ours: joint D + PD prior (with the consistency loss at its default weight); se: D's own prior only."""
    from inpaint.spec import InpaintSettings
    common = dict(iterations=s.iterations, restarts=s.restarts, seed=s.seed, init=init)
    common.update(s.overrides)
    if method == "se":    # SE: the global discriminator's own prior, nothing of PD or the consistency loss
        return InpaintSettings(**{**common, "prior": "global", "consistency_weight": 0.0})
    return InpaintSettings(**common)


def gan_inpainter(s: EvalSettings, settings):
    """The Inpainter for ours/se on s.device: on a CUDA device the GPU runtime (the search with its
    state on the device, runtime/gpu.py) where cuda.core is installed for its kernels, elsewhere
    the host loop on eager PyTorch (on that device). Both give the same fills to rounding."""
    from inpaint.runtime.complete import Inpainter
    if s.device.startswith("cuda"):
        from inpaint.kernels.build import cuda_core
        try:
            cuda_core()
        except InpaintError as e:
            warnings.warn(f"the host loop searches on {s.device}, since the GPU runtime cannot: {e}")
        else:
            from inpaint.runtime.gpu import gpu_inpainter
            return gpu_inpainter(s.weights, settings, int(s.device.partition(":")[2] or 0))
    return Inpainter.from_weights(s.weights, s.device, settings)


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
    bundle = s.weights if s.weights and (Path(s.weights) / "manifest.json").is_file() else None
    inpainter = Inpainter.from_bundle(bundle)
    out = np.empty_like(images)
    for a in range(0, len(images), s.batch):
        sl = slice(a, a + s.batch)
        done = inpainter.complete_gl([Picture(im, None, "RGB") for im in images[sl]],
                                     [k < 0.5 for k in known[sl]], framing="whole")
        out[sl] = [c.picture.pixels for c in done]
        tick(len(done))
    return out


def score(result: np.ndarray, truth: np.ndarray, known: np.ndarray) -> dict[str, float]:
    from inpaint.eval.metrics import psnr, ssim
    r, t, hole = result / 255.0, truth / 255.0, known < 0.5
    return {"psnr": psnr(r, t), "ssim": ssim(r, t), "psnr_hole": psnr(r, t, hole),
            "ssim_hole": ssim(r, t, hole)}


def summarise(filled: np.ndarray, truth: np.ndarray, known: np.ndarray) -> dict:
    """Mean and std of every metric over the images, and the per-image values (for paired tests)."""
    scores = [score(f, t, k) for f, t, k in zip(filled, truth, known)]
    return {**{m: {"mean": float(np.mean([x[m] for x in scores])),
                   "std": float(np.std([x[m] for x in scores]))} for m in METRICS},
            "per_image": {m: [round(x[m], 5) for x in scores] for m in METRICS}}


def paired(a: dict, b: dict, metric: str) -> dict[str, float]:
    """a - b over the same images: mean difference, its 95% confidence half-width and a's win rate.

    a, b: table entries (with per_image) of two methods on one mask. Pairing removes the spread
    between images, which dwarfs the difference between two methods of the same family.
    """
    d = np.asarray(a["per_image"][metric]) - np.asarray(b["per_image"][metric])
    if len(d) < 2 or not np.all(np.isfinite(d)):
        raise ValueError(f"paired comparison needs two or more finite per-image {metric} values")
    return {"mean": float(d.mean()), "ci95": float(1.96 * d.std(ddof=1) / np.sqrt(len(d))),
            "wins": float(np.mean(d > 0)), "n": len(d)}


def evaluate(s: EvalSettings, progress: bool = True, grid_dir: Path | None = None, grid_rows: int = 6) -> dict:
    """Run every (mask, method) pair; returns per-pair mean/std of each metric, plus timings."""
    from tqdm import tqdm
    resolution = _resolution(s)
    s = dataclasses.replace(s, inits=resolve_inits(s))
    t0 = time.perf_counter()
    idx, images = pick_images(s.data, s.n, resolution, s.seed, s.skip)
    results: dict = {"settings": dataclasses.asdict(s), "resolution": resolution,
                     "images": idx.tolist(), "table": {}}
    runs = [(m, init) for m in s.methods for init in (s.inits if m in GAN_METHODS else ("random",))]
    bar = tqdm(total=len(s.masks) * len(runs) * s.n, unit="img", disable=not progress, dynamic_ncols=True)
    for kind in s.masks:
        known = np.stack([mask_for(kind, resolution, s.seed, int(i)) for i in idx])
        filled = {}
        for method, init in runs:
            name = label(method, init)
            bar.set_description(f"{kind}/{name}")
            tm = time.perf_counter()
            filled[name], earlier, iterations = run_method(method, images, known, s, bar.update, init)
            results["table"].setdefault(kind, {})[name] = {
                **summarise(filled[name], images, known), "seconds": round(time.perf_counter() - tm, 2),
                **({"iterations": iterations} if iterations else {})}
            if earlier:
                results.setdefault("curve", {}).setdefault(kind, {})[name] = {
                    k: summarise(f, images, known) for k, f in earlier.items()}
        if grid_dir is not None:
            from inpaint.eval.figures import comparison_grid
            comparison_grid(grid_dir / f"comparison_{kind}.png", images[:grid_rows], known[:grid_rows],
                            {m: f[:grid_rows] for m, f in filled.items()})
    bar.close()
    results["wall_seconds"] = round(time.perf_counter() - t0, 1)
    return results


def merge_results(results: list[dict]) -> dict:
    """One evaluation from several of the same images (one per mask, say): their tables and
    curves side by side, wall times summed, each part's settings under "parts"."""
    first = results[0]
    out = {**first, "table": {}, "curve": {}, "wall_seconds": 0.0, "parts": []}
    for r in results:
        if r["images"] != first["images"]:
            raise ValueError("these evaluations scored different images; merge only runs of one draw")
        for key in ("table", "curve"):
            for kind, methods in r.get(key, {}).items():
                clash = set(methods) & set(out[key].get(kind, {}))
                if clash:
                    raise ValueError(f"{kind}/{', '.join(sorted(clash))} is in more than one file")
                out[key].setdefault(kind, {}).update(methods)
        out["wall_seconds"] += r["wall_seconds"]
        out["parts"].append(r["settings"])
    out["settings"] = {**first["settings"], "masks": list(out["table"])}
    if not out["curve"]:
        del out["curve"]
    return out


def join_shards(results: list[dict]) -> dict:
    """One evaluation from several of disjoint images with the same (mask, method) pairs (the
    shards of a draw, by --skip): per-image values joined in image order, means and spreads
    recomputed from them, times and iteration counts summed and joined, each shard's settings
    under "shards"."""
    first = results[0]
    images = [i for r in results for i in r["images"]]
    if len(set(images)) != len(images):
        raise ValueError("these evaluations share images; join only disjoint shards of a draw")
    for r in results:
        for key in ("table", "curve"):
            if _pairs(r.get(key, {}), key == "curve") != _pairs(first.get(key, {}), key == "curve"):
                raise ValueError(f"the shards' {key}s differ in their (mask, method) pairs; "
                                 "join only runs of the same masks and methods")
    order = np.argsort(images, kind="stable")

    def joined(entries: list[dict]) -> dict:
        per_image = {m: [v for e in entries for v in e["per_image"][m]] for m in METRICS}
        out = {m: {"mean": float(np.mean(per_image[m])), "std": float(np.std(per_image[m]))} for m in METRICS}
        out["per_image"] = {m: [per_image[m][i] for i in order] for m in METRICS}
        if "seconds" in entries[0]:
            out["seconds"] = round(sum(e["seconds"] for e in entries), 2)
        if "iterations" in entries[0]:
            out["iterations"] = [k for e in entries for k in e["iterations"]]
        return out

    out = {**first, "images": [images[i] for i in order], "table": {},
           "wall_seconds": round(sum(r["wall_seconds"] for r in results), 1),
           "shards": [r.get("parts", [r["settings"]]) for r in results]}
    out.pop("parts", None)
    for kind, methods in first["table"].items():
        out["table"][kind] = {m: joined([r["table"][kind][m] for r in results]) for m in methods}
    if "curve" in first:
        out["curve"] = {kind: {m: {k: joined([r["curve"][kind][m][k] for r in results]) for k in ks}
                               for m, ks in methods.items()} for kind, methods in first["curve"].items()}
    out["settings"] = {**first["settings"], "n": len(images), "skip": min(r["settings"]["skip"] for r in results)}
    return out


def _pairs(section: dict, curve: bool) -> set:
    """The (mask, method) pairs of a table, or of a curve with its iteration counts."""
    return {(kind, m, tuple(sorted(v)) if curve else ()) for kind, methods in section.items() for m, v in methods.items()}


def _resolution(s: EvalSettings) -> int:
    if not (set(s.methods) & set(GAN_METHODS)):     # the classical fills and GL run at 64x64
        return 64
    from inpaint.train.checkpoint import load
    from inpaint.weights import shipped_path
    return load(s.weights or shipped_path())["spec"].resolution


def comparisons(results: dict) -> list[tuple[str, str]]:
    """The pairs worth comparing in a run: each GAN method from the encoder against itself from
    random z, ours against se from the same start, and ours against gl."""
    names = {n for methods in results["table"].values() for n in methods}
    inits = results["settings"].get("inits", ["random"])
    pairs = [(label(m, i), m) for m in GAN_METHODS for i in inits if i != "random"]
    pairs += [(label("ours", i), label("se", i)) for i in inits]
    pairs += [(label("ours", i), "gl") for i in inits]
    return [(a, b) for a, b in pairs if a in names and b in names]


def markdown_paired(results: dict, a: str = "ours", b: str = "se") -> str:
    """One row per mask where both methods ran: a - b in PSNR and SSIM (mean ± 95% CI, win rate)."""
    lines = [f"| mask | PSNR {a} − {b} (dB) | {a} better (PSNR) | SSIM {a} − {b} | {a} better (SSIM) |",
             "|---|---|---|---|---|"]
    for kind, methods in results["table"].items():
        if a in methods and b in methods:
            p, q = paired(methods[a], methods[b], "psnr"), paired(methods[a], methods[b], "ssim")
            lines.append(f"| {kind} | {p['mean']:+.3f} ± {p['ci95']:.3f} | {p['wins']:.0%} | "
                         f"{q['mean']:+.4f} ± {q['ci95']:.4f} | {q['wins']:.0%} |")
    return "\n".join(lines)


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


def markdown_averaged(results: dict, kinds: tuple[str, ...] = ("center", "pattern")) -> str | None:
    """The paper's table: per method, PSNR and SSIM (whole image) averaged over the center and
    pattern masks (the mean of the two masks' means); None unless both masks were run."""
    table = results["table"]
    if not all(k in table for k in kinds):
        return None
    methods = [m for m in table[kinds[0]] if all(m in table[k] for k in kinds)]
    lines = [f"| method | PSNR (dB), mean of {' and '.join(kinds)} | SSIM, mean of {' and '.join(kinds)} |",
             "|---|---|---|"]
    for m in methods:
        psnr_avg = np.mean([table[k][m]["psnr"]["mean"] for k in kinds])
        ssim_avg = np.mean([table[k][m]["ssim"]["mean"] for k in kinds])
        lines.append(f"| {m} | {psnr_avg:.2f} | {ssim_avg:.3f} |")
    return "\n".join(lines)


def markdown_curve(results: dict) -> str:
    """One row per (mask, method) of the curve: PSNR / SSIM of the whole image at each iteration
    count measured; blank where that method stopped earlier."""
    rows = [(kind, method, {int(k): v for k, v in ks.items()})          # JSON makes the counts strings
            for kind, methods in results["curve"].items() for method, ks in methods.items()]
    counts = sorted({k for *_, ks in rows for k in ks})
    lines = ["| mask | method | " + " | ".join(map(str, counts)) + " |", "|---|---|" + "---|" * len(counts)]
    for kind, method, ks in rows:
        cells = [f"{ks[k]['psnr']['mean']:.2f} / {ks[k]['ssim']['mean']:.3f}" if k in ks else "" for k in counts]
        lines.append(f"| {kind} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
