"""64-bit ids and seqs on PostgreSQL (SQLite's INTEGER is 64-bit already).

On PostgreSQL `ALTER COLUMN … TYPE bigint` rewrites each table under an ACCESS EXCLUSIVE lock:
writes and reads of that table wait until it is done (docs/operations.md, "Upgrading"). The
downgrade refuses
when a value no longer fits 32 bits, rather than failing half-way or truncating.

Revision ID: 0004_bigint_ids
Revises: 0003_trust
Create Date: 2026-11-30 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_bigint_ids"
down_revision: str | None = "0003_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, columns): every id, reference and seq that a long-lived installation can outgrow.
COLUMNS = {
    "liveblogs": ("id", "head_seq", "meta_seq"),
    "entries": ("id", "liveblog_id", "seq", "created_seq"),
    "api_tokens": ("id",),
    "revisions": ("liveblog_id", "entry_id"),
}
# Sequences behind SERIAL primary keys (revisions and idempotency_keys were created 64-bit).
SEQUENCES = ("liveblogs_id_seq", "entries_id_seq", "api_tokens_id_seq")
INT32_MAX = 2**31 - 1


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgresql():
        return
    for table, columns in COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN {column} TYPE bigint" for column in columns)
        op.execute(f"ALTER TABLE {table} {changes}")
    for sequence in SEQUENCES:
        op.execute(f"ALTER SEQUENCE {sequence} AS bigint")


def downgrade() -> None:
    if not _postgresql():
        return
    bind = op.get_bind()
    too_big: list[str] = []
    for table, columns in COLUMNS.items():
        largest = ", ".join(f"max({column})" for column in columns)
        values = bind.execute(sa.text(f"SELECT {largest} FROM {table}")).one()
        too_big += [
            f"{table}.{column}"
            for column, value in zip(columns, values, strict=True)
            if value is not None and value > INT32_MAX
        ]
    for sequence in SEQUENCES:
        # A sequence can be ahead of its table (rolled-back inserts, or set by hand).
        if bind.execute(sa.text(f"SELECT last_value FROM {sequence}")).scalar_one() > INT32_MAX:
            too_big.append(sequence)
    if too_big:
        raise RuntimeError(
            f"cannot go back to 32-bit columns: {', '.join(too_big)} hold values above {INT32_MAX}"
        )
    for sequence in SEQUENCES:
        op.execute(f"ALTER SEQUENCE {sequence} AS integer")
    for table, columns in COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN {column} TYPE integer" for column in columns)
        op.execute(f"ALTER TABLE {table} {changes}")
