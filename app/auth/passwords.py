"""Console passwords: argon2id, hashed on a few threads of their own, a bounded number at a time.

Cost (SECURITY.md, "Password hashing"): argon2id with 19 MiB, 2 passes, 1 lane (OWASP's first
recommended minimum), about 20 ms of one core. Hashes made with other parameters (argon2-cffi's
older defaults: 64 MiB, 3 passes, 4 lanes) still verify, since a hash carries its parameters, and
are replaced with today's at the next sign-in (`needs_rehash`).

Bounds, per server (a `PasswordChecks` each app builds from its settings and hands to its
sessions and accounts), so that no number of sign-ins from any number of addresses can take the
readers' CPU or memory (issue 22):
- at most `concurrent` hashes at once (LIVEBLOG_PASSWORD_CHECKS_CONCURRENT), on a thread pool of
  that size: argon2-cffi releases the GIL, so a hash takes a core, never the event loop;
- at most `queue` more waiting for a thread (LIVEBLOG_PASSWORD_CHECKS_QUEUE);
- at most `per_second` hashes started per second on average (LIVEBLOG_PASSWORD_CHECKS_PER_SECOND),
  in bursts of at most `concurrent + queue`: a token bucket across all addresses.
A check past them is refused at once, never hashed: PasswordChecksBusy, a 503 with Retry-After.
A place is taken before anything else is done for the request (`PasswordChecks.checking`), so
a refused
sign-in is not counted as a failure by the back-off (throttle.py), and a place that was not
used for a hash gives its token back.

Unknown usernames are checked against a dummy hash, so how long a sign-in takes does not tell
whether the username exists.
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app import metrics
from app.errors import ServiceUnavailable

MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 takes any length; this only bounds the work a request can ask for

# OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1 (its first configuration).
# One lane: a check takes one core, so the concurrency bound is a bound on cores. 19 MiB rather
# than 46 MiB with t=1: the same cost to a guesser, less memory per check on a small server.
MEMORY_KIB = 19 * 1024
TIME_COST = 2
PARALLELISM = 1

_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM)

T = TypeVar("T")


class WeakPassword(ValueError):
    pass


class PasswordChecksBusy(ServiceUnavailable):
    """Password checks are at their bound (concurrency and queue, or the rate): nothing was
    hashed. 503, not 429: it is the server's load, not this client's doing."""


def check_strength(password: str) -> None:
    """Raises WeakPassword with a sentence saying what a password must be."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"A password needs at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"A password may have at most {MAX_LENGTH} characters.")
    if not password.strip():
        raise WeakPassword("A password cannot be only spaces.")
    if "\x00" in password:  # sign-in refuses any password with one (sessions.py)
        raise WeakPassword("A password cannot contain a NUL character (U+0000).")


class _TokenBucket:
    """`rate` tokens a second, holding at most `capacity`; rate 0: no limit. Used only from the
    event loop's thread."""

    def __init__(self, rate: float, capacity: int) -> None:
        self.rate = rate
        self.capacity = float(capacity)
        self._tokens = self.capacity
        self._stamp = time.monotonic()

    def take(self) -> float:
        """Take a token: 0.0 if taken, else the seconds until one will be there."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    def give_back(self) -> None:
        self._tokens = min(self.capacity, self._tokens + 1)


class PasswordChecks:
    """The per-process bound on password hashing (module docstring)."""

    def __init__(self, concurrent: int = 1, queue: int = 15, per_second: float = 5.0) -> None:
        self.concurrent = concurrent
        self.queue = queue
        self.per_second = per_second
        self._bucket = _TokenBucket(per_second, concurrent + queue)
        self._pool = ThreadPoolExecutor(concurrent, thread_name_prefix="password-check")
        self._lock = threading.Lock()  # the counts below change on the loop and on the pool
        self._admitted = 0  # places taken: hashing, waiting for a thread, or about to ask
        self._hashing = 0
        self._peak = 0

    def reserve(self) -> Check:
        """A place for one hash, or PasswordChecksBusy at once (counted, with Retry-After)."""
        with self._lock:
            full = self._admitted >= self.concurrent + self.queue
        if full:
            self._refuse("busy", 1, "The server is busy checking other passwords")
        wait = self._bucket.take()
        if wait:
            self._refuse("rate", math.ceil(wait), "Too many passwords are being checked")
        with self._lock:
            self._admitted += 1
        return Check(self)

    def _refuse(self, reason: str, seconds: int, why: str) -> None:
        metrics.PASSWORD_CHECKS_REFUSED.labels(reason).inc()
        raise PasswordChecksBusy(
            f"{why}; try again in {seconds} second{'s' if seconds != 1 else ''}.",
            retry_after=seconds,
        )

    def _release(self, used: bool) -> None:
        with self._lock:
            self._admitted -= 1
        if not used:
            self._bucket.give_back()

    async def run(self, work: Callable[[], T]) -> T:
        """`work` on the pool, counted as a hash. The place is released when the hash ends (or
        is cancelled before it starts), not when the caller stops waiting: a sign-in whose
        client went away still holds its place while its hash runs."""
        future: Future[T] = self._pool.submit(self._hash, work)
        future.add_done_callback(lambda _: self._release(used=True))
        return await asyncio.wrap_future(future)

    def _hash(self, work: Callable[[], T]) -> T:
        with self._lock:
            self._hashing += 1
            self._peak = max(self._peak, self._hashing)
            metrics.PASSWORD_CHECKS_IN_PROGRESS.set(self._hashing)
            metrics.PASSWORD_CHECKS_PEAK.set(self._peak)
        try:
            return work()
        finally:
            with self._lock:
                self._hashing -= 1
                metrics.PASSWORD_CHECKS_IN_PROGRESS.set(self._hashing)
            metrics.PASSWORD_CHECKS.inc()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    @contextmanager
    def checking(self) -> Iterator[Check]:
        """A place for one password hash, taken now: raises PasswordChecksBusy at once past the
        bounds. Take it before doing anything else for the request; an unused place is given
        back."""
        check = self.reserve()
        try:
            yield check
        finally:
            check.close()

    async def hash_password(self, password: str) -> str:
        with self.checking() as check:
            return await check.hash(password)

    async def verify_password(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches `stored` (None: an unknown user, checked for equal time)."""
        if len(password) > MAX_LENGTH:
            return False
        with self.checking() as check:
            return await check.verify(stored, password)


class Check:
    """One place for one hash (`PasswordChecks.reserve`); `checking()` releases it if unused."""

    def __init__(self, checks: PasswordChecks) -> None:
        self._checks = checks
        self._used = False

    async def _run(self, work: Callable[[], T]) -> T:
        if self._used:
            raise RuntimeError("a password check's place is used once")
        self._used = True
        return await self._checks.run(work)

    async def hash(self, password: str) -> str:
        return await self._run(functools.partial(_hasher.hash, password))

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches `stored` (None: an unknown user, checked for equal time)."""
        if len(password) > MAX_LENGTH:
            return False
        return await self._run(functools.partial(_verify, stored, password))

    def close(self) -> None:
        if not self._used:
            self._used = True
            self._checks._release(used=False)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password anyone has")


async def prepare() -> None:
    """Make the dummy hash now (the lifespan calls it), so the first sign-in with an unknown
    username takes as long as any other. Not counted against the bounds: it is made once."""
    await asyncio.to_thread(_dummy_hash)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when `stored` was made with other parameters than today's: rehash at sign-in."""
    return _hasher.check_needs_rehash(stored)
