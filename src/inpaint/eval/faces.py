"""Face measures for completions: identity and landmarks from dlib's networks.

The networks ship in two PyPI packages, the `faces` extra: `dlib-bin` (dlib built for CPython)
and `face_recognition_models` (dlib's model files, CC0). Their files are found by path: that
package's own `__init__` imports pkg_resources, which a new virtual environment lacks.
- The face recognition ResNet: a 128-d descriptor of a 150x150 face chip aligned by 5 landmarks
  (0.25 padding), 99.38% on LFW; two descriptors under 0.6 apart are dlib's "same person".
- The 68-point landmark predictor. It was trained on iBUG 300-W, whose terms exclude commercial
  use: the landmark error is a research measure here, not something to ship.
- The 5-point landmark predictor, which aligns the chips.

Every face is measured against its truth, with the truth's geometry: the face box is found once,
on the truth (dlib's HOG detector), and the completion's 68 landmarks are predicted in that box;
the completion's chip is cut with the truth's 5 landmarks, so two fills of one face are compared
on the same pixels and differ only in what they drew. Images are scaled (bicubic) so that the
model's square spans WORK_SIDE pixels, where the HOG detector finds faces framed as the training
crops (93% of 1,000 64x64 val crops; the box it finds there is TYPICAL_BOX of the square, which
stands in where it finds none).
"""
from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from inpaint.errors import InpaintError

WORK_SIDE = 256                 # the model's square in the working copy, pixels
CHIP_SIZE, CHIP_PADDING = 150, 0.25   # what dlib's recognition network was trained on
SAME_PERSON = 0.6               # dlib's threshold on the descriptor distance
TYPICAL_BOX = (0.0703, 0.2578, 0.9102, 1.0977)   # left, top, right, bottom over the square's side
OUTER_EYE_CORNERS = (36, 45)    # of the 68 points: the inter-ocular distance of 300-W
MODEL_FILES = {"recognition": "dlib_face_recognition_resnet_model_v1.dat",
               "landmarks68": "shape_predictor_68_face_landmarks.dat",
               "landmarks5": "shape_predictor_5_face_landmarks.dat"}
INSTALL_HINT = "pip install 'inpaint[faces]' (dlib-bin and face_recognition_models)"


@dataclass(frozen=True)
class FaceAnchor:
    """What a truth gives every completion of it: where the face is, in the working copy."""

    scale: float                # working copy pixels per image pixel
    box: tuple[float, float, float, float]    # left, top, right, bottom (working copy)
    found: bool                 # the detector found it (else TYPICAL_BOX of the square)
    points5: np.ndarray         # (5, 2) the truth's alignment landmarks
    points68: np.ndarray        # (68, 2) the truth's landmarks
    descriptor: np.ndarray      # (128,) the truth's descriptor

    @property
    def interocular(self) -> float:
        a, b = OUTER_EYE_CORNERS
        return float(np.linalg.norm(self.points68[a] - self.points68[b]))


