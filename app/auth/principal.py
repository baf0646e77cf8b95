"""The one value every edge turns a credential into, and the rules of what it may do.

Services take `by: Principal` and store its `actor` with each change; no request object goes
below the edge. Permission checks run at the edge before any lookup, so a token learns nothing
about liveblogs it may not touch (the answer is the same whether the slug exists or not).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.domain.model import Entry
from app.domain.revisions import Actor
from app.errors import Forbidden


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
_ROLE_ARTICLE = {
    Role.CONTRIBUTOR: "a contributor",
    Role.EDITOR: "an editor",
    Role.ADMIN: "an admin",
}


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

    @property
    def is_admin(self) -> bool:
        return self.scope is Scope.ADMIN

    def may(self, role: Role) -> bool:
        """Whether this (user) principal's role includes `role`."""
        return self.role is not None and self.role.includes(role)

    def require_role(self, role: Role, action: str) -> None:
        """Raises Forbidden unless this user's role includes `role`; `action` says what for."""
        if not self.may(role):
            mine = _ROLE_ARTICLE[self.role] if self.role else "not a console user"
            raise Forbidden(
                f"You are {mine}; {action} needs {_ROLE_ARTICLE[role]}.",
                extra={"required_role": role.value},
            )

    def require_admin(self, action: str) -> None:
        """Raises Forbidden unless this principal has the admin scope; `action` says what for."""
        if self.scope is not Scope.ADMIN:
            scope = self.scope.value if self.scope else "none"
            raise Forbidden(
                f"This API token's scope is {scope!r}; {action} needs the 'admin' scope.",
                extra={"required_scope": Scope.ADMIN.value},
            )

    def require_liveblog(self, slug: str) -> None:
        """Raises Forbidden unless this principal may write to (and see the history of) `slug`."""
        if self.liveblogs is not None and slug not in self.liveblogs:
            raise Forbidden(
                f"This API token may only work on the liveblogs it was created for; "
                f"{slug!r} is not one of them.",
                extra={"liveblog": slug},
            )

    def require_history_of(self, entry: Entry) -> None:
        """A deleted entry's revisions are kept for admins only (they hold what was removed)."""
        if entry.deleted and not self.is_admin:
            raise Forbidden(
                "A deleted entry's revisions are kept for admin tokens only.",
                extra={"required_scope": Scope.ADMIN.value},
            )
