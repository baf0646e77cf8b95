"""A LIVEBLOG_* variable that names no setting (a misspelling) would be ignored, its default
silently used instead: every command warns at start in one line naming the closest setting,
and `liveblog config` lists it. The test suite's and the benchmarks' own variables are no
mistakes and are never named."""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from difflib import SequenceMatcher
from pathlib import Path

from hypothesis import given, strategies as st

from app.settings import COPY_TO, Settings, env_name, unknown_variables
from tests.entry_bodies import examples
from tests.harness import LiveServer, cli

WARNING = (
    "warning: LIVEBLOG_DATABSE_URL is not a Liveblog setting; did you mean LIVEBLOG_DATABASE_URL?"
)
SETTINGS = [env_name(field) for field in Settings.model_fields]
KNOWN = {*SETTINGS, COPY_TO}  # what a warning may suggest


def test_a_misspelled_variable_is_a_warning_naming_the_setting(tmp_path: Path) -> None:
    """LIVEBLOG_DATABSE_URL: a warning at start naming LIVEBLOG_DATABASE_URL; the command still
    runs, with the default in effect (the SQLite file in the data dir)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'meant.db'}"
    result = cli(tmp_path, "migrate", env={"LIVEBLOG_DATABSE_URL": url})
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == WARNING
    assert "Traceback" not in result.stderr
    assert (tmp_path / "liveblog.db").exists() and not (tmp_path / "meant.db").exists()


def test_serve_warns_at_start(isolated_server: Callable[..., LiveServer]) -> None:
    """`liveblog serve` with a misspelled variable: the warning is the first line it writes,
    then it serves with the default."""
    server = isolated_server(process=True, databse_url="postgresql+asyncpg://u:secret@h/db")
    assert server.log().splitlines()[0] == WARNING
    assert "secret" not in server.log()


def test_config_lists_unknown_variables_without_their_values(tmp_path: Path) -> None:
    """`liveblog config` lists every setting, then each unknown variable with the setting it
    may have meant, never its value (it may be a secret under a misspelled name)."""
    env = {
        "LIVEBLOG_DATABSE_URL": "postgresql+asyncpg://u:secret@h/db",
        "LIVEBLOG_NONSENSE_XYZZY": "secret",
    }
    result = cli(tmp_path, "config", env=env)
    assert result.returncode == 0, result.stderr
    rows = [line.split(maxsplit=2) for line in result.stdout.splitlines()]
    assert [name for name, _, _ in rows] == [*SETTINGS, *sorted(env)]
    assert rows[-2:] == [
        [
            "LIVEBLOG_DATABSE_URL",
            "unknown",
            "not a setting; did you mean LIVEBLOG_DATABASE_URL?",
        ],
        ["LIVEBLOG_NONSENSE_XYZZY", "unknown", "not a setting"],
    ]
    assert "secret" not in result.stdout + result.stderr

    as_json = cli(tmp_path, "config", "--json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    shown = json.loads(as_json.stdout)
    assert shown["LIVEBLOG_DATABSE_URL"] == {
        "source": "unknown",
        "did_you_mean": "LIVEBLOG_DATABASE_URL",
    }
    assert shown["LIVEBLOG_NONSENSE_XYZZY"] == {"source": "unknown", "did_you_mean": None}
    assert "secret" not in as_json.stdout


def test_the_test_suites_and_commands_own_variables_are_not_named(tmp_path: Path) -> None:
    """LIVEBLOG_TEST_*, LIVEBLOG_BENCH_* and LIVEBLOG_COPY_TO (`liveblog copy`'s) are not
    settings, and not mistakes: no warning, no row in `config`."""
    env = {
        "LIVEBLOG_TEST_POSTGRES_URL": "postgresql+asyncpg://u@h/db",
        "LIVEBLOG_BENCH_READERS": "100",
        COPY_TO: "sqlite+aiosqlite:///copy.db",
    }
    result = cli(tmp_path, "config", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert [line.split()[0] for line in result.stdout.splitlines()] == SETTINGS


settings_in_any_case = st.sampled_from(SETTINGS).flatmap(
    lambda name: st.lists(st.booleans(), min_size=len(name), max_size=len(name)).map(
        lambda upper: "".join(
            c.upper() if up else c.lower() for c, up in zip(name, upper, strict=True)
        )
    )
)
suffixes = st.text(alphabet=string.ascii_uppercase + string.digits + "_", min_size=1, max_size=30)


@examples(200)
@given(setting=settings_in_any_case, other=suffixes)
def test_only_names_that_are_no_setting_are_flagged(setting: str, other: str) -> None:
    """A setting in any case is never flagged (Settings reads names in any case); any other
    LIVEBLOG_* name is, and what it suggests is a known variable."""
    name = f"LIVEBLOG_{other}"
    found = unknown_variables({setting: "1", name: "1", "PATH": "/bin"})
    not_a_mistake = name.startswith(("LIVEBLOG_TEST_", "LIVEBLOG_BENCH_")) or name == COPY_TO
    if name in SETTINGS or not_a_mistake:
        assert found == []
    else:
        assert [unknown.name for unknown in found] == [name]
        assert found[0].closest is None or found[0].closest in KNOWN


@st.composite
def one_slip(draw: st.DrawFn) -> tuple[str, str]:
    """A setting, and its name with one character left out, doubled, changed or swapped with
    the next: a typing slip."""
    setting = draw(st.sampled_from(SETTINGS))
    rest = setting.removeprefix("LIVEBLOG_")
    at = draw(st.integers(0, len(rest) - 2))
    slip = draw(st.sampled_from(["drop", "double", "change", "swap"]))
    if slip == "drop":
        typed = rest[:at] + rest[at + 1 :]
    elif slip == "double":
        typed = rest[:at] + rest[at] + rest[at:]
    elif slip == "change":
        typed = rest[:at] + draw(st.sampled_from(string.ascii_uppercase)) + rest[at + 1 :]
    else:
        typed = rest[:at] + rest[at + 1] + rest[at] + rest[at + 2 :]
    return setting, f"LIVEBLOG_{typed}"


@examples(300)
@given(slip=one_slip())
def test_a_slip_of_one_character_gets_a_suggestion(slip: tuple[str, str]) -> None:
    """One character left out, doubled, changed or swapped: the warning suggests a setting,
    the meant one or one as close."""
    setting, typed = slip
    found = unknown_variables({typed: "1"})
    if typed in KNOWN:
        assert found == []
        return
    [unknown] = found
    assert unknown.closest in KNOWN
    assert str(unknown) == f"{typed} is not a Liveblog setting; did you mean {unknown.closest}?"

    def likeness(name: str) -> float:  # as difflib.get_close_matches measures it
        prefix = "LIVEBLOG_"
        return SequenceMatcher(None, name.removeprefix(prefix), typed.removeprefix(prefix)).ratio()

    assert likeness(unknown.closest) >= likeness(setting)
