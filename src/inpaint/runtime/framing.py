"""Framing: the square of a photo that is framed as the model's training images were.

The shipped model learnt faces from one fixed square of aligned photos (CelebA: the center
108x108 of each 178x218 img_align_celeba file), so it completes a face well only when it sees it
framed that way. A photo of any size is framed in two steps, both without torch:
1. a face detector (OpenCV's Haar cascades, on the photo with its hole pre-filled by Telea's
   method) proposes faces; each box becomes a first guess of the square by a fixed map;
2. the framing network (train/framing.py, run on ONNX Runtime) looks at a view a little smaller
   than the guess, the hole blanked, and says where the square lies; a few rounds of this settle
   on the square. The face whose square holds most of the hole wins.
Where no face is found, or the hole lies mostly off every face, the completion falls back to the
whole image (the photo squeezed to the model's square), and says so.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from inpaint.errors import InpaintError

FRAMING_MODEL = Path(__file__).resolve().parent.parent / "weights" / "framing.onnx"
VIEW = 32                       # the network's input side
VIEW_SIDES = (0.62, 0.72, 0.82)  # the views' sides, as fractions of the guess's
WORK_SIDE = 64                  # the guess is scaled to this many pixels before a view is cut (as in training)
ROUNDS = 4                      # network rounds per face
AVERAGED_ROUNDS = 8             # further rounds, whose squares are averaged into the answer
AGREE_IOU = 0.7                 # squares of other guesses this close to the winner are averaged with it
MIN_SHARE_EACH = 0.1            # a hole on several faces: each face's square must hold this much of it
FRAME_SIDE = 640                # photos are framed on a copy scaled to this longest side
DETECT_SIDE = 320               # and scaled down to at most this side for the detector
CASCADES = ("frontalface_alt2", "frontalface_default", "profileface")
NEIGHBOURS = 3                  # overlapping windows that confirm a detection
# Detector box (x, y, w, h) -> first guess of the training square: same side, center 0.14 w
# above the box's center (rounded from the median over aligned CelebA photos; the network
# corrects what is left).
BOX_SIDE, BOX_RISE = 1.0, 0.14
HOLE_SIDES = (1.5, 2.1, 2.9)     # guesses around the hole: their sides over the hole's extent
HOLE_RISE = 0.3                 # and those raised by this fraction of their side
ROUNDS_AROUND = 4               # network rounds from a guess around the hole
MIN_FACE_AROUND = 0.9           # what a square from a guess around the hole must convince the network of
MAX_MOVED = 0.05                # the most a square kept may drift over the averaged rounds (center in sides + |log side|)
MIN_HOLE_INSIDE = 0.5           # a square must hold at least this fraction of the hole
MIN_FACE = 0.5                  # and the network must take its views for a framed face
MIN_KNOWN = 0.3                 # and at least this fraction of it must be known pixels of the photo
MIN_KNOWN_GIVEN = 0.05          # the least a square given by the user must hold
# A square image whose own square the found one overlaps this much is already framed (a training-
# style crop, such as celeba64's): its own square is exact where the found one is a few pixels
# off, which cost 0.4-0.6 dB of hole PSNR on val crops (scripts/framing_crops.py).
SNAP_IOU = 0.75
SQUARE_TOLERANCE = 0.02         # |H - W| over the larger side, for an image to count as square


@dataclass(frozen=True)
class Box:
    """A square of a photo: top-left corner and side in pixels; may reach past the photo's edges."""

    x: float
    y: float
    size: float

    def __post_init__(self) -> None:
        if not self.size > 0:
            raise InpaintError(f"a framing square needs a positive side, got {self.size}")

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.size / 2, self.y + self.size / 2

    @classmethod
    def around(cls, cx: float, cy: float, size: float) -> "Box":
        return cls(cx - size / 2, cy - size / 2, size)

    def pixels(self) -> tuple[int, int, int]:
        """(x, y, side) rounded to whole pixels."""
        return int(round(self.x)), int(round(self.y)), max(1, int(round(self.size)))

    def iou(self, other: "Box") -> float:
        ix = max(0.0, min(self.x + self.size, other.x + other.size) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.size, other.y + other.size) - max(self.y, other.y))
        inter = ix * iy
        return inter / (self.size ** 2 + other.size ** 2 - inter)

    def scaled(self, f: float) -> "Box":
        return Box(self.x * f, self.y * f, self.size * f)

    def to_list(self) -> list[float]:
        return [round(float(self.x), 1), round(float(self.y), 1), round(float(self.size), 1)]


