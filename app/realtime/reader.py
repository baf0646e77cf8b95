"""One reader's outbound side: straight to its socket while it keeps up, a short backlog if not.

The hub never awaits a reader. `offer()` writes the shared, already-framed message to the
reader's sink if the sink can take it now (the common case: the kernel has room), and otherwise
appends it to a bounded backlog that the sink drains as soon as it can take more. A reader whose
backlog overflows is too slow: its backlog is released at once and it is closed with
CloseCode.SLOW_READER; it resumes later with `since`, without loss.

No task per reader: a reader is a few references, and a fan-out is one loop of plain calls.
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from app import metrics
from app.domain.protocol import CLOSE_REASON, CloseCode, Outgoing
from app.realtime.sinks import Sink


class Reader:
    __slots__ = (
        "_backlog",
        "_close_timeout",
        "_held",
        "_max_backlog",
        "floor",
        "sink",
        "too_slow",
    )

    # Offers that did not take their frame (the reader too slow for it), over every reader of
    # this process. The fan-out counts the readers that took an event as its readers less the
    # change in this over its loop: delivery receipts (receipts.py) cost the common path nothing.
    refused: ClassVar[int] = 0

    def __init__(self, sink: Sink, max_backlog: int, close_timeout: float) -> None:
        self.sink = sink
        self._max_backlog = max_backlog
        self._close_timeout = close_timeout
        self._backlog: deque[Outgoing] | None = None  # made on first need: most never lag
        # Events up to `floor` were already sent in the catch-up. None while the catch-up runs:
        # events are held, since the catch-up's head is not known yet.
        self.floor: int | None = None
        self.too_slow = False
        self._held: list[Outgoing] = []
        sink.on_ready = self._flush

    def offer(self, message: Outgoing) -> None:
        """Send or file `message`. Never blocks; overflow marks the reader too slow."""
        if self.too_slow:
            Reader.refused += 1
            return
        floor = self.floor
        if floor is None:
            self._hold(message)
            return
        # domain/sequence.py's reader_takes, inlined: this runs once per reader per event.
        if message.seq <= floor:
            if not message.resets:
                return  # already covered by this reader's catch-up
            self.floor = message.seq  # a new history: its seqs may be lower than the old
        if not self._backlog and self.sink.ready():
            self.sink.send(message)
        elif self._backlog is None:
            self._backlog = deque((message,))
        elif len(self._backlog) < self._max_backlog:
            self._backlog.append(message)
        else:
            self._drop()

    def start(self, floor: int) -> None:
        """The catch-up is sent up to `floor`: from here on, events after it go out."""
        self.floor = floor
        held, self._held = self._held, []
        if self.too_slow:  # overflowed while the catch-up was being sent
            self._close_slow()
            return
        for message in held:
            self.offer(message)

    def _hold(self, message: Outgoing) -> None:
        if len(self._held) >= self._max_backlog:
            self._drop()
        else:
            self._held.append(message)

    def _flush(self) -> None:
        backlog, sink = self._backlog, self.sink
        while backlog and sink.ready():
            sink.send(backlog.popleft())
        if not backlog:
            self._backlog = None

    def _drop(self) -> None:
        Reader.refused += 1  # the message being offered: it is not taken
        self.too_slow = True
        self._backlog = None
        self._held.clear()
        if self.floor is not None:  # else the endpoint is still sending the catch-up: see start()
            self._close_slow()

    def _close_slow(self) -> None:
        metrics.READERS_DROPPED.labels("slow").inc()  # rare: a reader at a time, not a fan-out
        code = CloseCode.SLOW_READER
        self.sink.close(code, CLOSE_REASON[code], self._close_timeout)
