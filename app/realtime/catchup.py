"""Shared catch-up reads: readers that reconnect together with the same `since` share one.

After a restart or a network blip thousands of readers reconnect within a second, most of them
with the same `since`. Each needs the changes after it, read from storage as one snapshot. One
read serves them all, as long as it is fresh enough for each reader: its head must be at least
the channel's `last_seq` when the reader joined. Every event up to that was sent before the
reader joined, so only the snapshot can give it to the reader; every later one is held by the
reader and sent after the snapshot (reader.py). A read that is not fresh enough for a reader is
simply not used by it; the reader reads again.
"""

from __future__ import annotations

import asyncio

from app.realtime.hub import FetchChanges
from app.services.changes import ChangeSet

# Distinct (liveblog, since) reads remembered; a storm brings few distinct values.
REMEMBERED = 256
# Seconds a finished read stays shareable: a reconnect wave lasts about this long, and a
# catch-up can be large, so it is not kept longer.
KEPT_FOR = 2.0


class CatchUpReads:
    def __init__(self, fetch: FetchChanges) -> None:
        self._fetch = fetch
        self._reads: dict[tuple[str, int | None], asyncio.Task[ChangeSet | None]] = {}

    async def read(self, slug: str, since: int | None, at_least: int) -> ChangeSet | None:
        """The changes after `since`, from a snapshot whose head is at least `at_least`."""
        key = (slug, since)
        task = self._reads.get(key)
        failed = (
            task is not None and task.done() and (task.cancelled() or task.exception() is not None)
        )
        if task is not None and not failed:
            changes = await asyncio.shield(task)  # at once if it is done
            if changes is None or changes.head >= at_least:
                return changes
        return await self._read_now(key, slug, since)

    async def _read_now(
        self, key: tuple[str, int | None], slug: str, since: int | None
    ) -> ChangeSet | None:
        if len(self._reads) >= REMEMBERED:
            self._reads.clear()
        task = asyncio.ensure_future(self._fetch(slug, since))
        self._reads[key] = task
        loop = asyncio.get_running_loop()
        task.add_done_callback(lambda _: loop.call_later(KEPT_FOR, self._forget, key, task))
        try:
            return await asyncio.shield(task)
        except BaseException:
            self._forget(key, task)  # a failed read is not shared with later readers
            raise

    def _forget(self, key: tuple[str, int | None], task: asyncio.Task[ChangeSet | None]) -> None:
        if self._reads.get(key) is task:
            del self._reads[key]
