"""What the console's own pages send. Not part of the public API (no OpenAPI): the console and
these endpoints ship together."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.api.schemas import Author, Correction, OptionalTitle, Slug, Title
from app.auth.passwords import MAX_LENGTH as PASSWORD_MAX
from app.domain.model import AUTHOR_MAX


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise ValueError("needs a time zone (the console sends UTC)")
    return moment


Source = Annotated[str, StringConstraints(max_length=200_000)]
When = Annotated[datetime | None, AfterValidator(_aware)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Compose(_Input):
    """An entry or draft as the compose form holds it; the body is Markdown."""

    title: OptionalTitle | None = None
    source: Source = Field(description="Markdown (HTML passes through, then is sanitized).")
    author: Author | None = None
    key_event: StrictBool = False
    pinned: StrictBool = False


class PublishNow(Compose):
    pass


class DraftIn(Compose):
    state: Literal["draft", "review", "scheduled"] = "draft"
    publish_at: When = None


class DraftEdit(Compose):
    publish_at: When = None


class EntryEdit(Compose):
    correction: Correction | None = None


class Preview(Compose):
    correction: Correction | None = None


class Flags(_Input):
    pinned: StrictBool | None = None
    key_event: StrictBool | None = None


class ScheduleIn(_Input):
    publish_at: When


class ReturnIn(_Input):
    note: Annotated[str, StringConstraints(max_length=1000)] | None = None


class NewLiveblog(_Input):
    title: Title
    slug: Slug
    description: Annotated[str, StringConstraints(max_length=5000)] = ""


class NewUser(_Input):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    display_name: Annotated[str, StringConstraints(max_length=AUTHOR_MAX)] | None = None
    role: Literal["contributor", "editor", "admin"]
    password: Annotated[str, StringConstraints(max_length=PASSWORD_MAX)]
