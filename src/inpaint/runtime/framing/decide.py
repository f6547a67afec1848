"""The framer's decision: which square of a photo frames the face its hole is on, or why none does."""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from inpaint.runtime.framing.detector import FaceDetector
from inpaint.runtime.framing.geometry import (Box, average_boxes, hole_inside, known_share, merge_boxes,
                                              own_square, rescaled, split_hole)
from inpaint.runtime.framing.network import FRAMING_MODEL, FramingNetwork, view_canvas
from inpaint.runtime.framing.result import Framing
from inpaint.runtime.framing.settings import DEFAULT, FramingSettings

Candidate = tuple[float, float, Box, float]   # (face probability, share of the hole inside, square, drift)


class Framer:
    """Finds the training framing of photos: Framer().find(rgb, hole) -> Framing."""

    def __init__(self, model: Path = FRAMING_MODEL, threads: int = 1, settings: FramingSettings = DEFAULT):
        self.settings = settings
        self.detector = FaceDetector(settings)
        self.network = FramingNetwork(model, threads, settings)

    def find(self, rgb: np.ndarray, hole: np.ndarray) -> Framing:
        """rgb uint8 (H, W, 3), hole bool (H, W) -> the framing of the face that holds the hole,
        or the whole image with the reason.

        Every photo is framed on a copy scaled to settings.frame_side pixels on its longest side
        (a face needs no more than that to be found and framed), so that the cost and the square
        found do not depend on the photo's megapixels: the same scene at any size gives the same
        square. Guesses: each detected face's box mapped to a square. The network settles each
        guess; a hole that lies on two or more of the faces found gets each face's square
        (Framing.more); otherwise, of the squares that hold the hole and that the network takes
        for a framed face, the one it is surest of wins. Where none qualifies (a hole over the
        eyes often hides the face from the detector), squares around the hole itself, at a few
        sides, are guessed and settled instead, under a stricter face probability
        (settings.min_face_around)."""
        t0 = time.perf_counter()
        h, w = hole.shape
        f = self.settings.frame_side / max(h, w)
        if f != 1.0:
            small_rgb, small_hole = rescaled(rgb, hole, f)
            sy, sx = small_hole.shape[0] / h, small_hole.shape[1] / w
            found = self._find(small_rgb, small_hole)
            back = (lambda b: Box(b.x / sx, b.y / sy, b.size * 2 / (sx + sy)))
            found = replace(found, box=found.box and back(found.box), more=tuple(back(b) for b in found.more),
                            detections=tuple(back(d) for d in found.detections))
            if found.box is not None and not found.more:
                found = replace(found, hole_inside=hole_inside(found.box, hole))
        else:
            found = self._find(rgb, hole)
        own = own_square(hole.shape, self.settings.square_tolerance)
        if (found.box is not None and not found.more and own is not None
                and found.box.iou(own) >= self.settings.snap_iou):
            found = replace(found, box=own, hole_inside=hole_inside(own, hole), snapped=True)
        return replace(found, seconds=time.perf_counter() - t0)

    def _find(self, rgb: np.ndarray, hole: np.ndarray) -> Framing:
        """find() on the copy scaled to settings.frame_side, before snapping."""
        s = self.settings
        detections = self.detector.detect(rgb, hole)
        canvas = view_canvas(rgb, hole)
        candidates = self._candidates(canvas, hole, [self.detector.first_guess(d) for d in detections])
        how = "detector"
        several = self._several_faces(hole, candidates)
        if several is not None:
            return replace(several, detections=tuple(detections), guesses=how)
        # a square is kept where it holds the hole, the network takes it for a framed face, and
        # its views agree with it (it drifted by at most max_moved over the averaged rounds: squares on
        # something else keep drifting)
        holding = [c for c in candidates
                   if c[1] >= s.min_hole_inside and c[0] >= s.min_face and c[3] <= s.max_moved]
        unconvinced = []
        if not holding:
            # without a detection to start from, a square must convince the network more
            around = self._candidates(canvas, hole, around_hole(hole, s), rounds=s.rounds_around)
            holding = [c for c in around
                       if c[1] >= s.min_hole_inside and c[0] >= s.min_face_around and c[3] <= s.max_moved]
            candidates += [c for c in around if c[0] >= s.min_face_around]
            unconvinced = [c for c in around if c[0] < s.min_face_around]
            how = "around the hole"
        if holding:
            face, inside, box = max(holding, key=lambda c: c[0])[:3]
            box = average_boxes([c[2] for c in holding if c[2].iou(box) >= s.agree_iou])
            inside = hole_inside(box, hole)
            return Framing(box, "found", score=face, hole_inside=inside, detections=tuple(detections), guesses=how)
        reason, inside = fallback_reason(candidates, len(detections), unconvinced, s)
        return Framing(None, "whole (fallback)", reason, hole_inside=inside, detections=tuple(detections))

    def _several_faces(self, hole: np.ndarray, candidates: list[Candidate]) -> Framing | None:
        """The framing of a hole on two or more faces: every settled face square (the squares of
        guesses that overlap by agree_iou merged into one) that holds at least min_share_each of
        the hole, where together they hold min_hole_inside of it; None otherwise. The square
        holding the most comes first."""
        s = self.settings
        faces = [c for c in candidates if c[0] >= s.min_face and c[3] <= s.max_moved]
        boxes = merge_boxes([c[2] for c in faces], s.agree_iou)
        if len(boxes) < 2:
            return None
        total = int(hole.sum())
        shares = [int(part.sum()) / total for part in split_hole(hole, boxes)]
        kept = [i for i in np.argsort(shares)[::-1] if shares[i] >= s.min_share_each]
        if len(kept) < 2:
            return None
        boxes = [boxes[i] for i in kept]
        inside = sum(int(part.sum()) for part in split_hole(hole, boxes)) / total
        if inside < s.min_hole_inside:
            return None
        return Framing(boxes[0], "found", score=min(c[0] for c in faces), hole_inside=inside,
                       more=tuple(boxes[1:]))

    def _candidates(self, canvas: list[np.ndarray], hole: np.ndarray, guesses: list[Box],
                    rounds: int | None = None) -> list[Candidate]:
        """The Candidate of each settled guess that holds enough known pixels (settings.min_known)."""
        settled = self.network.settle(None, hole, guesses, rounds, canvas)
        return [(face, hole_inside(b, hole), b, moved) for b, moved, face in settled
                if known_share(b, hole) >= self.settings.min_known]


