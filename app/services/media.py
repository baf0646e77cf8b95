"""Uploading media and finding it again: the one place that decides what an upload becomes.

An upload is judged by its content, decoded and re-encoded (domain/images.py) in worker
processes at low priority, never on the event loop: decoding a 12-megapixel photo takes the
best part of a second of CPU, and the loop serves every reader. Its files go to the store first,
then its row to the database, so a row never names a file that is not there (a crash between
the two leaves files no row names, which `liveblog media prune` removes).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial

from app.domain import images
from app.domain.media import (
    ALT_MAX,
    CAPTION_MAX,
    CREDIT_MAX,
    Media,
    MediaFile,
    MediaUrls,
    figure_html,
    images_without_alt,
)
from app.domain.policy import Action
from app.domain.principal import Principal
from app.domain.sanitize import sanitize_html
from app.errors import (
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unprocessable,
    UnsupportedMediaType,
)
from app.ratelimit import Policy, RateLimit
from app.services.permissions import require
from app.services.writes import utcnow
from app.storage import media as rows
from app.storage.db import Database
from app.storage.objects import MediaStore, MediaStoreError

log = logging.getLogger(__name__)

UPLOADS = Policy("uploads", "uploads by this token or user", "LIVEBLOG_UPLOADS_PER_MINUTE")
ACCEPTED = "image/jpeg, image/png, image/webp, image/gif, image/heic, image/heif"
# Uploads waiting for a worker, per worker, beyond those being processed: past it, 503.
QUEUE_PER_WORKER = 16
WORKER_NICENESS = 19  # where SCHED_IDLE is not to be had: readers come first


@dataclass(frozen=True, slots=True)
class Uploaded:
    media: Media
    html: str  # a ready <figure>, sanitized: what a tool puts in an entry's body


def _lower_priority() -> None:
    """Image work takes only CPU time nothing else wants: SCHED_IDLE on Linux (the scheduler
    runs it when a core would otherwise idle), else the lowest niceness available."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not allowed
        os.nice(WORKER_NICENESS)


