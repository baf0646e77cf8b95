"""Console sessions: signed in with a password, held server-side, named by an opaque cookie.

- Every sign-in makes a new session id (256 random bits; only its SHA-256 is stored), so an id
  planted before sign-in is worth nothing after it.
- A session ends when idle for LIVEBLOG_SESSION_IDLE_HOURS, LIVEBLOG_SESSION_MAX_DAYS after
  sign-in, at sign-out, when its user is disabled or given a new password by an admin, or when
  its user changes their own password in another session. Each request reads it, and its
  user's role, from storage (one indexed lookup; the console's traffic is a few journalists),
  so an ended session is refused, and a new role applies, at once on every process.
  `last_seen_at` is written at most once a minute.
- Each session has its own CSRF token (csrf.py), sent back by the console with every write.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.auth.passwords import (
    PasswordChecks,
    PasswordChecksBusy,
    WeakPassword,
    check_strength,
    needs_rehash,
)
from app.auth.throttle import SignInThrottle
from app.auth.users import User, normalize_username
from app.domain.model import utcnow
from app.domain.principal import Principal, Role
from app.errors import Forbidden, TooManyRequests, Unauthorized, Unprocessable
from app.storage import users as rows
from app.storage.db import Database

log = logging.getLogger(__name__)

# `last_seen_at` is written at most this often (and at most a tenth of the idle time apart).
TOUCH_EVERY = timedelta(minutes=1)
# How often each process removes ended sessions (sweep_sessions).
SESSION_SWEEP_SECONDS = 3600.0
# Only the first 64 characters of a username are looked at; longer ones exist nowhere.
USERNAME_MAX = 64


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    id: int
    user: User
    csrf_token: str
    expires_at: datetime

    @property
    def principal(self) -> Principal:
        return Principal.user(self.user.id, self.user.display_name, self.user.role)


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


class Sessions:
    def __init__(
        self,
        db: Database,
        throttle: SignInThrottle,
        checks: PasswordChecks,
        *,
        idle: timedelta,
        lifetime: timedelta,
    ) -> None:
        self._db = db
        self._throttle = throttle
        self._checks = checks  # this server's bound on password hashing
        self._idle = idle
        self._lifetime = lifetime

    async def sign_in(self, username: str, password: str, address: str) -> tuple[str, User]:
        """A new session for these credentials: returns the cookie value and the user.

        Raises:
            PasswordChecksBusy: password checks are at their bound in this process (too many
                at once, or too many a second, from anywhere: passwords.py); nothing was
                checked or counted.
            TooManyRequests: failed sign-ins from this address or for this username are being
                slowed down (throttle.py); the password was not even checked.
            Unauthorized: the username and password do not match an enabled user (the message
                does not say which part was wrong).
        """
        username = normalize_username(username)[:USERNAME_MAX]
        if "\x00" in username or "\x00" in password:  # no account has one; nor can storage
            raise Unauthorized("Wrong username or password.", challenge=None)
        # The hash's place first: a sign-in refused for the server's load costs no back-off
        # count, no lookup and no hash.
        with self._checks.checking() as check:
            await self._throttle.attempt(username, address)
            async with self._db.snapshot() as conn:
                record = await rows.by_username(conn, username)
            usable = record is not None and record.disabled_at is None
            stored = record.password_hash if record is not None and usable else None
            if not await check.verify(stored, password) or record is None:
                raise Unauthorized("Wrong username or password.", challenge=None)
        await self._throttle.succeeded(username, address)
        rehashed = await self._rehash(record.password_hash, password)
        cookie = secrets.token_urlsafe(32)
        now = utcnow()
        async with self._db.write() as conn:
            await rows.insert_session(
                conn,
                token_hash=_hash(cookie),
                user_id=record.id,
                csrf_token=secrets.token_urlsafe(32),
                now=now,
                expires_at=now + self._lifetime,
            )
            if rehashed is not None:
                await rows.set_password_hash(conn, record.id, rehashed)
        return cookie, User.of(record)

    async def _rehash(self, stored: str, password: str) -> str | None:
        """A hash of the right password with today's parameters, if `stored` has others (made
        before the write transaction: a hash must not hold the database's write lock). Skipped
        while password checks are at their bound: the next sign-in will do it."""
        if not needs_rehash(stored):
            return None
        try:
            return await self._checks.hash_password(password)
        except PasswordChecksBusy:
            return None

    async def resolve(self, cookie: str | None) -> ConsoleSession | None:
        """The live session this cookie names, or None (unknown, expired, or user disabled)."""
        if not cookie or len(cookie) > 100:
            return None
        async with self._db.snapshot() as conn:
            record = await rows.session_by_hash(conn, _hash(cookie))
        if record is None or record.user.disabled_at is not None:
            return None
        now = utcnow()
        if record.expires_at <= now or record.last_seen_at + self._idle <= now:
            async with self._db.write() as conn:
                await rows.delete_session(conn, record.id)
            return None
        if now - record.last_seen_at >= min(TOUCH_EVERY, self._idle / 10):
            async with self._db.write() as conn:
                await rows.touch_session(conn, record.id, now)
        return ConsoleSession(
            record.id,
            User.of(record.user),
            record.csrf_token,
            min(record.expires_at, now + self._idle),
        )

    async def change_password(self, session: ConsoleSession, current: str, new: str) -> int:
        """The session's user changes their password, proving it with the current one. Every
        other session of theirs ends (this one stays signed in); returns how many did. Their
        console sockets elsewhere close within RECHECK_SECONDS (console/socket.py), as after a
        sign-out.

        A wrong current password is a password guess by someone holding a session, so the
        sign-in throttle counts it, under the username and this session in place of an
        address: one stolen session is one guesser whatever addresses it comes from, and
        colleagues sharing a newsroom's address are not slowed down by one person's typo.

        Raises:
            Unprocessable: no current password, or a weak new one (checked first, so not
                counted as a guess), or the new one is the same as the current one.
            PasswordChecksBusy: password checks are at their bound in this process; nothing
                was checked, counted or changed.
            TooManyRequests: too many wrong current passwords lately; nothing was checked.
            Forbidden: the current password is wrong.
        """
        if not current:
            raise Unprocessable("Enter your current password.")
        try:
            check_strength(new)
        except WeakPassword as error:
            raise Unprocessable(str(error)) from None
        username, guesser = session.user.username, f"session:{session.id}"
        with self._checks.checking() as check:
            try:
                await self._throttle.attempt(username, guesser)
            except TooManyRequests as error:
                wait = (error.headers or {}).get("Retry-After", "a few")
                raise TooManyRequests(
                    f"Too many wrong current passwords; try again in {wait} "
                    f"second{'' if wait == '1' else 's'}.",
                    headers=error.headers,
                ) from None
            async with self._db.snapshot() as conn:
                record = await rows.by_id(conn, session.user.id)
            if record is None or not await check.verify(record.password_hash, current):
                raise Forbidden("Your current password is not right, so nothing was changed.")
        await self._throttle.succeeded(username, guesser)
        if new == current:
            raise Unprocessable("The new password is the same as the current one.")
        password_hash = await self._checks.hash_password(new)
        async with self._db.write() as conn:
            await rows.set_password_hash(conn, record.id, password_hash)
            return await rows.end_sessions(conn, record.id, keep=session.id)

    async def sign_out(self, session: ConsoleSession) -> None:
        async with self._db.write() as conn:
            await rows.delete_session(conn, session.id)

    async def live(self, session_ids: list[int]) -> set[int]:
        """Of these sessions, those not ended, not expired and whose user is enabled (console
        sockets re-check with it)."""
        now = utcnow()
        async with self._db.snapshot() as conn:
            return await rows.live_session_ids(
                conn, session_ids, now=now, idle_before=now - self._idle
            )

    async def sweep(self) -> int:
        """Delete ended sessions (the lifespan runs it now and then)."""
        now = utcnow()
        async with self._db.write() as conn:
            return await rows.delete_stale_sessions(conn, now=now, idle_before=now - self._idle)


__all__ = ["ConsoleSession", "Role", "Sessions"]


async def sweep_sessions(sessions: Sessions) -> None:
    """Remove ended sessions now and every hour. A sweep that fails ends it: the supervisor
    logs that and starts it again (app/supervisor.py)."""
    while True:
        await sessions.sweep()
        await asyncio.sleep(SESSION_SWEEP_SECONDS)
