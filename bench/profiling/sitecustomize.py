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
