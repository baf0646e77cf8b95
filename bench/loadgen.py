"""Load generator worker: holds N WebSocket readers and records when each message arrives.

Run as a separate process (the driver starts two or more), so it is not the server's CPU it
measures. Its readers are bare asyncio protocols that split WebSocket frames by hand: a delivery
costs the load generator a fraction of what it costs the server (the summary reports both CPU
times), so 5,000 readers fit one process.

    python -m bench.loadgen URL READERS EXPECTED OUT.json [--stalled K] [--deadline S]
        [--protocol liveblog|socketio] [--source ADDRESS]

Connects READERS readers (at most CONNECT_BATCH handshakes in flight, each until its hello; a
refused one is tried again after a pause, and counted), prints "ready" once each has its first
frame (the hello), then waits, bounded by a deadline, until every healthy reader
has EXPECTED more frames. The first K readers are *stalled*: tiny receive buffers, and they stop
reading after the hello, like a phone in a tunnel. At the end they read again, to see whether
the server dropped them. Writes to OUT.json: per received event (seq, receipt time, publish time
from the message's created_at), connection and completion times, and its own CPU time.

--protocol liveblog (the default): every text frame is a message, the first one the hello; for
Liveblog and the servers that speak like it (/ws). --protocol socketio: Engine.IO v4 / Socket.IO
v5 over the websocket transport, for the Socket.IO peers (bench/servers/), at URL path
/socket.io/?EIO=4&transport=websocket: the reader answers the Engine.IO open packet with a
namespace connect (`40`), is ready ("hello") when the server accepts it (`40{"sid":...}`),
answers pings (`2`) with pongs (`3`), and takes each event `42["entry",{...}]`'s argument as the
message. --source binds every reader to that loopback address (127.0.0.0/8) before it connects:
a few load generators, each on its own address, do not share one address's ephemeral ports.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import resource
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from bench.message import published_ns

CONNECT_BATCH = 250  # handshakes in flight, each until its hello
CONNECT_ATTEMPTS = 5
RETRY_PAUSE_S = 0.5
READY_DEADLINE_S = 120
RUN_DEADLINE_S = 120
STALLED_RCVBUF = 4096
STALLED_CHECK_S = 10


class Stats:
    def __init__(self, healthy: int, expected: int) -> None:
        self.expected = expected
        self.healthy = healthy
        self.ready = 0
        self.retries = 0  # handshakes refused or dropped, then tried again
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
    """One WebSocket reader, as cheap as we can make it so the server is what we measure.

    The handshake is a fixed HTTP upgrade request; after it, frames are split by hand. Server
    frames are never masked and, here, never fragmented or compressed, so a frame is a 2- or
    4-byte header and its payload. Pings are answered and a close frame is recorded.
    """

    def __init__(self, uri: str, stats: Stats, stalled: bool) -> None:
        parts = urlsplit(uri)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: bGl2ZWJsb2ctYmVuY2gxMg==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.stats = stats
        self.stalled = stalled
        self.received = 0
        self.hello = False
        self.upgraded = False
        self.buffer = b""
        self.close_code: int | None = None
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.lost = loop.create_future()
        # True at the hello; False if the server refused the upgrade or hung up before it.
        self.settled: asyncio.Future[bool] = loop.create_future()
        self.refusal = ""  # why, for the error when every attempt failed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        if not self.settled.done():
            self.refusal = self.refusal or f"connection lost before the hello ({exc!r})"
            self.settled.set_result(False)

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        buffer = self.buffer + data if self.buffer else data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                # Refused (a 503 at a cap, a 429): the reader tries again, as a browser would.
                self.refusal = buffer[: buffer.find(b"\r\n")].decode(errors="replace")
                self.settled.set_result(False)
                assert self.transport is not None
                self.transport.abort()
                return
            self.upgraded = True
            buffer = buffer[end + 4 :]
        position, size = 0, len(buffer)
        while size - position >= 2:
            first, second = buffer[position], buffer[position + 1]
            length, header = second & 0x7F, 2
            if length == 126:
                if size - position < 4:
                    break
                length, header = int.from_bytes(buffer[position + 2 : position + 4]), 4
            elif length == 127:
                if size - position < 10:
                    break
                length, header = int.from_bytes(buffer[position + 2 : position + 10]), 10
            end = position + header + length
            if end > size:
                break
            self._frame(first & 0x0F, buffer[position + header : end], now)
            position = end
        self.buffer = buffer[position:]

    def _frame(self, opcode: int, payload: bytes, now: int) -> None:
        if opcode == 0x1:
            self._message(payload, now)
        elif opcode == 0x9:
            self._send(0xA, payload)  # pong
        elif opcode == 0x8:
            self.close_code = int.from_bytes(payload[:2]) if len(payload) >= 2 else 1005
            self._send(0x8, payload[:2])

    def _send(self, opcode: int, payload: bytes) -> None:
        """A client frame: final, masked with a zero key (so the payload is unchanged)."""
        if self.transport is not None and not self.transport.is_closing():
            header = bytes((0x80 | opcode, 0x80 | len(payload))) + bytes(4)
            self.transport.write(header + payload)

    def _message(self, data: bytes, now: int) -> None:
        if not self.hello:
            self._hello()
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
            self._finished(now)

    def _hello(self) -> None:
        """The reader is connected: ready, or (stalled) it stops reading."""
        self.hello = True
        self.settled.set_result(True)
        if self.stalled:
            assert self.transport is not None
            self.transport.pause_reading()
            return
        self.stats.ready += 1
        if self.stats.ready == self.stats.healthy:
            self.stats.all_ready.set()

    def _finished(self, now: int) -> None:
        stats = self.stats
        stats.finished += 1
        if stats.finished == stats.healthy:
            stats.done_ns = now
            stats.all_done.set()


class SocketIOReader(Reader):
    """A reader of the Socket.IO peers: Engine.IO v4 / Socket.IO v5 over the websocket transport.

    Every Engine.IO packet is one text frame: `0{...}` open (answered with `40`, connect to the
    default namespace), `40{"sid":...}` connected (the hello), `2` ping (answered with `3`),
    `42["entry",{...}]` an event, whose argument is the message.
    """

    def _message(self, data: bytes, now: int) -> None:
        kind = data[:2]
        if kind == b"42":
            if self.stalled:
                return  # reading again at the end; not measured
            message = orjson.loads(data[2:])[1]
            if not str(message.get("type", "")).startswith("entry."):
                return
            # As Reader._message, unshared so the liveblog path pays no extra call per frame.
            stats = self.stats
            stats.seqs.append(message["seq"])
            stats.receipts_ns.append(now)
            stats.published_ns.append(published_ns(message))
            self.received += 1
            if self.received == stats.expected:
                self._finished(now)
        elif data == b"2":
            self._send(0x1, b"3")
        elif kind == b"40":
            if not self.hello:
                self._hello()
        elif kind[:1] == b"0":
            self._send(0x1, b"40")
        elif kind == b"44":
            raise RuntimeError(f"namespace connect refused: {data[:80]!r}")


PROTOCOLS: dict[str, type[Reader]] = {"liveblog": Reader, "socketio": SocketIOReader}


def loopback_source(address: str) -> str:
    """--source: an IPv4 loopback address (127.0.0.0/8), the only kind a reader may bind."""
    if ipaddress.ip_address(address) not in ipaddress.ip_network("127.0.0.0/8"):
        raise argparse.ArgumentTypeError(f"{address} is not in 127.0.0.0/8")
    return address


async def connect(
    url: str, stats: Stats, stalled: bool, kind: type[Reader] = Reader, source: str | None = None
) -> Reader:
    """One reader, connected and past its hello. A refused or dropped handshake is tried again
    after a pause (at most CONNECT_ATTEMPTS times), as the reader page does; each retry counts."""
    parts = urlsplit(url)
    assert parts.hostname in ("127.0.0.1", "::1", "localhost"), "loopback only"
    loop = asyncio.get_running_loop()
    reason = ""
    for attempt in range(CONNECT_ATTEMPTS):
        if attempt:
            stats.retries += 1
            await asyncio.sleep(RETRY_PAUSE_S * attempt)
        sock = socket.socket()
        sock.setblocking(False)
        if stalled:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF)
        if source is not None:
            assert ipaddress.ip_address(source) in ipaddress.ip_network("127.0.0.0/8")
            sock.bind((source, 0))
        try:
            await loop.sock_connect(sock, (parts.hostname, parts.port))
        except OSError as error:
            sock.close()
            reason = f"connect: {error!r}"
            continue
        _, reader = await loop.create_connection(lambda: kind(url, stats, stalled), sock=sock)
        if await asyncio.wait_for(reader.settled, READY_DEADLINE_S):
            return reader
        reason = reader.refusal
    raise RuntimeError(f"no handshake after {CONNECT_ATTEMPTS} attempts; the last: {reason}")


async def run(
    url: str,
    readers: int,
    expected: int,
    out: Path,
    stalled: int,
    deadline: float,
    protocol: str = "liveblog",
    source: str | None = None,
) -> None:
    kind = PROTOCOLS[protocol]
    stats = Stats(readers - stalled, expected)
    started_ns = time.time_ns()
    connections: list[Reader] = []
    for start in range(0, readers, CONNECT_BATCH):
        batch = range(start, min(readers, start + CONNECT_BATCH))
        connections += await asyncio.gather(
            *(connect(url, stats, n < stalled, kind, source) for n in batch)
        )
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
            "retries": stats.retries,
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
    return sum(1 for r in stalled if r.lost.done() or r.close_code is not None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("readers", type=int)
    parser.add_argument("expected", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--stalled", type=int, default=0)
    parser.add_argument("--deadline", type=float, default=RUN_DEADLINE_S)
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="liveblog")
    parser.add_argument("--source", type=loopback_source, default=None)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = run(
        args.url, args.readers, args.expected, args.out, args.stalled, args.deadline,
        args.protocol, args.source,
    )  # fmt: skip
    asyncio.run(work)


if __name__ == "__main__":
    main()