@dataclass(frozen=True)
class Framing:
    """How one photo is framed for the model: `box` None means the whole image."""

    box: Box | None
    how: str                       # "found", "given", "whole", or "whole (fallback)"
    reason: str = ""               # why, for a fallback
    score: float | None = None     # the network's probability that the square frames a face
    hole_inside: float | None = None  # fraction of the hole's pixels inside the square
    seconds: float = 0.0
    detections: tuple[Box, ...] = field(default=(), compare=False)   # the detector's faces
    guesses: str = ""              # where the winning first guess came from: "detector" or "around the hole"
    snapped: bool = False          # the found square was the image's own (SNAP_IOU)
    more: tuple[Box, ...] = ()     # the squares of other faces the hole also lies on

    def report(self) -> dict:
        out = {"how": self.how, "box": self.box.to_list() if self.box else None,
               "seconds": round(self.seconds, 4)}
        if self.more:
            out["squares"] = [b.to_list() for b in (self.box, *self.more)]
        if self.reason:
            out["reason"] = self.reason
        if self.guesses:
            out["guesses"] = self.guesses
        if self.snapped:
            out["snapped_to_image"] = True
        if self.score is not None:
            out["score"] = round(self.score, 4)
        if self.hole_inside is not None:
            out["hole_inside"] = round(self.hole_inside, 4)
        return out


WHOLE = Framing(None, "whole")


def parse_framing(text: str) -> str | Box:
    """"auto", "whole" or "X,Y,SIZE" (a square's top-left corner and side, in pixels)."""
    text = text.strip().lower()
    if text in ("auto", "whole"):
        return text
    parts = text.split(",")
    try:
        x, y, size = (float(p) for p in parts)
    except ValueError:
        raise InpaintError(f"framing {text!r}: give auto, whole, or X,Y,SIZE (three numbers, "
                           "e.g. 35,55,108)") from None
    if not size > 0 or not all(np.isfinite([x, y, size])):
        raise InpaintError(f"framing {text!r}: in X,Y,SIZE the SIZE must be a positive number of pixels")
    return Box(x, y, size)


def hole_inside(box: Box, hole: np.ndarray) -> float:
    """Fraction of the hole's pixels that lie inside the square."""
    total = int(hole.sum())
    if total == 0:
        return 0.0
    x, y, s = box.pixels()
    return float(hole[max(0, y):max(0, y + s), max(0, x):max(0, x + s)].sum()) / total


def known_share(box: Box, hole: np.ndarray) -> float:
    """Fraction of the square's area that is known pixels of the photo."""
    x, y, s = box.pixels()
    inside = hole[max(0, y):max(0, y + s), max(0, x):max(0, x + s)]
    return float((~inside).sum()) / (s * s)


def own_square(shape: tuple[int, int]) -> Box | None:
    """The square of a square image (within SQUARE_TOLERANCE): its center square of the shorter
    side; None for an image that is not square."""
    h, w = shape
    if abs(h - w) > SQUARE_TOLERANCE * max(h, w):
        return None
    side = min(h, w)
    return Box((w - side) / 2, (h - side) / 2, side)


def given(box: Box, shape: tuple[int, int], hole: np.ndarray) -> Framing:
    """A square the user chose: checked to overlap the image and hold known pixels."""
    h, w = shape
    x, y, s = box.pixels()
    if x >= w or y >= h or x + s <= 0 or y + s <= 0:
        raise InpaintError(f"framing square {x},{y},{s} lies outside the {w}x{h} image; "
                           "give X,Y inside it")
    if known_share(box, hole) < MIN_KNOWN_GIVEN:
        raise InpaintError(f"framing square {x},{y},{s} holds too few known pixels (under "
                           f"{MIN_KNOWN_GIVEN:.0%} of it); give a larger square around the hole")
    return Framing(box, "given", hole_inside=hole_inside(box, hole))


