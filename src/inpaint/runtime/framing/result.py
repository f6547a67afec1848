"""Framing: how one photo is framed for the model, and what the report says of it."""
from __future__ import annotations

from dataclasses import dataclass, field

from inpaint.runtime.framing.geometry import Box


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
    snapped: bool = False          # the found square was the image's own (FramingSettings.snap_iou)
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
