"""Accounts in the console over real HTTP: an admin enables users, changes their roles and sets
their passwords; everyone changes their own password on "Your account".

All on the session's shared `server`: one admin made with the CLI, who makes the rest through
the console. No test here fails a sign-in (the shared server's address back-off would slow every
other test); wrong current passwords are counted per session, not per address.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.console.newsroom import SIGNED_OUT, ConsoleSocket, console_liveblog
from tests.harness import (
    PASSWORD,
    ROOT,
    ConsoleClient,
    LiveServer,
    create_user,
    problem,
    seconds,
    unique_username,
)

NEW_PASSWORD = "a new and longer passphrase"
WRONG_CURRENT = "Your current password is not right, so nothing was changed."


class Admin(ConsoleClient):
    username: str


@pytest.fixture(scope="module")
async def boss(server: LiveServer) -> AsyncIterator[Admin]:
    """An admin of the shared server (made with the CLI), signed in."""
    async with Admin(server) as client:
        client.username = await asyncio.to_thread(
            create_user, server, "admin", display_name="Bo Boss"
        )
        assert (await client.sign_in(client.username)).status_code == 303
        yield client


async def new_user(boss: ConsoleClient, role: str = "editor") -> str:
    """A user made by `boss` in the console, with PASSWORD."""
    username = unique_username(role)
    made = await boss.post(
        "/console/users", {"username": username, "role": role, "password": PASSWORD}
    )
    assert made.status_code == 201, made.text
    return username


async def signed_in(
    stack: AsyncExitStack, server: LiveServer, username: str, password: str = PASSWORD
) -> ConsoleClient:
    client = await stack.enter_async_context(ConsoleClient(server))
    assert (await client.sign_in(username, password)).status_code == 303
    return client


async def is_signed_in(client: ConsoleClient) -> bool:
    """Whether the client's session still works: the console's home, or a redirect to sign in."""
    home = await client.http.get("/console/account", follow_redirects=False)
    assert home.status_code in (200, 303), home.status_code
    return home.status_code == 200


# Enable ----------------------------------------------------------------------------------------


async def test_an_admin_enables_a_disabled_user_who_may_then_sign_in(
    server: LiveServer, boss: Admin
) -> None:
    """Disable, then Enable: the user signs in again with their old password; twice is a no-op."""
    username = await new_user(boss)
    assert (await boss.post(f"/console/users/{username}/disable")).status_code == 200
    for _ in range(2):
        enabled = await boss.post(f"/console/users/{username}/enable")
        assert enabled.status_code == 200, enabled.text
        assert enabled.json() == {
            "username": username,
            "display_name": username,
            "role": "editor",
            "disabled": False,
        }
    async with ConsoleClient(server) as client:
        assert (await client.sign_in(username)).status_code == 303


async def test_only_admins_manage_accounts_and_unknown_users_are_404(
    server: LiveServer, boss: Admin
) -> None:
    """An editor is refused every admin action (403, naming the role); an admin asking about a
    user who does not exist, or cannot, gets 404."""
    username = await new_user(boss)
    async with AsyncExitStack() as stack:
        editor = await signed_in(stack, server, username)
        for path, body in (
            ("enable", {}),
            ("role", {"role": "admin"}),
            ("password", {"password": NEW_PASSWORD}),
        ):
            refused = problem(await editor.post(f"/console/users/{username}/{path}", body), 403)
            assert refused["detail"] == "You are an editor; managing users needs an admin."
            missing = problem(await boss.post(f"/console/users/nobody-at-all/{path}", body), 404)
            assert missing["detail"] == "No user 'nobody-at-all'."
            impossible = await boss.post(f"/console/users/{quote('a b', safe='')}/{path}", body)
            problem(impossible, 404)
        page = await editor.http.get("/console/users")
        assert page.status_code == 403 and "managing users needs an admin" in page.text


# Roles -----------------------------------------------------------------------------------------


async def test_a_new_role_applies_to_the_users_very_next_request(
    server: LiveServer, boss: Admin
) -> None:
    """An editor made a contributor cannot create a liveblog on their next request, without
    signing in again; made an editor again, they can. Their session survives both."""
    username = await new_user(boss)
    async with AsyncExitStack() as stack:
        editor = await signed_in(stack, server, username)
        await console_liveblog(editor)

        lowered = await boss.post(f"/console/users/{username}/role", {"role": "contributor"})
        assert lowered.status_code == 200 and lowered.json()["role"] == "contributor"
        refused = problem(
            await editor.post("/console/liveblogs", {"title": "Nope", "slug": "nope-x1"}), 403
        )
        assert refused["required_role"] == "editor", refused
        assert 'class="role-badge">contributor<' in (await editor.get("/console")).text

        raised = await boss.post(f"/console/users/{username}/role", {"role": "editor"})
        assert raised.status_code == 200 and raised.json()["role"] == "editor"
        await console_liveblog(editor)


async def test_an_admin_cannot_lower_their_own_role(boss: Admin) -> None:
    """Demoting oneself is refused with a sentence (422), as disabling oneself is; "admin" again
    is a no-op; an unknown role is a 422 that names the allowed ones."""
    username = boss.username
    for role in ("editor", "contributor"):
        refused = problem(await boss.post(f"/console/users/{username}/role", {"role": role}), 422)
        assert refused["detail"] == "You cannot lower your own role; ask another admin."
    same = await boss.post(f"/console/users/{username}/role", {"role": "admin"})
    assert same.status_code == 200 and same.json()["role"] == "admin"
    bad = problem(await boss.post(f"/console/users/{username}/role", {"role": "owner"}), 422)
    assert "'contributor', 'editor' or 'admin'" in bad["detail"], bad


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    server: LiveServer, boss: Admin
) -> None:
    """Each demotes the other in the same instant: one succeeds, the other is refused saying
    why, and whoever won is still an admin (never nobody left to manage users). The loser is
    a 409 when both passed the role check before either wrote, a 403 when the winner's write
    had already made them an editor."""
    first, second = await new_user(boss, "admin"), await new_user(boss, "admin")
    async with AsyncExitStack() as stack:
        a, b = await signed_in(stack, server, first), await signed_in(stack, server, second)
        answers = await asyncio.gather(
            a.post(f"/console/users/{second}/role", {"role": "editor"}),
            b.post(f"/console/users/{first}/role", {"role": "editor"}),
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses in ([200, 403], [200, 409]), [answer.text for answer in answers]
        lost = next(answer for answer in answers if answer.status_code != 200)
        why = problem(lost, lost.status_code)["detail"]
        assert why in (
            "You are no longer an enabled admin (another admin changed your account meanwhile), "
            "so nothing was changed.",
            "You are an editor; managing users needs an admin.",
        ), why
        winner = a if answers[0].status_code == 200 else b
        assert (await winner.get("/console/users")).status_code == 200


# Passwords set by an admin ---------------------------------------------------------------------


async def test_a_password_set_by_an_admin_signs_the_user_out_everywhere_at_once(
    server: LiveServer, boss: Admin
) -> None:
    """The user's console socket closes 4401 within a second, their next request is refused,
    and the new password signs them in. A weak password is refused with the creation's rule."""
    username = await new_user(boss)
    path = f"/console/users/{username}/password"
    weak = problem(await boss.post(path, {"password": "short"}), 422)
    assert weak["detail"] == "A password needs at least 10 characters."
    nul = problem(await boss.post(path, {"password": "ten chars\x00 and more"}), 422)
    assert "NUL" in nul["detail"]
    async with AsyncExitStack() as stack:
        user = await signed_in(stack, server, username)
        slug = await console_liveblog(user)
        socket = await stack.enter_async_context(ConsoleSocket(server, slug, user.cookie))
        await socket.wait_for(lambda s: bool(s.counts), 3.0, "the first readers count")

        changed = await boss.post(path, {"password": NEW_PASSWORD})
        assert changed.status_code == 200 and changed.json()["username"] == username
        await socket.wait_closed(seconds(1.0))
        assert socket.close_code == SIGNED_OUT
        assert not await is_signed_in(user)
        assert (await user.sign_in(username, NEW_PASSWORD)).status_code == 303


