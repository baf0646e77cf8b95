"""Structured logs of a real server: request ids, JSON lines, no secrets (docs/operations.md,
"Logs")."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import websockets

from tests.console.newsroom import ConsoleSocket, console_liveblog
from tests.harness import (
    PASSWORD,
    ConsoleClient,
    LiveServer,
    api_client,
    create_token,
    create_user,
    seconds,
)

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
TEXT_LINE = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: \S"
)


def json_lines(server: LiveServer) -> list[dict[str, Any]]:
    """Every line the server wrote, each parsed as JSON (a line that is not JSON fails)."""
    return [json.loads(line) for line in server.log().splitlines()]


async def wait_for_log(server: LiveServer, found: Callable[[str], bool], what: str) -> str:
    """The server's log, once `found(log)` is true (lines are written as requests are served,
    but a test should not race the server's stderr)."""
    deadline = time.monotonic() + seconds(5)
    while not found(log := server.log()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no log line {what}:\n{log[-3000:]}")
        await asyncio.sleep(0.02)
    return log


async def wait_for_line(
    server: LiveServer, found: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """The first JSON line for which `found` is true, waiting for it to be written."""
    await wait_for_log(server, lambda _: any(found(line) for line in json_lines(server)), what)
    return next(line for line in json_lines(server) if found(line))


async def access_line(server: LiveServer, request_id: str) -> dict[str, Any]:
    return await wait_for_line(
        server,
        lambda line: line["logger"] == "uvicorn.access" and line.get("request_id") == request_id,
        f"from uvicorn.access with request_id {request_id}",
    )


async def test_request_id_round_trips_into_the_json_access_line(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """A client's X-Request-ID is echoed and is in its access line, a JSON object per line."""
    server = isolated_server(log_format="json", log_level="info")
    async with httpx.AsyncClient(base_url=server.url, timeout=seconds(10)) as client:
        response = await client.get("/api/liveblogs", headers={"X-Request-ID": "abc-123"})
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "abc-123"
        boundary = "A" * 128  # the longest id kept
        response = await client.get("/healthz", headers={"X-Request-ID": boundary})
        assert response.headers["x-request-id"] == boundary

    line = await access_line(server, "abc-123")
    assert {"ts", "level", "logger", "msg", "request_id"} <= line.keys()
    assert line["level"] == "info"
    assert '"GET /api/liveblogs HTTP/1.1" 200' in line["msg"]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/liveblogs", 200)
    stamp = datetime.fromisoformat(line["ts"])
    assert stamp.utcoffset() == timedelta(0)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    await access_line(server, boundary)
    # Every line of the process is JSON (parsed above): alembic's migrations and uvicorn's
    # start-up lines included.
    loggers = {line["logger"] for line in json_lines(server)}
    assert {"alembic.runtime.migration", "uvicorn.error", "uvicorn.access"} <= loggers


async def test_a_hostile_request_id_is_replaced(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """An X-Request-ID that is too long or has unsafe characters gets a generated id instead,
    and never reaches the log."""
    server = isolated_server(log_format="json", log_level="info")
    hostile = [
        "h" * 129,
        "x" * 200,
        "hostile id with spaces",
        'hostile"quote',
        "hostile'quote",
        "hostile\\nnewline",
        "hostile\ttab",
        "hostile{json}",
        "hostile=1;evil",
        "",
    ]
    echoed: list[str] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=seconds(10)) as client:
        for value in hostile:
            response = await client.get("/healthz", headers={"X-Request-ID": value})
            assert response.status_code == 200
            replaced = response.headers["x-request-id"]
            assert GENERATED_ID.fullmatch(replaced), (value, replaced)
            echoed.append(replaced)
    assert len(set(echoed)) == len(echoed)  # a fresh one each time

    for request_id in echoed:
        await access_line(server, request_id)
    log = server.log()
    for value in hostile:
        if value:
            assert value not in log and json.dumps(value)[1:-1] not in log, value


def test_a_newline_cannot_forge_a_log_line(isolated_server: Callable[..., LiveServer]) -> None:
    """Neither a newline in a header nor an encoded one in the path starts a line of its own."""
    server = isolated_server(log_format="text", log_level="info")
    forged = "2026-01-01T00:00:00.000Z ERROR app: forged"
    # A raw newline in a header value (folded, or bare) is refused by the HTTP parser itself,
    # before any of our code; httpx would not even send one.
    for header in [
        b"X-Request-ID: abc\r\n " + forged.encode(),
        b"X-Request-ID: abc\n" + forged.encode(),
    ]:
        with socket.create_connection(("127.0.0.1", server.port), timeout=seconds(5)) as raw:
            raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n\r\n")
            assert raw.recv(4096).startswith(b"HTTP/1.1 400 ")
    # The path is %-decoded in the ASGI scope; uvicorn quotes it again for its access line.
    response = httpx.get(
        f"{server.url}/forged%0A{forged.replace(' ', '%20')}",
        headers={"X-Request-ID": "forged-path"},
        timeout=seconds(10),
    )
    assert response.status_code == 404
    deadline = time.monotonic() + seconds(5)
    while "request_id=forged-path" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.02)
    lines = server.log().splitlines()
    assert any("request_id=forged-path" in line for line in lines)
    assert not [line for line in lines if "forged" in line and "forged-path" not in line]
    assert all(TEXT_LINE.match(line) for line in lines), lines


async def test_no_bearer_token_in_the_log(isolated_server: Callable[..., LiveServer]) -> None:
    """Writes with a valid and with an unknown bearer token leave neither token in the log."""
    server = isolated_server(log_format="json", log_level="info")
    token = create_token(server.data_dir, env=server.env)
    unknown = "lb_" + secrets.token_urlsafe(32)
    async with api_client(server, token) as client:
        response = await client.post(
            "/api/liveblogs",
            json={"slug": "no-secrets", "title": "No secrets"},
            headers={"X-Request-ID": "write-1"},
        )
        assert response.status_code == 201, response.text
    async with api_client(server, unknown) as client:
        response = await client.post(
            "/api/liveblogs",
            json={"slug": "refused", "title": "Refused"},
            headers={"X-Request-ID": "write-2"},
        )
        assert response.status_code == 401
        # Where a careless client puts it: the query string, which uvicorn does log.
        await client.get("/api/liveblogs", params={"token": unknown, "x": "Bearer " + unknown})

    await access_line(server, "write-1")
    await access_line(server, "write-2")
    log = server.log()
    for secret in (token, unknown, token.removeprefix("lb_"), unknown.removeprefix("lb_")):
        assert secret not in log


async def test_no_password_or_cookie_in_the_log(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """A console sign-in, its pages and its socket leave no password, session cookie or CSRF
    token in the log, even at debug level (where websockets prints each handshake's headers)."""
    server = isolated_server(log_format="json", log_level="debug")
    username = create_user(server, "editor")
    async with ConsoleClient(server) as console:
        refused = await console.sign_in(username, PASSWORD + "-wrong")
        assert refused.status_code != 303
        signed_in = await console.sign_in(username)
        assert signed_in.status_code == 303, signed_in.text
        cookie = console.cookie
        assert cookie and console.csrf
        slug = await console_liveblog(console)
        async with ConsoleSocket(server, slug, cookie) as desk:
            await desk.wait_for(lambda s: bool(s.messages), timeout=5, what="a first message")

    await wait_for_line(
        server,
        lambda line: "POST /console/sign-in" in line["msg"] and "303" in line["msg"],
        "of the sign-in",
    )
    log = server.log()
    for secret in (PASSWORD, cookie, console.csrf):
        assert secret not in log, secret
    # The redaction did see them go by: websockets prints a handshake's headers at debug.
    assert "cookie: [redacted]" in log


async def test_text_lines_are_single_readable_lines(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """By default each line is `time LEVEL logger: message`, with the request id after it."""
    server = isolated_server(log_level="info")
    async with httpx.AsyncClient(base_url=server.url, timeout=seconds(10)) as client:
        await client.get("/healthz", headers={"X-Request-ID": "text-1"})
    log = await wait_for_log(server, lambda log: "request_id=text-1" in log, "of text-1")
    lines = log.splitlines()
    assert lines and all(TEXT_LINE.match(line) for line in lines), lines
    [access] = [line for line in lines if "request_id=text-1" in line]
    assert " INFO uvicorn.access: 127.0.0.1:" in access
    assert access.endswith('- "GET /healthz HTTP/1.1" 200 request_id=text-1')
    assert any(" INFO alembic.runtime.migration: Running upgrade " in line for line in lines)


async def test_readers_connect_and_close_at_debug_with_their_close_code(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """Each reader's connect and close is a debug line with its request id and close code;
    nothing about a single reader is logged at info."""
    server = isolated_server(log_format="json", log_level="debug")
    token = create_token(server.data_dir, env=server.env)
    async with api_client(server, token) as client:
        response = await client.post("/api/liveblogs", json={"slug": "live", "title": "Live"})
        assert response.status_code == 201
    url = f"{server.ws_url}/ws/liveblogs"
    async with websockets.connect(
        f"{url}/live", additional_headers={"X-Request-ID": "reader-1"}
    ) as reader:
        assert reader.response is not None
        assert reader.response.headers["X-Request-ID"] == "reader-1"
        await reader.recv()  # hello
    async with websockets.connect(
        f"{url}/missing", additional_headers={"X-Request-ID": "reader-2"}
    ) as reader:
        with contextlib.suppress(websockets.ConnectionClosed):
            await reader.recv()

    async def reader_line(request_id: str, word: str) -> dict[str, Any]:
        return await wait_for_line(
            server,
            lambda line: (
                line["logger"] == "app.realtime.websocket"
                and line.get("request_id") == request_id
                and word in line["msg"]
            ),
            f"of {request_id} {word}",
        )

    for request_id, slug, code in [("reader-1", "live", 1000), ("reader-2", "missing", 4404)]:
        opened = await reader_line(request_id, "connected")
        closed = await reader_line(request_id, "closed")
        assert opened["level"] == closed["level"] == "debug"
        assert opened["liveblog"] == closed["liveblog"] == slug
        assert closed["close_code"] == code
    # uvicorn's and websockets' per-connection lines are at debug too.
    per_reader = [
        line
        for line in json_lines(server)
        if line["level"] == "info" and line.get("request_id") in ("reader-1", "reader-2")
    ]
    assert not per_reader, per_reader
