"""API tokens for newsroom tools: made by the CLI, shown once, stored only as a hash.

A token has a scope (`admin` or `publish`), optionally a list of liveblogs (publish tokens),
optionally an expiry, and is revoked by marking it: its row stays, because revisions name it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from app.domain.model import SLUG_RE, iso_utc
from app.domain.principal import Principal, Scope
from app.errors import Unauthorized
from app.storage import tokens as rows
from app.storage.db import Database
from app.storage.tokens import NameTaken as NameTaken, TokenRecord

log = logging.getLogger(__name__)

TOKEN_PREFIX = "lb_"
NAME_MAX = 100


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenSpec:
    """What `token create` asks for, checked before anything is stored."""

    name: str
    scope: Scope = Scope.ADMIN
    liveblogs: tuple[str, ...] = ()
    expires_at: datetime | None = None

    def problems(self, now: datetime) -> list[str]:
        found = []
        if not self.name or len(self.name) > NAME_MAX:
            found.append(f"the name must be 1 to {NAME_MAX} characters")
        if self.liveblogs and self.scope is Scope.ADMIN:
            found.append("--liveblog limits publish tokens; an admin token may do everything")
        found += [
            f"{slug!r} is not a liveblog slug" for slug in self.liveblogs if not SLUG_RE.match(slug)
        ]
        if self.expires_at is not None and self.expires_at <= now:
            found.append("the expiry is in the past")
        return found


async def create_token(db: Database, spec: TokenSpec) -> str:
    """Store a new token and return it; it cannot be recovered later. Raises NameTaken."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with db.write() as conn:
        await rows.insert(
            conn,
            name=spec.name,
            token_hash=hash_token(token),
            scope=spec.scope.value,
            liveblogs=sorted(set(spec.liveblogs)) or None,
            expires_at=spec.expires_at,
            now=datetime.now(UTC),
        )
    return token


async def list_tokens(db: Database) -> list[TokenRecord]:
    async with db.snapshot() as conn:
        return await rows.list_all(conn)


async def revoke_token(db: Database, name: str) -> TokenRecord | None:
    """Mark the token named `name` revoked; None if there is none. Its row stays."""
    async with db.write() as conn:
        return await rows.revoke(conn, name, datetime.now(UTC))


def _principal(record: TokenRecord) -> Principal:
    return Principal(
        type="token",
        id=record.id,
        name=record.name,
        scope=Scope(record.scope),
        liveblogs=frozenset(record.liveblogs) if record.liveblogs is not None else None,
    )


@dataclass(frozen=True, slots=True)
class _Trusted:
    principal: Principal
    until: float  # monotonic: when to read the token from storage again
    expires_at: datetime | None


class TokenCheck:
    """Turns a bearer token into a Principal, trusting a positive answer for `ttl` seconds.

    Every write checks its token, and reading it from storage each time cost a quarter of a
    POST. So a revoked token keeps working for up to `ttl` seconds in a process that has just
    seen it. Expiry is exact (the cached answer carries it). Unknown, revoked and expired tokens
    are never remembered, so a new token works at once. `last used` is written when the token is
    read from storage, at most once per `ttl` (and per minute when ttl is 0), not per request.
    """

    MAX_REMEMBERED = 1024  # tokens are few (one per newsroom tool); past this, start afresh
    MIN_TOUCH_INTERVAL = 60.0  # seconds between `last used` writes when nothing is cached

    def __init__(self, db: Database, ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._known: dict[str, _Trusted] = {}  # token hash -> trusted answer
        # token hash -> the storage read in flight: when a busy tool's cached answer runs out,
        # its concurrent writes wait for one read instead of each reading (and touching).
        self._reading: dict[str, asyncio.Future[Principal]] = {}

    async def principal(self, token: str) -> Principal:
        """Who holds `token`; raises Unauthorized if it is unknown, revoked or expired."""
        token_hash = hash_token(token)
        known = self._known.get(token_hash)
        if known is not None and time.monotonic() < known.until:
            if known.expires_at is not None and datetime.now(UTC) >= known.expires_at:
                del self._known[token_hash]
                raise Unauthorized(_expired(known.principal.name, known.expires_at))
            return known.principal
        reading = self._reading.get(token_hash)
        if reading is not None:
            return await asyncio.shield(reading)
        future: asyncio.Future[Principal] = asyncio.get_running_loop().create_future()
        self._reading[token_hash] = future
        try:
            principal = await self._read(token_hash)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        else:
            future.set_result(principal)
            return principal
        finally:
            del self._reading[token_hash]

    async def _read(self, token_hash: str) -> Principal:
        async with self._db.snapshot() as conn:
            record = await rows.by_hash(conn, token_hash)
        now = datetime.now(UTC)
        if (
            record is None
            or record.revoked_at is not None
            or (record.expires_at is not None and now >= record.expires_at)
        ):
            self._known.pop(token_hash, None)
            if record is None:
                raise Unauthorized("Unknown API token.")
            if record.revoked_at is not None:
                raise Unauthorized(f"API token {record.name!r} was revoked.")
            assert record.expires_at is not None
            raise Unauthorized(_expired(record.name, record.expires_at))
        await self._touch(record, now)
        principal = _principal(record)
        if self._ttl > 0:
            if len(self._known) >= self.MAX_REMEMBERED:
                self._known.clear()
            self._known[token_hash] = _Trusted(
                principal, time.monotonic() + self._ttl, record.expires_at
            )
        return principal

    async def _touch(self, record: TokenRecord, now: datetime) -> None:
        interval = self._ttl or self.MIN_TOUCH_INTERVAL
        if (
            record.last_used_at is not None
            and (now - record.last_used_at).total_seconds() < interval
        ):
            return
        try:
            async with self._db.write() as conn:
                await rows.touch(conn, record.id, now)
        except Exception:  # bookkeeping: never fail the request that uses the token
            log.warning("could not record the use of token %r", record.name, exc_info=True)


def _expired(name: str, expires_at: datetime) -> str:
    return f"API token {name!r} expired at {iso_utc(expires_at, 'seconds')}."
