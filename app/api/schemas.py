"""Request and response bodies of the REST API (they also make the OpenAPI docs at /docs)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from fastapi import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
    model_validator,
)

from app.domain.model import (
    AUTHOR_MAX,
    CORRECTION_MAX,
    DESCRIPTION_MAX,
    SLUG_MAX,
    SLUG_PATTERN,
    TITLE_MAX,
)


def _storable(text: str) -> str:
    # PostgreSQL cannot store NUL in text, and SQLite would store it and truncate it on the way
    # out: refuse it everywhere, so both databases answer the same 422. (Lone surrogates are
    # already refused by the JSON parser.)
    if "\x00" in text:
        raise ValueError("must not contain NUL characters (U+0000)")
    return text


Storable = AfterValidator(_storable)
# The same rule for clients reading the OpenAPI document (and for the contract fuzzer).
NO_NUL = Field(json_schema_extra={"pattern": "^[^\\x00]*$"})
Slug = Annotated[str, StringConstraints(min_length=1, max_length=SLUG_MAX, pattern=SLUG_PATTERN)]
# In a path: a slug that cannot exist (a NUL in it, say) is a 404 like any other (errors.py), and
# never reaches a database.
SlugPath = Annotated[
    str, Path(min_length=1, max_length=SLUG_MAX, pattern=SLUG_PATTERN, description="The slug.")
]


def _not_blank(text: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise ValueError("must not be blank")
    return stripped


Title = Annotated[
    str,
    # Length as sent (what the document says), then stripped: surrounding space is not a title.
    StringConstraints(min_length=1, max_length=TITLE_MAX),
    AfterValidator(_not_blank),
    Storable,
    # Required titles are stripped: in the document, at least one character that is not space.
    Field(json_schema_extra={"pattern": "^[^\\x00]*[^\\s\\x00][^\\x00]*$"}),
]
OptionalTitle = Annotated[str, StringConstraints(max_length=TITLE_MAX), Storable, NO_NUL]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX), Storable, NO_NUL]
Author = Annotated[str, StringConstraints(max_length=AUTHOR_MAX), Storable, NO_NUL]
Correction = Annotated[str, StringConstraints(max_length=CORRECTION_MAX), Storable, NO_NUL]
# The body's size limit is checked in bytes by the service (413), not here (it would be a 422).
Body = Annotated[str, StringConstraints(min_length=1), Storable, NO_NUL]


class _Input(BaseModel):
    # A misspelt field ("pined") is an error, not silently ignored.
    model_config = ConfigDict(extra="forbid")


class _NoNulls(_Input):
    """PATCH bodies: a field may be left out, but only the nullable ones may be sent as null."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _reject_nulls(self) -> _NoNulls:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.nullable:
                raise ValueError(f"{name} cannot be null")
        return self


class LiveblogCreate(_Input):
    slug: Slug = Field(description="Lowercase letters, digits and hyphens; permanent.")
    title: Title
    description: Description = ""


Status = Literal["live", "ended"]

# PATCH fields that may be left out but not sent as null: None in Python (left out), and in the
# OpenAPI document the type alone, so the document says what the server accepts.
PatchTitle = Annotated[Title | None, WithJsonSchema(TypeAdapter(Title).json_schema())]
PatchDescription = Annotated[
    Description | None, WithJsonSchema(TypeAdapter(Description).json_schema())
]
PatchStatus = Annotated[Status | None, WithJsonSchema(TypeAdapter(Status).json_schema())]
PatchBody = Annotated[Body | None, WithJsonSchema(TypeAdapter(Body).json_schema())]
PatchFlag = Annotated[StrictBool | None, WithJsonSchema({"type": "boolean"})]


class LiveblogPatch(_NoNulls):
    title: PatchTitle = None
    description: PatchDescription = None
    status: PatchStatus = None


class EntryCreate(_Input):
    title: OptionalTitle | None = None
    body: Body = Field(description="HTML; sanitized to an allow-list on write.")
    author: Author | None = None
    pinned: StrictBool = Field(False, description="Pinning an entry unpins any other.")
    key_event: StrictBool = False


