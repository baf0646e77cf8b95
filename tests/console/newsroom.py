"""The console's live side, for tests: its WebSocket as console.js opens it, and the few steps
the console tests share (a liveblog made through the console, a draft, a time to publish at).

Like tests/harness.py, nothing here is mocked: the socket is a real WebSocket client sending the
session cookie and the console's Origin, as a browser on a console page does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from tests.harness import ConsoleClient, LiveServer, seconds

# Close code of a console socket whose user is signed out or disabled (app/console/socket.py).
SIGNED_OUT = 4401


class ConsoleSocket:
    """`ws://…/console/liveblogs/{slug}/socket` with a session cookie; records every message."""

    def __init__(
        self, server: LiveServer, slug: str, cookie: str | None, origin: str | None = None
    ) -> None:
        self.url = f"{server.ws_url}/console/liveblogs/{slug}/socket"
        self.headers = {"Origin": origin or server.url}
        if cookie is not None:
            self.headers["Cookie"] = f"liveblog_session={cookie}"
        self.messages: list[dict[str, Any]] = []
        self.received_at: list[float] = []
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.closed_at: float | None = None
        self._socket: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def __aenter__(self) -> ConsoleSocket:
        self._socket = await websockets.connect(
            self.url, additional_headers=self.headers, open_timeout=seconds(10)
        )
        self._task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _collect(self) -> None:
        assert self._socket is not None
        try:
            async for frame in self._socket:
                self.messages.append(orjson.loads(frame))
                self.received_at.append(time.monotonic())
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed_at = time.monotonic()
            if self._socket.close_code is not None:
                self.close_code = self._socket.close_code
                self.close_reason = self._socket.close_reason
            self._changed.set()

    @property
    def closed(self) -> bool:
        return self._task is not None and self._task.done()

    @property
    def counts(self) -> list[int]:
        """Every "Readers now" figure received, oldest first."""
        return [m["count"] for m in self.messages if m["type"] == "readers"]

    @property
    def changes(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == "changed"]

    async def wait_for(
        self, condition: Callable[[ConsoleSocket], bool], timeout: float, what: str
    ) -> None:
        deadline = time.monotonic() + seconds(timeout)
        while not condition(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed:
                if condition(self):
                    return
                raise AssertionError(
                    f"timed out waiting for {what}; got {self.messages[-12:]} "
                    f"closed={self.closed} code={self.close_code}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_for_count(self, count: int, timeout: float) -> float:
        """Wait until the latest "Readers now" figure is `count`; returns the seconds it took."""
        started = time.monotonic()
        await self.wait_for(
            lambda s: bool(s.counts) and s.counts[-1] == count, timeout, f"readers == {count}"
        )
        return time.monotonic() - started

    async def wait_for_change(
        self, after: int, timeout: float = 3.0, seq: int | None = None
    ) -> None:
        """Wait for a "changed" message among those after the first `after` messages (with
        `seq`, one that names it; with seq=None, one that names no seq: a draft change)."""

        def arrived(s: ConsoleSocket) -> bool:
            return any(m["type"] == "changed" and m.get("seq") == seq for m in s.messages[after:])

        await self.wait_for(arrived, timeout, f"changed (seq={seq})")

    async def wait_closed(self, timeout: float) -> None:
        await self.wait_for(lambda s: s.closed, timeout, "the server to close the socket")


def unique_slug(prefix: str = "desk") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def console_liveblog(console: ConsoleClient, slug: str | None = None) -> str:
    """A liveblog made through the console (an editor's); returns its slug."""
    slug = slug or unique_slug()
    response = await console.post("/console/liveblogs", {"title": f"Desk {slug}", "slug": slug})
    assert response.status_code == 201, response.text
    return slug


def compose(title: str, **fields: Any) -> dict[str, Any]:
    """The compose form's JSON: a title, a Markdown body naming it, and any other field."""
    return {"title": title, "source": f"Body of **{title}**.", **fields}


async def save_draft(
    console: ConsoleClient, slug: str, title: str, state: str = "draft", **fields: Any
) -> dict[str, Any]:
    response = await console.post(
        f"/console/liveblogs/{slug}/drafts", compose(title, state=state, **fields)
    )
    assert response.status_code == 201, response.text
    draft: dict[str, Any] = response.json()
    assert draft["state"] == state, draft
    return draft


def utc_in(delay: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=delay)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def read(console: ConsoleClient, path: str) -> httpx.Response:
    """GET one of the console's JSON resources as console.js does from a console page: a
    browser sends no Origin on a same-origin GET, but Sec-Fetch-Site, and the script the token."""
    return await console.get(
        path, headers={"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": console.csrf}
    )


async def entries_of(client: httpx.AsyncClient, slug: str) -> list[dict[str, Any]]:
    """Every entry of `slug` through the public REST list (newest first)."""
    response = await client.get(f"/api/liveblogs/{slug}/entries", params={"limit": 100})
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


async def head_seq(client: httpx.AsyncClient, slug: str) -> int:
    response = await client.get(f"/api/liveblogs/{slug}")
    assert response.status_code == 200, response.text
    seq: int = response.json()["seq"]
    return seq
