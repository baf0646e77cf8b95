"""A served app's start-up heap is frozen once it has started (app/serving/server.py), so the
garbage collector's full collections no longer walk it: each took 100 ms and more during a reset
storm."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from starlette.types import Message, Receive, Scope, Send

from app.serving.server import HeapFrozenAtStartup


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # this test process goes on collecting as usual


async def test_the_heap_is_frozen_when_start_up_completes(unfrozen: None) -> None:
    frozen_at: dict[str, int] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            frozen_at[message["type"]] = gc.get_freeze_count()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> Message:
        return next(incoming)

    async def send(message: Message) -> None:
        sent.append(message["type"])
        frozen_at[f"sent {message['type']}"] = gc.get_freeze_count()

    await HeapFrozenAtStartup(app)({"type": "lifespan"}, receive, send)
    assert frozen_at["lifespan.startup"] == 0  # not while the app starts
    assert frozen_at["sent lifespan.startup.complete"] > 1000  # frozen before it says so
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_requests_pass_through_untouched(unfrozen: None) -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    async def nothing() -> Message:
        raise AssertionError("not called")

    async def ignore(message: Message) -> None:
        raise AssertionError("not called")

    scope: Scope = {"type": "http", "path": "/healthz"}
    await HeapFrozenAtStartup(app)(scope, nothing, ignore)
    assert seen == [scope]
    assert gc.get_freeze_count() == 0
