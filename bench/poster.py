"""A minimal keep-alive HTTP/1.1 client for POSTing entries in the ingest benchmark (P6).

httpx spends about 1.5 ms of CPU per request, on the same two cores as the server it measures:
at 300 POSTs/s that is half a core taken from the server. This client sends one prebuilt request
per POST and reads the response by its Content-Length, so the measurement is the server's cost.
It speaks only what Liveblog answers to a POST (a status line, headers, a sized body).
"""

from __future__ import annotations

import asyncio
import time

import orjson

TIMEOUT_S = 30.0


class Poster:
    """One keep-alive connection that POSTs JSON bodies one at a time."""

    def __init__(self, port: int, token: str) -> None:
        self._port = port
        self._token = token
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Poster:
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self._port), TIMEOUT_S
        )
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._writer is not None:
            self._writer.close()

    async def post(
        self, path: str, payload: object, idempotency_key: str | None = None
    ) -> tuple[int, float]:
        """POST `payload` as JSON; returns (status, milliseconds until the whole response)."""
        assert self._reader is not None and self._writer is not None
        body = orjson.dumps(payload)
        key = f"Idempotency-Key: {idempotency_key}\r\n" if idempotency_key else ""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self._port}\r\n"
            f"Authorization: Bearer {self._token}\r\nContent-Type: application/json\r\n"
            f"{key}Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        started = time.perf_counter()
        self._writer.write(head + body)
        status = await asyncio.wait_for(self._response(), TIMEOUT_S)
        return status, (time.perf_counter() - started) * 1000

    async def _response(self) -> int:
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        await self._reader.readexactly(length)
        return status
