"""The broker interface: publish committed events, deliver everyone's events to this process."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from app.domain.events import Event

# Called for every event any process published, in the order the broker received them. It must
# not block: the hub only files the event and fans it out without awaiting anything.
Deliver = Callable[[Event], None]

# Called with False when the broker stops carrying events between processes (events may have
# been lost) and with True once it does again. The hub watches storage meanwhile.
LinkChanged = Callable[[bool], None]


# Control messages travel beside reader events, never inside them: reader counts, "the console's
# list of liveblog X changed", "user N was disabled". Small JSON objects with a "type"; at most
# once, like events, so each use tolerates a lost one (counts are re-sent, sockets re-check).
Control = dict[str, Any]
OnControl = Callable[[Control], None]


class Broker(ABC):
    @abstractmethod
    async def start(
        self, deliver: Deliver, link_changed: LinkChanged, on_control: OnControl | None = None
    ) -> None:
        """Begin delivering published events to `deliver` and control messages to `on_control`
        (this process's own included)."""

    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Send a committed event to every process (at most once; hubs fill gaps from storage).

        Never raises and never waits on the network: a write that has committed must not fail
        or stall because the broker is unwell.
        """

    @abstractmethod
    async def publish_control(self, message: Control) -> None:
        """Send a control message to every process, this one included. Never raises."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop delivering and release connections."""

    @abstractmethod
    async def check(self) -> str | None:
        """None when healthy, else a sentence saying what is wrong (for /readyz)."""
