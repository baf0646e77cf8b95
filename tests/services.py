"""PostgreSQL and Redis for the tests that need them (scale-out, migrations).

Their addresses come from the environment, as `.ci/run` sets them:

    LIVEBLOG_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
    LIVEBLOG_TEST_REDIS_URL=redis://127.0.0.1:6379/0

Unset or unreachable: the tests skip and say why, except under CI=true, where they fail (a CI
run that silently skipped them would prove nothing). Each test gets a database of its own
(created and dropped here) and a Redis channel of its own. Tests that stop Redis start their own
`redis-server` on a free port and never touch the shared one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest
import redis
from sqlalchemy.engine import make_url

from tests.harness import free_port, seconds

POSTGRES_ENV = "LIVEBLOG_TEST_POSTGRES_URL"
REDIS_ENV = "LIVEBLOG_TEST_REDIS_URL"


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: these services are required, not optional)")
    pytest.skip(reason)


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url), timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        unavailable(f"PostgreSQL tests need {POSTGRES_ENV} (.ci/run sets it)")
    try:
        asyncio.run(_admin(url, "SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        unavailable(f"PostgreSQL at {POSTGRES_ENV} is unreachable: {error}")
    return url


@contextlib.contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """Create an empty database on the server of `admin_url`; yield its URL; drop it."""
    name = f"liveblog_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for this test; dropped afterwards."""
    with fresh_postgres_database(postgres_admin_url) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        unavailable(f"Redis tests need {REDIS_ENV} (.ci/run sets it)")
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2) as client:
            client.ping()
    except (OSError, redis.RedisError) as error:
        unavailable(f"Redis at {REDIS_ENV} is unreachable: {error}")
    return url


@pytest.fixture
def broker_channel() -> str:
    """A pub/sub channel no other test (or developer's server) on the shared Redis uses."""
    return f"liveblog-test-{uuid.uuid4().hex[:12]}"


class RedisProcess:
    """A redis-server of this test's own, on a free loopback port, that the test may stop."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + seconds(10)
        while True:
            try:
                with redis.Redis(port=self.port, socket_connect_timeout=0.5) as client:
                    client.ping()
                return
            except (OSError, redis.RedisError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=seconds(10))


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed (Debian package redis-server)")
    server = RedisProcess(tmp_path / "redis")
    server.start()
    yield server
    server.stop()
