"""Liveblog, served exactly as `liveblog serve` serves it, plus one bench-only control socket.

P1 measures the fan-out, so this server publishes its burst the way the reference servers do:
from inside the process, through the broker (and so the hub and every reader's sink), without
the storage write. Connect to /bench/publish?count=N&interval=S to publish N events about
1 KiB each, S seconds apart. P2 measures the whole path from a real POST instead.

    python -m bench.servers.liveblog PORT     # settings from LIVEBLOG_* as usual
"""

from __future__ import annotations

import asyncio
import sys

from fastapi import WebSocket

from app.domain.events import ENTRY_CREATED, Event
from app.main import create_app
from app.serving import server
from app.settings import Settings
from app.state import parts_of
from app.storage import migrate
from bench.message import frame


def main(port: int) -> None:
    settings = Settings(port=port, host="127.0.0.1")
    migrate.upgrade(settings.database_url)
    app = create_app(settings)

    @app.websocket("/bench/publish")
    async def publish(websocket: WebSocket, slug: str, count: int, interval: float = 0) -> None:
        await websocket.accept()
        parts = parts_of(websocket)
        head = (await parts.liveblogs.get(slug)).seq
        broker = parts.broker
        for seq in range(head + 1, head + count + 1):
            text = frame(seq).decode()
            await broker.publish(Event(liveblog=slug, seq=seq, type=ENTRY_CREATED, frame=text))
            await asyncio.sleep(interval)  # 0: let the loop flush, as between two POSTs
        await websocket.send_text("done")
        await websocket.close()

    # First among the routes: the app ends them with a catch-all that refuses every socket path
    # it does not serve (app/web/sockets.py), which would otherwise answer this one 404.
    app.router.routes.insert(0, app.router.routes.pop())
    server.run(app, settings)


if __name__ == "__main__":
    main(int(sys.argv[1]))
