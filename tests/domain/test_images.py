"""Uploaded photos to renditions: types by content, limits before decoding, orientation, sRGB,
no metadata out, widths, fallbacks, animation, determinism, and nothing but ImageRefused for any
bytes. Every image is made here with Pillow."""

from __future__ import annotations

import hashlib
import io
import pickle
import struct
import zlib

import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image, ImageCms, _webp
from PIL.PngImagePlugin import PngInfo

from app.domain.images import (
    ImageRefused,
    ProcessedImage,
    Rendition,
    process_image,
    sniff,
)
from app.domain.media import NAME

MAX_PIXELS = 50_000_000
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def encode(image: Image.Image, pillow_format: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, pillow_format, **params)
    return out.getvalue()


def photo(width: int, height: int) -> Image.Image:
    """A picture with detail everywhere, so that resizing and encoding have work to do."""
    ramp = Image.linear_gradient("L")
    return Image.merge(
        "RGB",
        [
            ramp.resize((width, height)),
            ramp.rotate(90).resize((width, height)),
            Image.effect_noise((width, height), 30),
        ],
    )


def reopen(rendition: Rendition) -> Image.Image:
    image = Image.open(io.BytesIO(rendition.data))
    image.load()
    return image


def near(pixel: object, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def refusal(data: bytes, **limits: int) -> ImageRefused:
    with pytest.raises(ImageRefused) as caught:
        process_image(data, max_pixels=limits.pop("max_pixels", MAX_PIXELS), **limits)
    return caught.value


def animation(frames: int, size: tuple[int, int] = (64, 48), **params: object) -> bytes:
    colours = [RED, GREEN, BLUE, (255, 255, 0), (0, 255, 255), (255, 0, 255)]
    images = [Image.new("RGB", size, colours[index % len(colours)]) for index in range(frames)]
    return encode(
        images[0], "GIF", save_all=True, append_images=images[1:], duration=80, loop=0, **params
    )


# Types ------------------------------------------------------------------------------------------

SAMPLES = {
    "image/jpeg": encode(photo(16, 12), "JPEG"),
    "image/png": encode(photo(16, 12).convert("RGBA"), "PNG"),
    "image/webp": encode(photo(16, 12), "WEBP"),
    "image/gif": animation(3, (8, 8)),
    "image/heic": encode(photo(16, 12), "HEIF"),
}


@pytest.mark.parametrize("content_type", sorted(SAMPLES))
def test_sniff_judges_by_content(content_type: str) -> None:
    """Each type we take is recognised by its magic bytes, and processes as that type."""
    assert sniff(SAMPLES[content_type]) == content_type
    assert process_image(SAMPLES[content_type], max_pixels=MAX_PIXELS).source_type == content_type


def test_a_png_is_a_png_whatever_it_is_called() -> None:
    """Only content counts: PNG bytes (uploaded as "photo.jpg", say) are PNG."""
    data = encode(photo(40, 30), "PNG")
    assert sniff(data) == "image/png"
    assert process_image(data, max_pixels=MAX_PIXELS).source_type == "image/png"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<script>alert(1)</script>",
        b"%PDF-1.7\n",
        b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00mif1miafavif",  # AVIF, which we do not take
        b"\x00\x00\x00\x14ftypmif1\x00\x00\x00\x00mif1",  # generic HEIF brand alone: unknown
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
    ],
)
def test_other_content_is_refused_415(data: bytes) -> None:
    """Scripts, documents, other media and other ISO BMFF images are 415, untouched."""
    assert sniff(data) is None
    refused = refusal(data)
    assert refused.status == 415
    assert refused.detail == "The file is not a JPEG, PNG, WebP, GIF or HEIC image."


