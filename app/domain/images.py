"""Uploaded photos become web-ready files here: bytes in, renditions to store out, nothing else.

An upload comes from a newsroom tool or a journalist's phone, so it is untrusted bytes: any type
whatever its name says, sideways (an EXIF orientation), in a wide-gamut colour space, carrying
the photographer's GPS position in its EXIF, or a few kilobytes that decode to gigabytes.
`process_image` answers each of these:

- the type is judged by content (`sniff`): JPEG, PNG, WebP, GIF and HEIC/HEIF, nothing else;
- the pixel count is read from the header and checked before anything is decoded;
- the orientation is applied, colours are converted to sRGB, and every output is encoded from a
  fresh image, so no EXIF, GPS, XMP, ICC profile or comment reaches a reader;
- out come WebP renditions for `srcset`, ascending, then one fallback at the largest width:
  JPEG, PNG when transparency is used, or GIF when an animation is kept.

It is a pure function (a pool of worker processes runs it): the same bytes and limits give the
same files, byte for byte, because each file is named by the hash of its bytes
(app/domain/media.py). HEIC and HEIF are both reported as "image/heic": phones write HEIC, and
the outputs are the same either way.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import pillow_heif
from PIL import Image, ImageCms, ImageOps

from app.domain.media import CONTENT_TYPES

pillow_heif.register_heif_opener()

WIDTHS: tuple[int, ...] = (480, 960, 1600)

# Qualities at which a photo shows no artefacts at the size a page draws it; WebP method 4 (of
# 0-6) is libwebp's own balance of encoding time against size.
WEBP_QUALITY = 80
WEBP_METHOD = 4
JPEG_QUALITY = 82
# Every frame of a kept animation is decoded and encoded at each width, so its cost is its
# frames' pixels; four stills' worth lets a short clip through and still bounds a worker's time.
ANIMATION_PIXEL_FACTOR = 4
# WebP cannot hold a longer side. A long phone screenshot can pass it at 960 wide; it is then
# drawn narrower, at this height.
_WEBP_MAX_SIDE = 16383
# Browsers play a GIF frame delay of 10 ms or less as 100 ms; the WebP renditions keep that pace.
_MIN_DELAY_MS = 10
_DEFAULT_DELAY_MS = 100

_TYPES = {  # detected type → (Pillow's format, the name a refusal uses)
    "image/jpeg": ("JPEG", "JPEG"),
    "image/png": ("PNG", "PNG"),
    "image/webp": ("WEBP", "WebP"),
    "image/gif": ("GIF", "GIF"),
    "image/heic": ("HEIF", "HEIC"),
}
_EXTENSIONS = {content_type: f".{extension}" for extension, content_type in CONTENT_TYPES.items()}
# Formats whose frames are an animation; a HEIF's other images are bursts or alternatives, and a
# phone's MPO (opened as JPEG) holds a preview.
_ANIMATED_FORMATS = frozenset({"GIF", "WEBP", "PNG"})
# ISO BMFF brands (the `ftyp` box) of HEVC-coded HEIF. `mif1` and `msf1` are generic, and also
# begin AVIF files, so they count only beside one of these.
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_GENERIC_BRANDS = frozenset({b"mif1", b"msf1"})
_MAX_BRANDS = 64  # a real ftyp box lists a handful; this bounds the look at a forged one
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class ImageRefused(Exception):
    """An upload that is not an image we take. `status` is the HTTP status the edge answers
    (413 too many pixels, 415 not a supported image type, 422 recognised but cannot be
    decoded); `detail` is one sentence for the client."""

    def __init__(self, status: int, detail: str) -> None:
        # Both in `args`, so the exception pickles back from a worker process intact.
        super().__init__(status, detail)
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


@dataclass(frozen=True, slots=True)
class Rendition:
    data: bytes
    width: int
    height: int
    content_type: str  # "image/webp", "image/jpeg", "image/png" or "image/gif"
    # The stored file's name: 32 hex digits of the SHA-256 of its bytes, then the extension.
    # Worked out once, where the rendition is made (a worker process), not where it is stored:
    # hashing a megabyte on the server's event loop is time its readers wait.
    name: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(self.data).hexdigest()[:32]
        object.__setattr__(self, "name", digest + _EXTENSIONS[self.content_type])


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    source_type: str  # by content: image/jpeg, image/png, image/webp, image/gif or image/heic
    width: int  # of the largest rendition, after orientation
    height: int
    animated: bool
    renditions: tuple[Rendition, ...]  # WebP, ascending width, then the fallback

    @property
    def fallback(self) -> Rendition:
        """The non-WebP file at the largest width, for `src`: JPEG, PNG or GIF."""
        return self.renditions[-1]

    @property
    def srcset_renditions(self) -> tuple[Rendition, ...]:
        return self.renditions[:-1]


@dataclass(frozen=True, slots=True)
class _Decoded:
    frames: list[Image.Image]  # oriented, sRGB, all RGB or all RGBA, at the largest size
    sizes: list[tuple[int, int]]  # of the renditions, ascending
    durations: list[int]  # ms per frame, when animated
    loop: int | None  # as the source says; None plays once


def sniff(data: bytes) -> str | None:
    """The image type judged by content (magic bytes) only, never by name or declared type;
    None when it is none we take."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        major = data[8:12]
        end = min(int.from_bytes(data[:4], "big"), len(data), 16 + 4 * _MAX_BRANDS)
        compatible = {data[at : at + 4] for at in range(16, end - 3, 4)}
        if major in _HEIC_BRANDS or (major in _GENERIC_BRANDS and compatible & _HEIC_BRANDS):
            return "image/heic"
    return None