class EntryPatch(_NoNulls):
    nullable: ClassVar[frozenset[str]] = frozenset({"title", "author", "correction"})

    title: OptionalTitle | None = None
    body: PatchBody = None
    author: Author | None = None
    pinned: PatchFlag = None
    key_event: PatchFlag = None
    correction: Correction | None = Field(
        None,
        description='Plain text shown with the entry as "Correction: …"; null or blank removes it.',
    )


EPOCH_DESCRIPTION = (
    "Names the history `seq` counts in. It changes when the liveblog's stored history is "
    "replaced (a restore from backup, a copy to another database, an import): a seq read in "
    "one epoch means nothing in another. Resume with `since` and this `epoch`."
)


class LiveblogOut(BaseModel):
    slug: str
    title: str
    description: str
    status: Literal["live", "ended"]
    seq: int = Field(description="Head of the liveblog's sequence.")
    epoch: str = Field(description=EPOCH_DESCRIPTION)
    version: int = Field(
        description="Version of the liveblog's own fields; its ETag, for If-Match."
    )
    created_at: str
    updated_at: str
    ended_at: str | None


class LiveblogList(BaseModel):
    liveblogs: list[LiveblogOut]


class EntryOut(BaseModel):
    id: int
    seq: int = Field(description="Seq of the entry's latest change.")
    title: str | None
    body: str
    author: str | None
    pinned: bool
    key_event: bool
    created_at: str
    updated_at: str
    version: int = Field(description="Bumped by every change; the entry's ETag, for If-Match.")
    deleted: bool
    correction: str | None = Field(description="A correction note shown with the entry.")
    edited_at: str | None = Field(
        default=None,
        description="When its title, body, author or correction last changed (readers see "
        '"Updated"); null if never since it was published. Pinning or marking a key event '
        "changes `version` and `updated_at`, not this.",
    )


class EntryList(BaseModel):
    seq: int = Field(description="The liveblog's head seq when this list was read.")
    epoch: str = Field(description=EPOCH_DESCRIPTION)
    entries: list[EntryOut]
    next_before: int | None = Field(
        None, description="Newest-first pages: pass as `before` for the next, older page."
    )
    next_since: int | None = Field(
        None, description="`since` listings: pass as `since` for the next changes."
    )


class EntrySearchResults(BaseModel):
    seq: int = Field(description="The liveblog's head seq when the search was made.")
    epoch: str = Field(description=EPOCH_DESCRIPTION)
    entries: list[EntryOut] = Field(description="The matching entries, newest first.")
    next_before: int | None = Field(
        description="Pass as `before` (with the same `q`) for the next, older matches; null on "
        "the last page."
    )


class ChangedBy(BaseModel):
    type: Literal["token", "user", "system"] = Field(
        description='"system": Liveblog itself, e.g. `liveblog import` (id 0, name "import").'
    )
    id: int
    name: str = Field(description="The token's (or user's) name when the change was made.")


class FieldChange(BaseModel):
    previous: Any
    new: Any


class RevisionOut(BaseModel):
    seq: int = Field(description="The change's seq in the liveblog.")
    at: str
    kind: Literal["created", "updated", "deleted", "purged"]
    version: int = Field(description="The entry's version after this change.")
    by: ChangedBy
    fields: list[str] = Field(description="The fields this change touched.")
    changes: dict[str, FieldChange]


class RevisionList(BaseModel):
    entry_id: int
    revisions: list[RevisionOut] = Field(description="Oldest first.")


class MediaFileOut(BaseModel):
    url: str
    width: int
    height: int
    content_type: str
    bytes: int


class MediaOut(BaseModel):
    """An uploaded image: its files, and a ready figure for an entry's body."""

    id: str = Field(
        description="The hash of the bytes uploaded: the same file uploaded again "
        "is this media again, stored once."
    )
    url: str = Field(
        description="The largest size, as JPEG (PNG with transparency, GIF when "
        "animated): for `src`, feeds and other sites."
    )
    srcset: str = Field(description="Every size as WebP, for `<img srcset>`.")
    sizes: str
    width: int
    height: int
    content_type: str = Field(description="The type of `url`.")
    source_type: str = Field(description="What was uploaded, judged by its content.")
    animated: bool
    files: list[MediaFileOut]
    created_at: str
    html: str = Field(
        description="A `<figure>` with the image at every size, its alt text, "
        "caption and credit: put it in an entry's body as it is. Markdown "
        '`![alt](url "caption | credit")` with `url` makes the same figure.'
    )
