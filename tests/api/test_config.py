"""Configuration: every LIVEBLOG_* value and settings flag checked at start-up, refused in one
line naming it and what it accepts; `liveblog config`; the table of settings in
docs/operations.md."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import UnionType
from typing import Literal, Union, get_args, get_origin

import pytest

from app import __version__
from app.settings import InvalidSettings, Settings, env_name, load_settings
from tests.harness import cli

ROOT = Path(__file__).resolve().parents[2]
PORTS = "expected a port from 0 to 65535"


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("PORT", "abc", f"'abc' is not a whole number; {PORTS}"),
        ("PORT", "99999", f"99999 is too large; {PORTS}"),
        ("PORT", "", f"the value is empty; {PORTS}"),
        (
            "LOG_LEVEL",
            "verbose",
            "'verbose' is not one of the choices; "
            "expected one of critical, error, warning, info, debug",
        ),
        ("WS_PING_INTERVAL", "x", "'x' is not a number; expected a number above 0"),
        ("WS_PING_INTERVAL", "inf", "'inf' is not a finite number; expected a number above 0"),
        ("CATCHUP_LIMIT", "0", "0 is too small; expected a whole number of 1 or more"),
        (
            "MAX_READERS",
            "1.5",
            "'1.5' is not a whole number; expected a whole number of 1 or more, or unset",
        ),
        (
            "REQUIRE_IF_MATCH",
            "maybe",
            "'maybe' is not true or false; expected true or false (or 1/0, yes/no, on/off)",
        ),
        ("BROKER_CHANNEL", "", "the value is empty; expected 1 to 100 characters"),
        (
            "TRUSTED_PROXIES",
            "10.0.0.1,x/99",
            "'x/99' is not an address or a CIDR; "
            "expected comma-separated addresses or CIDRs, e.g. 10.0.0.5,10.0.0.0/24",
        ),
        (
            "ALLOWED_ORIGINS",
            "HTTP://X/",
            "'HTTP://X/' is not an origin; expected comma-separated origins, each "
            "scheme://host[:port] in lowercase with no path, e.g. https://news.example "
            "(empty: any)",
        ),
        (
            "BROKER_URL",
            "ftp://x",
            "'ftp://x' is not a broker URL; "
            "expected memory:// (this process only) or redis://host[:port]/db (rediss:// for TLS)",
        ),
        (
            "BROKER_URL",
            "redis://:secret@h:abc/0",
            "'redis://:***@h:abc/0' is not a Redis URL (port could not be cast to integer value "
            "as 'abc'); "
            "expected memory:// (this process only) or redis://host[:port]/db (rediss:// for TLS)",
        ),
        (
            "DATABASE_URL",
            "postgresql://u:secret@h/db",
            "'postgresql://u:***@h/db' names driver 'postgresql', not one Liveblog has; "
            "expected postgresql+asyncpg://user:password@host[:port]/db, "
            "sqlite+aiosqlite:///path/to/file.db, or empty (SQLite in LIVEBLOG_DATA_DIR)",
        ),
        (
            "PUBLIC_URL",
            "nope",
            "'nope' is not an origin; expected scheme://host[:port] (http or https, no path), "
            "e.g. https://liveblog.example (empty: the request's own)",
        ),
        (
            "HOST",
            "a b",
            "'a b' is not an address or host name; "
            "expected an IP address or a host name, e.g. 127.0.0.1, 0.0.0.0, :: or localhost",
        ),
        (
            "FRAME_ANCESTORS",
            "'self'; script-src *",
            "\"'self'; script-src *\" is not a list of frame-ancestors sources; expected sources "
            "separated by spaces, e.g. 'self' https://news.example, or 'none'",
        ),
    ],
)
def test_a_bad_setting_stops_start_up_in_one_line(
    tmp_path: Path, variable: str, value: str, line: str
) -> None:
    """Each kind of bad value: one line naming the variable, what is wrong and what it
    accepts, exit code 2, no traceback, no password; the command never starts."""
    result = cli(tmp_path, "migrate", env={f"LIVEBLOG_{variable}": value})
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"error: LIVEBLOG_{variable}: {line}\n"
    assert "secret" not in result.stderr
    assert result.stdout == "" and not list(tmp_path.iterdir())  # not migrated


def test_each_bad_value_gets_its_own_line(tmp_path: Path) -> None:
    """Two bad variables: two lines, each naming its own."""
    result = cli(tmp_path, "config", env={"LIVEBLOG_PORT": "abc", "LIVEBLOG_WORKERS": "0"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: LIVEBLOG_PORT: 'abc' is not a whole number; {PORTS}",
        "error: LIVEBLOG_WORKERS: 0 is too small; expected a whole number from 1 to 64",
    ]


# A value each text setting refuses; numbers, true/false and choices all refuse "x".
BAD_TEXT = {
    "data_dir": " ",
    "database_url": "nope",
    "broker_url": "ftp://x",
    "broker_channel": "",
    "host": "a b",
    "trusted_proxies": "x/99",
    "allowed_origins": "HTTP://X/",
    "frame_ancestors": "'self';",
    "metrics_allowed_networks": "x/99",
    "public_url": "nope",
    "media_url": "ftp://x",
    "media_s3_endpoint": "nope",
    "media_public_url": "ftp://cdn.example",
}


def test_every_setting_refuses_a_bad_value_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every field of Settings is checked: a bad value gives one "NAME: what is wrong; what
    it accepts" line, whatever its kind."""
    for field, info in Settings.model_fields.items():
        kind = info.annotation
        if get_origin(kind) in (Union, UnionType):
            kind = next(option for option in get_args(kind) if option is not type(None))
        if kind in (int, float, bool) or get_origin(kind) is Literal:
            bad = "x"
        else:
            assert field in BAD_TEXT, f"add to BAD_TEXT a value {env_name(field)} refuses"
            bad = BAD_TEXT[field]
        with monkeypatch.context() as patched:
            patched.setenv(env_name(field), bad)
            with pytest.raises(InvalidSettings) as refused:
                load_settings()
        [problem] = refused.value.problems
        assert re.fullmatch(rf"{env_name(field)}: [^\n]+; expected [^\n]+", problem), problem


