"""`entries.edited_at`: when an entry's words last changed (title, body, author, correction).

Readers see "Updated <time>" from it. Until now they saw it whenever `version` > 1, so pinning
an entry or marking it a key event, which change no word, showed it as "Updated" too. Flags
still take a version (If-Match covers them) but leave `edited_at` alone.

Existing entries changed after their creation take their `updated_at`: what readers were shown
before stays shown; only changes from now on tell flags from words.

Revision ID: 0008_edited_at
Revises: 0007_entry_search
Create Date: 2026-12-07 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_edited_at"
down_revision: str | None = "0007_entry_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both databases: SQLite keeps the table (and 0007's trigger on it).
    op.add_column("entries", sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE entries SET edited_at = updated_at WHERE version > 1")


def downgrade() -> None:
    # Not a batch (table rebuild) on SQLite, which would drop 0007's trigger with the table:
    # SQLite 3.35+ drops a column in place.
    op.drop_column("entries", "edited_at")