def test_truncated_jpeg_is_422() -> None:
    """A JPEG cut short is recognised but cannot be decoded."""
    data = encode(photo(300, 200), "JPEG")
    refused = refusal(data[: len(data) // 2])
    assert refused.status == 422
    assert "JPEG" in refused.detail


def test_refusal_pickles_back_from_a_worker() -> None:
    """A worker process sends the exception back pickled: status and detail survive."""
    copy = pickle.loads(pickle.dumps(ImageRefused(413, "Too big.")))
    assert (copy.status, copy.detail, str(copy)) == (413, "Too big.", "Too big.")


def test_limits_must_be_positive() -> None:
    """Bad limits are the caller's mistake: ValueError, not a refusal of the upload."""
    for limits in ({"widths": ()}, {"widths": (0, 480)}, {"max_frames": 0}):
        with pytest.raises(ValueError):
            process_image(SAMPLES["image/png"], max_pixels=MAX_PIXELS, **limits)


# Decompression bombs ----------------------------------------------------------------------------


def declaring(width: int, height: int) -> bytes:
    """A small valid PNG whose header is rewritten to claim `width`×`height`: decoding it would
    need gigabytes, so only the header may be read."""
    data = bytearray(encode(Image.new("L", (8, 8)), "PNG"))
    ihdr = bytes(data[12:16]) + struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(ihdr))
    return bytes(data)


def test_a_bomb_is_refused_413_from_its_header() -> None:
    """20000×20000 declared: refused before decoding (Pillow's own guard, turned into 413)."""
    refused = refusal(declaring(20000, 20000))
    assert refused.status == 413
    assert str(MAX_PIXELS) in refused.detail


def test_over_the_limit_is_413_with_the_size() -> None:
    """Within Pillow's guard but over ours: 413 naming the size, and no warning escapes."""
    refused = refusal(declaring(12000, 12000))
    assert refused.status == 413
    assert refused.detail == f"The image is 12000×12000 pixels; the limit is {MAX_PIXELS}."
    small = refusal(encode(photo(100, 100), "PNG"), max_pixels=9999)
    assert small.detail == "The image is 100×100 pixels; the limit is 9999."


# Metadata, orientation, colour ------------------------------------------------------------------

GPS_SECONDS = (1234, 100)  # 12.34″, a rational that would show in any EXIF copied out
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf'
    b'-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
    b'tiff:Artist="Secret Photographer"/></rdf:RDF></x:xmpmeta>'
)


def with_metadata(image: Image.Image, orientation: int, pillow_format: str = "JPEG") -> bytes:
    """The image with EXIF (orientation, camera, GPS), XMP, an ICC profile and, where the
    format has one, a comment."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Camera Maker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (51.0, 30.0, 12.34), 3: "W", 4: (0.0, 7.0, 39.0)})
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    extra: dict[str, object] = {"xmp": XMP}
    if pillow_format == "JPEG":
        extra["comment"] = b"Secret comment"
    elif pillow_format == "PNG":
        text = PngInfo()
        text.add_itxt("XML:com.adobe.xmp", XMP.decode())
        text.add_text("Comment", "Secret comment")
        extra = {"pnginfo": text}
    return encode(image, pillow_format, exif=exif.tobytes(), icc_profile=srgb, **extra)


def assert_bare(rendition: Rendition) -> None:
    image = reopen(rendition)
    assert not image.getexif()
    assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment"} & image.info.keys()
    for secret in (b"Exif", b"xmpmeta", b"Secret", b"Camera Maker", b"GPS"):
        assert secret not in rendition.data
    for order in "<>":
        assert struct.pack(f"{order}II", *GPS_SECONDS) not in rendition.data


@pytest.mark.parametrize("pillow_format", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_no_metadata_reaches_the_outputs(pillow_format: str) -> None:
    """EXIF (with GPS), XMP, ICC and comments are in the upload and in none of the files."""
    data = with_metadata(photo(1000, 600), 1, pillow_format)
    source = Image.open(io.BytesIO(data))
    source.load()
    assert source.getexif().get_ifd(0x8825)[2] == (51.0, 30.0, 12.34)  # the test's own premise
    assert b"Secret Photographer" in data
    assert "icc_profile" in source.info
    processed = process_image(data, max_pixels=MAX_PIXELS)
    assert [r.content_type for r in processed.renditions] == ["image/webp"] * 3 + ["image/jpeg"]
    for rendition in processed.renditions:
        assert_bare(rendition)


@pytest.mark.parametrize("pillow_format", ["JPEG", "PNG", "WEBP"])
def test_orientation_is_applied(pillow_format: str) -> None:
    """Orientation 6 (turn 90° clockwise): 100×50 comes out 50×100, its top-left corner now
    top-right."""
    image = Image.new("RGB", (100, 50), GREEN)
    image.paste(RED, (0, 0, 50, 25))
    data = with_metadata(image, 6, pillow_format)
    processed = process_image(data, max_pixels=MAX_PIXELS)
    assert (processed.width, processed.height) == (50, 100)
    for rendition in processed.renditions:
        assert (rendition.width, rendition.height) == (50, 100)
        turned = reopen(rendition).convert("RGB")
        assert turned.size == (50, 100)
        assert near(turned.getpixel((40, 10)), RED)
        assert near(turned.getpixel((10, 10)), GREEN)
        assert near(turned.getpixel((40, 90)), GREEN)
        assert_bare(rendition)


def s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def swapped_profile() -> bytes:
    """An RGB display profile (ICC v2, matrix and curves) whose red and blue primaries are
    swapped: colour-managed, a file's "red" pixels are blue."""

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    text = b"Swapped RGB\0"
    tags = {
        b"desc": b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67),
        b"wtpt": xyz(0.9642, 1.0, 0.8249),
        b"rXYZ": xyz(0.1431, 0.0606, 0.7141),  # sRGB's blue, adapted to D50
        b"gXYZ": xyz(0.3851, 0.7169, 0.0971),
        b"bXYZ": xyz(0.4361, 0.2225, 0.0139),  # sRGB's red
        b"rTRC": b"curv\0\0\0\0" + struct.pack(">IH", 1, 563) + b"\0\0",  # gamma 2.2
    }
    tags[b"gTRC"] = tags[b"bTRC"] = tags[b"rTRC"]
    table, body, offset = b"", b"", 128 + 4 + 12 * len(tags)
    for signature, data in tags.items():
        data += bytes(-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size) + bytes(4) + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ " + bytes(12) + b"acsp" + bytes(24) + struct.pack(">I", 0)
        + s15(0.9642) + s15(1.0) + s15(0.8249) + bytes(48)
    )  # fmt: skip
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def test_colour_profiles_are_converted_to_srgb() -> None:
    """A file's own ICC profile is applied (its raw red is blue), then dropped."""
    profile = swapped_profile()
    ImageCms.ImageCmsProfile(io.BytesIO(profile))  # a profile LittleCMS reads
    data = encode(Image.new("RGB", (64, 48), RED), "PNG", icc_profile=profile)
    processed = process_image(data, max_pixels=MAX_PIXELS)
    for rendition in processed.renditions:
        image = reopen(rendition)
        assert "icc_profile" not in image.info
        assert near(image.convert("RGB").getpixel((5, 5)), BLUE, tolerance=10)


