"""The prior's own number: KID between a generator's samples and real faces, in the space of dlib's
face descriptors (eval/faces.py, eval/kid.py).

Each sample is described as a face of its own (its box found on it, else the crop's typical box),
as the real faces are. The real faces are a seeded draw of a split; the floor is a second draw of
the same split, disjoint from the first, against the same reference: what a perfect generator
would score at that many samples.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inpaint.errors import DatasetError

SAMPLE_BATCH = 250


def real_faces(path: str, resolution: int, n: int, seed: int, skip: int = 0) -> np.ndarray:
    """uint8 (n, R, R, 3): images skip..skip+n of a seeded shuffle of the split."""
    from inpaint.train.datasets import load_dataset
    images = load_dataset("images", path, resolution, progress=False)
    if skip + n > len(images):
        raise DatasetError(f"asked for {skip + n} real faces but {path} holds {len(images)}; lower the counts")
    return images[np.random.default_rng(seed).permutation(len(images))[skip:skip + n]]


def descriptors(measures, images, tick=lambda n: None, cache: bool = True) -> np.ndarray:
    """(N, 128) descriptors of faces, each framed on its own (kept in the user cache unless cache
    is False)."""
    from inpaint.eval.face_eval import anchors
    return np.stack([a.descriptor for a in anchors(measures, np.asarray(images), tick=tick, cache=cache)])


def samples(g, n: int, seed: int) -> np.ndarray:
    """uint8 (n, R, R, 3): G(z) in eval mode for n seeded z ~ U[-1, 1]."""
    import torch
    from inpaint.grid import to_uint8
    from inpaint.train.samples import sample_z
    z = sample_z(n, g.spec.z_dim, seed)
    device = next(g.parameters()).device
    was_training = g.training
    g.eval()
    out = []
    with torch.no_grad():
        for a in range(0, n, SAMPLE_BATCH):
            out.append(to_uint8(g(z[a:a + SAMPLE_BATCH].to(device)).float().cpu().numpy()))
    g.train(was_training)
    return np.concatenate(out)


@dataclass
class PriorMonitor:
    """inpaint-train's monitor: KID of `n` samples against `reference_n` real faces of `data`,
    every `every` steps. Samples are drawn from fixed z (seed), so the curve follows the generator."""

    data: str
    every: int = 2000
    n: int = 500
    reference_n: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        from inpaint.eval.faces import FaceMeasures
        if not Path(self.data).exists():
            raise DatasetError(f"the real faces for KID are not at {self.data}; give the val split's path")
        self.measures = FaceMeasures()
        self._reference = None

    def reference(self, resolution: int) -> np.ndarray:
        if self._reference is None:
            self._reference = descriptors(self.measures, real_faces(self.data, resolution, self.reference_n, self.seed))
        return self._reference

    def __call__(self, step: int, generators: dict) -> dict:
        """{kid_NAME, kid_NAME_low, kid_NAME_high} for each generator NAME, and the sample count."""
        from inpaint.eval.face_eval import kid_entry
        out = {"kid_samples": self.n}
        for name, g in generators.items():
            k = kid_entry(descriptors(self.measures, samples(g, self.n, self.seed + 1), cache=False),
                          self.reference(g.spec.resolution), self.seed)
            out.update({f"kid_{name}": k["value"], f"kid_{name}_low": k["low"], f"kid_{name}_high": k["high"]})
        return out


def prior_kid(g, data: str, n: int = 2000, reference_n: int = 2000, seed: int = 0, measures=None,
              progress: bool = False) -> dict:
    """KID of n samples of g against reference_n real faces of `data`, and the floor: n other real
    faces of `data` against the same reference."""
    from tqdm import tqdm
    from inpaint.eval.face_eval import kid_entry
    from inpaint.eval.faces import FaceMeasures
    measures = measures or FaceMeasures()
    resolution = g.spec.resolution
    real = real_faces(data, resolution, reference_n + n, seed)
    with tqdm(total=reference_n + 2 * n, unit="face", disable=not progress, leave=False) as bar:
        reference = descriptors(measures, real[:reference_n], bar.update)
        floor = descriptors(measures, real[reference_n:], bar.update)
        drawn = descriptors(measures, samples(g, n, seed + 1), bar.update, cache=False)
    return {"samples": kid_entry(drawn, reference, seed), "floor": kid_entry(floor, reference, seed),
            "n": n, "reference_n": reference_n, "data": data}
