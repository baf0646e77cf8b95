"""Abuse (issues 11, 22): healthy readers' latency while an anonymous attacker targets the server.

1,000 healthy readers take ATTACK_MESSAGES entries while an attacker on other loopback addresses
storms upgrades (at 300 a second, or as fast as one attacker process goes), floods frames or
sprays wrong sign-ins at a fixed rate, against this server or (the control) a socket elsewhere
that answers alike. Every limit is at its default (the upgrade budget's burst of 2,000 lets the
1,000 readers of 127.0.0.1 connect at once; the attacker, from 127.0.0.2, spends the same
allowance in the warm-up). Beside the readers' latency: /healthz on a fresh connection every
0.1 s (as a load balancer probes), and the server's RSS growth.

    python -m bench.scenarios.attack [MODE ...] [--repeats 3]

runs aimed and control back to back for each mode and prints the table BENCHMARKS.md shows.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
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
    median_of,
    percentile,
    rss_kib,
    running,
)  # fmt: skip

ATTACK_READERS = 1000
ATTACK_MESSAGES = 40
ATTACK_INTERVAL = 0.1
ATTACK_WARMUP = 4.0  # the attacker spends its burst first: what is measured is the sustained
ATTACK_SECONDS = ATTACK_WARMUP + ATTACK_MESSAGES * ATTACK_INTERVAL + 3.0
ATTACK_SOURCE = "127.0.0.2"
# Connections a second; "spray": wrong sign-ins, from 50 addresses in turn (bench/attacker.py);
# "storm-full": the storm as fast as one attacker process on this machine sends it.
ATTACK_RATES = {
    "storm": 300.0,
    "storm-full": 2000.0,
    "flood": 20.0,
    "frames": 20.0,
    "pongs": 20.0,
    "spray": 50.0,
}
ATTACKER_MODE = {"storm-full": "storm"}
# Healthy readers' p99 at most this many times the control's (issue 22 asks 1.3x of the spray
# and the full-speed storm; issue 11 asked 1.5x of the rest).
ATTACK_P99_BOUND = {"spray": 1.3, "storm-full": 1.3}
HEALTHZ_BOUND_MS = 1000.0  # issue 22: /healthz on a fresh connection, under any attack
RSS_GROWTH_BOUND_MIB = 64.0  # issue 22: the spray
ATTACK_ENV = {"LIVEBLOG_MAX_SOCKETS_PER_ADDRESS": "2000"}  # the 1,000 readers share 127.0.0.1
HEALTHZ_EVERY = 0.1


class HealthProbe:
    """GET /healthz on a new connection every HEALTHZ_EVERY seconds, in a thread of its own, as
    a load balancer does; a probe that fails or takes 10 s counts as 10 s."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.times_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        while not self._stop.wait(HEALTHZ_EVERY):
            started = time.monotonic()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
                    sock.sendall(request)
                    answered = sock.recv(64).startswith(b"HTTP/1.1 200")
            except OSError:
                answered = False
            elapsed = (time.monotonic() - started) * 1000
            self.times_ms.append(elapsed if answered else 10_000.0)


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
        rss_before = rss_kib(server.pid)
        attacker = subprocess.Popen(
            [PYTHON, "-m", "bench.attacker", ATTACKER_MODE.get(mode, mode), "127.0.0.1",
             str(port), "bench", "--source", ATTACK_SOURCE, "--rate", str(ATTACK_RATES[mode]),
             "--seconds", str(ATTACK_SECONDS)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(ATTACK_WARMUP)
        cpu_before = cpu_seconds(server.pid)
        with HealthProbe(server.port) as health:
            asyncio.run(server.publish(ATTACK_MESSAGES, ATTACK_INTERVAL))
            results = crowd.results()
        server_cpu = cpu_seconds(server.pid) - cpu_before
        out, _ = attacker.communicate(timeout=ATTACK_SECONDS + 30)
        rss_growth = (rss_kib(server.pid) - rss_before) / 1024
    attacker_cpu, made = out.split()
    return {
        **Latency.of(latencies_ms(results)).__dict__,
        "complete": complete(results),
        "healthz_p50_ms": percentile(health.times_ms, 0.5),
        "healthz_max_ms": max(health.times_ms, default=0.0),
        "rss_growth_mib": rss_growth,
        "server_cpu_s": server_cpu,
        "attacker_cpu_s": float(attacker_cpu),
        "attacker_connections": int(made),
    }


def met(mode: str, aimed: dict[str, Any], control: dict[str, Any]) -> bool:
    """The targets: readers' p99 within the mode's bound of the control's, all delivered,
    /healthz within 1 s; for the spray, RSS growth within 64 MiB too."""
    return (
        aimed["p99_ms"] <= ATTACK_P99_BOUND.get(mode, 1.5) * control["p99_ms"]
        and aimed["complete"]
        and aimed["healthz_max_ms"] < HEALTHZ_BOUND_MS
        and (mode != "spray" or aimed["rss_growth_mib"] < RSS_GROWTH_BOUND_MIB)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modes", nargs="*", help=f"of {', '.join(ATTACK_RATES)} (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if unknown := set(args.modes) - set(ATTACK_RATES):
        parser.error(f"no such mode: {', '.join(sorted(unknown))}")
    print("| attack | run | readers' p50 | readers' p99 | /healthz max | RSS growth | server CPU "
          "| attacker connections | met |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    failed = False
    for mode in args.modes or list(ATTACK_RATES):
        runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
        for _ in range(args.repeats):
            for aimed in (False, True):  # each pair back to back
                runs[aimed].append(under_attack(mode, aimed))
        control, aimed = median_of(runs[False]), median_of(runs[True])
        ok = met(mode, aimed, control)
        failed |= not ok
        for label, cell in (("control", control), ("**aimed**", aimed)):
            ratio = f" ({cell['p99_ms'] / control['p99_ms']:.2f}x)" if cell is aimed else ""
            print(f"| {mode} at {ATTACK_RATES[mode]:.0f}/s | {label} | {cell['p50_ms']:.1f} ms "
                  f"| {cell['p99_ms']:.1f} ms{ratio} | {cell['healthz_max_ms']:.0f} ms "
                  f"| {cell['rss_growth_mib']:.1f} MiB | {cell['server_cpu_s']:.2f} s "
                  f"| {cell['attacker_connections']:,.0f} | {'yes' if ok else 'NO'} |",
                  flush=True)  # fmt: skip
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
