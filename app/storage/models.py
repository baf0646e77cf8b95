"""Table definitions. The schema itself is created only by Alembic migrations (migrations/)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.domain.model import AUTHOR_MAX, SLUG_MAX, TITLE_MAX

# Named constraints so migrations can refer to them on every database.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class LiveblogRow(Base):
    __tablename__ = "liveblogs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="live")
    # The last sequence number handed out for this liveblog. Every write bumps it first, in its
    # own transaction, which serializes writers per liveblog and keeps the sequence gap-free.
    head_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Seq of the latest change to the liveblog's own fields (0: unchanged since creation).
    meta_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class EntryRow(Base):
    __tablename__ = "entries"
    __table_args__ = (
        # Catch-up (`since`) reads entries by their latest change.
        UniqueConstraint("liveblog_id", "seq"),
        # Pages read entries newest first; the creation seq is the cursor.
        UniqueConstraint("liveblog_id", "created_seq"),
        # The pinned entry and the key events are looked up on every page render: partial
        # indexes keep that a lookup, not a scan, however long the liveblog grows.
        # Both carry created_seq, so "newest first" is read off the index: without it SQLite
        # prefers walking every entry in created_seq order to find the pinned one.
        Index(
            "ix_entries_pinned",
            "liveblog_id",
            "created_seq",
            sqlite_where=text("pinned = 1"),
            postgresql_where=text("pinned"),
        ),
        Index(
            "ix_entries_key_event",
            "liveblog_id",
            "created_seq",
            sqlite_where=text("key_event = 1"),
            postgresql_where=text("key_event"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    liveblog_id: Mapped[int] = mapped_column(ForeignKey("liveblogs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    created_seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(AUTHOR_MAX), nullable=True)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    key_event: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class TokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the token. Tokens are 256 random bits, so a fast hash is enough: there is no
    # password to guess, and verification stays one indexed lookup.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
