"""Per-process fan-out: one channel per followed liveblog, holding its readers.

The broker hands every event to `Hub.deliver`. A channel passes an event on only if it is the
next in its liveblog's sequence (`last_seq + 1`): older ones are duplicates and are dropped,
and a jump means the broker lost or reordered something, so the channel reads what it missed
from storage (one compacted snapshot, see services/changes.py) before going on (the rules:
domain/sequence.py). Readers therefore see every change, in seq order, exactly once, whatever
the broker did.

A channel starts by reading its liveblog's head, before any reader takes its own snapshot, so
nothing published between the two is lost (see `join`).

Seqs count within an epoch (domain/model.py, new_epoch). An event of another epoch than the
channel's means the liveblog's history was replaced while the channel ran (`liveblog
rotate-epochs` on a serving install): the channel reads the new head and sends every reader a
resync, which also lets their next events through even where the new seqs are lower. Events of
an epoch the channel has left are dropped.

While the broker's link between processes is down, events published elsewhere may never come.
The hub then reads the head of every followed liveblog from storage every `watch_interval`
seconds and fills any channel that is behind; when the link is back it does so once more, for
what was published before the new subscription began.

Each fan-out tells the process's `DeliveryTally` how many readers took the event and when, for
the editors' delivery receipts (receipts.py): one call per event, nothing per reader.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from app import metrics
from app.domain.events import Event
from app.domain.protocol import Outgoing, resync
from app.domain.resume import Resume, catch_up
from app.domain.sequence import Arrival, Position, arrival
from app.realtime.reader import Reader
from app.realtime.receipts import DeliveryTally
from app.services.changes import ChangeSet

log = logging.getLogger(__name__)

# Reads the changes of liveblog `slug` after a seq (None: just the head) of an epoch (None: the
# current one), or None if the liveblog is unknown: services.changes.read_changes.
FetchChanges = Callable[[str, int | None, str | None], Awaitable[ChangeSet | None]]

# Events kept while a channel is reading from storage. Past this they are dropped: the running
# fill reads everything after `last_seq` anyway, and one more fill follows to cover the rest.
PENDING_MAX = 10_000
# Back-off between failed storage reads while filling a gap (seconds).
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
# Epochs a channel remembers having left, to drop their late events; each is a rare, manual
# operation, so a handful is plenty.
RETIRED_EPOCHS_KEPT = 8


class UnknownLiveblog(Exception):
    pass


class Channel:
    def __init__(self, slug: str, fetch: FetchChanges, tally: DeliveryTally | None = None) -> None:
        self.slug = slug
        self.readers: set[Reader] = set()
        self.last_seq: int | None = None  # None until the head is read
        self.epoch: str | None = None  # the epoch last_seq counts in; read with the head
        # Epochs this channel left, the latest RETIRED_EPOCHS_KEPT.
        self._retired: deque[str] = deque(maxlen=RETIRED_EPOCHS_KEPT)
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._fetch = fetch
        self._tally = tally  # told what each fan-out delivered, for receipts
        self._pending: list[Event] = []
        self._overflowed = False
        self._filling: asyncio.Task[None] | None = None

    # The broker's side -----------------------------------------------------------------------

    def deliver(self, event: Event) -> None:
        if self.last_seq is None or self._filling is not None:
            self._keep(event)
        else:
            self._accept(event)

    def _keep(self, event: Event) -> None:
        if len(self._pending) < PENDING_MAX:
            self._pending.append(event)
        else:
            self._pending.clear()
            self._overflowed = True

    def _accept(self, event: Event) -> None:
        assert self.last_seq is not None
        here = Position(self.epoch, self.last_seq, tuple(self._retired))
        match arrival(here, event.seq, event.epoch):
            case Arrival.NEXT:
                self.last_seq = event.seq
                self._fan_out(event)
            case Arrival.GAP | Arrival.NEW_HISTORY as why:
                # Storage says what was missed (or where the new history stands) first.
                if why is Arrival.GAP:
                    metrics.BROKER_GAPS_REPAIRED.inc()
                self._pending.append(event)
                self._start_fill()
            case Arrival.DUPLICATE | Arrival.OLD_HISTORY:
                pass

    def _start_fill(self) -> None:
        self._filling = asyncio.create_task(self._fill(), name=f"fill {self.slug}")

    def catch_up_to(self, head: int, epoch: str) -> None:
        """Storage says the liveblog is at `head` of `epoch`: read what the broker has not
        delivered."""
        if self.last_seq is None or self._filling is not None:
            return
        if head > self.last_seq or epoch != self.epoch:
            self._start_fill()

    def _fan_out(self, event: Event) -> None:
        message = Outgoing.of(event)  # framed once, for every reader
        refused = Reader.refused
        started = time.time()
        for reader in self.readers:
            reader.offer(message)
        ended = time.time()
        # Once per event, after the loop: never a metric call per reader.
        metrics.delivered(len(self.readers), event.committed_at, started, ended)
        if self._tally is not None:
            took = len(self.readers) - (Reader.refused - refused)
            self._tally.record(event, took, started, ended)

    # Storage's side --------------------------------------------------------------------------

    async def start(self) -> None:
        """Read the head, then release what arrived meanwhile. Sets `ready` either way."""
        earlier = len(self._pending)
        try:
            changes = await self._fetch(self.slug, None, None)
        except Exception as error:
            self.ready.set_exception(error)
            return
        if changes is None:
            self.ready.set_exception(UnknownLiveblog(self.slug))
            return
        self.last_seq = changes.head
        self.epoch = changes.liveblog.epoch
        if not self._overflowed:  # else the pending events are not those that came before
            self._retire_stale(earlier)
        self.ready.set_result(None)
        self._drain()

    async def _fill(self) -> None:
        """Bring `last_seq` up to the stored head, sending what the broker did not deliver."""
        while True:
            assert self.last_seq is not None
            self._overflowed = False
            earlier = len(self._pending)
            changes = await self._fetch_with_retry(self.last_seq)
            if changes is not None:
                self._apply(changes)
                if not self._overflowed:  # else the pending events are not those that came before
                    self._retire_stale(earlier)
            if not self._overflowed:
                break
        self._filling = None
        self._drain()

    async def _fetch_with_retry(self, after: int) -> ChangeSet | None:
        attempt = 0
        while True:
            try:
                return await self._fetch(self.slug, after, self.epoch)
            except Exception:
                delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
                log.exception(
                    "reading missed events of %s failed; retrying in %ss", self.slug, delay
                )
                attempt += 1
                await asyncio.sleep(delay)

    def _apply(self, changes: ChangeSet) -> None:
        assert self.last_seq is not None
        decision = changes.decision
        if decision not in (Resume.REPLAY, Resume.LIVE):
            metrics.RESYNCS.labels(decision.value).inc()
        head, epoch = changes.head, changes.liveblog.epoch
        told = catch_up(decision, changes.events, lambda: resync(self.slug, head, epoch, decision))
        for event in told:
            self._fan_out(event)
        if decision in (Resume.EPOCH_CHANGED, Resume.AHEAD):
            # A new or rewound history: its head is where live events continue from, even
            # below the old last_seq (the resync just sent lowered every reader's floor too).
            if self.epoch is not None and self.epoch != changes.liveblog.epoch:
                self._retired.append(self.epoch)
            self.epoch = changes.liveblog.epoch
            self.last_seq = changes.head
        else:
            self.last_seq = max(self.last_seq, changes.head)

    def _retire_stale(self, earlier: int) -> None:
        """Drop the first `earlier` pending events if they are of another epoch than the one
        storage just showed, and retire that epoch.

        They arrived before the read began, so they were committed before it: an epoch the read
        did not see is one the liveblog has left (or another install's, sharing the broker).
        Retiring it is what keeps such an event from starting fill after fill.
        """
        stale = {
            event.epoch
            for event in self._pending[:earlier]
            if event.epoch is not None and event.epoch != self.epoch
        }
        if not stale:
            return
        self._retired.extend(stale)
        self._pending = [event for event in self._pending if event.epoch not in stale]

    def _drain(self) -> None:
        pending, self._pending = self._pending, []
        for index, event in enumerate(pending):
            self._accept(event)
            if self._filling is not None:  # another gap: keep the rest for after that fill
                self._pending.extend(pending[index + 1 :])
                return

    def close(self) -> None:
        if self._filling is not None:
            self._filling.cancel()


class Hub:
    def __init__(
        self,
        fetch: FetchChanges,
        *,
        watch_interval: float = 1.0,
        tally: DeliveryTally | None = None,
    ) -> None:
        self._fetch = fetch
        self._tally = tally
        self._watch_interval = watch_interval
        self._channels: dict[str, Channel] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._watching: asyncio.Task[None] | None = None

    def deliver(self, event: Event) -> None:
        """The broker's callback: file `event` with its liveblog's channel, if anyone follows it."""
        channel = self._channels.get(event.liveblog)
        if channel is not None:
            channel.deliver(event)

    def reader_counts(self) -> dict[str, int]:
        """Readers per followed liveblog in this process (console sockets are not readers)."""
        return {slug: len(channel.readers) for slug, channel in self._channels.items()}

    def link_changed(self, linked: bool) -> None:
        """The broker's other callback: its link to the other processes broke or came back."""
        metrics.STORAGE_WATCH_ACTIVE.set(0 if linked else 1)
        if linked:
            if self._watching is not None:
                self._watching.cancel()
                self._watching = None
            self._spawn(self._check_heads(), "catch up after the broker link returned")
        elif self._watching is None:
            self._watching = asyncio.create_task(self._watch(), name="watch storage")

    async def _watch(self) -> None:
        while True:
            await self._check_heads()
            await asyncio.sleep(self._watch_interval)

    async def _check_heads(self) -> None:
        """One indexed read of each followed liveblog's head; fill the channels behind it."""
        for channel in list(self._channels.values()):
            if channel.last_seq is None:
                continue  # still reading its head: it will be current
            try:
                changes = await self._fetch(channel.slug, None, None)
            except Exception:
                log.exception("reading the head of %s failed", channel.slug)
                continue
            if changes is not None:
                channel.catch_up_to(changes.head, changes.liveblog.epoch)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def join(self, slug: str, reader: Reader) -> Channel:
        """Add `reader` to the liveblog's channel; returns once the channel knows its head.

        From here on every event after the channel's head reaches the reader's queue, so a
        snapshot the reader takes after this returns misses nothing.

        Raises:
            UnknownLiveblog: no liveblog has this slug.
        """
        channel = self._channels.get(slug)
        if channel is None:
            channel = self._channels[slug] = Channel(slug, self._fetch, self._tally)
            self._spawn(self._start(channel), f"start {slug}")
        channel.readers.add(reader)
        try:
            await asyncio.shield(channel.ready)
        except BaseException:
            self.leave(slug, reader)
            if channel.ready.done() and channel.ready.exception() is not None:
                self._forget(channel)
            raise
        return channel

    async def _start(self, channel: Channel) -> None:
        await channel.start()
        if not channel.readers:  # every reader left while the head was being read
            self._forget(channel)

    def leave(self, slug: str, reader: Reader) -> None:
        channel = self._channels.get(slug)
        if channel is None:
            return
        channel.readers.discard(reader)
        if not channel.readers and channel.ready.done():
            self._forget(channel)

    def _forget(self, channel: Channel) -> None:
        if self._channels.get(channel.slug) is channel:
            del self._channels[channel.slug]
            channel.close()

    def close(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
        for channel in list(self._channels.values()):
            self._forget(channel)
