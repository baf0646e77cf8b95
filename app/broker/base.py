"""The broker interface: publish committed events, deliver everyone's events to this process."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from app.domain.events import Event

# Called for every event any process published, in the order the broker received them. It must
# not block: the hub only files the event and fans it out without awaiting anything.
Deliver = Callable[[Event], None]

# Called with False when the broker stops carrying events between processes (events may have
# been lost) and with True once it does again. The hub watches storage meanwhile.
LinkChanged = Callable[[bool], None]


class Broker(ABC):
    @abstractmethod
    async def start(self, deliver: Deliver, link_changed: LinkChanged) -> None:
        """Begin delivering published events to `deliver`."""

    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Send a committed event to every process (at most once; hubs fill gaps from storage).

        Never raises and never waits on the network: a write that has committed must not fail
        or stall because the broker is unwell.
        """

    @abstractmethod
    async def stop(self) -> None:
        """Stop delivering and release connections."""

    @abstractmethod
    async def check(self) -> str | None:
        """None when healthy, else a sentence saying what is wrong (for /readyz)."""
