"""How Liveblog runs on uvicorn. One place, so the CLI and the benchmarks serve the same way."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import resource
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import logs
from app.domain.protocol import READER_MAX_FRAME_BYTES
from app.settings import Settings

log = logging.getLogger(__name__)


# Open files kept for everything but readers: plain HTTP connections (at most
# LIVEBLOG_MAX_HTTP_CONNECTIONS, 768 by default) and these: database pool, broker, logs, files.
OTHER_FILES = 256


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit; returns the new soft limit.

    Every reader is a socket: a default soft limit of 1,024 would turn readers away (and fail
    /healthz with them) long before the machine is busy.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as error:
            log.warning("could not raise the open-file limit from %d: %s", soft, error)
    return soft


def reader_capacity(settings: Settings) -> int:
    """LIVEBLOG_MAX_READERS, or what the open-file limit leaves after the reserve."""
    if settings.max_readers is not None:
        return settings.max_readers
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    reserve = settings.max_http_connections + OTHER_FILES
    return max(1, soft - reserve)


class HeapFrozenAtStartup:
    """The app, with what it holds once started moved out of the garbage collector's sight.

    A started app holds a few hundred thousand long-lived objects (routes, models, templates,
    SQLAlchemy's metadata). Each full collection walks them all, 100 ms and more on a shared
    core, and full collections come round every few seconds when connections come and go
    quickly (a reset storm, a reconnect wave): a pause for every reader each time.
    `gc.freeze()` after start-up keeps them out of every collection; they are not garbage.
    Only served processes are wrapped: an app built in a test process is collected as usual.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_after_freezing(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                gc.collect()
                gc.freeze()
            await send(message)

        await self.app(scope, receive, send_after_freezing)


def run(app: FastAPI | str, settings: Settings) -> None:
    """Serve `app` until SIGINT/SIGTERM, with the options Liveblog's fan-out relies on.

    With `settings.workers` above 1, `app` must be the import string of an app factory
    ("app.main:served_app"): each worker process builds its own app (and its own settings,
    from the same environment).
    """
    limit = raise_open_file_limit()
    log.info("open-file limit %d: room for %d readers", limit, reader_capacity(settings))
    workers = settings.workers if isinstance(app, str) else 1
    with metrics_directory(workers):
        _run(app if isinstance(app, str) else HeapFrozenAtStartup(app), settings, workers)


@contextlib.contextmanager
def metrics_directory(workers: int) -> Iterator[None]:
    """With several workers, prometheus-client's multi-process mode: an empty directory of
    their own, named in the environment before they start, removed after (app/metrics.py)."""
    if workers <= 1:
        yield
        return
    path = tempfile.mkdtemp(prefix="liveblog-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(path, ignore_errors=True)


def _run(app: ASGIApp | str, settings: Settings, workers: int) -> None:
    uvicorn.run(
        app,
        factory=isinstance(app, str),
        workers=workers if workers > 1 else None,
        # Our logging (app/logs.py), which uvicorn sets up again in each worker it spawns: its
        # error and access loggers write through our handler, with the request id.
        log_config=logs.dict_config(settings.log_level, settings.log_format),
        **uvicorn_options(settings),
    )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for Liveblog (keywords of uvicorn.run and uvicorn.Config), but the app
    and logging: what the fan-out, the limits and the readers' resume rely on."""
    return {
        "host": settings.host,
        "port": settings.port,
        "ws_ping_interval": settings.ws_ping_interval,
        "ws_ping_timeout": settings.ws_ping_timeout,
        # uvicorn's sans-I/O protocol, plus direct writes for the fan-out.
        "ws": "app.serving.direct:DirectWebSocketProtocol",
        # uvicorn's httptools protocol, plus a request-head deadline and a connection cap.
        "http": "app.serving.http_protocol:DeadlineHttpProtocol",
        # Frames are written once for all readers (realtime/sinks.py), so they must not depend
        # on per-connection compression state; see docs/api.md "Event protocol".
        "ws_per_message_deflate": False,
        # Readers send nothing but control frames (domain/protocol.py: READER_SEND_BUDGET);
        # the app enforces its own HTTP request limit.
        "ws_max_size": READER_MAX_FRAME_BYTES,
        # A reconnect storm after a restart brings thousands of connections at once.
        "backlog": 4096,
        # The client's address (per-address limits) comes from X-Forwarded-For only when the
        # peer is one of our proxies; uvicorn's default would believe any local peer.
        "proxy_headers": bool(settings.proxy_networks),
        "forwarded_allow_ips": settings.proxy_networks or None,
        # Readers are closed with 1012 and cut after 1 s if they do not drain (direct.py), so
        # 2 s is enough for the rest: a request still running then is cancelled (it rolls back).
        "timeout_graceful_shutdown": 2,
    }
