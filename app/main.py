"""Builds the app: wires settings, storage, broker, hub and routes. Holds no logic of its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware

from app import __version__, errors
from app.api import entries as entries_api, liveblogs as liveblogs_api, ops
from app.api.responses import on_replayed, tidy_openapi
from app.auth.tokens import TokenCheck
from app.body_limit import RequestSizeLimit
from app.broker import create_broker
from app.http_protocol import DeadlineHttpProtocol
from app.middleware.security_headers import SecurityHeaders
from app.ratelimit import WRITES, RateLimit
from app.realtime import websocket
from app.realtime.hub import Hub
from app.realtime.websocket import LiveConnections
from app.server import reader_capacity
from app.services.changes import ChangeSet, read_changes
from app.services.entries import EntryService
from app.services.idempotency import Replayed, sweep_expired_keys
from app.services.liveblogs import LiveblogService
from app.settings import Settings
from app.storage.db import Database
from app.web import pages

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    DeadlineHttpProtocol.configure(settings)  # per process: each worker builds its own app

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        broker = create_broker(settings.broker_url, settings.broker_channel)

        async def fetch_changes(slug: str, since: int | None) -> ChangeSet | None:
            return await read_changes(db, slug, since, settings.catchup_limit)

        hub = Hub(fetch_changes, watch_interval=settings.broker_fallback_poll_seconds)
        await broker.start(hub.deliver, hub.link_changed)
        state = app.state
        state.settings = settings
        state.db = db
        state.broker = broker
        state.hub = hub
        state.tokens = TokenCheck(db, settings.token_cache_seconds)
        state.write_limiter = RateLimit(
            WRITES,
            settings.write_rate,
            settings.write_burst,
            prefix=settings.broker_channel,
            redis_url=settings.broker_url if settings.has_shared_broker else None,
        )
        state.liveblogs = LiveblogService(db, broker)
        state.entries = EntryService(db, broker, max_body_bytes=settings.max_entry_body_bytes)
        state.live = LiveConnections(fetch_changes, hub, settings, reader_capacity(settings))
        state.templates = pages.build_templates()
        sweeper = asyncio.create_task(sweep_expired_keys(db), name="idempotency-key sweep")
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            hub.close()
            await broker.stop()
            await db.dispose()

    app = FastAPI(
        title="Liveblog",
        version=__version__,
        summary="Real-time liveblogs: durable entries pushed to every reader, gap-free.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_exception_handler(Replayed, on_replayed)
    tidy_openapi(app)
    app.include_router(liveblogs_api.router)
    app.include_router(entries_api.router)
    app.include_router(ops.router)
    app.include_router(websocket.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    app.add_middleware(RequestSizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors)
    # Reads are public, so sites that embed a liveblog (README: "Embedding") may fetch them from
    # their own origin. Writes carry a token and are not opened to browsers on other origins.
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET"])
    return app
