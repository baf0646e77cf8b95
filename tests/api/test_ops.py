from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable

import httpx

from tests.harness import LiveServer, cli


async def test_healthz_and_readyz(anonymous: httpx.AsyncClient) -> None:
    """Liveness touches nothing; readiness checks the database."""
    assert (await anonymous.get("/healthz")).json() == {"status": "ok"}
    assert (await anonymous.get("/readyz")).json() == {"status": "ready"}


async def test_readyz_is_503_with_the_reason_when_the_database_hangs(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """A database that does not answer in time makes /readyz 503 saying so, /healthz stays 200."""
    server = isolated_server(ready_timeout=0.5)
    # An exclusive lock from another process keeps every other connection out of the file.
    locker = sqlite3.connect(server.data_dir / "liveblog.db", isolation_level=None)
    locker.execute("PRAGMA locking_mode=EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    locker.execute("UPDATE liveblogs SET title = title")
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert "database did not answer within 0.5s" in ready.json()["detail"]
            assert (await client.get("/healthz")).status_code == 200
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    await asyncio.sleep(0.1)


def test_invalid_settings_are_refused_at_start_up(server: LiveServer) -> None:
    """A bad LIVEBLOG_* value stops start-up with a message naming it."""
    result = cli(server.data_dir, "migrate", env={"LIVEBLOG_CATCHUP_LIMIT": "0"})
    assert result.returncode == 2
    assert "LIVEBLOG_CATCHUP_LIMIT" in result.stderr and "Traceback" not in result.stderr
    for name, value in [("LOG_LEVEL", "verbose"), ("PORT", "abc"), ("TRUSTED_PROXIES", "x/99")]:
        result = cli(server.data_dir, "migrate", env={f"LIVEBLOG_{name}": value})
        assert result.returncode == 2, (name, result.stderr)
        assert result.stderr.startswith(f"error: LIVEBLOG_{name}: "), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
