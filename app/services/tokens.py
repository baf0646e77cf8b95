"""API tokens for newsroom tools: made by the CLI, shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from app.storage import tokens as rows
from app.storage.db import Database

TOKEN_PREFIX = "lb_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(db: Database, name: str) -> str:
    """Store a new token under `name` and return it; it cannot be recovered later."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with db.write() as session:
        await rows.insert(session, name=name, token_hash=hash_token(token), now=datetime.now(UTC))
    return token


async def token_name(db: Database, token: str) -> str | None:
    """The name of the tool holding `token`, or None if no such token exists."""
    async with db.snapshot() as session:
        return await rows.name_for_hash(session, hash_token(token))
