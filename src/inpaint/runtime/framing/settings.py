"""What the framer's decisions turn on: one frozen FramingSettings, DEFAULT the shipped values."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FramingSettings:
    """The framer's sizes, rounds and thresholds; Framer(settings=replace(DEFAULT, ...)) for others."""

    # sizes
    frame_side: int = 640            # photos are framed on a copy scaled to this longest side
    detect_side: int = 320           # and scaled down to at most this side for the detector
    # the face detector
    cascades: tuple[str, ...] = ("frontalface_alt2", "frontalface_default", "profileface")
    neighbours: int = 3              # overlapping windows that confirm a detection
    merge_iou: float = 0.5           # detections overlapping this much are one face
    # Detector box (x, y, w, h) -> first guess of the training square: same side, center 0.14 w
    # above the box's center (rounded from the median over aligned CelebA photos; the network
    # corrects what is left).
    box_side: float = 1.0
    box_rise: float = 0.14
    hole_sides: tuple[float, ...] = (1.5, 2.1, 2.9)   # guesses around the hole: their sides over the hole's extent
    hole_rise: float = 0.3           # and those raised by this fraction of their side
    # the network's rounds
    rounds: int = 4                  # network rounds per face
    rounds_around: int = 4           # network rounds from a guess around the hole
    averaged_rounds: int = 8         # further rounds, whose squares are averaged into the answer
    # which square is kept
    agree_iou: float = 0.7           # squares of other guesses this close to the winner are averaged with it
    min_share_each: float = 0.1      # a hole on several faces: each face's square must hold this much of it
    min_face_around: float = 0.9     # what a square from a guess around the hole must convince the network of
    max_moved: float = 0.05          # the most a square kept may drift over the averaged rounds (center in sides + |log side|)
    min_hole_inside: float = 0.5     # a square must hold at least this fraction of the hole
    min_face: float = 0.5            # and the network must take its views for a framed face
    min_known: float = 0.3           # and at least this fraction of it must be known pixels of the photo
    min_known_given: float = 0.05    # the least a square given by the user must hold
    # A square image whose own square the found one overlaps this much is already framed (a training-
    # style crop, such as celeba64's): its own square is exact where the found one is a few pixels
    # off, which cost 0.4-0.6 dB of hole PSNR on val crops (experiments/framing_crops.py).
    snap_iou: float = 0.75
    square_tolerance: float = 0.02   # |H - W| over the larger side, for an image to count as square


DEFAULT = FramingSettings()
