"""The console's live side, for tests: its WebSocket as console.js opens it, and the few steps
the console tests share (a liveblog made through the console, a draft, a time to publish at).

Like tests/harness.py, nothing here is mocked: the socket is a real WebSocket client sending the
session cookie and the console's Origin, as a browser on a console page does.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from tests.harness import ConsoleClient, LiveServer, RecordingSocket

# Close code of a console socket whose user is signed out or disabled (app/console/socket.py).
SIGNED_OUT = 4401


class ConsoleSocket(RecordingSocket):
    """`ws://…/console/liveblogs/{slug}/socket` with a session cookie; records every message."""

    def __init__(
        self, server: LiveServer, slug: str, cookie: str | None, origin: str | None = None
    ) -> None:
        headers = {"Origin": origin or server.url}
        if cookie is not None:
            headers["Cookie"] = f"liveblog_session={cookie}"
        super().__init__(f"{server.ws_url}/console/liveblogs/{slug}/socket", headers)

    @property
    def counts(self) -> list[int]:
        """Every "Readers now" figure received, oldest first."""
        return [m["count"] for m in self.messages if m["type"] == "readers"]

    @property
    def changes(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == "changed"]

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

    async def send(self, message: Any) -> None:
        """Send `message` to the server: JSON-encoded, as console.js does; str or bytes as is."""
        assert self._socket is not None
        if not isinstance(message, str | bytes):
            message = orjson.dumps(message).decode()
        await self._socket.send(message)

    @property
    def hello(self) -> dict[str, Any]:
        """The first message: who this socket is signed in as."""
        assert self.messages and self.messages[0]["type"] == "hello", self.messages[:1]
        return self.messages[0]

    @property
    def editors(self) -> list[list[dict[str, Any]]]:
        """Every "who is editing" list received, oldest first."""
        return [m["editing"] for m in self.messages if m["type"] == "editors"]

    async def wait_for_editors(self, editing: list[dict[str, Any]], timeout: float = 3.0) -> None:
        """Wait until the latest "who is editing" list is `editing`."""
        await self.wait_for(
            lambda s: bool(s.editors) and s.editors[-1] == editing, timeout, f"editors {editing}"
        )

    @property
    def receipts(self) -> list[dict[str, Any]]:
        """Every delivery receipt received, oldest first."""
        return [r for m in self.messages if m["type"] == "receipts" for r in m["receipts"]]

    async def wait_for_receipt(
        self, entry: int, seq: int, readers: int, timeout: float = 5.0
    ) -> dict[str, Any]:
        """Wait for a receipt of `entry` at `seq` counting `readers`; returns it."""

        def found(s: ConsoleSocket) -> dict[str, Any] | None:
            return next(
                (
                    r
                    for r in s.receipts
                    if (r["entry"], r["seq"], r["readers"]) == (entry, seq, readers)
                ),
                None,
            )

        await self.wait_for(
            lambda s: found(s) is not None, timeout, f"receipt {entry}@{seq}: {readers} readers"
        )
        receipt = found(self)
        assert receipt is not None
        return receipt


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
