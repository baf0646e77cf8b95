"""CPU profile of a bench server process, all threads (issue 14, point 4).

Put this directory first on PYTHONPATH and set LIVEBLOG_BENCH_PROFILE=/path/out.pstat: every
Python process started so (the server, and the `app token create` helpers) runs under yappi
with its CPU clock. SIGUSR1 clears what was gathered so far (start-up, migrations), so the file
written at exit holds only the load. The stats are in pstats format. yappi is a one-off install
(`.venv/bin/pip install yappi`), not a dependency; without it this does nothing.
"""

from __future__ import annotations

import atexit
import os
import signal

_OUT = os.environ.get("LIVEBLOG_BENCH_PROFILE")

if _OUT:
    try:
        import yappi
    except ImportError:
        yappi = None
    if yappi is not None:
        yappi.set_clock_type("cpu")
        yappi.start(builtins=True, profile_threads=True)
        signal.signal(signal.SIGUSR1, lambda *_: yappi.clear_stats())

        def _save() -> None:
            if yappi.is_running():
                yappi.stop()
                yappi.get_func_stats().save(f"{_OUT}.{os.getpid()}", type="pstat")

        def _terminated(*_: object) -> None:
            # uvicorn restores the handler it found and raises SIGTERM again after its graceful
            # shutdown: this one saves first, where the default would end without atexit.
            _save()
            raise SystemExit(0)

        atexit.register(_save)
        signal.signal(signal.SIGTERM, _terminated)

# Memory per reader (bench/profiling/reader_memory.py): LIVEBLOG_BENCH_MEMORY=/path/out.txt
# traces Python allocations; SIGUSR1 takes the baseline, SIGUSR2 writes what was allocated
# since, by source line, biggest first.
_MEMORY = os.environ.get("LIVEBLOG_BENCH_MEMORY")

if _MEMORY:
    import tracemalloc

    tracemalloc.start(1)
    _baseline: list[tracemalloc.Snapshot] = []

    def _mark(*_: object) -> None:
        _baseline[:] = [tracemalloc.take_snapshot()]

    def _dump(*_: object) -> None:
        grown = tracemalloc.take_snapshot().compare_to(_baseline[0], "lineno")
        with open(_MEMORY, "w") as out:
            out.writelines(f"{stat.size_diff} {stat.count_diff} {stat.traceback}\n"
                           for stat in grown[:40])  # fmt: skip

    signal.signal(signal.SIGUSR1, _mark)
    signal.signal(signal.SIGUSR2, _dump)
