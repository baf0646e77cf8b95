"""Delivery receipts: for each entry event, how many readers on every process took its frame, and
how long after its commit (p99).

What counts as delivered: a reader counts once its frame was handed to its socket's transport, or
accepted onto its bounded backlog (to be written as soon as the socket can take more), or held
while its catch-up runs, or already covered by that catch-up. A reader too slow to take it
(closed with 4408) does not count. Console sockets are not readers and never count.

Latency runs from the event's `committed_at` (time.time() when its transaction committed,
carried on the broker message, so it holds across processes: clocks assumed NTP-synced) to the
moment the fan-out handed the frame over. The fan-out is one plain loop, so its readers'
latencies are spread evenly between the loop's start and end, and added to a small histogram of
BOUNDS_MS buckets in one step, as metrics.py does for Prometheus. Events read back from storage
(a gap filled) have no `committed_at`: their readers count, their latency is not sampled.

The hot path stays as it was: the fan-out already knew its start and end times; it learns how
many readers refused the frame from a counter only the rare refusals touch (reader.py), and
hands the tally one tuple per event (`DeliveryTally.record`). Everything else happens once a
second, off the fan-out:

- each process's `DeliveryTally` reports the events it delivered in the last REPORT_SECONDS
  (at most REPORT_MAX of them, the latest) as one RECEIPTS control message through the broker;
- every process's `ReceiptLedger` adds up those reports (its own included): readers summed,
  histograms merged bucket by bucket (so p99 is that of every process's readers together), for
  the latest PER_LIVEBLOG events of the latest LIVEBLOGS liveblogs, and says which grew.

Receipts are at most once, like every control message: a report lost on the way leaves that
receipt short of that process's readers.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from app.broker.base import Broker, Control
from app.broker.control import receipts as receipts_message
from app.domain.events import ENTRY_CREATED, ENTRY_DELETED, ENTRY_UPDATED, Event

# Upper bounds of the latency buckets, in milliseconds, roughly log-spaced (each 1.5-1.7 times
# the last); one more bucket takes everything above the last. p99 read from them is within a
# bucket's width, interpolated linearly inside it, as Prometheus' histogram_quantile does.
BOUNDS_MS: Final = (
    1, 2, 3, 5, 8, 12, 20, 30, 50, 80, 120, 200, 300, 500, 800, 1200, 2000, 3000, 5000, 10000,
)  # fmt: skip
BUCKETS: Final = len(BOUNDS_MS) + 1
# Each process reports what it delivered this often: a receipt reaches the console about this
# long after the event, and grows as the other processes' reports arrive.
REPORT_SECONDS = 1.0
# Events one report names at most (the latest): a few tens of bytes each, so a process fanning
# out a flood of events sends at most ~50 KB a second of receipts.
REPORT_MAX = 1024
# Receipts every process keeps: the latest events of each liveblog, for the latest liveblogs.
PER_LIVEBLOG = 200
LIVEBLOGS = 1000
# What one received report may hold, checked before anything is kept (anyone who can publish on
# the broker can send anything).
RECEIVED_ROWS_MAX = 4 * REPORT_MAX

ENTRY_EVENTS: Final = frozenset((ENTRY_CREATED, ENTRY_UPDATED, ENTRY_DELETED))


def spread(buckets: list[int], low_ms: float, high_ms: float, count: int) -> None:
    """Add `count` latencies spread evenly over [low_ms, high_ms] to `buckets`."""
    low = max(0.0, low_ms)
    high = max(low, high_ms)
    first = bisect.bisect_left(BOUNDS_MS, low)
    if high == low:
        buckets[first] += count
        return
    placed = 0
    for index in range(first, BUCKETS):
        # Latencies at or below this bucket's bound: the share of [low, high] under it.
        if index == len(BOUNDS_MS) or BOUNDS_MS[index] >= high:
            upto = count
        else:
            upto = round(count * (BOUNDS_MS[index] - low) / (high - low))
        if upto > placed:
            buckets[index] += upto - placed
            placed = upto
        if placed >= count:
            return


def p99_ms(buckets: list[int]) -> float | None:
    """The 99th percentile of the latencies in `buckets` (ms, 0.1 ms steps); None if empty.

    Above the last bound it is that bound: the histogram says no more than "over 10 s".
    """
    total = sum(buckets)
    if total == 0:
        return None
    rank = math.ceil(0.99 * total)
    below = 0
    for index, count in enumerate(buckets):
        if below + count >= rank:
            if index == len(BOUNDS_MS):
                return float(BOUNDS_MS[-1])
            lower = BOUNDS_MS[index - 1] if index else 0
            upper = BOUNDS_MS[index]
            return round(lower + (upper - lower) * (rank - below) / count, 1)
        below += count
    return float(BOUNDS_MS[-1])  # not reached: the ranks add up to `total`


def entry_id(event: Event) -> int | None:
    """The entry an entry event is about (its frame holds it), or None."""
    if event.type not in ENTRY_EVENTS:
        return None
    try:
        entry = orjson.loads(event.frame)["entry"]["id"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return entry if isinstance(entry, int) else None


class DeliveryTally:
    """What this process's fan-out delivered since its last report (the hub's side)."""

    def __init__(self) -> None:
        # (event, readers that took it, fan-out start, fan-out end): one tuple per event.
        self._delivered: deque[tuple[Event, int, float, float]] = deque(maxlen=REPORT_MAX)

    def record(self, event: Event, readers: int, started: float, ended: float) -> None:
        """One event's fan-out: `readers` took its frame between `started` and `ended`."""
        if readers > 0 and event.type in ENTRY_EVENTS:
            self._delivered.append((event, readers, started, ended))

    def report(self) -> Control | None:
        """The RECEIPTS message for what was delivered since the last call, or None if nothing."""
        if not self._delivered:
            return None
        delivered, self._delivered = self._delivered, deque(maxlen=REPORT_MAX)
        # (slug, seq) → [entry, readers, buckets]: an event fanned out twice here (a history
        # replaced, then replayed) is one receipt.
        tallies: dict[tuple[str, int], list[Any]] = {}
        for event, readers, started, ended in delivered:
            key = (event.liveblog, event.seq)
            tally = tallies.get(key)
            if tally is None:
                entry = entry_id(event)
                if entry is None:
                    continue
                tally = tallies[key] = [entry, 0, [0] * BUCKETS]
            tally[1] += readers
            if event.committed_at is not None:
                low = (started - event.committed_at) * 1000
                spread(tally[2], low, (ended - event.committed_at) * 1000, readers)
        liveblogs: dict[str, list[list[Any]]] = {}
        for (slug, seq), (entry, readers, buckets) in tallies.items():
            sparse = [n for index, count in enumerate(buckets) if count for n in (index, count)]
            liveblogs.setdefault(slug, []).append([seq, entry, readers, sparse])
        return receipts_message(liveblogs) if liveblogs else None

    async def report_forever(self, broker: Broker, every: float = REPORT_SECONDS) -> None:
        while True:
            await asyncio.sleep(every)
            # A report that fails ends the loop: the supervisor logs it and starts it again.
            message = self.report()
            if message is not None:
                await broker.publish_control(message)


