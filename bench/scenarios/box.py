"""Readers per process and per box (issue 14, point 2).

A process here may hold at most 20,000 open files (the hard limit, which cannot be raised without
CAP_SYS_RESOURCE). One Liveblog process takes 15,000 readers; one box takes 50,000 on three
processes on three ports, ~16,700 readers each under LIVEBLOG_MAX_READERS, sharing a private
Redis, with one load generator per process, each bound to its own loopback address (127.0.0.2
and up) so that ephemeral ports do not run out. The burst is published in the first process: the
others' readers get it through Redis.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.harness import (
    BURST,
    Latency,
    Readers,
    complete,
    cpu_seconds,
    deliveries,
    deliveries_per_s,
    latencies_ms,
    liveblog_cluster,
    loadgen_cpu,
    private_redis,
    retries,
    rss_kib,
)

BOX_READERS = 50_000
BOX_PROCESSES = 3
BOX_DEADLINE_S = 150


def one_box(readers: int = BOX_READERS, processes: int = BOX_PROCESSES) -> dict[str, Any]:
    """`readers` on `processes` Liveblog processes and as many load generators, one burst."""
    shares = [readers // processes + (1 if n < readers % processes else 0)
              for n in range(processes)]  # fmt: skip
    cap = {"LIVEBLOG_MAX_READERS": str(max(shares))}
    with private_redis() as (url, redis_pid), liveblog_cluster(processes, url, **cap) as servers:
        rss_before = [rss_kib(server.pid) for server in servers]
        crowds = [
            Readers(server.reader_url(), share, BURST, workers=1, deadline=BOX_DEADLINE_S,
                    sources=[f"127.0.0.{2 + n}"])
            for n, (server, share) in enumerate(zip(servers, shares, strict=True))
        ]  # fmt: skip
        for crowd in crowds:
            crowd.wait_ready()
        time.sleep(2.0)
        rss_after = [rss_kib(server.pid) for server in servers]
        pids = [server.pid for server in servers] + [redis_pid]
        cpu_before = [cpu_seconds(pid) for pid in pids]
        first_ns = time.time_ns()
        asyncio.run(servers[0].publish(BURST))
        results = [result for crowd in crowds for result in crowd.results()]
        cpu = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
        settings = servers[0].settings
    return {
        **Latency.of(latencies_ms(results)).__dict__,
        "deliveries": deliveries(results),
        "deliveries_per_s": deliveries_per_s(results, first_ns),
        "complete": complete(results),
        "rss_per_reader_kib": sum(a - b for a, b in zip(rss_after, rss_before, strict=True))
        / readers,
        **{f"cpu_process_{n + 1}_s": cpu[n] for n in range(processes)},
        "cpu_redis_s": cpu[-1],
        "loadgen_cpu_s": loadgen_cpu(results),
        "retries": retries(results),
        "settings": settings,
    }
