"""One liveblog as a JSON document: `liveblog export` writes it, `liveblog import` reads it back,
for archives and for moving one story between instances.

The document holds what readers were shown: the liveblog and its published entries with their
content, bylines, flags, corrections and times (and the console's Markdown behind a body), oldest
first, and the photos those show: each media's metadata and its files' bytes, base64, so the
document alone rebuilds the pages elsewhere. Not in it: ids, seqs, epochs, deleted entries,
drafts, revisions, tokens, users. An import is a new liveblog: new ids, seqs 1..N in the
document's order, a new epoch, every body sanitized as any write is, in one transaction (all or
nothing). docs/operations.md, "Export and import", documents the format.

A media file is named by the hash of its bytes (domain/media.py), which an import checks: a
file whose bytes do not hash to its name, or are not the image type its name says, refuses the
whole document. Bodies keep their `/media/<name>` URLs: the names are the same everywhere.
Files already stored, and media already recorded, are left as they are (the same name is the
same bytes). The files are stored before the rows that name them, as an upload's are
(services/media.py); an import that fails after that leaves files no row names, which
`liveblog media prune` removes.

On SQLite that transaction holds the database's one write lock for as long as it runs (about
1.5 ms an entry), so `liveblog import` refuses while a server has the database open unless
told otherwise (cli/data.py); the server's writes meanwhile answer 503 past their wait
(storage/db.py). Visible-at-the-end steps would need a hidden state for a liveblog that
readers, lists and the console all skip.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from app.domain import entries as rules
from app.domain.images import sniff
from app.domain.media import NAME, Media, MediaFile, MediaUrls, content_type_of
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
from app.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable
from app.storage import (
    entries as entry_rows,
    liveblogs as liveblog_rows,
    media as media_rows,
    revisions as revision_rows,
)
from app.storage.db import Database
from app.storage.objects import MediaStore, MediaStoreError

FORMAT = "liveblog-export"
VERSION = 1
# Who the revisions of an imported liveblog name.
IMPORTER = Actor("system", 0, "import")


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters (U+0000)")  # neither database keeps it
    return text


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once in UTC") from None


Text = Annotated[str, AfterValidator(_no_nul)]
Time = Annotated[AwareDatetime, AfterValidator(_in_utc)]
Slug = Annotated[Text, StringConstraints(pattern=SLUG_PATTERN, max_length=SLUG_MAX)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArchivedLiveblog(_Strict):
    slug: Slug
    title: Annotated[Text, StringConstraints(min_length=1, max_length=TITLE_MAX)]
    description: Annotated[Text, StringConstraints(max_length=DESCRIPTION_MAX)] = ""
    status: Literal["live", "ended"] = "live"
    created_at: Time
    updated_at: Time
    ended_at: Time | None = None

    @model_validator(mode="after")
    def _ended_when_ended(self) -> ArchivedLiveblog:
        if (self.status == "ended") != (self.ended_at is not None):
            raise ValueError('ended_at is set exactly when status is "ended"')
        return self


class ArchivedEntry(_Strict):
    title: Annotated[Text, StringConstraints(max_length=TITLE_MAX)] | None = None
    body: Annotated[Text, StringConstraints(min_length=1)]
    author: Annotated[Text, StringConstraints(max_length=AUTHOR_MAX)] | None = None
    pinned: bool = False
    key_event: bool = False
    correction: Annotated[Text, StringConstraints(max_length=CORRECTION_MAX)] | None = None
    source: Text | None = None  # the console's Markdown behind `body`
    created_at: Time
    updated_at: Time
    edited_at: Time | None = None  # when its words last changed (absent: never)


def _file_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ValueError(
            "is not a media file name: 32 lowercase hex digits, then .webp, .jpg, .png or .gif"
        )
    return name


def _from_base64(data: Any) -> Any:
    if not isinstance(data, str):
        return data  # refused as not a string (bytes) by the type itself
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not base64") from None


class ArchivedFile(_Strict):
    name: Annotated[str, AfterValidator(_file_name)]
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    data: Annotated[bytes, BeforeValidator(_from_base64)]  # base64 in the document

    @model_validator(mode="after")
    def _is_what_its_name_says(self) -> ArchivedFile:
        if hashlib.sha256(self.data).hexdigest()[:32] != self.name[:32]:
            raise ValueError(
                f"the bytes of {self.name} do not hash to its name: the file was changed or damaged"
            )
        if sniff(self.data) != content_type_of(self.name):
            raise ValueError(f"the bytes of {self.name} are not the image type its name says")
        return self

    @property
    def row(self) -> MediaFile:
        return MediaFile(
            self.name, self.width, self.height, content_type_of(self.name), len(self.data)
        )


class ArchivedMedia(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    source_type: Literal["image/jpeg", "image/png", "image/webp", "image/gif", "image/heic"]
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    animated: bool = False
    created_at: Time
    created_by: Annotated[Text, StringConstraints(max_length=200)] = ""
    files: list[ArchivedFile] = Field(min_length=1)

    @model_validator(mode="after")
    def _has_a_fallback(self) -> ArchivedMedia:
        names = [f.name for f in self.files]
        if len(set(names)) != len(names):
            raise ValueError("names a file twice")
        if all(name.endswith(".webp") for name in names):
            # What `src` shows (domain/media.py: Media.fallback); the WebP sizes are `srcset`.
            raise ValueError("has no fallback file (a .jpg, .png or .gif)")
        return self

    def media(self) -> Media:
        return Media(
            id=self.id,
            source_type=self.source_type,
            width=self.width,
            height=self.height,
            animated=self.animated,
            files=tuple(f.row for f in self.files),
            created_at=self.created_at,
            created_by=self.created_by,
        )


class Archive(_Strict):
    format: Literal["liveblog-export"]
    version: Literal[1]
    exported_at: Time | None = None
    liveblog: ArchivedLiveblog
    entries: list[ArchivedEntry] = Field(default_factory=list)
    # Absent from documents of versions before photos, which import as they did.
    media: list[ArchivedMedia] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Exported:
    document: dict[str, Any]  # JSON-ready
    media: int
    files: int
    bytes: int  # the files' size before base64 (which adds a third)
    missing: list[str]  # files the store lacks: their media is left out of the document


@dataclass(frozen=True, slots=True)
class Imported:
    liveblog: Liveblog
    entries: int
    media: int  # media the document held that this database did not
    files: int  # files the document held that the store did not


def _times(document: dict[str, Any]) -> dict[str, Any]:
    return {
        key: iso_utc(value) if isinstance(value, datetime) else value
        for key, value in document.items()
    }


async def export_liveblog(db: Database, slug: str, store: MediaStore | None = None) -> Exported:
    """The liveblog as an export document, with the media its entries show when `store` is
    given. Raises NotFound, and MediaStoreError when the store cannot be read."""
    async with db.snapshot() as conn:
        liveblog = await liveblog_rows.get(conn, slug)
        if liveblog is None:
            raise NotFound(f"No liveblog with slug {slug!r}.")
        changed = await entry_rows.changed_after(conn, liveblog.id, 0, MAX_ID)
        published = sorted((e for e in changed if not e.deleted), key=lambda e: e.created_seq)
        urls = MediaUrls()  # names are found whatever URL prefix a body wrote them under
        names = {
            name
            for e in published
            for text in (e.body, e.source or "")
            for name in urls.names_in(text)
        }
        shown = await media_rows.by_file_names(conn, names) if store is not None else {}
    document = {
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
                    "edited_at": e.edited_at,
                }
            )
            for e in published
        ],
    }
    if store is None:
        return Exported(document, 0, 0, 0, [])
    media: list[dict[str, Any]] = []
    missing: list[str] = []
    files = size = 0
    unique = {m.id: m for m in shown.values()}
    for item in sorted(unique.values(), key=lambda m: (m.created_at, m.id)):
        found: list[tuple[MediaFile, bytes]] = []
        for file in item.files:
            data = await store.get(file.name)
            if data is None:
                missing.append(file.name)
            else:
                found.append((file, data))
        if len(found) == len(item.files):  # else the page shows it broken already: left out
            media.append(_archived_media(item, found))
            files += len(found)
            size += sum(len(data) for _, data in found)
    document["media"] = media
    return Exported(document, len(media), files, size, missing)


def _archived_media(media: Media, files: list[tuple[MediaFile, bytes]]) -> dict[str, Any]:
    return _times(
        {
            "id": media.id,
            "source_type": media.source_type,
            "width": media.width,
            "height": media.height,
            "animated": media.animated,
            "created_at": media.created_at,
            "created_by": media.created_by,
            "files": [
                {
                    "name": file.name,
                    "width": file.width,
                    "height": file.height,
                    "data": base64.b64encode(data).decode("ascii"),
                }
                for file, data in files
            ],
        }
    )


def read_archive(document: Any) -> Archive:
    """The document as an Archive; raises Unprocessable listing every problem (one per line,
    each with where it is, e.g. `entries.3.title`)."""
    try:
        archive = Archive.model_validate(document)
    except ValidationError as error:
        lines = [
            f"{'.'.join(str(part) for part in problem['loc']) or '(document)'}: "
            + problem["msg"].removeprefix("Value error, ")
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
    db: Database,
    archive: Archive,
    *,
    slug: str | None = None,
    max_body_bytes: int,
    store: MediaStore | None = None,
) -> Imported:
    """Create the archived liveblog (as `slug`, if given) with its entries and media (stored
    in `store`, which a document with media needs).

    Raises Conflict if the slug is taken, Unprocessable if a body is empty once sanitized or
    too large, ServiceUnavailable if the media store cannot be reached; no row is written then.
    """
    source = archive.liveblog
    if slug is not None and (len(slug) > SLUG_MAX or not SLUG_RE.fullmatch(slug)):
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
    files = 0
    if archive.media:
        if store is None:
            raise ValueError("a document with media needs a store to import it into")
        async with db.snapshot() as conn:  # a taken slug is refused before any file is stored
            if await liveblog_rows.get(conn, slug or source.slug) is not None:
                raise _taken(slug or source.slug)
        files = await _store_files(store, archive.media)
    media = 0
    async with db.write() as conn:
        for item in archive.media:
            media += await media_rows.insert(conn, item.media())
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
                # Its seqs are new: readers of the liveblog where it was exported hold seqs of
                # another history, so a `since` without an epoch is not trusted here.
                epoch_rotated_at=utcnow(),
            )
        except liveblog_rows.DuplicateSlug:
            raise _taken(slug or source.slug) from None
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
                edited_at=entry.edited_at,
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
    return Imported(liveblog, len(archive.entries), media, files)


def _taken(slug: str) -> Conflict:
    return Conflict(
        f"A liveblog with slug {slug!r} already exists; import it under another with --as SLUG."
    )


async def _store_files(store: MediaStore, media: list[ArchivedMedia]) -> int:
    """Put the files the store lacks; returns how many. Raises ServiceUnavailable."""
    try:
        present = {file.name for file in await store.listing()}
        stored = 0
        for item in media:
            for file in item.files:
                if file.name not in present:
                    await store.put(file.name, file.data)
                    present.add(file.name)
                    stored += 1
    except MediaStoreError as error:
        raise ServiceUnavailable(
            f"The media store cannot be reached ({error}).", retry_after=10
        ) from None
    return stored