def process_image(
    data: bytes, *, max_pixels: int, max_frames: int = 100, widths: tuple[int, ...] = WIDTHS
) -> ProcessedImage:
    """Decode an upload and encode its renditions: WebP at every width of `widths` below the
    image's own, and at its own width capped at the largest (never upscaled), then the fallback.

    An animation (GIF, WebP, APNG) stays animated when it has at most `max_frames` frames and
    at most `max_pixels * ANIMATION_PIXEL_FACTOR` pixels in all; otherwise its first frame is
    taken as a still.

    Raises:
        ImageRefused: for any bytes that do not give an image: 415 when the type is not one we
            take, 413 when the image has more than `max_pixels` pixels (before decoding), 422
            when it is recognised but cannot be decoded.
        ValueError: when a limit or a width is not positive (the caller's mistake, not the
            upload's).
    """
    if max_pixels < 1 or max_frames < 1 or not widths or min(widths) < 1:
        raise ValueError("max_pixels, max_frames and every width must be positive")
    source_type = sniff(data)
    if source_type is None:
        raise ImageRefused(415, "The file is not a JPEG, PNG, WebP, GIF or HEIC image.")
    decoded = _decode(data, source_type, max_pixels, max_frames, widths)
    frames, animated = decoded.frames, len(decoded.frames) > 1
    # WebP's loop count is how many times it plays (0: for ever); a GIF without one plays once.
    once = 1 if decoded.loop is None else decoded.loop
    timing: dict[str, object] = {"duration": decoded.durations, "loop": once} if animated else {}
    renditions = []
    for size in decoded.sizes:
        scaled = [_resize(frame, size) for frame in frames]
        webp = _encode(
            scaled, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD, lossless=False, **timing
        )
        renditions.append(Rendition(webp, *size, "image/webp"))
    width, height = frames[0].size
    if animated:
        # Restoring to the background between frames keeps transparent areas from showing the
        # frame before; each frame is a whole picture here, so nothing else is lost.
        disposal = 2 if frames[0].mode == "RGBA" else 1
        loop = {} if decoded.loop is None else {"loop": decoded.loop}
        fallback = _encode(frames, "GIF", duration=decoded.durations, disposal=disposal, **loop)
        content_type = "image/gif"
    elif frames[0].mode == "RGBA":
        # zlib's default level: `optimize` (level 9) takes eight times as long for 5% fewer bytes.
        fallback, content_type = _encode(frames, "PNG"), "image/png"
    else:
        fallback = _encode(frames, "JPEG", quality=JPEG_QUALITY, progressive=True, optimize=True)
        content_type = "image/jpeg"
    renditions.append(Rendition(fallback, width, height, content_type))
    return ProcessedImage(source_type, width, height, animated, tuple(renditions))


def _decode(
    data: bytes, source_type: str, max_pixels: int, max_frames: int, widths: Sequence[int]
) -> _Decoded:
    pillow_format, type_name = _TYPES[source_type]
    try:
        # Pillow warns about odd metadata and about sizes over its own process-wide limit, which
        # `max_pixels` stands in for; the outcome must not hang on the process's warning filters.
        # (catch_warnings is process-wide: a worker process runs one call at a time.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _read(data, pillow_format, max_pixels, max_frames, widths)
    except ImageRefused:
        raise
    except Image.DecompressionBombError:
        # Past twice Pillow's own limit, it refuses in open(), before the size can be read.
        detail = f"The image has too many pixels to open safely; the limit is {max_pixels}."
        raise ImageRefused(413, detail) from None
    except Exception as exc:
        # Pillow's decoders answer damage with OSError, ValueError, SyntaxError, EOFError,
        # struct.error, IndexError… depending on the format and where the damage is.
        detail = f"The {type_name} image cannot be decoded; it is truncated or corrupt."
        raise ImageRefused(422, detail) from exc


