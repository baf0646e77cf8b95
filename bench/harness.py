"""What every scenario shares: the servers under test, the readers, and the figures.

A server runs in its own process with its own data directory; readers are held by load-generator
processes (bench/loadgen.py). Only loopback is ever a target; every loop and wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import websockets

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
NODE_MODULES = ROOT / "bench" / "node_modules"
BURST = 20  # P1: entries published back to back, one busy minute of a big story, compressed
WORKERS = 2  # load-generator processes
SERVER_START_S = 60
RUN_S = 180
PYTHON = sys.executable


# The servers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A server under test: how to start it, where readers connect, how to make it publish."""

    name: str
    label: str  # for tables and the chart
    command: tuple[str, ...]  # the port is appended
    reader_path: str
    protocol: str = "liveblog"  # what the load generator speaks: see bench/loadgen.py
    control: str = "websocket"  # "websocket": /publish over a WebSocket; "http": GET /publish
    node: bool = False  # needs Node.js and `npm ci` in bench/
    env: dict[str, str] = field(default_factory=dict)

    @property
    def is_liveblog(self) -> bool:
        return self.name.startswith("liveblog")


def _node(script: str) -> tuple[str, ...]:
    return ("node", str(ROOT / "bench" / "servers" / script))


LIVEBLOG = Kind("liveblog", "**Liveblog**", (PYTHON, "-m", "bench.servers.liveblog"),
                "/ws/liveblogs/bench")  # fmt: skip
LIVEBLOG_ASGI = Kind("liveblog-asgi", "Liveblog, direct writes off",
                     LIVEBLOG.command, LIVEBLOG.reader_path,
                     env={"LIVEBLOG_WS_DIRECT_WRITES": "false"})  # fmt: skip
REFERENCE = Kind("websockets", "(a) websockets `broadcast()`",
                 (PYTHON, "-m", "bench.servers.websockets_broadcast"), "/ws")  # fmt: skip
NAIVE = Kind("fastapi-naive", "(b) FastAPI naive loop",
             (PYTHON, "-m", "bench.servers.fastapi_naive"), "/ws")  # fmt: skip
FLOOR = Kind("ingest-floor", "floor (bench/servers/ingest_floor.py)",
             (PYTHON, "-m", "bench.servers.ingest_floor"), "/")  # fmt: skip
NODE_WS = Kind("node-ws", "Node.js `ws`", _node("ws_server.mjs"), "/ws",
               control="http", node=True)  # fmt: skip
SOCKET_IO = Kind("socket.io", "Socket.IO (Node.js)", _node("socketio_server.mjs"),
                 "/socket.io/?EIO=4&transport=websocket", protocol="socketio",
                 control="http", node=True)  # fmt: skip
PYTHON_SOCKETIO = Kind("python-socketio", "python-socketio (uvicorn)",
                       (PYTHON, "-m", "bench.servers.python_socketio"),
                       "/socket.io/?EIO=4&transport=websocket", protocol="socketio",
                       control="http")  # fmt: skip
KINDS = {kind.name: kind for kind in (LIVEBLOG, LIVEBLOG_ASGI, REFERENCE, NAIVE, FLOOR,
                                      NODE_WS, SOCKET_IO, PYTHON_SOCKETIO)}  # fmt: skip

# Liveblog's own protections are set to fit the load, not left at their defaults: every reader
# of a scenario comes from one loopback address, and the writers are the benchmark itself.
LIVEBLOG_BENCH_SETTINGS = {
    "LIVEBLOG_LOG_LEVEL": "warning",
    "LIVEBLOG_WRITE_RATE": "0",  # off except in P6's "trust on" run
    "LIVEBLOG_UPGRADE_RATE": "0",
    "LIVEBLOG_MAX_SOCKETS_PER_ADDRESS": "1000000",
}


