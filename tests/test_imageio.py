import struct
import warnings
import zlib
from functools import partial

import numpy as np
import pytest
from PIL import Image, ImageFile

from inpaint import imageio
from inpaint.imageio import decode
from inpaint.errors import OutputError
from inpaint.imageio import (
    ImageError, Picture, check_hole, hole_from_alpha, read_image, read_mask, write_image)

RNG = np.random.default_rng(0)


def noise(*shape):
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def png_bytes(width, height, bit_depth, color_type, rows=b""):
    """A PNG written by hand, so it can declare what Pillow would refuse to write."""
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


# --- reading ----------------------------------------------------------------------------------

@pytest.mark.parametrize("channels", [3, 1, 4, 2])  # RGB, L, RGBA, LA
def test_png_round_trip_keeps_pixels_byte_identical(tmp_path, channels):
    array = noise(13, 17, channels)
    Image.fromarray(array[..., 0] if channels == 1 else array).save(tmp_path / "in.png")
    picture = read_image(tmp_path / "in.png")
    color = channels >= 3
    has_alpha = channels in (2, 4)
    assert picture.mode == ("RGB" if color else "L")
    assert picture.size == (13, 17)
    assert picture.pixels.dtype == np.uint8 and picture.pixels.shape == (13, 17, 3 if color else 1)
    np.testing.assert_array_equal(picture.pixels, array[..., :3 if color else 1])
    if has_alpha:
        np.testing.assert_array_equal(picture.alpha, array[..., -1])
    else:
        assert picture.alpha is None

    write_image(tmp_path / "out.png", picture)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png"]  # no temp left
    with Image.open(tmp_path / "out.png") as written, Image.open(tmp_path / "in.png") as source:
        assert written.mode == source.mode
        np.testing.assert_array_equal(np.asarray(written), np.asarray(source))
    again = read_image(tmp_path / "out.png")
    np.testing.assert_array_equal(again.pixels, picture.pixels)
    assert (again.alpha is None) == (picture.alpha is None) and again.mode == picture.mode


def test_reads_jpeg(tmp_path):
    smooth = np.repeat(np.tile(np.linspace(0, 255, 32).astype(np.uint8), (16, 1))[..., None], 3, axis=2)
    Image.fromarray(smooth).save(tmp_path / "in.jpg", quality=100)
    picture = read_image(tmp_path / "in.jpg")
    assert picture.mode == "RGB" and picture.alpha is None and picture.size == (16, 32)
    assert np.abs(picture.pixels.astype(int) - smooth).max() <= 4


def test_palette_with_transparency_gives_alpha(tmp_path):
    palette = Image.new("P", (3, 2))
    palette.putpalette([10, 20, 30, 200, 100, 50])
    palette.putpixel((1, 0), 1)
    palette.save(tmp_path / "with.png", transparency=1)
    palette.save(tmp_path / "without.png")

    picture = read_image(tmp_path / "with.png")
    assert picture.mode == "RGB"
    np.testing.assert_array_equal(hole_from_alpha(picture), [[False, True, False], [False] * 3])
    np.testing.assert_array_equal(picture.pixels[0, 0], [10, 20, 30])
    plain = read_image(tmp_path / "without.png")
    assert plain.mode == "RGB" and plain.alpha is None and hole_from_alpha(plain) is None
    np.testing.assert_array_equal(plain.pixels[0, 1], [200, 100, 50])


def test_bilevel_reads_as_grayscale_and_cmyk_as_rgb(tmp_path):
    Image.fromarray(np.array([[0, 255]], np.uint8)).convert("1").save(tmp_path / "bw.png")
    bw = read_image(tmp_path / "bw.png")
    assert bw.mode == "L"
    np.testing.assert_array_equal(bw.pixels[..., 0], [[0, 255]])
    Image.new("CMYK", (4, 4), (0, 255, 0, 0)).save(tmp_path / "cmyk.jpg", quality=100)
    cmyk = read_image(tmp_path / "cmyk.jpg")
    assert cmyk.mode == "RGB"
    assert np.abs(cmyk.pixels.astype(int) - [255, 0, 255]).max() <= 3


# --- refusals, shared by images and masks -----------------------------------------------------

@pytest.fixture(params=["image", "mask"])
def reader(request):
    return read_image if request.param == "image" else partial(read_mask, size=(64, 64))


def test_missing_file(tmp_path, reader):
    with pytest.raises(ImageError, match="not found"):
        reader(tmp_path / "nope.png")


def test_directory(tmp_path, reader):
    (tmp_path / "d.png").mkdir()
    with pytest.raises(ImageError, match="is a directory"):
        reader(tmp_path / "d.png")


def test_not_an_image(tmp_path, reader):
    (tmp_path / "notes.png").write_text("just some text\n")
    with pytest.raises(ImageError, match="not an image file"):
        reader(tmp_path / "notes.png")


@pytest.mark.parametrize("lenient_pillow", [False, True])
def test_truncated_png(tmp_path, reader, monkeypatch, lenient_pillow):
    Image.fromarray(noise(64, 64, 3)).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    # Another library may have switched Pillow to fill truncated images with gray; it must not matter.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", lenient_pillow)
    with pytest.raises(ImageError, match="truncated or corrupt"):
        reader(tmp_path / "cut.png")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is lenient_pillow  # restored


