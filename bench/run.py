"""Benchmark driver: every scenario of BENCHMARKS.md, Liveblog beside the reference servers.

    python -m bench.run --quick            # make bench: a few minutes, one run per cell
    python -m bench.run                    # make bench-full: the whole matrix, medians of 3

Each server runs in its own process; readers are held by two load-generator processes
(bench/loadgen.py). Only loopback is ever a target; every loop and wait is bounded. Results go
to bench/results/{quick,full}.json, and the full run also draws bench/results/p99-vs-readers.png.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
import websockets

from bench.message import BODY
from bench.poster import Poster

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BURST = 20  # P1: entries published back to back, one busy minute of a big story, compressed
WORKERS = 2  # load-generator processes
SERVER_START_S = 60
RUN_S = 180

REFERENCE = "websockets"  # (a)
NAIVE = "fastapi-naive"  # (b)
LIVEBLOG = "liveblog"
LIVEBLOG_ASGI = "liveblog-asgi"  # Liveblog with LIVEBLOG_WS_DIRECT_WRITES=false
FLOOR = "ingest-floor"  # P6's floor (issue 14, point 4): bench/ref_ingest_floor.py


# Processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """One server under test, in its own process, with its own data directory."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.port = free_port()
        self.workdir = workdir
        self.env = {
            **os.environ,
            "LIVEBLOG_DATA_DIR": str(workdir),
            "LIVEBLOG_LOG_LEVEL": "warning",
            # Off except in P6's "trust on" run: the load must not be refused by the limit.
            "LIVEBLOG_WRITE_RATE": "0",
            # Every simulated reader comes from 127.0.0.1: per-address limits would turn the
            # load generator away (they are measured on their own, not in these scenarios).
            "LIVEBLOG_UPGRADE_RATE": "0",
            "LIVEBLOG_MAX_SOCKETS_PER_ADDRESS": "1000000",
        }
        if kind == LIVEBLOG_ASGI:
            self.env["LIVEBLOG_WS_DIRECT_WRITES"] = "false"
        self.token = ""
        self.publish_token = ""  # scoped to the bench liveblog, for P6 "trust on"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def is_liveblog(self) -> bool:
        return self.kind in (LIVEBLOG, LIVEBLOG_ASGI)

    def start(self) -> Server:
        module = {
            REFERENCE: "bench.ref_websockets",
            NAIVE: "bench.ref_fastapi_naive",
            LIVEBLOG: "bench.liveblog_server",
            LIVEBLOG_ASGI: "bench.liveblog_server",
            FLOOR: "bench.ref_ingest_floor",
        }[self.kind]
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, str(self.port)],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"{self.kind} did not start") from None
                time.sleep(0.1)
        if self.is_liveblog:
            result = subprocess.run(
                [sys.executable, "-m", "app", "token", "create", "--name", "bench"],
                cwd=ROOT, env=self.env, capture_output=True, text=True, check=True, timeout=60,
            )  # fmt: skip
            self.token = result.stdout.strip().splitlines()[-1]
            self.http().post("/api/liveblogs", json={"slug": "bench", "title": "Bench"})
            result = subprocess.run(
                [sys.executable, "-m", "app", "token", "create", "--name", "bench-publish",
                 "--scope", "publish", "--liveblog", "bench"],
                cwd=ROOT, env=self.env, capture_output=True, text=True, check=True, timeout=60,
            )  # fmt: skip
            self.publish_token = result.stdout.strip().splitlines()[-1]
        time.sleep(0.5)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=self.auth, timeout=30)

    def async_http(self, connections: int = 1) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=connections)
        return httpx.AsyncClient(
            base_url=self.base_url, headers=self.auth, timeout=30, limits=limits
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def reader_url(self, since: int | None = None) -> str:
        path = "/ws/liveblogs/bench" if self.is_liveblog else "/ws"
        query = f"?since={since}" if since is not None else ""
        return f"ws://127.0.0.1:{self.port}{path}{query}"

    async def publish(self, count: int, interval: float = 0.0) -> None:
        """Publish `count` messages from inside the server, `interval` seconds apart."""
        path = "/bench/publish?slug=bench&" if self.is_liveblog else "/publish?"
        url = f"ws://127.0.0.1:{self.port}{path}count={count}&interval={interval}"
        async with websockets.connect(url, max_size=None, open_timeout=30) as control:
            await asyncio.wait_for(control.recv(), RUN_S)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def running(kind: str, **env: str) -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="liveblog-bench-") as tmp:
        server = Server(kind, Path(tmp))
        server.env.update(env)
        try:
            yield server.start()
        finally:
            server.stop()