def node_missing() -> str | None:
    """Why the Node.js peers cannot run here, or None when they can."""
    if shutil.which("node") is None:
        return "Node.js is not installed (node not on PATH)"
    if not (NODE_MODULES / "ws").is_dir() or not (NODE_MODULES / "socket.io").is_dir():
        try:
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT / "bench",
                           check=True, capture_output=True, timeout=300)  # fmt: skip
        except (OSError, subprocess.SubprocessError) as error:
            return f"`npm ci` in bench/ failed: {error}"
    return None


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
    """User + system CPU of a process (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """One server under test, in its own process, with its own data directory."""

    def __init__(self, kind: Kind, workdir: Path) -> None:
        self.kind = kind
        self.port = free_port()
        self.workdir = workdir
        self.settings = {**LIVEBLOG_BENCH_SETTINGS, **kind.env} if kind.is_liveblog else {}
        self.env = {**os.environ, "LIVEBLOG_DATA_DIR": str(workdir), **self.settings}
        self.token = ""
        self._publish_token = ""
        self.process: subprocess.Popen[bytes] | None = None

    def configure(self, **env: str) -> None:
        self.settings.update(env)
        self.env.update(env)

    @property
    def is_liveblog(self) -> bool:
        return self.kind.is_liveblog

    def start(self) -> Server:
        self.process = subprocess.Popen(
            [*self.kind.command, str(self.port)],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"{self.kind.name} did not start") from None
                time.sleep(0.1)
        if self.is_liveblog:
            # Named by port: the processes of a cluster share one database.
            self.token = self._token(f"bench-{self.port}")
            self.http().post("/api/liveblogs", json={"slug": "bench", "title": "Bench"})
        time.sleep(0.5)
        return self

    @property
    def publish_token(self) -> str:
        """A token scoped to publishing in the bench liveblog (P6 "trust on"), made when first
        asked for: a `liveblog token create` costs a second or two, and most runs need none."""
        if not self._publish_token:
            self._publish_token = self._token(
                f"bench-publish-{self.port}", "--scope", "publish", "--liveblog", "bench"
            )
        return self._publish_token

    def _token(self, name: str, *options: str) -> str:
        result = subprocess.run(
            [PYTHON, "-m", "app", "token", "create", "--name", name, *options],
            cwd=ROOT, env=self.env, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        return result.stdout.strip().splitlines()[-1]

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
        query = f"?since={since}" if since is not None else ""
        return f"ws://127.0.0.1:{self.port}{self.kind.reader_path}{query}"

    async def publish(self, count: int, interval: float = 0.0) -> None:
        """Publish `count` messages from inside the server, `interval` seconds apart."""
        query = f"count={count}&interval={interval}"
        if self.kind.control == "http":
            async with httpx.AsyncClient(timeout=RUN_S) as client:
                response = await client.get(f"{self.base_url}/publish?{query}")
                response.raise_for_status()
            return
        path = "/bench/publish?slug=bench&" if self.is_liveblog else "/publish?"
        url = f"ws://127.0.0.1:{self.port}{path}{query}"
        # No keepalive pings: a server busy publishing (or stuck, as (b) gets) must not lose
        # its control connection to a missed pong.
        async with websockets.connect(
            url, max_size=None, open_timeout=30, ping_interval=None
        ) as control:
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
def running(kind: Kind, **env: str) -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="liveblog-bench-") as tmp:
        server = Server(kind, Path(tmp))
        server.configure(**env)
        try:
            yield server.start()
        finally:
            server.stop()


# The readers -----------------------------------------------------------------------------------


LOADGEN = [PYTHON, "-m", "bench.loadgen"]


def _shares(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if n < total % parts else 0) for n in range(parts)]


class Readers:
    """N readers spread over `workers` load-generator processes.

    `sources` gives each worker its own loopback address (127.0.0.2, …) to connect from, so that
    tens of thousands of connections to one port do not run out of ephemeral ports.
    """

    def __init__(
        self,
        url: str,
        count: int,
        expected: int,
        *,
        stalled: int = 0,
        deadline: float = 120,
        workers: int = WORKERS,
        protocol: str = "liveblog",
        sources: list[str] | None = None,
    ) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="liveblog-readers-")
        self.outs = [Path(self._dir.name) / f"worker-{n}.json" for n in range(workers)]
        addresses: list[str | None] = list(sources) if sources else [None] * workers

        def options(stall: int, source: str | None) -> list[str]:
            extra = ["--source", source] if source else []
            return ["--stalled", str(stall), "--deadline", str(deadline),
                    "--protocol", protocol, *extra]  # fmt: skip

        self.workers = [
            subprocess.Popen(
                [*LOADGEN, url, str(share), str(expected), str(out), *options(stall, source)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for share, stall, out, source in zip(
                _shares(count, workers), _shares(stalled, workers), self.outs, addresses,
                strict=True,
            )
        ]  # fmt: skip

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


# The figures -----------------------------------------------------------------------------------


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


def deliveries(results: list[dict[str, Any]]) -> int:
    return sum(len(r["receipts_ns"]) for r in results)


def deliveries_per_s(results: list[dict[str, Any]], first_ns: int) -> float:
    last = max((max(r["receipts_ns"]) for r in results if r["receipts_ns"]), default=first_ns)
    return deliveries(results) / ((last - first_ns) / 1e9) if last > first_ns else 0.0


def complete(results: list[dict[str, Any]]) -> bool:
    return all(r["complete"] == r["readers"] for r in results)


def retries(results: list[dict[str, Any]]) -> int:
    """Handshakes refused or dropped, then tried again by the load generators."""
    return sum(r["retries"] for r in results)


def loadgen_cpu(results: list[dict[str, Any]]) -> float:
    return max(r["cpu_seconds"] for r in results)


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Field-wise medians of repeated runs of one cell (booleans: all must hold; text and
    mappings, such as the settings used, from the first run)."""
    cell: dict[str, Any] = {}
    for name, value in runs[0].items():
        if isinstance(value, bool):
            cell[name] = all(run[name] for run in runs)
        elif isinstance(value, int | float):
            cell[name] = statistics.median(run[name] for run in runs)
        else:
            cell[name] = value
    return cell


