"""Trust: scoped, expiring, revocable tokens with unique names; liveblog versions; revisions
(who changed what); idempotency keys.

Revision ID: 0003_trust
Revises: 0002_pinned_index_order
Create Date: 2026-11-30 16:00:00
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

log = logging.getLogger("alembic.runtime.migration")

revision: str = "0003_trust"
down_revision: str | None = "0002_pinned_index_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    _rename_shared_names()
    op.create_index("uq_api_tokens_name", "api_tokens", ["name"], unique=True)
    op.add_column(
        "api_tokens",
        sa.Column("scope", sa.String(length=16), nullable=False, server_default="admin"),
    )
    op.add_column("api_tokens", sa.Column("liveblogs", sa.JSON(), nullable=True))
    op.add_column("api_tokens", sa.Column("expires_at", TZ, nullable=True))
    op.add_column("api_tokens", sa.Column("last_used_at", TZ, nullable=True))
    op.add_column("api_tokens", sa.Column("revoked_at", TZ, nullable=True))
    op.add_column(
        "liveblogs", sa.Column("version", sa.Integer(), nullable=False, server_default="1")
    )
    op.create_table(
        "revisions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("liveblog_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", TZ, nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["liveblog_id"],
            ["liveblogs.id"],
            name=op.f("fk_revisions_liveblog_id_liveblogs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["entries.id"],
            name=op.f("fk_revisions_entry_id_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revisions")),
    )
    op.create_index("ix_revisions_entry", "revisions", ["liveblog_id", "entry_id", "seq"])
    op.create_table(
        "idempotency_keys",
        sa.Column("id", BigId, nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("owner", "key", name=op.f("uq_idempotency_keys_owner_key")),
    )
    op.create_index(
        "ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"], unique=False
    )


def _rename_shared_names() -> None:
    """Names become unique. Before, `token create` accepted a taken name, and `token revoke`
    deleted every token of a name: the older holders of a shared name are renamed
    "<name>#<id>" (the newest keeps the name), so no token stops working, and each is logged
    so that an operator who revokes "<name>" knows the others exist."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, name FROM api_tokens ORDER BY id DESC")).all()
    taken = {name for _, name in rows}
    kept: set[str] = set()
    for token_id, name in rows:
        if name not in kept:
            kept.add(name)  # the newest of each name keeps it
            continue
        renamed, n = f"{name[:88]}#{token_id}", 1
        while renamed in taken:
            n += 1
            renamed = f"{name[:85]}#{token_id}-{n}"
        taken.add(renamed)
        bind.execute(
            sa.text("UPDATE api_tokens SET name = :name WHERE id = :id"),
            {"name": renamed, "id": token_id},
        )
        log.warning(
            "token names are unique now: an older token named %r is renamed %r "
            "(`liveblog token list` shows it; revoke it by that name if it is not needed)",
            name,
            renamed,
        )


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_revisions_entry", table_name="revisions")
    op.drop_table("revisions")
    with op.batch_alter_table("liveblogs") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("api_tokens") as batch:
        for column in ("revoked_at", "last_used_at", "expires_at", "liveblogs", "scope"):
            batch.drop_column(column)
    op.drop_index("uq_api_tokens_name", table_name="api_tokens")
