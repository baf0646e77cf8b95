"""`liveblogs.epoch_rotated_at`: when a liveblog's epoch was last replaced (NULL: never).

A `since` sent without an `epoch` is trusted only while the liveblog keeps the epoch it was
created with: after a restore, a copy or `rotate-epochs`, such a `since` may count in the old
history, so the reader reloads (domain/resume.py). Existing liveblogs start at NULL: a rotation
before this migration left no trace, so they keep trusting a bare `since` until their next one.

Revision ID: 0009_epoch_rotated_at
Revises: 0008_edited_at
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_epoch_rotated_at"
down_revision: str | None = "0008_edited_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both databases (a nullable column needs no table rebuild).
    op.add_column(
        "liveblogs", sa.Column("epoch_rotated_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    # Not a batch (table rebuild) on SQLite: SQLite 3.35+ drops a column in place.
    op.drop_column("liveblogs", "epoch_rotated_at")
