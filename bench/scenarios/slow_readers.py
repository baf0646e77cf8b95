"""P5 slow readers: a steady stream while 1% of the readers have stopped reading."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import websockets

from bench.harness import Kind, Latency, Readers, complete, latencies_ms, rss_kib, running

P5_READERS = 200
P5_STALLED = 2  # 1 %
# A stalled reader's kernel buffers take a few MiB (Linux autotunes the send buffer to 4 MiB on
# loopback) before the server sees any back-pressure: it takes this many 1 KiB messages to fill
# them and then the server's own backlog.
P5_MESSAGES = 3000
P5_INTERVAL = 0.002


def slow_readers(kind: Kind, stalled: int) -> dict[str, Any]:
    """P5: a steady stream while `stalled` readers have stopped reading."""
    stream_s = P5_MESSAGES * P5_INTERVAL
    # A publisher that has not finished in twice the stream's time (plus a margin for a busy
    # machine) is stuck; the readers wait longer, so that they are not what ends it.
    give_up_s = 2 * stream_s + 20
    with running(kind) as server:
        crowd = Readers(
            server.reader_url(), P5_READERS, P5_MESSAGES, stalled=stalled, deadline=give_up_s + 10
        )
        crowd.wait_ready()
        time.sleep(1.0)
        rss_before = rss_kib(server.pid)
        try:
            asyncio.run(asyncio.wait_for(server.publish(P5_MESSAGES, P5_INTERVAL), give_up_s))
            published = True
        except (TimeoutError, websockets.ConnectionClosed):
            published = False  # the naive loop is stuck on a stalled reader
        rss_after = rss_kib(server.pid)
        results = crowd.results()
    return {
        **Latency.of(latencies_ms(results)).__dict__,
        "complete": complete(results),
        "published": published,
        "delivered_share": sum(len(r["seqs"]) for r in results)
        / ((P5_READERS - stalled) * P5_MESSAGES),
        "stalled_dropped": sum(r["stalled_dropped"] for r in results),
        "rss_growth_mib": (rss_after - rss_before) / 1024,
    }
