"""The readers' WebSocket routes: `/ws/liveblogs/{slug}`, handed to the process's reader
connections (realtime/websocket.py), and every other path refused 404 before the upgrade."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from app.realtime.websocket import refuse
from app.state import live_of

router = APIRouter()


@router.websocket("/ws/liveblogs/{slug}")
async def liveblog_socket(websocket: WebSocket, slug: str) -> None:
    await live_of(websocket).serve(websocket, slug)


# Upgrades to any other path. Its router goes after every other one (main.py): Starlette would
# close such a socket before accepting it, which the client sees as a bare 403, "forbidden",
# for what is a mistyped path.
unknown_paths = APIRouter()


@unknown_paths.websocket("/{path:path}")
async def unknown_socket(websocket: WebSocket, path: str) -> None:
    await refuse(
        websocket, 404, "No WebSocket at this path; a reader connects to /ws/liveblogs/{slug}."
    )
