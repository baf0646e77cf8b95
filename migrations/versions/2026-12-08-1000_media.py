"""Uploaded media: `media` (one row per upload, keyed by the hash of its bytes) and
`media_files` (the renditions stored for it, each named by the hash of its own bytes); and
`link_previews`, what a link's page said of itself when the console fetched it (its title, its
image stored as media).

Revision ID: 0010_media
Revises: 0009_epoch_rotated_at
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_media"
down_revision: str | None = "0009_epoch_rotated_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("source_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("animated", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
    )
    op.create_table(
        "media_files",
        sa.Column("id", BigId, nullable=False),
        sa.Column("media_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media.id"],
            name=op.f("fk_media_files_media_id_media"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_files")),
        sa.UniqueConstraint("media_id", "name", name=op.f("uq_media_files_media_id_name")),
    )
    op.create_index("ix_media_files_name", "media_files", ["name"])
    op.create_table(
        "link_previews",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("site_name", sa.String(length=200), nullable=True),
        sa.Column("media_id", sa.String(length=64), nullable=True),
        sa.Column("fetched_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_previews")),
    )


def downgrade() -> None:
    op.drop_table("link_previews")
    op.drop_index("ix_media_files_name", table_name="media_files")
    op.drop_table("media_files")
    op.drop_table("media")
