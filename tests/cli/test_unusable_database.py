"""A database the commands cannot open (nothing listening, a role or a database that does not
exist, a data directory that cannot be made or written): one line on stderr naming the setting
to fix and the cause, exit code 2, no traceback, and nothing done."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.harness import cli, free_port

# The commands that open the database first thing: the server, the migration, and one of each
# kind of data command (cli/storage.py: `held`, `upgrade`, `on_database`).
COMMANDS = [
    ("serve",),
    ("migrate",),
    ("token", "list"),
    ("user", "create", "newcomer", "--role", "editor", "--password-stdin"),
    ("export", "summit"),
]
NOT_SQLITE_COMMANDS = [("backup", "copy.db")]  # SQLite's own: a data directory, or nothing


def assert_one_line(result_stderr: str, returncode: int, line: str) -> None:
    assert (returncode, result_stderr) == (2, f"error: {line}\n"), result_stderr
    assert "Traceback" not in result_stderr


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_nothing_listening_is_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    """PostgreSQL that is not running (nothing listens at the URL's port): "cannot connect …
    (connection refused)", naming LIVEBLOG_DATABASE_URL."""
    port = free_port()  # bound and let go: nothing listens there
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/liveblog"
    result = cli(tmp_path, *command, env={"LIVEBLOG_DATABASE_URL": url})
    line = f"LIVEBLOG_DATABASE_URL: cannot connect to 127.0.0.1:{port} (connection refused)"
    assert_one_line(result.stderr, result.returncode, line)
    assert result.stdout == ""


@pytest.mark.parametrize("command", [("serve",), ("token", "list")], ids=" ".join)
def test_a_role_that_does_not_exist_is_one_line(
    tmp_path: Path, postgres_admin_url: str, command: tuple[str, ...]
) -> None:
    """Wrong credentials (a role PostgreSQL does not have): the server's own reason, one line,
    without the password."""
    role = f"nobody_{uuid.uuid4().hex[:8]}"
    url = make_url(postgres_admin_url).set(username=role, password="hunter2")
    where = f"{url.host}:{url.port or 5432}"
    result = cli(tmp_path, *command, env={"LIVEBLOG_DATABASE_URL": url.render_as_string(False)})
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: LIVEBLOG_DATABASE_URL: cannot connect to {where} (")
    assert result.stderr.count("\n") == 1 and role in result.stderr
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr


@pytest.mark.parametrize("command", [("migrate",), ("user", "list")], ids=" ".join)
def test_a_database_that_does_not_exist_is_one_line(
    tmp_path: Path, postgres_admin_url: str, command: tuple[str, ...]
) -> None:
    """A database name PostgreSQL does not have: one line naming it; nothing is created."""
    name = f"nosuchdb_{uuid.uuid4().hex[:8]}"
    url = make_url(postgres_admin_url).set(database=name)
    where = f"{url.host}:{url.port or 5432}"
    result = cli(tmp_path, *command, env={"LIVEBLOG_DATABASE_URL": url.render_as_string(False)})
    line = f'LIVEBLOG_DATABASE_URL: cannot connect to {where} (database "{name}" does not exist)'
    assert_one_line(result.stderr, result.returncode, line)


@pytest.mark.parametrize("command", COMMANDS + NOT_SQLITE_COMMANDS, ids=" ".join)
def test_a_data_dir_under_a_file_is_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    """LIVEBLOG_DATA_DIR that cannot be created, a file being in the way: one line naming the
    variable, the directory and the file."""
    in_the_way = tmp_path / "notes.txt"
    in_the_way.write_text("not a directory")
    data_dir = in_the_way / "liveblog"
    result = cli(data_dir, *command, env={"LIVEBLOG_DATA_DIR": str(data_dir)})
    line = f"LIVEBLOG_DATA_DIR: cannot create directory {data_dir} ({in_the_way} is a file)"
    assert_one_line(result.stderr, result.returncode, line)
    assert in_the_way.read_text() == "not a directory"


def test_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    """LIVEBLOG_DATA_DIR naming a file: one line saying so."""
    data_dir = tmp_path / "data"
    data_dir.write_text("")
    result = cli(data_dir, "serve")
    line = f"LIVEBLOG_DATA_DIR: {data_dir} is a file, not a directory"
    assert_one_line(result.stderr, result.returncode, line)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any directory")
@pytest.mark.parametrize("command", [("serve",), ("backup", "copy.db")], ids=" ".join)
def test_a_data_dir_not_writable_is_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    """LIVEBLOG_DATA_DIR that exists but may not be written in: one line saying so."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o555)
    try:
        result = cli(data_dir, *command)
    finally:
        data_dir.chmod(0o755)
    line = f"LIVEBLOG_DATA_DIR: cannot write in {data_dir} (permission denied)"
    assert_one_line(result.stderr, result.returncode, line)


def test_a_file_in_the_data_dir_that_is_no_database_is_one_line(tmp_path: Path) -> None:
    """A liveblog.db that is not a SQLite database (something else copied over it): one line
    naming the file; the file is left as it was."""
    database = tmp_path / "liveblog.db"
    database.write_bytes(b"these notes are not a database, whatever their name says\n" * 4)
    result = cli(tmp_path, "migrate")
    assert result.returncode == 2, result.stderr
    # Alembic has said what it was about to do (its lines at info, as on every migration).
    assert result.stderr.splitlines()[-1] == (
        f"error: LIVEBLOG_DATA_DIR: cannot open {database} (file is not a database)"
    )
    assert "Traceback" not in result.stderr
    assert database.read_bytes().startswith(b"these notes")


def test_an_explicit_sqlite_url_is_named_as_such(tmp_path: Path) -> None:
    """A SQLite file chosen by LIVEBLOG_DATABASE_URL: the message names that variable."""
    in_the_way = tmp_path / "notes.txt"
    in_the_way.write_text("")
    url = f"sqlite+aiosqlite:///{in_the_way}/liveblog.db"
    result = cli(tmp_path, "migrate", env={"LIVEBLOG_DATABASE_URL": url})
    line = f"LIVEBLOG_DATABASE_URL: {in_the_way} is a file, not a directory"
    assert_one_line(result.stderr, result.returncode, line)


def test_copy_names_the_target_it_cannot_open(tmp_path: Path) -> None:
    """`liveblog copy --to URL` whose target is not listening: the line names --to."""
    port = free_port()
    target = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/liveblog"
    result = cli(tmp_path, "copy", "--to", target)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"error: --to: cannot connect to 127.0.0.1:{port} (connection refused)"
    )
    assert "Traceback" not in result.stderr
