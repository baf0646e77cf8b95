"""P12 uploads beside the fan-out: readers' latency while photos are being uploaded (issue 24).

A newsroom uploads photos while thousands read: decoding and resizing a 12-megapixel photo is
most of a second of CPU, so it runs in worker processes at low priority (services/media.py),
never on the event loop. This measures what readers feel: the same stream of entries to 1,000
readers with no upload, and with ten uploads in flight all along (each a different 12 MP JPEG,
so none is skipped as already stored). The two kinds of run alternate, a fresh server each.
Target: readers' p99 with uploads within 1.2x of the p99 without, medians of the rounds.

    .venv/bin/python -m bench.scenarios.uploads              # 3 rounds of each
    .venv/bin/python -m bench.scenarios.uploads --rounds 5

Results go to bench/results/uploads.json.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import statistics
import time
from typing import Any

import httpx
import orjson
from PIL import Image

from bench.harness import LIVEBLOG, RESULTS, Latency, Readers, complete, latencies_ms, running

READERS = 1000
MESSAGES = 600
INTERVAL = 0.01  # a 6 s stream: a hundred entries a second, far above any newsroom's pace
IN_FLIGHT = 10
MAX_UPLOADS = 200  # per run, whatever happens: the loop is bounded in count as well as time
TARGET = 1.2


SERIAL = b"serial-00000000"  # in each photo's EXIF: rewritten so that no two uploads are equal


def phone_photo() -> bytes:
    """A 4000×3000 JPEG that decodes like a photo (noise, not a flat colour, which decoders
    skip through), with a serial number in its EXIF that `numbered` rewrites."""
    noise = Image.effect_noise((1000, 750), 50).resize((4000, 3000))
    flipped = noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    image = Image.merge("RGB", (noise, noise.rotate(180), flipped))
    exif = Image.Exif()
    exif[0x010E] = SERIAL.decode()  # ImageDescription
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88, exif=exif.tobytes())
    return buffer.getvalue()


JUNK_HEAD = b"not an image "


def junk(size: int) -> bytes:
    """As many bytes as a photo that are none (--ablate parse): refused once read and hashed,
    never decoded. What the request itself costs, apart from the decoding."""
    return JUNK_HEAD + SERIAL + bytes(size - len(JUNK_HEAD) - len(SERIAL))


def numbered(photo: bytes, serial: int) -> bytes:
    """The photo with another serial: other bytes (so it is processed, not found stored), the
    same pixels (so every upload costs the same)."""
    return photo.replace(SERIAL, f"serial-{serial:08d}".encode(), 1)


async def upload_forever(
    client: httpx.AsyncClient, photo: bytes, stop: asyncio.Event, made: list[float]
) -> None:
    """Upload one photo after another until `stop`; each upload's time goes to `made`."""
    while not stop.is_set() and len(made) < MAX_UPLOADS:
        upload = numbered(photo, next(_serials))
        started = time.monotonic()
        response = await client.post("/api/media", files={"file": ("photo.jpg", upload)})
        if response.status_code != 415 or not upload.startswith(JUNK_HEAD):
            response.raise_for_status()
        made.append(time.monotonic() - started)


_serials = itertools.count(1)


async def stream_with_uploads(server: Any, photo: bytes, uploads: bool) -> list[float]:
    stop = asyncio.Event()
    made: list[float] = []
    async with server.async_http(connections=IN_FLIGHT) as client:
        loops = [
            asyncio.create_task(upload_forever(client, photo, stop, made))
            for _ in range(IN_FLIGHT if uploads else 0)
        ]
        if uploads:
            await asyncio.sleep(2.0)  # every upload under way, the worker busy, before the stream
        await server.publish(MESSAGES, INTERVAL)
        stop.set()
        await asyncio.gather(*loops)
    return made


def one_run(photo: bytes, uploads: bool) -> dict[str, Any]:
    with running(LIVEBLOG, LIVEBLOG_UPLOADS_PER_MINUTE="0") as server:
        crowd = Readers(server.reader_url(), READERS, MESSAGES, deadline=120)
        crowd.wait_ready()
        time.sleep(1.0)
        made = asyncio.run(stream_with_uploads(server, photo, uploads))
        results = crowd.results()
    latency = Latency.of(latencies_ms(results))
    return {
        **latency.__dict__,
        "complete": complete(results),
        "uploads": len(made),
        "upload_median_s": round(statistics.median(made), 2) if made else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--ablate",
        choices=["parse"],
        help="parse: upload bytes of a photo's size that are no image (the request's own cost)",
    )
    args = parser.parse_args()
    photo = phone_photo()
    if args.ablate == "parse":
        photo = junk(len(photo))
    print(f"a {len(photo) / 1e6:.1f} MB photo of 4000x3000 pixels, {IN_FLIGHT} uploads at once")
    runs: dict[str, list[dict[str, Any]]] = {"idle": [], "uploads": []}
    for round_ in range(args.rounds):
        for mode in ("idle", "uploads"):
            run = one_run(photo, uploads=mode == "uploads")
            runs[mode].append(run)
            print(f"round {round_ + 1} {mode}: {run}")
    idle = statistics.median(r["p99_ms"] for r in runs["idle"])
    busy = statistics.median(r["p99_ms"] for r in runs["uploads"])
    ratio = busy / idle if idle else float("inf")
    verdict = "met" if ratio <= TARGET else "MISSED"
    print(f"[{verdict}] readers' p99 with {IN_FLIGHT} uploads in flight: {busy:.1f} ms vs "
          f"{idle:.1f} ms idle = {ratio:.2f}x (target <= {TARGET}x)")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    document = {"ablate": args.ablate, "readers": READERS, "messages": MESSAGES,
                "interval_s": INTERVAL, "in_flight": IN_FLIGHT, "runs": runs, "p99_idle_ms": idle,
                "p99_uploads_ms": busy, "ratio": round(ratio, 3), "target": TARGET}  # fmt: skip
    name = f"uploads-{args.ablate}.json" if args.ablate else "uploads.json"
    (RESULTS / name).write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
