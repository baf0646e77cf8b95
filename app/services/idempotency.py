"""Safe retries: a write made under an `Idempotency-Key` happens once; retries get its response.

Semantics of the IETF httpapi draft "The Idempotency-Key HTTP Header Field":
- the key is claimed in the same transaction as the write it guards, as its first statement,
  so a retry after a crash that followed the commit finds it, and a retry that arrives while the
  first request is in flight waits for it (storage/idempotency.py) and then replays;
- a retry with the same key and the same fingerprint (method, path, SHA-256 of the body) gets
  the stored status and body again, with `Idempotent-Replayed: true`, and writes nothing;
- the same key with another fingerprint is refused (422);
- final 2xx and 4xx outcomes are stored; a 5xx rolls the claim back with the write, so a retry
  tries again. Keys are per caller and expire after LIVEBLOG_IDEMPOTENCY_TTL_SECONDS.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, NoReturn, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from app.errors import PROBLEM_JSON, BadRequest, Conflict, LiveblogError, Unprocessable, error_body
from app.services.writes import utcnow
from app.storage import idempotency as rows
from app.storage.db import Database

T = TypeVar("T")

# 1 to 255 printable ASCII characters (space to tilde); also the OpenAPI document's pattern.
KEY_PATTERN = "^[ -~]{1,255}$"
_KEY = re.compile(KEY_PATTERN)


def valid_key(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


def checked_key(key: str) -> str:
    """An Idempotency-Key header's value; raises BadRequest (400) unless it is a valid key."""
    if not valid_key(key):
        raise BadRequest("Idempotency-Key must be 1 to 255 printable ASCII characters.")
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(body).hexdigest()
    return hashlib.sha256(f"{method.upper()} {path}\n{digest}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Reply:
    """A response as stored for replay: the edge renders it, live or replayed."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # Content-Type included


class Replayed(Exception):
    """Raised instead of writing: the edge answers with the stored reply."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


@dataclass(frozen=True, slots=True)
class Once(Generic[T]):
    """One caller's key for one request, and how that request's success is rendered."""

    owner: str  # Principal.key: keys are per caller
    key: str
    fingerprint: str
    ttl_seconds: float
    render: Callable[[T], Reply]


async def write_once(
    db: Database,
    once: Once[T] | None,
    work: Callable[[AsyncConnection], Awaitable[T]],
    subject: Callable[[T], str] | None = None,
) -> T:
    """Run `work` in one write transaction, at most once per key.

    `subject` names what the write made ("entry:12"), stored with the key so that a purge can
    find the response that holds its content (`forget`).

    Raises Replayed if the key was used before with the same request, Unprocessable if it was
    used with another, and whatever `work` raises (a lasting LiveblogError is stored first).
    """
    if once is None:
        async with db.write() as conn:
            return await work(conn)
    refusal: LiveblogError | None = None
    try:
        async with db.write() as conn:
            row_id = await _claim(conn, once)
            try:
                result = await work(conn)
            except LiveblogError as error:
                refusal = error
                raise
            made = subject(result) if subject else None
            await rows.complete(conn, row_id, _stored(once.render(result)), made)
        return result
    except LiveblogError:
        if refusal is None or not refusal.lasting:
            raise
    # The refused write rolled back, its claim with it: the refusal is kept in a transaction
    # of its own (cheaper than a savepoint around every write).
    await refuse_once(db, once, refusal)


async def refuse_once(db: Database, once: Once[Any], refusal: LiveblogError) -> NoReturn:
    """Keep `refusal` under the key, then raise it; for refusals found before the write, too.

    If the key already holds an answer (a concurrent retry stored its own first), that answer
    is replayed instead: Replayed, or Unprocessable for another request under the same key.
    """
    async with db.write() as conn:
        row_id = await _claim(conn, once)
        await rows.complete(conn, row_id, _stored(_problem(refusal)), None)
    raise refusal


async def forget(conn: AsyncConnection, subject: str, refusal: LiveblogError) -> None:
    """Inside a purge's transaction: every key whose write made `subject` now replays
    `refusal` instead of the content (which must not survive a legal takedown), and a retry
    of the original request does not publish it again."""
    await rows.forget_subject(conn, subject, _stored(_problem(refusal)))


def _problem(error: LiveblogError) -> Reply:
    return Reply(error.status, error_body(error), {"Content-Type": PROBLEM_JSON})


def _stored(reply: Reply) -> rows.StoredReply:
    return rows.StoredReply(reply.status, reply.headers, reply.body.decode())


async def _claim(conn: AsyncConnection, once: Once[Any]) -> int:
    now = utcnow()
    row_id = await rows.claim(
        conn,
        owner=once.owner,
        key=once.key,
        fingerprint=once.fingerprint,
        now=now,
        expires_at=now + timedelta(seconds=once.ttl_seconds),
    )
    if row_id is None:
        raise _replay(await rows.get(conn, owner=once.owner, key=once.key), once)
    return row_id


def _replay(stored: rows.StoredKey | None, once: Once[Any]) -> Exception:
    if stored is None or stored.status is None:
        # The row was swept between the claim and this read (it had just expired): the
        # client may simply retry, and the key will be free.
        return Conflict("This Idempotency-Key was expiring; retry the request.")
    if stored.fingerprint != once.fingerprint:
        return Unprocessable(
            "This Idempotency-Key was already used for a different request (another method, "
            "path or body); use a new key for a new request."
        )
    return Replayed(Reply(stored.status, stored.body.encode(), stored.headers))


# Expired keys are taken over when reused (storage/idempotency.py: claim); the sweep only keeps
# the table from growing. Small batches keep each write short beside the newsroom's own.
SWEEP_INTERVAL_SECONDS = 600
SWEEP_BATCH = 500


async def delete_expired_keys(db: Database, now: datetime | None = None) -> int:
    """Delete every key expired by `now` (default: now), SWEEP_BATCH to a transaction so
    that none holds the database long; returns how many."""
    moment = now or utcnow()
    total = 0
    while True:
        async with db.write() as conn:
            deleted = await rows.delete_expired(conn, moment, SWEEP_BATCH)
        total += deleted
        if deleted < SWEEP_BATCH:
            return total


async def sweep_expired_keys(db: Database) -> None:
    """Delete expired keys every few minutes, for the life of the process. A sweep that fails
    ends it: the supervisor logs that and starts it again (app/supervisor.py)."""
    while True:
        await asyncio.sleep(SWEEP_INTERVAL_SECONDS)
        await delete_expired_keys(db)
