"""Table definitions. The schema itself is created only by Alembic migrations (migrations/)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
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
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.domain.model import AUTHOR_MAX, EPOCH_MAX, SLUG_MAX, TITLE_MAX

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


class UtcDateTime(TypeDecorator[datetime]):
    """A moment, stored in UTC and always read back aware of it: SQLite keeps no zone and hands
    back naive datetimes, which are made UTC here, once, for every column of every table (the
    schema is unchanged: the same TIMESTAMP WITH TIME ZONE / DATETIME as before)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # Nothing naive is ever written by the app; a naive value can only mean UTC here.
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


# Ids and seqs are 64-bit (migration 0004). SQLite's rowid alias must be spelt INTEGER to
# autoincrement, and SQLite's INTEGER is 64-bit anyway.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class LiveblogRow(Base):
    __tablename__ = "liveblogs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="live")
    # The last sequence number handed out for this liveblog. Every write bumps it first, in its
    # own transaction, which serializes writers per liveblog and keeps the sequence gap-free.
    head_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # Seq of the latest change to the liveblog's own fields (0: unchanged since creation).
    meta_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # Bumped by every change to the liveblog's own fields: its ETag, compared by If-Match.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Names the history head_seq counts in; replaced when that history may have been (a
    # restore, a copy, an import): domain.model.new_epoch. Migration 0006; its default only
    # serves processes of the previous version during a rolling upgrade.
    epoch: Mapped[str] = mapped_column(String(EPOCH_MAX), server_default="0")
    # When `epoch` was last replaced (a restore, a copy, `rotate-epochs`, or `liveblog serve`
    # finding the database older than what it served); NULL while the liveblog keeps the epoch
    # it was created with. Migration 0009.
    epoch_rotated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


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

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    liveblog_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("liveblogs.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(BigInteger)
    created_seq: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(AUTHOR_MAX), nullable=True)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    key_event: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # A note shown with the entry after an edit ("Correction: …"); plain text.
    correction: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The Markdown the console wrote the body from, so an edit starts from it; NULL when the
    # body came as HTML (the API) or was last changed as HTML.
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
    # When the words last changed (not the flags): readers' "Updated". NULL: never edited.
    edited_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class TokenRow(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (Index("uq_api_tokens_name", "name", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Unique, and kept after revocation: revisions name the token that made each change.
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the token. Tokens are 256 random bits, so a fast hash is enough: there is no
    # password to guess, and verification stays one indexed lookup.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    scope: Mapped[str] = mapped_column(String(16), default="admin")
    # Slugs a publish token may write to; NULL: every liveblog. Slugs never change.
    liveblogs: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class RevisionRow(Base):
    """One stored change to an entry (entry_id set) or to a liveblog's own fields, and by whom."""

    __tablename__ = "revisions"
    __table_args__ = (Index("ix_revisions_entry", "liveblog_id", "entry_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    liveblog_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("liveblogs.id", ondelete="CASCADE")
    )
    entry_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("entries.id", ondelete="CASCADE"), nullable=True
    )
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Who: the kind of principal ("token", later "user"), its id, and its name at the time.
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int] = mapped_column(BigInteger)
    actor_name: Mapped[str] = mapped_column(String(200))
    # {field: [previous, new]} for every field the change touched.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)


class IdempotencyRow(Base):
    """A write made under an Idempotency-Key, and the response to replay for its retries."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))  # the principal's key, e.g. "token:12"
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path and body
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    # The response, written in the same transaction as the write it guards (NULL only inside
    # that transaction, so never seen by another).
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    # What the request made ("entry:12"): a purge replaces the stored responses that hold it.
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True)


class UserRow(Base):
    """A journalist's console account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, with its parameters
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Kept, not deleted: revisions name the user behind each change.
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class SessionRow(Base):
    """A signed-in console session. Ending it deletes the row: the cookie then names nothing."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # SHA-256 of the cookie's 256 random bits: a stolen database holds no usable session.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())  # idle expiry
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())  # absolute expiry


class DraftRow(Base):
    """An entry not yet public: a draft, one in review, or one scheduled.

    Apart from the entries table on purpose: it takes no seq, so nothing public (pages, REST,
    `since`, the WebSocket) can ever see it. Publishing inserts the entry and sets `entry_id`.
    """

    __tablename__ = "drafts"
    __table_args__ = (
        Index("ix_drafts_liveblog_id_state", "liveblog_id", "state"),
        Index("ix_drafts_state_publish_at", "state", "publish_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    liveblog_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("liveblogs.id", ondelete="CASCADE")
    )
    state: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
    author: Mapped[str | None] = mapped_column(String(AUTHOR_MAX), nullable=True)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    key_event: Mapped[bool] = mapped_column(Boolean, default=False)
    publish_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # Why an editor returned it to its contributor.
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by_id: Mapped[int] = mapped_column(BigInteger)
    created_by_name: Mapped[str] = mapped_column(String(200))
    # The last user to change it: a scheduled entry is published in their name.
    updated_by_id: Mapped[int] = mapped_column(BigInteger)
    updated_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class MediaRow(Base):
    """An uploaded image (domain/media.py), keyed by the hash of the bytes uploaded: the same
    photo uploaded again is found here and neither processed nor stored twice."""

    __tablename__ = "media"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    animated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class MediaFileRow(Base):
    """One stored file of a media item, named by the hash of its own bytes. Two uploads that
    differ only in what processing removes (metadata) share files: the name is not unique here,
    and a file leaves the store only when no row names it (`liveblog media prune`)."""

    __tablename__ = "media_files"
    __table_args__ = (
        UniqueConstraint("media_id", "name"),
        Index("ix_media_files_name", "name"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    media_id: Mapped[str] = mapped_column(String(64), ForeignKey("media.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)


class LinkPreviewRow(Base):
    """What a link's page said of itself (Open Graph) when the console fetched it, keyed by the
    hash of the URL: a link card shows it without anyone fetching again. Its image is media."""

    __tablename__ = "link_previews"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    site_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    media_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime())