class ImageWorkers:
    """A bounded pool of processes running images.process_image, started on the first upload
    (most processes never get one)."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._slots = asyncio.Semaphore(workers * (1 + QUEUE_PER_WORKER))
        self._pool: ProcessPoolExecutor | None = None

    async def process(self, data: bytes, max_pixels: int) -> images.ProcessedImage:
        if self._slots.locked():
            raise ServiceUnavailable(
                "Too many uploads are being processed; try again in a few seconds.",
                retry_after=5,
            )
        async with self._slots:
            if self._pool is None:
                # forkserver: a clean child, not a fork of a process with threads and sockets.
                self._pool = ProcessPoolExecutor(
                    self._workers,
                    mp_context=multiprocessing.get_context("forkserver"),
                    initializer=_lower_priority,
                )
            loop = asyncio.get_running_loop()
            work = partial(images.process_image, data, max_pixels=max_pixels)
            return await loop.run_in_executor(self._pool, work)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


class MediaService:
    def __init__(
        self,
        db: Database,
        store: MediaStore,
        urls: MediaUrls,
        *,
        max_pixels: int,
        uploads_per_minute: int,
        workers: int,
        limiter_prefix: str,
        redis_url: str | None = None,
    ) -> None:
        self._db = db
        self._store = store
        self.urls = urls
        self._max_pixels = max_pixels
        self._workers = ImageWorkers(workers)
        self._limit = RateLimit(
            UPLOADS,
            uploads_per_minute / 60,
            max(1, uploads_per_minute),
            prefix=limiter_prefix,
            redis_url=redis_url,
        )

    def close(self) -> None:
        self._workers.close()

    async def upload(
        self, data: bytes, *, by: Principal, alt: str = "", caption: str = "", credit: str = ""
    ) -> Uploaded:
        """Store the image `data` (once, whoever uploads the same bytes again) and the figure
        that shows it with `alt`, `caption` and `credit`.

        Raises Forbidden, TooManyRequests, UnsupportedMediaType (not an image we take),
        PayloadTooLarge (too many pixels), Unprocessable (a damaged image, or text too long),
        ServiceUnavailable (workers or the store busy or down).
        """
        require(by, Action.UPLOAD_MEDIA)
        alt, caption, credit = (_one_line(text) for text in (alt, caption, credit))
        for field, text, limit in (
            ("alt", alt, ALT_MAX),
            ("caption", caption, CAPTION_MAX),
            ("credit", credit, CREDIT_MAX),
        ):
            if len(text) > limit:
                raise Unprocessable(
                    f"The {field} is {len(text)} characters long; the limit is {limit}.",
                    extra={"errors": [{"field": field, "in": "body", "message": "too long"}]},
                )
        await self._limit.check(by.key)
        media = await self._stored(data, by)
        return Uploaded(media, self.figure(media, alt=alt, caption=caption, credit=credit))

    async def store(self, data: bytes, *, by: Principal) -> Media:
        """Store an image the service fetched itself (a link's preview image): processed as an
        upload is, without the caller's upload limit (the fetch had its own)."""
        return await self._stored(data, by)

    def figure(self, media: Media, *, alt: str = "", caption: str = "", credit: str = "") -> str:
        """The `<figure>` that shows `media`, sanitized: as an entry's body will store it."""
        return sanitize_html(
            figure_html(media, self.urls.url, alt=alt, caption=caption, credit=credit)
        )

    async def get(self, media_id: str) -> Media:
        async with self._db.snapshot() as conn:
            media = await rows.get(conn, media_id)
        if media is None:
            raise NotFound(f"No media {media_id!r}.")
        return media

    async def _stored(self, data: bytes, by: Principal) -> Media:
        # Off the loop: hashing a phone's photo takes about 10 ms, which readers would feel.
        media_id = (await asyncio.to_thread(hashlib.sha256, data)).hexdigest()[:32]
        async with self._db.snapshot() as conn:
            known = await rows.get(conn, media_id)
        if known is not None and await self._complete(known):
            return known
        if images.sniff(data) is None:  # cheap, and spares a worker the obvious refusals
            raise _refusal(images.ImageRefused(415, _NOT_AN_IMAGE))
        try:
            processed = await self._workers.process(data, self._max_pixels)
        except images.ImageRefused as refused:
            raise _refusal(refused) from None
        try:
            for rendition in processed.renditions:
                await self._store.put(rendition.name, rendition.data)
        except MediaStoreError as error:
            raise _store_down(error, "nothing was stored") from None
        media = Media(
            id=media_id,
            source_type=processed.source_type,
            width=processed.width,
            height=processed.height,
            animated=processed.animated,
            files=tuple(
                MediaFile(r.name, r.width, r.height, r.content_type, len(r.data))
                for r in processed.renditions
            ),
            created_at=utcnow(),
            created_by=by.actor.name[:200],
        )
        async with self._db.write() as conn:
            stored = await rows.insert(conn, media)
        if not stored:  # the same bytes, uploaded at the same moment elsewhere
            async with self._db.snapshot() as conn:
                media = await rows.get(conn, media_id) or media
        return media

    async def _complete(self, media: Media) -> bool:
        """Whether the store holds every file of `media`: it may not after LIVEBLOG_MEDIA_URL
        moved to another store, and then uploading the photo again puts its files back (the
        same bytes make the same files)."""
        try:
            for file in media.files:
                if not await self._store.has(file.name):
                    return False
        except MediaStoreError as error:
            raise _store_down(error, "nothing was stored") from None
        return True

    async def file(self, name: str) -> bytes | None:
        """A stored file's bytes (None: no such file). Raises ServiceUnavailable."""
        try:
            return await self._store.get(name)
        except MediaStoreError as error:
            raise _store_down(error, "nothing was read") from None

    async def mentioned_in(self, text: str) -> Mapping[str, Media]:
        """The media `text` (a Markdown or HTML body) names, by file name: what a body's
        images are drawn from."""
        names = self.urls.names_in(text)
        if not names:
            return {}
        async with self._db.snapshot() as conn:
            return await rows.by_file_names(conn, names)

    def require_alt_text(self, html: str) -> None:
        """Raises Unprocessable when `html` shows an uploaded image without alt text."""
        missing = list(images_without_alt(html, self.urls))
        if missing:
            raise Unprocessable(
                f"Give every photo alt text before publishing: {len(missing)} image(s) have "
                f"none ({missing[0]}). Say what the photo shows, for readers who cannot see it.",
                extra={
                    "errors": [
                        {"field": "body", "in": "body", "message": "an image has no alt text"}
                    ]
                },
            )


_NOT_AN_IMAGE = (
    "The file is not an image we take (judged by its content, not its name): "
    "send JPEG, PNG, WebP, GIF or HEIC."
)


def _store_down(error: MediaStoreError, outcome: str) -> ServiceUnavailable:
    """The 503 for a store that cannot be reached (logged once, with what went wrong)."""
    log.error("media store unavailable: %s", error)
    return ServiceUnavailable(
        f"The media store cannot be reached; {outcome}. Try again shortly.", retry_after=10
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _refusal(refused: images.ImageRefused) -> Exception:
    field = {"errors": [{"field": "file", "in": "body", "message": refused.detail}]}
    if refused.status == 413:
        return PayloadTooLarge(refused.detail, extra=field)
    if refused.status == 415:
        return UnsupportedMediaType(refused.detail, method="POST", accepted=ACCEPTED)
    return Unprocessable(refused.detail, extra=field)