@pytest.mark.parametrize(
    ("flags", "line"),
    [
        (["--port", "99999"], f"--port: 99999 is too large; {PORTS}"),
        (["--port", "abc"], f"--port: 'abc' is not a whole number; {PORTS}"),
        (["--workers", "0"], "--workers: 0 is too small; expected a whole number from 1 to 64"),
        (["--host", "a b"], "--host: 'a b' is not an address or host name; expected an IP "
         "address or a host name, e.g. 127.0.0.1, 0.0.0.0, :: or localhost"),
    ],
)  # fmt: skip
def test_serve_flags_go_through_the_same_validation(
    tmp_path: Path, flags: list[str], line: str
) -> None:
    """`serve --port 99999` is refused as LIVEBLOG_PORT=99999 is, naming the flag."""
    result = cli(tmp_path, "serve", *flags)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"error: {line}\n"
    assert not list(tmp_path.iterdir())  # stopped before migrating


def test_config_prints_every_setting_its_source_and_value_with_secrets_masked(
    tmp_path: Path,
) -> None:
    """`liveblog config`: one line per setting (variable, source, value), passwords as ***."""
    env = {
        "LIVEBLOG_PORT": "8123",
        "LIVEBLOG_DATABASE_URL": "postgresql+asyncpg://u:secret@h/db",
        "LIVEBLOG_BROKER_URL": "redis://:hunter2@h:6379/0",
        "LIVEBLOG_LOG_LEVEL": "DEBUG",
    }
    result = cli(tmp_path, "config", env=env)
    assert result.returncode == 0, result.stderr
    assert "secret" not in result.stdout and "hunter2" not in result.stdout
    rows = {
        name: (source, value)
        for name, source, value in (line.split(maxsplit=2) for line in result.stdout.splitlines())
    }
    assert list(rows) == [env_name(field) for field in Settings.model_fields]
    assert rows["LIVEBLOG_PORT"] == ("environment", "8123")
    assert rows["LIVEBLOG_DATABASE_URL"] == ("environment", "postgresql+asyncpg://u:***@h/db")
    assert rows["LIVEBLOG_BROKER_URL"] == ("environment", "redis://:***@h:6379/0")
    assert rows["LIVEBLOG_LOG_LEVEL"] == ("environment", "debug")  # as in effect
    assert rows["LIVEBLOG_DATA_DIR"] == ("environment", str(tmp_path))  # the harness sets it
    assert rows["LIVEBLOG_WORKERS"] == ("default", "1")
    assert rows["LIVEBLOG_REQUIRE_IF_MATCH"] == ("default", "false")
    assert rows["LIVEBLOG_MAX_READERS"] == ("default", "(unset)")

    result = cli(tmp_path, "config", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert "secret" not in result.stdout and "hunter2" not in result.stdout
    settings = json.loads(result.stdout)
    assert list(settings) == list(rows)
    assert settings["LIVEBLOG_PORT"] == {"value": 8123, "source": "environment"}
    assert settings["LIVEBLOG_DATABASE_URL"]["value"] == "postgresql+asyncpg://u:***@h/db"
    assert settings["LIVEBLOG_MAX_READERS"] == {"value": None, "source": "default"}
    assert settings["LIVEBLOG_WS_DIRECT_WRITES"] == {"value": True, "source": "default"}


def test_config_shows_the_default_database_in_the_data_dir(tmp_path: Path) -> None:
    """Without LIVEBLOG_DATABASE_URL, the SQLite file in the data dir is what is in effect."""
    result = cli(tmp_path, "config", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["LIVEBLOG_DATABASE_URL"] == {
        "value": f"sqlite+aiosqlite:///{(tmp_path / 'liveblog.db').resolve()}",
        "source": "default",
    }


def test_version(tmp_path: Path) -> None:
    """`liveblog --version` prints the package's version."""
    result = cli(tmp_path, "--version")
    assert (result.returncode, result.stdout) == (0, f"liveblog {__version__}\n")


def test_the_docs_list_every_setting() -> None:
    """docs/operations.md's configuration table has one row per Settings field, no more, no
    fewer."""
    operations = (ROOT / "docs" / "operations.md").read_text()
    section = operations.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(LIVEBLOG_\w+)` \|", section, re.MULTILINE)
    assert len(rows) == len(set(rows)), "a setting has two rows"
    fields = {env_name(field) for field in Settings.model_fields}
    missing, stale = sorted(fields - set(rows)), sorted(set(rows) - fields)
    assert not missing, f"add a row to docs/operations.md's configuration table for {missing}"
    assert not stale, f"docs/operations.md's configuration table lists unknown settings {stale}"