def test_a_broken_profile_leaves_the_pixels() -> None:
    """A profile LittleCMS cannot read is ignored, not a refusal."""
    data = encode(Image.new("RGB", (64, 48), RED), "PNG", icc_profile=b"not a profile")
    processed = process_image(data, max_pixels=MAX_PIXELS)
    assert near(reopen(processed.fallback).getpixel((5, 5)), RED)


@pytest.mark.parametrize(
    ("mode", "colour", "expected"),
    [
        ("CMYK", (0, 255, 255, 0), RED),
        ("L", 128, (128, 128, 128)),
        ("1", 1, (255, 255, 255)),
        ("I;16", 32768, (128, 128, 128)),  # scaled to 8 bits, not clipped to white
        ("LA", (64, 255), (64, 64, 64)),
        ("P", 0, (0, 0, 0)),
    ],
)
def test_other_modes_become_rgb(mode: str, colour: object, expected: tuple[int, ...]) -> None:
    """CMYK, grey, bilevel, 16-bit grey, opaque grey+alpha and palette all come out RGB."""
    image = Image.new(mode, (40, 30), colour)
    data = encode(image, "JPEG" if mode == "CMYK" else "PNG")
    processed = process_image(data, max_pixels=MAX_PIXELS)
    assert processed.fallback.content_type == "image/jpeg"
    assert near(reopen(processed.fallback).getpixel((5, 5)), expected, tolerance=6)


# Sizes and fallbacks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((2000, 1000), [(480, 240), (960, 480), (1600, 800)]),
        ((700, 333), [(480, 228), (700, 333)]),
        ((300, 200), [(300, 200)]),
        ((1600, 900), [(480, 270), (960, 540), (1600, 900)]),
    ],
)
def test_widths_below_the_image_and_never_upscaled(
    size: tuple[int, int], expected: list[tuple[int, int]]
) -> None:
    """WebP at each width below the image's and at its own (capped at 1600); then the JPEG at
    the largest."""
    processed = process_image(encode(photo(*size), "PNG"), max_pixels=MAX_PIXELS)
    webp = [(r.width, r.height) for r in processed.srcset_renditions]
    assert webp == expected
    assert {r.content_type for r in processed.srcset_renditions} == {"image/webp"}
    assert processed.fallback.content_type == "image/jpeg"
    assert (processed.fallback.width, processed.fallback.height) == expected[-1]
    assert (processed.width, processed.height) == expected[-1]
    assert processed.renditions == (*processed.srcset_renditions, processed.fallback)
    for rendition in processed.renditions:
        assert reopen(rendition).size == (rendition.width, rendition.height)


