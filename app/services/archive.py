"""One liveblog as a JSON document: `liveblog export` writes it, `liveblog import` reads it back,
for archives and for moving one story between instances.

The document holds what readers were shown: the liveblog and its published entries with their
content, bylines, flags, corrections and times (and the console's Markdown behind a body), oldest
first. Not in it: ids, seqs, epochs, deleted entries, drafts, revisions, tokens, users. An
import is a new liveblog: new ids, seqs 1..N in the document's order, a new epoch, every body
sanitized as any write is, in one transaction (all or nothing). README.md, "Export and import",
documents the format.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from app.domain import entries as rules
from app.domain.model import (
    AUTHOR_MAX,
    CORRECTION_MAX,
    DESCRIPTION_MAX,
    MAX_ID,
    SLUG_MAX,
    SLUG_PATTERN,
    SLUG_RE,
    TITLE_MAX,
    Liveblog,
    Status,
    iso_utc,
    utcnow,
)
from app.domain.revisions import Actor, RevisionKind, entry_changes, liveblog_changes
from app.errors import Conflict, NotFound, Unprocessable
from app.storage import (
    entries as entry_rows,
    liveblogs as liveblog_rows,
    revisions as revision_rows,
)
from app.storage.db import Database

FORMAT = "liveblog-export"
VERSION = 1
# Who the revisions of an imported liveblog name.
IMPORTER = Actor("system", 0, "import")

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=SLUG_MAX)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArchivedLiveblog(_Strict):
    slug: Slug
    title: Annotated[str, StringConstraints(min_length=1, max_length=TITLE_MAX)]
    description: Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX)] = ""
    status: Literal["live", "ended"] = "live"
    created_at: AwareDatetime
    updated_at: AwareDatetime
    ended_at: AwareDatetime | None = None


class ArchivedEntry(_Strict):
    title: Annotated[str, StringConstraints(max_length=TITLE_MAX)] | None = None
    body: Annotated[str, StringConstraints(min_length=1)]
    author: Annotated[str, StringConstraints(max_length=AUTHOR_MAX)] | None = None
    pinned: bool = False
    key_event: bool = False
    correction: Annotated[str, StringConstraints(max_length=CORRECTION_MAX)] | None = None
    source: str | None = None  # the console's Markdown behind `body`
    created_at: AwareDatetime
    updated_at: AwareDatetime


class Archive(_Strict):
    format: Literal["liveblog-export"]
    version: Literal[1]
    exported_at: AwareDatetime | None = None
    liveblog: ArchivedLiveblog
    entries: list[ArchivedEntry] = Field(default_factory=list)


def _times(document: dict[str, Any]) -> dict[str, Any]:
    return {
        key: iso_utc(value) if isinstance(value, datetime) else value
        for key, value in document.items()
    }


async def export_liveblog(db: Database, slug: str) -> dict[str, Any]:
    """The liveblog as an export document (JSON-ready). Raises NotFound."""
    async with db.snapshot() as conn:
        liveblog = await liveblog_rows.get(conn, slug)
        if liveblog is None:
            raise NotFound(f"No liveblog with slug {slug!r}.")
        changed = await entry_rows.changed_after(conn, liveblog.id, 0, MAX_ID)
    published = sorted((e for e in changed if not e.deleted), key=lambda e: e.created_seq)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": iso_utc(utcnow()),
        "liveblog": _times(
            {
                "slug": liveblog.slug,
                "title": liveblog.title,
                "description": liveblog.description,
                "status": liveblog.status.value,
                "created_at": liveblog.created_at,
                "updated_at": liveblog.updated_at,
                "ended_at": liveblog.ended_at,
            }
        ),
        "entries": [
            _times(
                {
                    "title": e.title,
                    "body": e.body,
                    "author": e.author,
                    "pinned": e.pinned,
                    "key_event": e.key_event,
                    "correction": e.correction,
                    "source": e.source,
                    "created_at": e.created_at,
                    "updated_at": e.updated_at,
                }
            )
            for e in published
        ],
    }


def _nul_at(value: Any, where: str) -> str | None:
    """Where a NUL character is in the document (neither database can keep one), or None."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _nul_at(item, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


