"""The console's account pages and their actions: the users page (admins) and "Your account".

Admins enable users, change their roles and set their passwords here (creating and disabling
stay in actions.py); every user changes their own password. The rules, and what each change
ends, are the services' (auth/users.py, auth/sessions.py); these routes parse and answer.
Errors are problem+json like every console write; users.js shows their `detail` by the form.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from app.auth.sessions import Sessions
from app.auth.users import USERNAME_RE, User, UserAccounts, normalize_username
from app.console import schemas
from app.console.deps import PageSession, Writer, WriterSession
from app.console.pages import render_page as render
from app.domain.policy import Action, refusal
from app.domain.principal import Role
from app.errors import NotFound
from app.routing import Router
from app.state import sessions_of, users_of

router = Router(prefix="/console", include_in_schema=False)


def _accounts(request: Request) -> UserAccounts:
    accounts: UserAccounts = users_of(request)
    return accounts


def _user_json(user: User) -> Response:
    body: dict[str, Any] = {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "disabled": user.disabled,
    }
    return Response(orjson.dumps(body), media_type="application/json")


def _username(raw: str) -> str:
    """A username from the URL; one no account can have (a NUL, a slash…) is simply not found,
    and never reaches the database."""
    name = normalize_username(raw)
    if not USERNAME_RE.match(name):
        raise NotFound(f"No user {raw!r}.")
    return name


# Pages ------------------------------------------------------------------------------------------


@router.get("/users")
async def users_page(request: Request, session: PageSession) -> Response:
    refused = refusal(session.principal, Action.MANAGE_USERS)
    if refused is not None:
        return render(
            request,
            "not_found.html",
            {"detail": refused.detail, "title": "Not allowed"},
            403,
            session,
        )
    users = await _accounts(request).list(by=session.principal)
    return render(request, "users.html", {"users": users, "roles": list(Role)}, session=session)


@router.get("/account")
async def account_page(request: Request, session: PageSession) -> Response:
    return render(request, "account.html", {}, session=session)


# Admins: other users' accounts ------------------------------------------------------------------


@router.post("/users/{username}/enable")
async def enable_user(request: Request, username: str, by: Writer) -> Response:
    return _user_json(await _accounts(request).enable(_username(username), by=by))


@router.post("/users/{username}/role")
async def change_role(
    request: Request, username: str, form: schemas.RoleIn, by: Writer
) -> Response:
    user = await _accounts(request).set_role(_username(username), Role(form.role), by=by)
    return _user_json(user)


@router.post("/users/{username}/password")
async def set_password(
    request: Request, username: str, form: schemas.PasswordIn, by: Writer
) -> Response:
    user = await _accounts(request).set_password(_username(username), form.password, by=by)
    return _user_json(user)


# Everyone: their own account --------------------------------------------------------------------


@router.post("/account/password")
async def change_own_password(
    request: Request, form: schemas.OwnPasswordIn, _counted: Writer, session: WriterSession
) -> Response:
    # `_counted`: the write limit, as for every console write (the same session, resolved once).
    sessions: Sessions = sessions_of(request)
    ended = await sessions.change_password(session, form.current_password, form.new_password)
    return Response(orjson.dumps({"other_sessions_ended": ended}), media_type="application/json")
