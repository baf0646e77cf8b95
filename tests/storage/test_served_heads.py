"""The record of heads a data directory served (storage/served_heads.py), on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.domain.resume import Served
from app.storage import served_heads


def test_merged_keeps_the_highest_seq_of_each_epoch_and_when_it_began() -> None:
    began = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    now = began + timedelta(minutes=5)
    before = {"a": Served("e1", 15, began), "gone": Served("g", 3, began)}
    after = served_heads.merged(before, {"a": ("e1", 20), "b": ("f", 2)}, now)
    assert after == {
        "a": Served("e1", 20, began),
        "b": Served("f", 2, now),
        "gone": Served("g", 3, began),  # its readers still hold its seqs
    }
    assert served_heads.merged(after, {"a": ("e1", 5)}, now)["a"] == Served("e1", 20, began)
    assert served_heads.merged(after, {"a": ("e2", 5)}, now)["a"] == Served("e2", 5, now)


def test_record_round_trip_and_unreadable(tmp_path: Path) -> None:
    path = served_heads.record_path(f"sqlite+aiosqlite:///{tmp_path / 'liveblog.db'}")
    assert path == tmp_path / "served-heads.liveblog.db.json"
    assert served_heads.record_path("postgresql+asyncpg://db.internal/liveblog") is None
    assert served_heads.load(path) == {}
    record = {"a": Served("e1", 15, datetime(2026, 12, 7, 12, 0, tzinfo=UTC))}
    served_heads.save(path, record)
    assert served_heads.load(path) == record
    for broken in ("{", '{"liveblogs": {"a": {"epoch": "e1"}}}', "[]"):
        path.write_text(broken)
        with pytest.raises(served_heads.Unreadable):
            served_heads.load(path)
