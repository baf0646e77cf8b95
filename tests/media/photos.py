"""Photos made in the tests with Pillow, as phones and cameras write them: with EXIF, GPS
included, so a test can check that none of it survives an upload."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw

# Kyiv's Maidan: somewhere a photo from a war zone must never say it was taken.
LATITUDE = (50.0, 27.0, 0.0)
LONGITUDE = (30.0, 31.0, 0.0)
GPS_IFD = 0x8825


def photo(width: int = 1200, height: int = 800, *, colour: str = "steelblue") -> Image.Image:
    image = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 4, height // 4), fill="orange")  # a corner to find again
    draw.ellipse((width // 3, height // 3, width // 2, height // 2), fill="white")
    return image


def jpeg_with_gps(width: int = 1200, height: int = 800, *, colour: str = "steelblue") -> bytes:
    """A JPEG whose EXIF says where and with what it was taken."""
    image = photo(width, height, colour=colour)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "PhoneModel 12"  # Model
    exif.get_ifd(GPS_IFD).update(
        {1: "N", 2: LATITUDE, 3: "E", 4: LONGITUDE}  # GPSLatitudeRef … GPSLongitude
    )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


def encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


def png(width: int = 640, height: int = 480) -> bytes:
    return encoded(photo(width, height), "PNG")


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A PNG that says it is `width` × `height` pixels in a few hundred bytes: decoding it would
    take gigabytes. Made by shrinking a real PNG's header, not by drawing one that size."""
    small = encoded(Image.new("L", (1, 1)), "PNG")
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return small[:8] + ihdr + small[8 + len(ihdr) :]
