"""What the console's own pages send. Not part of the public API (no OpenAPI): the console and
these endpoints ship together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.api.schemas import Author, Correction, OptionalTitle, Slug, Storable, Title
from app.auth.passwords import MAX_LENGTH as PASSWORD_MAX
from app.domain.model import AUTHOR_MAX

# How far ahead an entry may be scheduled: an embargo of days or weeks, not a typo of years.
SCHEDULE_HORIZON = timedelta(days=366)


def _utc(moment: datetime | None) -> datetime | None:
    """In UTC: SQLite stores a time's clock reading without its offset, so an offset left on
    would move the entry by hours (and publish an embargoed one early)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("needs a time zone (the console sends UTC)")
    now = datetime.now(UTC)
    if not now - SCHEDULE_HORIZON <= moment <= now + SCHEDULE_HORIZON:
        raise ValueError("must be within a year of now")
    return moment.astimezone(UTC)


# Bodies are bounded in bytes by the action (413, as on the API); this only stops a giant early.
Source = Annotated[str, StringConstraints(max_length=1_000_000), Storable]
When = Annotated[datetime | None, AfterValidator(_utc)]


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
    # The form's "Publish at", sent as it stands: a time ahead is an embargo, which only
    # scheduling may honour, so publishing with one is refused (actions.publish).
    publish_at: When = None


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
    note: Annotated[str, StringConstraints(max_length=1000), Storable] | None = None


class LiveblogSettings(_Input):
    title: Title | None = None
    description: Annotated[str, StringConstraints(max_length=5000), Storable] | None = None


class NewLiveblog(_Input):
    title: Title
    slug: Slug
    description: Annotated[str, StringConstraints(max_length=5000), Storable] = ""


class NewUser(_Input):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64), Storable]
    display_name: Annotated[str, StringConstraints(max_length=AUTHOR_MAX), Storable] | None = None
    role: Literal["contributor", "editor", "admin"]
    password: Annotated[str, StringConstraints(max_length=PASSWORD_MAX)]


class RoleIn(_Input):
    role: Literal["contributor", "editor", "admin"]


class PasswordIn(_Input):
    """An admin sets a user's password (the strength check is the service's: one sentence)."""

    password: Annotated[str, StringConstraints(max_length=PASSWORD_MAX)]


class OwnPasswordIn(_Input):
    """A user changes their own password; the console checks the confirmation field itself."""

    current_password: Annotated[str, StringConstraints(max_length=PASSWORD_MAX)]
    new_password: Annotated[str, StringConstraints(max_length=PASSWORD_MAX)]
