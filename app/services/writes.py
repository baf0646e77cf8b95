"""What every write use case shares: the clock, and rolling back a write that changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Unchanged(Exception):
    """Raised inside a write transaction to roll it back when it would change nothing, so it
    takes no seq and sends no event."""
