"""The framing network (framing.onnx, trained by train/framing.py): its views of a guess, and the
rounds in which it settles each guess on the square."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from inpaint.errors import InpaintError
from inpaint.runtime.framing.geometry import Box, kept_near
from inpaint.runtime.framing.settings import DEFAULT, FramingSettings

FRAMING_MODEL = Path(__file__).resolve().parents[2] / "weights" / "framing.onnx"
VIEW = 32                       # the network's input side
VIEW_SIDES = (0.62, 0.72, 0.82)  # the views' sides, as fractions of the guess's
WORK_SIDE = 64                  # the guess is scaled to this many pixels before a view is cut (as in training)


class FramingNetwork:
    """The network on ONNX Runtime's CPU: FramingNetwork().settle(rgb, hole, guesses) -> squares."""

    def __init__(self, model: Path = FRAMING_MODEL, threads: int = 1, settings: FramingSettings = DEFAULT):
        self.model, self.threads, self.settings = Path(model), threads, settings

    @cached_property
    def _session(self):
        import onnxruntime as ort
        if not self.model.is_file():
            raise InpaintError(f"framing network not found at {self.model}; reinstall inpaint "
                               "or give --framing whole")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        return ort.InferenceSession(str(self.model), opts, providers=["CPUExecutionProvider"])

    def settle(self, rgb: np.ndarray | None, hole: np.ndarray, guesses: list[Box], rounds: int | None = None,
               canvas: list[np.ndarray] | None = None) -> list[tuple[Box, float, float]]:
        """The network's rounds from each first guess: (the square, how far it drifted over the
        averaged rounds, the probability that the views showed a framed face) per guess.

        Each round asks about several views of each guess (sides VIEW_SIDES of it, each also
        mirrored), all guesses in one run, and averages each guess's answers: one view's answer
        is off by about 5% in side, and the views' errors are partly independent. After `rounds`
        rounds (default settings.rounds) a square no longer converges but wanders by a percent or
        two around where the face's square lies, so settings.averaged_rounds more are run and
        their squares averaged (centre and log side): the answer then moves by a fifth of a pixel
        in a hundred between copies of a photo at different sizes, where one round's moves by two.
        `canvas`: the photo's view_canvas where it was made already (rgb is then not read)."""
        if not guesses:
            return []
        rounds = self.settings.rounds if rounds is None else rounds
        averaged = self.settings.averaged_rounds
        k = len(VIEW_SIDES)
        boxes = list(guesses)
        canvas = view_canvas(rgb, hole) if canvas is None else canvas
        sums, halves = np.zeros((len(boxes), 3)), np.zeros((len(boxes), 3))
        faces = np.zeros(len(boxes))
        sign = np.repeat([1.0, -1.0], k)
        for n in range(rounds + averaged):
            views = np.stack([cut_views(canvas, b) for b in boxes])        # (boxes, k, 4, VIEW, VIEW)
            views = np.concatenate([views, views[..., ::-1]], 1)      # mirrored: dx changes sign
            out = self._session.run(None, {"view": np.ascontiguousarray(views.reshape(-1, 4, VIEW, VIEW))})[0]
            out = out.reshape(len(boxes), 2 * k, 4)
            for i, (box, o) in enumerate(zip(boxes, out)):
                sides = np.tile(np.asarray(VIEW_SIDES) * box.size, 2)
                cx, cy = box.center
                new = Box.around(cx + float(np.mean(sign * o[:, 0] * sides)), cy + float(np.mean(o[:, 1] * sides)),
                                 float(np.exp(np.mean(o[:, 2] + np.log(sides)))))
                new = kept_near(new, hole.shape)
                if n >= rounds:
                    sums[i] += (*new.center, np.log(new.size))
                    if n == rounds + averaged // 2 - 1:
                        halves[i] = sums[i].copy()
                    faces[i] += float(np.mean(1 / (1 + np.exp(-o[:, 3]))))
                boxes[i] = new
        mean = sums / averaged
        # how far the square drifted: the mean of the second half of the averaged rounds against
        # that of the first (a square on a face wanders about its place; one on none drifts off)
        half = averaged // 2
        first, second = halves / half, (sums - halves) / (averaged - half)
        side = np.exp(mean[:, 2])
        drift = (np.abs(second[:, 0] - first[:, 0]) + np.abs(second[:, 1] - first[:, 1])) / side \
            + np.abs(second[:, 2] - first[:, 2])
        return [(Box.around(cx, cy, float(np.exp(ls))), float(d), f / averaged)
                for (cx, cy, ls), d, f in zip(mean, drift, faces)]


