"""Peer: python-socketio's AsyncServer as an ASGI app on uvicorn, broadcasting to a room.

Idiom: `socketio.AsyncServer(async_mode="asgi", transports=["websocket"])` wrapped in
`socketio.ASGIApp`; every connecting socket enters room "bench" and each message is
`await sio.emit("entry", message, room="bench")`, which encodes the packet once for the whole
room (then queues it to each reader's Engine.IO socket). Readers speak Engine.IO v4 /
Socket.IO v5 at /socket.io/?EIO=4&transport=websocket and are ready once the server answers
their namespace connect (`40{"sid":...}`); messages reach them as `42["entry",{...}]`.

Served by uvicorn as Liveblog is (app/serving/server.py, which the benchmark's Liveblog server
runs), with uvicorn's own classes where Liveblog subclasses them: uvloop, httptools, the websockets
sans-I/O protocol; per-message deflate off, backlog 4,096, log level warning, WebSocket pings
20 s / 20 s (Liveblog's defaults). Engine.IO's own pings: every 25 s (its default), and a reader
that has not answered in 60 s is dropped (default 20 s): 10,000+ idle readers are kept for a
run. HTTP compression off.

A plain HTTP `GET /publish?count=N&interval=S` on the same port broadcasts N messages (seq
1..N) S seconds apart (with 0, yielding to the event loop between two) and answers `200 done`
after the last one. Each message is bench/message.py's frame(seq).

    python -m bench.servers.python_socketio PORT     # listens on 127.0.0.1
"""

from __future__ import annotations

import asyncio
import resource
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import orjson
import socketio
import uvicorn

from bench.message import frame

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

sio = socketio.AsyncServer(
    async_mode="asgi",
    transports=["websocket"],
    ping_interval=25,
    ping_timeout=60,
    http_compression=False,
)


@sio.event
async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
    await sio.enter_room(sid, "bench")


async def control(scope: Scope, receive: Receive, send: Send) -> None:
    """Every request but Socket.IO's: `GET /publish?count=N&interval=S`, else 404."""
    if scope["type"] != "http":
        return
    if scope["method"] != "GET" or scope["path"] != "/publish":
        await _answer(send, 404, b"not found")
        return
    query = parse_qs(scope["query_string"].decode())
    count = int(query.get("count", ["1"])[0])
    interval = float(query.get("interval", ["0"])[0])
    for seq in range(1, count + 1):
        # The same dict frame(seq) encodes (a few µs to decode again): emit() takes an object.
        await sio.emit("entry", orjson.loads(frame(seq)), room="bench")
        await asyncio.sleep(interval)  # 0: let the loop flush, as the websockets reference does
    await _answer(send, 200, b"done")


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


app = socketio.ASGIApp(sio, other_asgi_app=control)


async def serve(server: uvicorn.Server) -> None:
    task = asyncio.create_task(server.serve())
    for _ in range(600):  # at most 60 s
        if server.started or task.done():
            break
        await asyncio.sleep(0.1)
    if server.started:
        print("listening", flush=True)
    await task


def main(port: int) -> None:
    # Every reader is a socket: as app/serving/server.py does, soft open-file limit up to the hard
    # one.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        backlog=4096,
        log_level="warning",
        lifespan="on",
    )
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(serve(uvicorn.Server(config)))


if __name__ == "__main__":
    main(int(sys.argv[1]))
