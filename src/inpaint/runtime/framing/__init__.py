"""Framing: the square of a photo that is framed as the model's training images were.

The shipped model learnt faces from one fixed square of aligned photos (CelebA: the center
108x108 of each 178x218 img_align_celeba file), so it completes a face well only when it sees it
framed that way. A photo of any size is framed in two steps, both without torch:
1. a face detector (detector.py: OpenCV's Haar cascades, on the photo with its hole pre-filled by
   Telea's method) proposes faces; each box becomes a first guess of the square by a fixed map;
2. the framing network (network.py; trained by train/framing.py, run on ONNX Runtime) looks at a
   view a little smaller than the guess, the hole blanked, and says where the square lies; a few
   rounds of this settle on the square. The face whose square holds most of the hole wins
   (decide.py).
Where no face is found, or the hole lies mostly off every face, the completion falls back to the
whole image (the photo squeezed to the model's square), and says so. The sizes, rounds and
thresholds are one FramingSettings (settings.py); squares and holes are geometry.py; the answer is
a Framing (result.py); the --framing option is parsed and a given square checked in option.py.
"""
from inpaint.runtime.framing.decide import Framer
from inpaint.runtime.framing.geometry import Box
from inpaint.runtime.framing.option import parse_framing
from inpaint.runtime.framing.result import WHOLE, Framing

__all__ = ["WHOLE", "Box", "Framer", "Framing", "parse_framing"]
