"""Console passwords: argon2id (argon2-cffi's defaults), always hashed off the event loop.

A hash takes tens of milliseconds of CPU and 64 MiB on purpose; on the loop it would stall every
reader of the process. Unknown usernames are checked against a dummy hash, so how long a
sign-in takes does not tell whether the username exists.
"""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 takes any length; this only bounds the work a request can ask for

_hasher = PasswordHasher()


class WeakPassword(ValueError):
    pass


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


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password anyone has")


async def prepare() -> None:
    """Make the dummy hash now (the lifespan calls it), so the first sign-in with an unknown
    username takes as long as any other."""
    await asyncio.to_thread(_dummy_hash)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored` (None: an unknown user, checked for equal time)."""
    if len(password) > MAX_LENGTH:
        return False
    return await asyncio.to_thread(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    """True when `stored` was made with weaker parameters than today's: rehash at sign-in."""
    return _hasher.check_needs_rehash(stored)
