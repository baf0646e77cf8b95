"""A request id for every HTTP request and WebSocket upgrade, in the logs and the response.

The id is the request's `X-Request-ID` when that is 1–128 safe characters (letters, digits and
`. _ : -`: what proxies and tracing tools send, and nothing that could break a log line or a
header), else a fresh one (32 hex digits). It is echoed in the response's `X-Request-ID` (the
101 of an upgrade, or its refusal, included) and set in `logs.REQUEST_ID`, so every line logged
while the request is handled carries it (docs/operations.md, "Logs").

Only the id goes into the context, never a header's raw value: a hostile one is dropped here.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import logs

HEADER = b"x-request-id"
SAFE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
# The ASGI messages that carry a response's headers.
STARTS = frozenset({"http.response.start", "websocket.accept", "websocket.http.response.start"})


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's X-Request-ID if it is safe (the first one, if several), else a new id."""
    for name, value in headers:
        if name == HEADER:
            if SAFE_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        found = request_id(scope["headers"])
        # Not reset afterwards, on purpose: see logs.REQUEST_ID.
        logs.REQUEST_ID.set(found)
        echoed = (HEADER, found.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] in STARTS:
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        await self.app(scope, receive, send_with_id)
