"""Epochs: each liveblog names the history its seqs count in.

A reader holding a seq from before a restore is then told to reload instead of skipping what
now carries its numbers. Every existing liveblog gets its own new epoch here.

Revision ID: 0006_epochs
Revises: 0005_console
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_epochs"
down_revision: str | None = "0005_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

liveblogs = sa.table("liveblogs", sa.column("id", sa.BigInteger), sa.column("epoch", sa.String))


def upgrade() -> None:
    # The default is for liveblogs that processes of the previous version create during a
    # rolling upgrade (they do not know the column): one epoch like any other, replaced by
    # the next restore or copy as every epoch is.
    with op.batch_alter_table("liveblogs") as batch:
        batch.add_column(
            sa.Column("epoch", sa.String(length=32), nullable=False, server_default="0")
        )
    connection = op.get_bind()
    for (liveblog_id,) in connection.execute(sa.select(liveblogs.c.id)).all():
        # As domain.model.new_epoch makes them (a migration does not import the app).
        connection.execute(
            liveblogs.update()
            .where(liveblogs.c.id == liveblog_id)
            .values(epoch=secrets.token_hex(8))
        )


def downgrade() -> None:
    with op.batch_alter_table("liveblogs") as batch:
        batch.drop_column("epoch")
