"""Rules for writing entries: what a body and its text fields may be.

(The one-pinned-entry rule needs the other entries, so it lives in services/entries.py.)
"""

from __future__ import annotations

from app.domain.sanitize import sanitize_html


class BodyTooLarge(ValueError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"Entry body is {size} bytes; the limit is {limit} bytes.")


class BodyEmpty(ValueError):
    def __init__(self) -> None:
        super().__init__("Entry body is empty once disallowed HTML is removed.")


def clean_body(raw: str, limit_bytes: int) -> str:
    """Check the size of the body as sent, then sanitize it.

    Raises:
        BodyTooLarge: the UTF-8 body as sent exceeds `limit_bytes` (checked before parsing, so an
            oversize body costs nothing).
        BodyEmpty: nothing allowed is left, e.g. the body was only a <script>.
    """
    size = len(raw.encode())
    if size > limit_bytes:
        raise BodyTooLarge(size, limit_bytes)
    clean = sanitize_html(raw)
    if not clean:
        raise BodyEmpty()
    return clean


def clean_optional_text(value: str | None) -> str | None:
    """Titles and author names are plain text: trim, and treat blank as absent."""
    if value is None:
        return None
    value = value.strip()
    return value or None
