from __future__ import annotations

from collections.abc import Callable

import asyncpg
import httpx

from tests.harness import LiveServer, cli
from tests.services import asyncpg_dsn


async def test_healthz_and_readyz(anonymous: httpx.AsyncClient) -> None:
    """Liveness touches nothing; readiness checks the database."""
    assert (await anonymous.get("/healthz")).json() == {"status": "ok"}
    assert (await anonymous.get("/readyz")).json() == {"status": "ready"}


async def test_readyz_is_503_with_the_reason_when_the_database_hangs(
    isolated_server: Callable[..., LiveServer], postgres_url: str
) -> None:
    """A database that does not answer in time makes /readyz 503 saying so, /healthz stays 200.

    On PostgreSQL, where another session can make reads wait: it holds an ACCESS EXCLUSIVE
    lock on the table /readyz reads. (A SQLite file cannot be made to hang for a process that
    already holds it open, as every server does once its scheduler has looked for due entries.)
    """
    server = isolated_server(ready_timeout=0.5, database_url=postgres_url)
    locker = await asyncpg.connect(asyncpg_dsn(postgres_url), timeout=5)
    locking = locker.transaction()
    await locking.start()
    await locker.execute("LOCK TABLE liveblogs IN ACCESS EXCLUSIVE MODE")
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert "database did not answer within 0.5s" in ready.json()["detail"]
            assert (await client.get("/healthz")).status_code == 200
    finally:
        await locking.rollback()
        await locker.close()
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        assert (await client.get("/readyz")).status_code == 200


def test_invalid_settings_are_refused_at_start_up(server: LiveServer) -> None:
    """A bad LIVEBLOG_* value stops start-up with one line naming the variable, what is wrong
    and what it accepts (tests/api/test_config.py: every kind of value)."""
    for name, value, line in [
        ("CATCHUP_LIMIT", "0", "0 is too small; expected a whole number of 1 or more"),
        (
            "LOG_LEVEL",
            "verbose",
            "'verbose' is not one of the choices; "
            "expected one of critical, error, warning, info, debug",
        ),
        ("PORT", "abc", "'abc' is not a whole number; expected a port from 0 to 65535"),
    ]:
        result = cli(server.data_dir, "migrate", env={f"LIVEBLOG_{name}": value})
        assert result.returncode == 2, (name, result.stderr)
        assert result.stderr == f"error: LIVEBLOG_{name}: {line}\n"
    result = cli(server.data_dir, "migrate", env={"LIVEBLOG_TRUSTED_PROXIES": "x/99"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: LIVEBLOG_TRUSTED_PROXIES: 'x/99' is not an address")
    assert len(result.stderr.splitlines()) == 1 and "; expected " in result.stderr