def test_a_large_phone_jpeg_is_reduced() -> None:
    """A 4000×3000 JPEG (decoded at reduced scale) gives the three widths at 4:3."""
    processed = process_image(encode(photo(4000, 3000), "JPEG"), max_pixels=MAX_PIXELS)
    sizes = [(r.width, r.height) for r in processed.renditions]
    assert sizes == [(480, 360), (960, 720), (1600, 1200), (1600, 1200)]


def test_a_long_screenshot_fits_webp() -> None:
    """WebP holds at most 16383 pixels a side: a very tall image is drawn narrower."""
    processed = process_image(encode(photo(100, 20000), "PNG"), max_pixels=MAX_PIXELS)
    assert [(r.width, r.height) for r in processed.renditions] == [(82, 16383)] * 2


def test_transparency_gives_a_png_fallback() -> None:
    """Alpha that is used is kept: WebP with alpha, and PNG as the fallback."""
    image = Image.new("RGBA", (600, 400), (*RED, 255))
    image.paste((0, 0, 0, 0), (0, 0, 300, 400))
    processed = process_image(encode(image, "PNG"), max_pixels=MAX_PIXELS)
    assert processed.fallback.content_type == "image/png"
    for rendition in processed.renditions:
        out = reopen(rendition)
        assert out.mode == "RGBA"
        assert out.getpixel((0, 0))[3] == 0  # type: ignore[index]
        assert out.getpixel((out.width - 1, 0))[3] == 255  # type: ignore[index]
        assert_bare(rendition)


def test_opaque_alpha_gives_a_jpeg_fallback() -> None:
    """An RGBA image whose alpha is all 255, or a palette with an unused transparent entry,
    has no transparency to keep."""
    palette = Image.new("P", (60, 40), 1)
    palette.putpalette([*BLUE, *RED, *GREEN])
    for data in (
        encode(photo(600, 400).convert("RGBA"), "PNG"),
        encode(palette, "PNG", transparency=2),  # green is transparent; no pixel is green
    ):
        processed = process_image(data, max_pixels=MAX_PIXELS)
        assert processed.fallback.content_type == "image/jpeg"
        assert reopen(processed.srcset_renditions[0]).mode == "RGB"


# Animation --------------------------------------------------------------------------------------


def test_an_animated_gif_stays_animated() -> None:
    """Within the limits: animated WebP at each width and an animated GIF, no comment."""
    processed = process_image(animation(6, comment=b"Secret comment"), max_pixels=MAX_PIXELS)
    assert processed.animated
    assert [r.content_type for r in processed.renditions] == ["image/webp", "image/gif"]
    for rendition in processed.renditions:
        out = reopen(rendition)
        assert getattr(out, "n_frames", 1) == 6
        assert out.info.get("duration") == 80
        assert "comment" not in out.info
        assert b"Secret" not in rendition.data


def test_an_animated_webp_stays_animated() -> None:
    """Animated WebP is kept too, with an animated GIF as its fallback."""
    frames = [Image.new("RGB", (64, 48), colour) for colour in (RED, GREEN, BLUE)]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)
    processed = process_image(data, max_pixels=MAX_PIXELS)
    assert processed.animated
    assert getattr(reopen(processed.fallback), "n_frames", 1) == 3


@pytest.mark.parametrize(
    "limits", [{"max_frames": 5}, {"max_pixels": 4000}]
)  # 6 × 64×48 > 4 × 4000
def test_an_animation_over_the_limits_becomes_still(limits: dict[str, int]) -> None:
    """More frames than allowed, or more pixels in all than four stills: the first frame."""
    processed = process_image(animation(6), **{"max_pixels": MAX_PIXELS, **limits})
    assert not processed.animated
    assert processed.fallback.content_type == "image/jpeg"
    for rendition in processed.renditions:
        still = reopen(rendition)
        assert getattr(still, "n_frames", 1) == 1
        assert near(still.convert("RGB").getpixel((5, 5)), RED)


