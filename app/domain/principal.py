"""The one value every edge turns a credential into, and the rules of what it may do.

Services take `by: Principal`, decide what it may do (policy.py, through
services/permissions.py) and store its `actor` with each change; no request object goes below
the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.domain.revisions import Actor


class Role(StrEnum):
    """A console user's role; each may do everything the one before it may."""

    # Writes drafts and submits them for review; publishes nothing.
    CONTRIBUTOR = "contributor"
    # Creates and ends liveblogs; publishes, edits, deletes, pins, schedules; reviews drafts.
    EDITOR = "editor"
    # An editor who also manages users.
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def includes(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANKS = {Role.CONTRIBUTOR: 0, Role.EDITOR: 1, Role.ADMIN: 2}


class Scope(StrEnum):
    # Everything the API offers: liveblogs (create, retitle, end), entries, purges.
    ADMIN = "admin"
    # Entries only (create, edit, delete, pin), in every liveblog or only in named ones.
    PUBLISH = "publish"


@dataclass(frozen=True, slots=True)
class Principal:
    """An API token (`type` "token", with a `scope`) or a console user ("user", with a `role`)."""

    type: str
    id: int
    name: str  # a token's name; a user's display name (what revisions and bylines show)
    scope: Scope | None
    liveblogs: frozenset[str] | None  # None: every liveblog
    role: Role | None = None

    @classmethod
    def user(cls, user_id: int, display_name: str, role: Role) -> Principal:
        return cls("user", user_id, display_name, None, None, role)

    @property
    def key(self) -> str:
        """Stable across renames and processes: what per-caller state (limits, keys) hangs on."""
        return f"{self.type}:{self.id}"

    @property
    def actor(self) -> Actor:
        return Actor(self.type, self.id, self.name)

    def reaches(self, slug: str) -> bool:
        """Whether `slug` is among the liveblogs this principal was made for (all, for most)."""
        return self.liveblogs is None or slug in self.liveblogs
