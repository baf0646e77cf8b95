"""Shared catch-up reads: readers that reconnect together with the same `since` share one.

After a restart or a network blip thousands of readers reconnect within a second, most of them
with the same `since` (and epoch). Each needs the changes after it, read from storage as one
snapshot. One read serves them all, as long as it is fresh enough for each reader: its epoch
must be the channel's when the reader joined, and its head at least the channel's `last_seq`.
Every event up to that was sent before the reader joined, so only the snapshot can give it to
the reader; every later one is held by the reader and sent after the snapshot (reader.py). A
read that is not fresh enough for a reader is simply not used by it; the reader reads again.
"""

from __future__ import annotations

import asyncio

from app.realtime.hub import FetchChanges
from app.services.changes import ChangeSet

# A read is shared by readers that sent the same (liveblog, since, epoch).
Key = tuple[str, int | None, str | None]

# Distinct reads remembered; a storm brings few distinct values.
REMEMBERED = 256
# Seconds a finished read stays shareable: a reconnect wave lasts about this long, and a
# catch-up can be large, so it is not kept longer.
KEPT_FOR = 2.0


class CatchUpReads:
    def __init__(self, fetch: FetchChanges) -> None:
        self._fetch = fetch
        self._reads: dict[Key, asyncio.Task[ChangeSet | None]] = {}

    async def read(
        self, slug: str, since: int | None, epoch: str | None, at_least: tuple[str | None, int]
    ) -> ChangeSet | None:
        """The changes after `since` of `epoch`, from a snapshot at least as new as `at_least`
        (an epoch and a head in it)."""
        key = (slug, since, epoch)
        task = self._reads.get(key)
        failed = (
            task is not None and task.done() and (task.cancelled() or task.exception() is not None)
        )
        if task is not None and not failed:
            changes = await asyncio.shield(task)  # at once if it is done
            if changes is None or (
                changes.liveblog.epoch == at_least[0] and changes.head >= at_least[1]
            ):
                return changes
        return await self._read_now(key)

    async def _read_now(self, key: Key) -> ChangeSet | None:
        if len(self._reads) >= REMEMBERED:
            self._reads.clear()
        task = asyncio.ensure_future(self._fetch(*key))
        self._reads[key] = task
        loop = asyncio.get_running_loop()
        task.add_done_callback(lambda _: loop.call_later(KEPT_FOR, self._forget, key, task))
        try:
            return await asyncio.shield(task)
        except BaseException:
            self._forget(key, task)  # a failed read is not shared with later readers
            raise

    def _forget(self, key: Key, task: asyncio.Task[ChangeSet | None]) -> None:
        if self._reads.get(key) is task:
            del self._reads[key]