def deep_images(tmp_path):
    Image.fromarray(np.full((4, 4), 40000, np.uint16)).save(tmp_path / "gray16.png")
    rows = b"".join(b"\x00" + bytes(range(12)) for _ in range(2))  # filter byte + 2 px x 3 x 16 bit
    (tmp_path / "rgb16.png").write_bytes(png_bytes(2, 2, 16, 2, rows))
    assert Image.open(tmp_path / "rgb16.png").mode == "RGB"  # Pillow alone would read it as 8-bit
    Image.fromarray(np.zeros((4, 4), np.float32)).save(tmp_path / "float.tif")
    Image.fromarray(np.zeros((4, 4), np.int32)).save(tmp_path / "int32.tif")
    return {"gray16.png": "16-bit", "rgb16.png": "16-bit", "float.tif": "floating-point",
            "int32.tif": "32-bit integer"}


def test_32_bit_samples_are_refused(tmp_path, reader):
    for name, depth in deep_images(tmp_path).items():
        if depth == "16-bit":
            continue
        with pytest.raises(ImageError, match=f"has {depth} samples.*convert it to 16-bit or 8-bit"):
            reader(tmp_path / name)


def test_16_bit_images_are_read_at_16_bits_with_8_bit_pixels_for_the_model(tmp_path):
    deep_images(tmp_path)
    reader = read_image
    gray = reader(tmp_path / "gray16.png")
    assert gray.mode == "L" and gray.deep.dtype == np.uint16 and (gray.deep == 40000).all()
    assert (gray.pixels == round(40000 / 257)).all()
    rgb = reader(tmp_path / "rgb16.png")            # samples 0x0001, 0x0203, ... row by row
    expect = np.frombuffer(bytes(range(12)), ">u2").reshape(1, 2, 3).repeat(2, axis=0)
    assert rgb.mode == "RGB" and rgb.alpha is None
    np.testing.assert_array_equal(rgb.deep, expect)
    np.testing.assert_array_equal(rgb.pixels, ((expect.astype(int) + 128) // 257).astype(np.uint8))


def test_too_many_pixels_by_our_limit(tmp_path, reader, monkeypatch):
    Image.new("RGB", (64, 64)).save(tmp_path / "big.png")
    monkeypatch.setattr(decode, "MAX_PIXELS", 4095)
    with pytest.raises(ImageError, match="has 64x64 = 4,096 pixels, more than the limit of 4,095"):
        reader(tmp_path / "big.png")
    monkeypatch.setattr(decode, "MAX_PIXELS", 4096)
    reader(tmp_path / "big.png")  # exactly at the limit is fine


@pytest.mark.parametrize("side", [9_000, 10_000, 50_000])  # ours only; Pillow warns; Pillow raises
def test_decompression_bomb_header_is_refused_before_decoding(tmp_path, reader, side):
    (tmp_path / "bomb.png").write_bytes(png_bytes(side, side, 8, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageError, match=f"{side**2:,} pixels, more than the limit of 80,000,000"):
            reader(tmp_path / "bomb.png")
    assert not caught  # Pillow's DecompressionBombWarning becomes our error instead of leaking


# --- masks --------------------------------------------------------------------------------------

def test_soft_mask_thresholds_at_128_and_inverts(tmp_path):
    Image.fromarray(np.arange(256, dtype=np.uint8)[None, :]).save(tmp_path / "soft.png")
    hole = read_mask(tmp_path / "soft.png", (1, 256))
    assert hole.dtype == bool and hole.shape == (1, 256)
    assert not hole[0, 127] and hole[0, 128]
    np.testing.assert_array_equal(hole[0], np.arange(256) >= 128)
    np.testing.assert_array_equal(read_mask(tmp_path / "soft.png", (1, 256), invert=True), ~hole)


def test_color_and_rgba_masks_use_gray_and_transparent_is_known(tmp_path):
    rgba = np.zeros((1, 4, 4), np.uint8)
    rgba[0, :, :3] = [[255, 255, 255], [255, 255, 255], [0, 0, 255], [0, 255, 0]]  # luma: 255 255 29 150
    rgba[0, :, 3] = [255, 0, 255, 255]
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "rgba.png", (1, 4)), [[True, False, False, True]])
    Image.fromarray(rgba[..., :3]).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "rgb.png", (1, 4)), [[True, True, False, True]])


def test_mask_of_another_size_names_both_sizes(tmp_path):
    Image.new("L", (30, 20)).save(tmp_path / "m.png")
    with pytest.raises(ImageError, match=r"mask .* is 30x20 but the image is 32x24"):
        read_mask(tmp_path / "m.png", (24, 32))


def test_check_hole():
    hole = np.zeros((4, 4), bool)
    with pytest.raises(ImageError, match="marks no pixel to fill.*--invert-mask"):
        check_hole(hole)
    with pytest.raises(ImageError, match="marks every pixel.*nothing is known"):
        check_hole(~hole)
    hole[1, 2] = True
    check_hole(hole)


