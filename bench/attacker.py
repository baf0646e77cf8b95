"""An anonymous attacker for the abuse scenarios, bound to its own loopback address.

    python -m bench.attacker MODE HOST PORT SLUG --source 127.0.0.2 --rate R --seconds S

MODE is one of:
- `storm`: R WebSocket upgrades a second, each with `?since=0`, reset (SO_LINGER 0) right after
  the request is sent, as a botnet probing for expensive handshakes would;
- `flood`: R connections a second that upgrade, then send 60 KiB text frames as fast as the
  socket takes them until the server closes them (and the next one starts);
- `frames`: the same with 100-byte text frames (each under the frame size limit);
- `pongs`: the same with unasked-for pong frames (control frames, which readers may send);
- `spray`: R console sign-ins a second, each a wrong password for another username, from
  SPRAY_ADDRESSES loopback addresses in turn (--source and up), as a password spray from many
  addresses would (issue 22).

The attack rate is fixed, whatever the target answers, so a control run against a socket that
accepts and discards (the driver's "elsewhere") costs the attacker the same. Bounded by S
seconds; it prints its own CPU seconds and the count of connections it made on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import ipaddress
import os
import socket
import struct
import time


def _request(host: str, port: int, slug: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /ws/liveblogs/{slug}?since=0 HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def _frame(opcode: int, size: int) -> bytes:
    """One masked frame of `size` bytes, as a client must send (RFC 6455 §5.3)."""
    payload = b"x" * size
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[n % 4] for n, byte in enumerate(payload))
    short = size < 126  # the length fits the header's 7 bits; else 127 and 8 bytes follow
    length = bytes([0x80 | size]) if short else bytes([0x80 | 127]) + struct.pack("!Q", size)
    return bytes([0x80 | opcode]) + length + mask + masked


SPRAY_ADDRESSES = 50


def _sign_in(host: str, port: int, n: int) -> bytes:
    body = f"username=sprayed{n}&password=guess+number+{n}".encode()
    return (
        f"POST /console/sign-in HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Origin: http://{host}:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


# What each flooding mode sends, over and over: 60 KiB text, 100-byte text, a 100-byte pong.
FRAMES = {"flood": _frame(0x1, 60 * 1024), "frames": _frame(0x1, 100), "pongs": _frame(0xA, 100)}
# Small frames go out in batches, so the attacker is not limited by its own write calls.
BATCH = {"flood": 1, "frames": 64, "pongs": 64}


async def _storm_one(host: str, port: int, slug: str, source: str) -> None:
    sock = socket.socket()
    sock.setblocking(False)
    sock.bind((source, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    try:
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        await asyncio.get_running_loop().sock_sendall(sock, _request(host, port, slug))
    except OSError:
        pass
    finally:
        sock.close()


async def _flood_one(host: str, port: int, slug: str, source: str, frame: bytes) -> None:
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, local_addr=(source, 0)), 5
        )
    except (OSError, TimeoutError):
        return
    try:
        writer.write(_request(host, port, slug))
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        for _ in range(2000):  # the server should close long before
            writer.write(frame)
            await asyncio.wait_for(writer.drain(), 5)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.transport.abort()


async def _spray_one(host: str, port: int, source: str, n: int) -> None:
    """One wrong sign-in from the nth address; reads the answer's head, then hangs up."""
    address = str(ipaddress.ip_address(source) + n % SPRAY_ADDRESSES)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, local_addr=(address, 0)), 5
        )
    except (OSError, TimeoutError):
        return
    try:
        writer.write(_sign_in(host, port, n))
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.transport.abort()


async def attack(mode: str, host: str, port: int, slug: str, source: str, rate: float,
                 seconds: float) -> int:  # fmt: skip
    frame = FRAMES.get(mode, b"") * BATCH.get(mode, 1)
    started = time.monotonic()
    tasks: set[asyncio.Task[None]] = set()
    made = 0
    while time.monotonic() - started < seconds:
        if mode == "storm":
            coroutine = _storm_one(host, port, slug, source)
        elif mode == "spray":
            coroutine = _spray_one(host, port, source, made)
        else:
            coroutine = _flood_one(host, port, slug, source, frame)
        task = asyncio.create_task(coroutine)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        made += 1
        await asyncio.sleep(max(0.0, started + made / rate - time.monotonic()))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["storm", "flood", "frames", "pongs", "spray"])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("slug")
    parser.add_argument("--source", default="127.0.0.2")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    made = asyncio.run(
        attack(args.mode, args.host, args.port, args.slug, args.source, args.rate, args.seconds)
    )
    print(f"{time.process_time():.3f} {made}", flush=True)


if __name__ == "__main__":
    main()
