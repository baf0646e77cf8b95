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


class Scope(StrEnum):
    # Everything the API offers: liveblogs (create, retitle, end), entries, purges.
    ADMIN = "admin"
    # Entries only (create, edit, delete, pin), in every liveblog or only in named ones.
    PUBLISH = "publish"


@dataclass(frozen=True, slots=True)
class Principal:
    type: str  # "token"
    id: int
    name: str
    scope: Scope
    liveblogs: frozenset[str] | None  # None: every liveblog

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

    def require_admin(self, action: str) -> None:
        """Raises Forbidden unless this principal has the admin scope; `action` says what for."""
        if self.scope is not Scope.ADMIN:
            raise Forbidden(
                f"This API token's scope is {self.scope.value!r}; {action} needs the "
                "'admin' scope.",
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
