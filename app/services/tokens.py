"""API tokens for newsroom tools: made by the CLI, shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime

from app.storage import tokens as rows
from app.storage.db import Database

TOKEN_PREFIX = "lb_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(db: Database, name: str) -> str:
    """Store a new token under `name` and return it; it cannot be recovered later."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with db.write() as conn:
        await rows.insert(conn, name=name, token_hash=hash_token(token), now=datetime.now(UTC))
    return token


async def revoke_tokens(db: Database, name: str) -> int:
    """Delete every token held under `name`; returns how many were deleted."""
    async with db.write() as conn:
        return await rows.delete_named(conn, name)


class TokenCheck:
    """Says who holds a token, trusting a positive answer for `ttl` seconds.

    Every write checks its token, and reading it from storage each time cost a quarter of a
    POST. So a revoked token keeps working for up to `ttl` seconds in a process that has just
    seen it; unknown tokens are never remembered, so a new token works at once.
    """

    MAX_REMEMBERED = 1024  # tokens are few (one per newsroom tool); past this, start afresh

    def __init__(self, db: Database, ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._known: dict[str, tuple[str, float]] = {}  # token hash -> (name, trusted until)

    async def holder(self, token: str) -> str | None:
        """The name of the tool holding `token`, or None if no such token exists."""
        token_hash = hash_token(token)
        now = time.monotonic()
        known = self._known.get(token_hash)
        if known is not None and now < known[1]:
            return known[0]
        async with self._db.snapshot() as conn:
            name = await rows.name_for_hash(conn, token_hash)
        if name is None:
            self._known.pop(token_hash, None)
        elif self._ttl > 0:
            if len(self._known) >= self.MAX_REMEMBERED:
                self._known.clear()
            self._known[token_hash] = (name, now + self._ttl)
        return name
