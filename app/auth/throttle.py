"""Failed sign-ins slow the next attempt down, per username, per address and per both.

Back-off, never a lockout: after a few free failures each further one doubles the wait before
the next attempt is even checked, up to a cap. The caps differ on purpose:
- one address guessing one username: up to 5 minutes (that is the guesser);
- one address, any usernames: up to 15 minutes (spraying one password over many accounts);
- one username, from anywhere: only up to 30 seconds, because strangers can fail sign-ins for a
  journalist's username at will; they can slow the journalist down, never shut them out.
A success clears the username's and the pair's counts. Counts are forgotten after 15 quiet
minutes. They live in Redis (shared by every process) with a redis:// broker, else in this
process; if Redis fails, this process's own counts stand in (logged once per failure spell).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import redis.asyncio as redis
from redis.exceptions import RedisError

from app.errors import TooManyRequests

log = logging.getLogger(__name__)

FORGET_AFTER_SECONDS = 15 * 60
REDIS_TIMEOUT_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class Backoff:
    kind: str
    free: int  # failures before any wait
    cap_seconds: float

    def wait(self, failures: int) -> float:
        """Seconds to wait after the last of `failures` failures: 1, 2, 4… up to the cap."""
        if failures < self.free:
            return 0.0
        return float(min(self.cap_seconds, 2 ** min(failures - self.free, 30)))


PAIR = Backoff("pair", free=3, cap_seconds=300)
ADDRESS = Backoff("address", free=10, cap_seconds=900)
USERNAME = Backoff("username", free=5, cap_seconds=30)


class _MemoryCounts:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}

    def get(self, key: str) -> tuple[int, float]:
        count, last = self._counts.get(key, (0, 0.0))
        if time.time() - last > FORGET_AFTER_SECONDS:
            self._counts.pop(key, None)
            return 0, 0.0
        return count, last

    def add(self, key: str, now: float) -> None:
        count, _ = self.get(key)
        self._counts[key] = (count + 1, now)
        if len(self._counts) > 100_000:  # an address spray: drop the quietest half
            for stale in sorted(self._counts, key=lambda k: self._counts[k][1])[:50_000]:
                del self._counts[stale]

    def clear(self, key: str) -> None:
        self._counts.pop(key, None)


class SignInThrottle:
    def __init__(self, *, prefix: str, redis_url: str | None = None) -> None:
        self._prefix = f"{prefix}:sign-in"
        self._memory = _MemoryCounts()
        self._redis = (
            redis.Redis.from_url(
                redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            if redis_url
            else None
        )
        self._redis_failing = False

    def _keys(self, username: str, address: str) -> list[tuple[Backoff, str]]:
        return [
            (PAIR, f"{self._prefix}:pair:{username}:{address}"),
            (ADDRESS, f"{self._prefix}:address:{address}"),
            (USERNAME, f"{self._prefix}:user:{username}"),
        ]

    async def check(self, username: str, address: str) -> None:
        """Raises TooManyRequests (with Retry-After) while a back-off is running."""
        now = time.time()
        longest = 0.0
        for backoff, key in self._keys(username, address):
            count, last = await self._get(key)
            longest = max(longest, last + backoff.wait(count) - now)
        if longest > 0:
            seconds = math.ceil(longest)
            raise TooManyRequests(
                f"Too many failed sign-ins; try again in {seconds} second"
                f"{'s' if seconds != 1 else ''}.",
                headers={"Retry-After": str(seconds)},
            )

    async def failed(self, username: str, address: str) -> None:
        now = time.time()
        for _, key in self._keys(username, address):
            await self._add(key, now)

    async def succeeded(self, username: str, address: str) -> None:
        for backoff, key in self._keys(username, address):
            if backoff is not ADDRESS:  # one good password does not excuse a spray
                await self._clear(key)

    # Storage: Redis when shared, this process otherwise (and while Redis fails) ---------------

    def _redis_failed(self, error: Exception) -> None:
        if not self._redis_failing:
            log.warning("sign-in throttle: Redis failed (%s); counting in this process", error)
        self._redis_failing = True

    async def _get(self, key: str) -> tuple[int, float]:
        if self._redis is not None:
            try:
                count, last = await self._redis.hmget(key, ["count", "last"])
                self._redis_failing = False
                return int(count or 0), float(last or 0)
            except (RedisError, OSError) as error:
                self._redis_failed(error)
        return self._memory.get(key)

    async def _add(self, key: str, now: float) -> None:
        self._memory.add(key, now)
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.hincrby(key, "count", 1)
                    pipe.hset(key, "last", str(now))
                    pipe.expire(key, FORGET_AFTER_SECONDS)
                    await pipe.execute()
            except (RedisError, OSError) as error:
                self._redis_failed(error)

    async def _clear(self, key: str) -> None:
        self._memory.clear(key)
        if self._redis is not None:
            try:
                await self._redis.delete(key)
            except (RedisError, OSError) as error:
                self._redis_failed(error)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
