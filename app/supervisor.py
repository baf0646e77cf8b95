"""Every background loop of a process, under one supervisor that notices when one dies.

The lifespan (main.py) hands the supervisor its loops (the scheduler, the sweeps, the reader and
editor reports...) and enters it; leaving it cancels them all. A loop that fails (raises anything
but its own cancellation) is:

- logged once, at ERROR with its traceback: `background loop scheduler failed; restarting in
  0.5 s`;
- counted in `liveblog_background_restarts_total{loop}` (app/metrics.py);
- down until it is restarted: `/readyz` answers 503 naming it meanwhile (api/ops.py, `down()`);
- restarted after a back-off that doubles with each failure in a row, from FIRST_DELAY_S up to
  LONGEST_DELAY_S, and starts again from FIRST_DELAY_S once the loop has run STEADY_AFTER_S.

A loop is meant to run for the life of the process, so one that returns is a failure too, unless
it was given as one-shot (`Loop(..., forever=False)`): that one is done once it returns.

The loops themselves keep no try/log/sleep of their own around a pass: only a failure that is
expected of one item and must not hold back the others is caught inside (one scheduled entry that
cannot go out, services/drafts.py). Unlike asyncio's TaskGroup, one failure cancels nothing else:
the other loops do not depend on it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from app import metrics

log = logging.getLogger(__name__)

# The first restart comes soon: most failures are one bad moment (the database restarting).
FIRST_DELAY_S = 0.5
# A loop that fails at once every time is retried twice a minute at most: its log stays
# readable, and it adds little to whatever it keeps failing against.
LONGEST_DELAY_S = 30.0
# After this long without failing, the next failure is a new one, retried soon again.
STEADY_AFTER_S = 60.0


@dataclass(frozen=True, slots=True)
class Loop:
    """One piece of background work: `run` is called anew at each (re)start."""

    name: str  # its `loop` label, and its name in the log and in /readyz
    run: Callable[[], Awaitable[None]]
    forever: bool = True  # False: one-shot, done once `run` returns


@dataclass(frozen=True, slots=True)
class Outage:
    """A loop that failed and waits for its restart."""

    error: str  # the exception's type, or "returned" (its traceback is in the log)
    since: float  # time.time() of the failure
    restart_at: float  # time.time() of the planned restart


class Supervisor:
    """Runs `loops`, each in a task of its own, from `start()` (or `async with`) to `stop()`."""

    def __init__(
        self,
        loops: Sequence[Loop],
        *,
        first_delay: float = FIRST_DELAY_S,
        longest_delay: float = LONGEST_DELAY_S,
        steady_after: float = STEADY_AFTER_S,
    ) -> None:
        names = [loop.name for loop in loops]
        if len(set(names)) != len(names):
            raise ValueError(f"background loops need names of their own: {names}")
        self._loops = list(loops)
        self._first_delay = first_delay
        self._longest_delay = longest_delay
        self._steady_after = steady_after
        self._tasks: list[asyncio.Task[None]] = []
        self._down: dict[str, Outage] = {}
        for name in names:
            # Each series exists from the start, at 0: increase() sees the first failure.
            metrics.BACKGROUND_RESTARTS.labels(name)

    def down(self) -> dict[str, Outage]:
        """The loops that failed and are not running again yet, by name (for /readyz)."""
        return dict(self._down)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._keep(loop), name=f"background {loop.name}")
            for loop in self._loops
        ]

    async def stop(self) -> None:
        """Cancel every loop and wait for them to end."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._down.clear()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _keep(self, loop: Loop) -> None:
        """Run `loop`, and again after each failure, until cancelled."""
        task = asyncio.current_task()
        delay = self._first_delay
        while True:
            started = time.monotonic()
            failure: BaseException | None
            try:
                await loop.run()
            except asyncio.CancelledError as error:
                if task is not None and task.cancelling():
                    raise  # stop(), or the process shutting down
                failure = error  # cancelled from within: it ended all the same
            except Exception as error:
                failure = error
            else:
                if not loop.forever:
                    return
                failure = None
            if time.monotonic() - started >= self._steady_after:
                delay = self._first_delay
            now = time.time()
            what = type(failure).__name__ if failure is not None else "returned"
            self._down[loop.name] = Outage(what, now, now + delay)
            metrics.BACKGROUND_RESTARTS.labels(loop.name).inc()
            log.error(
                "background loop %s %s; restarting in %g s",
                loop.name,
                "failed" if failure is not None else "returned",
                delay,
                exc_info=failure,
            )
            try:
                await asyncio.sleep(delay)
            finally:
                self._down.pop(loop.name, None)
            log.info("background loop %s restarted", loop.name)
            delay = min(delay * 2, self._longest_delay)
