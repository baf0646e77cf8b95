"""One write, one way: a transaction, then what it produced told to the rest of the system.

Every write use case (entries, liveblogs, drafts, scheduling, user accounts) runs its work through
`Writes.run`: the work gets a `Write` (the transaction's connection, and the lists where it puts
what it produces) inside one database transaction, at most once per Idempotency-Key
(idempotency.write_once). Only after that transaction has committed are its events published to
readers (in seq order: publish.publish_committed), its news sent to every process's console
sockets, and its control messages (a user signed out everywhere) to every process. So nothing
is told of a write that rolled back, and nothing committed goes untold.

Work that finds nothing to change raises `Unchanged`: the transaction rolls back (no seq taken,
nothing told) and `run` answers with what `unchanged` reads instead.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from app.broker.base import Control
from app.broker.control import console_changed
from app.domain.events import Event
from app.services.idempotency import Once, write_once
from app.services.publish import Outbox, publish_committed
from app.services.writes import Unchanged
from app.storage.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(slots=True)
class Write:
    """One write transaction, and what it will tell once committed."""

    conn: AsyncConnection
    events: list[Event] = field(default_factory=list)  # for readers: each took a seq
    consoles: set[str] = field(default_factory=set)  # liveblogs whose drafts changed
    controls: list[Control] = field(default_factory=list)  # for every process

    def publish(self, event: Event) -> None:
        """`event` goes to readers once this transaction has committed."""
        self.events.append(event)

    def tell_consoles(self, slug: str) -> None:
        """Consoles on `slug` hear that its drafts changed (readers hear nothing of drafts)."""
        self.consoles.add(slug)

    def tell_every_process(self, message: Control) -> None:
        """`message` goes to every process once this transaction has committed."""
        self.controls.append(message)


class Writes:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self._db = db
        self._outbox = outbox

    async def run(
        self,
        work: Callable[[Write], Awaitable[T]],
        *,
        once: Once[T] | None = None,
        subject: Callable[[T], str] | None = None,
        unchanged: Callable[[], Awaitable[T]] | None = None,
    ) -> T:
        """`work` in one transaction (once per key: idempotency.write_once, `subject` naming
        what it made), then its events and console news. Raises what `work` raises, but
        Unchanged when `unchanged` is given: then returns what that reads."""
        done: list[Write] = []

        async def in_transaction(conn: AsyncConnection) -> T:
            write = Write(conn)
            done.append(write)
            return await work(write)

        try:
            result = await write_once(self._db, once, in_transaction, subject)
        except Unchanged:
            if unchanged is None:
                raise
            return await unchanged()
        if done:
            await self._tell(done[0])
        return result

    async def _tell(self, write: Write) -> None:
        # The write is durable: a broker failure is logged by the broker, never raised to the
        # writer (each hub fills a gap in events from storage).
        await publish_committed(self._outbox, write.events)
        for slug in sorted(write.consoles):
            await self._outbox.publish_control(console_changed(slug))
        for message in write.controls:
            await self._outbox.publish_control(message)
