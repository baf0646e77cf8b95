from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable

import httpx

from tests.conftest import NewLiveblog
from tests.harness import LiveServer, cli, create_token


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
    assert "--name" in result.stderr


async def test_token_revoke_stops_writes_within_the_cache_time(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """A revoked token is refused once the process's trust in it runs out; others still work."""
    server = isolated_server(token_cache_seconds=1)
    revoked = create_token(server.data_dir, "old-cms")
    kept = create_token(server.data_dir, "new-cms")

    async def post(client: httpx.AsyncClient, token: str, slug: str) -> int:
        response = await client.post(
            "/api/liveblogs",
            json={"slug": slug, "title": "t"},
            headers={"Authorization": f"Bearer {token}"},
        )
        return response.status_code

    async with httpx.AsyncClient(base_url=server.url) as client:
        assert await post(client, revoked, "before-revoke") == 201  # now trusted for 1 s
        result = cli(server.data_dir, "token", "revoke", "--name", "old-cms")
        assert result.returncode == 0, result.stderr
        assert "Revoked 1 token" in result.stdout
        await asyncio.sleep(1.2)
        assert await post(client, revoked, "after-revoke") == 401
        assert await post(client, kept, "other-token") == 201
    again = cli(server.data_dir, "token", "revoke", "--name", "old-cms")
    assert again.returncode == 1 and "no token" in again.stderr
