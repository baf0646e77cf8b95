"""P1 fan-out and P4 memory: N idle readers, then a burst published inside the server.

Every server gets the same readers and the same ~1 KiB messages (bench/message.py); what is
compared is the fan-out, not the write path (P2 covers a real POST).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.harness import (
    BURST,
    Kind,
    Latency,
    Readers,
    complete,
    cpu_seconds,
    deliveries,
    deliveries_per_s,
    latencies_ms,
    loadgen_cpu,
    retries,
    rss_kib,
    running,
)  # fmt: skip


def fan_out(kind: Kind, readers: int, workers: int = 2) -> dict[str, Any]:
    """P1 + P4: N idle readers (memory per reader), then BURST messages published in-process."""
    sources = [f"127.0.0.{2 + n}" for n in range(workers)] if readers > 10_000 else None
    with running(kind) as server:
        rss_before = rss_kib(server.pid)
        crowd = Readers(server.reader_url(), readers, BURST, workers=workers,
                        protocol=kind.protocol, sources=sources)  # fmt: skip
        crowd.wait_ready()
        time.sleep(1.0)
        rss_after = rss_kib(server.pid)
        cpu_before = cpu_seconds(server.pid)
        first_ns = time.time_ns()
        asyncio.run(server.publish(BURST))
        results = crowd.results()
        server_cpu = cpu_seconds(server.pid) - cpu_before
    return {
        **Latency.of(latencies_ms(results)).__dict__,
        "deliveries_per_s": deliveries_per_s(results, first_ns),
        "complete": complete(results),
        "rss_per_reader_kib": (rss_after - rss_before) / readers,
        "loadgen_cpu_s": loadgen_cpu(results),
        "retries": retries(results),
        "server_cpu_s": server_cpu,
        "server_cpu_us_per_delivery": server_cpu * 1e6 / max(1, deliveries(results)),
        "settings": server.settings,
    }
