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
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import asyncpg
import httpx
import pytest
import redis
from sqlalchemy.engine import make_url

from tests.harness import free_port, seconds, untraced

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


# Any credentials will do for moto; obstore (the app's S3 client) reads them from these
# variables, as it would AWS's own. Set for the whole test process and the servers it starts.
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "liveblog-tests",
    "AWS_SECRET_ACCESS_KEY": "liveblog-tests-secret",
    "AWS_REGION": "us-east-1",
}


class S3Server:
    """moto's S3-compatible server on a free loopback port (its server mode: a real HTTP API,
    the same requests AWS gets), for this test session."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = Path(sys.executable).with_name("moto_server")
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "moto.log").open("ab")
        self.process = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(self.port)],
            env=untraced(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + seconds(30)
        while True:
            try:
                httpx.get(f"{self.endpoint}/", timeout=1)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.05)

    def create_bucket(self) -> str:
        """A new, empty bucket of this test's own; its name."""
        name = f"liveblog-{uuid.uuid4().hex[:12]}"
        response = httpx.put(f"{self.endpoint}/{name}", timeout=5)
        assert response.status_code == 200, response.text
        return name

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=seconds(10))


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    for name, value in S3_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    server = S3Server(tmp_path_factory.mktemp("moto"))
    server.start()
    yield server
    server.stop()
