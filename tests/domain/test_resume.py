"""The resume rule on its own: where a reader at `since` starts."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.events import ENTRY_CREATED, ENTRY_DELETED, ENTRY_UPDATED, replay_kind
from app.domain.model import Entry
from app.domain.resume import Resume, bounded, plan


def test_plan() -> None:
    """No since or since at head: live; behind: replay; ahead: the server cannot honour it."""
    assert plan(None, 10) is Resume.LIVE
    assert plan(10, 10) is Resume.LIVE
    assert plan(3, 10) is Resume.REPLAY
    assert plan(0, 0) is Resume.LIVE
    assert plan(11, 10) is Resume.AHEAD


def test_plan_with_epochs() -> None:
    """A since of another epoch is never replayed, whatever its number; without an epoch the
    reader is trusted as before; an epoch without a since changes nothing."""
    assert plan(3, 10, "old", "new") is Resume.EPOCH_CHANGED
    assert plan(10, 10, "old", "new") is Resume.EPOCH_CHANGED
    assert plan(0, 0, "old", "new") is Resume.EPOCH_CHANGED
    assert plan(3, 10, "new", "new") is Resume.REPLAY
    assert plan(11, 10, "new", "new") is Resume.AHEAD
    assert plan(3, 10, None, "new") is Resume.REPLAY
    assert plan(None, 10, "old", "new") is Resume.LIVE


def test_bounded() -> None:
    """A replay is allowed up to the limit, inclusive."""
    assert bounded(100, 100) is Resume.REPLAY
    assert bounded(101, 100) is Resume.TOO_FAR_BEHIND


def _entry(created_seq: int, seq: int, deleted: bool = False) -> Entry:
    now = datetime.now(UTC)
    return Entry(1, seq, created_seq, None, "", None, False, False, now, now, 1, deleted)


def test_replay_kind() -> None:
    """Unseen entries arrive as created, seen ones as updated, deletions always as deleted."""
    assert replay_kind(_entry(created_seq=5, seq=9), since=4) == ENTRY_CREATED
    assert replay_kind(_entry(created_seq=5, seq=9), since=5) == ENTRY_UPDATED
    assert replay_kind(_entry(created_seq=5, seq=9, deleted=True), since=4) == ENTRY_DELETED
