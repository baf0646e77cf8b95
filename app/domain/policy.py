"""Who may do what: one table of every action a principal can ask for, consulted by the services
(services/permissions.py raises a refusal as 403).

An API token may do what its scope allows (and, for a token made for some liveblogs, only in
those); a console user what their role allows. The services check before they look anything up,
so a refusal is the same whether the liveblog exists or not: a token learns nothing about
liveblogs outside its reach. The edges (API, console) never decide; they pass the principal on
and show the console's buttons by asking `allows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.domain.principal import Principal, Role, Scope

_EVERY_SCOPE = frozenset(Scope)
_ADMIN_SCOPE = frozenset({Scope.ADMIN})
_NO_TOKEN: frozenset[Scope] = frozenset()


class Action(StrEnum):
    CREATE_LIVEBLOG = "create_liveblog"
    CHANGE_LIVEBLOG = "change_liveblog"  # title, description, end, reopen
    WRITE_ENTRIES = "write_entries"  # publish, edit, pin, mark key events, delete
    PURGE_ENTRY = "purge_entry"  # erase a deleted entry's revisions (a legal takedown)
    READ_HISTORY = "read_history"  # an entry's revisions
    READ_DELETED_HISTORY = "read_deleted_history"  # a deleted entry's (they hold what went)
    WRITE_DRAFTS = "write_drafts"  # write, submit, delete one's own drafts
    REVIEW_DRAFTS = "review_drafts"  # return, schedule, unschedule, publish drafts
    MANAGE_USERS = "manage_users"
    UPLOAD_MEDIA = "upload_media"  # photos, for entries and drafts
    FETCH_LINK_PREVIEW = "fetch_link_preview"  # a link card's title and image, when composing


@dataclass(frozen=True, slots=True)
class Rule:
    doing: str  # for the refusal: "…; creating a liveblog needs an editor."
    scopes: frozenset[Scope]  # the token scopes that may (none: the console's alone)
    role: Role | None  # the least console role that may (None: tokens' alone)
    in_liveblog: bool = False  # a token made for some liveblogs may only in those


RULES: dict[Action, Rule] = {
    Action.CREATE_LIVEBLOG: Rule("creating a liveblog", _ADMIN_SCOPE, Role.EDITOR),
    Action.CHANGE_LIVEBLOG: Rule(
        "changing a liveblog (title, description, status)", _ADMIN_SCOPE, Role.EDITOR
    ),
    Action.WRITE_ENTRIES: Rule("writing entries", _EVERY_SCOPE, Role.EDITOR, in_liveblog=True),
    Action.PURGE_ENTRY: Rule(
        "purging an entry's history", _ADMIN_SCOPE, Role.ADMIN, in_liveblog=True
    ),
    Action.READ_HISTORY: Rule(
        "reading an entry's revisions", _EVERY_SCOPE, Role.CONTRIBUTOR, in_liveblog=True
    ),
    Action.READ_DELETED_HISTORY: Rule(
        "reading a deleted entry's revisions", _ADMIN_SCOPE, Role.ADMIN, in_liveblog=True
    ),
    Action.WRITE_DRAFTS: Rule("writing drafts", _NO_TOKEN, Role.CONTRIBUTOR),
    Action.REVIEW_DRAFTS: Rule(
        "reviewing, scheduling or publishing drafts", _NO_TOKEN, Role.EDITOR
    ),
    Action.MANAGE_USERS: Rule("managing users", _NO_TOKEN, Role.ADMIN),
    Action.UPLOAD_MEDIA: Rule("uploading media", _EVERY_SCOPE, Role.CONTRIBUTOR),
    Action.FETCH_LINK_PREVIEW: Rule("fetching a link's preview", _NO_TOKEN, Role.CONTRIBUTOR),
}

_ROLE_ARTICLE = {
    Role.CONTRIBUTOR: "a contributor",
    Role.EDITOR: "an editor",
    Role.ADMIN: "an admin",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a principal may not: a sentence, and the problem's members naming what is missing
    (`required_scope`, `required_role` or `liveblog`)."""

    detail: str
    extra: dict[str, Any] = field(default_factory=dict)


def refusal(by: Principal, action: Action, slug: str | None = None) -> Refusal | None:
    """Why `by` may not do `action` (in liveblog `slug`); None if it may."""
    rule = RULES[action]
    if by.type == "user":
        if rule.role is not None and by.role is not None and by.role.includes(rule.role):
            return None
        if rule.role is None:
            return Refusal(f"{rule.doing.capitalize()} is for API tokens, not console users.")
        mine = _ROLE_ARTICLE[by.role] if by.role else "not a console user"
        return Refusal(
            f"You are {mine}; {rule.doing} needs {_ROLE_ARTICLE[rule.role]}.",
            extra={"required_role": rule.role.value},
        )
    if by.scope not in rule.scopes:
        if not rule.scopes:
            return Refusal(f"{rule.doing.capitalize()} is done in the console, not by API token.")
        scope = by.scope.value if by.scope else "none"
        return Refusal(
            f"This API token's scope is {scope!r}; {rule.doing} needs the 'admin' scope.",
            extra={"required_scope": Scope.ADMIN.value},
        )
    if rule.in_liveblog and slug is not None and not by.reaches(slug):
        return Refusal(
            f"This API token may only work on the liveblogs it was created for; "
            f"{slug!r} is not one of them.",
            extra={"liveblog": slug},
        )
    return None


def allows(by: Principal, action: Action, slug: str | None = None) -> bool:
    return refusal(by, action, slug) is None