def models_dir() -> Path:
    """The folder of dlib's model files in face_recognition_models; InpaintError naming the extra
    where dlib or the models are missing."""
    if importlib.util.find_spec("dlib") is None:
        raise InpaintError(f"the face metrics need dlib, which is not installed: {INSTALL_HINT}")
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise InpaintError(f"the face metrics need dlib's model files, which are not installed: {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    missing = [f for f in MODEL_FILES.values() if not (folder / f).is_file()]
    if missing:
        raise InpaintError(f"{', '.join(missing)} missing from {folder}: reinstall with {INSTALL_HINT}")
    return folder


def models_version() -> str:
    """What the measures depend on, for cache keys: dlib's version and the model files' sizes."""
    import dlib
    folder = models_dir()
    sizes = ",".join(str((folder / f).stat().st_size) for f in MODEL_FILES.values())
    return hashlib.sha256(f"{dlib.__version__}|{sizes}|{WORK_SIDE}|{TYPICAL_BOX}".encode()).hexdigest()[:16]


class FaceMeasures:
    """dlib's detector, landmark predictors and recognition network, loaded on first use."""

    def __init__(self) -> None:
        self.folder = models_dir()

    @cached_property
    def _dlib(self):
        import dlib
        return dlib

    @cached_property
    def detector(self):
        return self._dlib.get_frontal_face_detector()

    @cached_property
    def landmarks68(self):
        return self._dlib.shape_predictor(str(self.folder / MODEL_FILES["landmarks68"]))

    @cached_property
    def landmarks5(self):
        return self._dlib.shape_predictor(str(self.folder / MODEL_FILES["landmarks5"]))

    @cached_property
    def recognition(self):
        return self._dlib.face_recognition_model_v1(str(self.folder / MODEL_FILES["recognition"]))

    def anchor(self, truth: np.ndarray, square: tuple[float, float, float] | None = None) -> FaceAnchor:
        """The face of a truth, uint8 (H, W, 3); square (x, y, side): the model's square in it
        (default: the whole of a square image). The largest face the detector finds, else the
        typical box of the square."""
        if square is None:
            if truth.shape[0] != truth.shape[1]:
                raise ValueError(f"give the model's square of a {truth.shape[1]}x{truth.shape[0]} image")
            square = (0.0, 0.0, float(truth.shape[0]))
        scale = WORK_SIDE / square[2]
        work = _scaled(truth, scale)
        found = self.detector(work, 0)
        if len(found):
            r = max(found, key=lambda r: r.width() * r.height())
            box = (float(r.left()), float(r.top()), float(r.right()), float(r.bottom()))
        else:
            x, y, side = (v * scale for v in square)
            l, t, rr, b = TYPICAL_BOX
            box = (x + l * side, y + t * side, x + rr * side, y + b * side)
        rect = self._rect(box)
        p5 = self.landmarks5(work, rect)
        return FaceAnchor(scale=scale, box=box, found=bool(len(found)), points5=_points(p5),
                          points68=_points(self.landmarks68(work, rect)),
                          descriptor=self._describe(work, p5))

    def measure(self, image: np.ndarray, anchor: FaceAnchor, describe: bool = True
                ) -> tuple[float, float, np.ndarray | None]:
        """(identity distance, landmark error, descriptor) of a fill of anchor's truth, uint8 (H, W, 3)
        of the truth's size: the descriptors' Euclidean distance, and the mean distance of the 68
        landmarks from the truth's over the truth's inter-ocular distance (outer eye corners).
        describe=False skips the recognition network (most of the cost): distance NaN, no descriptor."""
        work = _scaled(image, anchor.scale)
        rect = self._rect(anchor.box)
        points = _points(self.landmarks68(work, rect))
        error = float(np.linalg.norm(points - anchor.points68, axis=1).mean() / anchor.interocular)
        if not describe:
            return float("nan"), error, None
        shape5 = self._dlib.full_object_detection(rect, [self._dlib.point(int(x), int(y)) for x, y in anchor.points5])
        descriptor = self._describe(work, shape5)
        return float(np.linalg.norm(descriptor - anchor.descriptor)), error, descriptor

    def _describe(self, work: np.ndarray, shape5) -> np.ndarray:
        chip = self._dlib.get_face_chip(work, shape5, size=CHIP_SIZE, padding=CHIP_PADDING)
        return np.asarray(self.recognition.compute_face_descriptor(chip), np.float64)

    def _rect(self, box):
        return self._dlib.rectangle(*(int(round(v)) for v in box))


def _scaled(image: np.ndarray, scale: float) -> np.ndarray:
    from PIL import Image
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"a face image must be uint8 (H, W, 3), got {image.dtype} {image.shape}")
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.ascontiguousarray(np.asarray(Image.fromarray(image).resize(size, Image.BICUBIC)))


def _points(shape) -> np.ndarray:
    return np.array([(p.x, p.y) for p in shape.parts()], np.float64)
