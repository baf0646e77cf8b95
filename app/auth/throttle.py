"""Failed sign-ins slow the next attempt down, per username, per address and per both.

Back-off, never a lockout: after a few free failures each further one doubles the wait before
the next attempt is even checked, up to a cap. The caps differ on purpose:
- one address guessing one username: up to 5 minutes (that is the guesser);
- one address, any usernames: up to 15 minutes (spraying one password over many accounts);
- one username, from anywhere: up to 30 seconds, and only for addresses that have themselves
  failed for it: strangers can fail sign-ins for a journalist's username at will, and must not
  keep the journalist waiting. (So a guesser with many addresses gets about one guess per
  address and quarter hour: argon2 and the password length make that too slow to matter.)
Each attempt is counted before its password is checked, so parallel guesses are slowed like
sequential ones; a success clears the username's and the pair's counts. Counts are forgotten
after 15 quiet minutes. They live in Redis (shared by every process) with a redis:// broker,
else in this process; if Redis fails, this process's own counts stand in (logged once per
failure spell).
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

# One attempt's turn, atomically: +1 on the count, the new stamp; returns count and stamp before.
_TAKE = """
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
local last = redis.call('HGET', KEYS[1], 'last') or '0'
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {count - 1, last}
"""
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

    def take(self, key: str, now: float) -> tuple[int, float]:
        before = self.get(key)
        self._counts[key] = (before[0] + 1, now)
        if len(self._counts) > 100_000:  # an address spray: drop the quietest half
            for stale in sorted(self._counts, key=lambda k: self._counts[k][1])[:50_000]:
                del self._counts[stale]
        return before

    def restore(self, key: str, count: int, last: float) -> None:
        if count:
            self._counts[key] = (count, last)
        else:
            self._counts.pop(key, None)

    def untake(self, key: str) -> None:
        count, last = self.get(key)
        self.restore(key, max(0, count - 1), last)

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

    async def attempt(self, username: str, address: str) -> None:
        """Count this attempt as a failure before its password is checked; raises
        TooManyRequests (with Retry-After, the attempt not counted) while a back-off runs.

        Counted first so that attempts sent in parallel are slowed exactly like sequential
        ones: each takes its turn atomically, and only the free ones reach the password check.
        A success then takes its attempt back (`succeeded`).
        """
        now = time.time()
        taken = [
            (backoff, key, *await self._take(key, now))
            for backoff, key in self._keys(username, address)
        ]
        # The username's own back-off slows only addresses that have failed for it themselves:
        # strangers failing elsewhere must not keep its owner waiting (a lockout by another name).
        pair_failures = taken[0][2]
        longest = max(
            last + backoff.wait(count) - now
            for backoff, _, count, last in taken
            if backoff is not USERNAME or pair_failures
        )
        if longest > 0:
            for _, key, count, last in taken:
                await self._give_back(key, count, last)
            seconds = math.ceil(longest)
            raise TooManyRequests(
                f"Too many failed sign-ins; try again in {seconds} second"
                f"{'s' if seconds != 1 else ''}.",
                headers={"Retry-After": str(seconds)},
            )

    async def succeeded(self, username: str, address: str) -> None:
        """The password was right: forget the username's and the pair's failures, and take
        this attempt back from the address (one good password does not excuse a spray)."""
        for backoff, key in self._keys(username, address):
            if backoff is ADDRESS:
                await self._untake(key)
            else:
                await self._clear(key)

    # Storage: Redis when shared, this process otherwise (and while Redis fails) ---------------

    def _redis_failed(self, error: Exception) -> None:
        if not self._redis_failing:
            log.warning("sign-in throttle: Redis failed (%s); counting in this process", error)
        self._redis_failing = True

    async def _take(self, key: str, now: float) -> tuple[int, float]:
        """Add one to the key's count, stamped `now`; returns the count and stamp before."""
        if self._redis is not None:
            try:
                count, last = await self._redis.eval(_TAKE, 1, key, str(now), FORGET_AFTER_SECONDS)
                self._redis_failing = False
                return int(count), float(last)
            except (RedisError, OSError) as error:
                self._redis_failed(error)
        return self._memory.take(key, now)

    async def _give_back(self, key: str, count: int, last: float) -> None:
        self._memory.restore(key, count, last)
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.hincrby(key, "count", -1)
                    pipe.hset(key, "last", str(last))
                    await pipe.execute()
            except (RedisError, OSError) as error:
                self._redis_failed(error)

    async def _untake(self, key: str) -> None:
        self._memory.untake(key)
        if self._redis is not None:
            try:
                await self._redis.hincrby(key, "count", -1)
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
