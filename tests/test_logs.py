"""app/logs.py on its own: the two line formats and the filters every record goes through."""

from __future__ import annotations

import json
import logging
import secrets
import sys
from datetime import datetime, timedelta

import pytest

from app import logs
from app.auth.tokens import TOKEN_PREFIX
from app.console.deps import COOKIE, SECURE_COOKIE


def record(
    message: str,
    *args: object,
    name: str = "app.example",
    level: int = logging.INFO,
    **extra: object,
) -> logging.LogRecord:
    """A record as `logging.getLogger(name).log(level, message, *args, extra=extra)` makes it,
    passed through the handler's filters."""
    made = logging.getLogger(name).makeRecord(
        name, level, __file__, 1, message, args, None, extra=extra or None
    )
    assert logs.RequestIdFilter().filter(made) and logs.RedactFilter().filter(made)
    return made


def test_a_json_line_has_the_keys_and_the_event_fields() -> None:
    """ts (ISO 8601, UTC), level, logger, msg, request_id, then the event's own fields."""
    token = logs.REQUEST_ID.set("abc-123")
    try:
        made = record("reader of %s closed", "summit", liveblog="summit", close_code=1000)
    finally:
        logs.REQUEST_ID.reset(token)
    line = json.loads(logs.JsonFormatter().format(made))
    assert line == {
        "ts": line["ts"],
        "level": "info",
        "logger": "app.example",
        "msg": "reader of summit closed",
        "request_id": "abc-123",
        "liveblog": "summit",
        "close_code": 1000,
    }
    assert datetime.fromisoformat(line["ts"]).utcoffset() == timedelta(0)
    assert line["ts"].endswith("Z")


def test_json_lines_leave_out_a_missing_request_id_and_keep_their_keys() -> None:
    """No request, no request_id; an event field never replaces one of the keys."""
    line = json.loads(logs.JsonFormatter().format(record("started", level=logging.WARNING, ts=1)))
    assert "request_id" not in line
    assert line["level"] == "warning" and line["ts"] != 1


def test_uvicorn_access_lines_get_their_fields() -> None:
    """The access line's method, path, status and client are fields of the JSON line."""
    made = record(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        "/healthz?x=1",
        "1.1",
        200,
        name="uvicorn.access",
    )
    line = json.loads(logs.JsonFormatter().format(made))
    assert line["msg"] == '127.0.0.1:5000 - "GET /healthz?x=1 HTTP/1.1" 200'
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz?x=1", 200)


def test_a_text_line_is_one_line_and_a_traceback_follows() -> None:
    """A newline in a message is escaped; an exception's traceback is printed after the line."""
    try:
        raise ValueError("boom")
    except ValueError:
        made = logging.getLogger("app.example").makeRecord(
            "app.example", logging.ERROR, __file__, 1, "failed on %r", ("a\nb",), sys.exc_info()
        )
    text = logs.TextFormatter().format(made)
    first, *rest = text.splitlines()
    assert first.endswith(" ERROR app.example: failed on 'a\\nb'")
    assert rest[0] == "Traceback (most recent call last):" and rest[-1] == "ValueError: boom"


def test_json_tracebacks_are_a_field() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    text = logs.JsonFormatter().format(made)
    assert "\n" not in text
    assert json.loads(text)["exc"].endswith("ValueError: boom")


@pytest.mark.parametrize(
    ("template", "secret"),
    [
        ("Authorization: Bearer {}", TOKEN_PREFIX + secrets.token_urlsafe(32)),
        ("sent bearer {} twice", secrets.token_urlsafe(32)),
        ("a token: {}", TOKEN_PREFIX + secrets.token_urlsafe(32)),
        ("< cookie: " + COOKIE + "={}; theme=dark", secrets.token_urlsafe(32)),
        ("Set-Cookie: " + SECURE_COOKIE + "={}; Path=/; Secure", secrets.token_urlsafe(32)),
        ("jar " + COOKIE + "={}", secrets.token_urlsafe(32)),
        ("form username=jane&password={}&next=/", "correct+horse+battery%21"),
        ("{{'username': 'jane', 'password': '{}'}}", "correct horse battery staple"),
        ('{{"csrf_token": "{}"}}', secrets.token_urlsafe(32)),
    ],
    # Named by the template alone: every worker of pytest-xdist must collect the same ids.
    ids=lambda value: value if "{}" in value else "secret",
)
def test_secrets_are_redacted_wherever_they_appear(template: str, secret: str) -> None:
    """Message, arguments, event fields and traceback: none keeps a secret."""
    text = template.format(secret)
    try:
        raise RuntimeError(text)
    except RuntimeError:
        made = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "%s", (text,), sys.exc_info(), extra={"said": text}
        )
    assert logs.RedactFilter().filter(made)
    for formatter in (logs.JsonFormatter(), logs.TextFormatter()):
        line = formatter.format(made)
        assert "[redacted]" in line
        for part in secret.split():
            assert part not in line.replace(TOKEN_PREFIX + "[redacted]", ""), (part, line)


def test_ordinary_words_are_left_alone() -> None:
    made = record("password too short for %s; cookie jar empty", "jane")
    assert made.getMessage() == "password too short for jane; cookie jar empty"


def test_uvicorn_websocket_lines_are_debug() -> None:
    """uvicorn's and websockets' per-connection lines are written at DEBUG: dropped at INFO."""
    handshake = logging.getLogger("tests.handshakes")
    demote = logs.HandshakesAtDebug()
    accepted = handshake.makeRecord(
        handshake.name,
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("a", "/ws"),
        None,
    )
    opened = handshake.makeRecord(
        handshake.name, logging.INFO, __file__, 1, "connection open", (), None
    )
    started = handshake.makeRecord(
        handshake.name, logging.INFO, __file__, 1, "Started server process [%d]", (1,), None
    )
    handshake.setLevel(logging.INFO)
    try:
        assert not demote.filter(accepted) and not demote.filter(opened)
        assert demote.filter(started) and started.levelname == "INFO"
        handshake.setLevel(logging.DEBUG)
        assert demote.filter(accepted) and accepted.levelname == "DEBUG"
    finally:
        handshake.setLevel(logging.NOTSET)


def test_the_config_sends_everything_through_one_handler() -> None:
    """uvicorn's loggers have no handler of their own; aiosqlite never prints statements."""
    config = logs.dict_config("debug", "json")
    assert config["root"] == {"level": "DEBUG", "handlers": ["stderr"]}
    assert config["handlers"]["stderr"]["filters"] == ["request_id", "redact"]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert config["loggers"][name]["handlers"] == [] and config["loggers"][name]["propagate"]
    assert config["loggers"]["aiosqlite"]["level"] == logging.INFO
    assert logs.dict_config("warning", "text")["loggers"]["aiosqlite"]["level"] == logging.WARNING