# --- writing ------------------------------------------------------------------------------------

def test_jpeg_write_drops_alpha(tmp_path):
    picture = Picture(np.full((8, 8, 3), 120, np.uint8), np.zeros((8, 8), np.uint8), "RGB")
    write_image(tmp_path / "out.jpeg", picture)
    with Image.open(tmp_path / "out.jpeg") as im:
        assert im.format == "JPEG" and im.mode == "RGB"
        assert np.abs(np.asarray(im).astype(int) - 120).max() <= 2


def test_write_to_a_directory_raises_output_error_and_leaves_nothing(tmp_path):
    (tmp_path / "out.png").mkdir()
    picture = Picture(noise(4, 4, 1), None, "L")
    with pytest.raises(OutputError, match="is a directory"):
        write_image(tmp_path / "out.png", picture)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
    assert not any((tmp_path / "out.png").iterdir())


def test_write_with_unsupported_suffix_leaves_no_file(tmp_path):
    picture = Picture(noise(4, 4, 3), None, "RGB")
    with pytest.raises(ImageError, match=r"unsupported suffix '\.bmp'.*\.png, \.jpg, \.jpeg"):
        write_image(tmp_path / "out.bmp", picture)
    assert list(tmp_path.iterdir()) == []


def test_picture_checks_its_arrays():
    with pytest.raises(ValueError, match="uint8"):
        Picture(np.zeros((4, 4, 3), np.float32), None, "RGB")
    with pytest.raises(ValueError, match="alpha"):
        Picture(np.zeros((4, 4, 1), np.uint8), np.zeros((4, 5), np.uint8), "L")


def test_uploaded_bytes_decode_as_the_file_reads(tmp_path):
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (9, 7, 4), dtype=np.uint8)
    path = tmp_path / "in.png"
    Image.fromarray(rgba).save(path)
    from_file, from_bytes = read_image(path), imageio.decode_image(path.read_bytes(), "in.png")
    assert np.array_equal(from_file.pixels, from_bytes.pixels) and np.array_equal(from_file.alpha, from_bytes.alpha)
    mask = np.zeros((9, 7), np.uint8)
    mask[2:5, 1:4] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    assert np.array_equal(imageio.decode_mask((tmp_path / "m.png").read_bytes(), (9, 7)), mask > 0)
    assert imageio.encode_image(from_bytes) == _written(tmp_path / "out.png", from_bytes)


def _written(path, picture):
    imageio.write_image(path, picture)
    return path.read_bytes()


@pytest.mark.parametrize("data, words", [(b"plain text", "image face.png is not an image file"),
                                         (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "face.png")])
def test_bad_upload_errors_name_the_upload(data, words):
    with pytest.raises(ImageError, match=words):
        imageio.decode_image(data, "face.png")


def test_uploaded_mask_of_another_size_names_it():
    out = __import__("io").BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(out, format="PNG")
    with pytest.raises(ImageError, match="mask m.png is 4x4 but the image is 7x9"):
        imageio.decode_mask(out.getvalue(), (9, 7), name="m.png")


def test_heic_photos_are_read_upright_as_phones_save_them(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif", reason="HEIC needs the heic extra (pillow-heif)")
    pillow_heif.register_heif_opener()
    stored = np.zeros((40, 60, 3), np.uint8)
    stored[:10, :20] = (250, 30, 30)                      # a red block at the stored image's top left
    stored[30:, 40:] = (30, 30, 250)
    exif = Image.Exif()
    exif[0x0112] = 6                                     # shown turned a quarter clockwise
    Image.fromarray(stored).save(tmp_path / "plain.heic", quality=-1)                 # lossless
    Image.fromarray(stored).save(tmp_path / "turned.heic", exif=exif.tobytes(), quality=-1)
    plain = read_image(tmp_path / "plain.heic")
    assert plain.mode == "RGB" and plain.size == (40, 60)
    assert np.abs(plain.pixels.astype(int) - stored).mean() < 3      # lossless up to the colour conversion
    turned = read_image(tmp_path / "turned.heic")
    assert turned.size == (60, 40)
    assert np.abs(turned.pixels.astype(int) - np.rot90(stored, -1)).mean() < 3   # as a viewer shows it


def test_heic_without_pillow_heif_says_what_to_install(tmp_path, monkeypatch):
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
    (tmp_path / "p.heic").write_bytes(heic)
    assert decode._is_heif(tmp_path / "p.heic") and not decode._is_heif(tmp_path / "missing.heic")
    monkeypatch.setattr(decode, "_heif_readable", lambda: False)

    def unreadable(source, *a, **k):
        raise decode.UnidentifiedImageError("cannot identify")
    monkeypatch.setattr(decode.Image, "open", unreadable)
    with pytest.raises(ImageError, match=r"is an HEIC/HEIF file: pip install 'inpaint\[heic\]'"):
        read_image(tmp_path / "p.heic")
    (tmp_path / "p.bin").write_bytes(b"not an image at all")
    with pytest.raises(ImageError, match="not an image file Pillow can read"):
        read_image(tmp_path / "p.bin")
