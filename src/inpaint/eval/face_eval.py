"""The face measures of an evaluation: the truths' anchors, the fills' scores, KID and its reference.

Truths and reference faces go through dlib once and are kept in the user cache
($INPAINT_CACHE_DIR/faces, keyed by the pixels and the models), since an evaluation run in parts
(one per mask and group of methods) meets the same faces in every part.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import numpy as np

from inpaint.errors import DatasetError
from inpaint.eval.faces import FaceAnchor, FaceMeasures, models_version

FACE_METRICS = ("identity", "landmarks", "kid")
PER_IMAGE_FACE = ("identity", "landmarks")      # the measures with a value per image
MIN_REFERENCE = 50                               # fewer real faces make KID meaningless


def anchors(measures: FaceMeasures, images: np.ndarray, squares: list | None = None,
            tick: Callable[[int], None] = lambda n: None, cache: bool = True) -> list[FaceAnchor]:
    """The anchor of every truth (uint8 (N, H, W, 3), or a list of images of any size with their
    model squares), read from the cache where it holds them (cache=False: for images met once,
    such as a generator's samples during training)."""
    key = hashlib.sha256(models_version().encode())
    for i, im in enumerate(images):
        key.update(np.ascontiguousarray(im).tobytes())
        key.update(repr(squares[i] if squares else None).encode())
    path = _cache_file(key.hexdigest()[:24]) if cache else None
    if path is not None and path.is_file():
        try:
            with np.load(path) as z:
                out = [FaceAnchor(float(z["scale"][i]), tuple(z["box"][i]), bool(z["found"][i]), z["points5"][i],
                                  z["points68"][i], z["descriptor"][i]) for i in range(len(z["scale"]))]
            if len(out) == len(images):
                tick(len(out))
                return out
        except (OSError, ValueError, KeyError):
            pass                                  # remade below
    out = []
    for i, im in enumerate(images):
        out.append(measures.anchor(im, squares[i] if squares else None))
        tick(1)
    if path is not None:
        from inpaint.atomic import write_atomic
        arrays = {"scale": [a.scale for a in out], "box": [a.box for a in out], "found": [a.found for a in out],
                  "points5": [a.points5 for a in out], "points68": [a.points68 for a in out],
                  "descriptor": [a.descriptor for a in out]}

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})
        write_atomic(path, write)
    return out


def _cache_file(key: str) -> Path | None:
    from inpaint.runtime.user_cache import cache_root
    root = cache_root()
    return None if root is None else root / "faces" / f"{key}.npz"


def measure_fills(measures: FaceMeasures, fills, truths: list[FaceAnchor], metrics: tuple[str, ...]
                  ) -> tuple[dict, np.ndarray | None]:
    """({measure: per-image values} for the per-image measures among `metrics`, descriptors
    (N, 128) where identity or kid needs them) of the fills of the truths, in order."""
    describe = "identity" in metrics or "kid" in metrics
    scores = {"identity": [], "landmarks": []}
    descriptors = []
    for image, anchor in zip(fills, truths):
        identity, landmarks, descriptor = measures.measure(image, anchor, describe)
        scores["identity"].append(round(identity, 5))
        scores["landmarks"].append(round(landmarks, 5))
        descriptors.append(descriptor)
    return ({m: v for m, v in scores.items() if m in metrics},
            np.asarray(descriptors) if describe else None)


def reference_faces(path: str, resolution: int, n: int, seed: int, exclude: set[str]) -> tuple[list[str], np.ndarray]:
    """(names, uint8 images (m, R, R, 3)): a seeded draw of n real faces of the split at `path`,
    none of them named in `exclude` (the evaluated images), all where fewer remain."""
    from inpaint.train.datasets import image_sources, load_dataset
    names = [name for name, _ in image_sources(Path(path))]
    free = [i for i, name in enumerate(names) if name not in exclude]
    if len(free) < MIN_REFERENCE:
        raise DatasetError(f"KID needs {MIN_REFERENCE} or more real faces besides the evaluated ones, and "
                           f"{path} has {len(free)}; give --kid-reference a split of the same faces "
                           "(e.g. the whole val.zip)")
    pick = np.sort(np.random.default_rng(seed + 1).permutation(free)[:n])
    images = load_dataset("images", path, resolution, progress=False)
    return [names[i] for i in pick], images[pick]


def kid_entry(descriptors: np.ndarray, reference: np.ndarray, seed: int) -> dict:
    from inpaint.eval.kid import kid
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in kid(descriptors, reference, seed).items()}
