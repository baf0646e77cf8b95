"""Markdown tables from a results file, for BENCHMARKS.md.

python -m bench.report bench/results/full.json
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from bench.harness import KINDS

PEERS = ("node-ws", "socket.io", "python-socketio")


def _name(kind: str) -> str:
    return KINDS[kind].label


def _cells(results: dict[str, Any], prefix: str) -> list[tuple[str, dict[str, Any]]]:
    return [(label, cell) for label, cell in results.items() if label.startswith(prefix)]


def _size(label: str) -> int:
    return int(label.rsplit("=", 1)[1])


def report(data: dict[str, Any]) -> str:
    results = data["results"]
    lines = [
        f"Medians of {data['repeats']} runs unless marked single. Machine: "
        + ", ".join(data["machine"].values())
        + f". The whole run took {data.get('seconds', 0) / 60:.0f} min.",
    ]
    if data.get("single_runs"):
        lines += ["", "Single runs: " + ", ".join(f"`{c}`" for c in data["single_runs"]) + "."]
    for what, why in data.get("skipped", {}).items():
        lines += ["", f"Skipped: {what}, {why}."]
    for what, why in data.get("failed", {}).items():
        lines += ["", f"**Failed**: `{what}`: {why}"]
    settings: dict[str, str] = next(
        (cell["settings"] for label, cell in results.items() if label == "P1 liveblog N=1000"), {}
    )
    if settings:
        shown = ", ".join(f"`{k}={v}`" for k, v in settings.items())
        lines += ["", f"Liveblog's settings in every scenario unless its table says: {shown}."]
    lines += _fan_out(results) + _peers(results) + _end_to_end(results)
    lines += _per_process_and_box(results) + _cost(results) + _slow(results)
    lines += _ingest(results) + _storm_and_big(results) + _targets(data)
    return "\n".join(lines)


def _fan_out(results: dict[str, Any]) -> list[str]:
    lines = ["", "### P1 fan-out and P4 memory, one process each", ""]
    lines += [
        "| server | N | p50 | p99 | max | deliveries/s | p99 vs (a) | rate vs (a) "
        "| memory per idle reader | vs (a) | server CPU per delivery | load-gen CPU (each) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, cell in _cells(results, "P1 "):
        _, kind, size = label.split()
        ref = results.get(f"P1 websockets {size}")
        vs = (
            (
                f"{cell['p99_ms'] / ref['p99_ms']:.2f}x",
                f"{cell['deliveries_per_s'] / ref['deliveries_per_s']:.2f}x",
                f"{cell['rss_per_reader_kib'] / ref['rss_per_reader_kib']:.2f}x",
            )
            if ref
            else ("", "", "")
        )
        lines.append(
            f"| {_name(kind)} | {_size(label):,} | {cell['p50_ms']:.1f} ms "
            f"| {cell['p99_ms']:.1f} ms | {cell['max_ms']:.1f} ms "
            f"| {cell['deliveries_per_s']:,.0f} | {vs[0]} | {vs[1]} "
            f"| {cell['rss_per_reader_kib']:.1f} KiB | {vs[2]} "
            f"| {cell['server_cpu_us_per_delivery']:.1f} µs | {cell['loadgen_cpu_s']:.2f} s |"
        )
    return lines


def _peers(results: dict[str, Any]) -> list[str]:
    """Liveblog divided by each peer, at every size both were measured."""

    def cpu(cell: dict[str, Any]) -> float:
        return float(cell["server_cpu_us_per_delivery"])

    rows = []
    for label, cell in _cells(results, "P1 liveblog N="):
        size = label.rsplit(" ", 1)[1]
        for peer in PEERS:
            other = results.get(f"P1 {peer} {size}")
            if other is None:
                continue
            rows.append(
                f"| {_name(peer)} | {_size(label):,} "
                f"| {cell['p99_ms'] / other['p99_ms']:.2f}x "
                f"| {cell['deliveries_per_s'] / other['deliveries_per_s']:.2f}x "
                f"| {cell['rss_per_reader_kib'] / other['rss_per_reader_kib']:.2f}x "
                f"| {cpu(cell) / cpu(other):.2f}x |"
            )
    if not rows:
        return []
    return [
        "", "### Liveblog against the peers (Liveblog ÷ peer; below 1 is better except rate)", "",
        "| peer | N | p99 | deliveries/s | memory per idle reader | server CPU per delivery |",
        "|---|---|---|---|---|---|", *rows,
    ]  # fmt: skip


def _end_to_end(results: dict[str, Any]) -> list[str]:
    lines = ["", "### P2 end to end (an entry every 250 ms → every reader)", ""]
    lines += [
        "| server | N | p50 | p99 | max | p99 vs (a) | complete |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, cell in _cells(results, "P2 "):
        _, kind, size = label.split()
        ref = results[f"P2 websockets {size}"]
        lines.append(
            f"| {_name(kind)} | {_size(label):,} | {cell['p50_ms']:.1f} ms "
            f"| {cell['p99_ms']:.1f} ms | {cell['max_ms']:.1f} ms "
            f"| {cell['p99_ms'] / ref['p99_ms']:.2f}x | {cell['complete']} |"
        )
    return lines


def _per_process_and_box(results: dict[str, Any]) -> list[str]:
    box = next((cell for label, cell in results.items() if label.startswith("box ")), None)
    if box is None:
        return []
    lines = ["", "### Readers per process and per box", ""]
    lines += [
        "| setup | readers | p50 | p99 | max | memory per idle reader | server CPU | complete |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, cell in _cells(results, "P1 "):
        kind = label.split()[1]
        if kind in ("liveblog", "node-ws") and _size(label) >= 10_000:
            lines.append(
                f"| {_name(kind)}, one process | {_size(label):,} | {cell['p50_ms']:.1f} ms "
                f"| {cell['p99_ms']:.1f} ms | {cell['max_ms']:.1f} ms "
                f"| {cell['rss_per_reader_kib']:.1f} KiB | {cell['server_cpu_s']:.2f} s "
                f"| {cell['complete']} |"
            )
    cpus = [f"{box[k]:.2f} s" for k in sorted(box) if k.startswith("cpu_process_")]
    label = next(label for label in results if label.startswith("box "))
    lines.append(
        f"| **Liveblog**, {len(cpus)} processes + Redis | {_size(label):,} "
        f"| {box['p50_ms']:.1f} ms | {box['p99_ms']:.1f} ms | {box['max_ms']:.1f} ms "
        f"| {box['rss_per_reader_kib']:.1f} KiB | {' + '.join(cpus)} + Redis "
        f"{box['cpu_redis_s']:.2f} s | {box['complete']} |"
    )
    return lines


def _cost(results: dict[str, Any]) -> list[str]:
    if "cost one" not in results or "redis hop" not in results:
        return []
    one, two, hop = results["cost one"], results["cost two"], results["redis hop"]
    lines = ["", "### Scale-out by cost: CPU per delivery", ""]
    lines += [
        "| setup | deliveries | CPU (server, and Redis) | CPU-seconds per million deliveries "
        "| vs one process |",
        "|---|---|---|---|---|",
        f"| one process | {one['deliveries']:,.0f} | {one['server_cpu_s']:.2f} s "
        f"| {one['cpu_s_per_million']:.2f} s | 1.00x |",
        f"| two processes + Redis | {two['deliveries']:,.0f} | A {two['cpu_a_s']:.2f} s + "
        f"B {two['cpu_b_s']:.2f} s + Redis {two['cpu_redis_s']:.2f} s "
        f"| {two['cpu_s_per_million']:.2f} s "
        f"| {two['cpu_s_per_million'] / one['cpu_s_per_million']:.2f}x |",
    ]
    lines += ["", "| Redis hop, 1,000 readers on each process, an event a second for 60 s "
              "| p50 | p99 |", "|---|---|---|",
              f"| readers on the publishing process | {hop['local_p50_ms']:.1f} ms "
              f"| {hop['local_p99_ms']:.1f} ms |",
              f"| readers on the other process (through Redis) | {hop['remote_p50_ms']:.1f} ms "
              f"| {hop['remote_p99_ms']:.1f} ms |",
              f"| **added by the hop** | **{hop['added_p50_ms']:.1f} ms** "
              f"| {hop['added_p99_ms']:.1f} ms |"]  # fmt: skip
    capacity = results.get("capacity")
    if capacity:
        lines += ["", f"Capacity on paper: {capacity['readers_per_process']:,} readers per process "
                  f"(one core each; bound by {capacity['bound_by']}), at "
                  f"{capacity['scaled_us_per_delivery']:.1f} µs of CPU per delivery.", "",
                  "| readers of one liveblog | processes | cores (with Redis) | server memory "
                  "| one event's fan-out per process |", "|---|---|---|---|---|"]  # fmt: skip
        for row in capacity["rows"]:
            lines.append(
                f"| {row['readers']:,} | {row['processes']:,} | {row['cores']:,} "
                f"| {row['memory_gib']:.1f} GiB | {row['fan_out_ms']:.0f} ms |"
            )
    return lines


def _slow(results: dict[str, Any]) -> list[str]:
    cells = _cells(results, "P5 ")
    if not cells:
        return []
    lines = ["", "### P5 slow readers (200 readers, 1% stalled, 3,000 messages at 500/s)", ""]
    lines += [
        "| server | stalled | healthy p50 | healthy p99 | healthy max | publisher finished "
        "| stalled readers dropped | server memory growth |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, cell in cells:
        _, kind, stalled = label.split()
        lines.append(
            f"| {_name(kind)} | {stalled.split('=')[1]} | {cell['p50_ms']:.1f} ms "
            f"| {cell['p99_ms']:.1f} ms | {cell['max_ms']:.1f} ms | {cell['published']} "
            f"| {cell['stalled_dropped']:.0f} | {cell['rss_growth_mib']:.2f} MiB |"
        )
    return lines


def _ingest(results: dict[str, Any]) -> list[str]:
    lines = ["", "### P6 ingest (SQLite, fsync on every commit)", ""]
    lines += [
        "| run | POSTs/s | POST p50 | POST p99 | server CPU per POST | load-gen CPU per POST |",
        "|---|---|---|---|---|---|",
    ]
    for label, cell in _cells(results, "P6 "):
        name = "**floor**: FastAPI + one INSERT, max rate" if label == "P6 floor" else label[3:]
        lines.append(
            f"| {name} | {cell['posts_per_s']:.0f} | {cell['post_p50_ms']:.1f} ms "
            f"| {cell['post_p99_ms']:.1f} ms | {cell['server_cpu_ms_per_post']:.2f} ms "
            f"| {cell['loadgen_cpu_ms_per_post']:.2f} ms |"
        )
    return lines


def _storm_and_big(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if storms := _cells(results, "P8 "):
        lines += ["", "### P8 connect storm", ""]
        lines += ["| server | readers | all connected and caught up | complete |",
                  "|---|---|---|---|"]  # fmt: skip
        for label, cell in storms:
            lines.append(
                f"| {_name(label.split()[1])} | {_size(label):,} | {cell['seconds']:.2f} s "
                f"| {cell['complete']} |"
            )
    if big := _cells(results, "big "):
        lines += ["", "### Big liveblog (median of 30 requests each)", ""]
        lines += ["| entries stored | first page render | older page | `since` catch-up of 100 |",
                  "|---|---|---|---|"]  # fmt: skip
        for label, cell in big:
            lines.append(
                f"| {_size(label):,} | {cell['first_page_ms']:.1f} ms "
                f"| {cell['older_page_ms']:.1f} ms | {cell['catch_up_100_ms']:.1f} ms |"
            )
    return lines


def _targets(data: dict[str, Any]) -> list[str]:
    lines = ["", "### Targets", "", "| target | measured | met |", "|---|---|---|"]
    for check in data["targets"]:
        lines.append(
            f"| {check['target']} | {check['measured']} | {'yes' if check['met'] else '**no**'} |"
        )
    return lines


if __name__ == "__main__":
    print(report(orjson.loads(Path(sys.argv[1]).read_bytes())))
