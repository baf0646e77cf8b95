"""Console sessions over real HTTP: sign-in, the cookie and its flags, sign-out, expiry, disabled
users, the console's response headers, the sign-in back-off, and `liveblog user …`.

Most tests share one server behind a "proxy" at 127.0.0.1 (LIVEBLOG_TRUSTED_PROXIES), so each
back-off test signs in from its own X-Forwarded-For address and their failure counts never meet.
Failed sign-ins never go to the session-wide `server`: its address back-off would slow every
other test signing in from 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from app.auth.throttle import PAIR, USERNAME
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

COOKIE = "liveblog_session"
SECURE_COOKIE = "__Host-liveblog_session"
WRONG = "Wrong username or password."
PUBLIC_URL = "https://liveblog.example"
_addresses = itertools.count(1)


def new_address() -> str:
    """A client address (TEST-NET-2) no other test of this run signs in from."""
    number = next(_addresses)
    return f"198.51.{100 + number // 250}.{number % 250 + 1}"


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that believes X-Forwarded-For and X-Forwarded-Proto from 127.0.0.1."""
    live = LiveServer(
        tmp_path_factory.mktemp("console-sessions"), trusted_proxies="127.0.0.1"
    ).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
async def admin(proxied: LiveServer) -> AsyncIterator[ConsoleClient]:
    """A signed-in admin of `proxied` (made with the CLI), who makes the other users."""
    username = await asyncio.to_thread(create_user, proxied, "admin", display_name="Ada Admin")
    async with ConsoleClient(proxied) as client:
        assert (await client.sign_in(username)).status_code == 303
        yield client


@pytest.fixture(scope="module")
async def slug(admin: ConsoleClient) -> str:
    """A liveblog of `proxied`, for the pages and writes the tests probe sessions with."""
    response = await admin.post("/console/liveblogs", {"title": "Sessions", "slug": "sessions"})
    assert response.status_code == 201, response.text
    return "sessions"


@pytest.fixture(scope="module")
async def editor(admin: ConsoleClient) -> str:
    """An editor of `proxied` for the tests that only sign in successfully (each password
    check costs a deliberate fraction of a second, so users are not made needlessly)."""
    return await add_user(admin, "editor", "Sam Session")


@pytest.fixture(scope="module")
def configured(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[LiveServer, str]]]:
    """Servers with the settings under test, each with an editor (made with the CLI), started
    side by side: a start or a CLI run is mostly Python starting up. Name → (server, username)."""
    settings: dict[str, dict[str, Any]] = {
        "idle": {"session_idle_hours": 0.0005},  # 1.8 s
        "short": {"session_max_days": 0.00003},  # 2.6 s
        "https": {"public_url": PUBLIC_URL},
    }
    servers = {
        name: LiveServer(tmp_path_factory.mktemp(f"console-{name}"), **values)
        for name, values in settings.items()
    }

    def start(server: LiveServer) -> str:
        server.start()
        return create_user(server, "editor")

    with contextlib.ExitStack() as stack:
        for server in servers.values():
            stack.callback(server.stop)
        with ThreadPoolExecutor(len(servers)) as pool:
            usernames = list(pool.map(start, servers.values()))
        yield {
            name: (servers[name], username)
            for name, username in zip(servers, usernames, strict=True)
        }


async def add_user(admin: ConsoleClient, role: str = "editor", name: str | None = None) -> str:
    """A new user made by the admin in the console (much quicker than a CLI run)."""
    username = unique_username(role)
    body: dict[str, Any] = {"username": username, "role": role, "password": PASSWORD}
    if name:
        body["display_name"] = name
    response = await admin.post("/console/users", body)
    assert response.status_code == 201, response.text
    return username


