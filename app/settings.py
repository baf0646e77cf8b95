"""All configuration, read once from LIVEBLOG_* environment variables and passed down.

Nothing reads the environment anywhere else: `create_app(settings)` and the CLI build one
`Settings` and hand it to the parts that need it, so tests start servers with their own values.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIVEBLOG_", extra="ignore")

    # Where things live
    data_dir: Path = Field(
        default=Path("data"), description="Directory of the default SQLite database file."
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy async URL; empty means sqlite+aiosqlite:///<data_dir>/liveblog.db.",
    )
    broker_url: str = Field(
        default="memory://",
        description="Event broker between processes: memory:// keeps fan-out in this process; "
        "redis://host:6379/0 carries events between processes and hosts.",
    )
    broker_channel: str = Field(
        default="liveblog",
        min_length=1,
        max_length=100,
        description="Redis pub/sub channel of this installation; installations sharing one "
        "Redis need different channels (pub/sub ignores the database number).",
    )
    broker_fallback_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="While the broker is unreachable, how often each process reads the head "
        "of every liveblog its readers follow, to deliver entries posted elsewhere.",
    )

    # Serving
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        default="info", description="Least severe log level written."
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Server processes on this host; above 1 needs a redis:// broker.",
    )

    # Limits
    max_request_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest HTTP request body accepted (413 above)."
    )
    max_entry_body_bytes: int = Field(
        default=64 * 1024,
        ge=256,
        description="Largest entry body, in UTF-8 bytes of HTML as sent (413 above).",
    )
    catchup_limit: int = Field(
        default=1000,
        ge=1,
        description="Most changes replayed to one reconnecting reader; beyond it the reader "
        "is told to reload through REST.",
    )
    max_readers: int | None = Field(
        default=None,
        ge=1,
        description="Most reader sockets one process holds; past it an upgrade gets 503 with "
        "Retry-After. Default: the open-file limit less a reserve for HTTP, the database and "
        "the broker (server.py).",
    )
    max_http_connections: int = Field(
        default=768,
        ge=1,
        description="Plain HTTP connections one process holds at once (readers' sockets count "
        "apart). At the cap the oldest one still sending its request is closed to make room; "
        "if every one is busy, a newcomer gets 503. Part of the open-file reserve.",
    )
    reader_queue_size: int = Field(
        default=256,
        ge=1,
        description="Events buffered for one reader before it counts as too slow and is closed.",
    )
    ws_direct_writes: bool = Field(
        default=True,
        description="Write live events straight to each reader's socket (realtime/direct.py). "
        "Off: go through ASGI sends, slower; a switch for diagnosis.",
    )

    # Timeouts (seconds)
    ws_ping_interval: float = Field(
        default=20.0, gt=0, description="Seconds between WebSocket pings to each reader."
    )
    ws_ping_timeout: float = Field(
        default=20.0,
        gt=0,
        description="Seconds a reader has to answer a ping before it is dropped.",
    )
    slow_reader_close_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds a dropped slow reader gets to take its close frame before the "
        "connection is cut.",
    )
    http_request_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a connection has to send a complete request, head and body (from "
        "opening, or from the request's first byte), before it is closed.",
    )
    ready_timeout: float = Field(
        default=2.0, gt=0, description="Seconds /readyz waits for the database."
    )
    token_cache_seconds: float = Field(
        default=10.0,
        ge=0,
        description="Seconds a process trusts an API token it has checked, so a revoked token "
        "stops working within this time (0: check storage on every write). Expiry is exact.",
    )

    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or CIDRs of the reverse proxies in front: only "
        "from these is X-Forwarded-For believed for the client's address (empty: from none).",
    )
    upgrade_rate: float = Field(
        default=20.0,
        ge=0,
        description="WebSocket upgrades per second one client address may make on average "
        "(0: no limit); IPv6 addresses count per /64.",
    )
    upgrade_burst: int = Field(
        default=100, ge=1, description="WebSocket upgrades one client address may make at once."
    )
    max_sockets_per_address: int = Field(
        default=2000,
        ge=1,
        description="Reader sockets one client address (a /64 for IPv6) may hold open at once "
        "in one process (a newsroom behind one NAT is many readers).",
    )
    allowed_origins: str = Field(
        default="",
        description="Comma-separated origins (scheme://host[:port]) whose pages may open "
        "reader sockets; empty: any (readers carry no credentials, and embeds run on other "
        "sites). A socket without an Origin (a CLI tool, a load generator) is always allowed.",
    )
    frame_ancestors: str = Field(
        default="'self'",
        min_length=1,
        description="Who may show our pages in a frame: the CSP frame-ancestors value, e.g. "
        "\"'self' https://www.example-news.com\" ('none': nobody).",
    )

    # Writes (see README "Trust")
    write_rate: float = Field(
        default=50.0,
        ge=0,
        description="Writes per second one API token may make, on average (0: no limit). "
        "Shared by every process through Redis when the broker is redis://.",
    )
    write_burst: int = Field(
        default=200,
        ge=1,
        description="Writes one API token may make at once before the rate applies (room for "
        "a CMS back-filling a liveblog).",
    )
    idempotency_ttl_seconds: float = Field(
        default=24 * 3600.0,
        gt=0,
        description="Seconds an Idempotency-Key and its stored response are kept.",
    )
    require_if_match: bool = Field(
        default=False,
        description="Refuse PATCH and DELETE without If-Match (428), so no tool can overwrite "
        "an edit it has not seen.",
    )

    # The editor's console (see README "The editor's console")
    public_url: str = Field(
        default="",
        description="The origin journalists reach the console at (https://liveblog.example). "
        "Console writes must come from it (CSRF), and https makes the session cookie Secure. "
        "Empty: the request's own scheme and Host (behind a proxy, its trusted "
        "X-Forwarded-Proto).",
    )
    session_idle_hours: float = Field(
        default=12.0, gt=0, description="A console session unused this long is signed out."
    )
    session_max_days: float = Field(
        default=7.0, gt=0, description="A console session ends this long after sign-in."
    )
    scheduler_interval_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="The longest each process goes without looking for scheduled entries that "
        "are due. It also sleeps exactly until the next one's time and wakes whenever any "
        "process schedules one; this only covers a wake-up the broker lost.",
    )

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, url: str) -> str:
        if url.split("://", 1)[0].lower() not in ("memory", "redis", "rediss"):
            raise ValueError("must be memory:// or redis://host:port/db (or rediss://)")
        return url

    @field_validator("log_level", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for part in (part.strip() for part in value.split(",") if part.strip()):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(
                    f"{part!r} is not an address or a CIDR, e.g. 10.0.0.5 or 10.0.0.0/24"
                ) from None
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in (part.strip() for part in value.split(",") if part.strip()):
            scheme, _, rest = origin.partition("://")
            if (
                scheme not in ("http", "https")
                or not rest
                or "/" in rest
                or origin != origin.lower()
            ):
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port] in lowercase, "
                    "e.g. https://news.example"
                )
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            return value
        scheme, _, rest = value.partition("://")
        scheme, rest = scheme.lower(), rest.lower()
        if scheme not in ("http", "https") or not rest or "/" in rest:
            raise ValueError(
                f"{value!r} is not an origin: write scheme://host[:port], "
                "e.g. https://liveblog.example"
            )
        # As browsers write an Origin: without the scheme's default port.
        rest = rest.removesuffix(":443" if scheme == "https" else ":80")
        return f"{scheme}://{rest}"

    @property
    def proxy_networks(self) -> list[str]:
        """LIVEBLOG_TRUSTED_PROXIES as networks (10.0.0.5/24 → 10.0.0.0/24), the form uvicorn
        matches: it would take a CIDR with host bits set as a name that never matches."""
        return [
            str(ipaddress.ip_network(part.strip(), strict=False))
            for part in self.trusted_proxies.split(",")
            if part.strip()
        ]

    @property
    def reader_origins(self) -> frozenset[str]:
        """Origins allowed to open reader sockets; empty: any."""
        return frozenset(part.strip() for part in self.allowed_origins.split(",") if part.strip())

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            path = (self.data_dir / "liveblog.db").resolve()
            self.database_url = f"sqlite+aiosqlite:///{path}"
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def has_shared_broker(self) -> bool:
        return not self.broker_url.lower().startswith("memory")
