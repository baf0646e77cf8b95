"""Scale-out measured by cost (issue 14, point 3), not by wall clock.

On two shared cores, two servers and their load generators compete for CPU, so a p99 cannot
show what more cores would give. What a delivery costs can be measured: server CPU-seconds per
million deliveries for one process, and for two processes plus a private redis-server (both
servers' and Redis's CPU from /proc), with the same readers and the same events. Then the Redis
hop at low load: what a reader on the other process waits more than one on the publisher's.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from bench.harness import (
    LIVEBLOG,
    Latency,
    Readers,
    complete,
    cpu_seconds,
    deliveries,
    latencies_ms,
    liveblog_cluster,
    private_redis,
    running,
)

COST_READERS = 10_000
COST_EVENTS = 50
COST_INTERVAL = 0.1  # a steady 10 events/s: cost, not a queue, is what is measured
HOP_READERS = 1000  # per process
HOP_EVENTS = 60
HOP_INTERVAL = 1.0


def _per_million(cpu_s: float, count: int) -> float:
    return cpu_s * 1e6 / count if count else math.inf


def cost_one_process(readers: int = COST_READERS) -> dict[str, Any]:
    """CPU-seconds per million deliveries, one process holding every reader."""
    with running(LIVEBLOG) as server:
        crowd = Readers(server.reader_url(), readers, COST_EVENTS)
        crowd.wait_ready()
        time.sleep(1.0)
        before = cpu_seconds(server.pid)
        asyncio.run(server.publish(COST_EVENTS, COST_INTERVAL))
        results = crowd.results()
        cpu = cpu_seconds(server.pid) - before
    return {
        "cpu_s_per_million": _per_million(cpu, deliveries(results)),
        "server_cpu_s": cpu,
        "deliveries": deliveries(results),
        "complete": complete(results),
        "settings": server.settings,
    }


def cost_two_processes(readers: int = COST_READERS) -> dict[str, Any]:
    """The same with half the readers on each of two processes and a private Redis between;
    events are published in process A, so B's readers get them through Redis."""
    with private_redis() as (url, redis_pid), liveblog_cluster(2, url) as (a, b):
        half = readers // 2
        on_a = Readers(a.reader_url(), half, COST_EVENTS, workers=1)
        on_b = Readers(b.reader_url(), readers - half, COST_EVENTS, workers=1)
        on_a.wait_ready()
        on_b.wait_ready()
        time.sleep(1.0)
        pids = {"a": a.pid, "b": b.pid, "redis": redis_pid}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        asyncio.run(a.publish(COST_EVENTS, COST_INTERVAL))
        results = on_a.results() + on_b.results()
        cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    total = sum(cpu.values())
    return {
        "cpu_s_per_million": _per_million(total, deliveries(results)),
        "server_cpu_s": total,
        "cpu_a_s": cpu["a"],
        "cpu_b_s": cpu["b"],
        "cpu_redis_s": cpu["redis"],
        "deliveries": deliveries(results),
        "complete": complete(results),
        "settings": a.settings,
    }


def redis_hop() -> dict[str, Any]:
    """Low load: HOP_READERS on each of two processes, an event a second for a minute."""
    with private_redis() as (url, _), liveblog_cluster(2, url) as (a, b):
        deadline = HOP_EVENTS * HOP_INTERVAL + 30
        local = Readers(a.reader_url(), HOP_READERS, HOP_EVENTS, workers=1, deadline=deadline)
        remote = Readers(b.reader_url(), HOP_READERS, HOP_EVENTS, workers=1, deadline=deadline)
        local.wait_ready()
        remote.wait_ready()
        time.sleep(1.0)
        asyncio.run(a.publish(HOP_EVENTS, HOP_INTERVAL))
        on_a, on_b = local.results(), remote.results()
    here, there = Latency.of(latencies_ms(on_a)), Latency.of(latencies_ms(on_b))
    return {
        "local_p50_ms": here.p50_ms,
        "local_p99_ms": here.p99_ms,
        "remote_p50_ms": there.p50_ms,
        "remote_p99_ms": there.p99_ms,
        "added_p50_ms": there.p50_ms - here.p50_ms,
        "added_p99_ms": there.p99_ms - here.p99_ms,
        "complete": complete(on_a + on_b),
    }


# The capacity table: what the measured costs say about cores and processes, on paper.
LATENCY_BUDGET_S = 0.25  # the last reader of a process has an event within this much CPU time
BUSIEST_EVENTS_PER_S = 5.0  # an election night's busiest minute, every change counted
CORE_SHARE = 0.5  # a process may spend half its core on fan-out at that pace; the rest is slack
READERS_ONE_LIVEBLOG = (100_000, 1_000_000, 5_000_000)
FILE_LIMIT_READERS = 100_000  # per process, with the open-file limit raised (here it is 20,000)


def capacity(one_us: float, two_us: float, rss_kib_per_reader: float) -> dict[str, Any]:
    """Readers per process (= per core: a process is one event loop) and what N readers take.

    `one_us` and `two_us` are CPU microseconds per delivery measured with one process and with
    two plus Redis; the latter is what each process costs once there is more than one.
    """
    by_latency = LATENCY_BUDGET_S / (two_us / 1e6)
    by_load = CORE_SHARE / (two_us / 1e6 * BUSIEST_EVENTS_PER_S)
    per_process = int(min(by_latency, by_load, FILE_LIMIT_READERS))
    rows = []
    for readers in READERS_ONE_LIVEBLOG:
        processes = math.ceil(readers / per_process)
        rows.append({
            "readers": readers,
            "processes": processes,
            "cores": processes + 1,  # + one for Redis, its PUBLISH fans out to `processes`
            "memory_gib": readers * rss_kib_per_reader / 1024 / 1024,
            "fan_out_ms": readers / processes * two_us / 1000,
        })  # fmt: skip
    return {
        "one_process_us_per_delivery": one_us,
        "scaled_us_per_delivery": two_us,
        "readers_per_process": per_process,
        "bound_by": min(
            ("latency", by_latency), ("load", by_load), ("files", FILE_LIMIT_READERS),
            key=lambda pair: pair[1],
        )[0],
        "rows": rows,
    }  # fmt: skip