LOADGEN = [sys.executable, "-m", "bench.loadgen"]


class Readers:
    """N readers spread over WORKERS load-generator processes."""

    def __init__(
        self,
        url: str,
        count: int,
        expected: int,
        *,
        stalled: int = 0,
        deadline: float = 120,
        workers: int = WORKERS,
    ) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="liveblog-readers-")
        self.outs = [Path(self._dir.name) / f"worker-{n}.json" for n in range(workers)]
        shares = [count // workers + (1 if n < count % workers else 0) for n in range(workers)]
        stalls = [stalled // workers + (1 if n < stalled % workers else 0) for n in range(workers)]

        def options(stall: int) -> list[str]:
            return ["--stalled", str(stall), "--deadline", str(deadline)]

        self.workers = [
            subprocess.Popen(
                [*LOADGEN, url, str(share), str(expected), str(out), *options(stall)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for share, stall, out in zip(shares, stalls, self.outs, strict=True)
        ]

    def wait_ready(self) -> None:
        for worker in self.workers:
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != "ready":
                self.kill()
                raise RuntimeError("a load generator failed to connect its readers")

    def results(self) -> list[dict[str, Any]]:
        try:
            for worker in self.workers:
                worker.wait(timeout=RUN_S)
            return [orjson.loads(out.read_bytes()) for out in self.outs]
        finally:
            self.kill()
            self._dir.cleanup()

    def kill(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


# Figures ---------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, latencies_ms: list[float]) -> Latency:
        return cls(
            percentile(latencies_ms, 0.50),
            percentile(latencies_ms, 0.99),
            percentile(latencies_ms, 1.0),
        )


def latencies_ms(
    results: list[dict[str, Any]], sent_ns: dict[int, int] | None = None
) -> list[float]:
    """Publish → receipt per delivery: from the message's created_at, or from `sent_ns[seq]`."""
    out: list[float] = []
    for result in results:
        starts = (
            result["published_ns"] if sent_ns is None else [sent_ns[seq] for seq in result["seqs"]]
        )
        out += [
            (got - start) / 1e6 for got, start in zip(result["receipts_ns"], starts, strict=True)
        ]
    return out


def deliveries_per_s(results: list[dict[str, Any]], first_ns: int) -> float:
    count = sum(len(r["receipts_ns"]) for r in results)
    last = max((max(r["receipts_ns"]) for r in results if r["receipts_ns"]), default=first_ns)
    return count / ((last - first_ns) / 1e9) if last > first_ns else 0.0


def complete(results: list[dict[str, Any]]) -> bool:
    return all(r["complete"] == r["readers"] for r in results)


def loadgen_cpu(results: list[dict[str, Any]]) -> float:
    return max(r["cpu_seconds"] for r in results)


# Scenarios -------------------------------------------------------------------------------------


def fan_out(kind: str, readers: int) -> dict[str, Any]:
    """P1 + P4: N idle readers (memory per reader), then BURST messages published in-process."""
    with running(kind) as server:
        rss_before = rss_kib(server.pid)
        crowd = Readers(server.reader_url(), readers, BURST)
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
        "server_cpu_s": server_cpu,
    }


REDIS_URL = os.environ.get("LIVEBLOG_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_reachable() -> bool:
    import redis

    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2) as client:
            client.ping()
        return True
    except (OSError, redis.RedisError):
        return False


def two_processes(readers: int) -> dict[str, Any]:
    """Scale-out: two Liveblog processes sharing storage and Redis, half the readers on each.

    The burst is published in process A, so A's readers get it from A's own hub and B's through
    Redis: the difference of their p50s is what the Redis hop adds. Same total of load-generator
    processes as P1 (one per server).
    """
    with tempfile.TemporaryDirectory(prefix="liveblog-bench-shared-") as shared:
        env = {
            "LIVEBLOG_BROKER_URL": REDIS_URL,
            "LIVEBLOG_BROKER_CHANNEL": f"liveblog-bench-{os.getpid()}-{time.time_ns()}",
            "LIVEBLOG_DATABASE_URL": f"sqlite+aiosqlite:///{shared}/liveblog.db",
        }
        with running(LIVEBLOG, **env) as a, running(LIVEBLOG, **env) as b:
            half = readers // 2
            on_a = Readers(a.reader_url(), half, BURST, workers=1)
            on_b = Readers(b.reader_url(), readers - half, BURST, workers=1)
            on_a.wait_ready()
            on_b.wait_ready()
            time.sleep(1.0)
            asyncio.run(a.publish(BURST))
            local, remote = on_a.results(), on_b.results()
    return {
        **Latency.of(latencies_ms(local + remote)).__dict__,
        "local_p50_ms": Latency.of(latencies_ms(local)).p50_ms,
        "remote_p50_ms": Latency.of(latencies_ms(remote)).p50_ms,
        "complete": complete(local + remote),
    }


# P2 posts one entry every P2_INTERVAL seconds, whatever the server answers (open loop): a
# client that waits for each 201 before sending the next hides the server's queueing in its own
# waiting. Four entries a second is more than any newsroom posts, and within what both Liveblog
# and (a) deliver to 10,000 readers, so p99 is one entry's latency, not a queue's (P1 covers
# bursts). (a) publishes at the same pace in the same run.
P2_INTERVAL = 0.25


async def _post_entries(server: Server, count: int, interval: float = 0.0) -> dict[int, int]:
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


def end_to_end(kind: str, readers: int) -> dict[str, Any]:
    """P2: BURST entries P2_INTERVAL apart → the frame at every reader. Liveblog: a real POST
    (SQLite commit with fsync first), timed from sending it; (a): published in-process."""
    with running(kind) as server:
        crowd = Readers(server.reader_url(), readers, BURST)
        crowd.wait_ready()
        time.sleep(1.0)
        if server.is_liveblog:
            sent: dict[int, int] | None = asyncio.run(_post_entries(server, BURST, P2_INTERVAL))
        else:
            sent = None
            asyncio.run(server.publish(BURST, P2_INTERVAL))
        results = crowd.results()
    return {**Latency.of(latencies_ms(results, sent)).__dict__, "complete": complete(results)}


P5_READERS = 200
P5_STALLED = 2  # 1 %
# A stalled reader's kernel buffers take a few MiB (Linux autotunes the send buffer to 4 MiB on
# loopback) before the server sees any back-pressure: it takes this many 1 KiB messages to fill
# them and then the server's own backlog.
P5_MESSAGES = 3000
P5_INTERVAL = 0.002


def slow_readers(kind: str, stalled: int) -> dict[str, Any]:
    """P5: a steady stream while `stalled` readers have stopped reading."""
    stream_s = P5_MESSAGES * P5_INTERVAL
    with running(kind) as server:
        crowd = Readers(
            server.reader_url(), P5_READERS, P5_MESSAGES, stalled=stalled, deadline=stream_s + 20
        )
        crowd.wait_ready()
        time.sleep(1.0)
        rss_before = rss_kib(server.pid)
        try:
            asyncio.run(asyncio.wait_for(server.publish(P5_MESSAGES, P5_INTERVAL), stream_s + 20))
            published = True
        except TimeoutError:
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


P6_POSTS = 2000
P6_SECONDS = 8.0  # flat out: at most this long
P6_CONCURRENCY = 8
P6_PACED_RATE = 25  # POSTs/s offered while comparing POST latency with and without readers
P6_PACED_SECONDS = 20.0  # 500 POSTs: a p99 that is not just the second-worst sample


# P6 "trust on": every write protection a newsroom tool meets, with a rate limit above the
# offered load (the limiter counts every POST but refuses none), a publish token scoped to the
# liveblog, and a fresh Idempotency-Key on every POST.
P6_TRUST_ENV = {"LIVEBLOG_WRITE_RATE": "2000", "LIVEBLOG_WRITE_BURST": "4000"}


async def _ingest(server: Server, rate: float | None, trust: bool = False) -> dict[str, Any]:
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
        measured = asyncio.run(_ingest(server, rate, trust))
        server_cpu = cpu_seconds(server.pid) - cpu_before
        if crowd is not None:
            crowd.kill()
    return measured | {"server_cpu_ms_per_post": server_cpu * 1000 / measured["posts"]}


# Abuse (issue 11): 1,000 healthy readers take ATTACK_MESSAGES entries while an anonymous
# attacker on another loopback address storms upgrades or floods frames at a fixed rate, against
# this server or (the control) a socket elsewhere that answers alike. The per-address limits are
# at their defaults except the burst, which must let the 1,000 readers of 127.0.0.1 connect at
# once (the attacker, from 127.0.0.2, gets the same allowance).
ATTACK_READERS = 1000
ATTACK_MESSAGES = 40
ATTACK_INTERVAL = 0.1
ATTACK_WARMUP = 4.0  # the attacker spends its burst first: what is measured is the sustained
ATTACK_SECONDS = ATTACK_WARMUP + ATTACK_MESSAGES * ATTACK_INTERVAL + 3.0
ATTACK_SOURCE = "127.0.0.2"
ATTACK_RATES = {"storm": 300.0, "flood": 20.0, "frames": 20.0, "pongs": 20.0}  # connections/s
ATTACK_ENV = {
    "LIVEBLOG_UPGRADE_RATE": "20",
    "LIVEBLOG_UPGRADE_BURST": "1000",
    "LIVEBLOG_MAX_SOCKETS_PER_ADDRESS": "2000",
}


@contextmanager
def elsewhere() -> Iterator[int]:
    """The control target: accepts, answers an upgrade with 101, reads and discards, and hangs
    up after 64 KiB (as Liveblog hangs up on a 60 KiB frame)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
            await reader.readexactly(64 * 1024)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.transport.abort()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    start = asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    server = asyncio.run_coroutine_threadsafe(start, loop).result(timeout=10)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def under_attack(mode: str, aimed: bool) -> dict[str, Any]:
    """Healthy readers' latency while the attacker targets this server (or the control)."""
    with running(LIVEBLOG, **ATTACK_ENV) as server, elsewhere() as control_port:
        crowd = Readers(server.reader_url(), ATTACK_READERS, ATTACK_MESSAGES)
        crowd.wait_ready()
        port = server.port if aimed else control_port
        attacker = subprocess.Popen(
            [sys.executable, "-m", "bench.attacker", mode, "127.0.0.1", str(port), "bench",
             "--source", ATTACK_SOURCE, "--rate", str(ATTACK_RATES[mode]),
             "--seconds", str(ATTACK_SECONDS)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(ATTACK_WARMUP)
        cpu_before = cpu_seconds(server.pid)
        asyncio.run(server.publish(ATTACK_MESSAGES, ATTACK_INTERVAL))
        results = crowd.results()
        server_cpu = cpu_seconds(server.pid) - cpu_before
        out, _ = attacker.communicate(timeout=ATTACK_SECONDS + 30)
    attacker_cpu, made = out.split()
    return {
        **Latency.of(latencies_ms(results)).__dict__,
        "complete": complete(results),
        "server_cpu_s": server_cpu,
        "attacker_cpu_s": float(attacker_cpu),
        "attacker_connections": int(made),
    }


P8_HISTORY = 30  # entries stored before the storm
P8_BEHIND = 10  # each reader last saw head - P8_BEHIND: that many changes to catch up


def connect_storm(kind: str, readers: int) -> dict[str, Any]:
    """P8: `readers` connect at once (as after a restart) and catch up; seconds until all have."""
    with running(kind) as server:
        since, expected = None, 0
        if server.is_liveblog:
            asyncio.run(_post_entries(server, P8_HISTORY))
            since, expected = P8_HISTORY - P8_BEHIND, P8_BEHIND
        crowd = Readers(server.reader_url(since), readers, expected, deadline=RUN_S)
        crowd.wait_ready()
        results = crowd.results()
    started = min(r["started_ns"] for r in results)
    finished = max(max(r["ready_ns"], r["done_ns"]) for r in results)
    connected = all(r["complete"] == r["readers"] or expected == 0 for r in results)
    return {"seconds": (finished - started) / 1e9, "complete": connected}


BIG_SIZES = (1_000, 100_000)
BIG_REPEATS = 30


def big_liveblog(entries: int) -> dict[str, Any]:
    """A liveblog with `entries` stored: what the first page, an older page and a catch-up cost."""
    with tempfile.TemporaryDirectory(prefix="liveblog-bench-") as tmp:
        server = Server(LIVEBLOG, Path(tmp)).start()
        server.stop()
        _seed(Path(tmp) / "liveblog.db", entries)
        server = Server(LIVEBLOG, Path(tmp))  # same data directory, now with the big liveblog
        try:
            server.start()
            with server.http() as client:
                head = client.get("/api/liveblogs/big").raise_for_status().json()["seq"]
                older = head // 2
                timings = {
                    "first_page_ms": _median_ms(client, "/liveblogs/big"),
                    "older_page_ms": _median_ms(client, f"/liveblogs/big?before={older}"),
                    "catch_up_100_ms": _median_ms(
                        client, f"/api/liveblogs/big/entries?since={head - 100}&limit=100"
                    ),
                }
        finally:
            server.stop()
    return timings


def _seed(database: Path, entries: int) -> None:
    """Write a liveblog of `entries` entries straight into the migrated SQLite file."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO liveblogs (slug, title, description, status, head_seq, meta_seq,"
            " created_at, updated_at) VALUES ('big', 'Big', '', 'live', ?, 0, ?, ?)",
            (entries, now, now),
        )
        (liveblog_id,) = db.execute("SELECT id FROM liveblogs WHERE slug = 'big'").fetchone()
        db.executemany(
            "INSERT INTO entries (liveblog_id, seq, created_seq, title, body, author, pinned,"
            " key_event, created_at, updated_at, version, deleted)"
            " VALUES (?, ?, ?, ?, ?, 'Bench', ?, ?, ?, ?, 1, 0)",
            (
                (liveblog_id, n, n, f"Update {n}", BODY, n == 1, n % 50 == 0, now, now)
                for n in range(1, entries + 1)
            ),
        )


def _median_ms(client: httpx.Client, path: str) -> float:
    client.get(path).raise_for_status()  # warm up
    samples = []
    for _ in range(BIG_REPEATS):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


# Driver ----------------------------------------------------------------------------------------


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Field-wise medians of repeated runs of one cell (booleans: all must hold)."""
    cell: dict[str, Any] = {}
    for name, value in runs[0].items():
        if isinstance(value, bool):
            cell[name] = all(run[name] for run in runs)
        else:
            cell[name] = statistics.median(run[name] for run in runs)
    return cell


@dataclass
class Plan:
    sizes: list[int]
    repeats: int
    p2_readers: int
    p8_readers: int
    results: dict[str, Any] = field(default_factory=dict)

    def measure(self, label: str, scenario: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        cell = median_of([scenario() for _ in range(self.repeats)])
        self.results[label] = cell
        shown = "  ".join(
            f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in cell.items()
        )
        print(f"{label:<34} {shown}", flush=True)
        return cell


def run_all(plan: Plan) -> None:
    for readers in plan.sizes:
        # Side by side: every server at one size before the next size.
        for kind in (REFERENCE, NAIVE, LIVEBLOG, LIVEBLOG_ASGI):
            plan.measure(f"P1 {kind} N={readers}", partial(fan_out, kind, readers))
    if redis_reachable():
        n = max(plan.sizes)
        plan.measure(f"two processes N={n}", partial(two_processes, n))
    else:
        print(f"two processes: skipped, no Redis at {REDIS_URL} (LIVEBLOG_BENCH_REDIS_URL)")
    for kind in (REFERENCE, LIVEBLOG):
        plan.measure(f"P2 {kind} N={plan.p2_readers}", partial(end_to_end, kind, plan.p2_readers))
    for kind in (REFERENCE, NAIVE, LIVEBLOG):
        for stalled in (0, P5_STALLED):
            plan.measure(f"P5 {kind} stalled={stalled}", partial(slow_readers, kind, stalled))
    plan.measure("P6 max rate readers=0", partial(ingest, 0, None))
    plan.measure("P6 max rate readers=0 trust on", partial(ingest, 0, None, True))
    for readers in (0, 1000):
        label = f"P6 {P6_PACED_RATE}/s readers={readers}"
        plan.measure(label, partial(ingest, readers, P6_PACED_RATE))
    for kind in (REFERENCE, LIVEBLOG):
        label = f"P8 {kind} N={plan.p8_readers}"
        plan.measure(label, partial(connect_storm, kind, plan.p8_readers))
    for entries in BIG_SIZES:
        plan.measure(f"big entries={entries}", partial(big_liveblog, entries))
    for mode in ATTACK_RATES:
        for aimed in (False, True):
            label = f"attack {mode} {'aimed' if aimed else 'control'}"
            plan.measure(label, partial(under_attack, mode, aimed))


@dataclass
class Verdict:
    target: str
    measured: str
    met: bool


def verdicts(plan: Plan) -> list[Verdict]:
    """Each target of BENCHMARKS.md, as measured in this run."""
    r, n = plan.results, max(plan.sizes)
    ref, live = r[f"P1 {REFERENCE} N={n}"], r[f"P1 {LIVEBLOG} N={n}"]
    e2e, ref_e2e = r[f"P2 {LIVEBLOG} N={plan.p2_readers}"], r[f"P2 {REFERENCE} N={plan.p2_readers}"]
    healthy, slow = r[f"P5 {LIVEBLOG} stalled=0"], r[f"P5 {LIVEBLOG} stalled={P5_STALLED}"]
    flat_out = r["P6 max rate readers=0"]
    idle, busy = r[f"P6 {P6_PACED_RATE}/s readers=0"], r[f"P6 {P6_PACED_RATE}/s readers=1000"]
    storm_ref = r[f"P8 {REFERENCE} N={plan.p8_readers}"]
    storm = r[f"P8 {LIVEBLOG} N={plan.p8_readers}"]
    small, big = r[f"big entries={BIG_SIZES[0]}"], r[f"big entries={BIG_SIZES[1]}"]

    p1 = live["p99_ms"] / ref["p99_ms"]
    rate = live["deliveries_per_s"] / ref["deliveries_per_s"]
    p2 = e2e["p99_ms"] / ref_e2e["p99_ms"]
    p4 = live["rss_per_reader_kib"] / ref["rss_per_reader_kib"]
    p5 = slow["p99_ms"] / healthy["p99_ms"]
    p6 = busy["post_p99_ms"] / idle["post_p99_ms"]
    p8 = storm["seconds"] / storm_ref["seconds"]
    worst = max(big[k] / small[k] for k in small)
    dropped = slow["stalled_dropped"]
    pair = r.get(f"two processes N={n}")
    if pair is None:
        scale_out = Verdict(
            f"two processes p99 <= 1.2x one process at N={n}", "not measured (no Redis)", False
        )
    else:
        ratio = pair["p99_ms"] / live["p99_ms"]
        hop = pair["remote_p50_ms"] - pair["local_p50_ms"]
        scale_out = Verdict(
            f"two processes p99 <= 1.2x one process at N={n}",
            f"{pair['p99_ms']:.0f} ms = {ratio:.2f}x; Redis hop adds {hop:.1f} ms at p50",
            ratio <= 1.2 and pair["complete"],
        )
    return [
        Verdict(f"P1 p99 <= 1.3x (a) at N={n}", f"{live['p99_ms']:.0f} ms = {p1:.2f}x",
                p1 <= 1.3 and live["complete"]),
        Verdict(f"P1 deliveries/s >= 0.8x (a) at N={n}",
                f"{live['deliveries_per_s']:.0f}/s = {rate:.2f}x", rate >= 0.8),
        Verdict(f"P2 end-to-end p99 <= 1.5x (a) at N={plan.p2_readers}",
                f"{e2e['p99_ms']:.0f} ms = {p2:.2f}x", p2 <= 1.5 and e2e["complete"]),
        Verdict(f"P4 memory per idle reader <= 2.5x (a) at N={n}",
                f"{live['rss_per_reader_kib']:.1f} KiB = {p4:.2f}x", p4 <= 2.5),
        Verdict("P5 healthy p99 <= 1.2x all-healthy, stalled readers dropped",
                f"{p5:.2f}x, dropped {dropped:.0f}/{P5_STALLED}",
                p5 <= 1.2 and dropped == P5_STALLED and slow["complete"]),
        Verdict("P6 >= 300 POST/s", f"{flat_out['posts_per_s']:.0f}/s",
                flat_out["posts_per_s"] >= 300),
        Verdict(f"P6 POST p99 at {P6_PACED_RATE}/s with 1k readers <= 2x without",
                f"{busy['post_p99_ms']:.1f} ms vs {idle['post_p99_ms']:.1f} ms = {p6:.2f}x",
                p6 <= 2),
        Verdict(f"P8 {plan.p8_readers} readers caught up <= 2.5x (a) connect time",
                f"{storm['seconds']:.1f} s = {p8:.2f}x", p8 <= 2.5 and storm["complete"]),
        Verdict(f"{BIG_SIZES[1]:,} entries cost within 1.5x of {BIG_SIZES[0]:,}",
                f"worst {worst:.2f}x", worst <= 1.5),
        scale_out,
        *(attack_verdict(r, mode) for mode in ATTACK_RATES),
    ]  # fmt: skip


def attack_verdict(results: dict[str, Any], mode: str) -> Verdict:
    aimed, control = results[f"attack {mode} aimed"], results[f"attack {mode} control"]
    ratio = aimed["p99_ms"] / control["p99_ms"]
    return Verdict(
        f"{mode} at {ATTACK_RATES[mode]:.0f}/s: healthy readers' p99 <= 1.5x the control",
        f"{aimed['p99_ms']:.0f} ms vs {control['p99_ms']:.0f} ms = {ratio:.2f}x; server CPU "
        f"{aimed['server_cpu_s']:.1f} s vs {control['server_cpu_s']:.1f} s, attacker "
        f"{aimed['attacker_cpu_s']:.1f} s",
        ratio <= 1.5 and aimed["complete"],
    )


def machine() -> dict[str, str]:
    import fastapi
    import uvicorn

    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "memory": f"{memory_kib / 1024 / 1024:.0f} GiB",
        "python": platform.python_version(),
        "libraries": f"websockets {websockets.__version__}, uvicorn {uvicorn.__version__}, "
        f"fastapi {fastapi.__version__}",
    }


def chart(plan: Plan, path: Path) -> None:
    """p99 against N for Liveblog and the references."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=110)
    names = {REFERENCE: "(a) websockets broadcast()", NAIVE: "(b) FastAPI naive loop",
             LIVEBLOG: "Liveblog", LIVEBLOG_ASGI: "Liveblog, direct writes off"}  # fmt: skip
    for kind, label in names.items():
        points = [(n, plan.results[f"P1 {kind} N={n}"]["p99_ms"]) for n in plan.sizes]
        axes.plot(*zip(*points, strict=True), marker="o", label=label)
    axes.set_xlabel("readers on one liveblog (one server process)")
    axes.set_ylabel("p99 publish → reader (ms)")
    axes.set_title(f"Fan-out of a {BURST}-message burst, 1 KiB each (median of {plan.repeats})")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller matrix, one run per cell")
    args = parser.parse_args()
    if args.quick:
        plan = Plan(sizes=[1000, 5000], repeats=1, p2_readers=5000, p8_readers=5000)
    else:
        plan = Plan(sizes=[1000, 5000, 10000], repeats=3, p2_readers=10000, p8_readers=10000)
    started = time.monotonic()
    run_all(plan)
    print(f"\nTargets ({'quick' if args.quick else 'full'} profile, "
          f"{time.monotonic() - started:.0f} s):")  # fmt: skip
    checks = verdicts(plan)
    for check in checks:
        print(f"  [{'met' if check.met else 'MISSED'}] {check.target}: {check.measured}")
    RESULTS.mkdir(exist_ok=True)
    name = "quick" if args.quick else "full"
    (RESULTS / f"{name}.json").write_bytes(
        orjson.dumps(
            {"machine": machine(), "repeats": plan.repeats, "results": plan.results,
             "targets": [asdict(check) for check in checks]},
            option=orjson.OPT_INDENT_2,
        )
    )  # fmt: skip
    if not args.quick:
        chart(plan, RESULTS / "p99-vs-readers.png")


if __name__ == "__main__":
    main()
