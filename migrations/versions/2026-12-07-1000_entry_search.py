"""Full-text search over entries: `entry_search`, the words of every visible entry.

SQLite: an FTS5 table whose rowid is the entry's id. Its tokenizer counts letters, digits and
combining marks as word characters (as app/domain/search.py does, which has already cut and
folded the words), and takes accents off too. A trigger drops an entry's words when its row
is deleted (a liveblog's cascade, `liveblog copy` removing a row): a virtual table has no
foreign key. A later batch migration that rebuilds `entries` on SQLite drops that trigger with
the table, and must create it again.

PostgreSQL: a tsvector per entry with a GIN index, its row deleted with the entry's by the
foreign key. The lexemes are the same words (array_to_tsvector takes them as they are), so both
databases find the same entries.

Existing entries are indexed here, a batch at a time.

Revision ID: 0007_entry_search
Revises: 0006_epochs
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# The one import of the app in a migration: the words indexed must be the ones the app's
# queries look for, whatever version of those rules runs this. They are pure functions of the
# text (no schema), so a later schema cannot break them here.
from app.domain.search import document

revision: str = "0007_entry_search"
down_revision: str | None = "0006_epochs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500

entries = sa.table(
    "entries",
    sa.column("id", sa.BigInteger),
    sa.column("title", sa.String),
    sa.column("body", sa.Text),
    sa.column("deleted", sa.Boolean),
)


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE entry_search USING fts5(title, body, "
            "tokenize = \"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\")"
        )
        op.execute(
            "CREATE TRIGGER entries_forget_words AFTER DELETE ON entries "
            "BEGIN DELETE FROM entry_search WHERE rowid = old.id; END"
        )
        put = sa.text("INSERT INTO entry_search (rowid, title, body) VALUES (:id, :title, :body)")
    else:
        op.create_table(
            "entry_search",
            sa.Column("entry_id", sa.BigInteger(), nullable=False),
            sa.Column("document", postgresql.TSVECTOR(), nullable=False),
            sa.ForeignKeyConstraint(
                ["entry_id"],
                ["entries.id"],
                name=op.f("fk_entry_search_entry_id_entries"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_entry_search")),
        )
        op.create_index(
            "ix_entry_search_document", "entry_search", ["document"], postgresql_using="gin"
        )
        put = sa.text(
            "INSERT INTO entry_search (entry_id, document) "
            "VALUES (:id, array_to_tsvector(CAST(:words AS TEXT[])))"
        )
    after = 0
    while True:
        batch = connection.execute(
            sa.select(entries.c.id, entries.c.title, entries.c.body)
            .where(entries.c.id > after, ~entries.c.deleted)
            .order_by(entries.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            break
        rows = []
        for entry_id, title, body in batch:
            words = document(title, body)
            if connection.dialect.name == "sqlite":
                rows.append(
                    {"id": entry_id, "title": " ".join(words.title), "body": " ".join(words.body)}
                )
            else:
                rows.append({"id": entry_id, "words": words.title + words.body})
        connection.execute(put, rows)
        after = batch[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER entries_forget_words")
    op.execute("DROP TABLE entry_search")
