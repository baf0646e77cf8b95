"""Ingest as a ratio (issue 14, point 4): P6 against its floor, measured in the same run.

P6 flat out (no readers: P6_POSTS POSTs from P6_CONCURRENCY keep-alive clients, at most
P6_SECONDS) against Liveblog and against bench/ref_ingest_floor.py (a minimal FastAPI endpoint on
the same uvicorn settings that validates a similar body and inserts one row into SQLite with an
fsync on every commit), interleaved round by round, a fresh server and database for every run;
medians of the rounds. Target: Liveblog's server CPU per POST <= 2x the floor's.

    .venv/bin/python -m bench.ingest_ratio              # 3 rounds, prints the table
    .venv/bin/python -m bench.ingest_ratio --rounds 5
    .venv/bin/python -m bench.ingest_ratio --profile    # then one profiled run of each (yappi)

Results go to bench/results/ingest-ratio.json. --profile needs yappi, a one-off install
(`.venv/bin/pip install yappi`; not a dependency) and runs each server under
bench/profiling/sitecustomize.py: CPU time of all threads, start-up excluded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.run import (
    FLOOR,
    LIVEBLOG,
    P6_CONCURRENCY,
    P6_POSTS,
    P6_SECONDS,
    RESULTS,
    ROOT,
    _ingest,
    cpu_seconds,
    machine,
    running,
)

TARGET = 2.0
FIELDS = ("posts_per_s", "post_p50_ms", "post_p99_ms", "server_cpu_ms_per_post",
          "loadgen_cpu_ms_per_post")  # fmt: skip
NAMES = {LIVEBLOG: "Liveblog", FLOOR: "floor (bench/ref_ingest_floor.py)"}


def flat_out(kind: str, **env: str) -> dict[str, Any]:
    """One P6 run with no readers against a fresh `kind` server."""
    with running(kind, **env) as server:
        if kind == FLOOR:
            server.token = "floor"  # sent as the Poster sends it; the floor does not check it
        pid = server.pid
        if env.get("LIVEBLOG_BENCH_PROFILE"):
            os.kill(pid, signal.SIGUSR1)  # drop start-up from the profile
            time.sleep(0.2)
        cpu_before = cpu_seconds(pid)
        measured = asyncio.run(_ingest(server, None))
        server_cpu = cpu_seconds(pid) - cpu_before
    return measured | {"server_cpu_ms_per_post": server_cpu * 1000 / measured["posts"], "pid": pid}


def compare(rounds: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {LIVEBLOG: [], FLOOR: []}
    for n in range(rounds):
        for kind in (LIVEBLOG, FLOOR):  # interleaved: drift on a shared machine hits both
            result = flat_out(kind)
            runs[kind].append(result)
            print(f"round {n + 1} {kind:<13} " + "  ".join(
                f"{name} {result[name]:.2f}" for name in FIELDS), flush=True)  # fmt: skip
    medians = {kind: {name: statistics.median(run[name] for run in kind_runs) for name in FIELDS}
               for kind, kind_runs in runs.items()}  # fmt: skip
    ratio = medians[LIVEBLOG]["server_cpu_ms_per_post"] / medians[FLOOR]["server_cpu_ms_per_post"]
    return {"rounds": rounds, "runs": runs, "medians": medians, "cpu_ratio": ratio,
            "target": TARGET, "met": ratio <= TARGET}  # fmt: skip


def table(result: dict[str, Any]) -> str:
    lines = ["| server | POSTs/s | POST p50 | POST p99 | server CPU per POST | "
             "load-gen CPU per POST |", "|---|---|---|---|---|---|"]  # fmt: skip
    for kind, cell in result["medians"].items():
        lines.append(
            f"| {NAMES[kind]} | {cell['posts_per_s']:.0f} | {cell['post_p50_ms']:.1f} ms | "
            f"{cell['post_p99_ms']:.1f} ms | {cell['server_cpu_ms_per_post']:.2f} ms | "
            f"{cell['loadgen_cpu_ms_per_post']:.2f} ms |"
        )
    verdict = "met" if result["met"] else "MISSED"
    lines.append(f"\nLiveblog CPU / floor CPU per POST: {result['cpu_ratio']:.2f}x "
                 f"(target <= {TARGET:.0f}x: {verdict})")  # fmt: skip
    return "\n".join(lines)


def profile(kind: str, out_dir: Path) -> tuple[pstats.Stats, dict[str, Any]]:
    """One profiled flat-out run of `kind`; its server's stats (all threads, CPU clock)."""
    prefix = out_dir / kind
    env = {"LIVEBLOG_BENCH_PROFILE": str(prefix),
           "PYTHONPATH": f"{ROOT / 'bench' / 'profiling'}{os.pathsep}{ROOT}"}  # fmt: skip
    result = flat_out(kind, **env)
    path = Path(f"{prefix}.{result['pid']}")
    for _ in range(100):
        if path.exists():
            break
        time.sleep(0.1)
    return pstats.Stats(str(path)), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="then one profiled run of each")
    parser.add_argument("--no-compare", action="store_true", help="only the profile")
    args = parser.parse_args()
    print(f"P6 flat out, no readers: {P6_POSTS} POSTs, {P6_CONCURRENCY} clients, "
          f"at most {P6_SECONDS:.0f} s a run", flush=True)  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    if not args.no_compare:
        result = compare(args.rounds)
        print(table(result))
        (RESULTS / "ingest-ratio.json").write_bytes(orjson.dumps(
            {"machine": machine(), **result}, option=orjson.OPT_INDENT_2))  # fmt: skip
    if args.profile:
        out_dir = Path(tempfile.mkdtemp(prefix="liveblog-profile-"))
        for kind in (LIVEBLOG, FLOOR):
            stats, measured = profile(kind, out_dir)
            print(f"\nprofile {kind}: {measured['posts']} POSTs, "
                  f"{measured['server_cpu_ms_per_post']:.2f} ms CPU per POST under the profiler; "
                  f"stats in {out_dir}")  # fmt: skip
            stats.sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()