def read_archive(document: Any) -> Archive:
    """The document as an Archive; raises Unprocessable listing every problem (one per line,
    each with where it is, e.g. `entries.3.title`)."""
    nul = _nul_at(document, "")
    if nul:
        raise Unprocessable(f"{nul}: must not contain NUL characters (U+0000)")
    try:
        archive = Archive.model_validate(document)
    except ValidationError as error:
        lines = [
            f"{'.'.join(str(part) for part in problem['loc']) or '(document)'}: {problem['msg']}"
            for problem in error.errors()
        ]
        raise Unprocessable("\n".join(lines)) from None
    pinned = [n for n, entry in enumerate(archive.entries) if entry.pinned]
    if len(pinned) > 1:
        raise Unprocessable(
            f"entries {', '.join(map(str, pinned))} are all pinned; a liveblog pins one at most"
        )
    return archive


async def import_liveblog(
    db: Database, archive: Archive, *, slug: str | None = None, max_body_bytes: int
) -> tuple[Liveblog, int]:
    """Create the archived liveblog (as `slug`, if given) with its entries; returns it and the
    number of entries. Raises Conflict if the slug is taken, Unprocessable if a body is empty
    once sanitized or too large; nothing is written then."""
    source = archive.liveblog
    if slug is not None and (len(slug) > SLUG_MAX or not SLUG_RE.match(slug)):
        raise Unprocessable(
            f"{slug!r} is not a slug: lowercase letters, digits and single hyphens, "
            f"at most {SLUG_MAX} characters"
        )
    bodies = []
    for number, entry in enumerate(archive.entries):
        try:
            bodies.append(rules.clean_body(entry.body, max_body_bytes))
        except (rules.BodyTooLarge, rules.BodyEmpty) as error:
            raise Unprocessable(f"entries.{number}.body: {error}") from None
    async with db.write() as conn:
        try:
            liveblog = await liveblog_rows.insert(
                conn,
                slug=slug or source.slug,
                title=source.title,
                description=source.description,
                now=source.created_at,
                status=Status(source.status),
                updated_at=source.updated_at,
                ended_at=source.ended_at,
            )
        except liveblog_rows.DuplicateSlug:
            raise Conflict(
                f"A liveblog with slug {slug or source.slug!r} already exists; import it "
                "under another with --as SLUG."
            ) from None
        await revision_rows.record(
            conn,
            liveblog_id=liveblog.id,
            entry_id=None,
            seq=0,
            kind=RevisionKind.CREATED,
            version=1,
            at=liveblog.created_at,
            by=IMPORTER,
            changes=liveblog_changes(None, liveblog),
        )
        for seq, (entry, body) in enumerate(zip(archive.entries, bodies, strict=True), start=1):
            stored = await entry_rows.insert(
                conn,
                liveblog_id=liveblog.id,
                seq=seq,
                title=rules.clean_optional_text(entry.title),
                body=body,
                author=rules.clean_optional_text(entry.author),
                pinned=entry.pinned,
                key_event=entry.key_event,
                now=entry.created_at,
                source=entry.source,
                correction=rules.clean_optional_text(entry.correction),
                updated_at=entry.updated_at,
            )
            await revision_rows.record(
                conn,
                liveblog_id=liveblog.id,
                entry_id=stored.id,
                seq=seq,
                kind=RevisionKind.CREATED,
                version=1,
                at=stored.created_at,
                by=IMPORTER,
                changes=entry_changes(None, stored),
            )
        await liveblog_rows.set_head(conn, liveblog.id, len(archive.entries))
    return liveblog, len(archive.entries)
