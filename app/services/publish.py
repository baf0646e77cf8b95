"""After commit, hand events to the broker; a broker failure never fails the write."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Protocol

from app import metrics
from app.broker.base import Control
from app.domain.events import Event

log = logging.getLogger(__name__)


class Outbox(Protocol):
    """Where a committed write's news goes: the broker in a server (broker/base.py); from the
    CLI, what reaches the servers without being one (cli/users.py)."""

    async def publish(self, event: Event) -> None: ...

    async def publish_control(self, message: Control) -> None: ...


async def publish_committed(outbox: Outbox, events: Iterable[Event]) -> None:
    """Publish events of a committed transaction, in seq order.

    The write already succeeded and is durable; if the broker drops an event, every hub notices
    the gap at the next event (or on reconnect) and reads the change from storage instead.
    """
    committed_at = time.time()
    for event in events:
        event = replace(event, committed_at=committed_at)
        metrics.EVENTS_PUBLISHED.inc()
        try:
            await outbox.publish(event)
        except Exception:
            log.exception(
                "publishing %s seq %d failed; hubs will fill the gap", event.type, event.seq
            )
