"""The face detector: OpenCV's Haar cascades propose faces, each a first guess of the square."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from inpaint.errors import InpaintError
from inpaint.runtime.framing.geometry import Box, merge_boxes
from inpaint.runtime.framing.settings import DEFAULT, FramingSettings


class FaceDetector:
    """Faces on a photo with a hole: FaceDetector().detect(rgb, hole) -> detector boxes."""

    def __init__(self, settings: FramingSettings = DEFAULT):
        self.settings = settings

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
        for name in self.settings.cascades:
            c = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / f"haarcascade_{name}.xml"))
            if c.empty():
                raise InpaintError(f"OpenCV's {name} cascade is missing (OpenCV 5 ships none): "
                                   "pip install 'opencv-python-headless<5'")
            found.append(c)
        return found

    def detect(self, rgb: np.ndarray, hole: np.ndarray) -> list[Box]:
        """Faces (as detector boxes, in the photo's pixels) on the photo with its hole pre-filled,
        from the first cascade that finds any. The profile cascade, which knows faces turned one
        way only, also looks at the mirrored photo."""
        cv2, s = self._cv2, self.settings
        f = min(1.0, s.detect_side / max(rgb.shape[:2]))
        small, mask = rgb, hole.astype(np.uint8) * 255
        if f < 1.0:
            size = (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f)))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            mask = (cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8) * 255
        filled = cv2.inpaint(np.ascontiguousarray(small), mask, 3, cv2.INPAINT_TELEA)
        gray = cv2.equalizeHist(cv2.cvtColor(filled, cv2.COLOR_RGB2GRAY))
        smallest = max(24, min(gray.shape) // 10)
        boxes = []
        for name, cascade in zip(s.cascades, self._cascades):
            for flipped in (False, True) if name == "profileface" else (False,):
                g = gray[:, ::-1] if flipped else gray
                for x, y, w, h in cascade.detectMultiScale(np.ascontiguousarray(g), 1.1, s.neighbours,
                                                           minSize=(smallest, smallest)):
                    x = g.shape[1] - x - w if flipped else x
                    boxes.append(Box(x / f, y / f, w / f))
            if boxes:               # the first cascade that finds a face decides
                break
        return merge_boxes(boxes, s.merge_iou)

    def first_guess(self, detection: Box) -> Box:
        """A detector's box -> the first guess of the training square."""
        cx, cy = detection.center
        s = self.settings
        return Box.around(cx, cy - s.box_rise * detection.size, s.box_side * detection.size)
