"""In-process broker: the single-process default."""

from __future__ import annotations

from app.broker.base import Broker, Deliver
from app.domain.events import Event


class MemoryBroker(Broker):
    def __init__(self) -> None:
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def publish(self, event: Event) -> None:
        # Synchronous hand-off: events reach the hub in the order their writers committed,
        # with no await between a commit returning and its event being filed.
        if self._deliver is not None:
            self._deliver(event)

    async def stop(self) -> None:
        self._deliver = None

    async def check(self) -> str | None:
        return None
