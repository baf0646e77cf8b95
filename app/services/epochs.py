"""New epochs for liveblogs whose stored history may have been replaced.

After a restore, a copy or an import, a liveblog's seqs may name other changes than the ones
readers received under the same numbers. A new epoch makes every reader that resumes with the
old one (or with a bare `since`: the liveblog is then marked rotated) reload instead
(domain/resume.py). Nothing is published: a process still serving notices the new epoch on the
next event, and its hub resyncs the readers then (realtime/hub.py).

`rotate_where_gone_back` is the same for a database replaced without telling anyone (a file
copied over it while the server was stopped): `liveblog serve` compares it at start with what
its data directory last served (storage/served_heads.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from app.domain.model import utcnow
from app.domain.resume import Served, went_back
from app.errors import NotFound
from app.storage import liveblogs as rows
from app.storage.db import Database


async def rotate_epochs(db: Database, slugs: list[str] | None = None) -> dict[str, str]:
    """Give every liveblog (or those named) a new epoch; returns slug → new epoch.

    Raises NotFound, changing nothing, if a named liveblog does not exist.
    """
    async with db.write() as conn:
        rotated = await rows.rotate_epochs(conn, utcnow(), slugs)
        if slugs is not None:
            missing = sorted(set(slugs) - set(rotated))
            if missing:
                raise NotFound(f"No liveblog with slug {', '.join(map(repr, missing))}.")
    return rotated


async def rotate_where_gone_back(
    db: Database, served: Mapping[str, Served]
) -> dict[str, tuple[str, str]]:
    """Give a new epoch to each liveblog stored older than `served` says it was served
    (domain/resume.py, `went_back`); returns slug → (new epoch, why). Reads only, when none is."""
    async with db.snapshot() as conn:
        liveblogs = await rows.list_all(conn)
    why = {
        liveblog.slug: reason
        for liveblog in liveblogs
        if (
            reason := went_back(
                served.get(liveblog.slug), liveblog.epoch, liveblog.seq, liveblog.epoch_rotated_at
            )
        )
        is not None
    }
    if not why:
        return {}
    rotated = await rotate_epochs(db, sorted(why))
    return {slug: (epoch, why[slug]) for slug, epoch in rotated.items()}
