"""Where an idle reader's memory goes: Python allocations per reader, by source line.

    .venv/bin/python -m bench.profiling.reader_memory [READERS]    # default 2,000

Starts Liveblog with tracemalloc on (bench/profiling/sitecustomize.py), takes a baseline,
connects READERS idle readers, and prints what they allocated, per reader, biggest first, beside
the process's RSS growth per reader (which also counts what Python does not allocate: the
kernel's socket buffers are not in RSS, but C libraries' own allocations are).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import LIVEBLOG, ROOT, Readers, rss_kib, running


def main(readers: int) -> None:
    out = Path(tempfile.mkdtemp(prefix="liveblog-memory-")) / "grown.txt"
    env = {"LIVEBLOG_BENCH_MEMORY": str(out),
           "PYTHONPATH": f"{ROOT / 'bench' / 'profiling'}{os.pathsep}{ROOT}"}  # fmt: skip
    with running(LIVEBLOG, **env) as server:
        os.kill(server.pid, signal.SIGUSR1)
        time.sleep(1.0)
        before = rss_kib(server.pid)
        crowd = Readers(server.reader_url(), readers, 1, deadline=60)
        crowd.wait_ready()
        time.sleep(1.0)
        rss = (rss_kib(server.pid) - before) / readers
        os.kill(server.pid, signal.SIGUSR2)
        for _ in range(100):
            if out.exists() and out.stat().st_size:
                break
            time.sleep(0.1)
        asyncio.run(server.publish(1))
        crowd.results()
    lines = out.read_text().splitlines()
    total = sum(int(line.split()[0]) for line in lines)
    print(f"{readers} idle readers: RSS {rss:.1f} KiB per reader; the top {len(lines)} lines "
          f"of Python allocations {total / readers / 1024:.1f} KiB per reader")  # fmt: skip
    for line in lines:
        size, count, where = line.split(" ", 2)
        print(f"{int(size) / readers:8.0f} B  {int(count) / readers:5.2f} blocks  {where}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