def view_canvas(rgb: np.ndarray, hole: np.ndarray) -> list[np.ndarray]:
    """What the network's views are cut from: float32 (H, W, 4), RGB in [-1, 1] with zeros in the
    hole and a known channel, and its halvings (area average) down to WORK_SIDE pixels, so that
    a view of a large guess is cut from a copy already near its scale."""
    import cv2
    known = ~hole
    canvas = np.empty((*hole.shape, 4), np.float32)
    np.multiply(rgb, 1 / 127.5, out=canvas[..., :3], dtype=np.float32)
    canvas[..., :3] -= 1
    canvas[..., :3] *= known[..., None]
    canvas[..., 3] = known
    levels = [canvas]
    while min(levels[-1].shape[:2]) >= 2 * WORK_SIDE:
        h, w = levels[-1].shape[:2]
        levels.append(cv2.resize(levels[-1][:h - h % 2, :w - w % 2], (w // 2, h // 2), interpolation=cv2.INTER_AREA))
    return levels


def cut_views(levels: list[np.ndarray], box: Box, fractions=VIEW_SIDES) -> np.ndarray:
    """The network's inputs for a guess: float32 (len(fractions), 4, 32, 32), the centered squares
    of each fraction of the guess's side, from a view_canvas (RGB in [-1, 1] with zeros in the
    hole, and a known channel), zero past the photo's edges. The guess is first scaled to 64
    pixels (area average), as the training crops were, and the views cut from that by bilinear
    sampling, as in training."""
    import cv2
    level = 0                               # the halving nearest above the guess's 64-pixel scale
    while level + 1 < len(levels) and WORK_SIDE / box.size <= 0.5 ** (level + 1):
        level += 1
    canvas, box = levels[level], box.scaled(0.5 ** level)
    f = WORK_SIDE / box.size
    cx, cy = box.center
    half = 0.5 * max(fractions) * box.size + 2 / f        # the largest view plus a margin, in photo pixels
    x0, y0 = int(np.floor(cx - half)), int(np.floor(cy - half))
    x1, y1 = int(np.ceil(cx + half)), int(np.ceil(cy + half))
    h, w = canvas.shape[:2]
    ix0, iy0, ix1, iy1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if (ix0, iy0, ix1, iy1) == (x0, y0, x1, y1):
        patch = canvas[y0:y1, x0:x1]
    else:
        patch = np.zeros((y1 - y0, x1 - x0, 4), np.float32)
        if ix0 < ix1 and iy0 < iy1:
            patch[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] = canvas[iy0:iy1, ix0:ix1]
    if f < 1.0:
        size = (max(1, round(patch.shape[1] * f)), max(1, round(patch.shape[0] * f)))
        fx, fy = size[0] / patch.shape[1], size[1] / patch.shape[0]
        patch = cv2.resize(np.ascontiguousarray(patch), size, interpolation=cv2.INTER_AREA)
    else:
        fx = fy = 1.0
    patch = np.ascontiguousarray(patch)
    views = []
    for fraction in fractions:
        # view pixel (u, v) -> patch pixel: its center in photo coordinates, then into the patch
        side = fraction * box.size
        step = side / VIEW
        m = np.array([[step * fx, 0, (cx - side / 2 + step / 2 - x0) * fx - 0.5],
                      [0, step * fy, (cy - side / 2 + step / 2 - y0) * fy - 0.5]], np.float32)
        view = cv2.warpAffine(patch, m, (VIEW, VIEW), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        views.append(view.transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(views))
