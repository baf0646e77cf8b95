"""P6 ingest: POSTs on SQLite (fsync on every commit), and the same against its floor.

The floor (issue 14, point 4) is bench/servers/ingest_floor.py: a minimal FastAPI endpoint on the
same uvicorn settings that validates a similar body and inserts one row into SQLite with an fsync
on every commit. Liveblog and the floor run interleaved round by round, a fresh server and
database for every run. Target: Liveblog's server CPU per POST <= 2x the floor's.

    .venv/bin/python -m bench.scenarios.ingest              # 3 rounds against the floor
    .venv/bin/python -m bench.scenarios.ingest --rounds 5
    .venv/bin/python -m bench.scenarios.ingest --profile    # then one profiled run of each (yappi)

Results go to bench/results/ingest-ratio.json. --profile needs yappi, a one-off install
(`.venv/bin/pip install yappi`; not a dependency) and runs each server under
bench/profiling/sitecustomize.py: CPU time of all threads, start-up excluded.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import pstats
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.harness import (
    FLOOR,
    LIVEBLOG,
    RESULTS,
    ROOT,
    Kind,
    Readers,
    Server,
    cpu_seconds,
    machine,
    percentile,
    running,
)  # fmt: skip
from bench.message import BODY
from bench.poster import Poster

P6_POSTS = 2000
P6_SECONDS = 8.0  # flat out: at most this long
P6_CONCURRENCY = 8
P6_PACED_RATE = 25  # POSTs/s offered while comparing POST latency with and without readers
P6_PACED_SECONDS = 20.0  # 500 POSTs: a p99 that is not just the second-worst sample


# P6 "trust on": every write protection a newsroom tool meets, with a rate limit above the
# offered load (the limiter counts every POST but refuses none), a publish token scoped to the
# liveblog, and a fresh Idempotency-Key on every POST.
P6_TRUST_ENV = {"LIVEBLOG_WRITE_RATE": "2000", "LIVEBLOG_WRITE_BURST": "4000"}


async def measure_posts(server: Server, rate: float | None, trust: bool = False) -> dict[str, Any]:
    """P6_POSTS as fast as P6_CONCURRENCY clients can (for at most P6_SECONDS), or paced at
    `rate` for P6_PACED_SECONDS."""
    durations: list[float] = []
    count = P6_POSTS if rate is None else int(rate * P6_PACED_SECONDS)
    remaining = count
    deadline = time.monotonic() + P6_SECONDS
    path, payload = "/api/liveblogs/bench/entries", {"title": "Ingest", "body": BODY}

    keys = itertools.count(1)
    token = server.publish_token if trust else server.token

    async def post(poster: Poster) -> None:
        key = f"p6-{next(keys)}" if trust else None
        status, elapsed_ms = await poster.post(path, payload, idempotency_key=key)
        if status != 201:
            raise RuntimeError(f"POST answered {status}")
        durations.append(elapsed_ms)

    async def closed_loop() -> None:
        nonlocal remaining
        async with Poster(server.port, token) as poster:
            while remaining > 0 and time.monotonic() < deadline:
                remaining -= 1
                await post(poster)

    async def open_loop(rate: float) -> None:
        # A POST every 1/rate s whatever the last one did, each on a connection of its own
        # among P6_CONCURRENCY, like independent newsroom tools.
        posters = [Poster(server.port, token) for _ in range(P6_CONCURRENCY)]
        for poster in posters:
            await poster.__aenter__()
        free: asyncio.Queue[Poster] = asyncio.Queue()
        for poster in posters:
            free.put_nowait(poster)

        async def one() -> None:
            poster = await free.get()
            try:
                await post(poster)
            finally:
                free.put_nowait(poster)

        posts = []
        for n in range(count):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            posts.append(asyncio.create_task(one()))
        await asyncio.wait_for(asyncio.gather(*posts), 30)
        for poster in posters:
            await poster.__aexit__()

    cpu_before = time.process_time()
    started = time.monotonic()
    if rate is None:
        await asyncio.gather(*(closed_loop() for _ in range(P6_CONCURRENCY)))
    else:
        await open_loop(rate)
    elapsed = time.monotonic() - started
    return {
        "posts": len(durations),
        "posts_per_s": len(durations) / elapsed,
        "post_p50_ms": percentile(durations, 0.5),
        "post_p99_ms": percentile(durations, 0.99),
        "loadgen_cpu_ms_per_post": (time.process_time() - cpu_before) * 1000 / len(durations),
    }


def ingest(readers: int, rate: float | None, trust: bool = False) -> dict[str, Any]:
    """P6: POSTs on SQLite (fsync on every commit), with `readers` attached to the liveblog."""
    with running(LIVEBLOG, **(P6_TRUST_ENV if trust else {})) as server:
        crowd = None
        if readers:
            # Readers take every entry; they are stopped when the POSTs are done.
            crowd = Readers(server.reader_url(), readers, P6_POSTS, deadline=P6_PACED_SECONDS + 40)
            crowd.wait_ready()
            time.sleep(1.0)
        cpu_before = cpu_seconds(server.pid)
        measured = asyncio.run(measure_posts(server, rate, trust))
        server_cpu = cpu_seconds(server.pid) - cpu_before
        if crowd is not None:
            crowd.kill()
    return measured | {"server_cpu_ms_per_post": server_cpu * 1000 / measured["posts"]}


TARGET = 2.0
FIELDS = ("posts_per_s", "post_p50_ms", "post_p99_ms", "server_cpu_ms_per_post",
          "loadgen_cpu_ms_per_post")  # fmt: skip
NAMES = {LIVEBLOG.name: "Liveblog", FLOOR.name: "floor (bench/servers/ingest_floor.py)"}


def flat_out(kind: Kind, **env: str) -> dict[str, Any]:
    """One P6 run with no readers against a fresh `kind` server."""
    with running(kind, **env) as server:
        if kind == FLOOR:
            server.token = "floor"  # sent as the Poster sends it; the floor does not check it
        pid = server.pid
        if env.get("LIVEBLOG_BENCH_PROFILE"):
            os.kill(pid, signal.SIGUSR1)  # drop start-up from the profile
            time.sleep(0.2)
        cpu_before = cpu_seconds(pid)
        measured = asyncio.run(measure_posts(server, None))
        server_cpu = cpu_seconds(pid) - cpu_before
    return measured | {"server_cpu_ms_per_post": server_cpu * 1000 / measured["posts"], "pid": pid}


def compare(rounds: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {LIVEBLOG.name: [], FLOOR.name: []}
    for n in range(rounds):
        for kind in (LIVEBLOG, FLOOR):  # interleaved: drift on a shared machine hits both
            result = flat_out(kind)
            runs[kind.name].append(result)
            print(f"round {n + 1} {kind.name:<13} " + "  ".join(
                f"{name} {result[name]:.2f}" for name in FIELDS), flush=True)  # fmt: skip
    medians = {kind: {name: statistics.median(run[name] for run in kind_runs) for name in FIELDS}
               for kind, kind_runs in runs.items()}  # fmt: skip
    ratio = (
        medians[LIVEBLOG.name]["server_cpu_ms_per_post"]
        / medians[FLOOR.name]["server_cpu_ms_per_post"]
    )
    return {"rounds": rounds, "runs": runs, "medians": medians, "cpu_ratio": ratio,
            "target": TARGET, "met": ratio <= TARGET}  # fmt: skip


def table(result: dict[str, Any]) -> str:
    lines = ["| server | POSTs/s | POST p50 | POST p99 | server CPU per POST | "
             "load-gen CPU per POST |", "|---|---|---|---|---|---|"]  # fmt: skip
    for kind, cell in result["medians"].items():
        lines.append(
            f"| {NAMES[kind]} | {cell['posts_per_s']:.0f} | {cell['post_p50_ms']:.1f} ms | "
            f"{cell['post_p99_ms']:.1f} ms | {cell['server_cpu_ms_per_post']:.2f} ms | "
            f"{cell['loadgen_cpu_ms_per_post']:.2f} ms |"
        )
    verdict = "met" if result["met"] else "MISSED"
    lines.append(f"\nLiveblog CPU / floor CPU per POST: {result['cpu_ratio']:.2f}x "
                 f"(target <= {TARGET:.0f}x: {verdict})")  # fmt: skip
    return "\n".join(lines)


def profile(kind: Kind, out_dir: Path) -> tuple[pstats.Stats, dict[str, Any]]:
    """One profiled flat-out run of `kind`; its server's stats (all threads, CPU clock)."""
    prefix = out_dir / kind.name
    env = {"LIVEBLOG_BENCH_PROFILE": str(prefix),
           "PYTHONPATH": f"{ROOT / 'bench' / 'profiling'}{os.pathsep}{ROOT}"}  # fmt: skip
    result = flat_out(kind, **env)
    path = Path(f"{prefix}.{result['pid']}")
    for _ in range(100):
        if path.exists():
            break
        time.sleep(0.1)
    return pstats.Stats(str(path)), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="then one profiled run of each")
    parser.add_argument("--no-compare", action="store_true", help="only the profile")
    args = parser.parse_args()
    print(f"P6 flat out, no readers: {P6_POSTS} POSTs, {P6_CONCURRENCY} clients, "
          f"at most {P6_SECONDS:.0f} s a run", flush=True)  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    if not args.no_compare:
        result = compare(args.rounds)
        print(table(result))
        (RESULTS / "ingest-ratio.json").write_bytes(orjson.dumps(
            {"machine": machine(), **result}, option=orjson.OPT_INDENT_2))  # fmt: skip
    if args.profile:
        out_dir = Path(tempfile.mkdtemp(prefix="liveblog-profile-"))
        for kind in (LIVEBLOG, FLOOR):
            stats, measured = profile(kind, out_dir)
            print(f"\nprofile {kind.name}: {measured['posts']} POSTs, "
                  f"{measured['server_cpu_ms_per_post']:.2f} ms CPU per POST under the profiler; "
                  f"stats in {out_dir}")  # fmt: skip
            stats.sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()
