"""In-process broker: the single-process default."""

from __future__ import annotations

import asyncio

from app import metrics
from app.broker.base import Broker, Control, Deliver, LinkChanged, OnControl
from app.domain.events import Event


class MemoryBroker(Broker):
    def __init__(self) -> None:
        self._deliver: Deliver | None = None
        self._on_control: OnControl | None = None

    async def start(
        self, deliver: Deliver, link_changed: LinkChanged, on_control: OnControl | None = None
    ) -> None:
        # One process: the link never breaks.
        metrics.BROKER_UP.set(1)
        self._deliver = deliver
        self._on_control = on_control

    async def publish_control(self, message: Control) -> None:
        if self._on_control is not None:
            asyncio.get_running_loop().call_soon(self._on_control, message)

    async def publish(self, event: Event) -> None:
        # Delivered on the loop's next turn, not inside the writer's task: the POST's response
        # is written before the fan-out to every reader runs. call_soon keeps the order of
        # publishes (the hub puts any out-of-order arrival right; see realtime/hub.py).
        if self._deliver is not None:
            asyncio.get_running_loop().call_soon(self._deliver, event)

    async def stop(self) -> None:
        self._deliver = None

    async def check(self) -> str | None:
        return None
