"""Real servers and real clients for the tests: nothing of Liveblog's own is mocked.

`LiveServer` serves the app on a free loopback port with its own data directory: in this process
(uvicorn in a thread, as `liveblog serve` configures it), or as a `python -m app serve`
subprocess for the tests that SIGKILL, signal or restart it like an operator would. Tokens and
users are made in-process through the services. `Subscriber` is a real WebSocket client that
records every frame it receives.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx
import orjson
import uvicorn
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from app import logs
from app.auth import tokens
from app.auth.tokens import TokenSpec
from app.auth.users import User, UserAccounts
from app.cli.storage import on_database
from app.domain.principal import Role, Scope
from app.main import create_app
from app.serving.server import uvicorn_options
from app.settings import Settings
from app.storage import migrate
from app.storage.db import Database

T = TypeVar("T")

# One factor scales every wait, for slow machines: LIVEBLOG_TEST_TIMEOUT_SCALE=3 make test.
SCALE = float(os.environ.get("LIVEBLOG_TEST_TIMEOUT_SCALE", "1"))
ROOT = Path(__file__).resolve().parent.parent


def seconds(value: float) -> float:
    return value * SCALE


async def until(
    condition: Callable[[], bool | Awaitable[bool]],
    what: str,
    timeout: float = 5.0,
    every: float = 0.01,
) -> None:
    """Wait until `condition` (a function, or a coroutine function) holds, asking every `every`
    seconds; fails naming `what` once `timeout` (scaled: `seconds`) has passed without it."""
    deadline = time.monotonic() + seconds(timeout)
    while True:
        held = condition()
        if not isinstance(held, bool):
            held = await held
        if held:
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(every)


def untraced(env: Mapping[str, str]) -> dict[str, str]:
    """`env` for a subprocess that runs none of the app (a fuzzer, a fake S3): without the
    variable by which coverage.py (COVERAGE=1) starts tracing every Python subprocess, whose
    cost there buys no measurement (schemathesis ran at about half speed under it)."""
    return {name: value for name, value in env.items() if name != "COVERAGE_PROCESS_CONFIG"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env={**os.environ, "LIVEBLOG_DATA_DIR": str(data_dir), **(env or {})},
        capture_output=True,
        text=True,
        timeout=seconds(60),
        check=False,
    )


_token_names = itertools.count(1)


def unique_token_name(prefix: str = "tests") -> str:
    """A token name no other token of this test run holds (names are unique per database)."""
    return f"{prefix}-{os.getpid()}-{next(_token_names)}-{uuid.uuid4().hex[:6]}"


def settings_of(env: Mapping[str, str]) -> Settings:
    """The Settings a `python -m app` started with `env` reads (its LIVEBLOG_* variables)."""
    prefix = Settings.model_config.get("env_prefix", "")
    values = {
        key.removeprefix(prefix).lower(): value
        for key, value in env.items()
        if key.startswith(prefix) and key.removeprefix(prefix).lower() in Settings.model_fields
    }
    return Settings(**values)


# Alembic keeps its migration context in module globals: one migration at a time per process.
_MIGRATING = threading.Lock()


def migrated(database_url: str) -> None:
    """Migrate as `liveblog serve` does first. Alembic runs its own event loop: in a thread of
    its own, so that async tests may call this too."""

    def upgrade() -> None:
        with _MIGRATING:
            migrate.upgrade(database_url)

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="test-migrate") as pool:
        pool.submit(upgrade).result(timeout=seconds(60))


def on_database_of(env: Mapping[str, str], use: Callable[[Database], Awaitable[T]]) -> T:
    """Run `use` against the database of a server started with `env`, in this process, as the
    CLI does (cli.storage.on_database: migrated first): milliseconds where starting the CLI
    takes a second or two. In a thread of its own, so that sync and async tests alike may call
    it, and one at a time (the migration's alembic context is per process)."""
    settings = settings_of(env)

    def locked() -> T:
        with _MIGRATING:
            return on_database(settings, use)

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="test-db") as pool:
        return pool.submit(locked).result(timeout=seconds(60))


def create_token(
    data_dir: Path,
    name: str | None = None,
    env: dict[str, str] | None = None,
    *,
    scope: str | None = None,
    liveblogs: Sequence[str] = (),
    expires_at: str | None = None,
) -> str:
    """Create a token as `liveblog token create` does, in this process; returns it. `name`
    defaults to a fresh unique one; `scope`, `liveblogs` and `expires_at` are the CLI's
    `--scope`, `--liveblog SLUG` (each) and `--expires-at` (ISO 8601, UTC without a zone);
    left out, its defaults apply (an admin token that never expires). tests/api/test_tokens_cli.py
    runs the CLI itself."""
    expiry = datetime.fromisoformat(expires_at) if expires_at is not None else None
    spec = TokenSpec(
        name=name or unique_token_name(),
        scope=Scope(scope) if scope is not None else Scope.ADMIN,
        liveblogs=tuple(liveblogs),
        expires_at=expiry.replace(tzinfo=expiry.tzinfo or UTC) if expiry else None,
    )
    assert not spec.problems(datetime.now(UTC)), spec.problems(datetime.now(UTC))
    environment = {**os.environ, "LIVEBLOG_DATA_DIR": str(data_dir), **(env or {})}
    return on_database_of(environment, lambda db: tokens.create_token(db, spec))


