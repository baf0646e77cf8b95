"""ReaderLog (realtime/websocket.py): each reader at debug, a summary at info per interval."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.realtime.websocket import ReaderLog
from tests.harness import until

LOGGER = "app.realtime.websocket"


async def test_a_summary_counts_connects_and_closes_per_close_code(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One info line per interval with activity, counting closes per code; none when idle."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    every = 0.05
    readers = ReaderLog(lambda: 7, every=every)
    for n in range(3):
        readers.connected("summit", f"r{n}")
    readers.closed("summit", 1000, "r0")
    readers.closed("summit", 4408, "r1")
    readers.closed("summit", 1000, None)
    readers.refused(429)
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]  # nothing at info yet

    await until(lambda: any(r.levelno == logging.INFO for r in caplog.records), "a summary", 2)
    [summary] = [r for r in caplog.records if r.levelno == logging.INFO]
    assert summary.getMessage() == (
        "readers in the last 0 s: 3 connected, 3 closed (1000: 2, 4408: 1), 1 refused (429: 1); "
        "7 open"
    )
    assert summary.__dict__["closed"] == {"1000": 2, "4408": 1}
    assert summary.__dict__["connected"] == 3 and summary.__dict__["refused"] == {"429": 1}
    assert getattr(summary, "request_id", None) is None  # the summary is no request's

    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(debug) == 6
    closes = [r.__dict__ for r in debug if "closed" in r.getMessage()]
    assert [(c["close_code"], c["request_id"]) for c in closes] == [
        (1000, "r0"),
        (4408, "r1"),
        (1000, None),
    ]

    caplog.clear()
    # A quiet interval writes nothing. A summary is only ever written by a timer of this loop
    # started `every` seconds ahead, so one pending now would be due before this sleep ends,
    # and timers run in the order they are due: the sleep is the later event, not a guess.
    await asyncio.sleep(every)
    assert not caplog.records
