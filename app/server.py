"""How Liveblog runs on uvicorn. One place, so the CLI and the benchmarks serve the same way."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from app.realtime.protocol import READER_MAX_FRAME_BYTES
from app.settings import Settings


def run(app: FastAPI | str, settings: Settings) -> None:
    """Serve `app` until SIGINT/SIGTERM, with the options Liveblog's fan-out relies on.

    With `settings.workers` above 1, `app` must be the import string of an app factory: each
    worker process builds its own app (and its own settings, from the same environment).
    """
    uvicorn.run(
        app,
        factory=isinstance(app, str),
        workers=settings.workers if isinstance(app, str) else None,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_timeout,
        # uvicorn's sans-I/O protocol, plus direct writes for the fan-out.
        ws="app.realtime.direct:DirectWebSocketProtocol",
        # Frames are written once for all readers (realtime/sinks.py), so they must not depend
        # on per-connection compression state; see README "Event protocol".
        ws_per_message_deflate=False,
        # Readers send nothing but control frames (realtime/protocol.py: READER_SEND_BUDGET);
        # the app enforces its own HTTP request limit.
        ws_max_size=READER_MAX_FRAME_BYTES,
        # A reconnect storm after a restart brings thousands of connections at once.
        backlog=4096,
        proxy_headers=True,
        timeout_graceful_shutdown=5,
    )
