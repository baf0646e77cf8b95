"""Keeping the media store and the rows that name its files in step as data ages and moves.

`prune()` (`liveblog media prune --older-than 30d`) removes the media nothing uses any more:
- Used means a file of the media is named in an entry's body or Markdown (a deleted entry's
  too), a draft's body or Markdown, or any revision's changes. An entry's history shows the
  bodies it had, photos included, for as long as it is kept: until the entry is purged (a
  legal takedown erases its revisions; then its photos can go too). A name is found by its
  hash and extension anywhere in the text, whatever URL it was written under
  (domain/media.py: `MediaUrls.names_in`).
- Only media created more than the age ago goes: the console uploads a photo while the
  journalist is still writing the body that will show it, before anything is saved.
- The scan reads the whole database in one snapshot, outside the write lock: on a large
  database it takes a while, and the server keeps writing meanwhile. The transaction that then
  deletes the rows scans again what was written since the snapshot, so a photo put in an entry
  or a draft meanwhile stays.
- Files go after their rows (a row never names a missing file): those no remaining row names
  and that were written more than the age ago. The same rule finds the files a crash left
  between storing an upload's files and its row (services/media.py): "stray" files. Only
  files named as ours are (domain/media.py: NAME) are touched, so a bucket prefix shared with
  anything else keeps its other objects.

`copy_missing()` copies what one store holds and another lacks: `liveblog backup` into a
directory beside the backup, `liveblog restore` back into the store. A file is named by the hash
of its bytes and never changes, so a file already there under that name is that file.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from app.domain.media import NAME, Media, MediaUrls
from app.domain.model import utcnow
from app.storage import media as rows
from app.storage.db import Database
from app.storage.objects import MediaStore, StoredFile

# Ids a PostgreSQL transaction took just before the snapshot may be committed just after it,
# below the highest id the snapshot saw: the second scan reaches this far below it. Far more
# than all the rows the transactions in flight at one moment write.
ID_SLACK = 10_000
# A draft's time comes from the clock of the server that saved it: the second scan reaches
# this far before the snapshot's.
CLOCK_SLACK = timedelta(minutes=5)
# Files copied at once: enough to hide a bucket's round trips, few enough for a small host.
COPIES_AT_ONCE = 8


@dataclass(frozen=True, slots=True)
class PrunedMedia:
    media: Media
    files: tuple[StoredFile, ...]  # those that left the store (a file kept media shares stays)


@dataclass(frozen=True, slots=True)
class Pruned:
    media: tuple[PrunedMedia, ...]
    stray: tuple[StoredFile, ...]  # files no media row names, older than the age
    in_use: int  # media kept because something uses it
    recent: int  # media nothing uses yet, kept for being newer than the age
    dry_run: bool  # nothing was removed: this is what would have been


@dataclass(frozen=True, slots=True)
class Copied:
    files: int  # the source's files, all of which the target now has
    copied: int  # of them, those the target lacked
    bytes: int  # their size


async def prune(
    db: Database, store: MediaStore, *, older_than: timedelta, dry_run: bool = False
) -> Pruned:
    """Remove the media no entry, draft or revision uses and that is older than `older_than`:
    its rows, then the files no remaining row names (and stray files of that age). With
    `dry_run`, remove nothing and say what would go.

    Raises MediaStoreError (the rows may be gone already: run it again to remove the files),
    and ServiceUnavailable when the database is too busy to take the deletion.
    """
    now = utcnow()
    cutoff = now - older_than
    async with db.snapshot() as conn:
        seen = await rows.marks(conn, now)
        used = await _names(rows.texts(conn))
        everything = await rows.all_media(conn)
    unused = [media for media in everything if not _uses(media, used)]
    old = [media for media in unused if media.created_at < cutoff]
    in_use, recent = len(everything) - len(unused), len(unused) - len(old)
    if old and not dry_run:
        since = rows.Marks(
            seen.entry_id - ID_SLACK,
            seen.draft_id - ID_SLACK,
            seen.revision_id - ID_SLACK,
            seen.at - CLOCK_SLACK,
        )
        async with db.write() as conn:
            used |= await _names(rows.texts(conn, after=since))
            taken = [media for media in old if _uses(media, used)]
            old = [media for media in old if not _uses(media, used)]
            await rows.remove(conn, [media.id for media in old])
        in_use += len(taken)
    # The store is listed before the rows are read: a row stored meanwhile (its files first)
    # then keeps its files.
    listing = await store.listing()
    if dry_run:
        leaving = {media.id for media in old}
        named = {f.name for media in everything if media.id not in leaving for f in media.files}
    else:
        async with db.snapshot() as conn:
            named = await rows.file_names(conn)
    gone = [
        file
        for file in listing
        if NAME.fullmatch(file.name) and file.name not in named and file.last_modified < cutoff
    ]
    if not dry_run:
        await store.delete_all(file.name for file in gone)
    return _attributed(old, gone, in_use, recent, dry_run)


def _attributed(
    old: Sequence[Media], gone: Sequence[StoredFile], in_use: int, recent: int, dry_run: bool
) -> Pruned:
    """Each removed file counted once: with the first pruned media that has it, else stray."""
    left = {file.name: file for file in gone}
    pruned = []
    for media in old:
        files = tuple(left.pop(f.name) for f in media.files if f.name in left)
        pruned.append(PrunedMedia(media, files))
    return Pruned(tuple(pruned), tuple(left.values()), in_use, recent, dry_run)


async def _names(texts: AsyncIterator[str]) -> set[str]:
    urls = MediaUrls()  # names are found whatever URL prefix a body wrote them under
    found: set[str] = set()
    async for text in texts:
        found |= urls.names_in(text)
    return found


def _uses(media: Media, names: set[str]) -> bool:
    return any(f.name in names for f in media.files)


async def copy_missing(source: MediaStore, target: MediaStore) -> Copied:
    """Copy every media file `source` holds and `target` lacks into `target`.

    Raises MediaStoreError; what was copied before it stays (running it again goes on).
    """
    names = {file.name for file in await source.listing() if NAME.fullmatch(file.name)}
    missing = iter(sorted(names - {file.name for file in await target.listing()}))
    copied = size = 0

    async def copier() -> None:
        nonlocal copied, size
        for name in missing:  # shared by the copiers: each name is taken by one
            data = await source.get(name)
            if data is not None:  # else deleted meanwhile (a prune): nothing to keep
                await target.put(name, data)
                copied += 1
                size += len(data)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(COPIES_AT_ONCE):
                group.create_task(copier())
    except ExceptionGroup as failed:  # the first failure stopped the others: that one says why
        raise failed.exceptions[0] from None
    return Copied(len(names), copied, size)
