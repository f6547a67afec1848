"""Read and check the images and masks a user gives to an inpainting command; write results atomically.

Pixels stay uint8 from file to file, so known pixels come back byte-identical. A 16-bit image
(grey, RGB or RGBA; PNG or TIFF) is completed at 8 bits and written back at 16 (as PNG), its
known samples unchanged (deep.py).
In a mask file white (non-zero) marks a hole to fill; in an image alpha = 0 also marks a hole
(holes.py). A mask whose values are only 0 and 1 (an array saved as it is) takes 1 as the hole.
Images and masks are read as viewers show them: the EXIF orientation is applied, and what is
written is upright, without the tag. HEIC/HEIF files (what phones save) are read where
pillow-heif is installed (the `heic` extra) (decode.py). Writing is write.py; the Picture and
ImageError are picture.py. What callers use is here.
"""
from inpaint.imageio.decode import decode_image, read_image
from inpaint.imageio.holes import check_hole, decode_mask, hole_from_alpha, hole_of, read_mask
from inpaint.imageio.picture import ImageError, Picture
from inpaint.imageio.write import check_output_path, encode_image, write_image

__all__ = ["ImageError", "Picture", "check_hole", "check_output_path", "decode_image", "decode_mask",
           "encode_image", "hole_from_alpha", "hole_of", "read_image", "read_mask", "write_image"]
