"""`liveblog token create | list | revoke`: scopes, liveblogs, expiry, unique names, no secrets."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from app.broker.memory import MemoryBroker
from app.domain.principal import Principal, Scope
from app.services.liveblogs import LiveblogService
from app.storage.db import Database
from tests.harness import (
    LiveServer,
    api_client,
    cli,
    create_token,
    on_database_of,
    problem,
    seconds,
)

LIST_COLUMNS = ["NAME", "SCOPE", "LIVEBLOGS", "CREATED", "LAST USED", "EXPIRES", "REVOKED"]
LIST_KEYS = {
    "name", "scope", "liveblogs", "created_at", "last_used_at", "expires_at", "revoked_at",
}  # fmt: skip


def listed(data_dir: Path, env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """`token list --json`, by token name."""
    result = cli(data_dir, "token", "list", "--json", env=env)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = orjson.loads(result.stdout)
    return {row["name"]: row for row in rows}


def create_liveblogs(data_dir: Path, *slugs: str) -> None:
    """Create liveblogs in the database of `data_dir`, in this process, as an admin would."""
    by = Principal("token", 1, "tests", Scope.ADMIN, None)

    async def create(db: Database) -> None:
        for slug in slugs:
            await LiveblogService(db, MemoryBroker()).create(
                slug=slug, title=slug.title(), description="", by=by
            )

    on_database_of({**os.environ, "LIVEBLOG_DATA_DIR": str(data_dir)}, create)


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, value
    return parsed


def test_list_shows_scope_liveblogs_and_dates_but_never_the_secret(tmp_path: Path) -> None:
    """A publish token for two liveblogs (expiring at a naive, so UTC, time) and a default
    (admin, all liveblogs, no expiry) token are listed, as JSON and as a table, with every
    column; neither token nor its hash appears."""
    name = f"freelancer-{uuid.uuid4().hex[:8]}"
    create_liveblogs(tmp_path, "summit", "election")
    made = cli(
        tmp_path, "token", "create", "--name", name, "--scope", "publish",
        "--liveblog", "summit", "--liveblog", "election", "--expires-at", "2099-01-02T03:04:05",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[0] == (
        f"Created publish token {name!r} (summit, election, until 2099-01-02T03:04:05Z)."
    )
    token = made.stdout.splitlines()[-1]
    admin = create_token(tmp_path, "cms")
    assert token.startswith("lb_") and admin.startswith("lb_")

    as_json = cli(tmp_path, "token", "list", "--json")
    assert as_json.returncode == 0, as_json.stderr
    rows = {row["name"]: row for row in orjson.loads(as_json.stdout)}
    assert set(rows[name]) == LIST_KEYS
    assert rows[name]["scope"] == "publish"
    assert sorted(rows[name]["liveblogs"]) == ["election", "summit"]
    assert parse_time(rows[name]["expires_at"]) == datetime(2099, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (rows["cms"]["scope"], rows["cms"]["liveblogs"]) == ("admin", None)
    assert rows["cms"]["expires_at"] is None
    for row in (rows[name], rows["cms"]):
        assert parse_time(row["created_at"]) <= datetime.now(UTC)
        assert (row["last_used_at"], row["revoked_at"]) == (None, None)

    table = cli(tmp_path, "token", "list")
    assert table.returncode == 0, table.stderr
    header = table.stdout.splitlines()[0]
    positions = [header.find(column) for column in LIST_COLUMNS]
    assert -1 not in positions, header
    assert positions == sorted(positions), header
    line = next(line for line in table.stdout.splitlines() if name in line)
    assert "publish" in line and "summit" in line and "election" in line

    for secret in (token, admin):
        digest = hashlib.sha256(secret.encode()).hexdigest()
        for output in (table.stdout, table.stderr, as_json.stdout, as_json.stderr):
            assert secret not in output and digest not in output
            assert secret.removeprefix("lb_") not in output


def test_a_taken_name_is_refused(tmp_path: Path) -> None:
    """Names are unique: a second token under a taken name is refused, naming it."""
    create_token(tmp_path, "wire-importer")
    again = cli(tmp_path, "token", "create", "--name", "wire-importer")
    assert again.returncode == 1
    assert "wire-importer" in again.stderr
    assert "lb_" not in again.stdout


def test_bad_combinations_are_usage_errors(tmp_path: Path) -> None:
    """--liveblog with an admin token and a past --expires-at exit 2 with a message, and create
    nothing."""
    admin_for_one = cli(
        tmp_path, "token", "create", "--name", "a", "--scope", "admin", "--liveblog", "summit"
    )
    assert admin_for_one.returncode == 2
    assert "--liveblog" in admin_for_one.stderr

    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    expired = cli(tmp_path, "token", "create", "--name", "b", "--expires-at", past)
    assert expired.returncode == 2
    assert "expir" in expired.stderr.lower()
    assert listed(tmp_path) == {}


def test_a_liveblog_that_does_not_exist_is_refused_naming_it(tmp_path: Path) -> None:
    """--liveblog SLUG for a liveblog that does not exist (a typo, or not created yet): one
    line naming the slug, exit code 2, no token created; the ones that exist are not named."""
    create_liveblogs(tmp_path, "summit")
    result = cli(
        tmp_path, "token", "create", "--name", "desk", "--scope", "publish",
        "--liveblog", "summit", "--liveblog", "sumit",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "error: --liveblog: no liveblog has the slug 'sumit'; create it first\n"
    )
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert listed(tmp_path) == {}

    made = cli(
        tmp_path, "token", "create", "--name", "desk", "--scope", "publish",
        "--liveblog", "summit",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert listed(tmp_path)["desk"]["liveblogs"] == ["summit"]


def test_revoke_keeps_the_row_and_marks_it(tmp_path: Path) -> None:
    """Revoking keeps the token listed (for attribution) with revoked_at; unknown names exit 1."""
    create_token(tmp_path, "old-cms")
    result = cli(tmp_path, "token", "revoke", "--name", "old-cms")
    assert result.returncode == 0, result.stderr
    revoked_at = listed(tmp_path)["old-cms"]["revoked_at"]
    assert revoked_at is not None and parse_time(revoked_at) <= datetime.now(UTC)

    unknown = cli(tmp_path, "token", "revoke", "--name", "nobody")
    assert unknown.returncode == 1
    assert "nobody" in unknown.stderr


async def test_last_used_is_recorded_after_a_write(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """After a token writes, `token list` shows when it was last used."""
    server = isolated_server(token_cache_seconds=0.5)
    token = create_token(server.data_dir, "desk", env=server.env)
    started = datetime.now(UTC) - timedelta(seconds=1)
    async with api_client(server, token) as api:
        created = await api.post("/api/liveblogs", json={"slug": "used", "title": "Used"})
        assert created.status_code == 201, created.text
        deadline = time.monotonic() + seconds(5)
        while (last_used := listed(server.data_dir, server.env)["desk"]["last_used_at"]) is None:
            assert time.monotonic() < deadline, "last_used_at was never written"
            await asyncio.sleep(0.6)  # past the cache period: the next write may record it
            response = await api.patch("/api/liveblogs/used", json={"title": "Used again"})
            assert response.status_code == 200, response.text
    assert started <= parse_time(last_used) <= datetime.now(UTC) + timedelta(seconds=1)


async def test_an_expired_token_is_401_even_while_cached(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """A token works until its expiry, then is refused with 'expired', although the process
    would otherwise trust it for a minute."""
    server = isolated_server(token_cache_seconds=60)
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds(3))
    token = create_token(server.data_dir, env=server.env, expires_at=expires.isoformat())
    async with api_client(server, token) as api:
        before = await api.post("/api/liveblogs", json={"slug": "soon", "title": "Soon"})
        assert before.status_code == 201, before.text  # checked once, now cached
        await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.3)
        after = await api.patch("/api/liveblogs/soon", json={"title": "Too late"})
    body = problem(after, 401)
    assert "expired" in body["detail"].lower()
    assert after.headers["www-authenticate"].startswith("Bearer")
    async with httpx.AsyncClient(base_url=server.url) as reader:
        assert (await reader.get("/api/liveblogs/soon")).json()["title"] == "Soon"
