from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import LiveServer, create_token, migrated, seconds
from tests.services import (  # noqa: F401  (fixtures for the tests that need the services)
    broker_channel,
    fresh_postgres_database,
    postgres_admin_url,
    postgres_url,
    private_redis,
    redis_url,
    s3_server,
)

_slugs = itertools.count(1)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server with default settings, shared by tests that each use their own liveblog."""
    live = LiveServer(tmp_path_factory.mktemp("shared-server")).start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def token(server: LiveServer) -> str:
    return create_token(server.data_dir)


@pytest.fixture
async def api(server: LiveServer, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the shared server that writes with a valid token."""
    async with httpx.AsyncClient(
        base_url=server.url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=seconds(10),
    ) as client:
        yield client


@pytest.fixture
async def anonymous(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=seconds(10)) as client:
        yield client


NewLiveblog = Callable[..., Awaitable[str]]


@pytest.fixture
def new_liveblog(api: httpx.AsyncClient) -> NewLiveblog:
    """Create a liveblog with a slug unique to this test; returns the slug."""

    async def create(client: httpx.AsyncClient | None = None, **fields: Any) -> str:
        slug = f"story-{next(_slugs)}"
        response = await (client or api).post(
            "/api/liveblogs", json={"slug": slug, "title": f"Story {slug}", **fields}
        )
        assert response.status_code == 201, response.text
        return slug

    return create


@pytest.fixture
def isolated_server(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., LiveServer]:
    """Start servers with their own data directory and settings (LiveServer's keywords);
    stopped after the test, before what the test set up before them (its PostgreSQL database,
    its Redis) is torn down."""
    started = itertools.count()

    def start(**settings: Any) -> LiveServer:
        live = LiveServer(tmp_path / f"server-{next(started)}", **settings)
        request.node.addfinalizer(live.stop)  # the test's finalizers run last-in, first-out
        return live.start()

    return start


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings for `isolated_server` on each database: {} is SQLite in the data directory, the
    other a fresh PostgreSQL database (requested only here, so SQLite runs need no PostgreSQL)."""
    if request.param == "sqlite":
        return {}
    return {"database_url": request.getfixturevalue("postgres_url")}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server with default settings on each database, shared by this module's tests (each
    uses its own liveblogs): storage tests run on both without a server start per test."""
    with contextlib.ExitStack() as stack:
        settings = {}
        if request.param == "postgres":
            admin_url = request.getfixturevalue("postgres_admin_url")
            settings["database_url"] = stack.enter_context(fresh_postgres_database(admin_url))
        live = LiveServer(tmp_path_factory.mktemp(f"{request.param}-server"), **settings).start()
        stack.callback(live.stop)
        yield live


@pytest.fixture(scope="module")
def database_token(database_server: LiveServer) -> str:
    """An admin token of `database_server`."""
    return create_token(database_server.data_dir, env=database_server.env)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database of each kind, for tests of services and storage without a server
    (PostgreSQL is requested only here, so SQLite runs need none)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'liveblog.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    migrated(url)
    return url
