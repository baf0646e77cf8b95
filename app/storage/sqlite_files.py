"""The embedded database as files: an online backup, a restore, and the lock that says whether
anything has the database open.

- `backup()` copies the database with SQLite's online backup API in one step: one read
  transaction, so the copy is one committed state, while the server goes on writing (WAL lets
  writers commit beside a reader). The copy is written to a temporary file beside the target,
  made self-contained (no -wal), fsynced, and renamed over the target, so a crash never leaves
  a half-written backup under the backup's name.
- `restore()` replaces the database by a backup. The backup is copied beside the database and
  made ready there (migrated, new epochs: the caller's `prepare`); the old file's WAL is
  checkpointed into it and the file kept under a second name, so nothing committed is thrown
  away unasked; the stale -wal and -shm are removed (SQLite would otherwise replay the old
  database's WAL onto the new one) and one rename puts the restored copy in place. A failure at
  any step before that rename leaves the database as it was.
- `in_use()` is held, shared, by every process that opens the database (the server and every
  data command); `restore()` takes it exclusively, so it refuses while anything else has the
  database open, and `import` looks whether it could (`check_unused()`), so it refuses while a
  server runs. It is an advisory `flock` on `<database>.lock`: released by the kernel when a
  process dies, SIGKILL included, so a crash never leaves a restore locked out.

Sequence numbers in a restored database go back in time: the caller gives every liveblog a new
epoch afterwards (services/epochs.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.storage.db import SQLITE_BUSY_TIMEOUT_MS, sqlite_file


class NotSqlite(Exception):
    """The command needs the embedded database; this install uses another."""


class InUse(Exception):
    """Another process has the database open (or is restoring it)."""


class NotABackup(Exception):
    """The file given is not a Liveblog database."""


@dataclass(frozen=True, slots=True)
class Summary:
    """What a database file holds, for the commands to report."""

    path: Path
    schema: str  # the Alembic revision it is at
    liveblogs: int
    entries: int
    bytes: int


@dataclass(frozen=True, slots=True)
class Restored:
    restored: Summary
    replaced: Path | None  # where the database it replaced was kept (None: there was none)


def database_path(url: str) -> Path:
    """The file of a SQLite URL. Raises NotSqlite for another database or an in-memory one."""
    path = sqlite_file(url)
    if path is None:
        raise NotSqlite(url)
    return path


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextlib.contextmanager
def in_use(url: str, *, exclusive: bool = False) -> Iterator[None]:
    """Mark the database as open by this process for the block (see the module's docstring).

    Raises InUse at once, without waiting: shared, while a restore runs; exclusive, while any
    other process has the database open. A database that is not a SQLite file has no such lock.
    """
    database = sqlite_file(url)
    if database is None:
        # Not under `except NotSqlite`: whatever the block raises would be reported as raised
        # while handling it.
        yield
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InUse(
                f"{database} is in use by another process (a running server or command)"
                if exclusive
                else f"{database} is being restored by another process"
            ) from None
        yield
    finally:
        os.close(fd)  # releases the lock


def check_unused(url: str) -> None:
    """Raise InUse if another process has the database open now (a server, a command): for a
    command about to hold SQLite's write lock longer than a server's writes wait for it
    (storage/db.py: WRITE_WAIT_SECONDS). Only a look: nothing is held afterwards, so a server
    started meanwhile still starts (its writes then wait, and answer 503 past their wait)."""
    with in_use(url, exclusive=True):
        pass


def summarize(path: Path) -> Summary:
    """Check that `path` is a sound Liveblog database and count what it holds.

    Raises NotABackup otherwise; the file is only read.
    """
    if not path.is_file():
        raise NotABackup(f"{path} is not a file")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise NotABackup(f"{path} cannot be opened: {error}") from None
    try:
        check = connection.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise NotABackup(f"{path} is damaged: {check}")
        schema = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        liveblogs = connection.execute("SELECT count(*) FROM liveblogs").fetchone()[0]
        entries = connection.execute("SELECT count(*) FROM entries").fetchone()[0]
    except sqlite3.DatabaseError as error:
        # Not a database at all ("file is not a database"), or not one of ours.
        raise NotABackup(f"{path} is not a Liveblog database: {error}") from None
    finally:
        connection.close()
    if schema is None:
        raise NotABackup(f"{path} is not a Liveblog database: it has no schema version")
    return Summary(path, schema[0], liveblogs, entries, path.stat().st_size)


def backup(url: str, target: Path) -> Summary:
    """Write a consistent copy of the database to `target` while it stays in use."""
    database = database_path(url)
    if not database.exists():
        raise NotABackup(f"there is no database at {database} to back up")
    if target.exists() and target.resolve() == database.resolve():
        raise ValueError(f"{target} is the database itself")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"there is no directory {target.parent} to write {target.name} in")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    source = sqlite3.connect(database)
    try:
        source.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        destination = sqlite3.connect(partial)
        try:
            source.backup(destination)  # pages=-1: every page in one step, one snapshot
            # The copy inherits WAL mode; a backup is one self-contained file instead.
            destination.execute("PRAGMA journal_mode=DELETE")
        finally:
            destination.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    _fsync(partial)
    partial.replace(target)
    _fsync(target.parent)
    return summarize(target)


def restore(url: str, source: Path, prepare: Callable[[str], None]) -> Restored:
    """Replace the database by the backup at `source`. Call it holding `in_use(url,
    exclusive=True)`.

    `prepare(url)` readies the copy before it takes the database's place: the caller migrates
    it and gives its liveblogs new epochs there, so the database is only ever the old one or
    the restored one, ready. Raises NotABackup (and whatever `prepare` raises) leaving the
    database as it was.
    """
    from app.storage import migrate

    database = database_path(url)
    summary = summarize(source)
    if database.exists() and source.resolve() == database.resolve():
        raise NotABackup(f"{source} is the database itself")
    if not migrate.known(summary.schema):
        raise NotABackup(
            f"{source} is at schema {summary.schema}, which this version of Liveblog does "
            "not know: it was made by a newer one; restore it with that version"
        )
    database.parent.mkdir(parents=True, exist_ok=True)
    incoming = database.with_name(f".{database.name}.restoring-{os.getpid()}")
    try:
        _copy(source, incoming)
        prepare(f"sqlite+aiosqlite:///{incoming}")
        _self_contained(incoming)
        replaced = _keep_aside(database) if database.exists() else None
    except BaseException:
        for leftover in _with_sidecars(incoming):
            leftover.unlink(missing_ok=True)
        raise
    # The old WAL was folded into the kept file and names the old database's pages: SQLite
    # would replay it onto the restored one.
    for stale in _with_sidecars(database)[1:]:
        stale.unlink(missing_ok=True)
    incoming.replace(database)  # atomic: the path names the old file or the new, never none
    _fsync(database.parent)
    return Restored(
        Summary(database, summary.schema, summary.liveblogs, summary.entries, summary.bytes),
        replaced,
    )


def _with_sidecars(database: Path) -> list[Path]:
    return [database, *(database.with_name(database.name + end) for end in ("-wal", "-shm"))]


def _keep_aside(database: Path) -> Path:
    """Fold the database's WAL into its file and give that file a second name to keep it by;
    the database itself stays in place until the restored copy replaces it."""
    connection = sqlite3.connect(database)
    try:
        connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        connection.close()
    if busy:
        raise InUse(f"{database} is in use: its WAL could not be checkpointed")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = database.with_name(f"{database.name}.replaced-{stamp}")
    number = 1
    while kept.exists():
        number += 1
        kept = database.with_name(f"{database.name}.replaced-{stamp}-{number}")
    os.link(database, kept)
    _fsync(database.parent)
    return kept


def _self_contained(database: Path) -> None:
    """Leave `database` as one file (rollback journal, no WAL), fsynced: ready to be renamed."""
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        connection.close()
    _fsync(database)


def _copy(source: Path, target: Path) -> None:
    """Copy a database file through SQLite (so a backup still in WAL mode comes whole), as a
    self-contained file, fsynced."""
    reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        writer = sqlite3.connect(target)
        try:
            reader.backup(writer)
            writer.execute("PRAGMA journal_mode=DELETE")
        finally:
            writer.close()
    finally:
        reader.close()
    _fsync(target)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