def _read(
    data: bytes, pillow_format: str, max_pixels: int, max_frames: int, widths: Sequence[int]
) -> _Decoded:
    with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
        width, height = _within(image.size, max_pixels)  # from the header: nothing decoded yet
        count = int(getattr(image, "n_frames", 1)) if image.format in _ANIMATED_FORMATS else 1
        budget = max_pixels * ANIMATION_PIXEL_FACTOR
        if count == 1 or count > max_frames or width * height * count > budget:
            if image.format in ("JPEG", "MPO"):
                # libjpeg can decode at 1/2, 1/4 or 1/8 scale: ask for the least pixels that keep
                # the width after orientation at the largest rendition's (a 12 MP photo then
                # decodes at a quarter). JPEG's EXIF comes before its pixels, so it is known now.
                turned = image.getexif().get(0x0112) in (5, 6, 7, 8)
                scale = max(widths) / (height if turned else width)
                if scale < 1:
                    image.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))
            ImageOps.exif_transpose(image, in_place=True)
            still = _srgb(image)
            sizes = _sizes(still.size, widths)
            # _bare: a copy that outlives the file, which close() empties.
            return _Decoded([_bare(_resize(still, sizes[-1]))], sizes, [], None)
        loop = image.info.get("loop")
        frames, durations, sizes = [], [], []
        for index in range(count):
            image.seek(index)
            _within(image.size, max_pixels)  # a GIF frame may grow the canvas, before decoding
            frame = _srgb(ImageOps.exif_transpose(image))
            sizes = sizes or _sizes(frame.size, widths)
            frames.append(_resize(frame, sizes[-1]))
            delay = image.info.get("duration")
            delay_ms = round(delay) if isinstance(delay, int | float) else 0
            durations.append(delay_ms if delay_ms > _MIN_DELAY_MS else _DEFAULT_DELAY_MS)
        if any(frame.mode == "RGBA" for frame in frames):
            frames = [frame.convert("RGBA") for frame in frames]
        return _Decoded(frames, sizes, durations, loop if isinstance(loop, int) else None)


def _within(size: tuple[int, int], max_pixels: int) -> tuple[int, int]:
    if size[0] * size[1] > max_pixels:
        detail = f"The image is {size[0]}×{size[1]} pixels; the limit is {max_pixels}."
        raise ImageRefused(413, detail)
    return size


def _sizes(size: tuple[int, int], widths: Sequence[int]) -> list[tuple[int, int]]:
    """The renditions' sizes, ascending: each of `widths` below the image's width, and the
    image's own width capped at the largest; heights keep the aspect ratio."""
    width, height = size
    chosen = {w for w in widths if w < width} | {min(width, max(widths))}
    sizes = set()
    for target in chosen:
        scaled = max(1, round(height * target / width))
        if scaled > _WEBP_MAX_SIDE:
            sizes.add((max(1, round(width * _WEBP_MAX_SIDE / height)), _WEBP_MAX_SIDE))
        else:
            sizes.add((target, scaled))
    return sorted(sizes)


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    # reducing_gap: a whole-factor reduce() first when shrinking a lot; at 3 it is not told
    # apart from Lanczos all the way, at a fraction of the time.
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _srgb(image: Image.Image) -> Image.Image:
    """The pixels in sRGB, as RGB, or RGBA when some pixel is not opaque."""
    profile = image.info.get("icc_profile")
    if image.mode not in ("RGB", "RGBA", "CMYK", "L") or "transparency" in image.info:
        image = _rgb(image)  # palette, grey with alpha, 16-bit: the profile then applies to RGB
    if isinstance(profile, bytes) and profile:
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        try:
            converted = ImageCms.profileToProfile(
                image, io.BytesIO(profile), _SRGB, outputMode=mode
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None  # a broken profile, or one for another colour space: pixels as-is
        if converted is not None:
            image = converted
    return _rgb(image)


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I"):
        # 16-bit grey (PNG): Pillow's own conversion to 8 bits clips at 255 instead of scaling.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        image = image.convert("RGBA")
        alpha = image.getchannel("A")
        if alpha.histogram()[255] < alpha.width * alpha.height:
            return image  # some pixel is not fully opaque: the alpha is really used
    return image if image.mode == "RGB" else image.convert("RGB")


def _bare(image: Image.Image) -> Image.Image:
    """The same pixels in a new image with an empty `info`: Pillow's savers copy a comment, an
    ICC profile or EXIF from `info`, and resize() and convert() carry it over from the source."""
    bare = Image.new(image.mode, image.size)
    bare.paste(image)
    return bare


def _encode(frames: Sequence[Image.Image], pillow_format: str, **options: object) -> bytes:
    first, *rest = (_bare(frame) for frame in frames)
    out = io.BytesIO()
    if rest:
        first.save(out, pillow_format, save_all=True, append_images=rest, **options)
    else:
        first.save(out, pillow_format, **options)
    return out.getvalue()