def test_a_transparent_animation_stays_transparent() -> None:
    """Alpha in an animation is kept, in the GIF and in the WebP files."""
    frames = []
    for colour in (RED, GREEN, BLUE):
        frame = Image.new("RGBA", (60, 40), (0, 0, 0, 0))
        frame.paste((*colour, 255), (0, 0, 30, 40))
        frames.append(frame)
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], disposal=2)
    processed = process_image(data, max_pixels=MAX_PIXELS)
    gif = reopen(processed.fallback)
    # Pillow's WebP reader goes by the file's alpha flag, which libwebp leaves unset when it
    # crops each frame to its opaque part; libwebp's own decoder composes the frames onto a
    # transparent canvas, as the WebP container specifies.
    webp = _webp.WebPAnimDecoder(processed.srcset_renditions[0].data)
    for index, colour in enumerate((RED, GREEN, BLUE)):
        gif.seek(index)
        pixels = Image.frombytes("RGBA", (60, 40), webp.get_next()[0])
        for frame in (gif.convert("RGBA"), pixels):
            assert near(frame.getpixel((5, 5)), colour)
            assert frame.getpixel((50, 5))[3] == 0  # type: ignore[index]


def test_a_gif_frame_cannot_grow_past_the_limit() -> None:
    """A later GIF frame may declare a larger canvas: it is checked before it is decoded."""
    data = bytearray(animation(2, (10, 10)))
    at = data.rindex(b",\x00\x00\x00\x00" + struct.pack("<HH", 10, 10))  # its image descriptor
    data[at + 5 : at + 9] = struct.pack("<HH", 5000, 5000)
    refused = refusal(bytes(data), max_pixels=1_000_000)
    assert refused.status == 413
    assert refused.detail == "The image is 5000×5000 pixels; the limit is 1000000."


def test_heic_from_a_phone() -> None:
    """HEIC becomes WebP and JPEG like any photo."""
    processed = process_image(encode(photo(1200, 900), "HEIF"), max_pixels=MAX_PIXELS)
    assert processed.source_type == "image/heic"
    assert [(r.content_type, r.width) for r in processed.renditions] == [
        ("image/webp", 480),
        ("image/webp", 960),
        ("image/webp", 1200),
        ("image/jpeg", 1200),
    ]


# Names and determinism --------------------------------------------------------------------------


def test_names_are_the_hash_of_the_bytes() -> None:
    """A file's name is 32 hex digits of its SHA-256, then its type's extension."""
    extensions = {"image/webp": "webp", "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}
    stills = process_image(encode(photo(1000, 600), "PNG"), max_pixels=MAX_PIXELS).renditions
    moving = process_image(animation(3), max_pixels=MAX_PIXELS).renditions
    for rendition in (*stills, *moving):
        digest = hashlib.sha256(rendition.data).hexdigest()[:32]
        assert rendition.name == f"{digest}.{extensions[rendition.content_type]}"
        assert NAME.fullmatch(rendition.name)


@pytest.mark.parametrize("data", [encode(photo(2000, 1500), "JPEG"), animation(4)])
def test_the_same_bytes_give_the_same_files(data: bytes) -> None:
    """Processing twice gives byte-identical files, so the same names."""
    first = process_image(data, max_pixels=MAX_PIXELS)
    second = process_image(data, max_pixels=MAX_PIXELS)
    assert [r.name for r in first.renditions] == [r.name for r in second.renditions]
    assert first == second


# Any bytes --------------------------------------------------------------------------------------


def processed_or_refused(data: bytes) -> None:
    try:
        result = process_image(data, max_pixels=100_000, max_frames=10)
    except ImageRefused as refused:
        assert refused.status in (413, 415, 422)
        assert refused.detail
    else:
        assert isinstance(result, ProcessedImage)
        assert result.renditions[-1] is result.fallback


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=256))
def test_any_bytes_are_an_image_or_refused(data: bytes) -> None:
    """Arbitrary bytes never raise anything but ImageRefused."""
    processed_or_refused(data)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(SAMPLES)),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(min_value=1),
)
def test_damaged_images_are_an_image_or_refused(
    content_type: str, flips: list[tuple[int, int]], cut: int
) -> None:
    """Real images with bytes changed, and cut short: an image, or ImageRefused."""
    data = bytearray(SAMPLES[content_type])
    for at, value in flips:
        data[at % len(data)] = value
    processed_or_refused(bytes(data))
    processed_or_refused(bytes(data[: cut % len(data)]))