async def sign_in(
    server: LiveServer,
    username: str,
    password: str = PASSWORD,
    *,
    address: str | None = None,
    origin: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One sign-in form post from a browser with no cookies (from `address`, via the proxy)."""
    sent = {"Origin": origin or server.url, **(headers or {})}
    if address is not None:
        sent["X-Forwarded-For"] = address
    async with httpx.AsyncClient(base_url=server.url, timeout=seconds(10)) as http:
        return await http.post(
            "/console/sign-in", data={"username": username, "password": password}, headers=sent
        )


def set_cookie(response: httpx.Response) -> tuple[str, str, dict[str, str]]:
    """The one Set-Cookie of `response`: name, value and attributes (lowercase names)."""
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1, headers
    first, *rest = (part.strip() for part in headers[0].split(";"))
    name, _, value = first.partition("=")
    attributes = {}
    for part in rest:
        key, _, attribute = part.partition("=")
        attributes[key.lower()] = attribute
    return name, value, attributes


def alert(response: httpx.Response) -> str:
    """The sign-in page's error message."""
    found = re.search(r'role="alert">([^<]*)<', response.text)
    assert found, response.text
    return found.group(1)


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'data-csrf="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def probe(
    server: LiveServer,
    slug: str,
    cookie: str,
    csrf: str = "",
    *,
    name: str = COOKIE,
    headers: dict[str, str] | None = None,
    origin: str | None = None,
) -> tuple[httpx.Response, httpx.Response]:
    """A console page and a console write (a preview) sent with this cookie only, from a fresh
    client: no cookie jar can drop or keep it on its own (Max-Age, Secure)."""
    sent = {"Cookie": f"{name}={cookie}", **(headers or {})}
    async with httpx.AsyncClient(base_url=server.url, timeout=seconds(10)) as http:
        page = await http.get(f"/console/liveblogs/{slug}", headers=sent)
        write = await http.post(
            f"/console/liveblogs/{slug}/preview",
            json={"source": "probe"},
            headers={**sent, "Origin": origin or server.url, "X-CSRF-Token": csrf},
        )
    return page, write


def assert_signed_out(page: httpx.Response, write: httpx.Response) -> None:
    assert page.status_code == 303 and page.headers["location"] == "/console", page
    body = problem(write, 401)
    assert "www-authenticate" not in write.headers
    assert "signed out" in body["detail"], body


def run_cli(server: LiveServer, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=server.env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=seconds(60),
        check=False,
    )


# Sign-in, sign-out -----------------------------------------------------------------------------


async def test_sign_in_makes_a_session_with_a_safe_cookie(
    proxied: LiveServer, editor: str, slug: str
) -> None:
    """A right password: 303 and an HttpOnly, SameSite=Lax, Path=/ cookie that opens the console."""
    response = await sign_in(proxied, editor)
    assert response.status_code == 303 and response.headers["location"] == "/console"
    name, cookie, attributes = set_cookie(response)
    assert name == COOKIE and len(cookie) >= 40
    assert "httponly" in attributes and attributes["path"] == "/"
    assert attributes["samesite"].lower() == "lax"
    assert "secure" not in attributes and "domain" not in attributes
    page, write = await probe(proxied, slug, cookie, "")
    assert page.status_code == 200 and "Sam Session" in page.text and "Sign out" in page.text
    problem(write, 403)  # a live session, but no CSRF token
    page, write = await probe(proxied, slug, cookie, csrf_of(page))
    assert write.status_code == 200 and "probe" in write.text
    async with httpx.AsyncClient(base_url=proxied.url, timeout=seconds(10)) as anonymous:
        nobody = await anonymous.get(f"/console/liveblogs/{slug}")
    assert nobody.status_code == 303 and nobody.headers["location"] == "/console"


