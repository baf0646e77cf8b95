"""What every write use case shares: the clock, rolling back a write that changes nothing, and
If-Match (parsed, required where the server asks for it, checked)."""

from __future__ import annotations

from typing import Any

from app.domain.model import utcnow as utcnow  # the services' clock, named where they look
from app.domain.preconditions import IfMatch, etag
from app.errors import BadRequest, PreconditionFailed, PreconditionRequired


class Unchanged(Exception):
    """Raised inside a write transaction to roll it back when it would change nothing, so it
    takes no seq and sends no event."""


def parse_if_match(header: str | None) -> IfMatch | None:
    """An If-Match header as the edges receive it (None: absent); raises BadRequest (400) if
    it is neither `*` nor a list of quoted entity tags."""
    if header is None:
        return None
    try:
        return IfMatch.parse(header)
    except ValueError:
        raise BadRequest(
            'If-Match must be * or a list of quoted entity tags, e.g. If-Match: "3".'
        ) from None


def require_precondition(if_match: IfMatch | None, required: bool) -> None:
    """Raises PreconditionRequired (428) for a change sent without If-Match when the server
    requires one (LIVEBLOG_REQUIRE_IF_MATCH), whichever edge it came through."""
    if if_match is None and required:
        raise PreconditionRequired(
            "This server requires If-Match on every change: GET the object, then send its "
            'ETag, e.g. If-Match: "3" (LIVEBLOG_REQUIRE_IF_MATCH).'
        )


def check_version(
    what: str,
    version: int,
    current: dict[str, Any],
    if_match: IfMatch | None,
    epoch: str | None = None,
) -> None:
    """Raises PreconditionFailed, showing `current`, unless `if_match` admits `version` (of
    `epoch`, for the object's ETag; drafts have none).

    Call it inside the write transaction, after the seq bump that serializes the liveblog's
    writers: of two editors sending the same If-Match, exactly one then wins.
    """
    if if_match is not None and not if_match.matches(version, epoch):
        raise PreconditionFailed(
            f"{what} is at version {version}, not the one If-Match names: someone changed it "
            "since you read it (or the database was restored). Compare with `current`, then "
            f"retry with If-Match: {etag(version, epoch)}.",
            current_version=version,
            current=current,
        )