def machine() -> dict[str, str]:
    import fastapi
    import uvicorn

    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    node = "absent"
    if shutil.which("node"):
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    return {
        "cpu": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "memory": f"{memory_kib / 1024 / 1024:.0f} GiB",
        "python": platform.python_version(),
        "libraries": f"websockets {websockets.__version__}, uvicorn {uvicorn.__version__}, "
        f"fastapi {fastapi.__version__}, Node.js {node.strip()}",
    }


# Several processes -----------------------------------------------------------------------------


@contextmanager
def private_redis() -> Iterator[tuple[str, int]]:
    """A redis-server of our own on a free loopback port, keeping nothing on disk: its CPU is
    part of what scale-out costs, and no other client shares it. Yields (URL, pid)."""
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--maxclients", "1000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def liveblog_cluster(count: int, broker_url: str, **env: str) -> Iterator[list[Server]]:
    """`count` Liveblog processes on their own ports, one SQLite file and one broker between them.

    Separate processes rather than uvicorn's --workers: workers share one listening socket
    without balancing, so one of them could take more readers than its open-file limit allows.
    """
    with tempfile.TemporaryDirectory(prefix="liveblog-bench-cluster-") as shared:
        shared_env = {
            "LIVEBLOG_BROKER_URL": broker_url,
            "LIVEBLOG_DATABASE_URL": f"sqlite+aiosqlite:///{shared}/liveblog.db",
            **env,
        }
        servers: list[Server] = []
        try:
            for n in range(count):
                workdir = Path(shared) / f"process-{n}"
                workdir.mkdir()
                server = Server(LIVEBLOG, workdir)
                server.configure(**shared_env)
                servers.append(server)
                server.start()  # one after the other: each migrates the shared file at start
            yield servers
        finally:
            for server in servers:
                server.stop()
