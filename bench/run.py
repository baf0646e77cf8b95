"""Benchmark driver: starts each server, attaches readers from separate load-generator
processes, publishes a burst, and reports latency, throughput and memory side by side.

    python -m bench.run --quick            # make bench: a few minutes
    python -m bench.run                    # make bench-full: the whole matrix, medians of 3

Only loopback is ever a target; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import websockets

from bench.message import BODY

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BURST = 20  # entries published back to back: one busy minute of a big story, compressed
WORKERS = 2  # load-generator processes
SERVER_START_S = 30
RUN_S = 180


@dataclass
class Sample:
    server: str
    readers: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    deliveries_per_s: float
    complete: bool
    rss_per_reader_kib: float
    loadgen_cpu_s: float
    server_cpu_s: float


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
    """One server under test in its own process."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.port = free_port()
        self.workdir = workdir
        env = {**os.environ, "LIVEBLOG_DATA_DIR": str(workdir), "LIVEBLOG_LOG_LEVEL": "warning"}
        command = {
            "websockets": [sys.executable, "-m", "bench.ref_websockets", str(self.port)],
            "fastapi-naive": [sys.executable, "-m", "bench.ref_fastapi_naive", str(self.port)],
            "liveblog": [sys.executable, "-m", "app", "serve", "--port", str(self.port)],
        }[kind]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.token = ""

    @property
    def reader_url(self) -> str:
        path = "/ws/liveblogs/bench" if self.kind == "liveblog" else "/ws"
        return f"ws://127.0.0.1:{self.port}{path}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{self.kind} did not start")
        if self.kind == "liveblog":
            result = subprocess.run(
                [sys.executable, "-m", "app", "token", "create", "--name", "bench"],
                cwd=ROOT, env={**os.environ, "LIVEBLOG_DATA_DIR": str(self.workdir)},
                capture_output=True, text=True, check=True, timeout=60,
            )  # fmt: skip
            self.token = result.stdout.strip().splitlines()[-1]
            httpx.post(
                f"http://127.0.0.1:{self.port}/api/liveblogs",
                json={"slug": "bench", "title": "Bench"},
                headers={"Authorization": f"Bearer {self.token}"},
            ).raise_for_status()

    async def publish(self, count: int) -> None:
        if self.kind == "liveblog":
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{self.port}",
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
            ) as client:
                for n in range(count):
                    response = await client.post(
                        "/api/liveblogs/bench/entries", json={"title": f"Update {n}", "body": BODY}
                    )
                    response.raise_for_status()
            return
        url = f"ws://127.0.0.1:{self.port}/publish?count={count}"
        async with websockets.connect(url, max_size=None, open_timeout=30) as control:
            await asyncio.wait_for(control.recv(), RUN_S)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000 if ordered else 0.0


def fan_out(kind: str, readers: int) -> Sample:
    """P1 and P4: N idle readers (memory), then a burst of BURST entries to all of them."""
    with tempfile.TemporaryDirectory(prefix="liveblog-bench-") as tmp:
        server = Server(kind, Path(tmp))
        try:
            server.wait_ready()
            time.sleep(0.5)
            rss_before = rss_kib(server.process.pid)
            outs = [Path(tmp) / f"worker-{n}.json" for n in range(WORKERS)]
            share = [
                readers // WORKERS + (1 if n < readers % WORKERS else 0) for n in range(WORKERS)
            ]
            workers = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bench.loadgen",
                        server.reader_url,
                        str(count),
                        str(BURST),
                        str(out),
                    ],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for count, out in zip(share, outs, strict=True)
            ]
            for worker in workers:
                assert worker.stdout is not None
                if worker.stdout.readline().strip() != "ready":
                    raise RuntimeError("load generator failed to connect its readers")
            time.sleep(1.0)
            rss_after = rss_kib(server.process.pid)
            cpu_before = cpu_seconds(server.process.pid)
            asyncio.run(server.publish(BURST))
            for worker in workers:
                worker.wait(timeout=RUN_S)
            server_cpu = cpu_seconds(server.process.pid) - cpu_before
        finally:
            server.stop()
        results = [orjson.loads(out.read_bytes()) for out in outs]
    latencies = [value for result in results for value in result["latencies_us"]]
    span_ns = max(r["last_receipt_ns"] for r in results) - min(
        r["first_publish_ns"] for r in results
    )
    return Sample(
        server=kind,
        readers=readers,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        max_ms=percentile(latencies, 1.0),
        deliveries_per_s=len(latencies) / (span_ns / 1e9) if span_ns > 0 else 0.0,
        complete=all(r["complete"] == r["readers"] for r in results),
        rss_per_reader_kib=(rss_after - rss_before) / readers,
        loadgen_cpu_s=max(r["cpu_seconds"] for r in results),
        server_cpu_s=server_cpu,
    )


def median_sample(samples: list[Sample]) -> Sample:
    """Field-wise medians of repeated runs of one (server, readers) cell."""
    first = samples[0]
    values: dict[str, Any] = asdict(first)
    for name, value in values.items():
        if isinstance(value, float):
            values[name] = statistics.median(getattr(s, name) for s in samples)
    values["complete"] = all(s.complete for s in samples)
    return Sample(**values)


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller matrix, one run per cell")
    args = parser.parse_args()
    sizes = [1000, 5000] if args.quick else [1000, 5000, 10000]
    repeats = 1 if args.quick else 3
    kinds = ["websockets", "fastapi-naive", "liveblog"]
    cells: list[Sample] = []
    for readers in sizes:
        for kind in kinds:  # side by side: all servers at one size before the next size
            runs = [fan_out(kind, readers) for _ in range(repeats)]
            cell = median_sample(runs)
            cells.append(cell)
            print(
                f"{kind:>14} N={readers:>6}: p50 {cell.p50_ms:7.1f} ms  p99 {cell.p99_ms:7.1f} ms  "
                f"max {cell.max_ms:7.1f} ms  {cell.deliveries_per_s:9.0f} deliveries/s  "
                f"{cell.rss_per_reader_kib:5.1f} KiB/reader  complete={cell.complete}  "
                f"loadgen CPU {cell.loadgen_cpu_s:.1f}s  server CPU {cell.server_cpu_s:.1f}s",
                flush=True,
            )
    RESULTS.mkdir(exist_ok=True)
    name = "quick" if args.quick else "full"
    (RESULTS / f"fan-out-{name}.json").write_bytes(
        orjson.dumps({"machine": machine(), "burst": BURST, "repeats": repeats,
                      "cells": [asdict(c) for c in cells]}, option=orjson.OPT_INDENT_2)
    )  # fmt: skip


if __name__ == "__main__":
    main()
