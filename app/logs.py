"""Every line the process writes, in one format: ours, uvicorn's and alembic's.

`configure(settings)` (the CLI, before anything logs) and `server.run` (uvicorn applies the same
`dict_config()` in each worker it starts) send every logger to one handler on stderr:

- `LIVEBLOG_LOG_FORMAT=text` (the default), one readable line per record:
  `2026-05-04T18:02:11.532Z INFO uvicorn.access: 127.0.0.1:50312 - "GET /healthz HTTP/1.1" 200
  request_id=4f0c…` (a traceback, if any, on the lines after it).
- `LIVEBLOG_LOG_FORMAT=json`, one JSON object per line: `ts` (ISO 8601, UTC), `level`, `logger`,
  `msg`, `request_id` when the line was written while a request was handled, then the event's
  own fields (`extra=` of the call; method, path, status and client for uvicorn's access lines),
  and `exc` with the traceback of an exception.

Two filters sit on the handler, so they see every record, whoever logged it:
`RequestIdFilter` adds the id of the request being handled (middleware/request_id.py sets it),
and `RedactFilter` masks bearer tokens, API tokens, session cookies and passwords should one ever
reach a message. Nothing of ours logs a header or a body; uvicorn's access line is the method,
the path with its query string and the status, no headers. The filter is defence in depth.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from app.settings import Settings

LogFormat = Literal["text", "json"]

# The id of the HTTP request (or WebSocket upgrade) this code runs for. uvicorn runs each one in
# a task of its own, and a task's context dies with it, so middleware/request_id.py sets it and
# never resets it: the lines written after the app returns (the access line of a 500, uvicorn's
# "Exception in ASGI application") still carry it.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def configure(settings: Settings) -> None:
    """Send every logger of this process to stderr in the configured format and level."""
    logging.config.dictConfig(dict_config(settings.log_level, settings.log_format))


def dict_config(level: str, log_format: LogFormat) -> dict[str, Any]:
    """The `logging.config.dictConfig` schema for `level` and `log_format`.

    Plain data, so uvicorn can hand it to the worker processes it spawns (`log_config=`).
    """
    least = logging.getLevelNamesMapping()[level.upper()]
    return {
        "version": 1,
        # Loggers created at import (every module's `log`) keep working.
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": f"{__name__}.{_FORMATTERS[log_format]}"}},
        "filters": {
            "request_id": {"()": f"{__name__}.RequestIdFilter"},
            "redact": {"()": f"{__name__}.RedactFilter"},
            "handshakes": {"()": f"{__name__}.HandshakesAtDebug"},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "line",
                "filters": ["request_id", "redact"],
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        # uvicorn's loggers write through ours, not handlers of their own; the level is the root's.
        "loggers": {
            "uvicorn": {"level": "NOTSET", "handlers": [], "propagate": True},
            "uvicorn.error": {
                "level": "NOTSET",
                "handlers": [],
                "propagate": True,
                "filters": ["handshakes"],
            },
            "uvicorn.access": {"level": "NOTSET", "handlers": [], "propagate": True},
            # At debug, aiosqlite prints every statement with its parameters: CSRF tokens,
            # password and token hashes, entry bodies. Never wanted in a log, even at debug.
            "aiosqlite": {"level": max(least, logging.INFO)},
        },
    }


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to each record: the current request's, unless the call gave one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


# What must never be written, whatever wrote it. Each pattern keeps its name and masks the value.
_SECRETS = re.compile(
    # An Authorization value: `Bearer lb_…`.
    r"(?P<scheme>\b(?i:bearer)\s+)[A-Za-z0-9._~+/=-]+"
    # An API token anywhere (app/auth/tokens.py: TOKEN_PREFIX + 43 URL-safe characters).
    r"|(?P<token>\blb_)[A-Za-z0-9_-]{16,}"
    # The console's session cookie (app/console/deps.py: COOKIE, SECURE_COOKIE), as a header
    # or a cookie jar would print it.
    r"|(?P<cookie>\b(?:__Host-)?liveblog_session=)[^;,\s\"']+"
    # A credential header as a header dump prints it (websockets does, at debug: "< cookie: …").
    r"|(?P<header>\b(?i:cookie|set-cookie|authorization|proxy-authorization)\s*:\s*)[^\r\n]+"
    # A password or CSRF token as a form, a query string, a dict or JSON would print it.
    r"|(?P<field>\b(?i:password|csrf_token|x-csrf-token)[\"']?\s*[:=]\s*)"
    r"(?:\"[^\"]*\"|'[^']*'|[^\s&,;}]+)"
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` with every secret-looking value replaced by "[redacted]"."""
    return _SECRETS.sub(_mask, text)


def _mask(found: re.Match[str]) -> str:
    kept = next(name for name in found.groups() if name is not None)
    return kept + REDACTED


class RedactFilter(logging.Filter):
    """Masks secrets in each record's message, traceback and string event fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True  # a bad format string: the handler reports it as a logging error
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatter.format() uses exc_text as it finds it: fill it in, masked.
            record.exc_text = redact(_FORMAT.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        for key, value in _fields(record).items():
            if isinstance(value, str):
                setattr(record, key, redact(value))
        return True


# uvicorn writes a line per WebSocket handshake ('127.0.0.1:5 - "WebSocket /ws/…" [accepted]'),
# and the websockets library it drives a line as each connection opens and closes, all on
# uvicorn.error at INFO: three lines per reader, thousands in a reconnect storm. Our own reader
# lines (realtime/websocket.py) are at debug with a summary at info each minute; these join them.
_PER_CONNECTION = frozenset(
    {
        "connection open",
        "connection closed",
        "connection rejected (%d %s)",
        "HTTP response sent (%d %s)",
    }
)
_HANDSHAKE = '%s - "WebSocket %s"'


class HandshakesAtDebug(logging.Filter):
    """On uvicorn.error: its per-WebSocket lines are written at DEBUG, like our reader lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg
        if isinstance(message, str) and (
            message in _PER_CONNECTION or message.startswith(_HANDSHAKE)
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


# What every LogRecord has; anything else on a record came from `extra=`. uvicorn adds
# `color_message` (the same message with ANSI colours) to some lines: not an event field.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "color_message",
}
_FORMAT = logging.Formatter()


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in record.__dict__.items() if key not in _STANDARD}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _access_fields(record: logging.LogRecord) -> dict[str, Any]:
    """uvicorn's access line as fields: its arguments are (client, method, path, version,
    status) in uvicorn/protocols/http/*_impl.py."""
    args = record.args
    if record.name != "uvicorn.access" or not isinstance(args, tuple) or len(args) != 5:
        return {}
    client, method, path, _version, status = args
    return {"method": method, "path": path, "status": status, "client": client}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; see the module docstring for its keys."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage().rstrip(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in {**_access_fields(record), **_fields(record)}.items():
            line.setdefault(key, value)  # an event field never hides one of the keys above
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """`ts LEVEL logger: message request_id=…`, on one line; a traceback follows.

    Event fields are left to the JSON lines: our messages already say what they hold.
    """

    def format(self, record: logging.LogRecord) -> str:
        # A message is one line whatever it holds (a newline in a value must not forge a
        # line of its own).
        message = _one_line(record.getMessage().rstrip())
        text = f"{_timestamp(record)} {record.levelname} {record.name}: {message}"
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            text += f" request_id={request_id}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            text += "\n" + record.exc_text
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text


_FORMATTERS: dict[LogFormat, str] = {"text": "TextFormatter", "json": "JsonFormatter"}


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")
