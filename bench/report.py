"""Markdown tables from a results file, for BENCHMARKS.md.

python -m bench.report bench/results/full.json
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

NAMES = {
    "websockets": "(a) websockets `broadcast()`",
    "fastapi-naive": "(b) FastAPI naive loop",
    "liveblog": "**Liveblog**",
    "liveblog-asgi": "Liveblog, direct writes off",
}


def _cells(results: dict[str, Any], prefix: str) -> list[tuple[str, dict[str, Any]]]:
    return [(label, cell) for label, cell in results.items() if label.startswith(prefix)]


def report(data: dict[str, Any]) -> str:
    results = data["results"]
    lines = [f"Medians of {data['repeats']} runs. Machine: " + ", ".join(data["machine"].values())]
    lines += ["", "### P1 fan-out and P4 memory", ""]
    lines += [
        "| server | N | p50 | p99 | max | deliveries/s | p99 vs (a) | rate vs (a) "
        "| memory per idle reader | vs (a) | server CPU | load-gen CPU (each) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, cell in _cells(results, "P1 "):
        _, kind, size = label.split()
        ref = results[f"P1 websockets {size}"]
        lines.append(
            f"| {NAMES[kind]} | {int(size[2:]):,} | {cell['p50_ms']:.1f} ms "
            f"| {cell['p99_ms']:.1f} ms | {cell['max_ms']:.1f} ms "
            f"| {cell['deliveries_per_s']:,.0f} | {cell['p99_ms'] / ref['p99_ms']:.2f}x "
            f"| {cell['deliveries_per_s'] / ref['deliveries_per_s']:.2f}x "
            f"| {cell['rss_per_reader_kib']:.1f} KiB "
            f"| {cell['rss_per_reader_kib'] / ref['rss_per_reader_kib']:.2f}x "
            f"| {cell['server_cpu_s']:.2f} s | {cell['loadgen_cpu_s']:.2f} s |"
        )
    lines += ["", "### P2 end to end (an entry every 250 ms → every reader)", ""]
    lines += [
        "| server | N | p50 | p99 | max | p99 vs (a) | complete |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, cell in _cells(results, "P2 "):
        _, kind, size = label.split()
        ref = results[f"P2 websockets {size}"]
        lines.append(
            f"| {NAMES[kind]} | {int(size[2:]):,} | {cell['p50_ms']:.1f} ms "
            f"| {cell['p99_ms']:.1f} ms | {cell['max_ms']:.1f} ms "
            f"| {cell['p99_ms'] / ref['p99_ms']:.2f}x | {cell['complete']} |"
        )
    lines += ["", "### P5 slow readers (200 readers, 1% stalled, 3,000 messages at 500/s)", ""]
    lines += [
        "| server | stalled | healthy p50 | healthy p99 | healthy max | publisher finished "
        "| stalled readers dropped | server memory growth |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, cell in _cells(results, "P5 "):
        _, kind, stalled = label.split()
        lines.append(
            f"| {NAMES[kind]} | {stalled.split('=')[1]} | {cell['p50_ms']:.1f} ms "
            f"| {cell['p99_ms']:.1f} ms | {cell['max_ms']:.1f} ms | {cell['published']} "
            f"| {cell['stalled_dropped']:.0f} | {cell['rss_growth_mib']:.2f} MiB |"
        )
    lines += ["", "### P6 ingest (SQLite, fsync on every commit)", ""]
    lines += [
        "| run | POSTs/s | POST p50 | POST p99 | server CPU per POST | load-gen CPU per POST |",
        "|---|---|---|---|---|---|",
    ]
    for label, cell in _cells(results, "P6 "):
        lines.append(
            f"| {label[3:]} | {cell['posts_per_s']:.0f} | {cell['post_p50_ms']:.1f} ms "
            f"| {cell['post_p99_ms']:.1f} ms | {cell['server_cpu_ms_per_post']:.2f} ms "
            f"| {cell['loadgen_cpu_ms_per_post']:.2f} ms |"
        )
    lines += ["", "### P8 connect storm", ""]
    lines += ["| server | readers | all connected and caught up | complete |", "|---|---|---|---|"]
    for label, cell in _cells(results, "P8 "):
        _, kind, size = label.split()
        lines.append(
            f"| {NAMES[kind]} | {int(size[2:]):,} | {cell['seconds']:.2f} s | {cell['complete']} |"
        )
    lines += ["", "### Big liveblog (median of 30 requests each)", ""]
    lines += [
        "| entries stored | first page render | older page | `since` catch-up of 100 |",
        "|---|---|---|---|",
    ]
    for label, cell in _cells(results, "big "):
        lines.append(
            f"| {int(label.split('=')[1]):,} | {cell['first_page_ms']:.1f} ms "
            f"| {cell['older_page_ms']:.1f} ms | {cell['catch_up_100_ms']:.1f} ms |"
        )
    lines += ["", "### Scale-out: two processes + Redis against one process", ""]
    lines += [
        "| setup | readers | p50 | p99 | max | p99 vs one process "
        "| p50 on A (publisher) | p50 on B (through Redis) | complete |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, cell in _cells(results, "two processes "):
        size = label.split()[-1]
        one = results[f"P1 liveblog {size}"]
        lines.append(
            f"| one process | {int(size[2:]):,} | {one['p50_ms']:.1f} ms | {one['p99_ms']:.1f} ms "
            f"| {one['max_ms']:.1f} ms | 1.00x | | | {one['complete']} |"
        )
        lines.append(
            f"| two processes, half the readers on each | {int(size[2:]):,} "
            f"| {cell['p50_ms']:.1f} ms | {cell['p99_ms']:.1f} ms | {cell['max_ms']:.1f} ms "
            f"| {cell['p99_ms'] / one['p99_ms']:.2f}x | {cell['local_p50_ms']:.1f} ms "
            f"| {cell['remote_p50_ms']:.1f} ms | {cell['complete']} |"
        )
    lines += ["", "### Targets", "", "| target | measured | met |", "|---|---|---|"]
    for check in data["targets"]:
        lines.append(
            f"| {check['target']} | {check['measured']} | {'yes' if check['met'] else '**no**'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(orjson.loads(Path(sys.argv[1]).read_bytes())))
