"""Background work every process runs: scheduled entries going out, ended sessions removed.

Every process runs the scheduler; each due entry is claimed inside its seq transaction
(EntryService.publish_draft), so it is published exactly once whichever process gets there
first. A time missed while every process was down is published at the next start.
"""

from __future__ import annotations

import asyncio
import logging

from app.auth.sessions import Sessions
from app.services.drafts import DraftService

log = logging.getLogger(__name__)

SESSION_SWEEP_SECONDS = 3600.0


async def run_scheduler(drafts: DraftService, interval: float) -> None:
    while True:
        try:
            published = await drafts.publish_due()
            if published:
                log.info(
                    "published %d scheduled entr%s", published, "y" if published == 1 else "ies"
                )
        except Exception:
            # A storage hiccup must not stop scheduling for good: try again next time.
            log.exception("publishing scheduled entries failed; retrying")
        await asyncio.sleep(interval)


async def sweep_sessions(sessions: Sessions) -> None:
    while True:
        try:
            await sessions.sweep()
        except Exception:
            log.exception("removing ended console sessions failed; retrying later")
        await asyncio.sleep(SESSION_SWEEP_SECONDS)
