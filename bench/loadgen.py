"""Load generator worker: holds N WebSocket readers and records when each message arrives.

Run as a separate process (the driver starts two or more), so it is not the server's CPU it
measures. It speaks WebSocket through websockets' sans-I/O protocol on plain asyncio transports:
about a tenth of the per-connection cost of a full client, so 5,000 readers fit one process.

    python -m bench.loadgen URL READERS EXPECTED OUT.json

Prints "ready" once every reader has its hello, then waits (bounded by a deadline) until every
reader has EXPECTED messages, and writes latencies (µs, publish → receipt) and its own CPU time.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from bench.message import published_ns

CONNECT_BATCH = 250
READY_DEADLINE_S = 120
RUN_DEADLINE_S = 120


class Stats:
    def __init__(self, readers: int, expected: int) -> None:
        self.expected = expected
        self.ready = 0
        self.finished = 0
        self.readers = readers
        self.latencies_us: list[int] = []
        self.first_publish_ns = 0
        self.last_receipt_ns = 0
        self.all_ready = asyncio.Event()
        self.all_done = asyncio.Event()


class Reader(asyncio.Protocol):
    def __init__(self, uri: str, stats: Stats) -> None:
        self.protocol = ClientProtocol(parse_uri(uri), max_size=None)
        self.stats = stats
        self.received = 0
        self.hello = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self._message(event.data, now)
            elif isinstance(event, Response) and event.status_code != 101:
                raise RuntimeError(f"handshake refused: {event.status_code}")
        self._flush()

    def _message(self, data: bytes, now: int) -> None:
        if not self.hello:
            self.hello = True
            self.stats.ready += 1
            if self.stats.ready == self.stats.readers:
                self.stats.all_ready.set()
            return
        message = orjson.loads(data)
        if message.get("type") != "entry.created":
            return
        published = published_ns(message)
        stats = self.stats
        stats.latencies_us.append((now - published) // 1000)
        if not stats.first_publish_ns or published < stats.first_publish_ns:
            stats.first_publish_ns = published
        stats.last_receipt_ns = max(stats.last_receipt_ns, now)
        self.received += 1
        if self.received == self.stats.expected:
            self.stats.finished += 1
            if self.stats.finished == self.stats.readers:
                self.stats.all_done.set()

    def _flush(self) -> None:
        data = self.protocol.data_to_send()
        if data and self.transport is not None:
            self.transport.write(b"".join(data))


async def run(url: str, readers: int, expected: int, out: Path) -> None:
    parts = urlsplit(url)
    stats = Stats(readers, expected)
    loop = asyncio.get_running_loop()
    connections: list[Reader] = []
    for start in range(0, readers, CONNECT_BATCH):
        batch = min(CONNECT_BATCH, readers - start)
        made = await asyncio.gather(
            *(
                loop.create_connection(lambda: Reader(url, stats), parts.hostname, parts.port)
                for _ in range(batch)
            )
        )
        connections += [protocol for _, protocol in made]
    await asyncio.wait_for(stats.all_ready.wait(), READY_DEADLINE_S)
    print("ready", flush=True)
    started_cpu = resource.getrusage(resource.RUSAGE_SELF)
    timed_out = False
    try:
        await asyncio.wait_for(stats.all_done.wait(), RUN_DEADLINE_S)
    except TimeoutError:
        timed_out = True
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (used.ru_utime - started_cpu.ru_utime) + (used.ru_stime - started_cpu.ru_stime)
    report = orjson.dumps(
        {
            "readers": readers,
            "complete": stats.finished,
            "timed_out": timed_out,
            "cpu_seconds": cpu,
            "first_publish_ns": stats.first_publish_ns,
            "last_receipt_ns": stats.last_receipt_ns,
            "latencies_us": stats.latencies_us,
        }
    )
    await asyncio.to_thread(out.write_bytes, report)
    for connection in connections:
        if connection.transport is not None:
            connection.transport.abort()


def main() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    url, readers, expected, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    asyncio.run(run(url, readers, expected, out))


if __name__ == "__main__":
    main()
