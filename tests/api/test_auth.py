from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable

import httpx

from tests.conftest import NewLiveblog
from tests.harness import LiveServer, cli, create_tokens, problem


async def test_writes_without_a_token_are_401(
    anonymous: httpx.AsyncClient, api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """Every write needs a bearer token; nothing is written without one."""
    slug = await new_liveblog()
    entry = (await api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>x</p>"})).json()
    writes = [
        ("POST", "/api/liveblogs", {"slug": "anon", "title": "t"}),
        ("PATCH", f"/api/liveblogs/{slug}", {"title": "t"}),
        ("POST", f"/api/liveblogs/{slug}/entries", {"body": "<p>x</p>"}),
        ("PATCH", f"/api/liveblogs/{slug}/entries/{entry['id']}", {"title": "t"}),
        ("DELETE", f"/api/liveblogs/{slug}/entries/{entry['id']}", None),
    ]
    for method, url, payload in writes:
        response = await anonymous.request(method, url, json=payload)
        assert response.status_code == 401, (method, url)
        assert "bearer token" in response.json()["detail"].lower()
        assert response.headers["www-authenticate"].startswith("Bearer")
        wrong = await anonymous.request(
            method, url, json=payload, headers={"Authorization": "Bearer lb_not-a-real-token"}
        )
        assert wrong.status_code == 401
        assert "Unknown API token" in wrong.json()["detail"]
    assert (await api.get(f"/api/liveblogs/{slug}")).json()["seq"] == 1


async def test_reads_are_public(anonymous: httpx.AsyncClient, new_liveblog: NewLiveblog) -> None:
    """Readers need no token."""
    slug = await new_liveblog()
    assert (await anonymous.get(f"/api/liveblogs/{slug}")).status_code == 200
    assert (await anonymous.get(f"/api/liveblogs/{slug}/entries")).status_code == 200
    assert (await anonymous.get("/api/liveblogs")).status_code == 200


async def test_token_create_prints_the_token_last_and_stores_a_hash(server: LiveServer) -> None:
    """The CLI prints the token once, as its last line; the database holds only its hash."""
    result = cli(server.data_dir, "token", "create", "--name", "night-desk")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("lb_") and len(token) > 40
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            "/api/liveblogs",
            json={"slug": "night-desk-story", "title": "t"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 201
    with sqlite3.connect(server.data_dir / "liveblog.db") as db:
        stored = db.execute(
            "SELECT token_hash FROM api_tokens WHERE name = 'night-desk'"
        ).fetchall()
        dump = "\n".join(db.iterdump())
    assert len(stored) == 1 and stored[0][0] != token
    assert token not in dump


def test_token_create_needs_a_name(server: LiveServer) -> None:
    """An empty name is refused with a message, not a traceback."""
    result = cli(server.data_dir, "token", "create", "--name", " ")
    assert result.returncode == 2
    assert "name" in result.stderr and "Traceback" not in result.stderr


async def test_token_revoke_stops_writes_within_the_cache_time(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """A revoked token is refused, saying so, once the process's trust in it runs out; others
    still work."""
    cache_seconds = 1.0
    server = isolated_server(token_cache_seconds=cache_seconds)
    revoked, kept = await create_tokens(
        server.data_dir, {"name": "old-cms"}, {"name": "new-cms"}, env=server.env
    )

    async def post(client: httpx.AsyncClient, token: str, slug: str) -> httpx.Response:
        return await client.post(
            "/api/liveblogs",
            json={"slug": slug, "title": "t"},
            headers={"Authorization": f"Bearer {token}"},
        )

    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await post(client, revoked, "before-revoke")).status_code == 201  # trusted 1 s
        # The server read the token, and began trusting it for cache_seconds (on the monotonic
        # clock, which this process shares), before it answered.
        trusted_until = time.monotonic() + cache_seconds
        result = cli(server.data_dir, "token", "revoke", "--name", "old-cms", env=server.env)
        assert result.returncode == 0, result.stderr
        assert "old-cms" in result.stdout
        # Time is what is tested: the trust must run out. Whatever of it the CLI run has not
        # used up already, plus a hair for the timer's resolution.
        await asyncio.sleep(max(0.0, trusted_until - time.monotonic()) + 0.01)
        refused = await post(client, revoked, "after-revoke")
        assert "revoked" in problem(refused, 401)["detail"].lower()
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert (await post(client, kept, "other-token")).status_code == 201
    unknown = cli(server.data_dir, "token", "revoke", "--name", "no-such-cms", env=server.env)
    assert unknown.returncode == 1 and "no-such-cms" in unknown.stderr
