"""What a SQLite data directory last served: each liveblog's epoch and highest seq in it.

Kept in a small JSON file beside the database, `served-heads.<database file>.json`, not in the
database: the database is what may be replaced under the server (a file copied over it while it
was stopped), and the record must outlive that. `liveblog serve` reads it at start and gives a
new epoch to every liveblog stored older than it was served (services/epochs.py,
`rotate_where_gone_back`), then keeps it current while it runs (`kept`): one read of the
liveblogs table at start, every RECORD_EVERY seconds and at shutdown, the file rewritten only
when a head moved. Never a write per event, and nothing on the serving processes' hot path: the
`serve` process itself records, beside its workers.

Its limits (docs/operations.md, "Backups and restore"): a server killed without its shutdown
(SIGKILL, a
power cut) leaves the record up to RECORD_EVERY seconds behind, so a database older by only the
changes of those seconds is not noticed; nor is one copied back together with its record. There
is no record for PostgreSQL: no file beside it, and many processes on many machines serve it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from app.domain.model import iso_utc, utcnow
from app.domain.resume import Served
from app.storage.db import SQLITE_BUSY_TIMEOUT_MS, sqlite_file

log = logging.getLogger(__name__)

# Seconds between two reads of the heads while serving: what a SIGKILL may leave unrecorded.
RECORD_EVERY = 5.0


class Unreadable(Exception):
    pass


def record_path(url: str) -> Path | None:
    """Where the record of a SQLite database lives; None for PostgreSQL or an in-memory one."""
    database = sqlite_file(url)
    if database is None:
        return None
    return database.with_name(f"served-heads.{database.name}.json")


def load(path: Path) -> dict[str, Served]:
    """slug → what was served of it; empty if nothing was recorded yet. Raises Unreadable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise Unreadable(f"{path}: {error}") from None
    try:
        return {
            slug: Served(str(one["epoch"]), int(one["seq"]), datetime.fromisoformat(one["since"]))
            for slug, one in document["liveblogs"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise Unreadable(f"{path}: not a record of served heads ({error!r})") from None


def save(path: Path, served: dict[str, Served]) -> None:
    """Replace the record in one rename, so a crash leaves the old one or the new one."""
    document: dict[str, Any] = {
        "liveblogs": {
            slug: {"epoch": one.epoch, "seq": one.seq, "since": iso_utc(one.since)}
            for slug, one in sorted(served.items())
        }
    }
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as file:
        json.dump(document, file, indent=1)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def stored_heads(database: Path) -> dict[str, tuple[str, int]]:
    """slug → (epoch, head seq) as the database holds them now: one read, no write lock."""
    connection = sqlite3.connect(
        f"{database.resolve().as_uri()}?mode=rw", uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
    )
    try:
        rows = connection.execute("SELECT slug, epoch, head_seq FROM liveblogs").fetchall()
    finally:
        connection.close()
    return {slug: (epoch, head) for slug, epoch, head in rows}


def merged(
    served: dict[str, Served], heads: dict[str, tuple[str, int]], now: datetime
) -> dict[str, Served]:
    """The record after seeing `heads`: the highest seq of each epoch, a new epoch from `now`.
    A liveblog no longer stored keeps its entry (its readers still hold its seqs)."""
    record = dict(served)
    for slug, (epoch, head) in heads.items():
        before = served.get(slug)
        if before is not None and before.epoch == epoch:
            if head > before.seq:
                record[slug] = Served(epoch, head, before.since)
        else:
            record[slug] = Served(epoch, head, now)
    return record


class Recorder:
    """Brings the record at `path` up to the database's heads; only the file's writer."""

    def __init__(self, path: Path, database: Path, served: dict[str, Served]) -> None:
        self._path = path
        self._database = database
        self._served = served
        self._failing = False

    def record(self) -> None:
        try:
            served = merged(self._served, stored_heads(self._database), utcnow())
            if served != self._served:
                save(self._path, served)
                self._served = served
        except (OSError, sqlite3.Error) as error:
            if not self._failing:  # once per run of failures, not every few seconds
                log.warning("could not record the heads served in %s: %s", self._path, error)
            self._failing = True
        else:
            self._failing = False


@contextlib.contextmanager
def kept(path: Path, database: Path, served: dict[str, Served]) -> Iterator[None]:
    """Record the heads now, every RECORD_EVERY seconds in a thread of this process, and once
    more when the block ends (a server's orderly shutdown)."""
    recorder = Recorder(path, database, served)
    recorder.record()
    stop = threading.Event()

    def every_few_seconds() -> None:
        while not stop.wait(RECORD_EVERY):
            recorder.record()

    thread = threading.Thread(target=every_few_seconds, name="served heads", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        recorder.record()
