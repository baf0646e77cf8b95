"""Readers now: how many readers each liveblog has, summed over every process.

Each process sends its own counts through the broker every REPORT_SECONDS (its own report
included, as for any control message); every process keeps the latest report of each and sums
those younger than EXPIRY_SECONDS, so a process that died stops counting within that time. With
the in-process broker there is one report: this process's. The figure may lag by one report.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from app import metrics
from app.broker.base import Broker, Control
from app.broker.control import readers

REPORT_SECONDS = 2.0
EXPIRY_SECONDS = 3 * REPORT_SECONDS


class ReaderPresence:
    def __init__(
        self,
        broker: Broker,
        local_counts: Callable[[], dict[str, int]],
        *,
        report_seconds: float = REPORT_SECONDS,
    ) -> None:
        self._broker = broker
        self._local_counts = local_counts
        self._report_seconds = report_seconds
        self._expiry = 3 * report_seconds
        self.process = uuid.uuid4().hex[:12]
        # process → (when received, counts)
        self._reports: dict[str, tuple[float, dict[str, int]]] = {}

    def receive(self, message: Control) -> None:
        """The broker's READERS handler."""
        counts = message.get("counts")
        process = message.get("process")
        if not isinstance(counts, dict) or not isinstance(process, str):
            return
        self._reports[process] = (
            time.monotonic(),
            {str(slug): int(n) for slug, n in counts.items() if isinstance(n, int)},
        )

    def count(self, slug: str) -> int:
        """Readers of `slug` over every process that reported recently."""
        horizon = time.monotonic() - self._expiry
        for process in [p for p, (at, _) in self._reports.items() if at < horizon]:
            del self._reports[process]
        return sum(counts.get(slug, 0) for _, counts in self._reports.values())

    async def report_forever(self) -> None:
        while True:
            counts = {slug: n for slug, n in self._local_counts().items() if n}
            metrics.set_readers(counts)
            # Never raises (Broker.publish_control); a bug here is the supervisor's to report.
            await self._broker.publish_control(readers(self.process, counts))
            await asyncio.sleep(self._report_seconds)