async def test_each_sign_in_makes_a_new_session_until_sign_out(
    proxied: LiveServer, editor: str, slug: str
) -> None:
    """Every sign-in makes a new session id; an old cookie keeps its own session until sign-out."""
    async with ConsoleClient(proxied) as browser:
        assert (await browser.sign_in(editor)).status_code == 303
        old, old_csrf = browser.cookie, browser.csrf
        assert (await browser.sign_in(editor)).status_code == 303  # the jar sends `old` along
        new, new_csrf = browser.cookie, browser.csrf
    assert old and new and old != new
    assert old_csrf and new_csrf and old_csrf != new_csrf  # each session its own CSRF token
    page, write = await probe(proxied, slug, old, old_csrf)
    assert page.status_code == 200 and csrf_of(page) == old_csrf and write.status_code == 200
    problem((await probe(proxied, slug, old, new_csrf))[1], 403)  # not the other's token

    async with httpx.AsyncClient(base_url=proxied.url, timeout=seconds(10)) as http:
        forged = await http.post(
            "/console/sign-out",
            data={"csrf_token": new_csrf},
            headers={"Cookie": f"{COOKIE}={old}", "Origin": proxied.url},
        )
        assert forged.status_code == 403  # sign-out needs this session's own token
        out = await http.post(
            "/console/sign-out",
            data={"csrf_token": old_csrf},
            headers={"Cookie": f"{COOKIE}={old}", "Origin": proxied.url},
        )
    assert out.status_code == 303 and out.headers["location"] == "/console"
    name, value, attributes = set_cookie(out)
    assert name == COOKIE and value in ("", '""') and attributes.get("max-age") == "0"
    assert_signed_out(*await probe(proxied, slug, old, old_csrf))
    page, write = await probe(proxied, slug, new, new_csrf)
    assert page.status_code == 200 and write.status_code == 200  # the other session lives on


async def test_https_public_url_makes_a_host_prefixed_secure_cookie(
    configured: dict[str, tuple[LiveServer, str]],
) -> None:
    """An https LIVEBLOG_PUBLIC_URL makes the cookie `__Host-liveblog_session` and Secure."""
    server, username = configured["https"]
    refused = await sign_in(server, username)  # from the http origin: not the console's
    assert refused.status_code == 403 and "set-cookie" not in refused.headers
    response = await sign_in(server, username, origin=PUBLIC_URL)
    assert response.status_code == 303, response.text
    name, cookie, attributes = set_cookie(response)
    assert name == SECURE_COOKIE
    assert "secure" in attributes and "httponly" in attributes
    assert attributes["path"] == "/" and "domain" not in attributes
    assert attributes["samesite"].lower() == "lax"
    async with httpx.AsyncClient(base_url=server.url, timeout=seconds(10)) as http:
        home = await http.get("/console", headers={"Cookie": f"{SECURE_COOKIE}={cookie}"})
        plain = await http.get("/console", headers={"Cookie": f"{COOKIE}={cookie}"})
    assert "Sign out" in home.text and 'data-csrf="' in home.text
    assert "Sign out" not in plain.text and 'name="password"' in plain.text


async def test_forwarded_https_from_a_trusted_proxy_makes_a_secure_cookie(
    proxied: LiveServer, editor: str, slug: str
) -> None:
    """X-Forwarded-Proto: https from a trusted proxy makes the cookie `__Host-` and Secure."""
    https = {"X-Forwarded-Proto": "https"}
    origin = f"https://127.0.0.1:{proxied.port}"
    response = await sign_in(proxied, editor, origin=origin, headers=https)
    assert response.status_code == 303, response.text
    name, cookie, attributes = set_cookie(response)
    assert name == SECURE_COOKIE and "secure" in attributes and "httponly" in attributes
    assert attributes["path"] == "/" and attributes["samesite"].lower() == "lax"
    page, _ = await probe(proxied, slug, cookie, name=SECURE_COOKIE, headers=https, origin=origin)
    assert page.status_code == 200, page.text
    csrf = csrf_of(page)
    _, write = await probe(
        proxied, slug, cookie, csrf, name=SECURE_COOKIE, headers=https, origin=origin
    )
    assert write.status_code == 200, write.text
    # Once the proxy says https, the http origin is not the console's, nor the plain cookie name.
    problem((await probe(proxied, slug, cookie, csrf, name=SECURE_COOKIE, headers=https))[1], 403)
    assert_signed_out(*await probe(proxied, slug, cookie, csrf, headers=https, origin=origin))


