"""P2 end to end: a real POST (SQLite commit with fsync first) → the frame at every reader.

Alone, against (a) with medians (each round runs (a), then Liveblog; about a minute a round at
10,000 readers; results in bench/results/p2.json):

    .venv/bin/python -m bench.scenarios.end_to_end [--rounds 3] [--readers 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpx
import orjson

from bench.harness import (
    BURST,
    LIVEBLOG,
    REFERENCE,
    RESULTS,
    RUN_S,
    Kind,
    Latency,
    Readers,
    Server,
    complete,
    latencies_ms,
    machine,
    running,
)
from bench.message import BODY

# P2 posts one entry every P2_INTERVAL seconds, whatever the server answers (open loop): a
# client that waits for each 201 before sending the next hides the server's queueing in its own
# waiting. Four entries a second is more than any newsroom posts, and within what both Liveblog
# and (a) deliver to 10,000 readers, so p99 is one entry's latency, not a queue's (P1 covers
# bursts). (a) publishes at the same pace in the same run.
P2_INTERVAL = 0.25


async def post_entries(server: Server, count: int, interval: float = 0.0) -> dict[int, int]:
    """POST `count` entries, `interval` seconds apart (0: each after the last one's answer);
    returns each one's send time by seq."""
    sent: dict[int, int] = {}

    async def post(client: httpx.AsyncClient, n: int) -> None:
        started = time.time_ns()
        response = await client.post(
            "/api/liveblogs/bench/entries", json={"title": f"Update {n}", "body": BODY}
        )
        response.raise_for_status()
        sent[response.json()["seq"]] = started

    async with server.async_http(connections=4) as client:
        if not interval:
            for n in range(count):
                await post(client, n)
            return sent
        began = time.monotonic()
        posts = []
        for n in range(count):
            await asyncio.sleep(max(0.0, began + n * interval - time.monotonic()))
            posts.append(asyncio.create_task(post(client, n)))
        await asyncio.wait_for(asyncio.gather(*posts), RUN_S)
    return sent


def end_to_end(kind: Kind, readers: int) -> dict[str, Any]:
    """P2: BURST entries P2_INTERVAL apart → the frame at every reader. Liveblog: a real POST
    (SQLite commit with fsync first), timed from sending it; (a): published in-process."""
    with running(kind) as server:
        crowd = Readers(server.reader_url(), readers, BURST, protocol=kind.protocol)
        crowd.wait_ready()
        time.sleep(1.0)
        if server.is_liveblog:
            sent: dict[int, int] | None = asyncio.run(post_entries(server, BURST, P2_INTERVAL))
        else:
            sent = None
            asyncio.run(server.publish(BURST, P2_INTERVAL))
        results = crowd.results()
    return {**Latency.of(latencies_ms(results, sent)).__dict__, "complete": complete(results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--readers", type=int, default=10_000)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {REFERENCE.name: [], LIVEBLOG.name: []}
    for number in range(1, args.rounds + 1):
        for kind in (REFERENCE, LIVEBLOG):
            result = end_to_end(kind, args.readers)
            runs[kind.name].append(result)
            line = (f"round {number} {kind.name:<12} p50 {result['p50_ms']:.0f} ms  "
                    f"p99 {result['p99_ms']:.0f} ms  complete {result['complete']}")  # fmt: skip
            print(line, flush=True)
    p99 = {name: statistics.median(r["p99_ms"] for r in results) for name, results in runs.items()}
    ratio = p99[LIVEBLOG.name] / p99[REFERENCE.name]
    print(f"P2 at {args.readers} readers, median p99: Liveblog {p99[LIVEBLOG.name]:.0f} ms, "
          f"(a) {p99[REFERENCE.name]:.0f} ms: {ratio:.2f}x (target <= 1.5x)")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "p2.json").write_bytes(orjson.dumps(
        {"machine": machine(), "readers": args.readers, "runs": runs, "median_p99_ms": p99,
         "ratio": ratio}, option=orjson.OPT_INDENT_2))  # fmt: skip


if __name__ == "__main__":
    main()
