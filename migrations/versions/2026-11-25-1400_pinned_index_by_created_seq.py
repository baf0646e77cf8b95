"""The pinned entries' index also orders by created_seq, so the newest is read off it.

Revision ID: 0002_pinned_index_order
Revises: 0001_initial
Create Date: 2026-11-25 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_pinned_index_order"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _pinned_index(*columns: str) -> None:
    op.create_index(
        "ix_entries_pinned",
        "entries",
        list(columns),
        sqlite_where=sa.text("pinned = 1"),
        postgresql_where=sa.text("pinned"),
    )


def upgrade() -> None:
    op.drop_index("ix_entries_pinned", table_name="entries")
    _pinned_index("liveblog_id", "created_seq")


def downgrade() -> None:
    op.drop_index("ix_entries_pinned", table_name="entries")
    _pinned_index("liveblog_id")