async def test_an_admin_changes_their_own_password_only_with_the_current_one(
    boss: Admin,
) -> None:
    """Setting one's own password from the users page is refused: it would skip the check of the
    current password (and end the admin's own session)."""
    username = boss.username
    refused = problem(
        await boss.post(f"/console/users/{username}/password", {"password": NEW_PASSWORD}), 422
    )
    assert "Your account" in refused["detail"]
    assert await is_signed_in(boss)


# Your own password -----------------------------------------------------------------------------


async def test_changing_your_password_ends_your_other_sessions_and_keeps_this_one(
    server: LiveServer, boss: Admin
) -> None:
    """A wrong current password is a 403 and changes nothing; the right one changes it, ends
    the other session (not this one), and the new password signs in."""
    username = await new_user(boss, "contributor")
    async with AsyncExitStack() as stack:
        here = await signed_in(stack, server, username)
        there = await signed_in(stack, server, username)
        page = await here.get("/console/account")
        for label in ("Current password", "New password", "Confirm new password"):
            assert label in page.text

        wrong = await here.post(
            "/console/account/password",
            {"current_password": "not my password", "new_password": NEW_PASSWORD},
        )
        assert problem(wrong, 403)["detail"] == WRONG_CURRENT
        assert await is_signed_in(there)

        for current, new, detail in (
            ("", NEW_PASSWORD, "Enter your current password."),
            (PASSWORD, "short", "A password needs at least 10 characters."),
            (PASSWORD, " " * 12, "A password cannot be only spaces."),
            (PASSWORD, PASSWORD, "The new password is the same as the current one."),
        ):
            weak = await here.post(
                "/console/account/password", {"current_password": current, "new_password": new}
            )
            assert problem(weak, 422)["detail"] == detail

        changed = await here.post(
            "/console/account/password",
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json() == {"other_sessions_ended": 1}
        assert await is_signed_in(here)
        assert not await is_signed_in(there)
        assert (await there.sign_in(username, NEW_PASSWORD)).status_code == 303


async def test_wrong_current_passwords_are_slowed_down_like_sign_ins(
    server: LiveServer, boss: Admin
) -> None:
    """Three wrong current passwords, then a wait (429 with Retry-After) even for the right one:
    a stolen session cannot guess the password at full speed."""
    username = await new_user(boss, "contributor")
    async with AsyncExitStack() as stack:
        thief = await signed_in(stack, server, username)
        for guess in range(3):
            wrong = await thief.post(
                "/console/account/password",
                {"current_password": f"guess {guess}", "new_password": NEW_PASSWORD},
            )
            problem(wrong, 403)
        for current in ("guess 4", PASSWORD):
            slowed = await thief.post(
                "/console/account/password",
                {"current_password": current, "new_password": NEW_PASSWORD},
            )
            body = problem(slowed, 429)
            assert body["detail"].startswith("Too many wrong current passwords; try again in")
            assert int(slowed.headers["Retry-After"]) >= 1
        # The address is not slowed for anyone else: another user signs in at once.
        other = await new_user(boss)
        await signed_in(stack, server, other)


# Anything typed into these forms --------------------------------------------------------------


class Typist(httpx.Client):
    """A synchronous console client (Hypothesis runs examples one after another, in a plain
    function): the session's cookie, its CSRF token and the console's Origin on every request."""

    def __init__(self, server: LiveServer, cookie: str | None = None) -> None:
        super().__init__(base_url=server.url, timeout=seconds(10))
        self.headers["Origin"] = server.url
        if cookie is not None:
            self.cookies.set("liveblog_session", cookie)

    def sign_in(self, username: str) -> None:
        response = self.post("/console/sign-in", data={"username": username, "password": PASSWORD})
        assert response.status_code == 303, response.text
        self.refresh_csrf()

    def refresh_csrf(self) -> None:
        found = re.search(r'data-csrf="([^"]+)"', self.get("/console").text)
        assert found is not None
        self.headers["X-CSRF-Token"] = found.group(1)

    def send_json(self, path: str, body: object) -> httpx.Response:
        # As ASCII JSON: a lone surrogate is then an escape the server must refuse (httpx would
        # fail to encode it as UTF-8 before sending).
        return self.post(
            path, content=json.dumps(body), headers={"Content-Type": "application/json"}
        )


@pytest.fixture(scope="module")
def typists(server: LiveServer, boss: Admin) -> Iterator[tuple[Typist, Typist, str]]:
    """The admin and a contributor of their own, signed in as Typists, and an editor for the
    admin to manage (never signed in: nothing is lost when a password set for them is taken)."""
    with Typist(server, boss.cookie) as admin, Typist(server) as own:
        admin.refresh_csrf()
        username = unique_username("typed")
        made = admin.send_json(
            "/console/users", {"username": username, "role": "contributor", "password": PASSWORD}
        )
        assert made.status_code == 201, made.text
        own.sign_in(username)
        victim = unique_username("victim")
        made = admin.send_json(
            "/console/users", {"username": victim, "role": "editor", "password": PASSWORD}
        )
        assert made.status_code == 201, made.text
        # The forms' endpoints exist (else every example would be a 404, and prove nothing).
        assert admin.send_json(f"/console/users/{victim}/enable", {}).status_code == 200
        assert own.get("/console/account").status_code == 200
        yield admin, own, victim


def never_500(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        problem(response, response.status_code)


# Any text, including NUL, controls, astral characters and lone surrogates (sent escaped).
typed_text = st.text(st.characters(exclude_categories=()), max_size=80)
HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    database=None,  # nothing written to the checkout
    suppress_health_check=[HealthCheck.too_slow],
)


@HYPOTHESIS
@given(
    username=typed_text,
    action=st.sampled_from(["enable", "disable", "role", "password"]),
    value=typed_text | st.sampled_from(["admin", "editor", "contributor"]),
)
def test_anything_typed_into_the_users_page_is_never_a_500(
    typists: tuple[Typist, Typist, str], username: str, action: str, value: str
) -> None:
    """Usernames in the URL, roles and passwords as any text: a 2xx or a 4xx problem."""
    admin, _, victim = typists
    body = {"role": {"role": value}, "password": {"password": value}}.get(action, {})
    named = quote(username.encode("utf-8", "surrogatepass"), safe="")
    never_500(admin.send_json(f"/console/users/{named}/{action}", body))
    if action in ("role", "password"):  # the same value for a user who exists
        never_500(admin.send_json(f"/console/users/{victim}/{action}", body))


@HYPOTHESIS
@given(current=typed_text | st.just(PASSWORD), new=typed_text, extra=st.booleans())
def test_anything_typed_into_your_account_is_never_a_500(
    typists: tuple[Typist, Typist, str], current: str, new: str, extra: bool
) -> None:
    """Current and new passwords as any text (and an unknown field): a 2xx or a 4xx problem."""
    _, own, _ = typists
    body = {"current_password": current, "new_password": new}
    if extra:
        body["confirm_password"] = new
    never_500(own.send_json("/console/account/password", body))


async def test_the_cli_enables_changes_roles_and_sets_passwords(server: LiveServer) -> None:
    """`liveblog user enable | role | password`: each says what it did, a refusal is one line
    on stderr with exit status 1, and the account behaves accordingly in the console."""
    username = await asyncio.to_thread(create_user, server, "contributor")

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", "user", *args],
            cwd=ROOT,
            env=server.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=seconds(60),
            check=False,
        )

    role = await asyncio.to_thread(run, "role", username, "editor")
    assert role.returncode == 0 and "is now editor" in role.stdout, role.stderr
    weak = await asyncio.to_thread(run, "password", username, "--password-stdin", stdin="short\n")
    assert weak.returncode == 1 and weak.stderr.startswith("error: "), weak
    changed = await asyncio.to_thread(
        run, "password", username, "--password-stdin", stdin="a brand new passphrase\n"
    )
    assert changed.returncode == 0, changed.stderr
    missing = await asyncio.to_thread(run, "enable", "nobody-at-all")
    assert missing.returncode == 1 and "No user" in missing.stderr
    async with ConsoleClient(server) as client:
        assert (await client.sign_in(username, PASSWORD)).status_code != 303
        assert (await client.sign_in(username, "a brand new passphrase")).status_code == 303
        slug = f"cli-{uuid.uuid4().hex[:8]}"
        made = await client.post("/console/liveblogs", {"title": "By an editor", "slug": slug})
        assert made.status_code == 201, made.text  # the new role, at once
