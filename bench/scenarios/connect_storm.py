"""P8 connect storm: N readers connect at once (as after a restart) and catch up."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.harness import RUN_S, Kind, Readers, running
from bench.scenarios.end_to_end import post_entries

P8_HISTORY = 30  # entries stored before the storm
P8_BEHIND = 10  # each reader last saw head - P8_BEHIND: that many changes to catch up


def connect_storm(kind: Kind, readers: int) -> dict[str, Any]:
    """P8: `readers` connect at once (as after a restart) and catch up; seconds until all have."""
    with running(kind) as server:
        since, expected = None, 0
        if server.is_liveblog:
            asyncio.run(post_entries(server, P8_HISTORY))
            since, expected = P8_HISTORY - P8_BEHIND, P8_BEHIND
        crowd = Readers(server.reader_url(since), readers, expected, deadline=RUN_S)
        crowd.wait_ready()
        results = crowd.results()
    started = min(r["started_ns"] for r in results)
    finished = max(max(r["ready_ns"], r["done_ns"]) for r in results)
    connected = all(r["complete"] == r["readers"] or expected == 0 for r in results)
    return {"seconds": (finished - started) / 1e9, "complete": connected}
