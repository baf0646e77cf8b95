"""What the commands that work on data share: the database opened, held and migrated for the
length of one call, or one line saying why it cannot be.

Opening is where a newcomer's mistakes show (nothing listening at the URL's address, a role or a
database that does not exist, a data directory that cannot be made or written), and the driver
reports each as a chain of tracebacks. `held()` and `upgrade()` raise `CannotOpen` instead, whose
message names the setting to fix and the cause: "LIVEBLOG_DATABASE_URL: cannot connect to
127.0.0.1:1 (connection refused)". Any other failure is left as it is: it is not the user's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from app.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.exc import DBAPIError

    from app.storage.db import Database

T = TypeVar("T")

# PostgreSQL's answers that mean "you may not open this database" rather than a failure of the
# work itself (SQLSTATE classes and codes, PostgreSQL's "Errcodes" appendix): 08 connection
# exception, 28 invalid authorization (no such role, a wrong password), 3D000 no such database,
# 53300 too many connections, 57P03 not accepting connections yet (starting or recovering).
_CANNOT_OPEN_CLASSES = ("08", "28")
_CANNOT_OPEN_STATES = {"3D000", "53300", "57P03"}
# SQLite's primary result codes that mean the file cannot be used: PERM, READONLY, CANTOPEN,
# NOTADB (a file that is not a SQLite database).
_SQLITE_CANNOT_OPEN = {3, 8, 14, 26}


class CannotOpen(Exception):
    """The database cannot be opened. The message is one line: the setting, then the cause."""


def on_database(settings: Settings, use: Callable[[Database], Awaitable[T]]) -> T:
    """Migrate the database, then run `use` against it and return what it returns.

    The database is marked in use meanwhile (`liveblog restore` refuses). Raises CannotOpen
    (see `held()` and `upgrade()`), and sqlite_files.InUse while a restore runs.
    """
    from app.storage.db import Database

    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep the output to the point

    async def run() -> T:
        db = Database(settings.database_url)
        try:
            return await use(db)
        finally:
            await db.dispose()

    with held(settings.database_url, settings.database_setting):
        upgrade(settings.database_url, settings.database_setting)
        return asyncio.run(run())


@contextlib.contextmanager
def held(url: str, setting: str, *, exclusive: bool = False) -> Iterator[None]:
    """The database at `url` marked in use for the block (sqlite_files.in_use); a SQLite
    file's directory is made first if it is missing.

    Raises:
        CannotOpen: the directory cannot be made or written in; `setting` names the variable
            (or flag) that chose `url`.
        sqlite_files.InUse: as `in_use` does.
    """
    from app.storage.db import sqlite_file
    from app.storage.sqlite_files import in_use

    with contextlib.ExitStack() as holding:
        path = sqlite_file(url)
        problem = _directory_problem(path.parent) if path is not None else None
        if problem is not None:
            raise CannotOpen(f"{setting}: {problem}")
        try:
            holding.enter_context(in_use(url, exclusive=exclusive))
        except OSError as error:
            raise CannotOpen(
                f"{setting}: cannot use {error.filename or path} ({_reason(error)})"
            ) from None
        yield


def upgrade(url: str, setting: str) -> None:
    """Bring the database at `url` to the latest schema (the first thing each command does
    with it, so the first to meet a database that cannot be opened).

    Raises CannotOpen when it cannot be reached or opened, `setting` naming the variable (or
    flag) that chose `url`; any other failure as it is.
    """
    from sqlalchemy.exc import DBAPIError

    from app.storage import migrate

    try:
        migrate.upgrade(url)
    except (OSError, DBAPIError) as error:
        cause = _cannot_open(url, error)
        if cause is None:
            raise
        raise CannotOpen(f"{setting}: {cause}") from None


def _directory_problem(directory: Path) -> str | None:
    """Why `directory` cannot hold the database, in words, after making it if it is missing;
    None if it can. (The OSError alone would say "File exists" for a file in the way.)"""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        in_the_way = next(
            (place for place in (directory, *directory.parents) if place.is_file()), None
        )
        if in_the_way == directory:
            return f"{directory} is a file, not a directory"
        why = f"{in_the_way} is a file" if in_the_way is not None else _reason(error)
        return f"cannot create directory {directory} ({why})"
    # SQLite adds files beside the database (its journal, our lock): the directory must take
    # them. (Root may write anywhere, and os.access says so.)
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"cannot write in {directory} (permission denied)"
    return None


def _cannot_open(url: str, error: OSError | DBAPIError) -> str | None:
    """Why the database at `url` cannot be opened, if that is what `error` means; else None."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    parsed = make_url(url)
    cause = error.orig if isinstance(error, DBAPIError) else error
    if parsed.get_backend_name() == "sqlite":
        code = getattr(cause, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in _SQLITE_CANNOT_OPEN:
            return f"cannot open {parsed.database} ({_first_line(cause)})"
        return None
    where = f"{parsed.host}:{parsed.port or 5432}" if parsed.host else "the local PostgreSQL"
    if isinstance(error, OSError):  # refused, no such host, timed out: before any answer
        return f"cannot connect to {where} ({_reason(error)})"
    state = getattr(cause, "sqlstate", None) or ""
    if state.startswith(_CANNOT_OPEN_CLASSES) or state in _CANNOT_OPEN_STATES:
        return f"cannot connect to {where} ({_first_line(cause)})"
    return None


def _reason(error: OSError) -> str:
    """An OSError's cause in words: "connection refused", "permission denied"."""
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, socket.gaierror) and error.strerror:  # a name lookup's own words
        words = error.strerror
    elif isinstance(error.errno, int) and error.errno > 0:
        # Not `strerror`: asyncio gives a refused connection its own ("Connect call failed").
        words = os.strerror(error.errno)
    else:
        words = _first_line(error)
    return words[:1].lower() + words[1:]


def _first_line(error: BaseException | None) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
