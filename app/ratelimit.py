"""Write rate limits per caller: LIVEBLOG_WRITE_RATE on average, LIVEBLOG_WRITE_BURST at once.

Built on the `limits` library's moving window: at most `amount` writes in any `window` seconds,
with window = burst / rate rounded up to whole seconds (the library's granularity) and amount =
the larger of the burst and a window's worth at the rate. With the defaults (50/s, burst 200)
that is exactly 200 writes in any 4 seconds: a CMS back-filling a liveblog may send 200 at once,
and a steady 50 per second is never refused.

The window lives in this process with the in-process broker, and in Redis (shared by every
process) with a redis:// broker. If Redis cannot be reached the write is allowed: the limit
protects the service from a runaway tool, and refusing every write during an outage would do the
tool's damage for it. Reads, WebSockets, health, readiness and metrics are never limited.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from app.errors import TooManyRequests

log = logging.getLogger(__name__)

POLICY = "writes"
REDIS_TIMEOUT_SECONDS = 0.25  # a write waits at most this for the limiter's Redis
FAILURE_PAUSE_SECONDS = 30  # after a failure, writes go unlimited this long (one log line)


class WriteLimiter:
    def __init__(self, rate: float, burst: int, *, redis_url: str | None, prefix: str) -> None:
        self.enabled = rate > 0
        window = max(1, math.ceil(burst / rate)) if self.enabled else 1
        self.window = window
        self.amount = max(burst, math.ceil(rate * window)) if self.enabled else burst
        self._item = RateLimitItemPerSecond(self.amount, window, namespace=prefix)
        storage: Storage
        if redis_url is not None:
            # limits names its asyncio Redis backend "async+redis://"; redis-py does the work.
            # Short timeouts: a Redis that hangs must not hold every write for seconds.
            storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                key_prefix=f"{prefix}:limits",
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
        else:
            storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(storage)
        self._skip_until = 0.0  # monotonic: after a storage failure, allow without asking
        if self.enabled and self.amount > burst:
            log.warning(
                "write limit: %d writes in any %d s (LIVEBLOG_WRITE_BURST=%d is below one "
                "second's worth at LIVEBLOG_WRITE_RATE=%g, and the window is whole seconds)",
                self.amount,
                window,
                burst,
                rate,
            )

    @property
    def policy(self) -> str:
        """The RateLimit-Policy header (IETF httpapi ratelimit-headers draft)."""
        return f'"{POLICY}";q={self.amount};w={self.window}'

    async def check(self, caller: str) -> None:
        """Count one write by `caller`; raises TooManyRequests past the limit."""
        if not self.enabled or time.monotonic() < self._skip_until:
            return
        try:
            if await self._limiter.hit(self._item, caller):
                return
            stats = await self._limiter.get_window_stats(self._item, caller)
        except Exception:
            self._skip_until = time.monotonic() + FAILURE_PAUSE_SECONDS
            log.warning(
                "write rate limit unavailable (storage error); writes are allowed for %d s",
                FAILURE_PAUSE_SECONDS,
                exc_info=True,
            )
            return
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise TooManyRequests(
            f"Too many writes: this token may make {self.amount} in any {self.window} s "
            f"(LIVEBLOG_WRITE_RATE, LIVEBLOG_WRITE_BURST). Retry after {retry_after} s.",
            headers={
                "Retry-After": str(retry_after),
                "RateLimit-Policy": self.policy,
                "RateLimit": f'"{POLICY}";r={max(0, stats.remaining)};t={retry_after}',
            },
        )
