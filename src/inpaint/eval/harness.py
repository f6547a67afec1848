"""The evaluation harness: N images of a split x mask kinds x methods -> PSNR/SSIM tables and grids.

The draw of images and masks, the measures of a fill and the loop over (mask, method) pairs are
here; how each method fills is in eval/fills.py, joining evaluations in eval/merge.py.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inpaint.errors import DatasetError, InpaintError
from inpaint.eval.fills import GAN_METHODS, label, resolve_backend, resolve_inits, run_method
from inpaint.masks import make_mask

METHODS = GAN_METHODS + ("gl", "tv", "lr", "telea", "ns", "biharmonic", "mean")
METRICS = ("psnr", "ssim", "psnr_hole", "ssim_hole")      # the pixel measures, each image's
PIXEL_METRICS = {"psnr": ("psnr", "psnr_hole"), "ssim": ("ssim", "ssim_hole")}
CHOICES = ("psnr", "ssim", "identity", "landmarks", "kid")   # what --metrics names
LOWER_IS_BETTER = ("identity", "landmarks")


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
    backend: str = "auto"                      # ours/se's row of the table of backends; auto: fills.resolve_backend
    overrides: tuple[tuple[str, float | str], ...] = ()  # InpaintSettings fields for ours (and shared ones for se)
    curve: tuple[int, ...] = ()                # also score ours/se after these many iterations
    metrics: tuple[str, ...] = ("psnr", "ssim")  # of CHOICES; identity, landmarks, kid need the faces extra
    kid_reference: str | None = None           # real faces for KID; None: the rest of `data`
    kid_reference_n: int = 2000                # how many of them (all where fewer remain)

    def __post_init__(self) -> None:
        bad = [m for m in self.metrics if m not in CHOICES]
        if bad or not self.metrics:
            raise InpaintError(f"--metrics: {', '.join(bad) or 'nothing given'}; choose from {', '.join(CHOICES)}")

    @property
    def pixel_keys(self) -> tuple[str, ...]:
        """The per-image pixel measures asked for, in METRICS order."""
        keys = {k for m in self.metrics for k in PIXEL_METRICS.get(m, ())}
        return tuple(k for k in METRICS if k in keys)

    @property
    def face_metrics(self) -> tuple[str, ...]:
        return tuple(m for m in self.metrics if m not in PIXEL_METRICS)


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


def score(result: np.ndarray, truth: np.ndarray, known: np.ndarray, keys: tuple[str, ...] = METRICS
          ) -> dict[str, float]:
    """The pixel measures `keys` (of METRICS) of one fill."""
    from inpaint.eval.metrics import psnr, ssim
    r, t, hole = result / 255.0, truth / 255.0, known < 0.5
    how = {"psnr": lambda: psnr(r, t), "ssim": lambda: ssim(r, t), "psnr_hole": lambda: psnr(r, t, hole),
           "ssim_hole": lambda: ssim(r, t, hole)}
    return {k: how[k]() for k in keys}


def entry(per_image: dict[str, list[float]]) -> dict:
    """A table entry: mean and std of each measure over the images, and the per-image values (for
    paired tests)."""
    return {**{m: {"mean": float(np.mean(v)), "std": float(np.std(v))} for m, v in per_image.items()},
            "per_image": per_image}


def summarise(filled: np.ndarray, truth: np.ndarray, known: np.ndarray, keys: tuple[str, ...] = METRICS) -> dict:
    """The entry of the pixel measures `keys` over the images."""
    scores = [score(f, t, k, keys) for f, t, k in zip(filled, truth, known)]
    return entry({m: [round(x[m], 5) for x in scores] for m in keys})


def paired(a: dict, b: dict, metric: str) -> dict[str, float]:
    """a - b over the same images: mean difference, its 95% confidence half-width and a's win rate
    (the share of images where a is better: higher, or lower for LOWER_IS_BETTER's measures).

    a, b: table entries (with per_image) of two methods on one mask. Pairing removes the spread
    between images, which dwarfs the difference between two methods of the same family.
    """
    d = np.asarray(a["per_image"][metric]) - np.asarray(b["per_image"][metric])
    if len(d) < 2 or not np.all(np.isfinite(d)):
        raise ValueError(f"paired comparison needs two or more finite per-image {metric} values")
    wins = np.mean(d < 0) if metric in LOWER_IS_BETTER else np.mean(d > 0)
    return {"mean": float(d.mean()), "ci95": float(1.96 * d.std(ddof=1) / np.sqrt(len(d))),
            "wins": float(wins), "n": len(d)}


def evaluate(s: EvalSettings, progress: bool = True, grid_dir: Path | None = None, grid_rows: int = 6) -> dict:
    """Run every (mask, method) pair; returns per-pair mean/std of each metric, plus timings."""
    from tqdm import tqdm
    faces = _face_measures(s)               # before any long work: refuses where the extra is missing
    resolution = _resolution(s)
    s = dataclasses.replace(s, inits=resolve_inits(s),
                            backend=resolve_backend(s) if set(s.methods) & set(GAN_METHODS) else s.backend)
    t0 = time.perf_counter()
    idx, images = pick_images(s.data, s.n, resolution, s.seed, s.skip)
    results: dict = {"settings": dataclasses.asdict(s), "resolution": resolution,
                     "images": idx.tolist(), "table": {}}
    if faces is not None:
        truths, reference, results["faces"] = _face_setup(s, faces, images, idx, resolution, progress)
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
            seconds = round(time.perf_counter() - tm, 2)
            result = summarise(filled[name], images, known, s.pixel_keys)
            if faces is not None:
                bar.set_description(f"{kind}/{name} faces")
                face = _face_scores(s, faces, filled[name], truths, reference)
                result["per_image"].update(face.pop("per_image"))
                result.update(face)
            results["table"].setdefault(kind, {})[name] = {
                **result, "seconds": seconds, **({"iterations": iterations} if iterations else {})}
            if earlier:
                results.setdefault("curve", {}).setdefault(kind, {})[name] = {
                    k: summarise(f, images, known, s.pixel_keys or METRICS) for k, f in earlier.items()}
        if grid_dir is not None:
            from inpaint.eval.figures import comparison_grid
            comparison_grid(grid_dir / f"comparison_{kind}.png", images[:grid_rows], known[:grid_rows],
                            {m: f[:grid_rows] for m, f in filled.items()})
    bar.close()
    results["wall_seconds"] = round(time.perf_counter() - t0, 1)
    return results


def _face_measures(s: EvalSettings):
    """dlib's networks where s asks for a face measure (InpaintError naming the extra where they
    are not installed), else None."""
    if not s.face_metrics:
        return None
    from inpaint.eval.faces import FaceMeasures
    return FaceMeasures()


def _face_setup(s: EvalSettings, faces, images: np.ndarray, idx: np.ndarray, resolution: int, progress: bool):
    """The truths' anchors, the reference faces' descriptors for KID (None without kid), and what
    to report of both: how often the face was found, their cost, the truth's own KID."""
    from tqdm import tqdm
    from inpaint.eval import face_eval
    from inpaint.eval.faces import WORK_SIDE
    from inpaint.train.datasets import image_sources
    t0 = time.perf_counter()
    with tqdm(total=len(images), desc="faces of the truths", unit="img", disable=not progress, leave=False) as bar:
        truths = face_eval.anchors(faces, images, tick=bar.update)
    info = {"work_side": WORK_SIDE, "found": float(np.mean([a.found for a in truths])),
            "truth_seconds": round(time.perf_counter() - t0, 2)}
    reference = None
    if "kid" in s.face_metrics:
        t0 = time.perf_counter()
        names = [name for name, _ in image_sources(Path(s.data))]
        source = s.kid_reference or s.data
        ref_names, ref_images = face_eval.reference_faces(source, resolution, s.kid_reference_n, s.seed,
                                                          {names[i] for i in idx})
        with tqdm(total=len(ref_images), desc="faces of the reference", unit="img", disable=not progress,
                  leave=False) as bar:
            reference = np.stack([a.descriptor for a in face_eval.anchors(faces, ref_images, tick=bar.update)])
        info["kid_reference"] = {"data": source, "n": len(ref_names), "seconds": round(time.perf_counter() - t0, 2)}
        info["truth_kid"] = face_eval.kid_entry(np.stack([a.descriptor for a in truths]), reference, s.seed)
    return truths, reference, info


def _face_scores(s: EvalSettings, faces, filled: np.ndarray, truths, reference) -> dict:
    """The face measures of one method's fills: per-image entries, KID, and their cost."""
    from inpaint.eval import face_eval
    t0 = time.perf_counter()
    per_image, descriptors = face_eval.measure_fills(faces, filled, truths, s.face_metrics)
    out = entry(per_image)
    if reference is not None:
        out["kid"] = face_eval.kid_entry(descriptors, reference, s.seed)
    out["face_seconds"] = round(time.perf_counter() - t0, 2)
    return out


def _resolution(s: EvalSettings) -> int:
    if not (set(s.methods) & set(GAN_METHODS)):     # the classical fills and GL run at 64x64
        return 64
    from inpaint.train.checkpoint import load
    from inpaint.weights import shipped_bundle
    return load(s.weights or shipped_bundle())["spec"].resolution
