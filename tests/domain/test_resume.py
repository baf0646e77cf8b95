"""The resume rule on its own: where a reader at `since` starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.domain.events import ENTRY_CREATED, ENTRY_DELETED, ENTRY_UPDATED, replay_kind
from app.domain.model import Entry
from app.domain.resume import Resume, Served, bounded, plan, went_back


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
    assert plan(3, 10, None, "new") is Resume.REPLAY  # a liveblog that never rotated
    assert plan(None, 10, "old", "new") is Resume.LIVE


def test_plan_trusts_a_bare_since_only_in_a_liveblog_that_never_rotated() -> None:
    """Without an epoch, `since` is of the current epoch while the liveblog never had another;
    once it has, it may be of the old one, whatever its number: as a wrong epoch."""
    assert plan(3, 10, None, "first", rotated=False) is Resume.REPLAY
    assert plan(11, 10, None, "first", rotated=False) is Resume.AHEAD
    for since in (1, 3, 10, 11):
        assert plan(since, 10, None, "second", rotated=True) is Resume.EPOCH_CHANGED
    # From the very start is right in any history: everything, nothing missed, nothing twice.
    assert plan(0, 10, None, "second", rotated=True) is Resume.REPLAY
    assert plan(3, 10, "second", "second", rotated=True) is Resume.REPLAY
    assert plan(3, 10, "first", "second", rotated=True) is Resume.EPOCH_CHANGED
    assert plan(None, 10, None, "second", rotated=True) is Resume.LIVE


def test_went_back() -> None:
    """A database is older than what was served of a liveblog when its head is below the seq
    served in the same epoch, or when it holds another epoch that is not a later rotation."""
    began = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    served = Served("e1", 15, began)
    assert went_back(None, "e0", 5, None) is None  # nothing recorded: nothing to compare
    assert went_back(served, "e1", 15, None) is None
    assert went_back(served, "e1", 20, None) is None
    assert "below seq 15" in (went_back(served, "e1", 5, None) or "")
    assert "older than epoch e1" in (went_back(served, "e0", 30, None) or "")
    assert went_back(served, "e0", 5, began - timedelta(days=1)) is not None
    # rotated after e1 began: a restore or rotate-epochs done since
    assert went_back(served, "e2", 5, began + timedelta(seconds=1)) is None


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
