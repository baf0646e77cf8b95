"""Abuse (issues 11, 22): healthy readers' latency while an anonymous attacker targets the server.

1,000 healthy readers take ATTACK_MESSAGES entries while an attacker on other loopback addresses
storms upgrades, floods frames or sprays wrong sign-ins at a fixed rate, against this server or
(the control) a socket elsewhere that answers alike. The per-address limits are at their
defaults except the burst, which must let the 1,000 readers of 127.0.0.1 connect at once (the
attacker, from 127.0.0.2, gets the same allowance); the password-check bounds at theirs.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.harness import (
    LIVEBLOG,
    PYTHON,
    ROOT,
    Latency,
    Readers,
    complete,
    cpu_seconds,
    latencies_ms,
    running,
)  # fmt: skip

ATTACK_READERS = 1000
ATTACK_MESSAGES = 40
ATTACK_INTERVAL = 0.1
ATTACK_WARMUP = 4.0  # the attacker spends its burst first: what is measured is the sustained
ATTACK_SECONDS = ATTACK_WARMUP + ATTACK_MESSAGES * ATTACK_INTERVAL + 3.0
ATTACK_SOURCE = "127.0.0.2"
# Connections a second; "spray": wrong sign-ins, from 50 addresses in turn (bench/attacker.py).
ATTACK_RATES = {"storm": 300.0, "flood": 20.0, "frames": 20.0, "pongs": 20.0, "spray": 50.0}
# Healthy readers' p99 at most this many times the control's (issue 22 asks 1.3x of the spray).
ATTACK_P99_BOUND = {"spray": 1.3}
ATTACK_ENV = {
    "LIVEBLOG_UPGRADE_RATE": "20",
    "LIVEBLOG_UPGRADE_BURST": "1000",
    "LIVEBLOG_MAX_SOCKETS_PER_ADDRESS": "2000",
}


@contextmanager
def elsewhere() -> Iterator[int]:
    """The control target: accepts, answers an upgrade (or a sign-in) with 101, reads and
    discards, and hangs up after 64 KiB (as Liveblog hangs up on a 60 KiB frame)."""

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
            [PYTHON, "-m", "bench.attacker", mode, "127.0.0.1", str(port), "bench",
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
