"""All configuration, read once from LIVEBLOG_* environment variables and passed down.

Nothing reads the environment anywhere else: `create_app(settings)` and the CLI build one
`Settings` (`load_settings()`, which also lays command-line flags over the environment) and hand
it to the parts that need it, so tests start servers with their own values.

Every value is checked once, at start-up. A bad one is reported as one line naming it as the
user wrote it, then what it accepts: "LIVEBLOG_PORT: 'abc' is not a whole number; expected a port
from 0 to 65535" (`InvalidSettings`). What a setting accepts is read from its type and
constraints; only syntax a type cannot say (addresses, origins, URLs) has a validator, whose
message follows the same "what is wrong; what it accepts" shape.

A variable named like a setting but naming none (LIVEBLOG_DATABSE_URL) would be ignored, and
the default silently used in its place: `unknown_variables()` finds them, each with the setting
it is closest to, for the CLI to warn about at start and for `liveblog config` to list.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True)
class Expected:
    """What a setting's values are called in error messages, where its type says too little:
    `port: Annotated[int, Expected("a port")]` gives "expected a port from 0 to 65535"."""

    noun: str


class Settings(BaseSettings):
    # allow_inf_nan: "inf" is no number of seconds, "nan" no limit.
    model_config = SettingsConfigDict(env_prefix="LIVEBLOG_", extra="ignore", allow_inf_nan=False)

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
    port: Annotated[int, Expected("a port")] = Field(default=8000, ge=0, le=65535)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        default="info", description="Least severe log level written."
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="How log lines are written to stderr: text, one readable line each, or "
        'json, one JSON object per line (docs/operations.md, "Logs").',
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
        description="Write live events straight to each reader's socket (serving/direct.py). "
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
    # The upgrade budget per address: LIVEBLOG_UPGRADE_BURST upgrades at once, then
    # LIVEBLOG_UPGRADE_RATE a second (2,000 in any 20 s by default). The burst is sized for a
    # restart: 2,000 readers behind one NAT all come back at once (LIVEBLOG_MAX_SOCKETS_PER_
    # ADDRESS), which is also what one hostile host may spend before it is refused; the same
    # budget, doubled, bounds connection openings at accept (app/serving/http_protocol.py).
    upgrade_rate: float = Field(
        default=100.0,
        ge=0,
        description="WebSocket upgrades per second one client address may make on average "
        "(0: no limit, and no budget of connection openings either); IPv6 addresses count "
        "per /64.",
    )
    upgrade_burst: int = Field(
        default=2000,
        ge=1,
        description="WebSocket upgrades one client address may make at once: sized so that "
        "2,000 readers behind one address (an office, a carrier's NAT) come back together "
        "after a restart. Behind a reverse proxy, set LIVEBLOG_TRUSTED_PROXIES or every "
        "reader counts as the proxy's address.",
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
    frame_ancestors: Annotated[
        str, Expected("CSP frame-ancestors sources, e.g. 'self' https://news.example or 'none'")
    ] = Field(
        default="'self'",
        min_length=1,
        description="Who may show our pages in a frame: the CSP frame-ancestors value, e.g. "
        "\"'self' https://www.example-news.com\" ('none': nobody).",
    )
    metrics_allowed_networks: str = Field(
        default="",
        description="Comma-separated addresses or CIDRs that may read /metrics (e.g. your "
        "Prometheus, 10.0.0.0/8); empty: anyone. Never rate-limited.",
    )

    # Writes (see docs/api.md "Trust")
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
        description="Refuse a change to an entry or a liveblog without If-Match (428), from the "
        "API or the console, so no tool can overwrite an edit it has not seen.",
    )

    # The editor's console (see docs/console.md "The editor's console")
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
    password_checks_concurrent: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Password hashes (sign-ins, password changes) one process runs at once, "
        "each on a core of its own (auth/passwords.py).",
    )
    password_checks_queue: int = Field(
        default=15,
        ge=0,
        le=1000,
        description="Password checks one process keeps waiting for a hash beyond those running; "
        "past it a sign-in gets 503 with Retry-After at once, unhashed.",
    )
    password_checks_per_second: float = Field(
        default=5.0,
        ge=0,
        description="Password hashes one process starts per second on average, whatever the "
        "addresses, in bursts of concurrent + queue (0: no limit); past it 503 with "
        "Retry-After, unhashed.",
    )
    scheduler_interval_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="The longest each process goes without looking for scheduled entries that "
        "are due. It also sleeps exactly until the next one's time and wakes whenever any "
        "process schedules one; this only covers a wake-up the broker lost.",
    )

    # Media (see docs/media.md)
    media_url: Annotated[str, Expected("a directory, file:///path or s3://bucket/prefix")] = Field(
        default="",
        description="Where uploaded media is stored: empty for a `media` directory in "
        "LIVEBLOG_DATA_DIR, a directory, or s3://bucket/prefix in any S3-compatible store "
        "(credentials and region from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION).",
    )
    media_s3_endpoint: Annotated[str, Expected("an http(s) URL")] = Field(
        default="",
        description="The S3 API's address for stores other than AWS (MinIO, Ceph, R2…), "
        "e.g. http://127.0.0.1:9000; empty: AWS.",
    )
    media_public_url: Annotated[str, Expected("an http(s) URL")] = Field(
        default="",
        description="Where readers fetch media from when a CDN (or the bucket itself) serves "
        "them, e.g. https://cdn.example/media; empty: this server's /media/.",
    )
    max_upload_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1024,
        description="Largest upload accepted (POST /api/media and the console), refused with "
        "413 before its body is read when it says its length.",
    )
    max_upload_pixels: int = Field(
        default=60_000_000,
        ge=10_000,
        description="Most pixels (width × height) an uploaded image may have; more is 413 "
        "before it is decoded (a decompression bomb stalls nothing).",
    )
    uploads_per_minute: int = Field(
        default=30,
        ge=0,
        description="Uploads one API token or console user may make in any minute (0: no limit).",
    )
    outbound_allow_private: bool = Field(
        default=False,
        description="Let requests Liveblog makes to other sites (link previews) reach loopback, "
        "private and link-local addresses; off, they are refused after DNS and on every "
        "redirect (no server-side request forgery). For tests and intranet installs.",
    )
    media_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Processes that decode and resize uploads, at low priority beside the "
        "server; more uploads wait for one (up to 16 each), past that 503 with Retry-After.",
    )

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir(cls, value: object) -> object:
        # Path("") is the working directory: never what an empty variable meant.
        if isinstance(value, str) and not value.strip():
            raise ValueError("the value is empty; expected a directory, e.g. /var/lib/liveblog")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, url: str) -> str:
        if not url:
            return url  # SQLite in data_dir: _default_database
        return check_database_url(url)

    @field_validator("media_url")
    @classmethod
    def _media_url(cls, url: str) -> str:
        url = url.strip()
        if url.startswith("s3://"):
            parts = urlsplit(url)
            if not parts.netloc or parts.query or parts.fragment:
                raise ValueError(
                    f"{url!r} names no bucket; expected s3://bucket or s3://bucket/prefix"
                )
        elif "://" in url and not url.startswith("file://"):
            raise ValueError(
                f"{url!r} is no store we know; expected a directory, file:///path or "
                "s3://bucket/prefix"
            )
        return url

    @field_validator("media_s3_endpoint", "media_public_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        url = url.strip()
        if url and (urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).netloc):
            raise ValueError(f"{url!r} is not an http(s) URL; expected e.g. https://cdn.example")
        return url.rstrip("/")

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, url: str) -> str:
        accepts = (
            "expected memory:// (this process only) or redis://host[:port]/db (rediss:// for TLS)"
        )
        scheme = url.partition("://")[0].lower() if "://" in url else ""
        if scheme == "memory":
            return url
        if scheme not in ("redis", "rediss"):
            raise ValueError(f"{_is_not(redact_url(url), 'a broker URL')}; {accepts}")
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises for a port that is not a number from 0 to 65535
            # redis-py reads a database that is not a number as 0; refuse it instead.
            database = parts.path.strip("/")
            if database and not database.isdigit():
                raise ValueError(f"database {database!r} is not a number")
        except ValueError as error:
            reason = str(error)[:1].lower() + str(error)[1:]
            raise ValueError(
                f"{_shown(redact_url(url))} is not a Redis URL ({reason}); {accepts}"
            ) from None
        return url

    @field_validator("host")
    @classmethod
    def _host(cls, host: str) -> str:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if not _HOST_NAME.fullmatch(host):
                raise ValueError(
                    f"{_is_not(host, 'an address or host name')}; expected an IP address or a "
                    "host name, e.g. 127.0.0.1, 0.0.0.0, :: or localhost"
                ) from None
        return host

    @field_validator("log_level", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("trusted_proxies", "metrics_allowed_networks")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for part in (part.strip() for part in value.split(",") if part.strip()):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(
                    f"{_shown(part)} is not an address or a CIDR; expected comma-separated "
                    "addresses or CIDRs, e.g. 10.0.0.5,10.0.0.0/24"
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
                    f"{_shown(origin)} is not an origin; expected comma-separated origins, each "
                    "scheme://host[:port] in lowercase with no path, e.g. https://news.example "
                    "(empty: any)"
                )
        return value

    @field_validator("frame_ancestors")
    @classmethod
    def _frame_ancestors(cls, value: str) -> str:
        # One directive's sources: a ";" or "," would end it, a control character the header.
        if not value.strip() or any(c in ";," or not c.isprintable() for c in value):
            raise ValueError(
                f"{_shown(value)} is not a list of frame-ancestors sources; expected sources "
                "separated by spaces, e.g. 'self' https://news.example, or 'none'"
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
                f"{_shown(value)} is not an origin; expected scheme://host[:port] (http or "
                "https, no path), e.g. https://liveblog.example (empty: the request's own)"
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
    def metrics_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """LIVEBLOG_METRICS_ALLOWED_NETWORKS as networks; empty: /metrics is open."""
        return [
            ipaddress.ip_network(part.strip(), strict=False)
            for part in self.metrics_allowed_networks.split(",")
            if part.strip()
        ]

    @property
    def reader_origins(self) -> frozenset[str]:
        """Origins allowed to open reader sockets; empty: any."""
        return frozenset(part.strip() for part in self.allowed_origins.split(",") if part.strip())

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = _sqlite_in(self.data_dir)
        return self

    @property
    def database_setting(self) -> str:
        """The variable that chose the database, for messages about it: LIVEBLOG_DATA_DIR when
        it is the default SQLite file there, else LIVEBLOG_DATABASE_URL."""
        chosen_by = "data_dir" if self.database_url == _sqlite_in(self.data_dir) else "database_url"
        return env_name(chosen_by)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def has_shared_broker(self) -> bool:
        return not self.broker_url.lower().startswith("memory")


def _sqlite_in(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'liveblog.db').resolve()}"


# Host names as uvicorn binds them: letters, digits, "-" and "_" (compose service names).
_HOST_NAME = re.compile(r"(?=.{1,253}\Z)[\w-]{1,63}(\.[\w-]{1,63})*\.?", re.ASCII)


class InvalidSettings(Exception):
    """Settings that failed validation. `problems` has one line per bad value, "NAME: what is
    wrong; what it accepts", NAME as the user wrote it (LIVEBLOG_PORT, or --port for a flag)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def check_database_url(url: str) -> str:
    """`url` if it names a database Liveblog can use; raises ValueError saying what it expects."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    accepts = (
        "expected postgresql+asyncpg://user:password@host[:port]/db, "
        "sqlite+aiosqlite:///path/to/file.db, or empty (SQLite in LIVEBLOG_DATA_DIR)"
    )
    try:
        driver = make_url(url).drivername
    except (ArgumentError, ValueError):
        raise ValueError(f"{_shown(redact_url(url))} is not a database URL; {accepts}") from None
    if driver not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise ValueError(
            f"{_shown(redact_url(url))} names driver {driver!r}, not one Liveblog has; " + accepts
        )
    return url


def load_settings(flags: Mapping[str, Any] | None = None) -> Settings:
    """Settings from the LIVEBLOG_* environment with command-line `flags` on top, validated as
    one: the same checks and messages whichever way a value came.

    Args:
        flags: values given on the command line, as typed, by field name (`{"port": "99999"}`
            for `--port 99999`); each flag is named `--` + the field with `-` for `_`.

    Raises:
        InvalidSettings: naming each bad value and what it accepts.
    """
    given = dict(flags or {})
    try:
        return Settings(**given)
    except ValidationError as error:
        raise InvalidSettings([_problem(item, given) for item in error.errors()]) from None


# Read by one command rather than by Settings: `liveblog copy`'s target (cli/data.py), kept out
# of the process list.
COPY_TO = "LIVEBLOG_COPY_TO"
# Prefixes of LIVEBLOG_* variables that are no settings and no mistakes either: the test suite's
# and the benchmarks' own (LIVEBLOG_TEST_POSTGRES_URL, LIVEBLOG_BENCH_…), which share the
# environment of the servers and commands they start.
NOT_SETTINGS_PREFIXES = ("LIVEBLOG_TEST_", "LIVEBLOG_BENCH_")


@dataclass(frozen=True)
class UnknownVariable:
    """A LIVEBLOG_* variable that names no setting, and the setting it may have meant."""

    name: str  # as it is in the environment
    closest: str | None

    def __str__(self) -> str:
        hint = (
            f"did you mean {self.closest}?"
            if self.closest
            else "`liveblog config` lists the settings"
        )
        return f"{self.name} is not a Liveblog setting; {hint}"


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[UnknownVariable]:
    """The LIVEBLOG_* variables of `environ` (default: this process's) that Liveblog would
    ignore, sorted by name. Names are compared in any case, as Settings reads them."""
    prefix = Settings.model_config.get("env_prefix", "")
    known = {field.upper() for field in Settings.model_fields}
    known.add(COPY_TO.removeprefix(prefix))
    unknown = []
    for name in sorted(os.environ if environ is None else environ):
        upper = name.upper()
        if not upper.startswith(prefix) or upper.startswith(NOT_SETTINGS_PREFIXES):
            continue
        rest = upper.removeprefix(prefix)
        if rest in known:
            continue
        # Compared without the prefix they all share, which would make any two names look alike.
        closest = difflib.get_close_matches(rest, sorted(known), n=1)
        unknown.append(UnknownVariable(name, prefix + closest[0] if closest else None))
    return unknown


def env_name(field: str) -> str:
    """The environment variable of a field: port → LIVEBLOG_PORT."""
    return Settings.model_config.get("env_prefix", "") + field.upper()


def redact_url(url: str) -> str:
    """`url` fit to print: a password, in its user part or its query, as ***."""
    # The user part ends at the last "@": a password may hold "/" or "@" unencoded.
    url = re.sub(r"^([\w+.-]+://[^:/@]*):.*@", r"\1:***@", url)
    return re.sub(
        r"([?&](?:password|passwd|pwd|token|secret|\w*key)=)[^&#]*", r"\1***", url, flags=re.I
    )


def _problem(error: ErrorDetails, flags: Mapping[str, Any]) -> str:
    field = str(error["loc"][0]) if error["loc"] else ""
    info = Settings.model_fields.get(field)
    message = error["msg"].removeprefix("Value error, ")
    if info is None:  # a check across settings: its message says which
        return message
    name = "--" + field.replace("_", "-") if field in flags else env_name(field)
    return f"{name}: {_describe(error, message, info)}"


# What is wrong, by pydantic error type. Range errors show the number as written, unquoted.
_WRONG = {
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "int_type": "is not a whole number",
    "float_parsing": "is not a number",
    "float_type": "is not a number",
    "finite_number": "is not a finite number",
    "bool_parsing": "is not true or false",
    "bool_type": "is not true or false",
    "literal_error": "is not one of the choices",
    "string_too_short": "is too short",
    "string_too_long": "is too long",
}
_OUT_OF_RANGE = {
    "greater_than": "is too small",
    "greater_than_equal": "is too small",
    "less_than": "is too large",
    "less_than_equal": "is too large",
}


def _describe(error: ErrorDetails, message: str, field: FieldInfo) -> str:
    """One failed value of `field`, as "what is wrong; what it accepts"."""
    accepts = "expected " + _accepts(field)
    if error["type"] == "value_error":
        # A validator of ours words its own, in the same shape.
        return message if "; " in message else f"{message}; {accepts}"
    value = error["input"]
    if value == "":
        return f"the value is empty; {accepts}"
    if error["type"] in _OUT_OF_RANGE:
        return f"{str(value)[:40]} {_OUT_OF_RANGE[error['type']]}; {accepts}"
    wrong = _WRONG.get(error["type"], f"is refused ({message})")
    return f"{_shown(value)} {wrong}; {accepts}"


def _accepts(field: FieldInfo) -> str:
    """What `field` accepts, read from its type and constraints: "a whole number of 1 or
    more", "one of debug, info", "true or false"…"""
    kind: Any = field.annotation
    optional = False
    if get_origin(kind) in (Union, UnionType):
        options = [option for option in get_args(kind) if option is not type(None)]
        optional = len(options) < len(get_args(kind))
        kind = options[0] if len(options) == 1 else kind
    noun = next((item.noun for item in field.metadata if isinstance(item, Expected)), None)
    if get_origin(kind) is Literal:
        accepts = "one of " + ", ".join(str(choice) for choice in get_args(kind))
    elif kind is bool:
        accepts = "true or false (or 1/0, yes/no, on/off)"
    elif kind in (int, float):
        accepts = (noun or ("a whole number" if kind is int else "a number")) + _bounds(field)
    elif kind is str:
        accepts = noun or _length(field)
    elif kind is Path:
        accepts = noun or "a path"
    else:
        accepts = noun or f"a {getattr(kind, '__name__', kind)}"
    return accepts + (", or unset" if optional else "")


def _constraint(field: FieldInfo, name: str) -> Any:
    return next((getattr(item, name) for item in field.metadata if hasattr(item, name)), None)


def _bounds(field: FieldInfo) -> str:
    ge, gt, le, lt = (_constraint(field, name) for name in ("ge", "gt", "le", "lt"))
    if ge is not None and le is not None:
        return f" from {ge} to {le}"
    lower = f"of {ge} or more" if ge is not None else f"above {gt}" if gt is not None else ""
    upper = f"up to {le}" if le is not None else f"below {lt}" if lt is not None else ""
    return "".join(f" {part}" for part in (lower, "and" if lower and upper else "", upper) if part)


def _length(field: FieldInfo) -> str:
    least, most = _constraint(field, "min_length"), _constraint(field, "max_length")
    if least and most:
        return f"{least} to {most} characters"
    if most:
        return f"at most {most} characters"
    if least == 1:
        return "a non-empty value"
    return f"at least {least} characters" if least else "any text"


def _shown(value: object) -> str:
    """A value quoted for a one-line message: escaped, and cut if long."""
    shown = repr(value) if isinstance(value, str) else str(value).replace("\n", "\\n")
    return shown if len(shown) <= 80 else shown[:77] + "…"


def _is_not(value: str, what: str) -> str:
    return "the value is empty" if not value else f"{_shown(value)} is not {what}"