@dataclass(slots=True)
class Receipt:
    entry: int
    seq: int
    readers: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    def as_json(self) -> dict[str, Any]:
        """As consoles get it (console/socket.py)."""
        return {
            "entry": self.entry,
            "seq": self.seq,
            "readers": self.readers,
            "p99_ms": p99_ms(self.buckets),
        }


# Called with a liveblog's slug and the seqs whose receipts just grew.
OnGrow = Callable[[str, set[int]], None]


class ReceiptLedger:
    """Every process's reports added up, per liveblog and seq (every process keeps one)."""

    def __init__(self, per_liveblog: int = PER_LIVEBLOG, liveblogs: int = LIVEBLOGS) -> None:
        self._per_liveblog = per_liveblog
        self._max_liveblogs = liveblogs
        # slug → seq → receipt; both least recently reported first.
        self._books: OrderedDict[str, OrderedDict[int, Receipt]] = OrderedDict()
        self.on_grow: OnGrow | None = None

    def receive(self, message: Control) -> None:
        """The broker's RECEIPTS handler. Malformed parts are skipped."""
        liveblogs = message.get("liveblogs")
        if not isinstance(liveblogs, dict):
            return
        budget = RECEIVED_ROWS_MAX
        for slug, rows in liveblogs.items():
            if not isinstance(rows, list) or len(rows) > budget:
                return
            budget -= len(rows)
            grown = self._add(str(slug), rows)
            if grown and self.on_grow is not None:
                self.on_grow(str(slug), grown)

    def _add(self, slug: str, rows: list[Any]) -> set[int]:
        grown: set[int] = set()
        for row in rows:
            parsed = _parse_row(row)
            if parsed is None:
                continue
            seq, entry, readers, buckets = parsed
            book = self._book(slug)
            receipt = book.get(seq)
            if receipt is None or receipt.entry != entry:
                # New, or a seq counted afresh in a new epoch (liveblog rotate-epochs).
                receipt = book[seq] = Receipt(entry, seq)
                if len(book) > self._per_liveblog:
                    book.popitem(last=False)
            else:
                book.move_to_end(seq)
            receipt.readers += readers
            for index, count in buckets:
                receipt.buckets[index] += count
            grown.add(seq)
        return grown

    def _book(self, slug: str) -> OrderedDict[int, Receipt]:
        book = self._books.get(slug)
        if book is None:
            book = self._books[slug] = OrderedDict()
            if len(self._books) > self._max_liveblogs:
                self._books.popitem(last=False)
        else:
            self._books.move_to_end(slug)
        return book

    def latest(self, slug: str, among: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """The receipt of each entry's latest seq (an edit is an event of its own), oldest seq
        first; with `among`, only those whose seq is in it."""
        book = self._books.get(slug)
        if not book:
            return []
        newest: dict[int, Receipt] = {}
        for receipt in book.values():
            kept = newest.get(receipt.entry)
            if kept is None or receipt.seq > kept.seq:
                newest[receipt.entry] = receipt
        wanted = None if among is None else set(among)
        chosen = [r for r in newest.values() if wanted is None or r.seq in wanted]
        return [receipt.as_json() for receipt in sorted(chosen, key=lambda r: r.seq)]


def _parse_row(row: Any) -> tuple[int, int, int, list[tuple[int, int]]] | None:
    """[seq, entry, readers, [bucket, count, ...]] checked, or None."""
    if not (isinstance(row, list) and len(row) == 4):
        return None
    seq, entry, readers, sparse = row
    if not all(_count(n) for n in (seq, entry, readers)) or not isinstance(sparse, list):
        return None
    if len(sparse) % 2 or len(sparse) > 2 * BUCKETS or not all(_count(n) for n in sparse):
        return None
    pairs = list(zip(sparse[::2], sparse[1::2], strict=True))
    if any(index >= BUCKETS for index, _ in pairs):
        return None
    return seq, entry, readers, pairs


def _count(value: Any) -> bool:
    return type(value) is int and 0 <= value < 1 << 53