class Framer:
    """Finds the training framing of photos: Framer().find(rgb, hole) -> Framing."""

    def __init__(self, model: Path = FRAMING_MODEL, threads: int = 1):
        self.model, self.threads = Path(model), threads

    @cached_property
    def _cv2(self):
        try:
            import cv2
        except ImportError:
            raise InpaintError("framing needs OpenCV: pip install 'opencv-python-headless<5' "
                               "(or give --framing whole)") from None
        return cv2

    @cached_property
    def _cascades(self):
        cv2 = self._cv2
        found = []
        for name in CASCADES:
            c = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / f"haarcascade_{name}.xml"))
            if c.empty():
                raise InpaintError(f"OpenCV's {name} cascade is missing (OpenCV 5 ships none): "
                                   "pip install 'opencv-python-headless<5'")
            found.append(c)
        return found

    @cached_property
    def _session(self):
        import onnxruntime as ort
        if not self.model.is_file():
            raise InpaintError(f"framing network not found at {self.model}; reinstall inpaint "
                               "or give --framing whole")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        return ort.InferenceSession(str(self.model), opts, providers=["CPUExecutionProvider"])

    def find(self, rgb: np.ndarray, hole: np.ndarray) -> Framing:
        """rgb uint8 (H, W, 3), hole bool (H, W) -> the framing of the face that holds the hole,
        or the whole image with the reason.

        Every photo is framed on a copy scaled to FRAME_SIDE pixels on its longest side (a face
        needs no more than that to be found and framed), so that the cost and the square found
        do not depend on the photo's megapixels: the same scene at any size gives the same square.
        Guesses: each detected face's box mapped to a square. The network settles each guess; a
        hole that lies on two or more of the faces found gets each face's square (Framing.more);
        otherwise, of the squares that hold the hole and that the network takes for a framed
        face, the one it is surest of wins. Where none qualifies (a hole over the eyes often
        hides the face from the detector), squares around the hole itself, at a few sides, are
        guessed and settled instead, under a stricter face probability (MIN_FACE_AROUND)."""
        t0 = time.perf_counter()
        h, w = hole.shape
        f = FRAME_SIDE / max(h, w)
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
        own = own_square(hole.shape)
        if found.box is not None and not found.more and own is not None and found.box.iou(own) >= SNAP_IOU:
            found = replace(found, box=own, hole_inside=hole_inside(own, hole), snapped=True)
        return replace(found, seconds=time.perf_counter() - t0)

    def _find(self, rgb: np.ndarray, hole: np.ndarray) -> Framing:
        """find() on the copy scaled to FRAME_SIDE, before snapping."""
        detections = self.detect(rgb, hole)
        canvas = view_canvas(rgb, hole)
        candidates = self._candidates(canvas, hole, [_guess(d) for d in detections])
        how = "detector"
        several = self._several_faces(hole, candidates)
        if several is not None:
            return replace(several, detections=tuple(detections), guesses=how)
        # a square is kept where it holds the hole, the network takes it for a framed face, and
        # its views agree with it (it drifted by at most MAX_MOVED over the averaged rounds: squares on
        # something else keep drifting)
        holding = [c for c in candidates if c[1] >= MIN_HOLE_INSIDE and c[0] >= MIN_FACE and c[3] <= MAX_MOVED]
        unconvinced = []
        if not holding:
            # without a detection to start from, a square must convince the network more
            around = self._candidates(canvas, hole, around_hole(hole), rounds=ROUNDS_AROUND)
            holding = [c for c in around
                       if c[1] >= MIN_HOLE_INSIDE and c[0] >= MIN_FACE_AROUND and c[3] <= MAX_MOVED]
            candidates += [c for c in around if c[0] >= MIN_FACE_AROUND]
            unconvinced = [c for c in around if c[0] < MIN_FACE_AROUND]
            how = "around the hole"
        if holding:
            face, inside, box = max(holding, key=lambda c: c[0])[:3]
            box = average_boxes([c[2] for c in holding if c[2].iou(box) >= AGREE_IOU])
            inside = hole_inside(box, hole)
            return Framing(box, "found", score=face, hole_inside=inside, detections=tuple(detections), guesses=how)
        reason, inside = fallback_reason(candidates, len(detections), unconvinced)
        return Framing(None, "whole (fallback)", reason, hole_inside=inside, detections=tuple(detections))

    @staticmethod
    def _several_faces(hole: np.ndarray, candidates) -> Framing | None:
        """The framing of a hole on two or more faces: every settled face square (the squares of
        guesses that overlap by AGREE_IOU merged into one) that holds at least MIN_SHARE_EACH of the hole,
        where together they hold MIN_HOLE_INSIDE of it; None otherwise. The square holding the
        most comes first."""
        faces = [c for c in candidates if c[0] >= MIN_FACE and c[3] <= MAX_MOVED]
        boxes = _merge([c[2] for c in faces], AGREE_IOU)
        if len(boxes) < 2:
            return None
        total = int(hole.sum())
        shares = [int(part.sum()) / total for part in split_hole(hole, boxes)]
        kept = [i for i in np.argsort(shares)[::-1] if shares[i] >= MIN_SHARE_EACH]
        if len(kept) < 2:
            return None
        boxes = [boxes[i] for i in kept]
        inside = sum(int(part.sum()) for part in split_hole(hole, boxes)) / total
        if inside < MIN_HOLE_INSIDE:
            return None
        return Framing(boxes[0], "found", score=min(c[0] for c in faces), hole_inside=inside,
                       more=tuple(boxes[1:]))

    def _candidates(self, canvas: list[np.ndarray], hole: np.ndarray, guesses: list[Box], rounds: int = ROUNDS
                    ) -> list[tuple[float, float, Box, float]]:
        """(face probability, share of the hole inside, square, drift) of each settled
        guess that holds enough known pixels."""
        settled = self.refine_many(None, hole, guesses, rounds, canvas)
        return [(face, hole_inside(b, hole), b, moved) for b, moved, face in settled
                if known_share(b, hole) >= MIN_KNOWN]

    def detect(self, rgb: np.ndarray, hole: np.ndarray) -> list[Box]:
        """Faces (as detector boxes, in the photo's pixels) on the photo with its hole pre-filled,
        from the first cascade that finds any. The profile cascade, which knows faces turned one
        way only, also looks at the mirrored photo."""
        cv2 = self._cv2
        f = min(1.0, DETECT_SIDE / max(rgb.shape[:2]))
        small, mask = rgb, hole.astype(np.uint8) * 255
        if f < 1.0:
            size = (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f)))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            mask = (cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8) * 255
        filled = cv2.inpaint(np.ascontiguousarray(small), mask, 3, cv2.INPAINT_TELEA)
        gray = cv2.equalizeHist(cv2.cvtColor(filled, cv2.COLOR_RGB2GRAY))
        smallest = max(24, min(gray.shape) // 10)
        boxes = []
        for name, cascade in zip(CASCADES, self._cascades):
            for flipped in (False, True) if name == "profileface" else (False,):
                g = gray[:, ::-1] if flipped else gray
                for x, y, w, h in cascade.detectMultiScale(np.ascontiguousarray(g), 1.1, NEIGHBOURS,
                                                           minSize=(smallest, smallest)):
                    x = g.shape[1] - x - w if flipped else x
                    boxes.append(Box(x / f, y / f, w / f))
            if boxes:               # the first cascade that finds a face decides
                break
        return _merge(boxes)

    def refine_many(self, rgb: np.ndarray | None, hole: np.ndarray, guesses: list[Box],
                    rounds: int = ROUNDS, canvas: list[np.ndarray] | None = None) -> list[tuple[Box, float, float]]:
        """The network's rounds from each first guess: (the square, how far it drifted over the
        averaged rounds, the probability that the views showed a framed face) per guess.

        Each round asks about several views of each guess (sides VIEW_SIDES of it, each also
        mirrored), all guesses in one run, and averages each guess's answers: one view's answer
        is off by about 5% in side, and the views' errors are partly independent. After `rounds`
        rounds a square no longer converges but wanders by a percent or two around where the
        face's square lies, so AVERAGED_ROUNDS more are run and their squares averaged (centre
        and log side): the answer then moves by a fifth of a pixel in a hundred between copies
        of a photo at different sizes, where one round's moves by two. `canvas`: the photo's
        view_canvas where it was made already (rgb is then not read)."""
        if not guesses:
            return []
        k = len(VIEW_SIDES)
        boxes = list(guesses)
        canvas = view_canvas(rgb, hole) if canvas is None else canvas
        sums, halves = np.zeros((len(boxes), 3)), np.zeros((len(boxes), 3))
        faces = np.zeros(len(boxes))
        sign = np.repeat([1.0, -1.0], k)
        for n in range(rounds + AVERAGED_ROUNDS):
            views = np.stack([cut_views(canvas, b) for b in boxes])        # (boxes, k, 4, VIEW, VIEW)
            views = np.concatenate([views, views[..., ::-1]], 1)      # mirrored: dx changes sign
            out = self._session.run(None, {"view": np.ascontiguousarray(views.reshape(-1, 4, VIEW, VIEW))})[0]
            out = out.reshape(len(boxes), 2 * k, 4)
            for i, (box, o) in enumerate(zip(boxes, out)):
                sides = np.tile(np.asarray(VIEW_SIDES) * box.size, 2)
                cx, cy = box.center
                new = Box.around(cx + float(np.mean(sign * o[:, 0] * sides)), cy + float(np.mean(o[:, 1] * sides)),
                                 float(np.exp(np.mean(o[:, 2] + np.log(sides)))))
                new = _kept_near(new, hole.shape)
                if n >= rounds:
                    sums[i] += (*new.center, np.log(new.size))
                    if n == rounds + AVERAGED_ROUNDS // 2 - 1:
                        halves[i] = sums[i].copy()
                    faces[i] += float(np.mean(1 / (1 + np.exp(-o[:, 3]))))
                boxes[i] = new
        mean = sums / AVERAGED_ROUNDS
        # how far the square drifted: the mean of the second half of the averaged rounds against
        # that of the first (a square on a face wanders about its place; one on none drifts off)
        half = AVERAGED_ROUNDS // 2
        first, second = halves / half, (sums - halves) / (AVERAGED_ROUNDS - half)
        side = np.exp(mean[:, 2])
        drift = (np.abs(second[:, 0] - first[:, 0]) + np.abs(second[:, 1] - first[:, 1])) / side \
            + np.abs(second[:, 2] - first[:, 2])
        return [(Box.around(cx, cy, float(np.exp(ls))), float(d), f / AVERAGED_ROUNDS)
                for (cx, cy, ls), d, f in zip(mean, drift, faces)]


def _kept_near(box: Box, shape: tuple[int, int]) -> Box:
    """A square that drifted off (squares on no face do) held to at most twice the photo's
    longest side and its centre to within one side of the photo, so that its views stay cheap; such
    a square keeps moving and is never kept."""
    longest = max(shape)
    size = float(np.clip(box.size, 4.0, 2.0 * longest))
    cx, cy = box.center
    return Box.around(float(np.clip(cx, -size, shape[1] + size)), float(np.clip(cy, -size, shape[0] + size)), size)


def average_boxes(boxes: list[Box]) -> Box:
    """The square of the mean centre and mean log side."""
    c = np.mean([[*b.center, np.log(b.size)] for b in boxes], axis=0)
    return Box.around(float(c[0]), float(c[1]), float(np.exp(c[2])))


def split_hole(hole: np.ndarray, boxes: list[Box]) -> list[np.ndarray]:
    """The hole shared among squares: bool (H, W) per square, each hole pixel going to the square
    that holds it whose centre is nearest (in its side); pixels in no square are in no part."""
    h, w = hole.shape
    best = np.full(hole.shape, np.inf, np.float32)
    owner = np.full(hole.shape, -1, np.int16)
    for k, b in enumerate(boxes):
        x, y, side = b.pixels()
        rows, cols = slice(max(0, y), min(h, y + side)), slice(max(0, x), min(w, x + side))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            continue
        cx, cy = b.center
        yy = ((np.arange(rows.start, rows.stop, dtype=np.float32) + 0.5 - cy) / b.size)[:, None]
        xx = ((np.arange(cols.start, cols.stop, dtype=np.float32) + 0.5 - cx) / b.size)[None, :]
        d = yy * yy + xx * xx
        closer = d < best[rows, cols]
        best[rows, cols] = np.where(closer, d, best[rows, cols])
        owner[rows, cols] = np.where(closer, k, owner[rows, cols])
    return [hole & (owner == k) for k in range(len(boxes))]


def rescaled(rgb: np.ndarray, hole: np.ndarray, f: float) -> tuple[np.ndarray, np.ndarray]:
    """The photo and its hole scaled by f: down by area average, up by bicubic interpolation; a
    pixel is hole where at least half of it is."""
    import cv2
    size = (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f)))
    how = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    small = cv2.resize(np.ascontiguousarray(rgb), size, interpolation=how)
    share = cv2.resize(hole.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    gap = share >= 128
    if not gap.any():          # a hole thinner than the reduced pixels: keep every pixel it touches
        gap = share > 0
    return small, gap


def around_hole(hole: np.ndarray) -> list[Box]:
    """First guesses for a face the detector missed: squares of a few sides (HOLE_SIDES times the
    hole's larger extent) centered on the hole, and the same raised by HOLE_RISE of their side
    (a hole over the mouth or chin lies below the square's center)."""
    ys, xs = np.nonzero(hole)
    if len(xs) == 0:
        return []
    cx, cy = (xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2
    extent = max(xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min())
    longest = max(hole.shape)
    sides = sorted({float(np.clip(f * extent, 24, longest)) for f in HOLE_SIDES})
    return [Box.around(cx, cy - rise * side, side) for side in sides for rise in (0.0, HOLE_RISE)]


def fallback_reason(candidates: list[tuple[float, float, Box, float]], detections: int,
                    around: list[tuple[float, float, Box, float]] = ()) -> tuple[str, float | None]:
    """Why no square qualified, naming the test that failed with its number and threshold, and
    the share of the hole inside the best face's square (None without a face). candidates:
    (face probability, share of the hole inside, square, drift) of every settled guess that
    counts; around: those of the squares guessed around the hole that fell short of
    MIN_FACE_AROUND."""
    faces = [c for c in candidates if c[0] >= MIN_FACE]
    if not faces:
        said = [f"{detections} detected"]
        best = max((c[0] for c in candidates), default=None)
        if best is not None:
            said.append(f"the best square's face score {best:.2f} under {MIN_FACE}")
        best = max((c[0] for c in around), default=None)
        if best is not None:
            said.append(f"the best square around the hole scored {best:.2f}, under the {MIN_FACE_AROUND} needed")
        return f"no face found ({', '.join(said)})", None
    inside = max(c[1] for c in faces)
    if inside < MIN_HOLE_INSIDE:
        return (f"the hole is not on a face: at most {inside:.0%} of it lies inside a face's square, "
                f"under the {MIN_HOLE_INSIDE:.0%} needed"), inside
    holding = [c for c in faces if c[1] >= MIN_HOLE_INSIDE]
    moved = min(c[3] for c in holding)
    return (f"the square of the face around the hole did not settle: it drifted by {moved:.3f} over the last rounds, "
            f"over the {MAX_MOVED} allowed ({inside:.0%} of the hole inside it)"), inside


def _guess(detection: Box) -> Box:
    """A detector's box -> the first guess of the training square."""
    cx, cy = detection.center
    return Box.around(cx, cy - BOX_RISE * detection.size, BOX_SIDE * detection.size)


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


def _merge(boxes: list[Box], overlap: float = 0.5) -> list[Box]:
    """One box per face: boxes that overlap another's by `overlap` IoU are averaged together."""
    groups: list[list[Box]] = []
    for b in boxes:
        for g in groups:
            if b.iou(g[0]) >= overlap:
                g.append(b)
                break
        else:
            groups.append([b])
    return [Box(*(float(v) for v in np.mean([[b.x, b.y, b.size] for b in g], axis=0))) for g in groups]
