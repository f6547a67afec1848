"""Pictures read as viewers show them: EXIF orientation, 0/1 masks, the formats people's files come in."""
import numpy as np
import pytest
from PIL import Image

from inpaint.imageio import decode_image, decode_mask, read_image, read_mask

# what exif_transpose does to the stored pixels for each orientation; the stored file holds the
# inverse of it applied to the picture as shown
TO_SHOWN = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270,
            7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}
INVERSE = {Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270}


def shown_picture(h=6, w=10):
    """An image where every pixel differs, so any turn or flip shows."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def save_oriented(path, shown: np.ndarray, orientation: int, mode: str | None = None) -> None:
    im = Image.fromarray(shown)
    if mode:
        im = im.convert(mode)
    method = TO_SHOWN[orientation]
    stored = im if method is None else im.transpose(INVERSE.get(method, method))
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, exif=exif)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_reads_as_shown_with_its_mask_drawn_on_the_shown_picture(tmp_path, orientation):
    shown = shown_picture()
    save_oriented(tmp_path / "photo.png", shown, orientation)
    hole = np.zeros(shown.shape[:2], bool)
    hole[1:3, 2:7] = True                                   # drawn on the picture as a viewer shows it
    save_oriented(tmp_path / "mask.png", np.repeat((hole * 255).astype(np.uint8)[..., None], 3, 2),
                  orientation, "L")
    picture = read_image(tmp_path / "photo.png")
    np.testing.assert_array_equal(picture.pixels, shown)
    np.testing.assert_array_equal(read_mask(tmp_path / "mask.png", picture.size), hole)
    uploaded = decode_image((tmp_path / "photo.png").read_bytes())        # the server's path
    np.testing.assert_array_equal(uploaded.pixels, shown)
    np.testing.assert_array_equal(decode_mask((tmp_path / "mask.png").read_bytes(), picture.size), hole)


def test_a_sideways_phone_photo_completes_upright(tmp_path):
    """Orientation 6 (what phones write) through inpaint-rt complete: the output is the shown
    picture, upright and without the tag, its known pixels unchanged."""
    from click.testing import CliRunner
    from inpaint.cli.rt import main
    shown = np.asarray(Image.open(__import__("pathlib").Path(__file__).parent.parent / "examples" / "astronaut64.png")
                       .convert("RGB"))
    shown = np.ascontiguousarray(shown[:, 8:56])                          # 48 wide, 64 high: not square
    save_oriented(tmp_path / "photo.png", shown, 6)
    hole = np.zeros(shown.shape[:2], bool)
    hole[20:36, 12:36] = True
    Image.fromarray((hole * 255).astype(np.uint8)).save(tmp_path / "mask.png")   # drawn as shown
    r = CliRunner().invoke(main, ["complete", str(tmp_path / "photo.png"), str(tmp_path / "mask.png"),
                                  "-o", str(tmp_path / "out.png"), "--quiet", "--iterations", "2"])
    assert r.exit_code == 0, r.output
    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (48, 64) and 0x0112 not in out.getexif()
        pixels = np.asarray(out.convert("RGB"))
    np.testing.assert_array_equal(pixels[~hole], shown[~hole])


def test_a_mask_of_zeros_and_ones_takes_one_as_the_hole_and_says_so(tmp_path):
    hole = np.zeros((8, 8), bool)
    hole[2:5, 3:6] = True
    Image.fromarray(hole.astype(np.uint8)).save(tmp_path / "m.png")        # values 0 and 1
    notes = []
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png", (8, 8), on_note=notes.append), hole)
    assert len(notes) == 1 and "only the values 0 and 1" in notes[0]
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png", (8, 8), invert=True), ~hole)
    Image.fromarray((hole * 255).astype(np.uint8)).save(tmp_path / "w.png")  # the usual white hole
    quiet = []
    np.testing.assert_array_equal(read_mask(tmp_path / "w.png", (8, 8), on_note=quiet.append), hole)
    assert quiet == []


@pytest.mark.parametrize("suffix,options", [(".webp", {"lossless": True}), (".tif", {}), (".tiff", {"compression": "tiff_lzw"})])
def test_webp_and_tiff_read_exactly(tmp_path, suffix, options):
    shown = shown_picture(12, 9)
    Image.fromarray(shown).save(tmp_path / f"p{suffix}", **options)
    np.testing.assert_array_equal(read_image(tmp_path / f"p{suffix}").pixels, shown)
