"""Load generator worker: holds N WebSocket readers and records when each message arrives.

Run as a separate process (the driver starts two or more), so it is not the server's CPU it
measures. It speaks WebSocket through websockets' sans-I/O protocol on plain asyncio transports:
about a tenth of the per-connection cost of a full client, so 5,000 readers fit one process.

    python -m bench.loadgen URL READERS EXPECTED OUT.json [--stalled K] [--deadline S]

Connects READERS readers (at most CONNECT_BATCH handshakes in flight), prints "ready" once each
has its first frame (the hello), then waits, bounded by a deadline, until every healthy reader
has EXPECTED more frames. The first K readers are *stalled*: tiny receive buffers, and they stop
reading after the hello, like a phone in a tunnel. At the end they read again, to see whether
the server dropped them. Writes to OUT.json: per received event (seq, receipt time, publish time
from the message's created_at), connection and completion times, and its own CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import socket
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
STALLED_RCVBUF = 4096
STALLED_CHECK_S = 10


class Stats:
    def __init__(self, healthy: int, expected: int) -> None:
        self.expected = expected
        self.healthy = healthy
        self.ready = 0
        self.finished = 0
        self.seqs: list[int] = []
        self.receipts_ns: list[int] = []
        self.published_ns: list[int] = []
        self.all_ready = asyncio.Event()
        self.all_done = asyncio.Event()
        self.done_ns = 0
        if expected == 0:
            self.all_done.set()


class Reader(asyncio.Protocol):
    def __init__(self, uri: str, stats: Stats, stalled: bool) -> None:
        self.protocol = ClientProtocol(parse_uri(uri), max_size=None)
        self.stats = stats
        self.stalled = stalled
        self.received = 0
        self.hello = False
        self.transport: asyncio.Transport | None = None
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)

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
            if self.stalled:
                assert self.transport is not None
                self.transport.pause_reading()
                return
            self.stats.ready += 1
            if self.stats.ready == self.stats.healthy:
                self.stats.all_ready.set()
            return
        if self.stalled:
            return  # reading again at the end; not measured
        message = orjson.loads(data)
        if not str(message.get("type", "")).startswith("entry."):
            return
        stats = self.stats
        stats.seqs.append(message["seq"])
        stats.receipts_ns.append(now)
        stats.published_ns.append(published_ns(message))
        self.received += 1
        if self.received == stats.expected:
            stats.finished += 1
            if stats.finished == stats.healthy:
                stats.done_ns = now
                stats.all_done.set()

    def _flush(self) -> None:
        data = self.protocol.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(data))


async def connect(url: str, stats: Stats, stalled: bool) -> Reader:
    parts = urlsplit(url)
    assert parts.hostname in ("127.0.0.1", "::1", "localhost"), "loopback only"
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setblocking(False)
    if stalled:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF)
    await loop.sock_connect(sock, (parts.hostname, parts.port))
    _, reader = await loop.create_connection(lambda: Reader(url, stats, stalled), sock=sock)
    return reader


async def run(
    url: str, readers: int, expected: int, out: Path, stalled: int, deadline: float
) -> None:
    stats = Stats(readers - stalled, expected)
    started_ns = time.time_ns()
    connections: list[Reader] = []
    for start in range(0, readers, CONNECT_BATCH):
        batch = range(start, min(readers, start + CONNECT_BATCH))
        connections += await asyncio.gather(*(connect(url, stats, n < stalled) for n in batch))
    await asyncio.wait_for(stats.all_ready.wait(), READY_DEADLINE_S)
    ready_ns = time.time_ns()
    print("ready", flush=True)
    started_cpu = resource.getrusage(resource.RUSAGE_SELF)
    timed_out = False
    try:
        await asyncio.wait_for(stats.all_done.wait(), deadline)
    except TimeoutError:
        timed_out = True
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (used.ru_utime - started_cpu.ru_utime) + (used.ru_stime - started_cpu.ru_stime)
    dropped = await _stalled_outcome([c for c in connections if c.stalled])
    report = orjson.dumps(
        {
            "readers": readers - stalled,
            "complete": stats.finished,
            "timed_out": timed_out,
            "cpu_seconds": cpu,
            "started_ns": started_ns,
            "ready_ns": ready_ns,
            "done_ns": stats.done_ns,
            "seqs": stats.seqs,
            "receipts_ns": stats.receipts_ns,
            "published_ns": stats.published_ns,
            "stalled": stalled,
            "stalled_dropped": dropped,
        }
    )
    await asyncio.to_thread(out.write_bytes, report)
    for connection in connections:
        if connection.transport is not None:
            connection.transport.abort()


async def _stalled_outcome(stalled: list[Reader]) -> int:
    """Let stalled readers read again: how many find the server has closed them?"""
    if not stalled:
        return 0
    for reader in stalled:
        assert reader.transport is not None
        reader.transport.resume_reading()
    await asyncio.wait([r.lost for r in stalled], timeout=STALLED_CHECK_S)
    return sum(1 for r in stalled if r.lost.done() or r.protocol.close_rcvd is not None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("readers", type=int)
    parser.add_argument("expected", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--stalled", type=int, default=0)
    parser.add_argument("--deadline", type=float, default=RUN_DEADLINE_S)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(run(args.url, args.readers, args.expected, args.out, args.stalled, args.deadline))


if __name__ == "__main__":
    main()
