"""Scheduled entries going out, in every process.

The scheduler sleeps until the next scheduled entry's time, not in a polling loop: it reads
that time from storage after each pass, and is woken early whenever any process changes a
draft (the broker's "console changed" control message, which every draft change sends). As a
safety net it looks anyway every LIVEBLOG_SCHEDULER_INTERVAL_SECONDS, for a wake-up the broker
lost. Every process runs it; each due entry is claimed inside its seq transaction
(EntryService.publish_draft), so it is published exactly once whichever process gets there
first. A time missed while every process was down is published at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.domain.model import utcnow
from app.services.drafts import DraftService

log = logging.getLogger(__name__)

# Woken a little after an entry's time, not before: a timer may fire a hair early, and an entry
# is due only once its time has passed.
LATE_BY_SECONDS = 0.005


class Scheduler:
    def __init__(self, drafts: DraftService, longest_sleep: float) -> None:
        self._drafts = drafts
        self._longest_sleep = longest_sleep
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Something was scheduled, rescheduled or unscheduled: look again now."""
        self._woken.set()

    async def run_forever(self) -> None:
        """Publish what is due, then sleep until the next is. A pass that fails (storage
        unreachable) ends it: the supervisor logs that and starts it again soon
        (app/supervisor.py); an entry that cannot go out is skipped by publish_due itself."""
        while True:
            self._woken.clear()
            sleep = self._longest_sleep
            published = await self._drafts.publish_due()
            if published:
                log.info("published %d scheduled entries", published)
            next_at = await self._drafts.next_due_time()
            if next_at is not None:
                until = (next_at - utcnow()).total_seconds() + LATE_BY_SECONDS
                sleep = min(sleep, max(0.0, until))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), sleep)
