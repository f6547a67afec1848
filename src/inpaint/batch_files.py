"""The files of a batch completion: a folder of images, their masks by file name, their outputs."""
from __future__ import annotations

from pathlib import Path

from inpaint.errors import InpaintError, OutputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def folder_jobs(images: Path, masks: Path | None, out: Path) -> list[tuple[Path, Path | None, Path]]:
    """(image, mask or None, output) for every image in `images`, sorted by name; the mask is the
    file of the same stem in `masks` (any image suffix), the output `out`/<image's name>."""
    if not images.is_dir():
        raise InpaintError(f"--batch {images} is not a directory")
    if out.exists() and not out.is_dir():
        raise OutputError(f"-o {out} is a file; with --batch give an output directory")
    found = sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise InpaintError(f"no .png or .jpg images in {images}")
    jobs = []
    for img in found:
        mask = None
        if masks is not None:
            candidates = [masks / (img.stem + s) for s in IMAGE_SUFFIXES if (masks / (img.stem + s)).is_file()]
            if not candidates:
                raise InpaintError(f"no mask for {img.name} in {masks} (looked for {img.stem}.png/.jpg)")
            mask = candidates[0]
        jobs.append((img, mask, out / img.name))
    return jobs


def load_job(image: Path, mask: Path | None, invert: bool, on_note=None):
    """(picture, hole) of one job, checked; ImageError says what is wrong with it; on_note hears
    how an unusual mask was read."""
    from inpaint.imageio import hole_of, read_image, read_mask
    picture = read_image(image)
    mask_hole = read_mask(mask, picture.size, invert, on_note) if mask is not None else None
    return picture, hole_of(picture, mask_hole, invert, str(image))
