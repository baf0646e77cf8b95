"""What every broker promises (app/broker/base.py), checked against the in-process broker and
the Redis broker alike: this process's own events and control messages come back to it, in the
order they were published, each once; on a shared broker other processes' come too, and other
installations' (another channel) never do; a stopped broker neither delivers nor raises."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from app.broker import create_broker
from app.broker.base import Broker, Control
from app.domain.events import ENTRY_CREATED, Event
from tests.harness import seconds


@pytest.fixture(params=["memory", "redis"])
def broker_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue("redis_url"))


class Heard:
    """What one broker delivered to this process."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.controls: list[Control] = []
        self.links: list[bool] = []
        self._changed = asyncio.Event()

    def event(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def control(self, message: Control) -> None:
        self.controls.append(message)
        self._changed.set()

    async def until(self, done: Callable[[Heard], bool], what: str) -> None:
        async def wait() -> None:
            while not done(self):
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(wait(), seconds(5))
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}") from None


@asynccontextmanager
async def started(url: str, channel: str) -> AsyncIterator[tuple[Broker, Heard]]:
    broker, heard = create_broker(url, channel), Heard()
    await broker.start(heard.event, heard.links.append, heard.control)
    try:
        yield broker, heard
    finally:
        await broker.stop()


def event(seq: int, slug: str = "summit") -> Event:
    return Event(liveblog=slug, seq=seq, type=ENTRY_CREATED, frame=f'{{"seq":{seq}}}', epoch="e1")


def seqs(heard: Heard, slug: str = "summit") -> list[int]:
    return [e.seq for e in heard.events if e.liveblog == slug]


async def test_own_events_and_controls_come_back_in_order_once(
    broker_url: str, broker_channel: str
) -> None:
    async with started(broker_url, broker_channel) as (broker, heard):
        assert await broker.check() is None
        for seq in range(1, 51):
            await broker.publish(event(seq))
        await broker.publish_control({"type": "console_changed", "liveblog": "summit"})
        await heard.until(lambda h: len(h.events) >= 50 and h.controls, "50 events and a control")
        assert seqs(heard) == list(range(1, 51))
        assert heard.controls == [{"type": "console_changed", "liveblog": "summit"}]
        got: Any = heard.events[0]
        assert (got.frame, got.epoch, got.type) == ('{"seq":1}', "e1", ENTRY_CREATED)


async def test_a_stopped_broker_neither_delivers_nor_raises(
    broker_url: str, broker_channel: str
) -> None:
    async with started(broker_url, broker_channel) as (broker, heard):
        await broker.publish(event(1))
        await heard.until(lambda h: seqs(h) == [1], "the first event")
    await broker.publish(event(2))  # after stop: dropped quietly
    await broker.publish_control({"type": "x"})
    async with started(broker_url, broker_channel) as (_, later):
        # A broker started after it hears nothing of what was published before it started.
        assert later.events == []
    assert seqs(heard) == [1]


async def test_processes_hear_each_other_and_not_another_installation(
    redis_url: str, broker_channel: str
) -> None:
    """Redis only: two brokers on one channel are two processes of one installation; a third
    on another channel is another installation sharing the Redis server."""
    async with (
        started(redis_url, broker_channel) as (a, heard_a),
        started(redis_url, broker_channel) as (b, heard_b),
        started(redis_url, broker_channel + "-other") as (other, heard_other),
    ):
        await a.publish(event(1))
        await b.publish(event(2))
        await a.publish_control({"type": "readers", "from": "a"})
        for heard in (heard_a, heard_b):
            await heard.until(lambda h: len(h.events) >= 2 and h.controls, "both processes")
            assert sorted(seqs(heard)) == [1, 2]
            assert heard.controls == [{"type": "readers", "from": "a"}]
        # Redis delivers to each subscriber in the order it took the messages: had the others'
        # crossed over, they would reach the other installation before its own, sent after.
        await other.publish(event(99))
        await heard_other.until(lambda h: bool(h.events), "the other installation's own event")
        assert seqs(heard_other) == [99] and heard_other.controls == []
        assert heard_a.links[-1:] == [True] and heard_b.links[-1:] == [True]
