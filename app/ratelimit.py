"""Rate limits: writes per API token (LIVEBLOG_WRITE_RATE, LIVEBLOG_WRITE_BURST), and WebSocket
upgrades per client address (LIVEBLOG_UPGRADE_RATE, LIVEBLOG_UPGRADE_BURST).

Built on the `limits` library's moving window: at most `amount` events in any `window` seconds,
with window = burst / rate rounded up to whole seconds (the library's granularity) and amount =
the larger of the burst and a window's worth at the rate. With the defaults (50/s, burst 200)
that is exactly 200 writes in any 4 seconds: a CMS back-filling a liveblog may send 200 at once,
and a steady 50 per second is never refused.

The write window lives in this process with the in-process broker, and in Redis (shared by
every process) with a redis:// broker. If Redis cannot be reached the write is allowed: the limit
protects the service from a runaway tool, and refusing every write during an outage would do the
tool's damage for it. Upgrades are counted per process (each process guards its own CPU).
Reads, health, readiness and metrics are never limited.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from app.errors import TooManyRequests

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 0.25  # a write waits at most this for the limiter's Redis
FAILURE_PAUSE_SECONDS = 30  # after a failure, writes go unlimited this long (one log line)


@dataclass(frozen=True, slots=True)
class Policy:
    name: str  # in the RateLimit headers, e.g. "writes"
    counted: str  # what is limited, for the refusal, e.g. "writes by this token"
    settings: str  # the settings that set it, e.g. "LIVEBLOG_WRITE_RATE, LIVEBLOG_WRITE_BURST"


WRITES = Policy("writes", "writes by this token", "LIVEBLOG_WRITE_RATE, LIVEBLOG_WRITE_BURST")
UPGRADES = Policy(
    "upgrades",
    "WebSocket connections from this address",
    "LIVEBLOG_UPGRADE_RATE, LIVEBLOG_UPGRADE_BURST",
)


class RateLimit:
    def __init__(
        self,
        policy: Policy,
        rate: float,
        burst: int,
        *,
        prefix: str,
        redis_url: str | None = None,
    ) -> None:
        self._policy = policy
        self.enabled = rate > 0
        window = max(1, math.ceil(burst / rate)) if self.enabled else 1
        self.window = window
        self.amount = max(burst, math.ceil(rate * window)) if self.enabled else burst
        self._item = RateLimitItemPerSecond(
            self.amount, window, namespace=f"{prefix}:{policy.name}"
        )
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
                "%s limit: %d in any %d s (the burst %d is below one second's worth at the "
                "rate %g, and the window is whole seconds; %s)",
                policy.name,
                self.amount,
                window,
                burst,
                rate,
                policy.settings,
            )

    @property
    def policy(self) -> str:
        """The RateLimit-Policy header (IETF httpapi ratelimit-headers draft)."""
        return f'"{self._policy.name}";q={self.amount};w={self.window}'

    async def check(self, caller: str) -> None:
        """Count one event by `caller`; raises TooManyRequests past the limit."""
        if not self.enabled or time.monotonic() < self._skip_until:
            return
        try:
            if await self._limiter.hit(self._item, caller):
                return
            stats = await self._limiter.get_window_stats(self._item, caller)
        except Exception:
            self._skip_until = time.monotonic() + FAILURE_PAUSE_SECONDS
            log.warning(
                "%s limit unavailable (storage error); allowed for %d s",
                self._policy.name,
                FAILURE_PAUSE_SECONDS,
                exc_info=True,
            )
            return
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        policy = self._policy
        raise TooManyRequests(
            f"Too many {policy.counted}: at most {self.amount} in any {self.window} s "
            f"({policy.settings}). Retry after {retry_after} s.",
            headers={
                "Retry-After": str(retry_after),
                "RateLimit-Policy": self.policy,
                "RateLimit": f'"{policy.name}";r={max(0, stats.remaining)};t={retry_after}',
            },
        )


def client_address(host: str | None) -> str:
    """The key per-address limits count under: the IPv4 address, or the /64 of an IPv6 one
    (one subscriber line gets a whole /64, so single IPv6 addresses would be free to rotate)."""
    if host is None:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # a unix socket path, say
    if address.version == 6 and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address.ipv4_mapped or address) if address.version == 6 else str(address)