async def test_forwarded_proto_from_an_untrusted_address_is_ignored(
    configured: dict[str, tuple[LiveServer, str]],
) -> None:
    """X-Forwarded-Proto from an untrusted address changes neither the cookie nor the origin."""
    server, username = configured["idle"]
    https = {"X-Forwarded-Proto": "https"}
    forged = await sign_in(
        server, username, origin=f"https://127.0.0.1:{server.port}", headers=https
    )
    assert forged.status_code == 403 and "set-cookie" not in forged.headers
    response = await sign_in(server, username, headers=https)
    assert response.status_code == 303, response.text
    name, _, attributes = set_cookie(response)
    assert name == COOKIE and "secure" not in attributes


async def test_sessions_end_when_idle_and_at_their_maximum_age(
    configured: dict[str, tuple[LiveServer, str]],
) -> None:
    """A session ends after the idle time since its last use, and at its maximum age anyway."""

    async def lifetime(name: str, wait: float) -> httpx.Response:
        server, username = configured[name]
        async with ConsoleClient(server) as browser:
            response = await browser.sign_in(username)
            assert response.status_code == 303
            made = await browser.post("/console/liveblogs", {"title": name, "slug": name})
            assert made.status_code == 201, made.text
            assert browser.cookie is not None
            page, write = await probe(server, name, browser.cookie, browser.csrf)
            assert page.status_code == 200 and write.status_code == 200, name
            await asyncio.sleep(seconds(wait))
            # Sent by hand: the jar would drop a cookie past its Max-Age by itself.
            assert_signed_out(*await probe(server, name, browser.cookie, browser.csrf))
        return response

    # Side by side: the two waits overlap.
    _, short = await asyncio.gather(lifetime("idle", 2.3), lifetime("short", 3.0))
    assert set_cookie(short)[2]["max-age"] == "2"  # 2.59 s, in whole seconds


# Refusals --------------------------------------------------------------------------------------


async def test_wrong_password_and_unknown_user_look_the_same(
    proxied: LiveServer, editor: str
) -> None:
    """A wrong password and an unknown username: the same 401 and the same sentence, no cookie."""
    address = new_address()
    wrong = await sign_in(proxied, editor, "not the password", address=address)
    unknown = await sign_in(proxied, unique_username("nobody"), PASSWORD, address=address)
    for response in (wrong, unknown):
        assert response.status_code == 401, response.text
        assert "set-cookie" not in response.headers
        assert "www-authenticate" not in response.headers
        assert alert(response) == WRONG
    assert (await sign_in(proxied, editor, address=address)).status_code == 303


async def test_disabled_user_cannot_sign_in(proxied: LiveServer, admin: ConsoleClient) -> None:
    """Once disabled, the right password gets the same 401 as a wrong one, and no cookie."""
    username = await add_user(admin)
    disabled = await admin.post(f"/console/users/{username}/disable")
    assert disabled.status_code == 200, disabled.text
    response = await sign_in(proxied, username, address=new_address())
    assert response.status_code == 401 and alert(response) == WRONG
    assert "set-cookie" not in response.headers


async def test_cli_disable_ends_an_open_session_at_once(
    proxied: LiveServer, admin: ConsoleClient, slug: str
) -> None:
    """`liveblog user disable` from another process: the user's very next request is refused."""
    username = await add_user(admin)
    async with ConsoleClient(proxied) as browser:
        assert (await browser.sign_in(username)).status_code == 303
        assert browser.cookie is not None
        page, write = await probe(proxied, slug, browser.cookie, browser.csrf)
        assert page.status_code == 200 and write.status_code == 200
        result = await asyncio.to_thread(run_cli, proxied, "user", "disable", username)
        assert result.returncode == 0, result.stderr
        assert_signed_out(*await probe(proxied, slug, browser.cookie, browser.csrf))


