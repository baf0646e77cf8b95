"""Moving data between databases: a whole install (`liveblog copy`).

A copy reads the source in one snapshot, refuses before writing anything if the target cannot
store a value or holds rows of another install, upserts every table by primary key (so running
it again completes an interrupted copy), moves the target's id sequences past the copied ids,
then compares row counts and a checksum of every liveblog (its JSON and its entries', as
readers get them) on both sides. Only then do the target's liveblogs get new epochs: readers
that followed the source resync once against the target instead of trusting their seqs.

Writes to the source must be stopped meanwhile; the copy does not lock them out (a server may
be reading), but it notices a source that changed after its snapshot (any table but keys and
sessions, which change by themselves) and says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.model import MAX_ID
from app.services.epochs import rotate_epochs
from app.storage import copying, entries as entry_rows, liveblogs as liveblog_rows
from app.storage.copying import ForeignTarget
from app.storage.db import Database


class NotCopied(Exception):
    """The copy was refused or did not verify; `problems` says what, one line each."""

    def __init__(self, summary: str, problems: list[str]) -> None:
        super().__init__(summary)
        self.summary = summary
        self.problems = problems


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)  # table → rows copied
    liveblogs: int = 0  # liveblogs whose checksums matched
    epochs: dict[str, str] = field(default_factory=dict)  # slug → its new epoch in the target
    source_moved: list[str] = field(default_factory=list)  # tables written during the copy


async def copy_database(
    source: Database, target: Database, say: Callable[[str], None] = lambda _: None
) -> CopyReport:
    """Copy everything from `source` into the migrated `target` (empty, or an earlier copy).

    Raises:
        NotCopied: a value the target cannot store (nothing written), a target holding other
            data (nothing written), or a copy that does not match its source.
    """
    report = CopyReport()
    async with source.snapshot() as read:
        if not target.is_sqlite:
            problems = await copying.unstorable(read)
            if problems:
                raise NotCopied(
                    f"{len(problems)} values cannot be stored in the target; nothing was "
                    "written. Fix them in the source first:",
                    [str(problem) for problem in problems[:50]],
                )
        async with target.engine.connect() as existing:
            try:
                await copying.check_target(read, existing)
            except ForeignTarget as error:
                raise NotCopied(f"{error}; nothing was written", []) from None
        digests = {}
        for table in copying.tables():
            copied = await copying.copy_table(read, target, table)
            report.rows[table.name], digests[table.name] = copied.rows, copied.digest
            say(f"{table.name}: {copied.rows} rows")
        async with target.write() as conn:
            await copying.reset_sequences(conn)
        mismatches = await _compare(read, target, report)
    if mismatches:
        raise NotCopied("the copy does not match its source:", mismatches)
    async with source.snapshot() as now:
        for table in copying.tables():
            if table.name in copying.EPHEMERAL:
                continue
            if await copying.digest(now, table) != digests[table.name]:
                report.source_moved.append(table.name)
    report.epochs = await rotate_epochs(target)
    return report


async def _compare(read: AsyncConnection, target: Database, report: CopyReport) -> list[str]:
    mismatches = []
    async with target.snapshot() as written:
        for table in copying.tables():
            ours, theirs = await copying.count(read, table), await copying.count(written, table)
            if ours != theirs:
                mismatches.append(f"{table.name}: {ours} rows here, {theirs} in the target")
        ours_sums, theirs_sums = await checksums(read), await checksums(written)
    for slug, checksum in ours_sums.items():
        if theirs_sums.get(slug) != checksum:
            mismatches.append(f"liveblog {slug!r}: its checksum differs in the target")
    report.liveblogs = len(ours_sums) - len(mismatches)
    return mismatches


async def checksums(conn: AsyncConnection) -> dict[str, str]:
    """slug → SHA-256 of the liveblog's JSON and all its entries' (tombstones and the
    console's Markdown included), in seq order."""
    sums = {}
    for liveblog in await liveblog_rows.list_all(conn):
        entries = await entry_rows.changed_after(conn, liveblog.id, 0, MAX_ID)
        document = [liveblog.as_json(), [[e.as_json(), e.source] for e in entries]]
        sums[liveblog.slug] = hashlib.sha256(orjson.dumps(document)).hexdigest()
    return sums
