"""Builds the app: wires settings, storage, broker, hub and routes. Holds no logic of its own."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from app import __version__, errors
from app.api import entries as entries_api, liveblogs as liveblogs_api, media as media_api, ops
from app.api.responses import on_replayed, tidy_openapi
from app.auth import passwords
from app.auth.sessions import Sessions, sweep_sessions
from app.auth.throttle import SignInThrottle
from app.auth.tokens import TokenCheck
from app.auth.users import UserAccounts
from app.broker import control, create_broker
from app.broker.base import Control
from app.console import (
    accounts as console_accounts,
    actions as console_actions,
    pages as console_pages,
    socket as console_socket,
    uploads as console_uploads,
)
from app.console.deps import SignInNeeded
from app.console.editing import EditorPresence
from app.console.headers import ConsoleHeaders
from app.console.socket import ConsoleSockets
from app.domain.events import Event
from app.domain.media import MediaUrls
from app.middleware.body_limit import RequestSizeLimit
from app.middleware.http_metrics import HttpMetrics
from app.middleware.request_id import RequestId
from app.middleware.security_headers import SecurityHeaders
from app.outbound import Outbound
from app.ratelimit import WRITES, RateLimit
from app.realtime.hub import Hub
from app.realtime.presence import ReaderPresence
from app.realtime.receipts import DeliveryTally, ReceiptLedger
from app.realtime.websocket import LiveConnections
from app.services.changes import ChangeSet, read_changes
from app.services.drafts import DraftService
from app.services.entries import EntryService
from app.services.idempotency import Replayed, sweep_expired_keys
from app.services.link_previews import LinkPreviewService
from app.services.liveblogs import LiveblogService
from app.services.media import MediaService
from app.services.scheduler import Scheduler
from app.serving.http_protocol import DeadlineHttpProtocol
from app.serving.server import HeapFrozenAtStartup, reader_capacity
from app.settings import Settings
from app.state import Parts, State
from app.storage.db import Database
from app.storage.objects import MediaStore
from app.storage.sqlite_files import in_use
from app.supervisor import Loop, Supervisor
from app.web import api_docs, media as media_files, pages, sockets as reader_sockets

log = logging.getLogger(__name__)

# Where uploads are posted: their own size limit (LIVEBLOG_MAX_UPLOAD_BYTES), not a request's.
UPLOAD_PATHS = frozenset({"/api/media", "/console/media"})


def served_app() -> ASGIApp:
    """The app factory each worker of `liveblog serve --workers` runs (its settings from the
    environment), its start-up heap frozen as `server.run` freezes a single process's."""
    return HeapFrozenAtStartup(create_app())


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # Per process (each worker builds its own app) and per port (the tests run several).
    connection_limits = DeadlineHttpProtocol.configure(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        """Builds the parts, yields them as every request's state (app/state.py), and takes
        them down in reverse order: what is entered on `stack` last is left first."""
        async with AsyncExitStack() as stack:
            # Held while this process has the database open: `liveblog restore` refuses meanwhile.
            stack.enter_context(in_use(settings.database_url))
            db = Database(settings.database_url)
            stack.push_async_callback(db.dispose)
            broker = create_broker(settings.broker_url, settings.broker_channel)
            shared_redis = settings.broker_url if settings.has_shared_broker else None

            async def fetch_changes(
                slug: str, since: int | None, epoch: str | None
            ) -> ChangeSet | None:
                return await read_changes(db, slug, since, epoch, settings.catchup_limit)

            # The reader side.
            tally = DeliveryTally()  # what this process's readers were sent, for receipts
            hub = Hub(
                fetch_changes, watch_interval=settings.broker_fallback_poll_seconds, tally=tally
            )
            presence = ReaderPresence(broker, hub.reader_counts)
            receipts = ReceiptLedger()  # every process's tallies, added up

            # The writers' side: services, and the console's sessions, sockets and scheduler.
            strict = settings.require_if_match
            liveblogs = LiveblogService(db, broker, require_if_match=strict)
            media = MediaService(
                db,
                MediaStore.open(
                    settings.media_url, settings.data_dir, endpoint=settings.media_s3_endpoint
                ),
                MediaUrls(settings.media_public_url),
                max_pixels=settings.max_upload_pixels,
                uploads_per_minute=settings.uploads_per_minute,
                workers=settings.media_workers,
                limiter_prefix=settings.broker_channel,
                redis_url=shared_redis,
            )
            stack.callback(media.close)
            link_previews = LinkPreviewService(
                db, Outbound(allow_private=settings.outbound_allow_private), media
            )
            entries = EntryService(
                db,
                broker,
                media=media,
                link_previews=link_previews,
                max_body_bytes=settings.max_entry_body_bytes,
                require_if_match=strict,
            )
            drafts = DraftService(db, broker, entries)
            scheduler = Scheduler(drafts, settings.scheduler_interval_seconds)
            throttle = SignInThrottle(prefix=settings.broker_channel, redis_url=shared_redis)
            stack.push_async_callback(throttle.close)
            password_checks = passwords.PasswordChecks(
                settings.password_checks_concurrent,
                settings.password_checks_queue,
                settings.password_checks_per_second,
            )
            stack.callback(password_checks.close)
            sessions = Sessions(
                db,
                throttle,
                password_checks,
                idle=timedelta(hours=settings.session_idle_hours),
                lifetime=timedelta(days=settings.session_max_days),
            )
            editors = EditorPresence(broker)
            consoles = ConsoleSockets(sessions, presence, liveblogs.exists, editors, receipts)

            # What the broker brings: every process's events, and control messages beside them.
            def deliver(event: Event) -> None:
                hub.deliver(event)
                consoles.changed(event.liveblog, event.seq)

            def console_changed(message: Control) -> None:
                consoles.on_console_changed(message)
                scheduler.wake()  # a draft was (perhaps) scheduled: its time may be the next

            on_control = control.dispatcher(
                {
                    control.READERS: presence.receive,
                    control.CONSOLE_CHANGED: console_changed,
                    control.USER_DISABLED: consoles.on_user_disabled,
                    control.EDITORS: editors.receive,
                    control.RECEIPTS: receipts.receive,
                }
            )
            await broker.start(deliver, hub.link_changed, on_control)
            stack.push_async_callback(broker.stop)
            stack.callback(hub.close)

            # Every background loop, restarted if it fails (app/supervisor.py); left first.
            background = await stack.enter_async_context(
                Supervisor(
                    [
                        Loop("idempotency_sweep", lambda: sweep_expired_keys(db)),
                        Loop("scheduler", scheduler.run_forever),
                        Loop("session_sweep", lambda: sweep_sessions(sessions)),
                        Loop("reader_counts", presence.report_forever),
                        Loop("console_sockets", consoles.run_forever),
                        Loop("console_editors", editors.announce_forever),
                        Loop("delivery_receipts", lambda: tally.report_forever(broker)),
                        Loop("dummy_password_hash", passwords.prepare, forever=False),
                    ]
                )
            )
            yield {
                "parts": Parts(
                    settings=settings,
                    db=db,
                    broker=broker,
                    hub=hub,
                    live=LiveConnections(
                        fetch_changes,
                        hub,
                        settings,
                        reader_capacity(settings),
                        connection_limits.openings,
                    ),
                    tokens=TokenCheck(db, settings.token_cache_seconds),
                    write_limiter=RateLimit(
                        WRITES,
                        settings.write_rate,
                        settings.write_burst,
                        prefix=settings.broker_channel,
                        redis_url=shared_redis,
                    ),
                    liveblogs=liveblogs,
                    entries=entries,
                    drafts=drafts,
                    media=media,
                    link_previews=link_previews,
                    sessions=sessions,
                    users=UserAccounts(db, broker, password_checks),
                    console_sockets=consoles,
                    templates=pages.build_templates(),
                    console_templates=console_pages.build_templates(),
                    background=background,
                )
            }

    # The middleware, outermost first: each sees what those after it answer.
    middleware = [
        # Logs and answers (500) what no handler took, once.
        Middleware(errors.UnexpectedErrors),
        # Counts and times every request, whatever answered it.
        Middleware(HttpMetrics),
        # Around everything that may log while handling a request (docs/operations.md, "Logs").
        Middleware(RequestId),
        # Reads are public, so sites that embed a liveblog (docs/reader-page.md: "Embedding")
        # may fetch them from their own origin. Writes carry a token and are not opened to
        # browsers on other origins.
        Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET"]),
        Middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors),
        Middleware(
            RequestSizeLimit,
            max_bytes=settings.max_request_bytes,
            upload_paths=UPLOAD_PATHS,
            max_upload_bytes=settings.max_upload_bytes,
        ),
        # The console's own policy (CSP, no-store) under /console. Innermost: the outer
        # SecurityHeaders finds the console's CSP already set, and keeps it.
        Middleware(ConsoleHeaders),
    ]
    app = FastAPI(
        title="Liveblog",
        version=__version__,
        summary="Real-time liveblogs: durable entries pushed to every reader, gap-free.",
        lifespan=lifespan,
        middleware=middleware,
        # Our own /docs, served from this machine (app/web/api_docs.py); no ReDoc.
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)
    app.add_exception_handler(Replayed, on_replayed)
    tidy_openapi(app)
    app.include_router(liveblogs_api.router)
    app.include_router(entries_api.router)
    app.include_router(entries_api.search_router)
    app.include_router(media_api.router)
    app.include_router(ops.router)
    app.include_router(reader_sockets.router)
    app.include_router(pages.router)
    app.include_router(media_files.router)
    app.include_router(api_docs.router)
    app.include_router(console_pages.router)
    app.include_router(console_actions.router)
    app.include_router(console_accounts.router)
    app.include_router(console_uploads.router)
    app.include_router(console_socket.router)
    # After every other socket route: any other path is refused 404 before the upgrade.
    app.include_router(reader_sockets.unknown_paths)
    app.add_exception_handler(SignInNeeded, console_pages.redirect_to_sign_in)  # type: ignore[arg-type]
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    app.mount(
        "/console/static", StaticFiles(directory=console_pages.STATIC_DIR), name="console-static"
    )
    return app