async def test_console_responses_are_never_cached_nor_framed(
    proxied: LiveServer, admin: ConsoleClient, slug: str
) -> None:
    """Console responses: no-store, X-Frame-Options DENY, the console CSP; static files cache."""
    async with httpx.AsyncClient(base_url=proxied.url, timeout=seconds(10)) as anonymous:
        responses = [
            await anonymous.get("/console"),
            await anonymous.get(f"/console/liveblogs/{slug}"),  # 303 to sign in
            await anonymous.post("/console/liveblogs", json={}, headers={"Origin": proxied.url}),
        ]
        script = await anonymous.get("/console/static/console.js")
    responses += [
        await admin.get("/console"),
        await admin.get(f"/console/liveblogs/{slug}"),
        await admin.get(f"/console/liveblogs/{slug}/items"),
        await admin.get("/console/users"),
        await admin.post(f"/console/liveblogs/{slug}/preview", {"source": "hello"}),
        await admin.post("/console/liveblogs", {"title": "x"}),  # 422
    ]
    statuses = [response.status_code for response in responses]
    assert statuses == [200, 303, 401, 200, 200, 200, 200, 200, 422], statuses
    for response in responses:
        where = (response.request.method, response.request.url.path, response.status_code)
        assert response.headers["cache-control"] == "no-store, private", where
        assert response.headers["x-frame-options"] == "DENY", where
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp, where
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, where
    assert script.status_code == 200 and "no-store" not in script.headers.get("cache-control", "")


# Back-off --------------------------------------------------------------------------------------


async def test_three_failures_then_a_wait_even_for_the_right_password(
    proxied: LiveServer, admin: ConsoleClient
) -> None:
    """After 3 failures the 4th attempt waits (429, Retry-After) even with the right password."""
    username = await add_user(admin)
    address = new_address()
    for _ in range(3):
        failed = await sign_in(proxied, username, "wrong password", address=address)
        assert failed.status_code == 401
    throttled = await sign_in(proxied, username, address=address)
    assert throttled.status_code == 429 and "set-cookie" not in throttled.headers
    wait = int(throttled.headers["retry-after"])
    assert 1 <= wait <= 2, wait
    assert f"try again in {wait} second" in alert(throttled)
    await asyncio.sleep(wait)
    assert (await sign_in(proxied, username, address=address)).status_code == 303


async def test_parallel_guesses_are_slowed_like_sequential_ones(
    proxied: LiveServer, admin: ConsoleClient
) -> None:
    """Parallel wrong guesses from one address for one username get only 3 checks, then 429."""
    username = await add_user(admin)
    address = new_address()
    burst = await asyncio.gather(
        *(sign_in(proxied, username, f"guess number {n}", address=address) for n in range(8))
    )
    statuses = sorted(response.status_code for response in burst)
    checked = statuses.count(401)
    assert statuses == [401] * 3 + [429] * 5, f"{checked} of 8 passwords checked: {statuses}"
    assert all(r.headers.get("retry-after") for r in burst if r.status_code == 429)


async def test_failures_for_one_user_spare_another_until_the_address_threshold(
    proxied: LiveServer, editor: str
) -> None:
    """One username's failures do not slow another's sign-in until the address has 10 failures."""
    address = new_address()
    first = unique_username("guessed")  # no such user is needed: counts go by the name tried
    for _ in range(3):
        failed = await sign_in(proxied, first, "wrong password", address=address)
        assert failed.status_code == 401
    assert (await sign_in(proxied, first, "wrong password", address=address)).status_code == 429
    assert (await sign_in(proxied, editor, address=address)).status_code == 303
    for _ in range(7):  # failures 4 to 10 from this address, each for another username
        sprayed = await sign_in(proxied, unique_username("sprayed"), "guess", address=address)
        assert sprayed.status_code == 401
    throttled = await sign_in(proxied, editor, address=address)
    assert throttled.status_code == 429, throttled.text
    assert 1 <= int(throttled.headers["retry-after"]) <= 2
    assert (await sign_in(proxied, editor, address=new_address())).status_code == 303