def around_hole(hole: np.ndarray, settings: FramingSettings = DEFAULT) -> list[Box]:
    """First guesses for a face the detector missed: squares of a few sides (hole_sides times the
    hole's larger extent) centered on the hole, and the same raised by hole_rise of their side
    (a hole over the mouth or chin lies below the square's center)."""
    ys, xs = np.nonzero(hole)
    if len(xs) == 0:
        return []
    cx, cy = (xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2
    extent = max(xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min())
    longest = max(hole.shape)
    sides = sorted({float(np.clip(f * extent, 24, longest)) for f in settings.hole_sides})
    return [Box.around(cx, cy - rise * side, side) for side in sides for rise in (0.0, settings.hole_rise)]


def fallback_reason(candidates: list[Candidate], detections: int, around: list[Candidate] = (),
                    settings: FramingSettings = DEFAULT) -> tuple[str, float | None]:
    """Why no square qualified, naming the test that failed with its number and threshold, and
    the share of the hole inside the best face's square (None without a face). candidates: the
    Candidate of every settled guess that counts; around: those of the squares guessed around the
    hole that fell short of min_face_around."""
    s = settings
    faces = [c for c in candidates if c[0] >= s.min_face]
    if not faces:
        said = [f"{detections} detected"]
        best = max((c[0] for c in candidates), default=None)
        if best is not None:
            said.append(f"the best square's face score {best:.2f} under {s.min_face}")
        best = max((c[0] for c in around), default=None)
        if best is not None:
            said.append(f"the best square around the hole scored {best:.2f}, under the {s.min_face_around} needed")
        return f"no face found ({', '.join(said)})", None
    inside = max(c[1] for c in faces)
    if inside < s.min_hole_inside:
        return (f"the hole is not on a face: at most {inside:.0%} of it lies inside a face's square, "
                f"under the {s.min_hole_inside:.0%} needed"), inside
    holding = [c for c in faces if c[1] >= s.min_hole_inside]
    moved = min(c[3] for c in holding)
    return (f"the square of the face around the hole did not settle: it drifted by {moved:.3f} over the last rounds, "
            f"over the {s.max_moved} allowed ({inside:.0%} of the hole inside it)"), inside