async def create_tokens(
    data_dir: Path, *options: dict[str, Any], env: dict[str, str] | None = None
) -> list[str]:
    """Create one token per `options` (`create_token`'s keywords) at once: each CLI run takes a
    second, mostly starting Python, so tests that need several run them side by side."""
    return list(
        await asyncio.gather(
            *(asyncio.to_thread(create_token, data_dir, env=env, **kwargs) for kwargs in options)
        )
    )


def writer(
    server: LiveServer, name: str | None = None, token: str | None = None, **token_options: Any
) -> httpx.AsyncClient:
    """An HTTP client of `server` holding `token`, or a fresh API token (use as `async with`).

    A fresh token gets a unique name unless `name` is given; `token_options` are
    `create_token`'s (`scope`, `liveblogs`, `expires_at`).
    """
    token = token or create_token(server.data_dir, name, env=server.env, **token_options)
    return api_client(server, token)


def api_client(server: LiveServer, token: str | None = None) -> httpx.AsyncClient:
    """An HTTP client of `server`, sending `token` as its bearer token if given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=server.url, headers=headers, timeout=seconds(10))


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert `response` is an RFC 9457 problem with `status`; returns its members."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    assert "type" in body, body
    return body


# Settings an in-process server cannot honour on its own: they configure the whole process
# (its logging, its workers). A LiveServer given one runs as a process of its own.
PROCESS_WIDE = frozenset({"log_level", "log_format", "workers"})


class LiveServer:
    """A Liveblog server on a free loopback port with its own data directory and settings.

    By default it runs in this process: uvicorn in a thread of its own with the app built by
    `create_app`, as `liveblog serve` serves it (app/serving/server.py: `uvicorn_options`),
    started in a few hundred milliseconds. `process=True` (or a PROCESS_WIDE setting) runs
    `python -m app serve` in a subprocess instead, for the tests that kill, signal or limit the
    process, or read what is per process (logs at other levels, absolute metric values). Either
    way its log lines at LIVEBLOG_LOG_LEVEL (warning) are in `log()`.
    """

    def __init__(self, data_dir: Path, *, process: bool = False, **settings: Any) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.in_process = not process and not PROCESS_WIDE & settings.keys()
        self.env = {
            **os.environ,
            "LIVEBLOG_DATA_DIR": str(data_dir),
            "LIVEBLOG_LOG_LEVEL": "warning",
            "LIVEBLOG_PORT": str(self.port),
            # Write rate limits are off unless a test sets them (write_rate=...): a limit meant
            # for production would otherwise throttle tests that post in bursts.
            "LIVEBLOG_WRITE_RATE": "0",
            # Uploads too (tests/api/test_media.py sets uploads_per_minute where it tests it).
            "LIVEBLOG_UPLOADS_PER_MINUTE": "0",
            # Likewise the per-address upgrade limit: every test client is 127.0.0.1.
            "LIVEBLOG_UPGRADE_RATE": "0",
            # And the rate of password checks across addresses: tests sign in in bursts
            # (tests/console/test_sign_in_spray.py sets it).
            "LIVEBLOG_PASSWORD_CHECKS_PER_SECOND": "0",
            **{f"LIVEBLOG_{key.upper()}": str(value) for key, value in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._served: InProcessServer | None = None
        self.log_path = data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.in_process:
            self._served = InProcessServer(settings_of(self.env), self.log_path).start()
            return self
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + seconds(30)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited at start-up:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"server did not answer within 30s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        assert self.process is not None, "kill() needs LiveServer(..., process=True)"
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=seconds(10))

    def stop(self) -> None:
        if self._served is not None:
            self._served.stop()
            self._served = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=seconds(15))
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class InProcessServer:
    """`liveblog serve` without the process: migrate, build the app, serve it with uvicorn in a
    thread of its own (its own event loop), and write what that thread logs to `log_path`."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        config = uvicorn.Config(create_app(settings), log_config=None, **uvicorn_options(settings))
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name=f"liveblog-{settings.port}", daemon=True
        )
        self._log = ThreadLog(log_path, settings.log_level)

    def start(self) -> InProcessServer:
        migrated(self.settings.database_url)
        self._thread.start()
        self._log.follow(self._thread)
        deadline = time.monotonic() + seconds(30)
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._log.close()
                raise RuntimeError(f"server did not start:\n{self._log.text()}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=seconds(15))
        stuck = self._thread.is_alive() and sys._current_frames().get(self._thread.ident or 0)
        self._log.close()
        assert not stuck, "the server did not stop within 15 s:\n" + "".join(
            traceback.format_stack(stuck)
        )


class ThreadLog(logging.Handler):
    """Writes the records logged in one thread (a server's) to a file, as `liveblog serve`
    formats them, redacted."""

    def __init__(self, path: Path, level: str) -> None:
        super().__init__(logging.getLevelNamesMapping()[level.upper()])
        self.path = path
        self.setFormatter(logs.TextFormatter())
        self.addFilter(logs.RequestIdFilter())
        self.addFilter(logs.RedactFilter())
        self._stream = path.open("a", encoding="utf-8")
        self._thread: int | None = None

    def follow(self, thread: threading.Thread) -> None:
        self._thread = thread.ident
        logging.getLogger().addHandler(self)

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self._thread and bool(super().filter(record))

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(ValueError):  # closed meanwhile
            self._stream.write(self.format(record) + "\n")
            self._stream.flush()

    def text(self) -> str:
        return self.path.read_text(errors="replace")

    def close(self) -> None:
        logging.getLogger().removeHandler(self)
        self._stream.close()
        super().close()


class RecordingSocket:
    """A WebSocket client that records every message it receives, when, and how it closed."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self.messages: list[dict[str, Any]] = []
        self.received_at: list[float] = []
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.closed_at: float | None = None
        self._socket: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def __aenter__(self) -> Self:
        self._socket = await websockets.connect(
            self.url, additional_headers=self.headers, open_timeout=seconds(10)
        )
        self._task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _collect(self) -> None:
        assert self._socket is not None
        try:
            async for frame in self._socket:
                self.messages.append(orjson.loads(frame))
                self.received_at.append(time.monotonic())
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed_at = time.monotonic()
            if self._socket.close_code is not None:
                self.close_code = self._socket.close_code
                self.close_reason = self._socket.close_reason
            self._changed.set()

    @property
    def closed(self) -> bool:
        return self._task is not None and self._task.done()

    async def wait_for(
        self, condition: Callable[[Self], bool], timeout: float = 5.0, what: str = ""
    ) -> None:
        deadline = time.monotonic() + seconds(timeout)
        while not condition(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.closed and not condition(self)):
                raise AssertionError(
                    f"timed out waiting for {what or 'condition'}; got {len(self.messages)} "
                    f"messages (last: {self.messages[-12:]}), closed={self.closed} "
                    f"code={self.close_code}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)


class Subscriber(RecordingSocket):
    """A reader on the WebSocket that records every message it receives."""

    def __init__(
        self, server: LiveServer, slug: str, since: int | None = None, epoch: str | None = None
    ) -> None:
        query = "" if since is None else f"?since={since}"
        if epoch is not None:
            query += f"{'&' if query else '?'}epoch={epoch}"
        super().__init__(f"{server.ws_url}/ws/liveblogs/{slug}{query}")

    @property
    def events(self) -> list[dict[str, Any]]:
        """Everything but the hello."""
        return [m for m in self.messages if m["type"] != "hello"]

    @property
    def last_seq(self) -> int:
        return max((m["seq"] for m in self.messages), default=0)

    async def wait_for_seq(self, seq: int, timeout: float = 5.0) -> None:
        await self.wait_for(lambda s: s.last_seq >= seq, timeout, f"seq {seq}")


class ResumingReader:
    """A reader that, like the page's script, reconnects with `since` when its socket drops,
    going round the given servers (as a load balancer would send it to a live one)."""

    def __init__(self, servers: list[LiveServer], slug: str) -> None:
        self.servers = servers
        self.slug = slug
        self.events: list[dict[str, Any]] = []
        self.connections = 0
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._stopping = False

    @property
    def last_seq(self) -> int:
        return max((event["seq"] for event in self.events), default=0)

    @property
    def seqs(self) -> list[int]:
        return [event["seq"] for event in self.events]

    async def __aenter__(self) -> ResumingReader:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._connected.wait(), seconds(10))
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            server = self.servers[attempt % len(self.servers)]
            since = f"?since={self.last_seq}" if self.connections else ""
            url = f"{server.ws_url}/ws/liveblogs/{self.slug}{since}"
            try:
                async with websockets.connect(url, open_timeout=seconds(5)) as socket:
                    self.connections += 1
                    async for frame in socket:
                        message = orjson.loads(frame)
                        if message["type"] == "hello":
                            # Connected once the hello is in: what is written after it arrives
                            # live (before it, it is part of the page the reader loaded).
                            self._connected.set()
                        else:
                            self.events.append(message)
            except (OSError, websockets.WebSocketException, TimeoutError):
                pass
            attempt += 1
            await asyncio.sleep(0.1)

    async def wait_for_seq(self, seq: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + seconds(timeout)
        while self.last_seq < seq:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out waiting for seq {seq}; at {self.last_seq} after "
                    f"{self.connections} connection(s)"
                )
            await asyncio.sleep(0.02)


class StalledReader:
    """A WebSocket reader that stops reading its socket after the handshake.

    It speaks the protocol through websockets' sans-I/O `ClientProtocol` over a plain socket
    with a tiny receive buffer, so the server really sees a peer whose buffers fill up. Later,
    `drain()` reads everything the kernel kept and reports what arrived and how it closed.
    """

    def __init__(self, server: LiveServer, slug: str) -> None:
        self.protocol = ClientProtocol(parse_uri(f"{server.ws_url}/ws/liveblogs/{slug}"))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(seconds(10))
        self.sock.connect(("127.0.0.1", server.port))
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        while self.protocol.state is State.CONNECTING:
            self.protocol.receive_data(self.sock.recv(4096))
        assert self.protocol.state is State.OPEN, self.protocol.handshake_exc
        self.texts: list[Frame] = []

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                with contextlib.suppress(ConnectionError):  # the server may have gone already
                    self.sock.sendall(data)

    def drain(self) -> tuple[int, int | None, str]:
        """Read until the connection ends: (text frames received, close code, close reason)."""
        try:
            self._read_to_end()
        finally:
            self.sock.close()
        close = self.protocol.close_rcvd
        return len(self.texts), (close.code if close else None), (close.reason if close else "")

    def _read_to_end(self) -> None:
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except (TimeoutError, ConnectionError):
                break
            if not data:
                self.protocol.receive_eof()
                break
            self.protocol.receive_data(data)
            self.texts += [
                event
                for event in self.protocol.events_received()
                if isinstance(event, Frame) and event.opcode is Opcode.TEXT
            ]
            self._flush()
            if self.protocol.close_rcvd is not None:
                break


# The editor's console --------------------------------------------------------------------------

PASSWORD = "correct horse battery staple"
_usernames = itertools.count(1)


def unique_username(prefix: str = "user") -> str:
    return f"{prefix}{os.getpid()}x{next(_usernames)}{uuid.uuid4().hex[:4]}"


def create_user(
    server: LiveServer,
    role: str = "editor",
    username: str | None = None,
    *,
    display_name: str | None = None,
    password: str = PASSWORD,
) -> str:
    """Create a console user as `liveblog user create` does, in this process; returns the
    username. (tests/console/test_sessions.py runs the CLI itself.)"""
    username = username or unique_username(role)

    async def create(db: Database) -> User:
        return await UserAccounts(db).create(username, password, Role(role), display_name)

    on_database_of(server.env, create)
    return username


class ConsoleClient:
    """A browser-like HTTP client of the console: its cookie jar, its Origin, its CSRF token.

    `await ConsoleClient(server).sign_in(username)`; then `post`/`patch`/`delete` send the
    session's CSRF token and the console's Origin, as console.js does.
    """

    def __init__(self, server: LiveServer, origin: str | None = None) -> None:
        self.server = server
        self.origin = origin or server.url
        self.http = httpx.AsyncClient(base_url=server.url, timeout=seconds(10))
        self.csrf = ""

    async def __aenter__(self) -> ConsoleClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.aclose()

    async def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        """Sign in with the form; on success reads the CSRF token off the console page."""
        response = await self.http.post(
            "/console/sign-in",
            data={"username": username, "password": password},
            headers={"Origin": self.origin},
        )
        if response.status_code == 303:
            await self.refresh_csrf()
        return response

    async def refresh_csrf(self) -> None:
        page = await self.http.get("/console")
        found = re.search(r'data-csrf="([^"]+)"', page.text)
        self.csrf = found.group(1) if found else ""

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Origin": self.origin, "X-CSRF-Token": self.csrf, **(extra or {})}

    async def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """As console.js reads: same-origin, with the token (console reads are private)."""
        return await self.http.get(
            path,
            headers={"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": self.csrf, **(headers or {})},
        )

    async def post(
        self,
        path: str,
        json: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        wait = httpx.USE_CLIENT_DEFAULT if timeout is None else timeout
        return await self.http.post(path, json=json, headers=self._headers(headers), timeout=wait)

    async def patch(
        self, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.http.patch(path, json=json, headers=self._headers(headers))

    async def delete(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.delete(path, headers=self._headers(headers))

    @property
    def cookie(self) -> str | None:
        return self.http.cookies.get("liveblog_session")