async def test_strangers_failing_for_a_username_never_keep_its_owner_waiting(
    proxied: LiveServer, admin: ConsoleClient
) -> None:
    """Failures for a username from many addresses never keep its owner out (no lockout)."""
    victim = await add_user(admin)
    strangers = [new_address() for _ in range(12)]
    burst = await asyncio.gather(
        *(sign_in(proxied, victim, "guessing", address=address) for address in strangers)
    )
    # Each stranger's first guess is checked (and fails)...
    assert [r.status_code for r in burst] == [401] * 12
    # ...and its second meets the username's back-off, capped at 30 s.
    slowed = await sign_in(proxied, victim, "guessing again", address=strangers[0])
    assert slowed.status_code == 429, slowed.text
    assert 1 <= int(slowed.headers["retry-after"]) <= USERNAME.cap_seconds
    # The owner, who has not failed, is not kept waiting.
    owner = await sign_in(proxied, victim, address=new_address())
    assert owner.status_code == 303, owner.text


def test_a_usernames_wait_is_capped_at_30_seconds() -> None:
    """However many failures a username collects, its wait never passes 30 s (no lockout)."""
    waits = [USERNAME.wait(failures) for failures in range(200)]
    assert waits[: USERNAME.free] == [0.0] * USERNAME.free
    assert waits[USERNAME.free : USERNAME.free + 4] == [1, 2, 4, 8]
    assert max(waits) == USERNAME.cap_seconds == 30
    assert PAIR.wait(PAIR.free + 20) == PAIR.cap_seconds == 300


# The CLI ---------------------------------------------------------------------------------------


async def test_cli_user_create_makes_users_and_refuses_weak_passwords_and_taken_names(
    proxied: LiveServer, editor: str
) -> None:
    """`user create` makes a user who can sign in; it refuses a weak password or a taken
    username: exit code 2 and one clear line."""
    fresh, made = unique_username("weak"), unique_username("made")
    create = ("user", "create", "--password-stdin", "--role")
    weak, duplicate, good = await asyncio.gather(
        asyncio.to_thread(run_cli, proxied, *create, "editor", fresh, stdin="short pw\n"),
        asyncio.to_thread(run_cli, proxied, *create, "admin", editor.upper(), stdin=PASSWORD),
        asyncio.to_thread(run_cli, proxied, *create, "contributor", made, stdin=PASSWORD + "\n"),
    )
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith(f"created contributor {made!r}")
    assert (await sign_in(proxied, made, PASSWORD, address=new_address())).status_code == 303
    assert weak.returncode == 2 and weak.stdout == ""
    assert weak.stderr.splitlines() == ["error: A password needs at least 10 characters."]
    assert duplicate.returncode == 2 and duplicate.stdout == ""
    assert duplicate.stderr.splitlines() == [f"error: The username {editor!r} is taken."]
    assert (await sign_in(proxied, fresh, "short pw", address=new_address())).status_code == 401


async def test_cli_user_list_shows_roles_and_states_never_hashes(
    proxied: LiveServer, admin: ConsoleClient
) -> None:
    """`user list --json` shows each user's role and disabled flag; no listing prints a hash."""
    contributor = await add_user(admin, "contributor", "Cora Contributor")
    gone = await add_user(admin, "editor")
    assert (await admin.post(f"/console/users/{gone}/disable")).status_code == 200
    as_json, as_text = await asyncio.gather(
        asyncio.to_thread(run_cli, proxied, "user", "list", "--json"),
        asyncio.to_thread(run_cli, proxied, "user", "list"),
    )
    assert as_json.returncode == 0 and as_text.returncode == 0, as_json.stderr + as_text.stderr
    users = {user["username"]: user for user in json.loads(as_json.stdout)}
    assert users[contributor] == {
        "username": contributor,
        "display_name": "Cora Contributor",
        "role": "contributor",
        "disabled": False,
    }
    assert users[gone]["role"] == "editor" and users[gone]["disabled"] is True
    assert any(user["role"] == "admin" and not user["disabled"] for user in users.values())
    for output in (as_json.stdout + as_json.stderr, as_text.stdout + as_text.stderr):
        assert "$argon2" not in output and "password" not in output.lower(), output
    line = next(line for line in as_text.stdout.splitlines() if line.startswith(gone))
    assert line.split()[1:3] == ["editor", "disabled"], line
